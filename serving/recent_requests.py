"""What this process served recently, so click and dwell events can be attributed to the served assignment.

Bounded (the longest ago served fall out first) and per process: with several workers a click may land on
a worker that never saw its search, and the client's own `experiment`/`variant` fields are used instead.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass

from cachetools import FIFOCache

from experiments.assign import Assignment


@dataclass(frozen=True)
class ServedRequest:
    user_id: str
    query_image_id: str
    assignments: tuple[Assignment, ...]
    held_out: bool = False


class RecentRequests:
    """A thread-safe bounded map request_id → ServedRequest, oldest served first out (searches run in a thread
    pool; cachetools' caches need the caller's lock). A capacity below 1 remembers nothing."""

    def __init__(self, capacity: int) -> None:
        self._entries: FIFOCache[uuid.UUID, ServedRequest] | None = FIFOCache(capacity) if capacity > 0 else None
        self._lock = threading.Lock()

    def remember(self, request_id: uuid.UUID, served: ServedRequest) -> None:
        if self._entries is None:
            return
        with self._lock:
            self._entries[request_id] = served

    def get(self, request_id: uuid.UUID) -> ServedRequest | None:
        if self._entries is None:
            return None
        with self._lock:
            return self._entries.get(request_id)

    def __len__(self) -> int:
        return 0 if self._entries is None else len(self._entries)
