"""The schema's helpers for our own events: cheap event ids, fast serialisation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import orjson
import pytest
from pydantic import ValidationError

from event_logging.columns import to_columns
from event_logging.schema import (
    ImpressionEvent,
    MalformedEventError,
    SearchEvent,
    new_event_id,
    parse_event,
    serialize,
)


def test_new_event_id_is_a_valid_unique_uuid4() -> None:
    ids = [new_event_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    for event_id in ids[:3]:
        assert event_id.version == 4
        assert event_id.variant == uuid.RFC_4122
        assert uuid.UUID(str(event_id)) == event_id
        assert hash(uuid.UUID(str(event_id))) == hash(event_id)


def test_constructed_event_equals_validated_event() -> None:
    """Unvalidated events (pydantic's `model_construct`, what tests use to make events the schema refuses) are
    the same events: equal, the same columns, the same JSON."""
    ts = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    fields = dict(request_id="r1", user_id="u1", experiment="exp", variant="treatment", ts=ts,
                  result_image_id="img", position=3, score=0.25)  # fmt: skip
    constructed = ImpressionEvent.model_construct(**fields)
    validated = ImpressionEvent(**fields, event_id=constructed.event_id)
    assert constructed == validated
    assert to_columns([constructed]) == to_columns([validated])
    assert parse_event(serialize(constructed)) == validated


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        SearchEvent(request_id="r", user_id="u", latency_ms=1.0, result_count=0, ts=datetime(2024, 1, 1))
    naive = {"event_type": "click", "request_id": "r", "user_id": "u", "result_image_id": "x", "position": 1,
             "ts": "2024-01-01T00:00:00"}  # fmt: skip
    with pytest.raises(MalformedEventError, match="ts"):
        parse_event(orjson.dumps(naive))


def test_serialize_matches_pydantic_json_and_has_no_newline() -> None:
    event = SearchEvent(request_id="r\nx", user_id="u", latency_ms=1.5, result_count=10)
    data = serialize(event)
    assert b"\n" not in data
    assert parse_event(data) == event
    assert parse_event(event.model_dump_json()) == event
