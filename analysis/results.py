"""The results contract (`results.json`): what an analysis concluded, read by dashboards and other tools.

Schema version 3. Relative fields are fractions (0.03 = +3 %). One row per (metric, non-control variant,
method): `delta` always; `cuped` when both arms have pre-period data; `sequential` when the experiment asks
for it; `interleaving` for interleaving experiments. Each row carries one inference: with the frequentist
engine `p_value` tests the interval it shows (see `analysis.stats.comparison`); with the Bayesian engine
(`engine: "bayesian"`) the interval is the credible interval of the relative lift and the row carries
`chance_to_win` and `risk` instead of a p-value. The primary metric's rows form their own correction family
(`role`), and `ci_*_adjusted` is the interval that agrees with `p_value_adjusted`. `segments` repeats the rows per
value of each segment attribute (corrected across the values), with a differential-impact check for the
primary metric. Guardrails are non-inferiority tests; `decisions` holds one recommendation per treatment variant
with its reasons — the report's headline, the index and CI pipelines read it. `metrics` says how each metric
reads (direction, unit, format) and how it was capped. Values that cannot be computed are `null` with a `note`,
never NaN.

Versions 1 and 2 (before decisions; before segments, capping and the Bayesian engine) are not read: re-run the
analysis.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from analysis.errors import ResultsVersionError
from config_files.atomic import write_atomic

SCHEMA_VERSION: Final = 3

Method = Literal["delta", "cuped", "sequential", "interleaving"]
METHOD_PREFERENCE: tuple[Method, ...] = ("sequential", "cuped", "delta", "interleaving")
Role = Literal["primary", "secondary"]
Direction = Literal["higher_is_better", "lower_is_better", "neutral"]
"""Which way a metric is good; `neutral` metrics are reported but never decide."""
Recommendation = Literal["ship", "no_ship", "inconclusive", "invalid"]
Kind = Literal["ab", "interleaving", "holdout"]
Engine = Literal["frequentist", "bayesian"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CapInfo(_Model):
    """One capped per-user column of a metric: the cap and the share of exposed users it capped."""

    column: str
    value: float | None = Field(description="the cap applied; None when a percentile cap came out 0 (nothing capped)")
    share_capped: float | None = Field(description="exposed users whose value was above the cap, as a fraction")


class MetricInfo(_Model):
    """How to read one metric of the results: which way is good, its unit and format, its kind, its capping."""

    direction: Direction
    unit: str = Field(default="", description="unit of the arm values, e.g. 'ms'; '' for counts and shares")
    kind: Literal["mean", "proportion", "ratio", "quantile", "preference"]
    description: str = ""
    format: Literal["number", "percent"] = Field(default="number", description="how arm values read in reports")
    capping: str | None = Field(default=None, description="how per-user values are capped, e.g. 'at 60000'")
    caps: list[CapInfo] = Field(default_factory=list)


class SrmResult(_Model):
    """Sample-ratio mismatch check: chi-square of users per arm against the designed split."""

    p_value: float | None
    observed: dict[str, int]
    expected: dict[str, float]
    ok: bool
    checked: bool = Field(default=True, description="False when the design has no split to check (interleaving)")


class Risk(_Model):
    """Expected loss, in relative-lift units, of keeping control and of shipping the treatment (Bayesian engine)."""

    control: float
    treatment: float


class MetricResult(_Model):
    """One metric × non-control variant × method comparison against control."""

    metric: str
    variant: str
    method: Method
    role: Role = "secondary"
    control_mean: float | None
    treatment_mean: float | None
    abs_lift: float | None
    abs_ci_low: float | None
    abs_ci_high: float | None
    rel_lift: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None = Field(description="two-sided test of what `inference` names, whose interval is shown")
    p_value_abs: float | None = Field(default=None, description="two-sided test of the absolute difference")
    inference: Literal["relative", "absolute"] = "relative"
    p_value_adjusted: float | None = None
    ci_low_adjusted: float | None = Field(default=None, description="interval agreeing with p_value_adjusted")
    ci_high_adjusted: float | None = None
    significant: bool = False
    n_control: int
    n_treatment: int
    variance_reduction: float | None = Field(default=None, description="CUPED: 1 - var_adjusted/var_unadjusted")
    note: str | None = Field(default=None, description="why a value is missing or how to read it")
    engine: Engine = "frequentist"
    chance_to_win: float | None = Field(
        default=None, description="Bayesian: posterior probability that the treatment is better (metric's direction)"
    )
    risk: Risk | None = Field(default=None, description="Bayesian: expected relative loss of each choice")


class DifferentialImpact(_Model):
    """Does the effect in a segment differ from the effect in every other user? Normal test of the difference of
    the two relative lifts (disjoint users, so independent), corrected across every treatment and segment value of
    the primary metric (Holm); `flagged` when the corrected p-value is below alpha."""

    rest_rel_lift: float | None
    rest_ci_low: float | None
    rest_ci_high: float | None
    difference: float | None
    p_value: float | None
    p_value_adjusted: float | None = None
    flagged: bool = False


class SegmentResult(MetricResult):
    """A result row over the users whose `attribute` had value `segment` at first exposure."""

    attribute: str
    segment: str
    differential: DifferentialImpact | None = None


class GuardrailResult(_Model):
    """A guardrail's non-inferiority test against control for one treatment variant.

    `margin` is the declared relative tolerance (> 0). `estimate`, `bound` and `margin_on_scale` are on
    `scale` ("relative" fractions, or "absolute" values when the control is zero), signed as changes
    (treatment − control): `bound` is the one-sided (1 − α) bound in the bad direction, `margin_on_scale`
    the tolerated change in that direction. status: pass (non-inferior), fail (significantly worse and not
    shown within the margin), inconclusive.
    """

    metric: str
    variant: str
    method: Method
    direction: Direction
    margin: float
    scale: Literal["relative", "absolute"] | None
    margin_on_scale: float | None
    estimate: float | None
    bound: float | None
    p_value: float | None = Field(
        description="non-inferiority test (H0: worse by the margin or more); None if sequential"
    )
    status: Literal["pass", "fail", "inconclusive"]
    control_mean: float | None
    treatment_mean: float | None
    n_control: int
    n_treatment: int
    note: str | None = None


class Decision(_Model):
    """What to do with one treatment variant, by the rule in `analysis.decision`, and why."""

    variant: str
    recommendation: Recommendation
    reasons: list[str]
    users_needed: int | None = Field(
        default=None, description="more users (all arms) the planned MDE needs; None when not inconclusive or unknown"
    )


class DailyPoint(_Model):
    """Users first exposed on one UTC day in one variant (the exposure plot)."""

    date: str
    variant: str
    users: int


class BayesianDesign(_Model):
    """The Bayesian engine's prior on the relative lift and its decision thresholds."""

    prior: Literal["flat", "proper"] = "flat"
    prior_mean: float = 0.0
    prior_stddev: float = 0.3
    chance_to_win: float = Field(default=0.95, description="ship at or above this chance to win")
    max_risk: float = Field(default=0.0025, description="... and at or below this risk (relative loss)")


class TimelinePoint(_Model):
    """A metric's lift for one variant over time, with its interval.

    view "calendar": everything up to the end of `date` (users exposed by then, their events until then);
    view "exposure_day": events in the `day`-th 24 hours after each user's first exposure, over users whose
    `day`-th day is complete (novelty and learning effects show here).
    """

    metric: str
    variant: str
    view: Literal["calendar", "exposure_day"]
    date: str | None = None
    day: int | None = None
    method: Method
    n_control: int
    n_treatment: int
    control_value: float | None
    treatment_value: float | None
    rel_lift: float | None
    ci_low: float | None
    ci_high: float | None
    engine: Engine = "frequentist"


class OfflineMetrics(_Model):
    """Offline metrics of a variant's encoder and index (from the artifact manifests)."""

    variant: str
    encoder: str | None = None
    index: str | None = None
    metrics: dict[str, float] = Field(default_factory=dict)


class Design(_Model):
    """The plan the results were read against (what the decision and sample-size reasons use)."""

    start: datetime | None = None
    end: datetime | None = None
    sequential: bool = False
    sequential_tuning: float | None = Field(default=None, description="total users the sequence is tuned to")
    planned_users: int | None = None
    mde: float | None = Field(default=None, description="relative minimum detectable effect of the primary")
    power: float = 0.8
    pre_period_days: int | None = None
    min_users_per_arm: int = 0
    engine: Engine = "frequentist"
    bayesian: BayesianDesign | None = Field(default=None, description="the Bayesian engine's prior and thresholds")
    segments: list[str] = Field(default_factory=list, description="user attributes the results are split by")


class About(_Model):
    """What the experiment is, from its YAML (empty for a per-user file): the report's header."""

    description: str = ""
    owner: str = ""
    hypothesis: str = ""


class Results(_Model):
    """The whole `results.json` document."""

    schema_version: Literal[3] = SCHEMA_VERSION
    experiment: str
    kind: Kind = "ab"
    generated_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    alpha: float = 0.05
    correction: Literal["holm", "bh"] = Field(default="holm", description="secondary metrics' correction")
    control: str = "control"
    primary_metric: str = "ctr"
    metrics: dict[str, MetricInfo] = Field(default_factory=dict)
    design: Design = Field(default_factory=Design)
    about: About = Field(default_factory=About)
    srm: SrmResult
    switched_users: int = Field(default=0, description="users seen in more than one variant (counted in their first)")
    results: list[MetricResult]
    segments: list[SegmentResult] = Field(default_factory=list)
    guardrails: list[GuardrailResult] = Field(default_factory=list)
    decisions: list[Decision] = Field(default_factory=list)
    daily: list[DailyPoint] = Field(default_factory=list)
    timeline: list[TimelinePoint] = Field(default_factory=list)
    offline: list[OfflineMetrics] = Field(default_factory=list)
    status: str | None = Field(default=None, description="experiment status from its YAML, if known")
    source: str = Field(default="", description="where the data came from: clickhouse, embedded, or a CSV path")
    notes: list[str] = Field(default_factory=list, description="e.g. metrics left out because columns are absent")

    def decision_for(self, variant: str) -> Decision | None:
        return next((d for d in self.decisions if d.variant == variant), None)

    def preferred_row(self, metric: str, variant: str, *, fixed_horizon: bool = False) -> MetricResult | None:
        """The row a decision rests on when several methods compare the same metric and variant.

        Sequential first (it was asked for because people peek, and only it stays valid under peeking), then
        CUPED (same estimand as delta, narrower interval), then delta, then interleaving; a row with a p-value
        beats one without. `fixed_horizon` skips sequential rows (for sample-size arithmetic).
        """
        rank = {m: i for i, m in enumerate(METHOD_PREFERENCE)}
        rows = [
            r
            for r in self.results
            if r.metric == metric and r.variant == variant and not (fixed_horizon and r.method == "sequential")
        ]
        rows.sort(key=lambda r: (r.p_value is None and r.chance_to_win is None, rank[r.method]))
        return rows[0] if rows else None

    def write(self, path: Path) -> Path:
        """Write atomically (`config_files.atomic`): readers never see half a file, two writers never collide."""
        return write_atomic(path, self.model_dump_json(indent=2))

    @classmethod
    def read(cls, path: Path) -> Results:
        """Parse a results.json of this schema version; an older one raises `ResultsVersionError`."""
        raw = Path(path).read_bytes()
        try:
            version = json.loads(raw).get("schema_version", 1)
        except (ValueError, AttributeError):
            version = SCHEMA_VERSION  # not JSON, or not an object: let the model's validation say what is wrong
        if version != SCHEMA_VERSION:
            raise ResultsVersionError(
                f"{path}: results.json schema version {version}, this vsx reads {SCHEMA_VERSION}: re-run `vsx analyze`"
            )
        return cls.model_validate_json(raw)
