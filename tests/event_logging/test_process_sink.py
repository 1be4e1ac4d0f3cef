"""The Kafka sink run in a child process (serving's default): delivery, deferred building, restarts, outages."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest

from event_logging.config import KafkaConfig, SpoolConfig
from event_logging.factory import make_sink
from event_logging.kafka_sink import KafkaEventSink
from event_logging.process_sink import REPLY_GRACE_S, ProcessSink
from event_logging.schema import parse_event
from event_logging.spool import read_segment
from event_logging.wire import unpack
from search_core.hits import Hit
from serving.event_factory import Exposure, search_event_count, search_events
from tests.event_logging.event_helpers import assert_replayed, ids, read_topic, searches, wait_for
from vsx.services import free_port

pytestmark = pytest.mark.integration


def _process_sink(kafka: KafkaConfig, spool_dir: Path) -> ProcessSink:
    sink = make_sink(embedded=False, kafka=kafka, spool_dir=spool_dir)
    assert isinstance(sink, ProcessSink)
    return sink


def _deferred_search(n: int) -> partial:
    """What serving hands the sink for one search: a picklable builder of its events, built in the child."""
    hits = [Hit(f"img{p}", 1 / p) for p in range(1, 6)]
    tags = (Exposure("exp", "treatment", "layer", "salt", 1),)
    return partial(
        search_events,
        request_id=uuid.UUID(int=n),
        user_id=f"user{n % 7}",
        query_image_id="q",
        tags=tags,
        hits=hits,
        latency_ms=1.5,
        status_code=200,
        ts=datetime(2024, 3, 1, tzinfo=UTC),
    )


def test_events_and_deferred_searches_reach_kafka_through_the_child(kafka_config: KafkaConfig, tmp_path: Path) -> None:
    events = searches(100)
    sink = _process_sink(kafka_config, tmp_path)
    sink.log_many(events)
    for n in range(40):
        build = _deferred_search(n)
        sink.log_deferred(build, search_event_count(build.keywords["tags"], build.keywords["hits"]))
    assert sink.flush(30)
    expected = len(events) + 40 * 6
    assert sink.counters() == {"logged": expected, "sent": expected, "spooled": 0, "dropped": 0, "replayed": 0,
                               "dead_letters": 0}  # fmt: skip
    sink.close()
    received = [parse_event(line) for _, line in read_topic(kafka_config)]
    assert len(received) == expected
    assert ids(events) <= {str(e.event_id) for e in received}
    built = [e for e in received if e.request_id.startswith("00000000")]
    assert sorted({e.request_id for e in built}) == sorted(str(uuid.UUID(int=n)) for n in range(40))
    assert {e.event_type for e in built} == {"search", "impression"}


def test_a_killed_child_is_replaced_and_later_events_still_arrive(kafka_config: KafkaConfig, tmp_path: Path) -> None:
    before, after = searches(50), searches(50, start=50)
    sink = _process_sink(kafka_config, tmp_path)
    sink.log_many(before)
    assert sink.flush(30)
    first = sink._process.pid
    os.kill(first, signal.SIGKILL)
    sink._process.join(10)  # dead before the next send: what a dying child still read from the pipe is lost
    sink.log_many(after)
    wait_for(lambda: sink.counters()["sent"] == len(before) + len(after), 60, "events sent through a new child")
    assert sink._process.pid != first
    sink.close()
    assert sink.counters()["dropped"] == 0  # flushed before the kill: the old child held nothing
    assert {str(parse_event(line).event_id) for _, line in read_topic(kafka_config)} == ids(before + after)


def test_unreachable_broker_spools_in_the_child_and_an_in_process_sink_replays(
    kafka_config: KafkaConfig, tmp_path: Path
) -> None:
    events = searches(60)
    down = kafka_config.model_copy(update={"bootstrap_servers": [f"127.0.0.1:{free_port()}"]})
    sink = _process_sink(down, tmp_path)
    sink.log_many(events)
    wait_for(lambda: sink.counters()["spooled"] == len(events), 30, "events spooled by the child")
    sink.close(timeout=2)
    assert list(tmp_path.glob("*.seg")), "the child's close sealed the spool segment"
    assert_replayed(kafka_config, tmp_path, events)


_VANISHING_PARENT = """
import os, sys, time
from pathlib import Path
from event_logging.config import KafkaConfig
from event_logging.factory import make_sink
from tests.event_logging.event_helpers import assert_replayed, searches

if __name__ == "__main__":
    sink = make_sink(embedded=False, kafka=KafkaConfig(bootstrap_servers=[sys.argv[1]]), spool_dir=Path(sys.argv[2]))
    sink.log_many(searches(50))
    time.sleep(1.0)  # the feeder hands the queue to the child every few ms; then vanish without close()
    os._exit(0)
"""


def test_child_keeps_what_it_holds_when_the_serving_process_vanishes(tmp_path: Path) -> None:
    script = tmp_path / "vanish.py"
    script.write_text(_VANISHING_PARENT)
    spool = tmp_path / "spool"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    subprocess.run(
        [sys.executable, str(script), f"127.0.0.1:{free_port()}", str(spool)], env=env, check=True, timeout=120
    )
    wait_for(lambda: any(spool.glob("*.seg")), 60, "the orphaned child to seal its spool")
    lines = [line for seg in spool.glob("*.seg") for m in read_segment(seg) for line in unpack(m.value)]
    assert len(lines) == len(searches(50))


def test_a_child_that_cannot_start_costs_events_not_the_server(tmp_path: Path) -> None:
    """A sink that fails in the child (here: a broken config) is restarted with back-off; close() still returns
    on time and every event is accounted for as dropped, loudly."""
    sink = ProcessSink(partial(KafkaEventSink, "not a config", SpoolConfig(directory=tmp_path)), max_queue=1_000)
    events = searches(20)
    sink.log_many(events)
    started = time.monotonic()
    sink.close(timeout=2)
    assert time.monotonic() - started < 2 + REPLY_GRACE_S + 5
    counts = sink.counters()
    assert counts["logged"] == counts["dropped"] == len(events) and counts["sent"] == counts["spooled"] == 0


def _spooling_sink(kafka_config: KafkaConfig, spool_dir: Path, **kwargs: float) -> ProcessSink:
    down = kafka_config.model_copy(update={"bootstrap_servers": [f"127.0.0.1:{free_port()}"]})
    return ProcessSink(partial(KafkaEventSink, down, SpoolConfig(directory=spool_dir)), max_queue=10_000, **kwargs)


def test_sigterm_to_the_child_waits_for_the_servers_own_shutdown(kafka_config: KafkaConfig, tmp_path: Path) -> None:
    """systemd signals every process of a service: the child keeps taking events until the server closes it."""
    first, second = searches(20), searches(20, start=20)
    sink = _spooling_sink(kafka_config, tmp_path)
    sink.log_many(first)
    wait_for(lambda: sink.counters()["spooled"] == len(first), 30, "first events spooled")
    os.kill(sink._process.pid, signal.SIGTERM)
    sink.log_many(second)
    wait_for(lambda: sink.counters()["spooled"] == len(first + second), 30, "events after SIGTERM spooled")
    assert sink._process.is_alive()
    sink.close(timeout=2)
    assert sink.counters() == {
        "logged": len(first + second), "sent": 0, "spooled": len(first + second), "dropped": 0, "replayed": 0,
        "dead_letters": 0,
    }  # fmt: skip


def test_a_child_never_closed_after_sigterm_closes_itself_and_keeps_its_events(
    kafka_config: KafkaConfig, tmp_path: Path
) -> None:
    events = searches(20)
    sink = _spooling_sink(kafka_config, tmp_path, term_grace_s=1.0)
    sink.log_many(events)
    wait_for(lambda: sink.counters()["spooled"] == len(events), 30, "events spooled")
    os.kill(sink._process.pid, signal.SIGTERM)
    sink._process.join(30)
    assert sink._process.exitcode == 0
    assert list(tmp_path.glob("*.seg")), "its close sealed the spool segment"
    sink.close(timeout=2)
    counts = sink.counters()
    assert counts["spooled"] == counts["logged"] == len(events) and counts["dropped"] == 0
