"""What to analyse: the experiment definition as plain values, so `analysis` never imports `experiments`.

`vsx analyze` builds an `AnalysisPlan` from the experiment YAML (or from command-line flags for a
per-user file); `analyze()` reads nothing else. Times are UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Literal

Correction = Literal["holm", "bh"]
ExperimentType = Literal["ab", "interleaving"]


@dataclass(frozen=True)
class GuardrailSpec:
    """A bound on a metric's absolute value per arm (`max` and/or `min`)."""

    metric: str
    max: float | None = None
    min: float | None = None


@dataclass(frozen=True)
class AnalysisPlan:
    """The experiment as the analysis needs it.

    `weights` are the designed traffic shares per variant (the SRM test's expectation); `None` means
    equal shares over the variants found in the data. `start` splits pre-period (CUPED covariates) from
    the experiment; `pre_period_days` bounds how far back the pre-period reaches (`None`: all history).
    `experiment_type` "interleaving" adds the ranker-preference row and skips the SRM check (every user
    sees both rankers, so there is no split to check).
    """

    experiment: str
    control: str = "control"
    primary_metric: str = "ctr"
    secondary_metrics: tuple[str, ...] = ()
    guardrails: tuple[GuardrailSpec, ...] = ()
    weights: Mapping[str, float] | None = None
    alpha: float = 0.05
    correction: Correction = "holm"
    sequential: bool = False
    start: datetime | None = None
    end: datetime | None = None
    pre_period_days: int | None = None
    status: str | None = None
    experiment_type: ExperimentType = "ab"
    metrics: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        if self.weights is not None:
            object.__setattr__(self, "weights", MappingProxyType(dict(self.weights)))
        ordered = dict.fromkeys((self.primary_metric, *self.secondary_metrics))
        object.__setattr__(self, "metrics", tuple(ordered))
