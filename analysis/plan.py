"""What to analyse: the experiment definition as plain values, so `analysis` never imports `experiments`.

`vsx analyze` builds an `AnalysisPlan` from the experiment YAML (or from command-line flags for a
per-user file); `analyze()` reads nothing else. Times are UTC. The plan carries the metric catalogue its names
refer to (the built-in metrics unless the caller loaded a team's definitions).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from analysis.catalog import MetricCatalog

Correction = Literal["holm", "bh"]
ExperimentType = Literal["ab", "interleaving", "holdout"]
Engine = Literal["frequentist", "bayesian"]

DEFAULT_GUARDRAIL_MARGIN = 0.10
"""Relative non-inferiority margin of a guardrail that names none (settings may override it)."""
DEFAULT_PRE_PERIOD_DAYS = 14
"""How far before the start CUPED's covariate reaches: recent behaviour predicts the experiment window."""


@dataclass(frozen=True)
class GuardrailSpec:
    """A non-inferiority test of `metric` against control: worse by at most `margin` (relative, > 0)."""

    metric: str
    margin: float = DEFAULT_GUARDRAIL_MARGIN


@dataclass(frozen=True)
class BayesianOptions:
    """The Bayesian engine's prior and decision thresholds (GrowthBook's defaults).

    The prior is on the relative lift: flat (improper) unless `proper`, then Normal(`prior_mean`,
    `prior_stddev`²). A treatment ships when its chance to beat control in the metric's good direction reaches
    `chance_to_win` and its risk (expected relative loss if shipped and wrong) is at most `max_risk`; it does not
    ship when its chance to win is at most 1 − `chance_to_win`.
    """

    proper: bool = False
    prior_mean: float = 0.0
    prior_stddev: float = 0.3
    chance_to_win: float = 0.95
    max_risk: float = 0.0025


def _builtin() -> MetricCatalog:
    from analysis.metric_files import builtin_catalog

    return builtin_catalog()


@dataclass(frozen=True)
class AnalysisPlan:
    """The experiment as the analysis needs it.

    `weights` are the designed traffic shares per variant (the SRM test's expectation); `None` means
    equal shares over the variants found in the data. `start` splits pre-period (CUPED covariates) from
    the experiment; `pre_period_days` bounds how far back the pre-period reaches (`None`: all history).
    `experiment_type` "interleaving" adds the ranker-preference row and skips the SRM check (every user
    sees both rankers, so there is no split to check).

    Decision inputs: `mde` (relative) and `power` say what the experiment was sized for, so an inconclusive
    result can say how many more users it needs; `planned_users` (total, all arms) tunes the sequential
    test, which otherwise uses the users observed; below `min_users_per_arm` no recommendation is made.
    `correction` applies to secondary metrics; the primary metric's rows are their own family (Holm).
    `segments`: user attributes whose values at first exposure split the results (and are checked for a
    differential impact). `engine`: "bayesian" reports chance to win and risk instead of p-values, read with
    `bayesian`'s thresholds. `catalog`: the metric definitions the names refer to.
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
    pre_period_days: int | None = DEFAULT_PRE_PERIOD_DAYS
    status: str | None = None
    experiment_type: ExperimentType = "ab"
    mde: float | None = None
    power: float = 0.8
    planned_users: int | None = None
    min_users_per_arm: int = 0
    segments: tuple[str, ...] = ()
    engine: Engine = "frequentist"
    bayesian: BayesianOptions = field(default_factory=BayesianOptions)
    catalog: MetricCatalog = field(default_factory=_builtin, repr=False, compare=False)
    metrics: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        if self.weights is not None:
            object.__setattr__(self, "weights", MappingProxyType(dict(self.weights)))
        ordered = dict.fromkeys((self.primary_metric, *self.secondary_metrics))
        object.__setattr__(self, "metrics", tuple(ordered))

    @property
    def measured_metrics(self) -> tuple[str, ...]:
        """Every metric the data must provide: primary, secondaries, then guardrails."""
        return tuple(dict.fromkeys((*self.metrics, *(g.metric for g in self.guardrails))))
