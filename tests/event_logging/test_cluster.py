"""The production topology, run for real: ZooKeeper + two ClickHouse 18.16 shards, Tansu, two `vsx ingest`.

Migrations run `ON CLUSTER` from both ingest processes at once (each pointed at its own node); a shard is
killed (SIGKILL) while events flow and started again; afterwards every event is stored, each counted
once through the analysis read path, and `vsx analyze` on the cluster writes the same numbers as on a
single server holding the same events.
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from event_logging.clickhouse_store import ClickHouseStore
from event_logging.config import ClickHouseConfig, KafkaConfig, SpoolConfig
from event_logging.kafka_sink import KafkaEventSink
from event_logging.schema import BaseEvent, ClickEvent, DwellEvent, ImpressionEvent, SearchEvent
from event_logging.topics import ensure_topic
from tests.event_logging.event_helpers import ids, ingesting, searches, stored_counts, stored_ids, wait_for
from vsx.cli import app
from vsx.pipelines.click_model import ClickModel
from vsx.services import clickhouse_url
from vsx.services.cluster import LocalCluster, start_cluster
from vsx.services.process import log_tail
from vsx.settings import get_settings

pytestmark = pytest.mark.cluster

EXPERIMENT = "cluster-exp"
START = datetime(2026, 3, 2, tzinfo=UTC)
EXPERIMENT_YAML = f"""\
name: {EXPERIMENT}
owner: search-team
status: running
layer: ranking
start: {START:%Y-%m-%dT%H:%M:%SZ}
control: control
variants:
  - {{name: control, weight: 0.5}}
  - {{name: treatment, weight: 0.5}}
primary_metric: ctr
secondary_metrics: [dwell_per_click, search_success_rate, latency_p95]
"""
PLATFORM_YAML = """\
holdout: {share: 0.0, salt: global-holdout}
default: {encoder: pixels@1, index: pixels-flat@1}
"""


def experiment_events(users: int, seed: int = 3) -> list[BaseEvent]:
    """Searches of `users` users over 3 pre-period days and 4 experiment days, with clicks and dwell from the
    loop's click model; treatment's result lists hold more relevant results, so it has a real lift."""
    rng = np.random.default_rng(seed)
    model = ClickModel()
    events: list[BaseEvent] = []
    for u in range(users):
        user = f"u{u:04d}"
        variant = "treatment" if rng.random() < 0.5 else "control"
        relevant_share = 0.45 if variant == "treatment" else 0.35
        bias = float(rng.normal(0, model.user_bias_sd))
        for s in range(1 + int(rng.poisson(2.5))):
            day = int(rng.integers(-3, 4))
            ts = START + timedelta(days=day, seconds=int(rng.integers(0, 86_000)))
            common: dict[str, Any] = dict(
                request_id=f"{user}-{s}",
                user_id=user,
                experiment=EXPERIMENT if day >= 0 else "",
                variant=variant if day >= 0 else "default",
                query_image_id=f"q{rng.integers(0, 500)}",
            )
            failed = rng.random() < 0.02
            events.append(
                SearchEvent(
                    **common,
                    ts=ts,
                    latency_ms=float(rng.lognormal(3.5, 0.4)),
                    result_count=0 if failed else 8,
                    status_code=500 if failed else 200,
                )  # fmt: skip
            )
            if failed:
                continue
            relevant = rng.random(8) < relevant_share
            clicked = model.clicks(relevant, bias, rng)
            for position in range(1, 9):
                shown = dict(common, result_image_id=f"r{rng.integers(0, 2_000)}", position=position)
                at = ts + timedelta(seconds=position)
                events.append(ImpressionEvent(**shown, ts=at, score=1 / position))
                if clicked[position - 1]:
                    events.append(ClickEvent(**shown, ts=at + timedelta(seconds=10)))
                    dwell = model.dwell_ms(bool(relevant[position - 1]), rng)
                    events.append(DwellEvent(**shown, ts=at + timedelta(seconds=20), dwell_ms=dwell))
    return events


class Ingest:
    """One `vsx ingest` process against one node of the cluster, its output in a log file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        vsx = Path(sys.executable).parent / "vsx"
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [str(vsx), "-v", "ingest", "--batch-size", "2000", "--batch-timeout", "0.3"],  # -v: assignments
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def assigned(self) -> set[int] | None:
        """The partitions of its latest assignment (None before the first)."""
        found = re.findall(r"assigned partitions: \[([\d, ]*)\]", self.text())
        return {int(p) for p in found[-1].split(",") if p.strip()} if found else None

    def stop(self) -> tuple[int, int]:
        """SIGTERM, wait; (exit code, events it reports having ingested)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise
        counted = re.search(r"ingested (\d+) events", self.text())
        return code, int(counted.group(1)) if counted else -1


@pytest.fixture
def cluster(services_dir: Path) -> Iterator[LocalCluster]:
    """ZooKeeper and two ClickHouse shards of this test alone."""
    local = start_cluster(services_dir / f"cluster-{uuid.uuid4().hex[:6]}")
    yield local
    local.stop(remove_workdir=True)


@pytest.fixture
def kafka(kafka_config: KafkaConfig) -> KafkaConfig:
    """The test's own topic (created here), in small messages so that ingest takes many batches."""
    config = kafka_config.model_copy(update={"max_events_per_message": 50})
    ensure_topic(config)
    return config


def settings_env(kafka: KafkaConfig, url: str, folders: Path, cluster: str | None) -> dict[str, str]:
    """The environment of a vsx process using this topic, this ClickHouse URL and these folders."""
    env = {
        "VSX_EMBEDDED": "false",
        "VSX_KAFKA__BOOTSTRAP_SERVERS": json.dumps(kafka.bootstrap_servers),
        "VSX_KAFKA__TOPIC": kafka.topic,
        "VSX_KAFKA__PARTITIONS": str(kafka.partitions),
        "VSX_KAFKA__CONSUMER_GROUP": kafka.consumer_group,
        "VSX_CLICKHOUSE__URL": url,
        "VSX_CONFIG_FILE": str(folders / "absent.toml"),
    }
    if cluster:
        env["VSX_CLICKHOUSE__CLUSTER"] = cluster
    for name in ("data", "artifacts", "experiments", "reports"):
        env[f"VSX_{name.upper()}_DIR"] = str(folders / name)
    return env


def analyze(env: dict[str, str], out: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """`vsx analyze EXPERIMENT --source clickhouse --out OUT` in this environment; the results.json it wrote."""
    with monkeypatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        get_settings.cache_clear()
        result = CliRunner().invoke(app, ["analyze", EXPERIMENT, "--source", "clickhouse", "--out", str(out)])
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    return json.loads((out / "results.json").read_text())


def row_leaves(doc: Any, path: tuple[Any, ...] = (), in_row: bool = False) -> dict[tuple[Any, ...], Any]:
    """Every scalar inside a row (an item of any list) of a results document, by its path."""
    if isinstance(doc, dict):
        return {k: v for key, value in doc.items() for k, v in row_leaves(value, (*path, key), in_row).items()}
    if isinstance(doc, list):
        return {k: v for i, value in enumerate(doc) for k, v in row_leaves(value, (*path, i), True).items()}
    return {path: doc} if in_row else {}


def assert_same_numbers(single: dict[str, Any], clustered: dict[str, Any]) -> int:
    """The rows of both documents hold the same values (floats to 1e-9 relative); returns how many numbers."""
    expected, got = row_leaves(single), row_leaves(clustered)
    assert got.keys() == expected.keys()
    numbers = 0
    for path, value in expected.items():
        if isinstance(value, float) and isinstance(got[path], float):
            assert math.isclose(got[path], value, rel_tol=1e-9, abs_tol=1e-12), path
            numbers += 1
        else:
            assert got[path] == value, path
            numbers += isinstance(value, int) and not isinstance(value, bool)
    return numbers


class Traffic:
    """Logs `events` into Kafka in slices over `seconds` from a thread."""

    def __init__(self, sink: KafkaEventSink, events: list[BaseEvent], seconds: float) -> None:
        self.sink, self.events, self.seconds = sink, events, seconds
        self.sent = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        slices = 40
        step = math.ceil(len(self.events) / slices)
        for i in range(0, len(self.events), step):
            self.sink.log_many(self.events[i : i + step])
            self.sent = min(i + step, len(self.events))
            time.sleep(self.seconds / slices)


def test_cluster_ingest_survives_a_killed_shard_and_analyses_like_one_server(
    cluster: LocalCluster, kafka: KafkaConfig, clickhouse_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("data", "artifacts", "experiments", "reports"):
        (tmp_path / name).mkdir()
    (tmp_path / "experiments" / f"{EXPERIMENT}.yaml").write_text(EXPERIMENT_YAML)
    (tmp_path / "experiments" / "platform.yaml").write_text(PLATFORM_YAML)
    events = experiment_events(users=600)
    node_urls = [clickhouse_url(node) for node in cluster.nodes]
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("VSX_")}

    ingests = [
        Ingest(base_env | settings_env(kafka, url, tmp_path, cluster.name), tmp_path / f"ingest-{i + 1}.log")
        for i, url in enumerate(node_urls)
    ]
    store = ClickHouseStore(ClickHouseConfig(url=node_urls[0], cluster=cluster.name))
    sink = KafkaEventSink(kafka, SpoolConfig(directory=tmp_path / "spool"))
    try:

        def both_members_own_partitions() -> bool:
            owned = [ingest.assigned() for ingest in ingests]
            for ingest in ingests:
                assert ingest.proc.poll() is None, f"vsx ingest exited:\n{log_tail(ingest.log)}"
            return all(owned) and set.union(*owned) == set(range(kafka.partitions))

        wait_for(both_members_own_partitions, 90, "both ingest processes to migrate and share the partitions")

        traffic = Traffic(sink, events, seconds=8.0)
        traffic.thread.start()
        wait_for(lambda: traffic.sent >= len(events) // 4 and stored_counts(store)[0] > 0, 60, "ingest under way")
        victim = cluster.nodes[1]
        os.kill(victim.pid, signal.SIGKILL)
        victim.stop()  # reaps it
        wait_for(lambda: "event store unavailable" in ingests[1].text(), 30, "the second ingest process retrying")
        time.sleep(2.0)
        cluster.start_node(1)
        traffic.thread.join()
        assert sink.flush(30)
        wait_for(lambda: stored_counts(store)[1] >= len(events), 180, "every event in the cluster")
        time.sleep(1.0)  # anything still in flight would show up as a duplicate or an extra row now
        rows, distinct = stored_counts(store)
        assert stored_ids(store) == ids(events), "events lost or invented"
        assert distinct == len(events), "the analysis read path counts an event twice"
        assert rows >= distinct
        per_shard = []
        for url in node_urls:
            with ClickHouseStore(ClickHouseConfig(url=url)) as shard:
                per_shard.append(shard.query("SELECT count() FROM vsx.events_local")[0][0])
        assert all(per_shard) and sum(per_shard) == rows, "events are sharded, and the Distributed table reads both"
    finally:
        sink.close()
        outcomes = [ingest.stop() for ingest in ingests]
        store.close()
    for (code, ingested), ingest in zip(outcomes, ingests, strict=True):
        assert code == 0 and ingested > 0, log_tail(ingest.log)
    assert sum(ingested for _, ingested in outcomes) >= len(events)

    single = ClickHouseStore(ClickHouseConfig(url=clickhouse_db_url))
    single.migrate()
    single.insert_events(events)
    single.close()
    database_env = settings_env(kafka, clickhouse_db_url, tmp_path, None)
    one_server = analyze(database_env, tmp_path / "single", monkeypatch)
    clustered = analyze(settings_env(kafka, node_urls[0], tmp_path, cluster.name), tmp_path / "cluster", monkeypatch)
    assert {row["metric"] for row in one_server["results"]} >= {"ctr", "latency_p95"}
    assert assert_same_numbers(one_server, clustered) > 100


def test_zookeeper_outage_pauses_ingest_and_loses_nothing(
    cluster: LocalCluster, kafka: KafkaConfig, tmp_path: Path
) -> None:
    """Frozen ZooKeeper: the replicated tables refuse inserts (connection loss, then read-only) until it is
    back; the ingestor holds its offsets and retries instead of dying, and every event arrives once."""
    store = ClickHouseStore(ClickHouseConfig(url=clickhouse_url(cluster.nodes[0]), cluster=cluster.name))
    store.migrate()
    sink = KafkaEventSink(kafka, SpoolConfig(directory=tmp_path / "spool"))
    first, second = searches(300), searches(300, start=300)
    zookeeper = cluster.zookeeper.pid
    try:
        with ingesting(kafka, store, batch_size=1_000, batch_timeout_s=0.3) as ingestor:
            sink.log_many(first)
            wait_for(lambda: stored_counts(store)[1] == len(first), 60, "first half stored")
            os.kill(zookeeper, signal.SIGSTOP)
            try:
                sink.log_many(second)
                assert sink.flush(20)
                wait_for(lambda: ingestor.stats.retries >= 3, 60, "the ingestor retrying while ZooKeeper is frozen")
            finally:
                os.kill(zookeeper, signal.SIGCONT)
            wait_for(lambda: stored_counts(store)[1] == len(first) + len(second), 90, "second half stored")
        assert stored_ids(store) == ids(first) | ids(second)
    finally:
        sink.close()
        store.close()
