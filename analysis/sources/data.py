"""What a source hands to `analyze`: per-arm moments, per-day moments, quantile statistics, notes.

Every source (ClickHouse, chdb, a per-user file) reduces an experiment to this, so `analyze` is the
same whatever the data came from, and nothing larger than one row per arm and day reaches Python
from SQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from analysis.moments import Moments
from analysis.plan import AnalysisPlan
from analysis.stats import QuantileStats


@dataclass(frozen=True, eq=False)
class ExperimentData:
    """An experiment's data, by arm.

    `arms`: moments of all users of each arm. `daily`: each arm's moments by day of first exposure
    (empty for a per-user file). `quantiles`: metric → arm → statistics for quantile metrics of the
    plan; `quantile_values`: metric → arm → the quantile alone (guardrails need no variance), None for an
    arm without values. `notes`: what the reader should know (columns absent, users in several arms).
    """

    source: str
    arms: Mapping[str, Moments]
    daily: Mapping[str, tuple[tuple[date, Moments], ...]] = field(default_factory=dict)
    quantiles: Mapping[str, Mapping[str, QuantileStats]] = field(default_factory=dict)
    quantile_values: Mapping[str, Mapping[str, float | None]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        """Per-user columns present (the same in every arm)."""
        return next(iter(self.arms.values())).columns if self.arms else ()


class Source(Protocol):
    """Anything that turns an analysis plan into `ExperimentData`."""

    label: str

    def load(self, plan: AnalysisPlan) -> ExperimentData: ...
