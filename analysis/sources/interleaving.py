"""Interleaving experiments from the event store: per-user wins summed in SQL, then one result row.

A click gets its team from the impression of the same (request_id, result_image_id) — the click event
itself does not carry it. Per query (request_id) the team with more clicks wins, equal non-zero clicks
tie, queries without a credited click count for nothing (`analysis.stats.interleaving`). Users are the
exposed users of `analysis.queries` (a search of the experiment inside its window), so `n` includes
users who never clicked; clicks count inside the window [start, end).

Deduplication: clicks `LIMIT 1 BY event_id` (a click delivered twice is one click); impressions are
grouped by (request_id, result_image_id), so duplicates, and a result shown twice in one list, give one
team. Clicks on results without a team ("" — not interleaved) join as "" and count for neither side.
The team join is `ANY LEFT`, not `ANY INNER`: newer ClickHouse (chdb) makes `ANY INNER` keep one row
per key on the left too, which would merge two real clicks on the same result.

The SQL keeps to the dialect of `analysis.queries` (ClickHouse 18.16 and chdb) and returns one row of
seven sums whatever the traffic.
"""

from __future__ import annotations

import logging

from analysis.notes import note_text
from analysis.plan import AnalysisPlan
from analysis.queries import EXPOSURE, checked_identifier
from analysis.results import MetricInfo, MetricResult
from analysis.rows import make_row
from analysis.sources.sql import QueryStore, query_params, require_events_table
from analysis.stats import InterleavingStats, compare_interleaving

logger = logging.getLogger(__name__)

METRIC = "interleaving_preference"
METRIC_INFO = MetricInfo(
    direction="higher_is_better",
    kind="preference",
    description="share of clicked queries won by the treatment's ranker minus the share won by control's",
)


def interleaving_sql(database: str) -> str:
    """n, Σwins_a, Σwins_b, Σties, Σd², Σq², Σd·q over exposed users (d = wins_b − wins_a, q = clicked queries).

    Innermost: deduplicated clicks with their impression's team; then clicks of A and B per
    (user, request); then wins and ties per user; exposed users without a clicked query join as zeros
    (`ANY LEFT JOIN` fills defaults). Params: experiment, start_ms, end_ms.
    """
    db = checked_identifier(database)
    return f"""
    SELECT count(), sum(wins_a), sum(wins_b), sum(ties), sum(d * d), sum(q * q), sum(d * q)
    FROM (
        SELECT wins_a, wins_b, ties, wins_b - wins_a AS d, wins_a + wins_b + ties AS q
        FROM (
            SELECT user_id FROM {db}.events WHERE {EXPOSURE} GROUP BY user_id
        ) AS x
        ANY LEFT JOIN (
            SELECT user_id, toFloat64(countIf(clicks_a > clicks_b)) AS wins_a,
                toFloat64(countIf(clicks_b > clicks_a)) AS wins_b,
                toFloat64(countIf(clicks_a = clicks_b AND clicks_a > 0)) AS ties
            FROM (
                SELECT user_id, request_id, countIf(click_team = 'A') AS clicks_a,
                    countIf(click_team = 'B') AS clicks_b
                FROM (
                    SELECT user_id, request_id, result_image_id
                    FROM {db}.events
                    WHERE experiment = %(experiment)s AND event_type = 'click'
                      AND ts_ms >= %(start_ms)s AND ts_ms < %(end_ms)s
                    LIMIT 1 BY event_id
                ) AS c
                ANY LEFT JOIN (
                    SELECT request_id, result_image_id, any(team) AS click_team
                    FROM {db}.events
                    WHERE experiment = %(experiment)s AND event_type = 'impression' AND team IN ('A', 'B')
                    GROUP BY request_id, result_image_id
                ) AS t USING (request_id, result_image_id)
                GROUP BY user_id, request_id
            )
            GROUP BY user_id
        ) AS w USING user_id
    )"""


def interleaving_stats(store: QueryStore, plan: AnalysisPlan) -> InterleavingStats:
    """The plan's interleaving sufficient statistics, computed in the store (one row reaches Python)."""
    require_events_table(store, "event")
    params = query_params(plan)
    (row,) = store.query(interleaving_sql(store.database), params)
    stats = InterleavingStats(int(row[0]), *(float(v) for v in row[1:]))
    logger.info("interleaving %s: %d users, %d clicked queries", plan.experiment, stats.n, stats.queries)
    return stats


def interleaving_row(stats: InterleavingStats, plan: AnalysisPlan, treatment_variant: str) -> MetricResult:
    """The preference for the treatment's ranker (team B) over control's (team A) as a result row."""
    comparison = compare_interleaving(stats, alpha=plan.alpha)
    row = make_row(MetricResult, METRIC, treatment_variant, "interleaving", "primary", comparison)
    return row.model_copy(update={"note": note_text(comparison.note, method="interleaving")})
