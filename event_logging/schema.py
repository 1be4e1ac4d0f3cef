"""The event schema: what users did, versioned. Every other package imports events from here.

Four event types share a common envelope. `event_id` (UUID) is the dedupe key: delivery is
at-least-once, analysis counts each `event_id` once. `ts` is UTC. `experiment` is "" and
`variant` is "default" for traffic outside any experiment (holdout, no running experiment).

Schema versions: 1 is the first. A new field is a new version; old versions stay parseable, and the
ClickHouse columns of fields an old event lacks take their defaults.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from event_logging.errors import EventLoggingError

SCHEMA_VERSION = 1
SUPPORTED_VERSIONS = frozenset({1})

Id = Annotated[str, Field(min_length=1, max_length=256)]


class MalformedEventError(EventLoggingError, ValueError):
    """Bytes or data that are not a valid event of a supported schema version."""


def _now() -> datetime:
    return datetime.now(UTC)


class BaseEvent(BaseModel):
    """Fields every event carries."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: int = SCHEMA_VERSION
    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    ts: AwareDatetime = Field(default_factory=_now)
    request_id: Id
    user_id: Id
    experiment: Annotated[str, Field(max_length=256)] = ""
    variant: Id = "default"
    query_image_id: Annotated[str, Field(max_length=1024)] = ""

    @field_validator("schema_version")
    @classmethod
    def _known_version(cls, value: int) -> int:
        if value not in SUPPORTED_VERSIONS:
            raise ValueError(f"unsupported schema_version {value}; supported: {sorted(SUPPORTED_VERSIONS)}")
        return value

    @field_validator("ts")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)


class SearchEvent(BaseEvent):
    """One per search request; it is also the exposure event (carries assignment salt and hash version)."""

    event_type: Literal["search"] = "search"
    latency_ms: float = Field(ge=0)
    result_count: int = Field(ge=0)
    status_code: int = 200
    layer: str = ""
    salt: str = ""
    hash_version: int = 0


class ImpressionEvent(BaseEvent):
    """One per result shown; position is 1-based."""

    event_type: Literal["impression"] = "impression"
    result_image_id: Id
    position: int = Field(ge=1)
    score: float


class ClickEvent(BaseEvent):
    """The user opened a result."""

    event_type: Literal["click"] = "click"
    result_image_id: Id
    position: int = Field(ge=1)


class DwellEvent(BaseEvent):
    """How long the user stayed on a clicked result before coming back, in milliseconds."""

    event_type: Literal["dwell"] = "dwell"
    result_image_id: Id
    position: int = Field(ge=1)
    dwell_ms: float = Field(ge=0)


Event = Annotated[SearchEvent | ImpressionEvent | ClickEvent | DwellEvent, Field(discriminator="event_type")]
EVENT_TYPES = ("search", "impression", "click", "dwell")
_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)

# Column order of the `events` table (see migrations); `to_row` produces values in this order.
EVENT_COLUMNS = (
    "event_date", "ts", "ts_ms", "event_id", "event_type", "schema_version", "request_id", "user_id",
    "experiment", "variant", "query_image_id", "result_image_id", "position", "score", "latency_ms",
    "result_count", "status_code", "dwell_ms", "layer", "salt", "hash_version",
)  # fmt: skip


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"] if not isinstance(p, int)) or "(event)"
    return f"{loc}: {err['msg']}"


def parse_event(data: bytes | str | dict[str, Any]) -> Event:
    """Validate raw JSON (bytes/str) or a decoded mapping into an event, or raise MalformedEventError."""
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
    """Compact JSON bytes (orjson), the Kafka message value and the spool record."""
    return orjson.dumps(event.model_dump(mode="json"))


def to_row(event: BaseEvent) -> tuple[Any, ...]:
    """The event as one `events` table row in EVENT_COLUMNS order (absent fields take column defaults)."""
    ts = event.ts.astimezone(UTC)
    get = event.__dict__.get
    return (
        ts.date(), ts.replace(tzinfo=None, microsecond=0), int(ts.timestamp() * 1000), str(event.event_id),
        get("event_type"), event.schema_version, event.request_id, event.user_id, event.experiment, event.variant,
        event.query_image_id, get("result_image_id", ""), get("position", 0), float(get("score", 0.0)),
        float(get("latency_ms", 0.0)), get("result_count", 0), get("status_code", 0), float(get("dwell_ms", 0.0)),
        get("layer", ""), get("salt", ""), get("hash_version", 0),
    )  # fmt: skip
