"""How events travel in Kafka: events of many users packed into one message, one JSON line each.

kafka-python spends a fixed cost of Python per message whatever its size on each side (producer batching,
consumer record parsing), so one message per event caps what a producer core sends. A message
value here is one or more `serialize(event)` lines joined by `\\n` (orjson never writes a raw newline
inside a document). A single-event message is the same format with one line, so a plain `json.dumps`
producer (the benchmark baseline) and the batch producer feed the same consumer.

The key is a *user shard*, `users-<crc32(user_id) mod shards>`: every event of a user has the same key,
so it lands in the same partition and stays in order — what keying by the user id is for — while one
message carries the events of every user of its shard in the batch. Keyed by the user id itself, a message
held only that user's few events (eleven a search) and the per-message cost dominated both ends
(BENCHMARKS.md, "Event pipeline", step 1). `KafkaConfig.user_shards = None` keys by the user id.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass

from event_logging.schema import BaseEvent, serialize

SEPARATOR = b"\n"


@dataclass(frozen=True)
class Message:
    """One Kafka record: its key, its value (event lines) and how many events it carries."""

    key: bytes
    value: bytes
    events: int


def shard_key(user_id: str, shards: int) -> bytes:
    """The Kafka key of a user's events: stable across processes and machines (CRC-32, not `hash`)."""
    return b"users-%d" % (zlib.crc32(user_id.encode()) % shards)


def pack(events: Iterable[BaseEvent], max_events: int, shards: int | None) -> list[Message]:
    """Group events by user shard (order kept within a shard, hence within a user), ≤ max_events per message.

    `shards=None` keys each message by its user's id instead (one user per message).
    """
    by_user: dict[str, list[bytes]] = {}
    for event in events:
        lines = by_user.get(event.user_id)
        if lines is None:
            lines = by_user[event.user_id] = []
        lines.append(serialize(event))
    by_shard: dict[bytes, list[bytes]] = {}
    for user_id, lines in by_user.items():
        key = user_id.encode() if shards is None else shard_key(user_id, shards)
        by_shard.setdefault(key, []).extend(lines)
    messages = []
    for key, lines in by_shard.items():
        for start in range(0, len(lines), max_events):
            chunk = lines[start : start + max_events]
            messages.append(Message(key, SEPARATOR.join(chunk), len(chunk)))
    return messages


def unpack(value: bytes) -> list[bytes]:
    """The event lines of a message value (blank lines ignored)."""
    return [line for line in value.split(SEPARATOR) if line.strip()]
