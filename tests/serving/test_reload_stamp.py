"""The reload stamp's own protocol: a worker's publish never makes its own watcher reload it again."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, cast

import pytest

from serving.reload_stamp import ReloadStamp

pytestmark = pytest.mark.unit


class CountingRegistry:
    """Counts reloads: the stamp only ever calls `reload` on its registry."""

    def __init__(self) -> None:
        self.reloads = 0

    def reload(self) -> None:
        self.reloads += 1


def test_a_publish_between_a_poll_and_its_comparison_does_not_reload_the_publisher(tmp_path: Path) -> None:
    registry = CountingRegistry()
    stamp = ReloadStamp(cast(Any, registry), tmp_path, poll_s=0.01)
    read = stamp._read
    raced = threading.Event()

    def read_while_publishing() -> str:
        token = read()
        if not raced.is_set():  # the first poll: this worker publishes right after the watcher read the old token
            raced.set()
            threading.Thread(target=stamp.publish).start()
            time.sleep(0.2)  # long enough for an unguarded publish to finish before the comparison
        return token

    stamp._read = read_while_publishing  # type: ignore[method-assign]
    stamp.start()
    try:
        assert raced.wait(2)
        time.sleep(0.5)  # many more polls
    finally:
        stamp.stop()
    assert registry.reloads == 0


def test_another_workers_publish_reloads_this_one_once(tmp_path: Path) -> None:
    registry = CountingRegistry()
    stamp = ReloadStamp(cast(Any, registry), tmp_path, poll_s=0.01)
    other = ReloadStamp(cast(Any, CountingRegistry()), tmp_path, poll_s=0.01)
    stamp.start()
    try:
        other.publish()
        deadline = time.monotonic() + 2
        while registry.reloads == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)
    finally:
        stamp.stop()
    assert registry.reloads == 1
