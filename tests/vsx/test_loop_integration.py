"""The loop end to end against the real Tansu broker and ClickHouse server (not embedded).

A tiny catalog (a Fashion-MNIST folder, 60 images per class) keeps training and indexing fast; everything
else is the production path: YAML written and validated, the serving app assigning and logging to Kafka,
`Ingestor` moving events into ClickHouse, SQL analysis, the HTML report, click-pair export, fine-tuning
v2 on experiment 1's click groups and v3 on the pooled clicks of every experiment before it.
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
from search_core.training import trained_images
from tests.search_core.small_catalog import write_fashion_folder
from vsx.pipelines.demo import SIZES, run_demo
from vsx.pipelines.reporting import PAIRS_MIN_DWELL_MS
from vsx.pipelines.serving import Backend
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
    size = replace(SIZES["quick"], users=40, v1_users=40, il_users=30, v2_il_users=30, sweep_users=50, days=2,
                   pre_days=1, eval_queries=60, factory="Flat")  # fmt: skip
    backend = Backend.from_settings(settings)
    summary = run_demo(settings, size, backend, source="clickhouse", catalog_spec=str(catalog_dir))
    exp1, exp2 = summary.experiments[:2]

    store = open_store(clickhouse=settings.clickhouse)
    events = deduped_events_sql(store.database)
    # 1. every event the simulator caused arrived exactly once (after dedupe), none more
    assert store.query(f"SELECT count() FROM {events}")[0][0] == sum(exp.events for exp in summary.experiments)
    # 2. neither the offline evaluation queries nor the validation images ever appear in traffic
    catalog = load_catalog(str(catalog_dir))
    queried = {row[0] for row in store.query(f"SELECT DISTINCT query_image_id FROM {events}")}
    held_out = set(catalog.query_ids) | set(catalog.validation_ids)
    assert queried and not queried & held_out
    # 3. the report exists and shows what results.json says
    for exp in (exp1, exp2):
        results = Results.read(exp.report.parent / "results.json")
        html = exp.report.read_text()
        assert results.experiment in html
        for row in results.results:
            if row.rel_lift is not None:
                assert pct(row.rel_lift) in html, (row.metric, row.method)
    # 4. v2 names v1 as parent, v3 names v2; each records the pairs file it used and its groups' lineage
    artifacts = ArtifactStore(settings.artifacts_dir)
    v1, v2, v3 = (artifacts.manifest("encoder", ref) for ref in summary.versions)
    assert str(v1.ref) == exp1.encoders["treatment"] and v1.parent_version is None
    assert (v2.parent_version, v3.parent_version) == (v1.version, v2.version) and v1.name == v2.name == v3.name
    for version, pairs in zip((v2, v3), summary.pairs, strict=True):
        assert version.pairs is not None and Path(version.pairs.path) == pairs
        assert version.pairs.sha256 == sha256_file(pairs)
    assert set(v2.training["click_groups"]["experiments"]) == {exp1.name}
    assert set(v3.training["click_groups"]["experiments"]) <= {exp.name for exp in summary.experiments[:5]}
    # 5. the pairs exported for v2 are exactly the satisfied clicked pairs of experiment 1 between training images
    lines = summary.pairs[0].read_text().splitlines()
    exported = {(p["query_image_id"], p["result_image_id"]) for p in map(json.loads, lines)}
    clicked = set(store.query(
        f"SELECT c.query_image_id, c.result_image_id FROM {events} AS c "
        "WHERE c.event_type = 'dwell' AND c.experiment = %(exp)s AND c.dwell_ms >= %(min)s "
        "AND c.query_image_id != c.result_image_id",
        {"exp": exp1.name, "min": PAIRS_MIN_DWELL_MS},
    ))  # fmt: skip
    assert exported == {(q, r) for q, r in clicked if q not in held_out and r not in held_out}
    assert v2.pairs.count == len(exported) and v2.training["pairs_held_out"] == 0
    # 6. experiments comparing click-trained encoders never query an image those encoders were taught with
    for exp in summary.experiments[1:]:
        taught = set().union(*(trained_images(artifacts, ref) for ref in exp.encoders.values()))
        queries = {row[0] for row in store.query(
            f"SELECT DISTINCT query_image_id FROM {events} WHERE experiment = %(exp)s", {"exp": exp.name})}  # fmt: skip
        assert not queries & taught, exp.name
    # 7. interleaving experiments recorded teams, were analysed as preferences, and the history page has them all
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
