"""Which per-user columns an analysis needs: measures per period, capped twins, and the products metrics read.

Built from the plan's metrics, so the SQL (and a per-user file) computes exactly what the statistics read: each
measure once however many metrics share it (`clicks` serves CTR and clicks per user), the pre-period twin only
for metrics with a CUPED covariate, and only the pairs of columns some metric multiplies — not the k² of every
pair, which for ten metrics would be hundreds of sums.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from analysis.measures import Capping, Measure
from analysis.metrics import Metric, QuantileMetric, pre


@dataclass(frozen=True)
class CappedColumn:
    """A capped twin `name` of raw column `raw` (index into `ColumnPlan.raw`)."""

    name: str
    raw: int
    capping: Capping


@dataclass(frozen=True)
class ColumnPlan:
    """`raw`: (measure, period) pairs the per-user query computes, named `raw_names`; `capped`: capped twins;
    `columns`: every moment column (raw names, then capped names); `pairs`: index pairs into `columns` whose
    product sums are needed; `segments`: user attributes whose value at first exposure groups users."""

    raw: tuple[tuple[Measure, str], ...]
    capped: tuple[CappedColumn, ...]
    pairs: tuple[tuple[int, int], ...]
    segments: tuple[str, ...] = ()

    @property
    def raw_names(self) -> tuple[str, ...]:
        return tuple(m.name if period == "post" else pre(m.name) for m, period in self.raw)

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.raw_names, *(c.name for c in self.capped))

    @property
    def measures(self) -> tuple[Measure, ...]:
        return tuple(m for m, _ in self.raw)


def column_plan(metrics: Iterable[Metric], segments: Sequence[str] = (), *, pre_period: bool = True) -> ColumnPlan:
    """The columns and pairs of `metrics` (quantiles need none); `pre_period=False` leaves CUPED's columns out."""
    chosen = [m for m in metrics if not isinstance(m, QuantileMetric)]
    raw: dict[str, tuple[Measure, str]] = {}
    for metric in chosen:
        for measure in metric.measures:
            raw.setdefault(measure.name, (measure, "post"))
    if pre_period:
        for metric in chosen:
            for measure in metric.covariate_measures:
                raw.setdefault(pre(measure.name), (measure, "pre"))
    names = list(raw)
    capped: dict[str, CappedColumn] = {}
    for metric in chosen:
        if metric.capping is not None:
            for measure in metric.measures:
                name = metric.capping.column(measure.name)
                capped.setdefault(name, CappedColumn(name, names.index(measure.name), metric.capping))
    columns = [*names, *capped]
    pairs: dict[tuple[int, int], None] = {}
    for metric in chosen:
        for a, b in metric.pairs():
            if a in columns and b in columns:
                i, j = sorted((columns.index(a), columns.index(b)))
                pairs[(i, j)] = None
    return ColumnPlan(tuple(raw.values()), tuple(capped.values()), tuple(pairs), tuple(segments))
