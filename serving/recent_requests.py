"""What this process served recently, so click and dwell events can be attributed to the served assignment.

Bounded (least recently served entries fall out first) and per process: with several workers a click may land on
a worker that never saw its search, and the client's own `experiment`/`variant` fields are used instead.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass

from experiments.assign import Assignment


@dataclass(frozen=True)
class ServedRequest:
    user_id: str
    query_image_id: str
    assignments: tuple[Assignment, ...]
    held_out: bool = False


class RecentRequests:
    """A thread-safe LRU map request_id → ServedRequest (searches run in a thread pool)."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[uuid.UUID, ServedRequest] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, request_id: uuid.UUID, served: ServedRequest) -> None:
        with self._lock:
            self._entries[request_id] = served
            if len(self._entries) > self._capacity:
                self._entries.popitem(last=False)

    def get(self, request_id: uuid.UUID) -> ServedRequest | None:
        with self._lock:
            return self._entries.get(request_id)

    def __len__(self) -> int:
        return len(self._entries)
