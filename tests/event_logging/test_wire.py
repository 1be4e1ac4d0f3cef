"""Packing events into Kafka messages: one user per message, order kept, size bounded, lines round-trip."""

from __future__ import annotations

from event_logging.schema import ClickEvent, ImpressionEvent, parse_event
from event_logging.wire import pack, unpack


def _impressions(user: str, n: int) -> list[ImpressionEvent]:
    return [
        ImpressionEvent(request_id="r", user_id=user, result_image_id=f"img{p}", position=p, score=1.0 / p)
        for p in range(1, n + 1)
    ]


def test_pack_groups_by_user_keeps_order_and_bounds_size() -> None:
    events = _impressions("alice", 5) + _impressions("bob", 2) + _impressions("alice", 3)
    messages = pack(events, max_events=4)
    assert [(m.key, m.events) for m in messages] == [(b"alice", 4), (b"alice", 4), (b"bob", 2)]
    alice = [parse_event(line) for m in messages if m.key == b"alice" for line in unpack(m.value)]
    assert alice == [e for e in events if e.user_id == "alice"]


def test_unpack_single_json_document_and_ignores_blank_lines() -> None:
    click = ClickEvent(request_id="r", user_id="u", result_image_id="i", position=1)
    assert unpack(click.model_dump_json().encode()) == [click.model_dump_json().encode()]
    assert unpack(b"a\n\n b\n") == [b"a", b" b"]
