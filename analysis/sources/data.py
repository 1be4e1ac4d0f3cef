"""What a source hands to `analyze`: per-arm moments, per-day and over-time moments, quantile statistics, notes.

Every source (ClickHouse, chdb, a per-user file) reduces an experiment to this, so `analyze` is the
same whatever the data came from, and nothing larger than one row per arm and bucket reaches Python
from SQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Literal, Protocol

from analysis.moments import Moments
from analysis.plan import AnalysisPlan
from analysis.stats import QuantileStats


@dataclass(frozen=True, eq=False)
class TimelineSlice:
    """Moments per arm (and quantile statistics: metric → arm) for one point of a lift-over-time view (see
    `analysis.results.TimelinePoint`)."""

    view: Literal["calendar", "exposure_day"]
    bucket: date | int
    arms: Mapping[str, Moments]
    quantiles: Mapping[str, Mapping[str, QuantileStats]] = field(default_factory=dict)


@dataclass(frozen=True)
class CapResult:
    """A capped per-user column: the cap applied (None: the percentile was 0, nothing capped) and how many of the
    exposed users were above it."""

    column: str
    value: float | None
    users_capped: int
    users: int


@dataclass(frozen=True, eq=False)
class ExperimentData:
    """An experiment's data, by arm.

    `arms`: moments of all users of each arm. `daily`: each arm's moments by day of first exposure
    (empty for a per-user file). `quantiles`: metric → arm → statistics for the plan's quantile metrics.
    `timeline`: moments of the over-time views (empty without events). `segments`: attribute → value → arm →
    moments of the users whose attribute had that value at first exposure. `caps`: capped column → its cap.
    `notes`: what the reader should know (columns absent, users in several arms).
    """

    source: str
    arms: Mapping[str, Moments]
    daily: Mapping[str, tuple[tuple[date, Moments], ...]] = field(default_factory=dict)
    quantiles: Mapping[str, Mapping[str, QuantileStats]] = field(default_factory=dict)
    timeline: tuple[TimelineSlice, ...] = ()
    segments: Mapping[str, Mapping[str, Mapping[str, Moments]]] = field(default_factory=dict)
    caps: Mapping[str, CapResult] = field(default_factory=dict)
    switched_users: int = 0
    notes: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        """Per-user columns present (the same in every arm)."""
        return next(iter(self.arms.values())).columns if self.arms else ()


class Source(Protocol):
    """Anything that turns an analysis plan into `ExperimentData`."""

    label: str

    def load(self, plan: AnalysisPlan) -> ExperimentData: ...
