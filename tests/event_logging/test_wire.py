"""Packing events into Kafka messages: by user shard, order kept per user, size bounded, lines round-trip."""

from __future__ import annotations

import zlib

from event_logging.schema import ClickEvent, ImpressionEvent, parse_event
from event_logging.wire import pack, shard_key, unpack


def _impressions(user: str, n: int) -> list[ImpressionEvent]:
    return [
        ImpressionEvent(request_id="r", user_id=user, result_image_id=f"img{p}", position=p, score=1.0 / p)
        for p in range(1, n + 1)
    ]


def test_pack_groups_by_user_keeps_order_and_bounds_size() -> None:
    events = _impressions("alice", 5) + _impressions("bob", 2) + _impressions("alice", 3)
    messages = pack(events, max_events=4, shards=1_000)
    alice, bob = shard_key("alice", 1_000), shard_key("bob", 1_000)
    assert alice != bob
    assert [(m.key, m.events) for m in messages] == [(alice, 4), (alice, 4), (bob, 2)]
    from_alice = [parse_event(line) for m in messages if m.key == alice for line in unpack(m.value)]
    assert from_alice == [e for e in events if e.user_id == "alice"]


def test_users_of_one_shard_share_messages_and_keep_their_own_order() -> None:
    users = [f"user{i}" for i in range(40)]
    events = [e for round_ in range(3) for user in users for e in _impressions(user, 2 + round_)]
    messages = pack(events, max_events=500, shards=4)
    assert len(messages) == len({shard_key(u, 4) for u in users}) <= 4
    assert sum(m.events for m in messages) == len(events)
    for user in users:
        key = shard_key(user, 4)
        theirs = [e for m in messages if m.key == key for e in map(parse_event, unpack(m.value)) if e.user_id == user]
        assert theirs == [e for e in events if e.user_id == user]


def test_without_shards_the_key_is_the_user_id() -> None:
    events = _impressions("alice", 2) + _impressions("bob", 1)
    assert [(m.key, m.events) for m in pack(events, max_events=500, shards=None)] == [(b"alice", 2), (b"bob", 1)]


def test_shard_key_is_stable_across_processes() -> None:
    assert shard_key("alice", 64) == b"users-%d" % (zlib.crc32(b"alice") % 64)


def test_unpack_single_json_document_and_ignores_blank_lines() -> None:
    click = ClickEvent(request_id="r", user_id="u", result_image_id="i", position=1)
    assert unpack(click.model_dump_json().encode()) == [click.model_dump_json().encode()]
    assert unpack(b"a\n\n b\n") == [b"a", b" b"]
