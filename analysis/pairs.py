"""Click pairs for retraining: which catalog image users chose for which query image, and how much it counts.

A satisfied click (dwell >= `min_dwell_ms`) on result r for query image q says r looks like what the
user wanted; repeated clicks of one pair add up. Clicks on top positions are inflated by examination
bias (users look at position 1 far more than at position 10), so `ipw=True` weights each click by the
inverse of its position's examination propensity, estimated from the same logs as CTR at the position
relative to position 1 (Joachims et al. 2017, "Unbiased Learning-to-Rank with Biased Feedback", with
this simple estimator), clipped so rare deep clicks cannot dominate. Output files are what
`search_core`'s `read_pairs` reads: JSONL or Parquet with query_image_id, result_image_id, weight
(plus clicks, position, dwell_ms, and the experiment the clicks were logged in).

`pooled_click_pairs` pools several experiments (each with its own position propensities: layouts and
rankers differ) and drops every pair that touches a held-out image — the catalog's query (test) and
validation splits, which no click may carry into training — counting what it dropped per experiment.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from analysis import queries
from analysis.errors import AnalysisPlanError, NoDataError
from analysis.sources.sql import QueryStore, require_events_table
from config_files.atomic import atomic_path

logger = logging.getLogger(__name__)

DEFAULT_MIN_DWELL_MS = 2000.0
DEFAULT_PROPENSITY_CLIP = 0.1
"""Lowest propensity used: a click weighs at most 10 (the usual clipping against variance blow-up)."""


@dataclass(frozen=True)
class ClickPairRow:
    """One (query image, result image) pair of one experiment: summed weight, click count, mean position and dwell."""

    query_image_id: str
    result_image_id: str
    weight: float
    clicks: int
    position: float
    dwell_ms: float
    experiment: str | None = None


@dataclass(frozen=True)
class PooledPairs:
    """Pairs of several experiments (one row per experiment and pair) and what was held out of them."""

    pairs: list[ClickPairRow]
    held_out: dict[str, int]
    """Per experiment: pairs dropped because their query or result is a held-out (test or validation) image."""
    empty: list[str]
    """Experiments without a satisfied click (nothing to pool)."""


def position_propensities(
    store: QueryStore, experiment: str, *, clip: float = DEFAULT_PROPENSITY_CLIP
) -> dict[int, float]:
    """Examination propensity per position: CTR(p) / CTR(1), clipped to [clip, 1].

    Raises `NoDataError` when position 1 has no clicks (nothing to be relative to).
    """
    if not 0 < clip <= 1:
        raise AnalysisPlanError(f"propensity clip must be in (0, 1], got {clip}")
    require_events_table(store, "event")
    rows = store.query(queries.position_ctr_sql(store.database), {"experiment": experiment})
    ctr = {int(position): clicks / impressions for position, impressions, clicks in rows if impressions}
    if not ctr.get(1):
        raise NoDataError(f"experiment {experiment!r} has no clicks at position 1: cannot estimate position bias")
    return {position: min(max(value / ctr[1], clip), 1.0) for position, value in sorted(ctr.items())}


def click_pairs(
    store: QueryStore,
    experiment: str,
    *,
    min_dwell_ms: float = DEFAULT_MIN_DWELL_MS,
    ipw: bool = False,
    clip: float = DEFAULT_PROPENSITY_CLIP,
) -> list[ClickPairRow]:
    """Deduplicated satisfied click pairs of an experiment, heaviest first."""
    require_events_table(store, "event")
    weights: Mapping[int, float] = {}
    default_weight = 1.0
    if ipw:
        propensities = position_propensities(store, experiment, clip=clip)
        weights = {position: 1.0 / p for position, p in propensities.items()}
        default_weight = 1.0 / clip  # a position never shown with a click is as deep as it gets
        logger.info("position weights: %s", {p: round(w, 3) for p, w in weights.items()})
    positions = sorted(weights)
    rows = store.query(
        queries.click_pairs_sql(store.database),
        {
            "experiment": experiment,
            "min_dwell_ms": float(min_dwell_ms),
            "positions": positions or [0],
            "weights": [float(weights[p]) for p in positions] or [default_weight],
            "default_weight": float(default_weight),
        },
    )
    if not rows:
        raise NoDataError(f"experiment {experiment!r} has no clicks with dwell >= {min_dwell_ms:g} ms to export")
    return [
        ClickPairRow(str(q), str(r), float(weight), int(clicks), float(position), float(dwell), experiment)
        for q, r, clicks, weight, position, dwell in rows
    ]


def pooled_click_pairs(
    store: QueryStore,
    experiments: Sequence[str],
    *,
    held_out_images: Collection[str] = frozenset(),
    min_dwell_ms: float = DEFAULT_MIN_DWELL_MS,
    ipw: bool = False,
    clip: float = DEFAULT_PROPENSITY_CLIP,
) -> PooledPairs:
    """`click_pairs` of every experiment in turn, without pairs touching `held_out_images` (counted).

    An experiment without satisfied clicks is listed in `empty`; `NoDataError` when none has any.
    """
    if not experiments:
        raise AnalysisPlanError("pooling click pairs needs at least one experiment")
    held = frozenset(held_out_images)
    pairs: list[ClickPairRow] = []
    held_out: dict[str, int] = {}
    empty: list[str] = []
    for experiment in dict.fromkeys(experiments):  # each once, in the order given
        try:
            rows = click_pairs(store, experiment, min_dwell_ms=min_dwell_ms, ipw=ipw, clip=clip)
        except NoDataError as exc:
            logger.warning("pooling click pairs: %s", exc)
            empty.append(experiment)
            continue
        kept = [p for p in rows if p.query_image_id not in held and p.result_image_id not in held]
        held_out[experiment] = len(rows) - len(kept)
        pairs += kept
    if not pairs:
        raise NoDataError(f"no satisfied click pairs on training images in {', '.join(experiments)}")
    logger.info("pooled %d click pairs from %d experiments; held out %d touching test or validation images",
                len(pairs), len(held_out), sum(held_out.values()))  # fmt: skip
    return PooledPairs(pairs, held_out, empty)


def check_pairs_path(path: Path) -> Path:
    """The output path if its suffix names a format we write (checked before any query runs)."""
    path = Path(path)
    if path.suffix not in (".jsonl", ".parquet"):
        raise AnalysisPlanError(f"pairs file must end in .jsonl or .parquet, got {path.name!r}")
    return path


def write_pairs(pairs: Sequence[ClickPairRow], path: Path) -> Path:
    """Write `.jsonl` (one JSON object per line) or `.parquet`, atomically (`config_files.atomic`)."""
    path = check_pairs_path(path)
    records = [asdict(p) for p in pairs]
    with atomic_path(path) as tmp:
        if path.suffix == ".jsonl":
            tmp.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
        else:
            pq.write_table(pa.Table.from_pylist(records, schema=_SCHEMA), tmp)
    logger.info("wrote %d click pairs to %s", len(pairs), path)
    return path


_SCHEMA = pa.schema(
    [
        ("query_image_id", pa.string()),
        ("result_image_id", pa.string()),
        ("weight", pa.float64()),
        ("clicks", pa.int64()),
        ("position", pa.float64()),
        ("dwell_ms", pa.float64()),
        ("experiment", pa.string()),
    ]
)
