"""Embedded mode (`vsx demo`): in-process queue straight into chdb, same schema, no broker."""

from __future__ import annotations

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
