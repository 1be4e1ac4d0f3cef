"""One spool folder per worker process: the Kafka sink's disk spool has a single writer.

Several uvicorn workers share `spool_dir`, so each claims the first free `slot-<n>` under it by holding an
exclusive `flock` on `slot-<n>/.lock` for its lifetime. A worker that restarts (or a new server) takes a free
slot again and replays whatever an earlier process left in it, so spooled events are never orphaned by a PID.
"""

from __future__ import annotations

import fcntl
from dataclasses import dataclass
from pathlib import Path
from typing import IO


@dataclass
class SpoolSlot:
    """A claimed slot; the lock lasts until `release()` (or the process exits)."""

    path: Path
    _lock: IO[bytes]

    def release(self) -> None:
        self._lock.close()


def claim_spool_slot(root: Path) -> SpoolSlot:
    """The first `root/slot-<n>` no other live process holds."""
    n = 0
    while True:
        path = Path(root) / f"slot-{n}"
        path.mkdir(parents=True, exist_ok=True)
        lock = (path / ".lock").open("wb")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            n += 1
            continue
        return SpoolSlot(path, lock)
