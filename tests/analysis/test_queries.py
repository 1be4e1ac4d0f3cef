"""The analysis SQL against ClickHouse 18.16 and chdb, on a hand-built event set counted by hand."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from analysis import queries
from analysis.moments import PER_USER_COLUMNS, Moments, product_pairs
from analysis.plan import AnalysisPlan
from analysis.sources.sql import query_params
from event_logging.store import EventStore
from tests.analysis.conftest import EXPECTED_PER_USER, EXPERIMENT, START

PARAMS = query_params(AnalysisPlan(EXPERIMENT, start=START))


def _expected_row(user: str) -> tuple:
    arm, first, arms, *totals = EXPECTED_PER_USER[user]
    return (user, arm, int(first.timestamp() * 1000), arms, *totals)


@pytest.mark.integration
def test_per_user_rows_match_the_hand_count(loaded_store: EventStore) -> None:
    rows = loaded_store.query(queries.per_user_sql(loaded_store.database), PARAMS)
    assert sorted(tuple(r) for r in rows) == sorted(_expected_row(u) for u in EXPECTED_PER_USER)


@pytest.mark.integration
def test_pre_period_window_excludes_older_events(loaded_store: EventStore) -> None:
    """With a 3-day pre-period (from Jan 7), alice's Jan 5–6 events drop out; carol's Jan 8 search stays."""
    params = query_params(AnalysisPlan(EXPERIMENT, start=START, pre_period_days=3))
    rows = {r[0]: r for r in loaded_store.query(queries.per_user_sql(loaded_store.database), params)}
    assert rows["alice"][-5:] == (0, 0, 0, 0.0, 0)
    assert rows["carol"][-5:] == (1, 0, 0, 0.0, 0)


@pytest.mark.integration
def test_moments_are_the_per_user_sums_by_arm_and_day(loaded_store: EventStore) -> None:
    rows = loaded_store.query(queries.moments_sql(loaded_store.database), PARAMS)
    days = [(arm, day, n, switched) for arm, day, n, switched, *_ in rows]
    jan = 20_463  # 2026-01-10 in days since 1970-01-01
    assert days == [
        ("control", jan, 1, 0),
        ("control", jan + 2, 1, 0),
        ("treatment", jan, 1, 0),
        ("treatment", jan + 1, 1, 1),
    ]
    k = len(PER_USER_COLUMNS)
    control = sum(
        (Moments.from_sums(PER_USER_COLUMNS, r[2], r[4 : 4 + k], r[4 + k :]) for r in rows if r[0] == "control"),
        Moments.empty(PER_USER_COLUMNS),
    )
    values = np.array([EXPECTED_PER_USER[u][3:] for u in ("alice", "dave")], dtype=float)
    expected = Moments.from_values(PER_USER_COLUMNS, values)
    assert control.n == 2
    np.testing.assert_allclose(control.sums, expected.sums)
    np.testing.assert_allclose(control.products, expected.products)
    assert len(rows[0]) == 4 + k + len(product_pairs(PER_USER_COLUMNS))


@pytest.mark.integration
def test_end_of_experiment_cuts_later_events(loaded_store: EventStore) -> None:
    """An end on Jan 11 00:00 keeps the Jan 10 exposures only, and their Jan 10 events."""
    plan = AnalysisPlan(EXPERIMENT, start=START, end=datetime(2026, 1, 11, tzinfo=UTC))
    rows = loaded_store.query(queries.per_user_sql(loaded_store.database), query_params(plan))
    by_user = {r[0]: r for r in rows}
    assert sorted(by_user) == ["alice", "bob"]
    assert by_user["alice"][4] == 1  # the Jan 11 search is after the end


@pytest.mark.integration
def test_quantile_sql_is_the_inverted_cdf(loaded_store: EventStore) -> None:
    """Latencies: control [60, 100, 120], treatment [80, 90, 300] (bob's duplicated search once)."""
    params = {**PARAMS, "event_type": "search", "arms": ["control", "treatment"]}
    rows = loaded_store.query(
        queries.quantile_sql(loaded_store.database, "latency_ms"),
        {**params, "low_levels": [0.5, 0.34], "high_levels": [1.0, 0.95]},
    )
    assert rows == [("control", 3, 100.0, 120.0), ("treatment", 3, 90.0, 300.0)]
    counts = loaded_store.query(
        queries.quantile_counts_sql(loaded_store.database, "latency_ms"), {**params, "level": 0.5}
    )
    # control, median 100: alice S=1 (100; not 120), N=2; dave S=1, N=1 → ΣS=2, ΣS²=2, ΣN=3, ΣN²=5, ΣSN=3
    # treatment, median 90: bob S=0, N=1; carol S=2, N=2 → ΣS=2, ΣS²=4, ΣN=3, ΣN²=5, ΣSN=4
    assert counts == [
        ("control", 2, 2.0, 2.0, 3.0, 5.0, 3.0, 100.0),
        ("treatment", 2, 2.0, 4.0, 3.0, 5.0, 4.0, 90.0),
    ]


def test_identifiers_are_checked() -> None:
    with pytest.raises(ValueError, match="identifier"):
        queries.per_user_sql("vsx; DROP TABLE x")
    with pytest.raises(ValueError, match="quantiles read"):
        queries.quantile_sql("vsx", "user_id")
