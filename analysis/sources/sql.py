"""The event store as a source: ClickHouse server or chdb, the same SQL (`analysis.queries`).

One query returns per-arm moments of the per-user aggregates by day of exposure and by segment value (a few
dozen rows whatever the traffic); quantile metrics add two small queries each over one event type, and two more
for their lift over time (every day's cut-off in the same two).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from analysis import queries
from analysis.column_plan import ColumnPlan, column_plan
from analysis.errors import AnalysisPlanError, NoDataError
from analysis.measure_sql import SqlParams
from analysis.metrics import QuantileMetric
from analysis.moments import Moments
from analysis.plan import AnalysisPlan
from analysis.segments import top_values
from analysis.sources.data import CapResult, ExperimentData, TimelineSlice
from analysis.stats import QuantileStats, RatioStats, outer_levels
from analysis.timeline import timeline_metrics
from analysis.timeline_sql import timeline_sql

logger = logging.getLogger(__name__)

EPOCH = date(1970, 1, 1)
DAY_MS = 86_400_000


class QueryStore(Protocol):
    """What this source needs of an `event_logging` store."""

    database: str

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple]: ...


def ms(moment: datetime) -> int:
    """Epoch milliseconds of an aware datetime (the unit of the `ts_ms` column)."""
    return int(moment.astimezone(UTC).timestamp() * 1000)


def query_params(plan: AnalysisPlan) -> dict[str, Any]:
    """The time window of the plan as the queries' parameters (epoch milliseconds)."""
    if plan.start is None:
        raise AnalysisPlanError(f"experiment {plan.experiment!r} has no start time: cannot split pre-period from it")
    pre_start = 0 if plan.pre_period_days is None else ms(plan.start - timedelta(days=plan.pre_period_days))
    return {
        "experiment": plan.experiment,
        "start_ms": ms(plan.start),
        "end_ms": queries.END_OF_TIME_MS if plan.end is None else ms(plan.end),
        "pre_start_ms": pre_start,
    }


def require_events_table(store: QueryStore, label: str) -> None:
    """A store nothing was ever logged to has no `events` table: say so instead of a server error."""
    found = store.query(
        "SELECT count() FROM system.tables WHERE database = %(database)s AND name = 'events'",
        {"database": store.database},
    )
    if not found[0][0]:
        raise NoDataError(f"the {label} store has no table {store.database}.events: no events logged yet")


class EventStoreSource:
    """`Source` over an event store; `label` names it in results ("clickhouse", "embedded")."""

    def __init__(self, store: QueryStore, label: str) -> None:
        self.store = store
        self.label = label

    def load(self, plan: AnalysisPlan) -> ExperimentData:
        require_events_table(self.store, self.label)
        measured = [plan.catalog.get(name) for name in plan.measured_metrics]
        columns = column_plan(measured, plan.segments)
        params = SqlParams(query_params(plan))
        rows = self.store.query(queries.moments_sql(self.store.database, columns, params), params.values)
        by_grouping = read_moment_rows(rows, columns)
        if not by_grouping.daily:
            raise NoDataError(
                f"experiment {plan.experiment!r} has no exposed users in the {self.label} store "
                f"(database {self.store.database!r}, searches since {plan.start:%Y-%m-%d %H:%M} UTC)"
            )
        daily = by_grouping.daily
        arms = {arm: sum((m for _, m in days), Moments.empty(columns.columns)) for arm, days in daily.items()}
        fixed = query_params(plan)
        quantiles = {
            m.name: self._quantile_stats(m, fixed, sorted(arms), plan.alpha, [fixed["end_ms"]])[fixed["end_ms"]]
            for m in measured
            if isinstance(m, QuantileMetric)
        }
        return ExperimentData(
            source=self.label,
            arms=arms,
            daily=daily,
            quantiles=quantiles,
            timeline=self._timeline(plan, query_params(plan), sorted(arms), by_grouping.caps),
            segments=by_grouping.segments,
            caps=by_grouping.caps,
            switched_users=by_grouping.switched,
            notes=(*_switch_note(by_grouping.switched), *self._unverified_clicks_note(fixed)),
        )

    def _unverified_clicks_note(self, fixed: dict[str, Any]) -> tuple[str, ...]:
        """Clicks whose experiment and variant are the client's own report (`attribution = 'client'`: the serving
        process that took them had not served their search, so nothing vouches for them)."""
        ((client, total),) = self.store.query(
            "SELECT uniqExactIf(event_id, attribution = 'client'), uniqExact(event_id) "
            f"FROM {queries.checked_identifier(self.store.database)}.events WHERE experiment = %(experiment)s "
            "AND event_type = 'click' AND ts_ms >= %(start_ms)s AND ts_ms < %(end_ms)s",
            fixed,
        )
        if not client:
            return ()
        return (
            f"{client} of {total} clicks ({client / total:.1%}) reached a serving process that had not served "
            "their search: their experiment and variant are the client's report, unverified",
        )

    def _timeline(
        self, plan: AnalysisPlan, fixed: dict[str, Any], arms: Sequence[str], caps: Mapping[str, CapResult]
    ) -> tuple[TimelineSlice, ...]:
        """The over-time views of the plan's primary and guardrail metrics.

        Per-user totals: both views in one query, capped at the experiment's caps. Quantiles have no per-user
        totals: their calendar view runs the quantile statistics once per day on everything up to that day's end
        (two small queries a day).
        """
        metrics = [plan.catalog.get(name) for name in timeline_metrics(plan)]
        if not metrics:
            return ()
        (last_ms,) = self.store.query(
            f"SELECT max(ts_ms) FROM {queries.checked_identifier(self.store.database)}.events "
            "WHERE experiment = %(experiment)s AND ts_ms >= %(start_ms)s AND ts_ms < %(end_ms)s",
            fixed,
        )[0]
        window_end_ms = min(int(last_ms) + 1, fixed["end_ms"])
        last_day = (window_end_ms - 1) // DAY_MS
        moments: dict[tuple[int, int], dict[str, Moments]] = {}
        columns = column_plan(metrics, pre_period=False)
        if columns.raw:
            values = [caps[c.name].value if c.name in caps else None for c in columns.capped]
            params = SqlParams({**fixed, "last_day": last_day, "window_end_ms": window_end_ms})
            sql = timeline_sql(self.store.database, columns, [v or 0.0 for v in values], params)
            k, n_pairs = len(columns.columns), len(columns.pairs)
            for row in self.store.query(sql, params.values):
                arm, view, bucket, n = row[0], int(row[1]), int(row[2]), int(row[3])
                sums, products = row[4 : 4 + k], row[4 + k : 4 + k + n_pairs]
                moments.setdefault((view, bucket), {})[arm] = Moments.from_sums(
                    columns.columns, n, sums, columns.pairs, products
                )
        quantiles: dict[tuple[int, int], dict[str, dict[str, QuantileStats]]] = {}
        days = range(fixed["start_ms"] // DAY_MS, last_day + 1)
        cuts = {day: min((day + 1) * DAY_MS, fixed["end_ms"]) for day in days}
        for metric in (m for m in metrics if isinstance(m, QuantileMetric)):
            by_cut = self._quantile_stats(metric, fixed, arms, plan.alpha, sorted(set(cuts.values())))
            for day, cut in cuts.items():
                quantiles.setdefault((0, day), {})[metric.name] = by_cut[cut]
        return tuple(
            TimelineSlice(
                view="calendar" if view == 0 else "exposure_day",
                bucket=EPOCH + timedelta(days=bucket) if view == 0 else bucket,
                arms=moments.get((view, bucket), {}),
                quantiles=quantiles.get((view, bucket), {}),
            )
            for view, bucket in sorted({*moments, *quantiles})
        )

    def _quantiles(
        self, metric: QuantileMetric, fixed: dict[str, Any], levels: Mapping[tuple[str, int], tuple[float, float]]
    ) -> dict[tuple[str, int], tuple[int, float, float]]:
        """(arm, cut) → (number of values, quantile at the low level, quantile at the high level)."""
        keys = sorted(levels)
        params = SqlParams(
            {
                **fixed,
                "cuts": sorted({cut for _, cut in keys}),
                "keys": [f"{arm}/{cut}" for arm, cut in keys],
                "low_levels": [levels[k][0] for k in keys],
                "high_levels": [levels[k][1] for k in keys],
            }
        )
        rows = self.store.query(queries.quantile_sql(self.store.database, metric, params), params.values)
        return {(arm, int(cut)): (int(n), float(low), float(high)) for arm, cut, n, low, high in rows}

    def _quantile_stats(
        self, metric: QuantileMetric, fixed: dict[str, Any], arms: Sequence[str], alpha: float, cuts: Sequence[int]
    ) -> dict[int, dict[str, QuantileStats]]:
        """Quantile statistics per cut-off time and arm, in two queries whatever the number of cuts (the steps of
        `analysis.stats.quantile`).

        The first gives the quantile and the per-user counts below it, the second the outer quantiles at the
        levels those counts imply. An arm without values gets empty statistics, which the comparison reports as
        not enough data.
        """
        p = metric.level
        params = SqlParams({**fixed, "level": p, "cuts": list(cuts)})
        rows = self.store.query(queries.quantile_counts_sql(self.store.database, metric, params), params.values)
        centre = {(row[0], int(row[1])): float(row[8]) for row in rows}
        counts = {(row[0], int(row[1])): RatioStats(int(row[2]), *(float(v) for v in row[3:8])) for row in rows}
        levels = {key: outer_levels(p, counts[key], alpha=alpha) for key in centre}
        outer = self._quantiles(metric, fixed, levels) if levels else {}
        empty = QuantileStats(p, 0.0, RatioStats(0, 0.0, 0.0, 0.0, 0.0, 0.0), p, p, 0.0, 0.0)
        return {
            cut: {
                arm: QuantileStats(p, centre[key], counts[key], *levels[key], outer[key][1], outer[key][2])
                if (key := (arm, cut)) in centre
                else empty
                for arm in arms
            }
            for cut in cuts
        }


@dataclass(frozen=True)
class MomentRows:
    """`moments_sql` rows read: arm → ((day, moments), ...), attribute → value → arm → moments, caps, switchers."""

    daily: dict[str, tuple[tuple[date, Moments], ...]]
    segments: dict[str, dict[str, dict[str, Moments]]]
    caps: dict[str, CapResult]
    switched: int


def read_moment_rows(rows: Iterable[tuple], columns: ColumnPlan) -> MomentRows:
    """Rows of `moments_sql` (or its layout without segments and caps) → moments by day, by segment, and caps."""
    k, n_pairs = len(columns.columns), len(columns.pairs)
    daily: dict[str, list[tuple[date, Moments]]] = {}
    by_value: dict[str, dict[str, dict[str, Moments]]] = {name: {} for name in columns.segments}
    cap_values: dict[int, float] = {}
    capped_users = [0] * len(columns.capped)
    users = switched = 0
    for row in rows:
        arm, grouping, key, n = row[0], int(row[1]), str(row[2]), int(row[3])
        sums, products = row[5 : 5 + k], row[5 + k : 5 + k + n_pairs]
        moments = Moments.from_sums(columns.columns, n, sums, columns.pairs, products)
        if grouping == queries.DAY_GROUPING:
            daily.setdefault(arm, []).append((EPOCH + timedelta(days=int(key)), moments))
            users += n
            switched += int(row[4])
            extra = row[5 + k + n_pairs :]
            for j in range(len(columns.capped)):
                cap_values[j] = float(extra[2 * j])
                capped_users[j] += int(extra[2 * j + 1])
        else:
            by_value[columns.segments[grouping - 1]].setdefault(key, {})[arm] = moments
    caps = {
        c.name: CapResult(c.name, cap_values[j] if cap_values.get(j, 0) > 0 else None, capped_users[j], users)
        for j, c in enumerate(columns.capped)
        if j in cap_values
    }
    return MomentRows(
        daily={arm: tuple(sorted(days, key=lambda d: d[0])) for arm, days in sorted(daily.items())},
        segments={name: top_values(values) for name, values in by_value.items()},
        caps=caps,
        switched=switched,
    )


def _switch_note(switched: int) -> tuple[str, ...]:
    if not switched:
        return ()
    return (
        f"{switched} user(s) were seen in more than one variant; each counts in the variant of their first exposure",
    )
