"""SQL text of the analysis, one dialect for ClickHouse 18.16 and chdb.

18.16 constrains the dialect: no `WITH name AS (subquery)`, no window functions, no server-side
`{name:Type}` parameters, and an alias equal to a column name inside an aggregate is substituted into
it (`argMin(variant, ts_ms) AS variant` fails), so derived names differ from column names (`arm`).
Parameters are the store's client-side `%(name)s` substitution; times are epoch milliseconds (`ts_ms`)
so no DateTime literal or time zone is involved, and days are `intDiv(ms, 86400000)` (UTC days).

Deduplication by `event_id` (delivery is at-least-once): the per-user query counts distinct event
ids (`uniqExactIf`) and sums dwell over distinct `(event id, dwell_ms)` pairs. Duplicates of an
event carry the same user, so deduplicating inside each user's aggregate is exact (up to the 64-bit
hash noted at `_TOTALS`), and cheaper than `event_logging.store.deduped_events_sql`'s global
`LIMIT 1 BY event_id` (small per-user hash sets instead of one set of every event id: on 10M events
on 18.16, that pass alone took 4.9 s of server CPU, this whole query 6.0 s). Quantile queries deduplicate values per
user the same way; the click-pair export reads one event type of one experiment and uses
`LIMIT 1 BY event_id` on it.

Exposure: a user enters the experiment at their first `search` event in it; their arm is the variant of
that event. Only events at or after it count (an impression logged before its search, from a skewed
client clock, does not), and the pre-period is every event of the same users before the start.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from analysis.moments import PER_USER_COLUMNS, product_pairs

END_OF_TIME_MS = 253_402_300_799_999
"""9999-12-31T23:59:59.999Z: the end of an experiment that has none."""

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
VALUE_COLUMNS = ("dwell_ms", "latency_ms")
"""Event-level columns quantile metrics may read."""


def checked_identifier(identifier: str) -> str:
    """Identifiers cannot be parameters: accept only plain names so nothing else reaches the SQL."""
    if not _IDENTIFIER.match(identifier):
        raise ValueError(f"not a plain SQL identifier: {identifier!r}")
    return identifier


EXPOSURE = """experiment = %(experiment)s AND event_type = 'search'
      AND ts_ms >= %(start_ms)s AND ts_ms < %(end_ms)s"""
"""A search of the experiment inside its window: the exposure event."""


_TOTALS = {
    "searches": "uniqExactIf(eid, {p} AND event_type = 'search')",
    "impressions": "uniqExactIf(eid, {p} AND event_type = 'impression')",
    "clicks": "uniqExactIf(eid, {p} AND event_type = 'click')",
    "dwell_ms": "arraySum(arrayMap(d -> d.2, groupUniqArrayIf((eid, dwell), {p} AND event_type = 'dwell')))",
    "successful_searches": "uniqExactIf(request_id, {p} AND event_type = 'click')",
    "zero_result_searches": "uniqExactIf(eid, {p} AND event_type = 'search' AND result_count = 0)",
    "error_searches": "uniqExactIf(eid, {p} AND event_type = 'search' AND status_code >= 500)",
}
"""How each per-user column is counted; `{p}` is `post` or `pre` (the period flag of the event).

`eid` is `cityHash64(event_id)`: sets of 64-bit integers are cheaper than sets of strings, and two
distinct events of one user collide with probability ~ k²/2⁶⁵ for k events (1e-13 at 1,000 events).
`dwell` is the event's `dwell_ms` renamed: 18.16 would substitute the `dwell_ms` total's alias into it.
"""


def total_expression(column: str) -> str:
    """The aggregate counting one per-user column (`pre_x` over pre-period events, `x` over post ones)."""
    if column.startswith("pre_"):
        return _TOTALS[column.removeprefix("pre_")].format(p="pre")
    return _TOTALS[column].format(p="post")


def per_user_sql(database: str) -> str:
    """One row per exposed user: user_id, arm, first_ms, arms, then `PER_USER_COLUMNS`.

    One scan reads the experiment's events plus everyone's pre-period (ts in [pre_start_ms, start_ms));
    the join keeps exposed users and brings only their first exposure time, which `post` needs per
    event; the arm (variant of that first search) is taken in the same aggregation, which is cheaper
    than joining strings onto every event. Params: experiment, start_ms, end_ms, pre_start_ms.
    """
    db = checked_identifier(database)
    totals = ",\n        ".join(f"{total_expression(c)} AS {c}" for c in PER_USER_COLUMNS)
    return f"""
    SELECT user_id, argMinIf(variant, ts_ms, exposure) AS arm, any(exposed_ms) AS first_ms,
        uniqExactIf(variant, exposure) AS arms,
        {totals}
    FROM (
        SELECT user_id, variant, ts_ms, exposed_ms, cityHash64(event_id) AS eid, event_type, request_id,
            dwell_ms AS dwell, result_count, status_code,
            experiment = %(experiment)s AND ts_ms >= exposed_ms AND ts_ms < %(end_ms)s AS post,
            ts_ms >= %(pre_start_ms)s AND ts_ms < %(start_ms)s AS pre,
            {EXPOSURE} AS exposure
        FROM (
            SELECT user_id, variant, event_id, event_type, ts_ms, experiment, request_id, dwell_ms, result_count,
                status_code
            FROM {db}.events
            WHERE experiment = %(experiment)s OR (ts_ms >= %(pre_start_ms)s AND ts_ms < %(start_ms)s)
        ) AS e
        ALL INNER JOIN (
            SELECT user_id, min(ts_ms) AS exposed_ms FROM {db}.events WHERE {EXPOSURE} GROUP BY user_id
        ) AS x USING user_id
    )
    GROUP BY user_id"""


def moment_sums(columns: Sequence[str]) -> str:
    """`sum(column)` for each column, then `sum(a * b)` for each `product_pairs` pair: what `Moments` is built of."""
    cols = [checked_identifier(c) for c in columns]
    sums = [f"sum(toFloat64({c}))" for c in cols]
    products = [f"sum(toFloat64({cols[i]}) * {cols[j]})" for i, j in product_pairs(cols)]
    return ", ".join(sums + products)


def moments_sql(database: str, columns: Sequence[str] = PER_USER_COLUMNS) -> str:
    """Per arm and day of first exposure: n, switched (users seen in several arms), Σ column, Σ products.

    Output: arm, day (UTC days since epoch), n, switched, then one Σ per column, then one Σ per
    `product_pairs(columns)` pair. Same params as `per_user_sql`.
    """
    return f"""
    SELECT arm, intDiv(first_ms, 86400000) AS day, count() AS n, countIf(arms > 1) AS switched,
        {moment_sums(columns)}
    FROM ({per_user_sql(database)})
    GROUP BY arm, day
    ORDER BY arm, day"""


def _user_values_sql(database: str, value_column: str) -> str:
    """Exposed users' deduplicated values of one event type after their first exposure.

    One scan of the experiment's searches and events of that type, grouped by user: the arm and first
    exposure come from the searches, the values from the other events, deduplicated per user by
    (event id hash, ts, value). Output: user_id, arm, user_values (non-empty array). Params: experiment,
    event_type, start_ms, end_ms.
    """
    db, column = checked_identifier(database), checked_identifier(value_column)
    if column not in VALUE_COLUMNS:
        raise ValueError(f"quantiles read one of {VALUE_COLUMNS}, not {value_column!r}")
    return f"""
    SELECT user_id, arm, arrayMap(v -> v.3, arrayFilter(v -> v.2 >= first_ms, values)) AS user_values
    FROM (
        SELECT user_id, argMinIf(variant, ts_ms, exposure) AS arm, minIf(ts_ms, exposure) AS first_ms,
            groupUniqArrayIf((eid, ts_ms, value), event_type = %(event_type)s) AS values
        FROM (
            SELECT user_id, variant, ts_ms, event_type, cityHash64(event_id) AS eid, {column} AS value,
                event_type = 'search' AND ts_ms >= %(start_ms)s AS exposure
            FROM {db}.events
            WHERE experiment = %(experiment)s AND event_type IN ('search', %(event_type)s) AND ts_ms < %(end_ms)s
        )
        GROUP BY user_id
    )
    WHERE first_ms > 0 AND notEmpty(user_values)"""


def quantile_sql(database: str, value_column: str) -> str:
    """Per arm: the number of values and the sample quantiles at two per-arm levels.

    Quantiles are inverted-CDF (the smallest value whose empirical CDF reaches the level: numpy's
    `method="inverted_cdf"`, the definition of `analysis.stats.QuantileStats`). Two levels per arm because
    the outer quantiles come in pairs; pass the same level twice for a single quantile. Params as
    `_user_values_sql` plus `arms` (array of arm names) and `low_levels`, `high_levels` (arrays in the
    same order). Output: arm, n_values, low quantile, high quantile.
    """
    position = "toUInt64(greatest(ceil(transform(arm, %(arms)s, %({levels})s, 0.5) * n_values), 1))"
    return f"""
    SELECT arm, n_values,
        arrayElement(sorted_values, {position.format(levels="low_levels")}) AS low,
        arrayElement(sorted_values, {position.format(levels="high_levels")}) AS high
    FROM (
        SELECT arm, sum(length(user_values)) AS n_values, arraySort(groupArrayArray(user_values)) AS sorted_values
        FROM ({_user_values_sql(database, value_column)})
        GROUP BY arm
    )
    ORDER BY arm"""


def quantile_counts_sql(database: str, value_column: str) -> str:
    """Per arm: the quantile at `level` and the per-user (S_i, N_i) sums of `RatioStats` around it, in one pass.

    S_i = user i's values <= the arm's quantile, N_i = user i's values (steps 1 and 2 of
    `analysis.stats.quantile`; the arm's values are in memory for the quantile anyway). Params as
    `_user_values_sql` plus `level`. Output: arm, n users, ΣS, ΣS², ΣN, ΣN², ΣS·N, quantile.
    """
    return f"""
    SELECT arm, length(per_user) AS n, arraySum(s), arraySum(arrayMap(x -> x * x, s)), arraySum(c),
        arraySum(arrayMap(x -> x * x, c)), arraySum(arrayMap((x, y) -> x * y, s, c)), quantile
    FROM (
        SELECT arm, per_user, quantile,
            arrayMap(u -> toFloat64(arrayCount(v -> v <= quantile, u)), per_user) AS s,
            arrayMap(u -> toFloat64(length(u)), per_user) AS c
        FROM (
            SELECT arm, groupArray(user_values) AS per_user, sum(length(user_values)) AS n_values,
                arrayElement(arraySort(groupArrayArray(user_values)),
                             toUInt64(greatest(ceil(%(level)s * n_values), 1))) AS quantile
            FROM ({_user_values_sql(database, value_column)})
            GROUP BY arm
        )
    )
    ORDER BY arm"""


def position_ctr_sql(database: str) -> str:
    """Per position: deduplicated impressions and clicks of an experiment (the position-bias estimate).

    Params: experiment. Output: position, impressions, clicks.
    """
    return f"""
    SELECT position, uniqExactIf(event_id, event_type = 'impression') AS impressions,
        uniqExactIf(event_id, event_type = 'click') AS clicks
    FROM {checked_identifier(database)}.events
    WHERE experiment = %(experiment)s AND event_type IN ('impression', 'click') AND position > 0
    GROUP BY position
    ORDER BY position"""


def click_pairs_sql(database: str) -> str:
    """Satisfied clicks aggregated by (query image, result image): clicks, weight, mean position and dwell.

    A click's dwell is the longest dwell logged for the same request and result (0 without one), so a
    click counts when dwell >= `min_dwell_ms`. Self-pairs (the query image clicked in its own results)
    carry no similarity signal and are dropped. Each click weighs `transform(position, positions,
    weights, default_weight)`: 1 everywhere for raw counts, the inverse propensity for position-bias
    correction. Params: experiment, min_dwell_ms, positions, weights, default_weight.
    """
    db = checked_identifier(database)
    return f"""
    SELECT query_image_id, result_image_id, count() AS clicks,
        sum(transform(position, %(positions)s, %(weights)s, %(default_weight)s)) AS weight,
        avg(position) AS mean_position, avg(dwell) AS mean_dwell_ms
    FROM (
        SELECT request_id, query_image_id, result_image_id, position
        FROM {db}.events
        WHERE experiment = %(experiment)s AND event_type = 'click'
          AND query_image_id != '' AND query_image_id != result_image_id
        LIMIT 1 BY event_id
    ) AS c
    ANY LEFT JOIN (
        SELECT request_id, result_image_id, max(dwell_ms) AS dwell
        FROM {db}.events
        WHERE experiment = %(experiment)s AND event_type = 'dwell'
        GROUP BY request_id, result_image_id
    ) AS d USING (request_id, result_image_id)
    WHERE dwell >= %(min_dwell_ms)s
    GROUP BY query_image_id, result_image_id
    ORDER BY weight DESC, query_image_id, result_image_id"""


def timeline_sql(database: str, columns: Sequence[str]) -> str:
    """Per arm, view and bucket: n, Σ column, Σ products of per-user totals (as `moments_sql`), for lift over time.

    Views: 0 = calendar (bucket: UTC day d; each user exposed by the end of d, with their events up to the end
    of d), 1 = days since exposure (bucket: k; events in each user's k-th 24 hours after first exposure, over
    users whose k-th day ended before `window_end_ms`). One scan: per (user, day, age) totals, gathered into
    arrays per user, then one row per (user, bucket) by ARRAY JOIN. A search clicked on two days counts as
    successful on both. Params: experiment, start_ms, end_ms, last_day, window_end_ms.
    Output: arm, view, bucket, n, then one Σ per column, then one Σ per `product_pairs(columns)` pair.
    """
    db = checked_identifier(database)
    cols = [checked_identifier(c) for c in columns]
    for column in cols:
        if column not in _TOTALS:
            raise ValueError(f"no per-user total {column!r} (known: {', '.join(_TOTALS)})")
    day_totals = ",\n            ".join(f"{_TOTALS[c].format(p='1')} AS {c}" for c in cols)
    gathered = ", ".join(f"groupArray({c}) AS all_{c}" for c in cols)
    pick = "if(view = 0, d <= bucket, a = bucket)"
    values = ", ".join(f"arraySum(arrayMap((d, a, v) -> if({pick}, v, 0), days, ages, all_{c})) AS {c}" for c in cols)
    return f"""
    SELECT t_arm, view, bucket, count() AS n, {moment_sums(cols)}
    FROM (
        SELECT t_arm, tupleElement(b, 1) AS view, tupleElement(b, 2) AS bucket, {values}
        FROM (
            SELECT user_id, any(d_arm) AS t_arm, any(d_first) AS t_first, groupArray(day) AS days,
                groupArray(age) AS ages, {gathered}
            FROM (
                SELECT user_id, any(x_arm) AS d_arm, any(exposed_ms) AS d_first, day, age,
                {day_totals}
                FROM (
                    SELECT user_id, x_arm, exposed_ms, cityHash64(event_id) AS eid, event_type, request_id,
                        dwell_ms AS dwell, result_count, status_code, intDiv(ts_ms, 86400000) AS day,
                        intDiv(ts_ms - exposed_ms, 86400000) AS age
                    FROM (
                        SELECT user_id, event_id, event_type, ts_ms, request_id, dwell_ms, result_count, status_code
                        FROM {db}.events
                        WHERE experiment = %(experiment)s AND ts_ms >= %(start_ms)s AND ts_ms < %(end_ms)s
                    ) AS e
                    ALL INNER JOIN (
                        SELECT user_id, min(ts_ms) AS exposed_ms, argMin(variant, ts_ms) AS x_arm
                        FROM {db}.events WHERE {EXPOSURE} GROUP BY user_id
                    ) AS x USING user_id
                    WHERE ts_ms >= exposed_ms
                )
                GROUP BY user_id, day, age
            )
            GROUP BY user_id
        )
        ARRAY JOIN arrayConcat(
            arrayMap(i -> (toUInt8(0), toInt64(intDiv(t_first, 86400000) + i)),
                     range(toUInt64(greatest(%(last_day)s - intDiv(t_first, 86400000) + 1, 0)))),
            arrayMap(i -> (toUInt8(1), toInt64(i)),
                     range(toUInt64(greatest(intDiv(%(window_end_ms)s - t_first, 86400000), 0))))
        ) AS b
    )
    GROUP BY t_arm, view, bucket
    ORDER BY t_arm, view, bucket"""
