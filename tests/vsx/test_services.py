"""The service harness itself, against the real binaries: Tansu round-trip, ClickHouse and chdb round-trips."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

from vsx.services import ServiceError, ServiceProcess
from vsx.services.process import pid_alive, port_open


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
    from chdb import session

    sess = session.Session(str(chdb_path))
    sess.query("CREATE DATABASE IF NOT EXISTS vsx")
    sess.query("CREATE TABLE vsx.t (id UInt32, name String) ENGINE = MergeTree ORDER BY id")
    sess.query("INSERT INTO vsx.t VALUES (1, 'a'), (2, 'b')")
    sess.close()
    sess = session.Session(str(chdb_path))
    assert str(sess.query("SELECT count() FROM vsx.t", "CSV")).strip() == "2"
    sess.close()


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
