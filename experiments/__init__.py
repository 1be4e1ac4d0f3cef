"""Experiments as YAML: schema, validation, deterministic assignment, power."""

from experiments.assign import InterleavedRankers, ServedVariant, assign, in_holdout, interleaved_rankers, resolve
from experiments.errors import (
    ConfigIssue,
    ExperimentConfigError,
    ExperimentsError,
    UnknownExperimentError,
    UnsupportedHashVersionError,
)
from experiments.experiment_set import ExperimentSet
from experiments.hashing import BUCKETS, HASH_VERSIONS, bucket
from experiments.loader import load_experiments, load_files
from experiments.schema import (
    AnalysisOptions,
    BayesianOptions,
    DefaultVariant,
    Experiment,
    Guardrail,
    Holdout,
    Platform,
    RerankStepSpec,
    Variant,
)
from experiments.slices import Assignment
from experiments.validate import ArtifactExists, KnownNames

__all__ = [
    "BUCKETS",
    "HASH_VERSIONS",
    "AnalysisOptions",
    "BayesianOptions",
    "ArtifactExists",
    "KnownNames",
    "Assignment",
    "ConfigIssue",
    "DefaultVariant",
    "Experiment",
    "ExperimentConfigError",
    "ExperimentSet",
    "ExperimentsError",
    "Guardrail",
    "Holdout",
    "InterleavedRankers",
    "Platform",
    "RerankStepSpec",
    "ServedVariant",
    "UnknownExperimentError",
    "UnsupportedHashVersionError",
    "Variant",
    "assign",
    "bucket",
    "in_holdout",
    "interleaved_rankers",
    "load_experiments",
    "load_files",
    "resolve",
]
