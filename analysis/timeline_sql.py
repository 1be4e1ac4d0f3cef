"""SQL of lift over time: per-user totals by calendar day and by days since exposure, in one scan.

Same dialect and rules as `analysis.queries` (ClickHouse 18.16 and chdb, parameters only, measures from checked
definitions, deduplication by event id inside each user's aggregates).
"""

from __future__ import annotations

from collections.abc import Sequence

from analysis.column_plan import ColumnPlan
from analysis.measure_sql import SqlParams, aggregates_sql, capped_sql, column_ref, event_columns
from analysis.queries import EXPOSURE, checked_identifier, moment_sums


def timeline_sql(database: str, plan: ColumnPlan, caps: Sequence[float], params: SqlParams) -> str:
    """Per arm, view and bucket: n, Σ column, Σ products of per-user totals (as `moments_sql`), for lift over time.

    Views: 0 = calendar (bucket: UTC day d; each user exposed by the end of d, with their events up to the end
    of d), 1 = days since exposure (bucket: k; events in each user's k-th 24 hours after first exposure, over
    users whose k-th day ended before `window_end_ms`). One scan: per (user, day, age) totals, gathered into
    arrays per user, then one row per (user, bucket) by ARRAY JOIN. A `count_distinct` measure counts per day
    (a search clicked on two days counts as successful on both). Capped columns are capped at the experiment's
    caps (`caps`, one per `plan.capped`: what `moments_sql` found). `plan` holds post-period measures only.
    Fixed params: experiment, start_ms, end_ms, last_day, window_end_ms.
    Output: arm, view, bucket, n, then one Σ per `plan.columns`, then one Σ per `plan.pairs`.
    """
    db = checked_identifier(database)
    if any(period != "post" for _, period in plan.raw):
        raise ValueError("lift over time reads post-period measures only")
    k = len(plan.raw)
    columns = event_columns(plan.measures)
    selected = "".join(f", {c} AS {column_ref(c)}" for c in columns)
    passed = "".join(f", {column_ref(c)}" for c in columns)
    day_totals = aggregates_sql([(m, "1") for m in plan.measures], params)
    gathered = ", ".join(f"groupArray(m{i}) AS all_m{i}" for i in range(k))
    pick = "if(view = 0, d <= bucket, a = bucket)"
    values = [f"arraySum(arrayMap((d, a, v) -> if({pick}, v, 0), days, ages, all_m{i})) AS x{i}" for i in range(k)]
    capped = []
    for j, (column, cap) in enumerate(zip(plan.capped, caps, strict=True)):
        value = params.add(float(cap))
        capped.append(f"{capped_sql(f'x{column.raw}', value)} AS x{k + j}")
    expressions = [f"x{i}" for i in range(len(plan.columns))]
    return f"""
    SELECT t_arm, view, bucket, count() AS n, {moment_sums(expressions, plan.pairs)}
    FROM (
        SELECT t_arm, view, bucket, {", ".join([*expressions[:k], *capped])}
        FROM (
            SELECT t_arm, tupleElement(b, 1) AS view, tupleElement(b, 2) AS bucket, {", ".join(values)}
            FROM (
                SELECT user_id, any(d_arm) AS t_arm, any(d_first) AS t_first, groupArray(day) AS days,
                    groupArray(age) AS ages, {gathered}
                FROM (
                    SELECT user_id, any(x_arm) AS d_arm, any(exposed_ms) AS d_first, day, age,
                    {day_totals}
                    FROM (
                        SELECT user_id, x_arm, exposed_ms, cityHash64(event_id) AS eid, event_type, ts_ms{passed},
                            intDiv(ts_ms, 86400000) AS day, intDiv(ts_ms - exposed_ms, 86400000) AS age
                        FROM (
                            SELECT user_id, event_id, event_type, ts_ms{selected}
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
    )
    GROUP BY t_arm, view, bucket
    ORDER BY t_arm, view, bucket"""
