"""The service harness itself, against the real binaries: Tansu round-trip, ClickHouse and chdb round-trips,
`vsx services` with a cluster, and stopping only the processes it started."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

from event_logging.clickhouse_store import ClickHouseStore
from event_logging.config import ClickHouseConfig
from event_logging.migrator import load_migrations
from vsx.services import ServiceError, ServiceProcess, stack
from vsx.services.process import pid_alive, port_open, process_identity, recorded_state

NS_LAST_PID = Path("/proc/sys/kernel/ns_last_pid")


@pytest.mark.integration
def test_kafka_message_round_trip(tansu_bootstrap: list[str]) -> None:
    topic = f"roundtrip-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=tansu_bootstrap)
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=tansu_bootstrap)
    payloads = [f"message {i}".encode() for i in range(10)]
    for p in payloads:
        producer.send(topic, key=b"user-1", value=p)
    producer.flush(timeout=10)
    producer.close()

    consumer = KafkaConsumer(bootstrap_servers=tansu_bootstrap, consumer_timeout_ms=5000, auto_offset_reset="earliest")
    consumer.assign([TopicPartition(topic, 0)])
    consumer.seek_to_beginning()
    received = [m.value for m in consumer]
    consumer.close()
    assert received == payloads


@pytest.mark.integration
def test_clickhouse_table_round_trip(clickhouse_db_url: str) -> None:
    from clickhouse_driver import Client

    client = Client.from_url(clickhouse_db_url)
    client.execute("CREATE TABLE t (id UInt32, name String) ENGINE = MergeTree ORDER BY id")
    client.execute("INSERT INTO t (id, name) VALUES", [(1, "a"), (2, "b"), (3, "c")])
    assert client.execute("SELECT id, name FROM t ORDER BY id") == [(1, "a"), (2, "b"), (3, "c")]
    assert client.execute("SELECT version()")[0][0].startswith("18.16")
    client.disconnect()


@pytest.mark.integration
def test_chdb_round_trip_survives_reopen(chdb_path: Path) -> None:
    """Through the store, which takes over the process's one chdb session from any earlier test's."""
    from event_logging.factory import open_store

    with open_store(chdb_path=chdb_path) as store:
        store.query("CREATE DATABASE IF NOT EXISTS vsx")
        store.query("CREATE TABLE vsx.t (id UInt32, name String) ENGINE = MergeTree ORDER BY id")
        store.query("INSERT INTO vsx.t VALUES (1, 'a'), (2, 'b')")
    with open_store(chdb_path=chdb_path) as store:
        assert store.query("SELECT count() FROM vsx.t") == [(2,)]


def test_readiness_timeout_shows_log_tail(tmp_path: Path) -> None:
    """A service that never becomes ready fails with a clear timeout error that includes its log."""
    proc = ServiceProcess("sleeper", ["sh", "-c", "echo booting slowly; sleep 30"], tmp_path, {"x": 1})
    with pytest.raises(ServiceError, match="booting slowly"):
        proc.start(lambda: False, timeout=0.5)
    assert proc.pid is None


def test_early_exit_is_reported(tmp_path: Path) -> None:
    proc = ServiceProcess("crasher", ["sh", "-c", "echo bad config >&2; exit 3"], tmp_path, {})
    with pytest.raises(ServiceError, match="(?s)exited with code 3.*bad config"):
        proc.start(lambda: False, timeout=5)


@pytest.mark.integration
def test_stop_by_pid_frees_port(tmp_path: Path) -> None:
    from vsx.services import start_tansu

    proc = start_tansu(tmp_path / "tansu")
    pid, port = proc.pid, proc.ports["kafka"]
    assert port_open(port)
    proc.stop(remove_workdir=True)
    assert not pid_alive(pid)
    assert not port_open(port)
    assert not (tmp_path / "tansu").exists()


def _vsx(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`vsx ARGS` in a shell-like subprocess whose settings keep their state under `data_dir`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VSX_")}
    env |= {"VSX_DATA_DIR": str(data_dir), "VSX_CONFIG_FILE": str(data_dir / "absent.toml")}
    vsx = Path(sys.executable).parent / "vsx"
    return subprocess.run([str(vsx), *args], env=env, capture_output=True, text=True, timeout=300)


def _exports(stdout: str) -> dict[str, str]:
    return dict(re.findall(r"^export (\w+)='(.*)'$", stdout, flags=re.M))


@pytest.mark.cluster
def test_services_up_cluster_then_status_and_down(tmp_path: Path) -> None:
    """`vsx services up --cluster` starts Tansu, ZooKeeper and two shards a person can migrate and use;
    a second `up` keeps them, `up` without --cluster refuses, `down` stops every process and frees every port."""
    up = _vsx(tmp_path, "services", "up", "--cluster")
    try:
        assert up.returncode == 0, up.stderr
        env = _exports(up.stdout)
        assert env["VSX_CLICKHOUSE__CLUSTER"] == "vsx" and env["VSX_EMBEDDED"] == "false"
        other_node = re.search(r"^# another node: VSX_CLICKHOUSE__URL='(.*)'", up.stdout, flags=re.M).group(1)

        status = json.loads(_vsx(tmp_path, "services", "status", "--json").stdout)
        assert list(status) == ["tansu", "zookeeper", "clickhouse-1", "clickhouse-2"]
        assert all(s["state"] == "running" and all(p["open"] for p in s["ports"].values()) for s in status.values())

        with ClickHouseStore(ClickHouseConfig(url=env["VSX_CLICKHOUSE__URL"], cluster="vsx")) as store:
            assert store.migrate() == [f"{m.version:04d}_{m.name}" for m in load_migrations("vsx", "vsx")]
        with ClickHouseStore(ClickHouseConfig(url=other_node)) as node:
            tables = dict(node.query("SELECT name, engine FROM system.tables WHERE database = 'vsx'"))
        assert tables["events"] == "Distributed" and tables["events_local"] == "ReplicatedReplacingMergeTree"

        again = _vsx(tmp_path, "services", "up", "--cluster")
        assert again.returncode == 0 and _exports(again.stdout) == env
        single = _vsx(tmp_path, "services", "up")
        assert single.returncode == 2
        assert single.stderr.strip() == "error: services already run with a cluster: run `vsx services down` first"
    finally:
        down = _vsx(tmp_path, "services", "down")
    assert down.returncode == 0 and down.stdout.startswith("stopped: clickhouse-2, clickhouse-1, zookeeper, tansu")
    assert not any(pid_alive(s["pid"]) for s in status.values())
    assert not any(port_open(p["port"]) for s in status.values() for p in s["ports"].values())
    assert not Path(status["tansu"]["log"]).parents[1].exists(), "the scratch dir is left behind"


def _sleeper(tmp_path: Path, name: str) -> ServiceProcess:
    """A stand-in service (a `sleep` with a command line of its own) started through the harness; ready once
    it runs `sleep` (before its exec the child still shows the parent's command line)."""
    proc = ServiceProcess(name, ["sleep", f"{300 + len(name)}"], tmp_path / name, {})
    proc.start(lambda: (process_identity(proc.pid) or {}).get("cmdline") == proc.argv)
    return proc


def test_identity_is_start_time_and_command_line(tmp_path: Path) -> None:
    proc = _sleeper(tmp_path, "svc")
    record = proc.record()
    try:
        assert recorded_state(record) == "running"
        assert recorded_state(record | {"started": record["started"] - 60}) == "reused"
        assert recorded_state(record | {"cmdline": ["sleep", "1"]}) == "reused"
        assert recorded_state({k: v for k, v in record.items() if k != "started"}) == "reused"  # no identity kept
    finally:
        proc.stop()
    assert recorded_state(record) == "gone"


def _take_pid(pid: int) -> subprocess.Popen[bytes]:
    """An unrelated process that the kernel gives exactly `pid` (its next PID set through ns_last_pid)."""
    for _ in range(100):
        try:
            NS_LAST_PID.write_text(str(pid - 1))
        except OSError as exc:  # writable for root, yet refused without CAP_SYS_ADMIN (some containers)
            pytest.skip(f"cannot choose the next PID: {exc}")
        stranger = subprocess.Popen(["sleep", "600"])
        if stranger.pid == pid:
            return stranger
        stranger.kill()
        stranger.wait()
    pytest.fail(f"pid {pid} was not handed out again")


@pytest.mark.skipif(not os.access(NS_LAST_PID, os.W_OK), reason="reusing a PID on purpose needs root")
def test_services_down_leaves_a_process_that_reused_the_pid_alone(tmp_path: Path) -> None:
    """Regression: `down` signalled whatever process had the recorded PID. Here a service dies, an unrelated
    process gets its PID, and `down` stops the live service and leaves the stranger running."""
    data_dir = tmp_path / "data"
    clickhouse, tansu = _sleeper(tmp_path, "clickhouse"), _sleeper(tmp_path, "tansu")
    stack.write_state(data_dir, stack.build_state(tmp_path, {"tansu": tansu, "clickhouse": clickhouse}, {}))
    dead_pid = clickhouse.pid
    clickhouse.stop()
    stranger = _take_pid(dead_pid)
    try:
        status = json.loads(_vsx(data_dir, "services", "status", "--json").stdout)
        assert {label: s["state"] for label, s in status.items()} == {"tansu": "running", "clickhouse": "reused"}
        down = _vsx(data_dir, "services", "down")
        assert down.returncode == 0, down.stderr
        assert down.stdout.splitlines() == [
            "stopped: tansu",
            "left alone (their PID now belongs to another process): clickhouse",
        ]
        assert stranger.poll() is None, "the unrelated process was signalled"
        tansu_pid = tansu.pid
        tansu.pid = None  # `down` stopped it; reap it here
        os.waitpid(tansu_pid, 0)
        assert not stack.state_file(data_dir).exists()
    finally:
        stranger.kill()
        stranger.wait()
        tansu.stop()
