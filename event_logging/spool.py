"""The producer's on-disk spool: append-only segment files, bounded in size, replayed oldest first.

Record layout: `>III` header (body length, CRC-32 of body, event count), body = `>H` key length, key, value.
The segment being written is `<seq>.seg.tmp`; it is sealed (fsync, `os.replace` to `<seq>.seg`) when it
reaches `segment_bytes`, before a replay, and on close. After a crash the leftover `.tmp` is sealed at
start-up and read up to its last whole record (a torn tail is logged and skipped). A segment is deleted
only after every record in it was acknowledged by the broker, so a crash mid-replay sends some events
twice — harmless, analysis dedupes by `event_id` — and never loses one.
"""

from __future__ import annotations

import logging
import os
import struct
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from event_logging.config import SpoolConfig
from event_logging.wire import Message

logger = logging.getLogger(__name__)

HEADER = struct.Struct(">III")
KEY_LEN = struct.Struct(">H")


def encode_record(message: Message) -> bytes:
    body = KEY_LEN.pack(len(message.key)) + message.key + message.value
    return HEADER.pack(len(body), zlib.crc32(body), message.events) + body


def read_segment(path: Path) -> Iterator[Message]:
    """Records of one segment in order, stopping at the first torn or corrupt record."""
    data = path.read_bytes()
    pos = 0
    while pos < len(data):
        if pos + HEADER.size > len(data):
            logger.warning("spool segment %s: torn header at byte %d; the rest is skipped", path.name, pos)
            return
        length, crc, events = HEADER.unpack_from(data, pos)
        body = data[pos + HEADER.size : pos + HEADER.size + length]
        if len(body) < length or zlib.crc32(body) != crc:
            logger.warning("spool segment %s: torn or corrupt record at byte %d; the rest is skipped", path.name, pos)
            return
        (key_len,) = KEY_LEN.unpack_from(body)
        key_end = KEY_LEN.size + key_len
        yield Message(body[KEY_LEN.size : key_end], body[key_end:], events)
        pos += HEADER.size + length


class DiskSpool:
    """Bounded append-only spool. Not thread-safe: the sink's sender thread is its only user."""

    def __init__(self, config: SpoolConfig) -> None:
        self.config = config
        self.directory = config.directory
        self.directory.mkdir(parents=True, exist_ok=True)
        for leftover in sorted(self.directory.glob("*.seg.tmp")):
            os.replace(leftover, leftover.with_suffix(""))
            logger.warning("spool: recovered unsealed segment %s from a previous run", leftover.name)
        sealed = self.segments()
        self._next_seq = int(sealed[-1].stem) + 1 if sealed else 0
        self._bytes = sum(p.stat().st_size for p in sealed)
        self._active: BinaryIO | None = None
        self._active_path: Path | None = None
        self._active_bytes = 0

    @property
    def bytes_used(self) -> int:
        return self._bytes

    def is_empty(self) -> bool:
        return self._bytes == 0

    def segments(self) -> list[Path]:
        """Sealed segments, oldest first."""
        return sorted(self.directory.glob("*.seg"))

    def append(self, messages: Sequence[Message]) -> int:
        """Write the leading messages that fit under `max_bytes`; return how many (the caller drops the rest)."""
        records, size = [], 0
        room = self.config.max_bytes - self._bytes
        for m in messages:
            record = encode_record(m)
            if size + len(record) > room:
                break
            records.append(record)
            size += len(record)
        if not records:
            return 0
        blob = b"".join(records)
        if self._active is None:
            self._active_path = self.directory / f"{self._next_seq:016d}.seg.tmp"
            self._next_seq += 1
            self._active = self._active_path.open("ab")
            self._active_bytes = 0
        self._active.write(blob)
        self._active.flush()
        if self.config.fsync == "batch":
            os.fsync(self._active.fileno())
        self._bytes += len(blob)
        self._active_bytes += len(blob)
        if self._active_bytes >= self.config.segment_bytes:
            self.seal()
        return len(records)

    def seal(self) -> None:
        """Close the segment being written and make it visible to `segments()` (atomic rename)."""
        if self._active is None or self._active_path is None:
            return
        self._active.flush()
        if self.config.fsync == "batch":
            os.fsync(self._active.fileno())
        self._active.close()
        os.replace(self._active_path, self._active_path.with_suffix(""))
        self._active, self._active_path = None, None

    def remove(self, segment: Path) -> None:
        """Forget a segment whose every record was acknowledged."""
        size = segment.stat().st_size
        segment.unlink()
        self._bytes -= size

    def close(self) -> None:
        self.seal()
