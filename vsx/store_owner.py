"""Who owns the embedded store: the check commands make before their work, and the running server's URL.

chdb lets one process use a data folder. A command that needs the store checks first, so it is refused in
one line at once instead of after minutes of training. A `vsx serve` that owns the store records its URL,
so that refusal can say where to ask instead (`vsx analyze NAME --url URL`): one file per data folder,
written when the server starts and removed when it stops; a record whose process is gone is ignored.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

from vsx.settings import Settings


def check_embedded_store(settings: Settings) -> None:
    """Raise EventStoreLockedError (naming the holder) when another process holds the embedded store now."""
    from event_logging.chdb_lock import check_store_free

    check_store_free(settings.chdb_path)


def record_path(settings: Settings) -> Path:
    return settings.data_dir / "serve" / "embedded.json"


@contextlib.contextmanager
def server_record(settings: Settings, url: str) -> Iterator[None]:
    """Record this process as the embedded store's server at `url` while the block runs."""
    path = record_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"pid": os.getpid(), "url": url}))
    try:
        yield
    finally:
        path.unlink(missing_ok=True)


def server_url(settings: Settings, pid: int | None) -> str | None:
    """The URL recorded by the server with this PID, or None (no record, another process, unreadable)."""
    try:
        record = json.loads(record_path(settings).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or pid is None or record.get("pid") != pid:
        return None
    url = record.get("url")
    return url if isinstance(url, str) else None
