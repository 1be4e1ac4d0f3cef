"""Write the YAML a product team would write, for the experiments the loop runs itself.

The loop goes through the same front door as people do: it writes `<experiments_dir>/<name>.yaml` and
`platform.yaml`, then loads and validates the whole folder with `experiments.load_experiments`, so an
experiment the demo runs is one `vsx experiments validate` accepts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from experiments import ExperimentSet, load_experiments
from experiments.yaml_lines import load_yaml
from search_core.artifacts import ArtifactRef, ArtifactStore

RERANK = [{"name": "drop_query"}, {"name": "dedupe", "threshold": 0.995}]


@dataclass(frozen=True)
class Arm:
    """One variant: which encoder and index serve it."""

    name: str
    encoder: ArtifactRef
    index: ArtifactRef
    index_params: dict[str, Any] | None = None

    def as_yaml(self, weight: float, k: int) -> dict[str, Any]:
        return {
            "name": self.name, "weight": weight, "encoder": str(self.encoder), "index": str(self.index),
            "index_params": self.index_params or {}, "rerank": RERANK, "k": k,
        }  # fmt: skip


def write_platform(folder: Path, default: Arm, k: int) -> Path:
    """`platform.yaml`: no holdout in the demo (every simulated user is in the experiment), `default` = control."""
    folder.mkdir(parents=True, exist_ok=True)
    doc = {
        "holdout": {"share": 0.0, "salt": "global-holdout"},
        "default": {"encoder": str(default.encoder), "index": str(default.index),
                    "index_params": default.index_params or {}, "rerank": RERANK, "k": k},
    }  # fmt: skip
    path = folder / "platform.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def write_experiment(
    folder: Path,
    *,
    name: str,
    description: str,
    arms: Sequence[Arm],
    start: datetime,
    end: datetime | None = None,
    status: str = "running",
    experiment_type: str = "ab",
    k: int = 10,
    planned_users: int | None = None,
) -> Path:
    """An A/B (or interleaving) experiment over the whole `retrieval` layer, equal weights, CTR primary.

    The first arm is the control; an interleaving experiment takes exactly two. The analysis reads the plan
    as sized for a +5 % CTR change (`mde`) over `planned_users` simulated users, split by the simulated users'
    platform and country.
    """
    doc = {
        "name": name,
        "description": description,
        "owner": "vsx-demo",
        "status": status,
        "type": experiment_type,
        "layer": "retrieval",
        "traffic": 1.0,
        "offset": 0.0,
        "salt": name,
        "hash_version": 1,
        "start": start.isoformat().replace("+00:00", "Z"),
        "end": end.isoformat().replace("+00:00", "Z") if end else None,
        "control": arms[0].name,
        "variants": [a.as_yaml(1 / len(arms), k) for a in arms],
        "primary_metric": "ctr",
        "secondary_metrics": ["dwell_per_click", "clicks_per_user", "search_success_rate", "dwell_p50"],
        "guardrails": [{"metric": "latency_p95", "margin": 0.5}, {"metric": "zero_result_rate", "margin": 0.1},
                       {"metric": "error_rate", "margin": 0.1}],
        "segments": ["platform", "country"],
        "analysis": {"correction": "holm", "sequential": False, "alpha": 0.05, "mde": 0.05,
                     **({"planned_users": planned_users} if planned_users else {})},
    }  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def set_status(folder: Path, name: str, status: str, end: datetime | None = None) -> None:
    """Stop (or restart) an experiment by editing its file, as a person would."""
    path = folder / f"{name}.yaml"
    doc = load_yaml(path)
    doc["status"] = status
    if end is not None:
        doc["end"] = end.isoformat().replace("+00:00", "Z")
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def validated(folder: Path, store: ArtifactStore) -> ExperimentSet:
    """Load and validate the folder, with artifact references checked against the store."""

    def exists(kind: str, ref: str) -> bool:
        return store.exists(kind, ArtifactRef.parse(ref))  # type: ignore[arg-type]

    return load_experiments(folder, artifact_exists=exists)
