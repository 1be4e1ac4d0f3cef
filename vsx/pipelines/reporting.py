"""Analysis steps of the loop and of the server: an experiment's results + report, and its click pairs.

Thin wrappers over what `vsx analyze` and `vsx export-pairs` do, so the demo, the commands and
`vsx serve`'s report refresh (`report_refresh.py`) share one code path.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path

from analysis import Results, write_pairs
from analysis.pairs import PooledPairs, pooled_click_pairs
from vsx.pipelines.analysis import analyze_experiment, open_event_store, write_outputs
from vsx.settings import Settings

PAIRS_MIN_DWELL_MS = 5_000.0
"""Satisfied clicks only: the simulator's relevant results hold users ~12 s, irrelevant ones ~2.5 s."""


def report_experiment(settings: Settings, name: str, *, source: str | None = None) -> tuple[Results, Path]:
    """Analyse `name` from the event store; write results.json and report.html under `reports_dir/name`."""
    results = analyze_experiment(settings, name, source)
    out = settings.reports_dir / name
    write_outputs(results, out, settings.reports_dir)
    return results, out / "report.html"


def export_pooled_pairs(
    settings: Settings, experiments: Sequence[str], *, held_out_images: Collection[str], source: str, out_name: str
) -> tuple[Path, PooledPairs]:
    """Satisfied, position-debiased click pairs of `experiments`, none touching `held_out_images`, as JSONL
    `data_dir/pairs/<out_name>.jsonl`; returns the path and what was pooled and held out."""
    store, _ = open_event_store(settings, source)
    with store:
        pooled = pooled_click_pairs(
            store, experiments, held_out_images=held_out_images, min_dwell_ms=PAIRS_MIN_DWELL_MS, ipw=True
        )
    return write_pairs(pooled.pairs, settings.data_dir / "pairs" / f"{out_name}.jsonl"), pooled
