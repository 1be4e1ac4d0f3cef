"""The schema's helpers for our own events: cheap event ids, unvalidated construction, fast serialisation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

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


def test_trusted_event_equals_validated_event() -> None:
    ts = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    fields = dict(request_id="r1", user_id="u1", experiment="exp", variant="treatment", ts=ts,
                  result_image_id="img", position=3, score=0.25)  # fmt: skip
    trusted = ImpressionEvent.trusted(**fields)
    validated = ImpressionEvent(**fields, event_id=trusted.event_id)
    assert trusted == validated
    assert to_columns([trusted]) == to_columns([validated])
    assert parse_event(serialize(trusted)) == validated


def test_trusted_refuses_naive_timestamps() -> None:
    with pytest.raises(MalformedEventError):
        SearchEvent.trusted(request_id="r", user_id="u", latency_ms=1.0, result_count=0, ts=datetime(2024, 1, 1))


def test_serialize_matches_pydantic_json_and_has_no_newline() -> None:
    event = SearchEvent(request_id="r\nx", user_id="u", latency_ms=1.5, result_count=10)
    data = serialize(event)
    assert b"\n" not in data
    assert parse_event(data) == event
    assert parse_event(event.model_dump_json()) == event
