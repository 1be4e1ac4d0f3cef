"""How events travel in Kafka: several events of one user packed into one message, one JSON line each.

kafka-python spends ~40 µs of Python per message whatever its size, so one message per event caps a
producer core near 23k events/s. A message value here is one or more `serialize(event)` lines joined by
`\\n` (orjson never writes a raw newline inside a document); the key is the user id, so a user's events
stay in one partition and in order. A single-event message is the same format with one line, so a plain
`json.dumps` producer (the benchmark baseline) and the batch producer feed the same consumer.
"""

from __future__ import annotations

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


def pack(events: Iterable[BaseEvent], max_events: int) -> list[Message]:
    """Group events by user (first-seen order kept, and order within a user kept), ≤ max_events per message."""
    by_user: dict[str, list[bytes]] = {}
    for event in events:
        lines = by_user.get(event.user_id)
        if lines is None:
            lines = by_user[event.user_id] = []
        lines.append(serialize(event))
    messages = []
    for user_id, lines in by_user.items():
        key = user_id.encode()
        for start in range(0, len(lines), max_events):
            chunk = lines[start : start + max_events]
            messages.append(Message(key, SEPARATOR.join(chunk), len(chunk)))
    return messages


def unpack(value: bytes) -> list[bytes]:
    """The event lines of a message value (blank lines ignored)."""
    return [line for line in value.split(SEPARATOR) if line.strip()]
