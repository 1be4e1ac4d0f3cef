"""Bucket ranges precomputed at load, so assigning a user costs one hash per layer plus one per experiment.

A layer's 10,000 buckets are cut into slices `[offset, offset + traffic) * 10,000`, one per running
experiment. Inside a slice the variant comes from a second hash salted by the experiment, compared with
cumulative weights; because it ignores `traffic`, ramping traffic up keeps every assigned user's variant.
"""

from __future__ import annotations

import itertools
import math
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from experiments.hashing import BUCKETS, bucket
from experiments.schema import Experiment


@dataclass(frozen=True)
class Assignment:
    """A user's variant in one experiment; exposure events carry `salt` and `hash_version` to replay it."""

    experiment: str
    variant: str
    layer: str
    salt: str
    hash_version: int


def slice_range(traffic: float, offset: float) -> tuple[int, int]:
    """The experiment's buckets `[lo, hi)` within its layer (validation and assignment must agree on rounding)."""
    return round(offset * BUCKETS), round((offset + traffic) * BUCKETS)


@dataclass(frozen=True)
class SlicePlan:
    """One running experiment's slice of a layer, with everything `assign` needs and nothing it must compute."""

    lo: int
    hi: int
    salt: str
    hash_version: int
    start_ts: float
    end_ts: float
    targeting: tuple[tuple[str, frozenset[str]], ...]
    bounds: tuple[float, ...]
    """Cumulative variant weights scaled to buckets; variant i takes buckets below bounds[i] (and not below
    bounds[i-1]). The last is exactly 10,000, so a float sum a hair under 1 cannot leave a user without a variant."""
    assignments: tuple[Assignment, ...]
    """One per variant, in the order of `bounds`; shared, never rebuilt per request."""

    def matches(self, attributes: Mapping[str, str]) -> bool:
        return all(attributes.get(key) in allowed for key, allowed in self.targeting)

    def choose(self, user_id: str) -> Assignment:
        return self.assignments[bisect_right(self.bounds, bucket(self.salt, user_id, self.hash_version))]


@dataclass(frozen=True)
class LayerPlan:
    """A layer and its experiments' slices; the layer bucket is salted by the layer's name."""

    name: str
    slices: tuple[SlicePlan, ...]


def compile_slice(experiment: Experiment) -> SlicePlan:
    lo, hi = slice_range(experiment.traffic, experiment.offset)
    cumulative = list(itertools.accumulate(v.weight * BUCKETS for v in experiment.variants))
    cumulative[-1] = float(BUCKETS)
    return SlicePlan(
        lo=lo,
        hi=hi,
        salt=experiment.salt,
        hash_version=experiment.hash_version,
        start_ts=experiment.start.timestamp(),
        end_ts=experiment.end.timestamp() if experiment.end else math.inf,
        targeting=tuple((key, frozenset(values)) for key, values in (experiment.targeting or {}).items()),
        bounds=tuple(cumulative),
        assignments=tuple(
            Assignment(experiment.name, v.name, experiment.layer, experiment.salt, experiment.hash_version)
            for v in experiment.variants
        ),
    )


def compile_layers(experiments: Iterable[Experiment]) -> tuple[LayerPlan, ...]:
    """Plans for the layers of running experiments, sorted by layer name (assignment order is then stable)."""
    by_layer: dict[str, list[SlicePlan]] = {}
    for experiment in experiments:
        if experiment.status == "running":
            by_layer.setdefault(experiment.layer, []).append(compile_slice(experiment))
    return tuple(
        LayerPlan(name, tuple(sorted(slices, key=lambda s: (s.lo, s.start_ts))))
        for name, slices in sorted(by_layer.items())
    )
