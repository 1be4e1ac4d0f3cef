"""Event pipeline throughput, end to end: producers → Tansu → `Ingestor` processes → ClickHouse 18.16.

Two pipelines in one run, each counted by distinct `event_id` in ClickHouse (lost = sent − distinct,
duplicates = rows − distinct):
- naive baseline: ONE kafka-python producer sending `json.dumps(model_dump())` one event per message,
  without the crc32c extension (kafka-python falls back to pure-Python CRC);
- vsx: `--producers` processes, each a `KafkaEventSink` (events of one user shard packed up to 500 per
  Kafka message — `--key-by-user`: of one user —, lz4, linger 20 ms, crc32c), validated events.
Both feed the same consumers: `--ingesters` `Ingestor` processes in one consumer group. Producers build
their events before the clock starts (building is serving's work, timed below as the request-path cost)
and start together; the clock stops when ClickHouse holds every distinct `event_id`.
Also measured: the request-path cost of logging one search with 10 impressions, two ways: `deferred`
(what serving does: `sink.log_deferred` of a builder, the sender thread builds the validated events) and
`built` (the 11 events built on the calling thread, then `sink.log_many`).

    .venv/bin/python benchmarks/events.py            # 1M events (baseline: 200k)
    .venv/bin/python benchmarks/events.py --quick    # 100k events (baseline: 50k)
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from event_logging.clickhouse_store import ClickHouseStore
from event_logging.config import ClickHouseConfig, KafkaConfig, SpoolConfig
from event_logging.kafka_sink import KafkaEventSink
from event_logging.schema import BaseEvent, ImpressionEvent, SearchEvent
from event_logging.store import deduped_events_sql
from event_logging.topics import ensure_topic
from vsx.services import bootstrap_servers, clickhouse_url, start_clickhouse, start_tansu

USERS = 5_000
IMPRESSIONS = 10


def request_events(i: int) -> list[BaseEvent]:
    """One search request: a search event and 10 impressions, as serving logs them."""
    now = datetime.now(UTC)
    common = dict(
        request_id=f"req{i}",
        user_id=f"user{i % USERS}",
        experiment="bench",
        ts=now,
        variant="treatment" if i % 2 else "control",
        query_image_id=f"q{i % 997}",
    )
    events: list[BaseEvent] = [SearchEvent(**common, latency_ms=8.5, result_count=IMPRESSIONS)]
    events += [
        ImpressionEvent(**common, result_image_id=f"img{p * 31 % 70000}", position=p, score=1.0 / p)
        for p in range(1, IMPRESSIONS + 1)
    ]
    return events


# -- processes -------------------------------------------------------------------------------------
def timed_after_go(send: Callable[[], None], ready: mp.Queue, go: mp.Event, out: mp.Queue) -> None:
    """Say ready, wait for the common start, run `send`; report its wall and CPU seconds."""
    ready.put(1)
    go.wait()
    start, cpu = time.perf_counter(), time.process_time()
    send()
    out.put(("producer", time.perf_counter() - start, time.process_time() - cpu))


def vsx_producer(
    kafka_json: str, spool_dir: str, first: int, requests: int, ready: mp.Queue, go: mp.Event, out: mp.Queue
) -> None:
    """Events are built before the clock starts: building them is serving's work (the request-path figures),
    and would take a large share of a small machine's cores from the pipeline measured."""
    sink = KafkaEventSink(KafkaConfig.model_validate_json(kafka_json), SpoolConfig(directory=Path(spool_dir)))
    batches = [request_events(i) for i in range(first, first + requests)]

    def send() -> None:
        for i, events in enumerate(batches):
            sink.log_many(events)
            if i % 1_000 == 0:  # a load generator, not a server: don't outrun the sender thread without bound
                counts = sink.counters()
                while counts["logged"] - counts["sent"] - counts["spooled"] - counts["dropped"] > 200_000:
                    time.sleep(0.01)
                    counts = sink.counters()
        sink.flush(600)
        sink.close()

    timed_after_go(send, ready, go, out)


def naive_producer(kafka_json: str, requests: int, ready: mp.Queue, go: mp.Event, out: mp.Queue) -> None:
    sys.modules["crc32c"] = None  # type: ignore[assignment]  # as if the extension were not installed
    from kafka import KafkaProducer

    kafka = KafkaConfig.model_validate_json(kafka_json)
    producer = KafkaProducer(bootstrap_servers=kafka.bootstrap_servers)
    batches = [request_events(i) for i in range(requests)]

    def send() -> None:
        for events in batches:
            for event in events:
                value = json.dumps(event.model_dump(mode="json")).encode()
                producer.send(kafka.topic, key=event.user_id.encode(), value=value)
        producer.flush()
        producer.close()

    timed_after_go(send, ready, go, out)


def ingester(kafka_json: str, url: str, stop: mp.Event, out: mp.Queue) -> None:
    import threading

    from event_logging.consumer import Ingestor

    kafka = KafkaConfig.model_validate_json(kafka_json)
    store = ClickHouseStore(ClickHouseConfig(url=url))
    local_stop = threading.Event()
    threading.Thread(target=lambda: (stop.wait(), local_stop.set()), daemon=True).start()
    stats = Ingestor(kafka, store, batch_size=50_000, batch_timeout_s=1.0).run(local_stop)
    out.put(("ingester", stats.inserted, stats.batches))


# -- orchestration ---------------------------------------------------------------------------------
def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time so far of running processes (Linux `/proc/<pid>/stat` fields 14 and 15)."""
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def run_pipeline(
    name: str,
    kafka: KafkaConfig,
    ch_base: str,
    events: int,
    producers: int,
    ingesters: int,
    tmp: Path,
    naive: bool,
    services: dict[str, int],
) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    url = f"{ch_base}/bench_{name}"
    store = ClickHouseStore(ClickHouseConfig(url=url))
    store.migrate()
    ensure_topic(kafka)
    out, ready, stop, go = ctx.Queue(), ctx.Queue(), ctx.Event(), ctx.Event()
    consumers = [ctx.Process(target=ingester, args=(kafka.model_dump_json(), url, stop, out)) for _ in range(ingesters)]
    for p in consumers:
        p.start()
    time.sleep(8.0)  # let the group form (Tansu: join waits session_timeout/2) before the clock starts
    requests = events // (IMPRESSIONS + 1)
    if naive:
        procs = [ctx.Process(target=naive_producer, args=(kafka.model_dump_json(), requests, ready, go, out))]
    else:
        share = requests // producers
        procs = [
            ctx.Process(
                target=vsx_producer,
                args=(kafka.model_dump_json(), str(tmp / f"spool-{name}-{k}"), k * share, share, ready, go, out),
            )
            for k in range(producers)
        ]
        requests = share * producers
    expected = requests * (IMPRESSIONS + 1)
    for p in procs:
        p.start()
    for _ in procs:
        ready.get()
    groups = {"ingest": [p.pid for p in consumers if p.pid], **{k: [v] for k, v in services.items()}}
    cpu_before = {group: cpu_seconds(pids) for group, pids in groups.items()}
    start = time.perf_counter()
    go.set()
    db = store.database
    distinct, last_change, last = 0, time.perf_counter(), -1
    while distinct < expected and time.perf_counter() - last_change < 60:
        time.sleep(0.25)
        # count() is read from part metadata; the distinct count scans, so it runs once rows suffice
        ((stored,),) = store.query(f"SELECT count() FROM {db}.events")
        if stored >= expected:
            ((distinct,),) = store.query(f"SELECT uniqExact(event_id) FROM {db}.events")
        if stored != last:
            last, last_change = stored, time.perf_counter()
    elapsed = time.perf_counter() - start
    cpu = {group: cpu_seconds(pids) - cpu_before[group] for group, pids in groups.items()}
    for p in procs:
        p.join()
    produced = [out.get() for _ in procs]
    cpu = {"producers": sum(c for _, _, c in produced), **cpu}
    stop.set()
    for p in consumers:
        p.join(60)
    ((rows,),) = store.query(f"SELECT count() FROM {db}.events")
    ((distinct,),) = store.query(f"SELECT count() FROM {deduped_events_sql(db)}")
    store.close()
    produce_s = max(t for _, t, _ in produced)
    return {
        "events": expected,
        "seconds": elapsed,
        "rate": distinct / elapsed,
        "lost": expected - distinct,
        "duplicates": rows - distinct,
        "producer_rate": expected / produce_s,
        "cpu_us_per_event": {group: seconds / expected * 1e6 for group, seconds in cpu.items()},
    }


def request_path_cost(kafka: KafkaConfig, tmp: Path, n: int) -> dict[str, float]:
    """µs to build one search + 10 impressions and hand them to a connected sink (median and p99)."""
    sink = KafkaEventSink(kafka.model_copy(update={"topic": "bench-request-path"}), SpoolConfig(directory=tmp / "rp"))
    sink.log_many(request_events(0))
    sink.flush(30)
    result = {}
    ways: dict[str, Callable[[int], None]] = {
        "deferred": lambda i: sink.log_deferred(partial(request_events, i), IMPRESSIONS + 1),
        "built": lambda i: sink.log_many(request_events(i)),
    }
    for label, log in ways.items():
        samples = []
        for i in range(n):
            t0 = time.perf_counter()
            log(i)
            samples.append((time.perf_counter() - t0) * 1e6)
            if i % 500 == 0:
                sink.flush(30)  # keep the sender from piling up work between samples
        samples.sort()
        result[f"{label}_median_us"] = statistics.median(samples)
        result[f"{label}_p99_us"] = samples[int(len(samples) * 0.99)]
    sink.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="100k events, 50k for the baseline")
    parser.add_argument("--events", type=int, default=None)
    parser.add_argument("--baseline-events", type=int, default=None)
    parser.add_argument("--producers", type=int, default=2)
    parser.add_argument("--ingesters", type=int, default=2)
    parser.add_argument("--key-by-user", action="store_true", help="key messages by user id, not user shard")
    parser.add_argument("--request-path-only", action="store_true", help="only the request-path cost")
    args = parser.parse_args()
    events = args.events or (100_000 if args.quick else 1_000_000)
    baseline_events = args.baseline_events or (50_000 if args.quick else 200_000)
    logging.basicConfig(level=logging.WARNING)
    tmp = Path(tempfile.mkdtemp(prefix="vsx-bench-events-"))
    tansu, clickhouse = start_tansu(tmp / "tansu"), start_clickhouse(tmp / "clickhouse")
    services = {"tansu": tansu.pid, "clickhouse": clickhouse.pid}
    try:
        base = KafkaConfig(bootstrap_servers=bootstrap_servers(tansu), partitions=6)
        if args.key_by_user:
            base = base.model_copy(update={"user_shards": None})
        ch_base = clickhouse_url(clickhouse, "").rstrip("/")
        cost = request_path_cost(base, tmp, 2_000 if args.quick else 10_000)
        print(
            f"request path (search + {IMPRESSIONS} impressions): "
            + "; ".join(
                f"{way} median {cost[f'{way}_median_us']:.1f} µs (p99 {cost[f'{way}_p99_us']:.1f})"
                for way in ("deferred", "built")
            )
        )
        if args.request_path_only:
            return
        naive = run_pipeline(
            "naive",
            base.model_copy(update={"topic": "bench-naive", "consumer_group": "bench-naive"}),
            ch_base,
            baseline_events,
            1,
            args.ingesters,
            tmp,
            naive=True,
            services=services,
        )
        ours = run_pipeline(
            "vsx",
            base.model_copy(update={"topic": "bench-vsx", "consumer_group": "bench-vsx"}),
            ch_base,
            events,
            args.producers,
            args.ingesters,
            tmp,
            naive=False,
            services=services,
        )
        for label, r in (
            ("naive baseline (1 producer, json.dumps, 1 event/message, no crc32c)", naive),
            (f"vsx ({args.producers} producers, packed batches, lz4, crc32c)", ours),
        ):
            print(
                f"{label}: {r['events']:,} events in {r['seconds']:.1f} s = {r['rate']:,.0f} events/s end to end "
                f"(producer side {r['producer_rate']:,.0f}/s), lost {r['lost']}, duplicates {r['duplicates']}"
            )
            print("  CPU µs per event: " + ", ".join(f"{k} {v:.1f}" for k, v in r["cpu_us_per_event"].items()))
        print(
            f"ratio vsx / naive end to end: {ours['rate'] / naive['rate']:.2f}x "
            f"({args.ingesters} ingest processes in one consumer group, machine has {mp.cpu_count()} cores)"
        )
    finally:
        tansu.stop()
        clickhouse.stop()


if __name__ == "__main__":
    main()
