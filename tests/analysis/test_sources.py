"""Sources: the per-user CSV (parsing and its errors) and the event store (moments, days, quantiles)."""

from __future__ import annotations

import gzip
import re
import uuid
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from analysis import AnalysisPlan, EventStoreSource, GuardrailSpec, NoDataError, PerUserFile, PerUserFileError
from analysis.column_plan import column_plan
from analysis.sources import read_per_user_file
from analysis.stats import QuantileStats
from event_logging.schema import ClickEvent
from event_logging.store import EventStore
from tests.analysis.conftest import DWELL_VALUES, EXPERIMENT, LATENCY_VALUES, START, hand_built_events

GOOD_CSV = """user_id,variant,searches,impressions,clicks,dwell_ms,pre_impressions,pre_clicks
u1,control,2,20,1,3000,10,1
u2,control,1,10,0,0,0,0
u3,treatment,3,30,4,9000.5,20,2

u4,treatment,1,10,1,1500,5,0
"""


def _write(tmp_path: Path, text: str, name: str = "users.csv") -> Path:
    path = tmp_path / name
    if name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


BUILTIN_COLUMNS = set(column_plan(AnalysisPlan("x").catalog.metrics.values()).raw_names)


def _load(path: Path, **plan: object):
    """The file's arm moments over every built-in metric's columns."""
    secondary = ("dwell_per_click", "clicks_per_user", "searches_per_user", "search_success_rate")
    return PerUserFile(path).load(AnalysisPlan("x", secondary_metrics=secondary, **plan))  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["users.csv", "users.csv.gz"])
def test_per_user_file_moments(tmp_path: Path, name: str) -> None:
    data = _load(_write(tmp_path, GOOD_CSV, name))
    assert data.notes == ()
    assert list(data.arms) == ["control", "treatment"]
    treatment = data.arms["treatment"]
    assert treatment.columns == ("searches", "impressions", "clicks", "dwell_ms", "pre_impressions", "pre_clicks")
    assert treatment.n == 2
    assert treatment.total("dwell_ms") == 10500.5
    assert treatment.product("clicks", "impressions") == 4 * 30 + 1 * 10
    assert treatment.product("clicks", "pre_clicks") == 4 * 2


def test_unknown_columns_are_ignored_with_a_note(tmp_path: Path) -> None:
    """Also: a spreadsheet's byte-order mark before the header is not part of the first column's name."""
    path = _write(tmp_path, "\ufeffuser_id,variant,clicks,country\nu1,control,1,fr\nu2,treatment,2,de\n")
    data = _load(path)
    assert data.arms["control"].columns == ("clicks",)
    assert data.notes == ("ignored column(s) of the per-user file: country",)


def test_segment_columns_are_read_as_text(tmp_path: Path) -> None:
    path = _write(tmp_path, "user_id,variant,clicks,impressions,country\nu1,control,1,10,fr\nu2,treatment,2,10,de\n"
                            "u3,treatment,0,5,fr\nu4,control,3,20,\n")  # fmt: skip
    data = _load(path, segments=("country",))
    assert data.notes == ()
    fr = data.segments["country"]["fr"]
    assert (fr["control"].n, fr["treatment"].n, fr["treatment"].total("impressions")) == (1, 1, 5)
    assert sorted(data.segments["country"]) == ["(none)", "de", "fr"]
    with pytest.raises(PerUserFileError, match="no segment column"):
        _load(path, segments=("platform",))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty file"),
        ("user_id,clicks\nu1,3\n", r"header lacks column\(s\) variant"),
        ("user_id,variant,clicks,clicks\n", r"column\(s\) clicks appear more than once"),
        (
            "user_id,variant,clicks\nu1,control,3\nu2,control,abc\n",
            r"csv:3: column clicks: 'abc' is not a number",
        ),
        ("user_id,variant,clicks\nu1,control,\n", r"users.csv:2: column clicks: an empty value is not a number"),
        (
            "user_id,variant,clicks,impressions\nu1,control,3\n",
            r":2: expected 4 fields, got 3 \(column impr",
        ),
        ("user_id,variant,clicks\nu1,control,nan\n", r":2: column clicks: 'nan' must be a finite number >= 0"),
        ("user_id,variant,clicks\nu1,control,-1\n", r":2: column clicks: '-1' must be a finite number >= 0"),
        ("user_id,variant,clicks\nu1,,1\n", r":2: column variant: empty value"),
        ("user_id,variant,clicks\nu1,control,1\nu1,treatment,2\n", r":3: user_id 'u1' already appeared on line 2"),
    ],
)
def test_bad_files_name_line_and_column(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(PerUserFileError, match=message):
        read_per_user_file(_write(tmp_path, text), BUILTIN_COLUMNS)


def test_header_only_is_no_data(tmp_path: Path) -> None:
    with pytest.raises(NoDataError, match="no user rows"):
        read_per_user_file(_write(tmp_path, "user_id,variant,clicks\n"), BUILTIN_COLUMNS)


def test_missing_file_and_broken_gzip(tmp_path: Path) -> None:
    with pytest.raises(PerUserFileError, match="cannot read"):
        read_per_user_file(tmp_path / "absent.csv", BUILTIN_COLUMNS)
    broken = tmp_path / "broken.csv.gz"
    broken.write_bytes(gzip.compress(GOOD_CSV.encode())[:40])
    with pytest.raises(PerUserFileError, match="cannot parse"):
        read_per_user_file(broken, BUILTIN_COLUMNS)


def test_per_user_file_source_has_no_days_or_quantiles(tmp_path: Path) -> None:
    data = PerUserFile(_write(tmp_path, GOOD_CSV)).load(AnalysisPlan("x"))
    assert data.daily == {} and data.quantiles == {}
    assert data.source.endswith("users.csv")


PLAN = AnalysisPlan(
    EXPERIMENT,
    secondary_metrics=("dwell_p50", "latency_p95"),
    guardrails=(GuardrailSpec("latency_p95"), GuardrailSpec("dwell_p90")),
    start=START,
)


@pytest.mark.integration
def test_event_store_source_moments_days_and_notes(loaded_store: EventStore) -> None:
    data = EventStoreSource(loaded_store, "test").load(PLAN)
    assert {arm: m.n for arm, m in data.arms.items()} == {"control": 2, "treatment": 2}
    treatment = data.arms["treatment"]
    assert treatment.columns == ("clicks", "impressions", "pre_clicks", "pre_impressions")  # ctr's: PLAN's only
    assert [treatment.total(c) for c in treatment.columns] == [3, 4, 0, 0]  # bob and carol
    assert [(d, m.n) for d, m in data.daily["control"]] == [(date(2026, 1, 10), 1), (date(2026, 1, 12), 1)]
    assert data.notes == (
        "1 user(s) were seen in more than one variant; each counts in the variant of their first exposure",
    )


@pytest.mark.integration
def test_clicks_the_client_attributed_are_counted_in_a_note(loaded_store: EventStore) -> None:
    """A click a serving process could not vouch for (it had not served the search) is marked `client` and
    named in the analysis' notes; server-attributed and unmarked clicks are not."""
    clicks = [e for e in hand_built_events() if isinstance(e, ClickEvent) and e.experiment == EXPERIMENT]
    unverified = clicks[-1].model_copy(update={"event_id": uuid.uuid4(), "attribution": "client"})
    before = EventStoreSource(loaded_store, "test").load(PLAN).notes
    loaded_store.insert_events([unverified])
    notes = EventStoreSource(loaded_store, "test").load(PLAN).notes
    assert not any("client's report" in n for n in before)
    assert re.fullmatch(
        r"1 of \d+ clicks \(\d+\.\d%\) reached a serving process that had not served their search: "
        r"their experiment and variant are the client's report, unverified",
        notes[-1],
    )


def _expected_quantile(values: dict[str, list[float]], p: float) -> QuantileStats:
    flat = [(user, v) for user, vs in values.items() for v in vs]
    return QuantileStats.from_values(np.array([v for _, v in flat]), np.array([u for u, _ in flat]), p)


@pytest.mark.integration
def test_event_store_quantiles_match_the_numpy_reference(loaded_store: EventStore) -> None:
    data = EventStoreSource(loaded_store, "test").load(PLAN)
    for arm in ("control", "treatment"):
        assert data.quantiles["dwell_p50"][arm] == _expected_quantile(DWELL_VALUES[arm], 0.5)
        assert data.quantiles["latency_p95"][arm] == _expected_quantile(LATENCY_VALUES[arm], 0.95)
        # a guardrail-only quantile gets the same statistics: its non-inferiority test needs the variance
        assert data.quantiles["dwell_p90"][arm] == _expected_quantile(DWELL_VALUES[arm], 0.9)


@pytest.mark.integration
def test_event_store_timeline_by_calendar_day_and_days_since_exposure(loaded_store: EventStore) -> None:
    """By hand from the hand-built events (ctr's columns): see tests/analysis/conftest.py."""
    data = EventStoreSource(loaded_store, "test").load(AnalysisPlan(EXPERIMENT, start=START))
    found = {
        (piece.view, piece.bucket, arm): (m.n, m.total("impressions"), m.total("clicks"))
        for piece in data.timeline
        for arm, m in piece.arms.items()
    }
    assert found == {
        ("calendar", date(2026, 1, 10), "control"): (1, 3, 1),
        ("calendar", date(2026, 1, 10), "treatment"): (1, 2, 2),
        ("calendar", date(2026, 1, 11), "control"): (1, 3, 1),
        ("calendar", date(2026, 1, 11), "treatment"): (2, 3, 2),
        ("calendar", date(2026, 1, 12), "control"): (2, 5, 1),
        ("calendar", date(2026, 1, 12), "treatment"): (2, 4, 3),
        ("exposure_day", 0, "control"): (1, 3, 1),
        ("exposure_day", 0, "treatment"): (2, 3, 2),
        ("exposure_day", 1, "control"): (1, 0, 0),
    }
    last = next(p for p in data.timeline if p.bucket == date(2026, 1, 12))
    for arm in ("control", "treatment"):
        assert last.arms[arm].product("clicks", "impressions") == pytest.approx(
            data.arms[arm].product("clicks", "impressions")
        )


@pytest.mark.integration
def test_unknown_experiment_and_empty_store_are_no_data(store: EventStore) -> None:
    with pytest.raises(NoDataError, match="no events logged yet"):
        EventStoreSource(_Unmigrated(store), "test").load(PLAN)
    with pytest.raises(NoDataError, match="'nope' has no exposed users"):
        EventStoreSource(store, "test").load(AnalysisPlan("nope", start=START))


class _Unmigrated:
    """The same server seen through a database that was never migrated."""

    database = "never_migrated"

    def __init__(self, store: EventStore) -> None:
        self.query = store.query


@pytest.mark.integration
def test_quantile_guardrails_get_a_calendar_timeline(loaded_store: EventStore) -> None:
    """latency_p95 up to the end of each day (tests/analysis/conftest.py: LATENCY_VALUES by day)."""
    plan = AnalysisPlan(EXPERIMENT, guardrails=(GuardrailSpec("latency_p95"),), start=START)
    data = EventStoreSource(loaded_store, "test").load(plan)
    found = {
        (piece.bucket, arm): (stats.n, stats.quantile)
        for piece in data.timeline
        for arm, stats in piece.quantiles.get("latency_p95", {}).items()
        if stats.n_events
    }
    assert found == {
        (date(2026, 1, 10), "control"): (1, 100.0),
        (date(2026, 1, 10), "treatment"): (1, 300.0),
        (date(2026, 1, 11), "control"): (1, 120.0),
        (date(2026, 1, 11), "treatment"): (2, 300.0),
        (date(2026, 1, 12), "control"): (2, 120.0),
        (date(2026, 1, 12), "treatment"): (2, 300.0),
    }
    assert all(piece.view == "calendar" for piece in data.timeline if piece.quantiles)
