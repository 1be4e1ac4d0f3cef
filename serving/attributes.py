"""User attributes from `X-Attr-<Name>: value` request headers: what targeting reads and what searches log.

The bounds are the event schema's (`event_logging.schema`): an attribute logged on a search must fit there, so a
request that could not be logged is refused at the door with a message naming the header, instead of failing
later in the event sink (or being stored as a 10 KB "country").
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from event_logging.schema import ATTRIBUTE_NAME_PATTERN, MAX_ATTRIBUTE_NAME, MAX_ATTRIBUTE_VALUE, MAX_ATTRIBUTES
from serving.errors import InvalidAttributesError

ATTRIBUTE_PREFIX = "x-attr-"
_NAME = re.compile(ATTRIBUTE_NAME_PATTERN)
_SHOWN = 40
"""Characters of an offending header name shown in an error (the name itself may be the oversized part)."""


def _shown(text: str) -> str:
    return text if len(text) <= _SHOWN else f"{text[:_SHOWN]}…"


def parse_attributes(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """`X-Attr-App-Version: 3.2` → {"app_version": "3.2"}: names lower-cased (header names are case-insensitive),
    `-` → `_`. Raises `InvalidAttributesError` for more than `MAX_ATTRIBUTES` headers, a name or value over its
    bound, a name outside [a-z0-9_], or one attribute given twice."""
    attributes: dict[str, str] = {}
    for header, value in headers:
        header = header.lower()
        if not header.startswith(ATTRIBUTE_PREFIX) or len(header) == len(ATTRIBUTE_PREFIX):
            continue
        name = header[len(ATTRIBUTE_PREFIX) :].replace("-", "_")
        if len(attributes) == MAX_ATTRIBUTES:
            raise InvalidAttributesError(f"more than {MAX_ATTRIBUTES} X-Attr-* headers: at most {MAX_ATTRIBUTES}")
        if len(name) > MAX_ATTRIBUTE_NAME:
            raise InvalidAttributesError(
                f"header {_shown(header)!r}: the attribute name has {len(name)} characters, "
                f"at most {MAX_ATTRIBUTE_NAME}"
            )
        if not _NAME.match(name):
            raise InvalidAttributesError(
                f"header {_shown(header)!r}: attribute names may hold letters, digits, '-' and '_' only"
            )
        if len(value) > MAX_ATTRIBUTE_VALUE:
            raise InvalidAttributesError(
                f"header {_shown(header)!r}: the value has {len(value)} characters, at most {MAX_ATTRIBUTE_VALUE}"
            )
        if name in attributes:
            raise InvalidAttributesError(f"header {_shown(header)!r}: attribute {name!r} given more than once")
        attributes[name] = value
    return attributes
