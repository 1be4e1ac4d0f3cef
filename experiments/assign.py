"""Deterministic assignment of a user to experiments, and the serving configuration that results.

1. Global holdout: `bucket(holdout.salt, user) < share * 10,000` → no experiment, the default variant.
2. Per layer: `bucket(layer name, user)` falls in at most one running experiment's slice (slices in a
   layer do not overlap, so experiments in a layer are mutually exclusive; layer salts differ, so layers
   are orthogonal). The user is in that experiment if `now` is in [start, end) and targeting matches.
3. Variant: `bucket(experiment salt, user)` against cumulative weights (see `experiments/slices.py`).

Layers and the holdout hash with `hash_version` 1; each experiment's variant hash uses its own version.

In an interleaving experiment the variant hash still gives every user a label (their events carry it), but
what they see is both variants' results merged: `interleaved_rankers` gives the two configurations to run.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from experiments.experiment_set import ExperimentSet
from experiments.hashing import bucket
from experiments.slices import Assignment

__all__ = [
    "Assignment",
    "InterleavedRankers",
    "ServedVariant",
    "assign",
    "bucket",
    "in_holdout",
    "interleaved_rankers",
    "resolve",
]


@dataclass(frozen=True)
class ServedVariant:
    """What to serve: the default variant overlaid with every assigned variant's serving fields."""

    encoder: str
    index: str
    index_params: dict[str, Any]
    rerank: tuple[dict[str, Any], ...]
    k: int
    index_backend: str = "faiss"


def in_holdout(exp_set: ExperimentSet, user_id: str) -> bool:
    """Whether the user is in the global holdout (sees the default variant and no experiment)."""
    return exp_set.holdout_buckets > 0 and bucket(exp_set.platform.holdout.salt, user_id) < exp_set.holdout_buckets


def assign(
    exp_set: ExperimentSet,
    user_id: str,
    attributes: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> list[Assignment]:
    """The user's experiments, at most one per layer (none for holdout users).

    `now` defaults to the clock; a naive datetime is taken as UTC, like every time in the YAML.
    """
    if in_holdout(exp_set, user_id):
        return []
    now_ts = time.time() if now is None else (now if now.tzinfo else now.replace(tzinfo=UTC)).timestamp()
    attributes = attributes or {}
    assignments = []
    for layer in exp_set.layers:
        b = bucket(layer.name, user_id)
        for plan in layer.slices:
            if plan.lo <= b < plan.hi and plan.start_ts <= now_ts < plan.end_ts:
                if plan.matches(attributes):
                    assignments.append(plan.choose(user_id))
                break
    return assignments


def resolve(exp_set: ExperimentSet, assignments: Sequence[Assignment]) -> ServedVariant:
    """Overlay the default with each assignment's fields (validation guarantees layers set disjoint fields)."""
    fields = dict(exp_set.default_fields)
    for a in assignments:
        fields.update(exp_set.overlay(a.experiment, a.variant))
    return ServedVariant(
        encoder=fields["encoder"],
        index=fields["index"],
        index_params=dict(fields["index_params"]),
        rerank=tuple(dict(step) for step in fields["rerank"]),
        k=fields["k"],
        index_backend=fields["index_backend"],
    )


@dataclass(frozen=True)
class InterleavedRankers:
    """The two rankers of the user's interleaving experiment: team A is its control, team B the other variant.

    Each is the full configuration the user would get with that variant (other layers' variants included).
    """

    experiment: str
    team_a: ServedVariant
    team_b: ServedVariant


def interleaved_rankers(exp_set: ExperimentSet, assignments: Sequence[Assignment]) -> InterleavedRankers | None:
    """The rankers to interleave for these assignments, or None when none is in an interleaving experiment.

    Validation lets interleaving experiments overlap in time only within one layer, so a user is in at most one.
    """
    for i, a in enumerate(assignments):
        pair = exp_set.interleaving.get(a.experiment)
        if pair is not None:
            others = [*assignments[:i], *assignments[i + 1 :]]
            control, treatment = (resolve(exp_set, [*others, replace(a, variant=v)]) for v in pair)
            return InterleavedRankers(a.experiment, control, treatment)
    return None
