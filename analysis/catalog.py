"""The metric catalogue: every metric an analysis can compute, built from checked YAML definitions.

`builtin_catalog()` holds the eleven shipped metrics (`analysis/builtin_metrics.yaml`); `load_catalog(folder)`
adds a team's `metrics/*.yaml` (`analysis.metric_files` checks them). Experiments name metrics; an
`AnalysisPlan` carries the catalogue its names refer to, so SQL generation, the stats engine and the report read
the same definitions and no metric name is special-cased in code.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from analysis.errors import UndefinedMetricError
from analysis.measures import Capping, Filter, Measure
from analysis.metric_schema import MeasureSpec, MetricSpec
from analysis.metrics import About, MeanMetric, Metric, QuantileMetric, RatioMetric


@dataclass(frozen=True, eq=False)
class MetricCatalog:
    """Metrics by name, with the definitions and the files they came from (for `vsx metrics show`)."""

    metrics: Mapping[str, Metric]
    specs: Mapping[str, MetricSpec] = field(default_factory=dict)
    files: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("metrics", "specs", "files"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))

    def get(self, name: str) -> Metric:
        """The metric, or an error listing every known name."""
        try:
            return self.metrics[name]
        except KeyError:
            raise UndefinedMetricError(f"unknown metric {name!r} (known: {', '.join(sorted(self.metrics))})") from None

    def __contains__(self, name: object) -> bool:
        return name in self.metrics

    def __iter__(self) -> Iterator[str]:
        return iter(self.metrics)

    def __len__(self) -> int:
        return len(self.metrics)

    @property
    def builtin(self) -> tuple[str, ...]:
        """Names of the shipped metrics (defined in the package, not in a metrics folder)."""
        return tuple(name for name, file in self.files.items() if file.startswith("analysis/"))

    def directions(self) -> dict[str, str]:
        """Metric name → direction: what experiment validation needs (a neutral metric cannot decide)."""
        return {name: metric.direction for name, metric in self.metrics.items()}


def spec_filters(spec: MeasureSpec) -> tuple[Filter, ...]:
    return tuple(
        Filter(f.op, tuple(f.value) if isinstance(f.value, tuple) else f.value, column=f.column, attribute=f.attribute)
        for f in spec.filters
    )


def measure_fields(spec: MetricSpec, part: str) -> dict[str, Any]:
    """The `Measure` fields of one part ("measure", "numerator", "denominator") of a metric spec.

    Names default to the metric's (`ctr_numerator`); a quantile's measure counts its events (its column is the
    metric's, `QuantileMetric.column`); the window is the metric's, in milliseconds.
    """
    measure: MeasureSpec = getattr(spec, part)
    fields: dict[str, Any] = {
        "name": measure.per_user_column or (spec.name if part == "measure" else f"{spec.name}_{part}"),
        "event": measure.event,
        "aggregate": measure.aggregate or ("any" if spec.type == "proportion" else "count"),
        "column": measure.column,
        "filters": spec_filters(measure),
        "window_ms": None if spec.window_hours is None else round(spec.window_hours * 3_600_000),
    }
    if spec.type == "quantile":
        fields.update(name=f"{spec.name}_values", aggregate="count", column=None)
    return fields


def spec_measures(spec: MetricSpec) -> dict[str, Measure]:
    """Part → runtime measure (raises ValueError on anything the events table cannot answer)."""
    return {
        part: Measure(**measure_fields(spec, part))
        for part in ("measure", "numerator", "denominator")
        if getattr(spec, part) is not None
    }


def build_metric(spec: MetricSpec, covariate: Metric | None) -> Metric:
    """The runtime metric of a checked spec; `covariate` is the metric whose pre-period measures CUPED uses."""
    about = About(spec.direction, spec.unit, spec.format, spec.description, spec.owner)
    capping = None
    if spec.capping is not None:
        kind = "percentile" if spec.capping.percentile is not None else "value"
        capping = Capping(kind, spec.capping.percentile or spec.capping.value or 0.0)  # type: ignore[arg-type]
    measures = spec_measures(spec)
    if spec.type == "quantile":
        assert spec.measure is not None and spec.measure.column is not None and spec.level is not None
        return QuantileMetric(spec.name, measures["measure"], spec.measure.column, spec.level, about)
    if spec.type == "ratio":
        pair = None
        if isinstance(covariate, RatioMetric):
            pair = (covariate.numerator, covariate.denominator)
        return RatioMetric(spec.name, measures["numerator"], measures["denominator"], about, capping, pair)
    pre = covariate.measure if isinstance(covariate, MeanMetric) else None
    return MeanMetric(spec.name, measures["measure"], about, capping, pre, kind=spec.type)
