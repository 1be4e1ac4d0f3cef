"""The metric YAML contract: one file holds a version and a list of metric definitions.

```yaml
version: 1
metrics:
  - name: top3_ctr
    description: Clicks on the first three results per impression there
    owner: search-relevance
    type: ratio                       # proportion | mean | ratio | quantile
    numerator: {event: click, filters: [{column: position, op: "<=", value: 3}]}
    denominator: {event: impression, filters: [{column: position, op: "<=", value: 3}]}
    direction: higher_is_better       # higher_is_better | lower_is_better | neutral
    format: percent
```

What is counted per user is a *measure*: the events of one type (`event`), optionally filtered on event columns
or on the user attributes a search carries (`filters`), aggregated per user as `count` (events, deduplicated by
event id), `sum` of a numeric `column`, `count_distinct` of a `column`, or `any` (1 if the user has such an
event, else 0). A `mean` averages a measure over users, a `proportion` is the share of users with `any` such
event, a `ratio` divides two measures' totals (CTR = clicks / impressions), a `quantile` is the `level`
quantile of a numeric `column` over the events (latency p95). `window_hours` counts only events within that
many hours of each user's first exposure (default: the whole experiment). `capping` bounds each user's value
before the statistics (`percentile: 0.999` of the pooled arms' per-user values, or a fixed `value`).
`pre_period` names the CUPED covariate: `same` (this metric before the experiment), `none`, or another metric
of the same type. `per_user_column` names the measure's column in a per-user CSV (and in the SQL output).

Every model forbids unknown keys, so a typo fails instead of falling back to a default. What needs more than
one field (columns of an event type, filters against column types, names across files) is checked in
`analysis.metric_files`, which knows the lines. Version 1 is the only version; a change is a new version.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

METRIC_SCHEMA_VERSION = 1

NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
Name = Annotated[str, Field(min_length=1, max_length=64, pattern=NAME_PATTERN)]
MetricType = Literal["proportion", "mean", "ratio", "quantile"]
Aggregate = Literal["count", "sum", "count_distinct", "any"]
FilterOp = Literal["=", "!=", "<", "<=", ">", ">=", "in", "not in"]
Direction = Literal["higher_is_better", "lower_is_better", "neutral"]
Format = Literal["number", "percent"]
Scalar = Annotated[str, Field(max_length=256)] | float | int


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FilterSpec(_Model):
    """Keep an event when its `column` (or the user `attribute` a search carries) compares to `value` by `op`."""

    column: Name | None = None
    attribute: Name | None = None
    op: FilterOp = "="
    value: Scalar | Annotated[tuple[Scalar, ...], Field(min_length=1, max_length=100)]

    @model_validator(mode="after")
    def _one_target(self) -> FilterSpec:
        if (self.column is None) == (self.attribute is None):
            raise ValueError("a filter names exactly one of `column` or `attribute`")
        if (self.op in ("in", "not in")) != isinstance(self.value, tuple):
            raise ValueError(f"op {self.op!r} needs {'a list' if self.op in ('in', 'not in') else 'a single'} value")
        return self


class MeasureSpec(_Model):
    """What is counted per user: events of `event`, filtered, aggregated (see the module docstring)."""

    event: Name
    aggregate: Aggregate | None = None
    column: Name | None = None
    filters: tuple[FilterSpec, ...] = Field(default=(), max_length=20)
    per_user_column: Name | None = None


class CappingSpec(_Model):
    """Each user's value capped at the `percentile` of all exposed users' values (both arms pooled), or at `value`."""

    percentile: float | None = Field(default=None, gt=0, le=1)
    value: float | None = Field(default=None, gt=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _one_kind(self) -> CappingSpec:
        if (self.percentile is None) == (self.value is None):
            raise ValueError("capping takes exactly one of `percentile` (in (0, 1]) or `value` (> 0)")
        return self


class MetricSpec(_Model):
    """One metric definition."""

    name: Name
    description: str = ""
    owner: str = ""
    type: MetricType
    measure: MeasureSpec | None = None
    numerator: MeasureSpec | None = None
    denominator: MeasureSpec | None = None
    level: float | None = Field(default=None, gt=0, lt=1)
    window_hours: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    direction: Direction
    capping: CappingSpec | None = None
    unit: Annotated[str, Field(max_length=16)] = ""
    format: Format = "number"
    pre_period: Name = "same"


class MetricFile(_Model):
    """One `metrics/*.yaml` file."""

    version: Literal[1]
    metrics: tuple[MetricSpec, ...] = Field(min_length=1)
