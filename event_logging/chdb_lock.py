"""Who holds an embedded (chdb) store: one process per folder, by a `flock` on its `status` file.

chdb refuses a second process with a generic "Error initializing EmbeddedServer" after printing the real
reason to stderr; checking the lock first lets the caller say which process holds the store instead. This
module imports nothing heavy, so a command can check before minutes of work that would end at the store.
"""

from __future__ import annotations

import fcntl
import os
import re
from dataclasses import dataclass
from pathlib import Path

from event_logging.errors import EventStoreLockedError

_PID_LINE = re.compile(rb"^PID:\s*(\d+)", re.MULTILINE)
COMMAND_CHARS = 120
"""A holder's command line is cut to this many characters: it is quoted inside a one-line message."""


@dataclass(frozen=True)
class StoreHolder:
    """The process holding a store's lock: its PID (None if its status file names none) and command line."""

    pid: int | None
    command: str | None


def process_command(pid: int) -> str | None:
    """`pid`'s command line from /proc, `python …/bin/vsx serve` shortened to `vsx serve`; None if unknown."""
    try:
        args = [a.decode(errors="replace") for a in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if a]
    except OSError:
        return None
    if not args:
        return None
    parts = [Path(args[0]).name, *args[1:]]
    if parts[0].startswith("python") and len(parts) > 1 and Path(parts[1]).name == "vsx":
        parts = ["vsx", *parts[2:]]
    command = " ".join(" ".join(parts).split())  # one line, even for `python -c "…"`
    return command if len(command) <= COMMAND_CHARS else command[: COMMAND_CHARS - 1] + "…"


def store_holder(path: Path) -> StoreHolder | None:
    """The process that holds the store at `path` now, or None when it is free (or was never created)."""
    status = Path(path) / "status"
    try:
        fd = os.open(status, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            found = _PID_LINE.search(os.pread(fd, 4096, 0))
            pid = int(found.group(1)) if found else None
            return StoreHolder(pid, process_command(pid) if pid is not None else None)
        fcntl.flock(fd, fcntl.LOCK_UN)  # free: let go at once, chdb takes it for real
        return None
    finally:
        os.close(fd)


def check_store_free(path: Path) -> None:
    """Raise EventStoreLockedError naming the holder when another process holds the store at `path`."""
    holder = store_holder(path)
    if holder is not None and holder.pid != os.getpid():
        raise EventStoreLockedError(Path(path), holder.pid, holder.command)
