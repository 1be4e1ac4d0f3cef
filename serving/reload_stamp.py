"""Make an admin reload reach every worker: `POST /v1/admin/reload` lands on one worker of several.

The worker that reloaded successfully writes a fresh token to `<run_dir>/reload.stamp` (tmp file + os.replace);
every worker polls the stamp and reloads when the token changes. A worker whose reload fails (the files changed
again in between) logs the errors and keeps serving its current configuration.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from pathlib import Path

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
        self._path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._path.with_name(f"{self._path.name}.{os.getpid()}.tmp")
        tmp.write_text(token)
        self._seen = token  # before the file changes, so this worker's own watcher does not reload again
        os.replace(tmp, self._path)

    def _read(self) -> str:
        try:
            return self._path.read_text()
        except FileNotFoundError:
            return ""

    def _watch(self) -> None:
        while not self._stop.wait(self._poll_s):
            token = self._read()
            if token == self._seen:
                continue
            self._seen = token
            try:
                self._registry.reload()
            except InvalidServingConfigError as exc:
                logger.error("reload requested by another worker failed; still serving the old config: %s", exc)
