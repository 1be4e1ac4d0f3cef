"""The event schema: what users did, versioned. Every other package imports events from here.

Four event types share a common envelope. `event_id` (UUID) is the dedupe key: delivery is
at-least-once, analysis counts each `event_id` once. `ts` is timezone-aware (serving writes UTC; a parsed
event keeps the offset it came with, the instant is what counts: stores keep UTC epoch seconds and
milliseconds and the UTC date). `experiment` is "" and
`variant` is "holdout" for users the global holdout keeps out of every experiment and "default" for other
traffic outside any experiment.

Schema versions: 1 is the first; 2 adds `team` to impressions (interleaving); 3 adds `attribution` to clicks
and dwells (whose record of the search set their experiment and variant); 4 adds the user's `attributes` (the
`X-Attr-*` request attributes: platform, country, ...) to searches, bounded by `MAX_ATTRIBUTES`,
`MAX_ATTRIBUTE_NAME` and `MAX_ATTRIBUTE_VALUE`, stored as two parallel arrays of names and values. A new field
is a new version; old versions stay parseable, and the ClickHouse columns of fields an old event lacks take
their defaults.

Values are held to what the store's columns hold (`ts` to a `DateTime`'s range, integers to their column's
width): chdb silently wraps or clamps what does not fit, and the server refuses the whole insert.
"""

from __future__ import annotations

import itertools
import os
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Final, Literal

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from event_logging.errors import EventLoggingError

SCHEMA_VERSION: Final = 4
SchemaVersion = Literal[1, 2, 3, 4]
"""The versions still parsed; a Literal, not a Python validator, so pydantic-core checks it without calling back
into Python (the consumer's inner loop; BENCHMARKS.md, "Event pipeline", step 3)."""

Id = Annotated[str, Field(min_length=1, max_length=256)]
TS_MIN = datetime(1970, 1, 1, tzinfo=UTC)
TS_MAX = datetime(2106, 2, 7, 6, 28, 15, tzinfo=UTC)
"""The instants a `DateTime` column holds (unsigned 32-bit seconds since the epoch): an event outside them is
malformed, not storable, and once made a store refuse the whole batch it came in."""
UInt16 = Annotated[int, Field(ge=0, le=65_535)]
UInt32 = Annotated[int, Field(ge=0, le=4_294_967_295)]

MAX_ATTRIBUTES = 20
"""User attributes one search may carry: enough for platform, country, app version, plan, ...; not a payload."""
MAX_ATTRIBUTE_NAME = 64
MAX_ATTRIBUTE_VALUE = 256
ATTRIBUTE_NAME_PATTERN = r"^[a-z0-9_]+$"
"""Attribute names as serving derives them from `X-Attr-<Name>` headers (lower case, `-` → `_`)."""
AttributeName = Annotated[str, Field(min_length=1, max_length=MAX_ATTRIBUTE_NAME, pattern=ATTRIBUTE_NAME_PATTERN)]
AttributeValue = Annotated[str, Field(max_length=MAX_ATTRIBUTE_VALUE)]
Attributes = Annotated[dict[AttributeName, AttributeValue], Field(max_length=MAX_ATTRIBUTES)]


class MalformedEventError(EventLoggingError, ValueError):
    """Bytes or data that are not a valid event of a supported schema version."""


def _now() -> datetime:
    return datetime.now(UTC)


# UUID4 bit layout: version 4 in bits 76..79, RFC 4122 variant in bits 62..63.
_VERSION_MASK, _VERSION_4 = 0xF << 76, 0x4 << 76
_VARIANT_MASK, _VARIANT_RFC = 0x3 << 62, 0x2 << 62
_COUNTER_BITS = 48


def _random_base() -> int:
    base = int.from_bytes(os.urandom(16), "big") & ~((1 << _COUNTER_BITS) - 1)
    return (base & ~_VERSION_MASK & ~_VARIANT_MASK) | _VERSION_4 | _VARIANT_RFC


_id_base = _random_base()
_id_counter = itertools.count()


def _reseed_ids() -> None:
    global _id_base, _id_counter
    _id_base, _id_counter = _random_base(), itertools.count()


os.register_at_fork(after_in_child=_reseed_ids)


def new_event_id() -> uuid.UUID:
    """A version-4 UUID: 80 random bits per process (re-drawn after fork) plus a 48-bit counter.

    Unique within a process by construction and across processes with probability 1 - 2^-80 per pair;
    cheaper than `uuid.uuid4()` (no system call per id), and a search logs eleven events.
    """
    count = next(_id_counter)
    if count >> _COUNTER_BITS:
        _reseed_ids()
        count = next(_id_counter)
    return uuid.UUID(int=_id_base | count)


class BaseEvent(BaseModel):
    """Fields every event carries."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: SchemaVersion = SCHEMA_VERSION
    event_id: uuid.UUID = Field(default_factory=new_event_id)
    ts: Annotated[AwareDatetime, Field(ge=TS_MIN, le=TS_MAX)] = Field(default_factory=_now)
    request_id: Id
    user_id: Id
    experiment: Annotated[str, Field(max_length=256)] = ""
    variant: Id = "default"
    query_image_id: Annotated[str, Field(max_length=1024)] = ""


class SearchEvent(BaseEvent):
    """One per search request; it is also the exposure event (carries assignment salt and hash version).

    `attributes` (schema version 4): the user's request attributes (`{"platform": "ios", "country": "de"}`),
    what analyses segment users by (a user's segment is the value on their first exposure).
    """

    event_type: Literal["search"] = "search"
    latency_ms: float = Field(ge=0)
    result_count: UInt32
    status_code: UInt16 = 200
    layer: str = ""
    salt: str = ""
    hash_version: UInt16 = 0
    attributes: Attributes = {}


class ImpressionEvent(BaseEvent):
    """One per result shown; position is 1-based.

    `team` (schema version 2) says which ranker of an interleaving experiment placed the result ("A" or
    "B"); "" for A/B traffic and for version-1 events, which stay readable.
    """

    event_type: Literal["impression"] = "impression"
    result_image_id: Id
    position: int = Field(ge=1, le=65_535)
    score: float
    team: Literal["", "A", "B"] = ""


Attribution = Literal["", "server", "client"]
"""Where a click's or dwell's experiment, variant and query came from (schema version 3): "server" — the serving
process's own record of the search, which it served to this same user; "client" — the report's own fields, because
the process did not know the request (another worker served it, or it restarted), so nothing vouches for them;
"" — events before version 3."""


class ClickEvent(BaseEvent):
    """The user opened a result."""

    event_type: Literal["click"] = "click"
    result_image_id: Id
    position: int = Field(ge=1, le=65_535)
    attribution: Attribution = ""


class DwellEvent(BaseEvent):
    """How long the user stayed on a clicked result before coming back, in milliseconds."""

    event_type: Literal["dwell"] = "dwell"
    result_image_id: Id
    position: int = Field(ge=1, le=65_535)
    dwell_ms: float = Field(ge=0)
    attribution: Attribution = ""


Event = Annotated[SearchEvent | ImpressionEvent | ClickEvent | DwellEvent, Field(discriminator="event_type")]
EVENT_TYPES = ("search", "impression", "click", "dwell")
EVENT_MODELS: dict[str, type[BaseEvent]] = {
    "search": SearchEvent,
    "impression": ImpressionEvent,
    "click": ClickEvent,
    "dwell": DwellEvent,
}
_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"] if not isinstance(p, int)) or "(event)"
    return f"{loc}: {err['msg']}"


def parse_event(data: bytes | str | dict[str, Any]) -> Event:
    """Validate raw JSON (bytes/str) or a decoded mapping into an event, or raise MalformedEventError.

    Raw JSON goes straight to pydantic-core's parser (no intermediate dict: this is the consumer's inner
    loop; BENCHMARKS.md, "Event pipeline"); only input that fails takes the slower path that words the error.
    """
    if isinstance(data, bytes | str):
        try:
            return _ADAPTER.validate_json(data)
        except ValidationError:
            pass
    try:
        if isinstance(data, bytes | str):
            data = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise MalformedEventError(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise MalformedEventError(f"an event must be a JSON object, got {type(data).__name__}")
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise MalformedEventError(_first_error(exc)) from None


def serialize(event: BaseEvent) -> bytes:
    """Compact JSON bytes (orjson), one line of a Kafka message value and of a spool record.

    orjson writes the field values directly (UUID as text, datetime as RFC 3339 with `Z`): the same JSON as
    `model_dump(mode="json")` without pydantic's serialiser on the producer's path, and never a newline (the
    batch separator).
    """
    return orjson.dumps(event.__dict__, option=orjson.OPT_UTC_Z)
