"""The experiment YAML contract: one `Experiment` per file plus an optional `platform.yaml`.

Every model forbids unknown keys so a typo (`wieght: 0.5`) fails validation instead of silently falling
back to a default. Models are frozen: the loaded configuration is shared by every request in serving.
Checks that need more than one field's value and a line number to report (weights summing to 1, the
control naming a variant, ...) live in `experiments/validate.py`, which sees every file at once.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from experiments.hashing import HASH_VERSIONS

SERVING_FIELDS: tuple[str, ...] = ("encoder", "index", "index_backend", "index_params", "rerank", "k")
"""The fields a variant may set; the served configuration is `default` overlaid with them."""

IndexBackend = Literal["faiss", "milvus"]
"""Engines an index artifact can be served by: Faiss in the serving process, or a Milvus collection."""

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
METRIC_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
ATTRIBUTE_NAME = re.compile(r"^[a-z0-9_]{1,64}$")
_ARTIFACT_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*@[1-9][0-9]*$")


def _name(value: str) -> str:
    if not _NAME.match(value):
        raise ValueError(f"{value!r} must match [a-z0-9][a-z0-9_-]* (lower case, digits, '-', '_')")
    return value


def _artifact_ref(value: str) -> str:
    if not _ARTIFACT_REF.match(value):
        raise ValueError(f"{value!r} must be name@version with a positive integer version, e.g. cnn@1")
    return value


def _metric(value: str) -> str:
    """The shape of a metric name; whether the name exists is the analysis' to say (`validate.KnownNames`)."""
    if not METRIC_NAME.match(value):
        raise ValueError(f"{value!r} is not a metric name ([a-z][a-z0-9_]*)")
    return value


def _attribute(value: str) -> str:
    if not ATTRIBUTE_NAME.match(value):
        raise ValueError(f"{value!r} is not a user attribute name ([a-z0-9_], at most 64 characters)")
    return value


def _hash_version(value: int) -> int:
    if value not in HASH_VERSIONS:
        raise ValueError(f"unsupported hash_version {value} (supported: {', '.join(map(str, HASH_VERSIONS))})")
    return value


def _scalar_params(value: dict[str, Any]) -> dict[str, Any]:
    for key, param in value.items():
        if not isinstance(param, str | int | float | bool):
            raise ValueError(f"{key!r} must be a number, string or boolean (query-time index parameter)")
    return value


def _utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 is in year 0 in UTC; pydantic reports only ValueError
        raise ValueError(f"{value.isoformat()} is outside the years 1-9999 in UTC") from None


Name = Annotated[str, AfterValidator(_name)]
ArtifactRefText = Annotated[str, AfterValidator(_artifact_ref)]
Metric = Annotated[str, AfterValidator(_metric)]
Attribute = Annotated[str, AfterValidator(_attribute)]
IndexParams = Annotated[dict[str, Any], AfterValidator(_scalar_params)]
ResultCount = Annotated[int, Field(ge=1, le=100, strict=True)]
UtcDatetime = Annotated[AwareDatetime, AfterValidator(_utc)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RerankStepSpec(BaseModel):
    """One re-ranking step: `name` picks it from search_core's registry, the other keys are its parameters."""

    model_config = ConfigDict(extra="allow", frozen=True)
    name: Annotated[str, Field(min_length=1)]


class Variant(_Model):
    """One arm. Serving fields left out (None) are taken from the platform default or another layer."""

    name: Name
    weight: float = Field(gt=0, le=1)
    encoder: ArtifactRefText | None = None
    index: ArtifactRefText | None = None
    index_backend: IndexBackend | None = None
    index_params: IndexParams | None = None
    rerank: tuple[RerankStepSpec, ...] | None = None
    k: ResultCount | None = None

    @model_validator(mode="after")
    def _encoder_with_index(self) -> Variant:
        if (self.encoder is None) != (self.index is None):
            raise ValueError("encoder and index must be set together (an index is built from one encoder)")
        return self

    def serving_fields(self) -> dict[str, Any]:
        """The serving fields this variant sets, as plain data (what `resolve` overlays)."""
        return {f: _plain(getattr(self, f)) for f in SERVING_FIELDS if getattr(self, f) is not None}


class Guardrail(_Model):
    """A metric that must not get worse: a non-inferiority test against control in every treatment arm.

    `margin` is the tolerated relative change in the metric's bad direction (0.1: at most 10 % worse);
    without it the analysis uses the platform's default margin (setting `analysis.guardrail_margin`).
    """

    metric: Metric
    margin: float | None = Field(default=None, gt=0, le=10)

    @model_validator(mode="before")
    @classmethod
    def _no_absolute_bounds(cls, data: Any) -> Any:
        if isinstance(data, dict) and ({"max", "min"} & set(data)):
            raise ValueError(
                "guardrails are tests against control with a relative margin, not absolute bounds: "
                "replace max/min with e.g. `margin: 0.1` (at most 10 % worse than control)"
            )
        return data


class BayesianOptions(_Model):
    """The Bayesian engine's prior on the relative lift and its decision thresholds (GrowthBook's defaults).

    `prior: flat` (improper) or `proper` (Normal(`prior_mean`, `prior_stddev`²)). A treatment ships when its chance
    to beat control reaches `chance_to_win` and its risk (expected relative loss if shipped) is at most `max_risk`.
    """

    prior: Literal["flat", "proper"] = "flat"
    prior_mean: float = Field(default=0.0, ge=-10, le=10, allow_inf_nan=False)
    prior_stddev: float = Field(default=0.3, gt=0, le=10, allow_inf_nan=False)
    chance_to_win: float = Field(default=0.95, gt=0.5, lt=1)
    max_risk: float = Field(default=0.0025, gt=0, le=1)


class AnalysisOptions(_Model):
    """How the analysis package tests this experiment and reads a decision from it.

    `correction` applies to secondary metrics (the primary metric is its own family). `mde` (relative) and
    `power` state what the experiment was sized for (`vsx power`), so an inconclusive result says how many
    more users it needs; `planned_users` (all arms) tunes the sequential test. `pre_period_days` is how far
    before the start CUPED's covariate reaches. Below `min_users_per_arm` no recommendation is made.
    `engine: bayesian` reports chance to win and risk (with `bayesian`'s prior and thresholds) instead of
    p-values; it does not combine with `sequential`.
    """

    engine: Literal["frequentist", "bayesian"] = "frequentist"
    bayesian: BayesianOptions = BayesianOptions()

    @model_validator(mode="after")
    def _engine_fits(self) -> AnalysisOptions:
        if self.engine == "bayesian" and self.sequential:
            raise ValueError("sequential testing is frequentist: use engine frequentist, or sequential: false")
        return self

    correction: Literal["holm", "bh"] = "holm"
    sequential: bool = False
    alpha: float = Field(default=0.05, gt=0, lt=0.5)
    pre_period_days: int = Field(default=14, ge=1, le=365)
    mde: float | None = Field(default=None, gt=0, le=10)
    power: float = Field(default=0.8, gt=0, lt=1)
    planned_users: int | None = Field(default=None, ge=4)
    min_users_per_arm: int = Field(default=100, ge=0)


class Experiment(_Model):
    """One experiment file. `salt` defaults to `name`; pin it so a rename does not re-randomise users.

    Metric names (primary, secondary, guardrails) refer to the analysis' metric definitions; `segments` names user
    attributes (`X-Attr-*`) whose value at first exposure splits the results. Both are checked against what the
    analysis knows when the caller passes it (`validate.KnownNames`): this package imports no analysis.
    """

    name: Name
    description: str = ""
    hypothesis: str = Field(default="", description="what the treatment should change, and why (shown in reports)")
    owner: str = Field(min_length=1)
    status: Literal["draft", "running", "stopped"]
    type: Literal["ab", "interleaving"] = "ab"
    layer: Name
    traffic: float = Field(default=1.0, gt=0, le=1)
    offset: float = Field(default=0.0, ge=0, lt=1)
    salt: str = Field(min_length=1)
    hash_version: Annotated[int, Field(strict=True), AfterValidator(_hash_version)] = 1
    start: UtcDatetime
    end: UtcDatetime | None = None
    control: str
    variants: tuple[Variant, ...] = Field(min_length=1)
    primary_metric: Metric
    secondary_metrics: tuple[Metric, ...] = ()
    guardrails: tuple[Guardrail, ...] = ()
    segments: tuple[Attribute, ...] = Field(default=(), max_length=10)
    targeting: dict[str, Annotated[tuple[str, ...], Field(min_length=1)]] | None = None
    analysis: AnalysisOptions = AnalysisOptions()

    @model_validator(mode="before")
    @classmethod
    def _salt_defaults_to_name(cls, data: Any) -> Any:
        if isinstance(data, dict) and "salt" not in data:
            # str(): with the name missing or mistyped, the name's own error is enough; no second one for salt
            return {**data, "salt": str(data.get("name"))}
        return data

    def in_window(self, now: datetime) -> bool:
        """Whether `now` lies in [start, end): only then does a running experiment take users."""
        return self.start <= now and (self.end is None or now < self.end)


class Holdout(_Model):
    """Users held out of every experiment, to measure the platform's cumulative effect."""

    share: float = Field(default=0.0, ge=0, le=0.5)
    salt: str = Field(default="global-holdout", min_length=1)


class DefaultVariant(_Model):
    """What holdout, untargeted and unassigned users get; every serving field is set."""

    encoder: ArtifactRefText = "pixels@1"
    index: ArtifactRefText = "pixels-flat@1"
    index_backend: IndexBackend = "faiss"
    index_params: IndexParams = Field(default_factory=dict)
    rerank: tuple[RerankStepSpec, ...] = (RerankStepSpec(name="drop_query"),)
    k: ResultCount = 20

    def serving_fields(self) -> dict[str, Any]:
        return {f: _plain(getattr(self, f)) for f in SERVING_FIELDS}


class Platform(_Model):
    """`platform.yaml`: the global holdout and the default variant."""

    holdout: Holdout = Holdout()
    default: DefaultVariant = DefaultVariant()


SCHEMA_MODELS: tuple[type[BaseModel], ...] = (
    Experiment,
    Variant,
    Guardrail,
    AnalysisOptions,
    BayesianOptions,
    Platform,
    Holdout,
    DefaultVariant,
)


def _plain(value: Any) -> Any:
    """Serving fields as plain data: rerank steps become `{"name": ..., **params}` dicts search_core accepts."""
    if isinstance(value, tuple):
        return tuple(step.model_dump() for step in value)
    if isinstance(value, dict):
        return dict(value)
    return value
