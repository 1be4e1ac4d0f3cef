"""The analysis SQL against ClickHouse 18.16 and chdb, on a hand-built event set counted by hand."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from analysis import queries
from analysis.column_plan import column_plan
from analysis.measure_sql import SqlParams
from analysis.metric_files import builtin_catalog
from analysis.moments import Moments
from analysis.plan import AnalysisPlan
from analysis.sources.sql import query_params
from event_logging.store import EventStore
from tests.analysis.conftest import EXPECTED_PER_USER, EXPERIMENT, START

PLAN = AnalysisPlan(EXPERIMENT, start=START)
COLUMNS = column_plan(builtin_catalog().metrics.values())
HAND_COUNTED = ("searches", "impressions", "clicks", "dwell_ms", "successful_searches", "zero_result_searches",
                "error_searches", "pre_searches", "pre_impressions", "pre_clicks", "pre_dwell_ms",
                "pre_successful_searches")  # fmt: skip
"""The totals of `EXPECTED_PER_USER`, in its order (the pre-period zero-result and error counts are all 0)."""


def _expected(user: str) -> dict[str, float]:
    counts = dict(zip(HAND_COUNTED, EXPECTED_PER_USER[user][3:], strict=True))
    return {name: counts.get(name, 0) for name in COLUMNS.raw_names}


def _per_user(store: EventStore, plan: AnalysisPlan = PLAN) -> dict[str, tuple]:
    params = SqlParams(query_params(plan))
    rows = store.query(queries.per_user_sql(store.database, COLUMNS, params), params.values)
    return {row[0]: row for row in rows}


@pytest.mark.integration
def test_per_user_rows_match_the_hand_count(loaded_store: EventStore) -> None:
    rows = _per_user(loaded_store)
    assert sorted(rows) == sorted(EXPECTED_PER_USER)
    for user, row in rows.items():
        arm, first, arms = EXPECTED_PER_USER[user][:3]
        assert row[1:4] == (arm, int(first.timestamp() * 1000), arms)
        assert dict(zip(COLUMNS.raw_names, row[4:], strict=True)) == _expected(user), user


@pytest.mark.integration
def test_pre_period_window_excludes_older_events(loaded_store: EventStore) -> None:
    """With a 3-day pre-period (from Jan 7), alice's Jan 5–6 events drop out; carol's Jan 8 search stays."""
    rows = _per_user(loaded_store, AnalysisPlan(EXPERIMENT, start=START, pre_period_days=3))
    named = {user: dict(zip(COLUMNS.raw_names, row[4:], strict=True)) for user, row in rows.items()}
    assert [named["alice"][c] for c in ("pre_searches", "pre_impressions", "pre_clicks")] == [0, 0, 0]
    assert [named["carol"][c] for c in ("pre_searches", "pre_impressions", "pre_clicks")] == [1, 0, 0]


@pytest.mark.integration
def test_moments_are_the_per_user_sums_by_arm_and_day(loaded_store: EventStore) -> None:
    params = SqlParams(query_params(PLAN))
    rows = loaded_store.query(queries.moments_sql(loaded_store.database, COLUMNS, params), params.values)
    days = [(arm, grouping, key, n, switched) for arm, grouping, key, n, switched, *_ in rows]
    jan = 20_463  # 2026-01-10 in days since 1970-01-01
    assert days == [
        ("control", 0, str(jan), 1, 0),
        ("control", 0, str(jan + 2), 1, 0),
        ("treatment", 0, str(jan), 1, 0),
        ("treatment", 0, str(jan + 1), 1, 1),
    ]
    k = len(COLUMNS.columns)
    control = sum(
        (Moments.from_sums(COLUMNS.columns, r[3], r[5 : 5 + k], COLUMNS.pairs, r[5 + k :]) for r in rows[:2]),
        Moments.empty(COLUMNS.columns),
    )
    values = np.array([list(_expected(u).values()) for u in ("alice", "dave")], dtype=float)
    expected = Moments.from_values(COLUMNS.columns, values)
    assert control.n == 2
    np.testing.assert_allclose(control.sums, expected.sums)
    for i, j in COLUMNS.pairs:
        assert control.products[i, j] == expected.products[i, j]
    assert len(rows[0]) == 5 + k + len(COLUMNS.pairs)


def test_only_the_products_metrics_read_are_computed() -> None:
    """CTR alone: clicks and impressions, their pre-period twins, and the 10 products a ratio with CUPED reads."""
    plan = column_plan([builtin_catalog().get("ctr")])
    assert plan.columns == ("clicks", "impressions", "pre_clicks", "pre_impressions")
    assert len(plan.pairs) == 10
    assert Moments.from_sums(plan.columns, 3, [1.0] * 4, plan.pairs, [2.0] * 10).product("pre_clicks", "clicks") == 2
    sparse = Moments.from_sums(plan.columns, 3, [1.0] * 4, plan.pairs[:1], [2.0])
    with pytest.raises(KeyError, match="was not computed"):
        sparse.product("clicks", "pre_clicks")


@pytest.mark.integration
def test_end_of_experiment_cuts_later_events(loaded_store: EventStore) -> None:
    """An end on Jan 11 00:00 keeps the Jan 10 exposures only, and their Jan 10 events."""
    rows = _per_user(loaded_store, AnalysisPlan(EXPERIMENT, start=START, end=datetime(2026, 1, 11, tzinfo=UTC)))
    assert sorted(rows) == ["alice", "bob"]
    assert dict(zip(COLUMNS.raw_names, rows["alice"][4:], strict=True))["searches"] == 1  # Jan 11 is after the end


@pytest.mark.integration
def test_quantile_sql_is_the_inverted_cdf(loaded_store: EventStore) -> None:
    """Latencies: control [60, 100, 120], treatment [80, 90, 300] (bob's duplicated search once)."""
    latency = builtin_catalog().get("latency_p95")
    fixed = query_params(PLAN)
    end = fixed["end_ms"]
    keys = [f"control/{end}", f"treatment/{end}"]
    params = SqlParams({**fixed, "cuts": [end], "keys": keys, "low_levels": [0.5, 0.34], "high_levels": [1.0, 0.95]})
    rows = loaded_store.query(queries.quantile_sql(loaded_store.database, latency, params), params.values)
    assert rows == [("control", end, 3, 100.0, 120.0), ("treatment", end, 3, 90.0, 300.0)]
    params = SqlParams({**fixed, "level": 0.5, "cuts": [end]})
    counts = loaded_store.query(queries.quantile_counts_sql(loaded_store.database, latency, params), params.values)
    # control, median 100: alice S=1 (100; not 120), N=2; dave S=1, N=1 → ΣS=2, ΣS²=2, ΣN=3, ΣN²=5, ΣSN=3
    # treatment, median 90: bob S=0, N=1; carol S=2, N=2 → ΣS=2, ΣS²=4, ΣN=3, ΣN²=5, ΣSN=4
    assert counts == [
        ("control", end, 2, 2.0, 2.0, 3.0, 5.0, 3.0, 100.0),
        ("treatment", end, 2, 2.0, 4.0, 3.0, 5.0, 4.0, 90.0),
    ]


@pytest.mark.integration
def test_quantiles_at_several_cuts_in_one_query(loaded_store: EventStore) -> None:
    """Cut at the end of Jan 10: alice (100) and bob (300) only; at the end of Jan 11 alice's 120, carol's 80."""
    latency = builtin_catalog().get("latency_p95")
    jan11, jan12 = (int(datetime(2026, 1, d, tzinfo=UTC).timestamp() * 1000) for d in (11, 12))
    params = SqlParams({**query_params(PLAN), "level": 0.5, "cuts": [jan11, jan12]})
    rows = loaded_store.query(queries.quantile_counts_sql(loaded_store.database, latency, params), params.values)
    found = {(arm, cut): (n, quantile) for arm, cut, n, *_, quantile in rows}
    assert found == {
        ("control", jan11): (1, 100.0),
        ("treatment", jan11): (1, 300.0),
        ("control", jan12): (1, 100.0),
        ("treatment", jan12): (2, 80.0),
    }


def test_identifiers_are_checked() -> None:
    with pytest.raises(ValueError, match="identifier"):
        queries.per_user_sql("vsx; DROP TABLE x", COLUMNS, SqlParams())
