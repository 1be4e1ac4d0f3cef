"""The disk spool: bounded, ordered, survives reopen, tolerates a torn tail."""

from __future__ import annotations

from pathlib import Path

from event_logging.config import SpoolConfig
from event_logging.spool import DiskSpool, read_segment
from event_logging.wire import Message


def _messages(n: int, start: int = 0) -> list[Message]:
    return [Message(f"user{i}".encode(), f'{{"n":{i}}}'.encode(), 1) for i in range(start, start + n)]


def _read_all(spool: DiskSpool) -> list[Message]:
    spool.seal()
    return [m for segment in spool.segments() for m in read_segment(segment)]


def test_append_seal_read_in_order_across_segments(tmp_path: Path) -> None:
    spool = DiskSpool(SpoolConfig(directory=tmp_path, segment_bytes=1024, max_bytes=1 << 20))
    for start in range(0, 200, 20):
        assert spool.append(_messages(20, start)) == 20
    assert len(spool.segments()) > 1
    assert _read_all(spool) == _messages(200)


def test_full_spool_keeps_what_fits(tmp_path: Path) -> None:
    spool = DiskSpool(SpoolConfig(directory=tmp_path, max_bytes=2048, segment_bytes=1024, fsync="never"))
    accepted = 0
    while kept := spool.append(_messages(10, accepted)):
        accepted += kept
    assert 0 < accepted < 100 and 2048 - 40 < spool.bytes_used <= 2048
    assert _read_all(spool) == _messages(accepted)


def test_reopen_recovers_unsealed_segment_and_skips_torn_tail(tmp_path: Path) -> None:
    spool = DiskSpool(SpoolConfig(directory=tmp_path))
    spool.append(_messages(5))
    # Simulate a crash: the active segment is never sealed and its last record is cut short.
    (active,) = tmp_path.glob("*.seg.tmp")
    with active.open("ab") as f:
        f.write(b"\x00\x00\x01\x00garbage")
    reopened = DiskSpool(SpoolConfig(directory=tmp_path))
    assert not reopened.is_empty()
    assert _read_all(reopened) == _messages(5)
    reopened.append(_messages(2, 5))
    assert _read_all(reopened) == _messages(7)


def test_remove_frees_space(tmp_path: Path) -> None:
    spool = DiskSpool(SpoolConfig(directory=tmp_path))
    spool.append(_messages(3))
    spool.seal()
    for segment in spool.segments():
        spool.remove(segment)
    assert spool.is_empty() and spool.segments() == []
