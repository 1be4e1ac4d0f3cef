"""Analysis latency: experiment → results.json + report.html, beside the bare per-user aggregation query.

Generates synthetic traffic in SQL (`INSERT ... SELECT ... FROM numbers()`: seconds, not minutes of
Python) into a ClickHouse 18.16 server started here and into chdb, then times, on the same data:

- bare: the per-user aggregation query alone (`analysis.queries.per_user_sql`, one row per exposed user
  fetched into Python) — what any analysis has to pay;
- pipeline: `EventStoreSource.load` + `analyze` + `Results.write` + `dashboards.render_report`, for the
  example experiment of the YAML contract (ctr, dwell_per_click, search_success_rate; guardrails
  latency_p95, zero_result_rate, error_rate), once more with two quantile metrics added, and for a plan of
  ten YAML-defined metrics (the built-ins and `examples/metrics/`: filters, a window, count_distinct, a
  percentile and a fixed cap; no quantile) split by two segment attributes (platform, country).

Traffic: 15 slots per search request (search, 10 impressions, up to 2 clicks each with a dwell), users
with a persistent click propensity (so CUPED has something to remove) and a platform and country on
every search, 28 days of which the last 14 are the experiment, treatment +10 % clicks, 1 % of events
delivered twice. Goals: the typical plan ≤ 1.5 × bare, the ten-metric segmented plan ≤ 2 × bare.

    .venv/bin/python benchmarks/analysis.py            # 10M events
    .venv/bin/python benchmarks/analysis.py --quick    # 1M events
"""

# ruff: noqa: E402  (imports follow the sys.path fix below)
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path, and the file itself (analysis.py) would
# shadow the `analysis` package it measures.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from analysis import AnalysisPlan, EventStoreSource, GuardrailSpec, analyze, queries
from analysis.column_plan import column_plan
from analysis.measure_sql import SqlParams
from analysis.metric_files import builtin_catalog, load_catalog
from analysis.sources import query_params
from dashboards import render_report
from event_logging.chdb_store import ChdbStore
from event_logging.clickhouse_store import ClickHouseStore
from event_logging.config import ClickHouseConfig
from event_logging.store import EventStore
from vsx.services import clickhouse_url, start_clickhouse

EXPERIMENT = "bench"
BASE = datetime(2026, 1, 1, tzinfo=UTC)
START = datetime(2026, 1, 15, tzinfo=UTC)
SLOTS = 15
EVENTS_PER_REQUEST = 12.0  # search + 10 impressions + clicks and dwells that survive the click draw

GENERATE = """
INSERT INTO {db}.events ({columns})
SELECT toDate(ts), ts, toUInt64(toUInt32(ts)) * 1000 + slot, lower(hex(cityHash64(n, 'event'))),
    multiIf(slot = 0, 'search', slot <= 10, 'impression', slot % 2 = 1, 'click', 'dwell'), 1,
    toString(r), concat('u', toString(u)), if(post, 'bench', ''), if(post, arm, 'default'),
    toString(cityHash64(r, 'query') % 70000), if(slot = 0, '', toString(cityHash64(r, 'result', pos) % 70000)),
    pos, 0., if(slot = 0, 20. + cityHash64(r, 'latency') % 200, 0.),
    if(slot = 0, toUInt32(cityHash64(r, 'zero') % 200 != 0), 0),
    if(slot = 0, if(cityHash64(r, 'error') % 500 = 0, 500, 200), 0),
    if(slot > 10 AND slot % 2 = 0, 500. + cityHash64(r, 'dwell', slot) % 20000, 0.),
    if(post, 'ranking', ''), if(post, 'bench', ''), toUInt16(post),
    if(slot = 0, ['platform', 'country'], emptyArrayString()),
    if(slot = 0, [['web', 'ios', 'android'][1 + cityHash64(u, 'platform') % 3],
                  ['us', 'de', 'fr', 'jp', 'br'][1 + cityHash64(u, 'country') % 5]], emptyArrayString())
FROM (
    SELECT number AS n, intDiv(number, {slots}) AS r, number % {slots} AS slot,
        cityHash64(r, 'user') % {users} AS u,
        if(cityHash64(u, 'arm') % 2 = 0, 'control', 'treatment') AS arm,
        toDateTime('{base}') + intDiv(r * 2419200, {requests}) AS ts,
        ts >= toDateTime('{start}') AS post,
        toUInt16(if(slot = 0, 0, if(slot <= 10, slot, 1 + cityHash64(r, 'pos', intDiv(slot - 11, 2)) % 10))) AS pos,
        (0.5 + cityHash64(u, 'bias') % 100 / 100.) * if(arm = 'treatment' AND post, 1.1, 1.) AS propensity,
        cityHash64(r, 'click', intDiv(slot - 11, 2)) % 10000 < 4000 * propensity / pow(pos, 0.9) AS clicked
    FROM numbers({numbers})
)
WHERE slot <= 10 OR clicked
"""
GENERATED_COLUMNS = (
    "event_date", "ts", "ts_ms", "event_id", "event_type", "schema_version", "request_id", "user_id",
    "experiment", "variant", "query_image_id", "result_image_id", "position", "score", "latency_ms",
    "result_count", "status_code", "dwell_ms", "layer", "salt", "hash_version", "attr_names", "attr_values",
)  # fmt: skip
"""The columns GENERATE fills, in its SELECT order; later columns take their defaults."""
DUPLICATE = "INSERT INTO {db}.events ({columns}) SELECT {columns} FROM {db}.events WHERE cityHash64(event_id) % 100 = 0"

TYPICAL = AnalysisPlan(
    EXPERIMENT,
    primary_metric="ctr",
    secondary_metrics=("dwell_per_click", "search_success_rate"),
    guardrails=(GuardrailSpec("latency_p95", 0.5), GuardrailSpec("zero_result_rate"), GuardrailSpec("error_rate")),
    weights={"control": 0.5, "treatment": 0.5},
    start=START,
)
WITH_QUANTILES = AnalysisPlan(
    EXPERIMENT,
    primary_metric="ctr",
    secondary_metrics=("dwell_per_click", "search_success_rate", "dwell_p90", "latency_p95"),
    guardrails=TYPICAL.guardrails,
    weights=TYPICAL.weights,
    start=START,
)


EXAMPLES = _HERE.parent / "examples" / "metrics"
YAML_TEN = AnalysisPlan(
    EXPERIMENT,
    primary_metric="ctr",
    secondary_metrics=(
        "top3_ctr",
        "clicking_users",
        "capped_dwell_per_user",
        "satisfied_clicks_per_user",
        "distinct_queries_per_user",
        "search_success_rate",
        "dwell_per_click",
    ),  # fmt: skip
    guardrails=(GuardrailSpec("zero_result_rate"), GuardrailSpec("error_rate")),
    weights=TYPICAL.weights,
    start=START,
    segments=("platform", "country"),
    catalog=load_catalog(EXAMPLES, ("platform", "country")),
)
"""Ten metrics from YAML definitions (four built-in, six from examples/metrics), two segment attributes."""


def bare_query(store: EventStore, plan: AnalysisPlan) -> tuple[str, dict]:
    """The per-user aggregation of `plan`'s metrics (and segments) alone: one row per exposed user."""
    columns = column_plan(map(plan.catalog.get, plan.measured_metrics), plan.segments)
    params = SqlParams(query_params(plan))
    return queries.per_user_sql(store.database, columns, params), params.values


def generate(store: EventStore, events: int) -> tuple[int, int]:
    """Fill `events` with ~`events` synthetic rows (+1 % duplicates); returns (rows, distinct users)."""
    requests = int(events / EVENTS_PER_REQUEST)
    columns = ", ".join(GENERATED_COLUMNS)
    sql = GENERATE.format(
        db=store.database, columns=columns, slots=SLOTS, users=max(requests // 8, 1), requests=requests,
        numbers=requests * SLOTS, base=f"{BASE:%Y-%m-%d %H:%M:%S}", start=f"{START:%Y-%m-%d %H:%M:%S}",
    )  # fmt: skip
    store.query(sql)
    store.query(DUPLICATE.format(db=store.database, columns=columns))
    ((rows, users),) = store.query(f"SELECT count(), uniqExact(user_id) FROM {store.database}.events")
    return int(rows), int(users)


def timed(runs: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """Median wall time of each callable over `repeat` rounds, after one warm-up round.

    Rounds interleave the callables (bare, pipeline, bare, ...) so that load from other processes on
    the machine hits them alike instead of biasing whichever ran during a busy minute.
    """
    times: dict[str, list[float]] = {name: [] for name in runs}
    for round_ in range(repeat + 1):
        for name, fn in runs.items():
            t0 = time.perf_counter()
            fn()
            if round_:
                times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(values) for name, values in times.items()}


def pipeline(store: EventStore, label: str, plan: AnalysisPlan, out: Path) -> Callable[[], object]:
    def run() -> Path:
        results = analyze(EventStoreSource(store, label).load(plan), plan)
        results.write(out / "results.json")
        return render_report(results, out / "report.html")

    return run


def measure(store: EventStore, label: str, events: int, repeat: int, workdir: Path) -> list[str]:
    store.migrate()
    t0 = time.perf_counter()
    rows, users = generate(store, events)
    generated = time.perf_counter() - t0
    # The baseline is what any analysis pays: one row per exposed user with every built-in per-user total.
    builtins = AnalysisPlan(EXPERIMENT, secondary_metrics=tuple(builtin_catalog()), start=START)
    bare_sql, bare_params = bare_query(store, builtins)
    ten_sql, ten_params = bare_query(store, YAML_TEN)
    exposed = len(store.query(bare_sql, bare_params))
    out = workdir / label / EXPERIMENT
    medians = timed(
        {
            "bare": lambda: store.query(bare_sql, bare_params),
            "typical": pipeline(store, label, TYPICAL, out),
            "quantiles": pipeline(store, label, WITH_QUANTILES, out),
            "bare_ten": lambda: store.query(ten_sql, ten_params),
            "ten": pipeline(store, label, YAML_TEN, out),
        },
        repeat,
    )
    bare = medians["bare"]
    return [
        f"{label}: {rows:,} events ({users:,} users, {exposed:,} exposed), generated in {generated:.1f} s",
        f"  bare per-user query (built-in totals)              {bare:7.3f} s",
        f"  pipeline, typical plan                             {medians['typical']:7.3f} s   "
        f"{medians['typical'] / bare:5.2f} × bare",
        f"  pipeline, + 2 quantile metrics                     {medians['quantiles']:7.3f} s   "
        f"{medians['quantiles'] / bare:5.2f} × bare",
        f"  bare per-user query of the 10 metrics + 2 segments {medians['bare_ten']:7.3f} s   "
        f"{medians['bare_ten'] / bare:5.2f} × bare",
        f"  pipeline, 10 YAML metrics + 2 segments             {medians['ten']:7.3f} s   "
        f"{medians['ten'] / bare:5.2f} × bare, {medians['ten'] / medians['bare_ten']:5.2f} × its own bare",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1M events instead of 10M")
    parser.add_argument("--events", type=int, default=None, help="number of events (overrides --quick)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per measurement (median)")
    parser.add_argument("--backend", choices=("both", "clickhouse", "chdb"), default="both")
    args = parser.parse_args()
    events = args.events or (1_000_000 if args.quick else 10_000_000)
    lines = []
    with tempfile.TemporaryDirectory(prefix="vsx-bench-analysis-") as tmp:
        workdir = Path(tmp)
        if args.backend in ("both", "clickhouse"):
            server = start_clickhouse(workdir / "clickhouse")
            try:
                store = ClickHouseStore(ClickHouseConfig(url=clickhouse_url(server, database="bench")))
                lines += measure(store, "clickhouse", events, args.repeat, workdir)
                store.close()
            finally:
                server.stop()
        if args.backend in ("both", "chdb"):
            store = ChdbStore.open(workdir / "chdb", database="bench")
            lines += measure(store, "chdb", events, args.repeat, workdir)
            store.close()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
