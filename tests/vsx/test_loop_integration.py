"""The loop end to end against the real Tansu broker and ClickHouse server (not embedded).

A tiny catalog (a Fashion-MNIST folder, 60 images per class) keeps training and indexing fast; everything
else is the production path: YAML written and validated, the serving app assigning and logging to Kafka,
`Ingestor` moving events into ClickHouse, SQL analysis, the HTML report, click-pair export, retraining.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from analysis import Results
from dashboards.formatting import pct
from event_logging.config import ClickHouseConfig, KafkaConfig
from event_logging.factory import open_store
from event_logging.store import deduped_events_sql
from search_core.artifacts import ArtifactStore, sha256_file
from search_core.catalog import load_catalog
from tests.search_core.small_catalog import write_fashion_folder
from vsx.pipelines.demo import SIZES, run_demo
from vsx.pipelines.online import Backend
from vsx.pipelines.reporting import PAIRS_MIN_DWELL_MS
from vsx.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def settings(tmp_path: Path, tansu_bootstrap: list[str], clickhouse_db_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data", artifacts_dir=tmp_path / "artifacts", experiments_dir=tmp_path / "experiments",
        reports_dir=tmp_path / "reports", embedded=False,
        kafka=KafkaConfig(bootstrap_servers=tansu_bootstrap, topic="loop-events", partitions=2),
        clickhouse=ClickHouseConfig(url=clickhouse_db_url),
    )  # fmt: skip


def test_small_loop_through_kafka_and_clickhouse(settings: Settings, tmp_path: Path) -> None:
    catalog_dir = write_fashion_folder(tmp_path / "catalog", per_class=60)
    size = replace(SIZES["quick"], users=40, il_users=30, sweep_users=50, days=2, pre_days=1, eval_queries=60,
                   factory="Flat")  # fmt: skip
    backend = Backend(embedded=False, chdb_path=None, kafka=settings.kafka, clickhouse=settings.clickhouse,
                      spool_dir=settings.spool_dir)  # fmt: skip
    summary = run_demo(settings, size, backend, source="clickhouse", catalog_spec=str(catalog_dir))
    exp1, exp2 = summary.experiments[:2]

    store = open_store(clickhouse=settings.clickhouse)
    events = deduped_events_sql(store.database)
    # 1. every event the simulator caused arrived exactly once (after dedupe), none more
    assert store.query(f"SELECT count() FROM {events}")[0][0] == sum(exp.events for exp in summary.experiments)
    # 2. the offline evaluation queries never appear in traffic
    catalog = load_catalog(str(catalog_dir))
    queried = {row[0] for row in store.query(f"SELECT DISTINCT query_image_id FROM {events}")}
    assert queried and not queried & set(catalog.query_ids)
    # 3. the report exists and shows what results.json says
    for exp in (exp1, exp2):
        results = Results.read(exp.report.parent / "results.json")
        html = exp.report.read_text()
        assert results.experiment in html
        for row in results.results:
            if row.rel_lift is not None:
                assert pct(row.rel_lift) in html, (row.metric, row.method)
    # 4. v2 names v1 as parent and records the pairs file it used
    artifacts = ArtifactStore(settings.artifacts_dir)
    v2 = artifacts.manifest("encoder", summary.v2)
    v1 = artifacts.manifest("encoder", exp1.encoders["treatment"])
    assert v2.parent_version == v1.version and v2.name == v1.name
    assert v2.pairs is not None and Path(v2.pairs.path) == summary.pairs
    assert v2.pairs.sha256 == sha256_file(summary.pairs)
    # 5. the exported pairs are exactly the satisfied clicked pairs of experiment 1
    lines = summary.pairs.read_text().splitlines()
    exported = {(p["query_image_id"], p["result_image_id"]) for p in map(json.loads, lines)}
    clicked = set(store.query(
        f"SELECT c.query_image_id, c.result_image_id FROM {events} AS c "
        "WHERE c.event_type = 'dwell' AND c.experiment = %(exp)s AND c.dwell_ms >= %(min)s "
        "AND c.query_image_id != c.result_image_id",
        {"exp": exp1.name, "min": PAIRS_MIN_DWELL_MS},
    ))  # fmt: skip
    assert exported == clicked
    assert v2.pairs.count == len(exported)
    # 6. interleaving experiments recorded teams, were analysed as preferences, and the history page has them all
    il1 = summary.experiments[2]
    teams = {row[0] for row in store.query(
        f"SELECT DISTINCT team FROM {events} WHERE experiment = %(exp)s AND event_type = 'impression'",
        {"exp": il1.name},
    )}  # fmt: skip
    assert teams == {"A", "B"}
    assert {r.method for r in il1.results.results} == {"interleaving"}
    history = summary.history.read_text()
    assert all(exp.name in history for exp in summary.experiments)
    # 7. every search carries the simulated user's platform and country, through Kafka into ClickHouse
    ((searches, with_attributes),) = store.query(
        f"SELECT count(), countIf(has(attr_names, 'platform') AND has(attr_names, 'country')) FROM {events} "
        "WHERE event_type = 'search'"
    )
    assert searches and with_attributes == searches
    layout = summary.experiments[-1]
    assert {r.attribute for r in layout.results.segments} == {"platform", "country"}
    store.close()
