"""One process per embedded store: another process's store is refused naming that process, and within one
process the shared session closes with its last user."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from event_logging.chdb_lock import store_holder
from event_logging.chdb_store import ChdbStore
from event_logging.errors import EventStoreLockedError

pytestmark = pytest.mark.integration

HOLD = "import sys, time; from pathlib import Path; from event_logging.chdb_store import ChdbStore\n" \
       "ChdbStore.open(Path(sys.argv[1])); print('held', flush=True); time.sleep(120)"  # fmt: skip


@pytest.fixture
def held(chdb_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the store at `chdb_path`."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(chdb_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        yield proc
    finally:
        proc.kill()
        proc.wait(timeout=30)


def test_a_free_store_has_no_holder(chdb_path: Path, tmp_path: Path) -> None:
    assert store_holder(tmp_path / "never-created") is None
    assert store_holder(chdb_path) is None


def test_another_processs_store_is_refused_naming_it(held: subprocess.Popen[str], chdb_path: Path) -> None:
    holder = store_holder(chdb_path)
    assert holder is not None and holder.pid == held.pid
    assert holder.command is not None and holder.command.startswith("python") and "ChdbStore.open" in holder.command
    assert "\n" not in holder.command
    with pytest.raises(EventStoreLockedError) as refused:
        ChdbStore.open(chdb_path)
    assert refused.value.pid == held.pid
    assert str(refused.value).startswith(
        f"the embedded event store {chdb_path.resolve()} is in use by process {held.pid} (python"
    )
    held.kill()
    held.wait(timeout=30)
    store = ChdbStore.open(chdb_path)  # free once the holder is gone
    assert store_holder(chdb_path) is not None and store_holder(chdb_path).pid != held.pid  # now this process
    store.close()


def test_the_session_closes_with_its_last_user(chdb_path: Path) -> None:
    sink_side = ChdbStore.open(chdb_path)
    sink_side.migrate()
    analysis_side = ChdbStore.open(chdb_path)
    assert analysis_side is sink_side
    with analysis_side:  # what an analysis run inside the server does
        analysis_side.query(f"SELECT count() FROM {analysis_side.database}.events")
    assert sink_side.query(f"SELECT count() FROM {sink_side.database}.events") == [(0,)]  # still open
    sink_side.close()
    assert ChdbStore.open(chdb_path) is not sink_side  # closed with the last user: a fresh session
    ChdbStore.close_all()
