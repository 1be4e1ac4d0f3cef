"""Embedded mode (`vsx demo`): in-process queue straight into chdb, same schema, no broker."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from event_logging.config import KafkaConfig
from event_logging.factory import make_sink, open_store
from tests.event_logging.event_helpers import ids, searches, stored_counts, stored_ids

pytestmark = pytest.mark.integration


def test_embedded_sink_inserts_everything_into_chdb(chdb_path: Path, tmp_path: Path) -> None:
    store = open_store(chdb_path=chdb_path)
    assert open_store(chdb_path=chdb_path) is store, "one chdb session per process, shared"
    store.migrate()
    events = searches(300)
    sink = make_sink(embedded=True, kafka=KafkaConfig(), spool_dir=tmp_path, store=store)
    for start in range(0, len(events), 7):
        sink.log_many(events[start : start + 7])
    assert sink.flush(30)
    sink.close()
    assert sink.counters()["sent"] == len(events)
    assert stored_counts(store) == (len(events), len(events))
    assert stored_ids(store) == ids(events)
    store.close()


def test_deferred_groups_are_built_by_the_sender_and_a_failing_builder_loses_only_itself(
    chdb_path: Path, tmp_path: Path
) -> None:
    """`log_deferred` (what serving uses for a search): the builder runs on the sender thread; everything
    it returns is stored, and a builder that raises costs its own group only, counted as dropped."""
    store = open_store(chdb_path=chdb_path)
    store.migrate()
    events = searches(60)[:60]  # the helper adds impressions; sixty events in ten groups of six
    builders: set[str] = set()

    def group(start: int):
        def build():
            builders.add(threading.current_thread().name)
            return events[start : start + 6]

        return build

    def broken():
        raise RuntimeError("a bug in a builder")

    sink = make_sink(embedded=True, kafka=KafkaConfig(), spool_dir=tmp_path, store=store)
    before = stored_counts(store)[0]
    for start in range(0, 30, 6):
        sink.log_deferred(group(start), 6)
    sink.log_deferred(broken, 4)
    for start in range(30, 60, 6):
        sink.log_deferred(group(start), 6)
    assert sink.counters()["logged"] == len(events) + 4  # announced counts, before any builder ran
    assert sink.flush(30)
    sink.close()
    assert builders == {"vsx-embedded-sink"}  # never the caller's thread
    counts = sink.counters()
    assert (counts["logged"], counts["sent"], counts["dropped"]) == (len(events) + 4, len(events), 4)
    assert stored_counts(store)[0] - before == len(events)
    assert ids(events) <= stored_ids(store)
