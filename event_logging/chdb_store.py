"""EventStore on embedded chdb (an in-process ClickHouse engine), on disk, for `vsx demo` and tests.

chdb allows one session per process, so stores are cached by path (`ChdbStore.open`) and share it;
opening another path closes the previous session. Each `open` is matched by one `close`, and the session
closes with the last: a server's event sink and an analysis it runs share the store, and the analysis
finishing must not close it under the sink. chdb also allows one process per path: another process's
store is refused with `EventStoreLockedError` naming that process.

Results come back as `JSONCompact`, whose column types turn values into the same Python types
clickhouse-driver returns (Date → date, DateTime → naive UTC datetime, 64-bit integers → int); rows go
in as inline `JSONEachRow`.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, ClassVar

import orjson
from chdb import session as chdb_session

from event_logging.chdb_lock import check_store_free
from event_logging.errors import EventStoreError
from event_logging.store import EventStore

logger = logging.getLogger(__name__)


def _converter(type_name: str) -> Callable[[Any], Any] | None:
    """How to turn one JSONCompact value of this ClickHouse type into the clickhouse-driver Python value."""
    if type_name.startswith("Nullable("):
        inner = _converter(type_name[len("Nullable(") : -1])
        return None if inner is None else (lambda v: None if v is None else inner(v))
    if type_name == "Date" or type_name == "Date32":
        return date.fromisoformat
    if type_name == "DateTime" or type_name.startswith("DateTime("):
        return datetime.fromisoformat
    if type_name.startswith(("Int", "UInt")):
        return int
    if type_name.startswith("Float"):
        return lambda v: float(v) if v is not None else float("nan")
    return None


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return value


class ChdbStore(EventStore):
    """One process-wide chdb session per path, serialised by a lock."""

    _open: ClassVar[dict[Path, ChdbStore]] = {}
    # Re-entrant: `open` closes the previous session (chdb allows one per process) while holding it.
    _registry_lock: ClassVar[threading.RLock] = threading.RLock()

    @classmethod
    def open(cls, path: Path, database: str = "vsx") -> ChdbStore:
        """The store for `path`, created on first use and shared afterwards."""
        key = path.resolve()
        with cls._registry_lock:
            store = cls._open.get(key)
            if store is None:
                for other in list(cls._open.values()):
                    logger.warning("chdb allows one session per process: closing %s to open %s", other.path, key)
                    other._close_session()
                store = cls._open[key] = cls(key, database)
            store._users += 1
            return store

    def __init__(self, path: Path, database: str = "vsx") -> None:
        super().__init__(database)
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        check_store_free(path)
        try:
            self._session = chdb_session.Session(str(path))
        except RuntimeError as exc:  # lost a race with another process, or a damaged folder
            check_store_free(path)
            raise EventStoreError(f"chdb cannot open {path}: {exc}") from exc
        self._lock = threading.Lock()
        self._users = 0

    def _query(self, sql: str, fmt: str = "CSV") -> Any:
        with self._lock:
            try:
                return self._session.query(sql, fmt)
            except RuntimeError as exc:
                raise EventStoreError(f"chdb refused the statement: {exc}") from exc

    def _execute(self, sql: str) -> None:
        self._query(sql)

    def _select(self, sql: str) -> list[tuple[Any, ...]]:
        raw = self._query(sql, "JSONCompact").bytes()
        if not raw.strip():
            return []
        result = orjson.loads(raw)
        converters = [_converter(col["type"]) for col in result["meta"]]
        return [
            tuple(
                value if conv is None or value is None else conv(value)
                for conv, value in zip(converters, row, strict=True)
            )
            for row in result["data"]
        ]

    def _insert(self, table: str, names: Sequence[str], columns: Sequence[Sequence[Any]]) -> None:
        rows = zip(*columns, strict=True)
        lines = b"\n".join(orjson.dumps({c: _json_value(v) for c, v in zip(names, row, strict=True)}) for row in rows)
        sql = f"INSERT INTO {self.database}.{table} ({', '.join(names)}) FORMAT JSONEachRow\n"
        self._query(sql + lines.decode())

    @classmethod
    def close_all(cls) -> None:
        """Close every open session; runs at interpreter exit, because a chdb session still open while the
        interpreter tears down can crash the process (SIGSEGV in a chdb background thread, seen under pytest)."""
        with cls._registry_lock:
            for store in list(cls._open.values()):
                store._close_session()

    def close(self) -> None:
        """Release one `open`; the session closes when nobody else uses it."""
        with self._registry_lock:
            self._users -= 1
            if self._users > 0:
                return
        self._close_session()

    def _close_session(self) -> None:
        with self._registry_lock:
            self._users = 0
            if self._open.get(self.path) is self:
                del self._open[self.path]
        with self._lock:
            self._session.close()


atexit.register(ChdbStore.close_all)
