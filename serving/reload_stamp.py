"""Make an admin reload reach every worker: `POST /v1/admin/reload` lands on one worker of several.

The worker that reloaded successfully writes a fresh token to `<run_dir>/reload.stamp` (`config_files.atomic`);
every worker polls the stamp and reloads when the token changes. A worker whose reload fails (the files changed
again in between) logs the errors and keeps serving its current configuration.
"""

from __future__ import annotations

import logging
import threading
import uuid
from pathlib import Path

from config_files.atomic import write_atomic
from serving.errors import InvalidServingConfigError
from serving.registry import VariantRegistry

logger = logging.getLogger(__name__)


class ReloadStamp:
    """Publishes and watches the shared reload token of one server's workers."""

    def __init__(self, registry: VariantRegistry, run_dir: Path, poll_s: float) -> None:
        self._registry = registry
        self._path = Path(run_dir) / "reload.stamp"
        self._poll_s = poll_s
        self._seen = self._read()
        self._stop = threading.Event()
        # Reading the stamp and comparing it with `_seen` must not straddle a publish: a token read just
        # before this worker's own publish would otherwise look new and reload it a second time.
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._watch, name="vsx-reload-stamp", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self._poll_s + 1)

    def publish(self) -> None:
        """Tell the other workers to reload (call after this worker reloaded successfully)."""
        token = uuid.uuid4().hex
        with self._lock:
            self._seen = token  # before the file changes, so this worker's own watcher does not reload again
            write_atomic(self._path, token)

    def _read(self) -> str:
        try:
            return self._path.read_text()
        except FileNotFoundError:
            return ""

    def _watch(self) -> None:
        while not self._stop.wait(self._poll_s):
            with self._lock:
                token = self._read()
                if token == self._seen:
                    continue
                self._seen = token
            try:
                self._registry.reload()
            except InvalidServingConfigError as exc:
                logger.error("reload requested by another worker failed; still serving the old config: %s", exc)
