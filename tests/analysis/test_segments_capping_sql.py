"""Segments and capping in the store's SQL (ClickHouse 18.16 and chdb), against the hand-built events."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analysis import AnalysisPlan, EventStoreSource
from analysis.capping import apply_cap
from analysis.measures import Capping
from analysis.metric_files import load_metric_files
from analysis.moments import Moments
from event_logging.store import EventStore
from tests.analysis.conftest import EXPECTED_PER_USER, EXPECTED_PLATFORM, EXPERIMENT, START

pytestmark = pytest.mark.integration

CAPPED = """\
version: 1
metrics:
  - name: dwell_p75_capped
    type: mean
    measure: {event: dwell, aggregate: sum, column: dwell_ms, per_user_column: dwell_ms}
    capping: {percentile: 0.75}
    direction: higher_is_better
  - name: dwell_3000_capped
    type: mean
    measure: {event: dwell, aggregate: sum, column: dwell_ms, per_user_column: dwell_ms}
    capping: {value: 3000}
    direction: higher_is_better
  - name: clicks_capped_at_median
    type: mean
    measure: {event: click, per_user_column: clicks}
    capping: {percentile: 0.5}
    direction: higher_is_better
  - name: clicks_capped_at_one
    type: mean
    measure: {event: click, per_user_column: clicks}
    capping: {value: 1}
    direction: higher_is_better
  - name: ios_searches
    type: mean
    measure: {event: search, filters: [{attribute: platform, op: "=", value: ios}]}
    direction: neutral
"""
DWELL = {user: EXPECTED_PER_USER[user][6] for user in EXPECTED_PER_USER}  # alice 5000, bob 4000, carol 2500, dave 0


@pytest.fixture
def capped_plan(tmp_path: Path) -> AnalysisPlan:
    path = tmp_path / "capped.yaml"
    path.write_text(CAPPED)
    catalog = load_metric_files([path], ("platform",))
    return AnalysisPlan(
        EXPERIMENT,
        secondary_metrics=(
            "dwell_p75_capped",
            "dwell_3000_capped",
            "ios_searches",
            "clicks_capped_at_median",
            "clicks_capped_at_one",
        ),
        start=START,
        segments=("platform", "country"),
        catalog=catalog,
    )


def test_a_users_segment_is_their_attribute_at_first_exposure(loaded_store: EventStore, capped_plan) -> None:
    data = EventStoreSource(loaded_store, "test").load(capped_plan)
    found = {value: {arm: m.n for arm, m in arms.items()} for value, arms in data.segments["platform"].items()}
    expected: dict[str, dict[str, int]] = {}
    for user, platform in EXPECTED_PLATFORM.items():
        arm = EXPECTED_PER_USER[user][0]
        counts = expected.setdefault(platform or "(none)", {})
        counts[arm] = counts.get(arm, 0) + 1
    assert found == expected
    assert data.segments["platform"]["ios"]["control"].total("clicks") == 1  # alice's
    assert {v: {a: m.n for a, m in arms.items()} for v, arms in data.segments["country"].items()} == {
        "de": {"control": 1},
        "(none)": {"control": 1, "treatment": 2},
    }
    for arm in ("control", "treatment"):  # the segments partition the arm
        parts = [arms[arm] for arms in data.segments["platform"].values() if arm in arms]
        whole = sum(parts, Moments.empty(data.columns))
        np.testing.assert_allclose(whole.sums, data.arms[arm].sums)


def test_caps_match_the_numpy_definition(loaded_store: EventStore, capped_plan) -> None:
    data = EventStoreSource(loaded_store, "test").load(capped_plan)
    values = np.array(list(DWELL.values()))
    for column, capping in (
        ("dwell_ms__p0_75", Capping("percentile", 0.75)),
        ("dwell_ms__v3000", Capping("value", 3000)),
    ):
        capped, cap, users_capped = apply_cap(values, capping)
        assert (data.caps[column].value, data.caps[column].users_capped, data.caps[column].users) == (
            cap,
            users_capped,
            4,
        )
        total = sum(data.arms[arm].total(column) for arm in data.arms)
        assert total == pytest.approx(capped.sum())
    assert data.caps["dwell_ms__p0_75"].value == 4000 and data.caps["dwell_ms__v3000"].users_capped == 2
    # counts are integers in SQL (UInt64): capped like any value; clicks alice 1, bob 2, carol 1, dave 0
    assert (data.caps["clicks__p0_5"].value, data.caps["clicks__p0_5"].users_capped) == (1.0, 1)
    assert data.arms["treatment"].total("clicks__v1") == 2.0


def test_attribute_filters_read_the_searches_own_attributes(loaded_store: EventStore, capped_plan) -> None:
    """ios searches after exposure: alice's a1 (her a2 says web), carol's c1 (her c2 says android)."""
    data = EventStoreSource(loaded_store, "test").load(capped_plan)
    assert data.arms["control"].total("ios_searches") == 1
    assert data.arms["treatment"].total("ios_searches") == 1
