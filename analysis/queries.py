"""SQL text of the analysis, one dialect for ClickHouse 18.16 and chdb, generated from metric definitions.

18.16 constrains the dialect: no `WITH name AS (subquery)`, no window functions, no server-side
`{name:Type}` parameters, and an alias equal to a column name inside an aggregate is substituted into
it (`argMin(variant, ts_ms) AS variant` fails), so derived names differ from column names (`arm`, `m0`, `c_x`).
Parameters are the store's client-side `%(name)s` substitution (`analysis.measure_sql.SqlParams`); times are
epoch milliseconds (`ts_ms`) so no DateTime literal or time zone is involved, and days are
`intDiv(ms, 86400000)` (UTC days). Identifiers come from checked sets only: the database name
(`checked_identifier`), event types and columns of the events table (`analysis.measures`), and names made here.

Deduplication by `event_id` (delivery is at-least-once) happens inside each user's aggregates
(`analysis.measure_sql`): duplicates of an event carry the same user, so deduplicating per user is exact (up to
the 64-bit hash of `eid`: two distinct events of one user collide with probability ~ k²/2⁶⁵ for k events, 1e-13
at 1,000 events), and cheaper than `event_logging.store.deduped_events_sql`'s global `LIMIT 1 BY event_id`
(small per-user hash sets instead of one set of every event id; BENCHMARKS.md, "Analysis"). Quantile queries
deduplicate values per user the same way; the click-pair export reads one event type of one experiment and uses
`LIMIT 1 BY event_id` on it.

Exposure: a user enters the experiment at their first `search` event in it; their arm is the variant of that
event and their segments the attributes it carries. Only events at or after it count (an impression logged
before its search, from a skewed client clock, does not), within a metric's window when it has one; the
pre-period is every event of the same users in the `pre_period_days` before the start.
"""

from __future__ import annotations

import re
from dataclasses import replace

from analysis.column_plan import ColumnPlan
from analysis.measure_sql import (
    SqlParams,
    aggregates_sql,
    attribute_sql,
    capped_sql,
    column_ref,
    condition_sql,
    event_columns,
)
from analysis.metrics import QuantileMetric

END_OF_TIME_MS = 253_402_300_799_999
"""9999-12-31T23:59:59.999Z: the end of an experiment that has none."""

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
DAY_GROUPING = 0
"""`moments_sql` groupings: 0 = day of first exposure, i + 1 = value of segment attribute i."""


def checked_identifier(identifier: str) -> str:
    """Identifiers cannot be parameters: accept only plain names so nothing else reaches the SQL."""
    if not _IDENTIFIER.match(identifier):
        raise ValueError(f"not a plain SQL identifier: {identifier!r}")
    return identifier


EXPOSURE = """experiment = %(experiment)s AND event_type = 'search'
      AND ts_ms >= %(start_ms)s AND ts_ms < %(end_ms)s"""
"""A search of the experiment inside its window: the exposure event."""


def per_user_sql(database: str, plan: ColumnPlan, params: SqlParams) -> str:
    """One row per exposed user: user_id, arm, first_ms, arms, s0… (segment values), m0… (`plan.raw` in order).

    One scan reads the experiment's events plus everyone's pre-period (ts in [pre_start_ms, start_ms)); the join
    keeps exposed users and brings only their first exposure time, which `post` needs per event; the arm
    (variant of that first search) and segments (its attributes) come from the same aggregation, which is
    cheaper than joining strings onto every event. Fixed params: experiment, start_ms, end_ms, pre_start_ms.
    """
    db = checked_identifier(database)
    columns = event_columns(plan.measures, attributes=bool(plan.segments))
    selected = "".join(f", {c} AS {column_ref(c)}" for c in columns)
    passed = "".join(f", {column_ref(c)}" for c in columns)
    items = ["argMinIf(variant, ts_ms, exposure) AS arm", "any(exposed_ms) AS first_ms",
             "uniqExactIf(variant, exposure) AS arms"]  # fmt: skip
    items += [
        f"argMinIf({attribute_sql(params.add(name))}, ts_ms, exposure) AS s{i}" for i, name in enumerate(plan.segments)
    ]
    if plan.raw:
        items.append(aggregates_sql(plan.raw, params))
    return f"""
    SELECT user_id, {", ".join(items)}
    FROM (
        SELECT user_id, variant, ts_ms, exposed_ms, cityHash64(event_id) AS eid, event_type{passed},
            experiment = %(experiment)s AND ts_ms >= exposed_ms AND ts_ms < %(end_ms)s AS post,
            ts_ms >= %(pre_start_ms)s AND ts_ms < %(start_ms)s AS pre,
            {EXPOSURE} AS exposure
        FROM (
            SELECT user_id, variant, event_id, event_type, ts_ms, experiment{selected}
            FROM {db}.events
            WHERE experiment = %(experiment)s OR (ts_ms >= %(pre_start_ms)s AND ts_ms < %(start_ms)s)
        ) AS e
        ALL INNER JOIN (
            SELECT user_id, min(ts_ms) AS exposed_ms FROM {db}.events WHERE {EXPOSURE} GROUP BY user_id
        ) AS x USING user_id
    )
    GROUP BY user_id"""


def moment_sums(expressions: list[str], pairs: tuple[tuple[int, int], ...]) -> str:
    """`sum(x)` for each expression, then `sum(a * b)` for each index pair: what `Moments.from_sums` reads."""
    sums = [f"sum(toFloat64({x}))" for x in expressions]
    products = [f"sum(toFloat64({expressions[i]}) * {expressions[j]})" for i, j in pairs]
    return ", ".join(sums + products)


def _capped_users(database: str, plan: ColumnPlan, params: SqlParams) -> tuple[str, list[str]]:
    """The per-user rows with their capped columns x0… (raw then capped, `plan.columns` order) and each cap.

    A percentile cap is the inverted-CDF quantile of the raw column over every exposed user (arms pooled):
    the per-user rows are gathered into one array once, the caps computed beside it, then the array is unrolled
    again — the per-user query runs once. A cap of 0 (most users have nothing) would erase the metric, so
    it caps nothing. Returns (FROM source with arm, first_ms, arms, s…, x…, cap…), cap expressions).
    """
    source = f"({per_user_sql(database, plan, params)})"
    carried = ["arm", "first_ms", "arms", *(f"s{i}" for i in range(len(plan.segments)))]
    carried += [f"m{i}" for i in range(len(plan.raw))]
    caps: list[str] = []
    quantiles = []
    for j, column in enumerate(plan.capped):
        if column.capping.kind == "percentile":
            level = params.add(float(column.capping.amount))
            position = f"toUInt64(greatest(ceil({level} * count()), 1))"
            quantiles.append(f"arrayElement(arraySort(groupArray(m{column.raw})), {position}) AS cap{j}")
            caps.append(f"cap{j}")
        else:
            caps.append(params.add(float(column.capping.amount)))
    if quantiles:
        unrolled = ", ".join(f"tupleElement(u, {k + 1}) AS {name}" for k, name in enumerate(carried))
        source = f"""(
        SELECT {unrolled}, {", ".join(c for c in caps if c.startswith("cap"))}
        FROM (SELECT groupArray(({", ".join(carried)})) AS users, {", ".join(quantiles)} FROM {source})
        ARRAY JOIN users AS u
    )"""
    values = [f"m{i} AS x{i}" for i in range(len(plan.raw))]
    values += [
        f"{capped_sql(f'm{c.raw}', cap)} AS x{len(plan.raw) + j}, "
        f"{cap} > 0 AND m{c.raw} > {cap} AS over{j}, {cap} AS cap_value{j}"
        for j, (c, cap) in enumerate(zip(plan.capped, caps, strict=True))
    ]
    segments = "".join(f", s{i}" for i in range(len(plan.segments)))
    return f"(SELECT arm, first_ms, arms{segments}, {', '.join(values) or '0 AS x_none'} FROM {source})", caps


def moments_sql(database: str, plan: ColumnPlan, params: SqlParams) -> str:
    """Per arm and grouping: n, switched (users seen in several arms), Σ column, Σ products, caps, users capped.

    Groupings (`DAY_GROUPING`): users by UTC day of first exposure, and by the value of each segment attribute at
    first exposure — one scan, each user row unrolled once per grouping. Output: arm, grouping, key (text), n,
    switched, one Σ per `plan.columns`, one Σ per `plan.pairs`, then per capped column its cap and the users
    above it.
    """
    source, _ = _capped_users(database, plan, params)
    expressions = [f"x{i}" for i in range(len(plan.columns))]
    groupings = ["(toUInt8(0), toString(intDiv(first_ms, 86400000)))"]
    groupings += [f"(toUInt8({i + 1}), s{i})" for i in range(len(plan.segments))]
    extra = "".join(f", any(cap_value{j}), countIf(over{j})" for j in range(len(plan.capped)))
    sums = moment_sums(expressions, plan.pairs)
    return f"""
    SELECT arm, tupleElement(g, 1) AS grouping, tupleElement(g, 2) AS key, count() AS n,
        countIf(arms > 1) AS switched{", " + sums if sums else ""}{extra}
    FROM {source}
    ARRAY JOIN [{", ".join(groupings)}] AS g
    GROUP BY arm, grouping, key
    ORDER BY arm, grouping, key"""


def _user_values_sql(database: str, metric: QuantileMetric, params: SqlParams) -> str:
    """Exposed users' deduplicated values of the metric's column over its events after their first exposure, up to
    each cut-off time of `%(cuts)s`.

    One scan of the experiment's searches and the metric's events, grouped by user: the arm and first exposure
    come from the searches, the values from the other events (passing the metric's filters), deduplicated per
    user by (event id hash, ts, value), kept within the metric's window. Then one row per (user, cut) for the users
    exposed before the cut, with their values before it: a calendar day's cumulative quantile is a cut at its end,
    the whole experiment's a cut at its end, and every day of a lift-over-time view comes from this one scan.
    Output: user_id, arm, cut, user_values (non-empty array). Fixed params: experiment, start_ms, end_ms, cuts.
    """
    db = checked_identifier(database)
    measure = metric.measure
    columns = [*measure.event_columns, *(["attr_names", "attr_values"] if measure.reads_attributes else [])]
    selected = "".join(f", {c} AS {column_ref(c)}" for c in dict.fromkeys(columns))
    value = column_ref(metric.column).removeprefix("c_")  # refuses anything but a column of the events table
    condition = condition_sql(replace(measure, window_ms=None), "1", params)
    window = "" if measure.window_ms is None else f" AND v.2 < first_ms + {params.add(int(measure.window_ms))}"
    return f"""
    SELECT user_id, arm, cut, arrayMap(v -> v.3, arrayFilter(v -> v.2 >= first_ms AND v.2 < cut{window}, values))
        AS user_values
    FROM (
        SELECT user_id, argMinIf(variant, ts_ms, exposure) AS arm, minIf(ts_ms, exposure) AS first_ms,
            groupUniqArrayIf((eid, ts_ms, value), {condition}) AS values
        FROM (
            SELECT user_id, variant, ts_ms, event_type, cityHash64(event_id) AS eid,
                toFloat64({value}) AS value{selected},
                event_type = 'search' AND ts_ms >= %(start_ms)s AS exposure
            FROM {db}.events
            WHERE experiment = %(experiment)s AND event_type IN ('search', '{measure.event}') AND ts_ms < %(end_ms)s
        )
        GROUP BY user_id
    )
    ARRAY JOIN %(cuts)s AS cut
    WHERE first_ms > 0 AND first_ms < cut AND notEmpty(user_values)"""


def quantile_sql(database: str, metric: QuantileMetric, params: SqlParams) -> str:
    """Per arm and cut: the number of values and the sample quantiles at two levels of that (arm, cut).

    Quantiles are inverted-CDF (the smallest value whose empirical CDF reaches the level: numpy's
    `method="inverted_cdf"`, the definition of `analysis.stats.QuantileStats`). Two levels because the outer
    quantiles come in pairs; pass the same level twice for a single quantile. Fixed params as `_user_values_sql`
    plus `keys` (`"<arm>/<cut>"` texts) and `low_levels`, `high_levels` (arrays in the same order).
    Output: arm, cut, n_values, low quantile, high quantile.
    """
    level = "transform(concat(arm, '/', toString(cut)), %(keys)s, %({levels})s, 0.5)"
    position = f"toUInt64(greatest(ceil({level} * n_values), 1))"
    return f"""
    SELECT arm, cut, n_values,
        arrayElement(sorted_values, {position.replace("{levels}", "low_levels")}) AS low,
        arrayElement(sorted_values, {position.replace("{levels}", "high_levels")}) AS high
    FROM (
        SELECT arm, cut, sum(length(user_values)) AS n_values, arraySort(groupArrayArray(user_values)) AS sorted_values
        FROM ({_user_values_sql(database, metric, params)})
        GROUP BY arm, cut
    )
    ORDER BY arm, cut"""


def quantile_counts_sql(database: str, metric: QuantileMetric, params: SqlParams) -> str:
    """Per arm and cut: the quantile at `level` and the per-user (S_i, N_i) sums of `RatioStats` around it, in one
    pass.

    S_i = user i's values <= the arm's quantile, N_i = user i's values (steps 1 and 2 of
    `analysis.stats.quantile`; the arm's values are in memory for the quantile anyway). Fixed params as
    `_user_values_sql` plus `level`. Output: arm, cut, n users, ΣS, ΣS², ΣN, ΣN², ΣS·N, quantile.
    """
    return f"""
    SELECT arm, cut, length(per_user) AS n, arraySum(s), arraySum(arrayMap(x -> x * x, s)), arraySum(c),
        arraySum(arrayMap(x -> x * x, c)), arraySum(arrayMap((x, y) -> x * y, s, c)), quantile
    FROM (
        SELECT arm, cut, per_user, quantile,
            arrayMap(u -> toFloat64(arrayCount(v -> v <= quantile, u)), per_user) AS s,
            arrayMap(u -> toFloat64(length(u)), per_user) AS c
        FROM (
            SELECT arm, cut, groupArray(user_values) AS per_user, sum(length(user_values)) AS n_values,
                arrayElement(arraySort(groupArrayArray(user_values)),
                             toUInt64(greatest(ceil(%(level)s * n_values), 1))) AS quantile
            FROM ({_user_values_sql(database, metric, params)})
            GROUP BY arm, cut
        )
    )
    ORDER BY arm, cut"""


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
