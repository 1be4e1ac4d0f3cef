"""Client-side parameter substitution, identical for both stores.

`query("... WHERE user_id = %(user)s", {"user": "u1"})` renders literals here, the way clickhouse-driver
does for its own client-side parameters (ClickHouse 18.16 has no server-side `{name:Type}` parameters).
A literal `%` in a query with parameters must be written `%%`. Datetimes are rendered in UTC, the time
zone of every column here.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from clickhouse_driver.util.escape import escape_param

from event_logging.errors import QueryParameterError


def literal(value: Any) -> str:
    """One Python value as a ClickHouse SQL literal: None, bool, integers, floats, str, date, datetime, UUID, and
    lists or tuples of them; any other type is a `QueryParameterError` (its `repr` is not SQL)."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return f"'{value:%Y-%m-%d %H:%M:%S}'"
    if isinstance(value, list | tuple):
        inner = ", ".join(literal(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    if isinstance(value, bool):
        return "1" if value else "0"
    if value is None or isinstance(value, str | date | UUID):
        return str(escape_param(value, None))
    if isinstance(value, numbers.Integral):  # numpy's integers too
        return str(int(value))
    if isinstance(value, numbers.Real):  # nan, inf and -inf are ClickHouse literals as well
        return repr(float(value))
    raise QueryParameterError(f"cannot render a query parameter of type {type(value).__name__} as SQL")


def render(sql: str, params: Mapping[str, Any] | None) -> str:
    """`sql % literals` when params are given; the text unchanged otherwise."""
    if not params:
        return sql
    return sql % {name: literal(value) for name, value in params.items()}
