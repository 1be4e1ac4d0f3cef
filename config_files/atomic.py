"""Files replaced whole: a reader sees the old file or the new one, never half of either.

The data goes to a uniquely named temporary file in the same folder (same filesystem, so `os.replace` is
atomic), which then replaces the target. The name is unique per call, so two writers of one path — two
processes analysing the same experiment, two workers publishing a reload — never write into each other's
temporary file: the last replace wins with a whole file.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside `path` (whose folder is created) to write to; on a clean exit it replaces `path`, on
    an error it is removed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_atomic(path: Path, data: str | bytes) -> Path:
    """Replace `path` with `data` (text as UTF-8) atomically; returns `path`."""
    with atomic_path(path) as tmp:
        if isinstance(data, str):
            tmp.write_text(data, encoding="utf-8")
        else:
            tmp.write_bytes(data)
    return path
