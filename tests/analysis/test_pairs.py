"""Click-pair export: satisfied clicks, no self-pairs, deduplicated and aggregated, optional IPW, files."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest

from analysis import AnalysisPlanError, ClickPairRow, NoDataError, click_pairs, position_propensities, write_pairs
from analysis.pairs import pooled_click_pairs
from event_logging.schema import BaseEvent, ClickEvent, DwellEvent, ImpressionEvent
from event_logging.store import EventStore
from tests.analysis.conftest import EXPERIMENT


@pytest.mark.integration
def test_satisfied_clicks_without_self_pairs(loaded_store: EventStore) -> None:
    """alice q1→r2 (pos 2, 5 s, clicked twice = one event), bob q1→r1 (pos 1, 3 s) and q1→r2 (pos 2, 1 s);
    carol's q2→q2 is a self-click."""
    pairs = click_pairs(loaded_store, EXPERIMENT, min_dwell_ms=2000)
    assert pairs == [
        ClickPairRow("q1", "r1", weight=1.0, clicks=1, position=1.0, dwell_ms=3000.0, experiment=EXPERIMENT),
        ClickPairRow("q1", "r2", weight=1.0, clicks=1, position=2.0, dwell_ms=5000.0, experiment=EXPERIMENT),
    ]
    everything = click_pairs(loaded_store, EXPERIMENT, min_dwell_ms=0)
    assert everything[0] == ClickPairRow(
        "q1", "r2", 2.0, clicks=2, position=2.0, dwell_ms=3000.0, experiment=EXPERIMENT
    )
    assert [(p.query_image_id, p.result_image_id) for p in everything] == [("q1", "r2"), ("q1", "r1")]


@pytest.mark.integration
def test_pooled_pairs_drop_and_count_held_out_images(loaded_store: EventStore) -> None:
    """A test or validation image in a pair, query or result, keeps the pair out of training."""
    pooled = pooled_click_pairs(loaded_store, [EXPERIMENT, "no-traffic", EXPERIMENT], held_out_images={"r1"},
                                min_dwell_ms=2000)  # fmt: skip
    assert [(p.query_image_id, p.result_image_id, p.experiment) for p in pooled.pairs] == [("q1", "r2", EXPERIMENT)]
    assert (pooled.held_out, pooled.empty) == ({EXPERIMENT: 1}, ["no-traffic"])
    with pytest.raises(NoDataError, match="no satisfied click pairs on training images"):
        pooled_click_pairs(loaded_store, [EXPERIMENT], held_out_images={"q1"}, min_dwell_ms=2000)
    with pytest.raises(AnalysisPlanError, match="at least one experiment"):
        pooled_click_pairs(loaded_store, [])


@pytest.mark.integration
def test_no_satisfied_click_is_no_data(loaded_store: EventStore) -> None:
    with pytest.raises(NoDataError, match="no clicks with dwell >= 60000 ms"):
        click_pairs(loaded_store, EXPERIMENT, min_dwell_ms=60_000)
    with pytest.raises(NoDataError, match="no clicks at position 1"):
        position_propensities(loaded_store, "nope")


def _position_bias_events() -> list[BaseEvent]:
    """Four requests showing x_k at position 1 and ra at 2: CTR 2/4 at position 1, 1/4 at position 2."""
    events: list[BaseEvent] = []
    for k in range(4):
        common = dict(request_id=f"pb{k}", user_id="u", experiment="pairs", variant="control", query_image_id="qa",
                      ts=datetime(2026, 2, 1, 10, k, tzinfo=UTC))  # fmt: skip
        events += [ImpressionEvent(**common, result_image_id=f"x{k}", position=1, score=1.0)]
        events += [ImpressionEvent(**common, result_image_id="ra", position=2, score=0.5)]
        clicked = (f"x{k}", 1) if k < 2 else ("ra", 2) if k == 2 else None
        if clicked:
            events += [ClickEvent(**common, result_image_id=clicked[0], position=clicked[1])]
            events += [DwellEvent(**common, result_image_id=clicked[0], position=clicked[1], dwell_ms=3000)]
    return events


@pytest.mark.integration
def test_inverse_propensity_weights(store: EventStore) -> None:
    store.insert_events(_position_bias_events())
    assert position_propensities(store, "pairs") == {1: 1.0, 2: 0.5}
    assert position_propensities(store, "pairs", clip=0.8) == {1: 1.0, 2: 0.8}
    pairs = click_pairs(store, "pairs", ipw=True)
    assert [(p.result_image_id, p.weight, p.clicks) for p in pairs] == [("ra", 2.0, 1), ("x0", 1.0, 1), ("x1", 1.0, 1)]


@pytest.mark.integration
def test_propensities_are_clipped(loaded_store: EventStore) -> None:
    """Position 3 was shown once and never clicked: CTR 0, clipped to the floor; position 2 above 1 → 1."""
    assert position_propensities(loaded_store, EXPERIMENT) == {1: 1.0, 2: 1.0, 3: 0.1}


PAIRS = [ClickPairRow("q1", "r2", 2.5, 2, 1.5, 2500.0, "exp1"), ClickPairRow("q2", "r9", 1.0, 1, 3.0, 4000.0)]


def test_write_jsonl_and_parquet(tmp_path: Path) -> None:
    jsonl = write_pairs(PAIRS, tmp_path / "out" / "pairs.jsonl")
    lines = [orjson.loads(line) for line in jsonl.read_bytes().splitlines()]
    assert lines[0] == {"query_image_id": "q1", "result_image_id": "r2", "weight": 2.5, "clicks": 2,
                        "position": 1.5, "dwell_ms": 2500.0, "experiment": "exp1"}  # fmt: skip
    parquet = write_pairs(PAIRS, tmp_path / "pairs.parquet")
    table = pq.read_table(parquet)
    assert table.column_names == [
        "query_image_id", "result_image_id", "weight", "clicks", "position", "dwell_ms", "experiment"
    ]  # fmt: skip
    assert table.to_pylist()[1] == lines[1] | {"query_image_id": "q2"}
    assert not list(tmp_path.glob("**/*.tmp"))


def test_unknown_suffix_and_bad_clip_are_refused(tmp_path: Path) -> None:
    with pytest.raises(AnalysisPlanError, match=r"\.jsonl or \.parquet"):
        write_pairs(PAIRS, tmp_path / "pairs.csv")
    with pytest.raises(AnalysisPlanError, match="clip"):
        position_propensities(None, "exp", clip=0)  # type: ignore[arg-type]
