"""Analysis steps of the loop and of the server: an experiment's results + report, and its click pairs.

Thin wrappers over what `vsx analyze` and `vsx export-pairs` do, so the demo, the commands and
`vsx serve`'s report refresh (`report_refresh.py`) share one code path.
"""

from __future__ import annotations

from pathlib import Path

from analysis import Results, click_pairs, write_pairs
from vsx.pipelines.analysis import analyze_experiment as analyze_named
from vsx.pipelines.analysis import open_event_store, write_outputs
from vsx.settings import Settings

PAIRS_MIN_DWELL_MS = 5_000.0
"""Satisfied clicks only: the simulator's relevant results hold users ~12 s, irrelevant ones ~2.5 s."""


def analyze_experiment(settings: Settings, name: str, *, source: str | None = None) -> tuple[Results, Path]:
    """Analyse `name` from the event store; write results.json and report.html under `reports_dir/name`."""
    results = analyze_named(settings, name, source)
    out = settings.reports_dir / name
    write_outputs(results, out, settings.reports_dir)
    return results, out / "report.html"


def export_experiment_pairs(settings: Settings, name: str, *, source: str) -> Path:
    """Satisfied, position-debiased click pairs of `name` as JSONL under `data_dir/pairs/`."""
    store, _ = open_event_store(settings, source)
    with store:
        pairs = click_pairs(store, name, min_dwell_ms=PAIRS_MIN_DWELL_MS, ipw=True)
    return write_pairs(pairs, settings.data_dir / "pairs" / f"{name}.jsonl")
