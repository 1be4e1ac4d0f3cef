"""The event store as a source: ClickHouse server or chdb, the same SQL (`analysis.queries`).

One query returns per-arm-and-day moments of the per-user aggregates (a few dozen rows whatever the
traffic); quantile metrics add three small queries each over one event type, quantile guardrails one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from analysis import queries
from analysis.errors import AnalysisPlanError, NoDataError
from analysis.metrics import QuantileMetric, get_metric
from analysis.moments import PER_USER_COLUMNS, Moments, product_pairs
from analysis.plan import AnalysisPlan
from analysis.sources.data import ExperimentData, TimelineSlice
from analysis.stats import QuantileStats, RatioStats, outer_levels
from analysis.timeline import timeline_columns, timeline_metrics

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
        params = query_params(plan)
        require_events_table(self.store, self.label)
        rows = self.store.query(queries.moments_sql(self.store.database), params)
        if not rows:
            raise NoDataError(
                f"experiment {plan.experiment!r} has no exposed users in the {self.label} store "
                f"(database {self.store.database!r}, searches since {plan.start:%Y-%m-%d %H:%M} UTC)"
            )
        daily = daily_moments(rows)
        arms = {arm: sum((m for _, m in days), Moments.empty(PER_USER_COLUMNS)) for arm, days in daily.items()}
        quantiles = {
            m.name: self._quantile_stats(m, params, sorted(arms), plan.alpha)
            for m in map(get_metric, plan.measured_metrics)
            if isinstance(m, QuantileMetric)
        }
        return ExperimentData(
            source=self.label,
            arms=arms,
            daily=daily,
            quantiles=quantiles,
            timeline=self._timeline(plan, params, sorted(arms)),
            switched_users=sum(int(row[3]) for row in rows),
            notes=_switch_note(rows),
        )

    def _timeline(self, plan: AnalysisPlan, params: dict[str, Any], arms: Sequence[str]) -> tuple[TimelineSlice, ...]:
        """The over-time views of the plan's primary and guardrail metrics.

        Per-user totals: both views in one query. Quantiles have no per-user totals: their calendar view runs the
        quantile statistics once per day on everything up to that day's end (two small queries a day).
        """
        metrics = [get_metric(name) for name in timeline_metrics(plan)]
        if not metrics:
            return ()
        (last_ms,) = self.store.query(
            f"SELECT max(ts_ms) FROM {queries.checked_identifier(self.store.database)}.events "
            "WHERE experiment = %(experiment)s AND ts_ms >= %(start_ms)s AND ts_ms < %(end_ms)s",
            params,
        )[0]
        window_end_ms = min(int(last_ms) + 1, params["end_ms"])
        last_day = (window_end_ms - 1) // DAY_MS
        moments: dict[tuple[int, int], dict[str, Moments]] = {}
        columns = timeline_columns(plan)
        if columns:
            rows = self.store.query(
                queries.timeline_sql(self.store.database, columns),
                {**params, "last_day": last_day, "window_end_ms": window_end_ms},
            )
            k, n_products = len(columns), len(product_pairs(columns))
            for row in rows:
                arm, view, bucket, n = row[0], int(row[1]), int(row[2]), int(row[3])
                sums, products = row[4 : 4 + k], row[4 + k : 4 + k + n_products]
                moments.setdefault((view, bucket), {})[arm] = Moments.from_sums(columns, n, sums, products)
        quantiles: dict[tuple[int, int], dict[str, dict[str, QuantileStats]]] = {}
        for metric in (m for m in metrics if isinstance(m, QuantileMetric)):
            for day in range(params["start_ms"] // DAY_MS, last_day + 1):
                cutoff = {**params, "end_ms": min((day + 1) * DAY_MS, params["end_ms"])}
                by_arm = self._quantile_stats(metric, cutoff, arms, plan.alpha)
                quantiles.setdefault((0, day), {})[metric.name] = by_arm
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
        self, metric: QuantileMetric, params: dict[str, Any], levels: Mapping[str, tuple[float, float]]
    ) -> dict[str, tuple[int, float, float]]:
        """arm → (number of values, quantile at the low level, quantile at the high level) for arms with values."""
        arms = sorted(levels)
        rows = self.store.query(
            queries.quantile_sql(self.store.database, metric.value_column),
            {
                **params,
                "event_type": metric.event_type,
                "arms": arms,
                "low_levels": [levels[a][0] for a in arms],
                "high_levels": [levels[a][1] for a in arms],
            },
        )
        return {arm: (int(n), float(low), float(high)) for arm, n, low, high in rows}

    def _quantile_stats(
        self, metric: QuantileMetric, params: dict[str, Any], arms: Sequence[str], alpha: float
    ) -> dict[str, QuantileStats]:
        """Quantile statistics per arm in two queries (the steps of `analysis.stats.quantile`).

        The first gives the quantile and the per-user counts below it, the second the outer quantiles
        at the levels those counts imply.

        An arm without values gets empty statistics, which the comparison reports as not enough data.
        """
        p = metric.level
        rows = self.store.query(
            queries.quantile_counts_sql(self.store.database, metric.value_column),
            {**params, "event_type": metric.event_type, "level": p},
        )
        centre = {row[0]: float(row[7]) for row in rows}
        counts = {row[0]: RatioStats(int(row[1]), *(float(v) for v in row[2:7])) for row in rows}
        with_values = sorted(centre)
        levels = {arm: outer_levels(p, counts[arm], alpha=alpha) for arm in with_values}
        outer = self._quantiles(metric, params, levels) if levels else {}
        stats = {
            arm: QuantileStats(p, centre[arm], counts[arm], *levels[arm], outer[arm][1], outer[arm][2])
            for arm in with_values
        }
        empty = RatioStats(0, 0.0, 0.0, 0.0, 0.0, 0.0)
        return {arm: stats.get(arm, QuantileStats(p, 0.0, empty, p, p, 0.0, 0.0)) for arm in arms}


def daily_moments(
    rows: Iterable[tuple], columns: Sequence[str] = PER_USER_COLUMNS
) -> dict[str, tuple[tuple[date, Moments], ...]]:
    """Rows of `moments_sql` (or its layout over other columns) → arm → ((day, moments), ...) in day order."""
    k = len(columns)
    n_products = len(product_pairs(columns))
    daily: dict[str, list[tuple[date, Moments]]] = {}
    for row in rows:
        arm, day, n = row[0], int(row[1]), int(row[2])
        sums, products = row[4 : 4 + k], row[4 + k : 4 + k + n_products]
        moments = Moments.from_sums(columns, n, sums, products)
        daily.setdefault(arm, []).append((EPOCH + timedelta(days=day), moments))
    return {arm: tuple(days) for arm, days in sorted(daily.items())}


def _switch_note(rows: Iterable[tuple]) -> tuple[str, ...]:
    switched = sum(int(row[3]) for row in rows)
    if not switched:
        return ()
    return (
        f"{switched} user(s) were seen in more than one variant; each counts in the variant of their first exposure",
    )
