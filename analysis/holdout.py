"""The global holdout: users kept out of every experiment against everyone exposed to any — the platform's
cumulative effect.

Serving logs held-out users' events with experiment "" and variant "holdout"; a user exposed to several
experiments has every event logged once per experiment (`serving.event_factory`). Per user, this counts each
request's events once — the copy of the request's first experiment by name — so the exposed arm is not
inflated by fan-out; then the usual per-user totals (deduplicated by event id) and moments per arm. A user's
arm is that of their first search in the window (held out, or exposed to some experiment); events count from
then on. Users outside both (not held out, in no experiment) are left out.

There is no designed split to check (who is exposed depends on every experiment's traffic and targeting), so
the SRM result lists users unchecked, and a holdout gets no ship decision: it measures, it does not launch.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from analysis import queries
from analysis.column_plan import ColumnPlan, column_plan
from analysis.errors import NoDataError
from analysis.measure_sql import SqlParams, aggregates_sql, column_ref, event_columns
from analysis.moments import Moments
from analysis.plan import AnalysisPlan
from analysis.sources.data import ExperimentData
from analysis.sources.sql import QueryStore, ms, read_moment_rows, require_events_table

logger = logging.getLogger(__name__)

NAME = "global-holdout"
"""The holdout report's name (its folder under reports_dir); experiments may not use it."""
HOLDOUT_ARM, EXPOSED_ARM = "holdout", "exposed"


def holdout_sql(database: str, columns: ColumnPlan, params: SqlParams) -> str:
    """Per arm and day of first search: the `moments_sql` layout (arm, grouping 0, day, n, 0 switched, Σ column,
    Σ products) over the post-period measures of `columns`. Fixed params: start_ms, end_ms."""
    db = queries.checked_identifier(database)
    names = event_columns(columns.measures)
    selected = "".join(f", {c} AS {column_ref(c)}" for c in names)
    passed = "".join(f", {column_ref(c)}" for c in names)
    totals = aggregates_sql(columns.raw, params, first="c_first")
    window = "ts_ms >= %(start_ms)s AND ts_ms < %(end_ms)s"
    expressions = [f"m{i}" for i in range(len(columns.raw))]
    return f"""
    SELECT h_arm, toUInt8(0), toString(intDiv(h_first, 86400000)) AS day, count() AS n, 0 AS switched,
        {queries.moment_sums(expressions, columns.pairs)}
    FROM (
        SELECT user_id, any(c_arm) AS h_arm, any(c_first) AS h_first,
            {totals}
        FROM (
            SELECT user_id, c_arm, c_first, eid, event_type, ts_ms{passed}, ts_ms >= c_first AS post
            FROM (
                SELECT user_id, eid, event_type, ts_ms{passed}
                FROM (
                    SELECT user_id, event_type, ts_ms, cityHash64(event_id) AS eid, experiment, request_id{selected}
                    FROM {db}.events
                    WHERE {window}
                ) AS e
                ALL INNER JOIN (
                    SELECT request_id, min(experiment) AS canon FROM {db}.events WHERE {window} GROUP BY request_id
                ) AS r USING request_id
                WHERE experiment = canon
            ) AS c
            ALL INNER JOIN (
                SELECT user_id, argMin(if(experiment != '', '{EXPOSED_ARM}', '{HOLDOUT_ARM}'), ts_ms) AS c_arm,
                    min(ts_ms) AS c_first
                FROM {db}.events
                WHERE event_type = 'search' AND {window} AND (experiment != '' OR variant = '{HOLDOUT_ARM}')
                GROUP BY user_id
            ) AS x USING user_id
        )
        GROUP BY user_id
    )
    GROUP BY h_arm, day
    ORDER BY h_arm, day"""


def holdout_plan(start: datetime, end: datetime | None, *, alpha: float = 0.05) -> AnalysisPlan:
    """Every per-user metric, CTR first; holdout as control, no designed shares."""
    metrics = ("ctr", "search_success_rate", "clicks_per_user", "dwell_per_user", "searches_per_user")
    return AnalysisPlan(
        experiment=NAME,
        control=HOLDOUT_ARM,
        primary_metric=metrics[0],
        secondary_metrics=metrics[1:],
        alpha=alpha,
        start=start,
        end=end,
        pre_period_days=None,
        experiment_type="holdout",
    )


class HoldoutSource:
    """`Source` of the holdout comparison from an event store."""

    def __init__(self, store: QueryStore, label: str) -> None:
        self.store, self.label = store, label

    def load(self, plan: AnalysisPlan) -> ExperimentData:
        if plan.start is None:
            raise NoDataError("the holdout analysis needs a start time")
        require_events_table(self.store, self.label)
        params: dict[str, Any] = {
            "start_ms": ms(plan.start),
            "end_ms": queries.END_OF_TIME_MS if plan.end is None else ms(plan.end),
        }
        columns = column_plan(map(plan.catalog.get, plan.metrics), pre_period=False)
        sql_params = SqlParams(params)
        rows = self.store.query(holdout_sql(self.store.database, columns, sql_params), sql_params.values)
        daily = read_moment_rows(rows, columns).daily
        if HOLDOUT_ARM not in daily:
            raise NoDataError(
                f"no held-out users in the {self.label} store since {plan.start:%Y-%m-%d %H:%M} UTC "
                "(serving logs them as variant 'holdout'; is platform.yaml's holdout.share above 0?)"
            )
        arms = {arm: sum((m for _, m in days), Moments.empty(columns.columns)) for arm, days in daily.items()}
        logger.info("holdout: %s", {arm: m.n for arm, m in arms.items()})
        return ExperimentData(source=self.label, arms=arms, daily=daily)
