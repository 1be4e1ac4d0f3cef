"""The results contract (`results.json`): what an analysis concluded, read by dashboards and other tools.

Relative fields are fractions (0.03 = +3 %). One row per (metric, non-control variant, method):
`delta` always; `cuped` whenever pre-period data exist; `sequential` when the experiment asks for it;
`interleaving` for interleaving experiments. Values that cannot be computed (no data, zero baseline)
are `null` with a `note`, never NaN.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Method = Literal["delta", "cuped", "sequential", "interleaving"]


class SrmResult(BaseModel):
    """Sample-ratio mismatch check: chi-square of users per arm against the designed split."""

    model_config = ConfigDict(extra="forbid")
    p_value: float | None
    observed: dict[str, int]
    expected: dict[str, float]
    ok: bool


class MetricResult(BaseModel):
    """One metric × non-control variant × method comparison against control."""

    model_config = ConfigDict(extra="forbid")
    metric: str
    variant: str
    method: Method
    control_mean: float | None
    treatment_mean: float | None
    abs_lift: float | None
    abs_ci_low: float | None
    abs_ci_high: float | None
    rel_lift: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    p_value_adjusted: float | None = None
    significant: bool = False
    n_control: int
    n_treatment: int
    variance_reduction: float | None = Field(default=None, description="CUPED: 1 - var_adjusted/var_unadjusted")
    note: str | None = Field(default=None, description="why a value is missing or how to read it")


class GuardrailResult(BaseModel):
    """A guardrail from the experiment YAML, evaluated per variant."""

    model_config = ConfigDict(extra="forbid")
    metric: str
    variant: str
    value: float | None
    max: float | None = None
    min: float | None = None
    ok: bool | None = Field(description="None when there is not enough data to tell")


class DailyPoint(BaseModel):
    """One day of a variant's exposure and cumulative primary-metric value, for the time-series plots."""

    model_config = ConfigDict(extra="forbid")
    date: str
    variant: str
    users: int = Field(description="users first exposed that day")
    cumulative_users: int
    cumulative_value: float | None = Field(description="primary metric, cumulative up to this day")


class OfflineMetrics(BaseModel):
    """Offline metrics of a variant's encoder and index (from the artifact manifests)."""

    model_config = ConfigDict(extra="forbid")
    variant: str
    encoder: str | None = None
    index: str | None = None
    metrics: dict[str, float] = Field(default_factory=dict)


class Results(BaseModel):
    """The whole `results.json` document."""

    model_config = ConfigDict(extra="forbid")
    experiment: str
    generated_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    alpha: float = 0.05
    correction: Literal["holm", "bh"] = "holm"
    control: str = "control"
    primary_metric: str = "ctr"
    srm: SrmResult
    results: list[MetricResult]
    guardrails: list[GuardrailResult] = Field(default_factory=list)
    daily: list[DailyPoint] = Field(default_factory=list)
    offline: list[OfflineMetrics] = Field(default_factory=list)
    status: str | None = Field(default=None, description="experiment status from its YAML, if known")
    source: str = Field(default="", description="where the data came from: clickhouse, embedded, or a CSV path")
    notes: list[str] = Field(default_factory=list, description="e.g. metrics left out because columns are absent")

    def write(self, path: Path) -> Path:
        """Write atomically: `*.tmp`, then `os.replace`, so readers never see half a file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(self.model_dump_json(indent=2))
        os.replace(tmp, path)
        return path

    @classmethod
    def read(cls, path: Path) -> Results:
        return cls.model_validate_json(Path(path).read_bytes())
