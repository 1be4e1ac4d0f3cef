"""The loaded experiment configuration: every experiment file plus `platform.yaml`, validated together.

Serving holds one `ExperimentSet` and swaps it on reload; it is immutable, and what assignment needs
per request (bucket ranges, variant overlays) is computed once on first use and cached on the instance.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from experiments.errors import UnknownExperimentError
from experiments.hashing import BUCKETS
from experiments.schema import Experiment, Platform
from experiments.slices import LayerPlan, compile_layers


@dataclass(frozen=True, eq=False)
class ExperimentSet:
    """All experiments (any status), the platform settings, and the file each experiment came from."""

    experiments: tuple[Experiment, ...] = ()
    platform: Platform = field(default_factory=Platform)
    files: Mapping[str, str] = field(default_factory=dict)

    def get(self, name: str) -> Experiment:
        for experiment in self.experiments:
            if experiment.name == name:
                return experiment
        known = ", ".join(sorted(e.name for e in self.experiments)) or "none"
        raise UnknownExperimentError(f"unknown experiment {name!r} (known: {known})")

    def running(self, now: datetime | None = None) -> tuple[Experiment, ...]:
        """Experiments that take users at `now` (default: the clock; naive means UTC): running, in [start, end)."""
        now = datetime.now(UTC) if now is None else (now if now.tzinfo else now.replace(tzinfo=UTC))
        return tuple(e for e in self.experiments if e.status == "running" and e.in_window(now))

    @cached_property
    def layers(self) -> tuple[LayerPlan, ...]:
        return compile_layers(self.experiments)

    @cached_property
    def holdout_buckets(self) -> int:
        """Users whose holdout bucket is below this are held out of every experiment."""
        return round(self.platform.holdout.share * BUCKETS)

    @cached_property
    def default_fields(self) -> Mapping[str, Any]:
        return self.platform.default.serving_fields()

    @cached_property
    def interleaving(self) -> Mapping[str, tuple[str, str]]:
        """Interleaving experiments → (control, other variant): the rankers of teams A and B."""
        return {
            e.name: (e.control, next(v.name for v in e.variants if v.name != e.control))
            for e in self.experiments
            if e.type == "interleaving"
        }

    @cached_property
    def _overlays(self) -> dict[tuple[str, str], Mapping[str, Any]]:
        return {(e.name, v.name): v.serving_fields() for e in self.experiments for v in e.variants}

    def overlay(self, experiment: str, variant: str) -> Mapping[str, Any]:
        """The serving fields a variant sets (only those; the rest come from the default or other layers)."""
        try:
            return self._overlays[(experiment, variant)]
        except KeyError:
            raise UnknownExperimentError(f"no variant {variant!r} in experiment {experiment!r}") from None
