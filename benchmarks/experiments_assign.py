"""Per-request assignment cost: `assign` + `resolve` beside the bare hashes they must compute (baseline).

    .venv/bin/python benchmarks/experiments_assign.py [--quick]

Two configurations: the `examples/experiments` folder (holdout + 2 layers) and a synthetic one with
5 layers of 2 experiments each (50% traffic each, so every user is in all 5 layers). The baseline is
the same number of `bucket()` calls assign makes for that user, so the ratio is assign's own overhead.
"""

from __future__ import annotations

import argparse
import tempfile
import timeit
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import yaml

from experiments.assign import assign, resolve
from experiments.experiment_set import ExperimentSet
from experiments.hashing import bucket
from experiments.loader import load_experiments

NOW = datetime(2026, 12, 1, tzinfo=UTC)
EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "experiments"


def synthetic_set(folder: Path, layers: int = 5) -> ExperimentSet:
    """Layer 0's treatment sets k, layer 1's sets rerank, the others set nothing (fields must not collide)."""
    (folder / "platform.yaml").write_text("holdout: {share: 0.05}\n")
    treatment_fields = [{"k": 30}, {"rerank": []}] + [{}] * (layers - 2)
    for layer in range(layers):
        for half in range(2):
            name = f"exp-{layer}-{half}"
            data = {
                "name": name,
                "owner": "bench",
                "status": "running",
                "layer": f"layer-{layer}",
                "traffic": 0.5,
                "offset": 0.5 * half,
                "start": "2026-11-01T00:00:00Z",
                "control": "control",
                "variants": [
                    {"name": "control", "weight": 0.5},
                    {"name": "treatment", "weight": 0.5, **treatment_fields[layer]},
                ],
                "primary_metric": "ctr",
            }
            (folder / f"{name}.yaml").write_text(yaml.safe_dump(data))
    return load_experiments(folder)


def _best(fn: Callable[[], object], repeat: int) -> float:
    """Fastest of `repeat` runs: on a shared machine the minimum is the least disturbed estimate."""
    return min(timeit.repeat(fn, number=1, repeat=repeat))


def measure(label: str, exp_set: ExperimentSet, repeat: int) -> None:
    users = [f"user-{i}" for i in range(1000)]
    attrs = {"platform": "web"}
    assigned = [assign(exp_set, u, attrs, NOW) for u in users]
    hashes = 1 + len(exp_set.layers) + sum(map(len, assigned)) / len(users)  # holdout + one per layer + variants
    per_call = _best(lambda: [assign(exp_set, u, attrs, NOW) for u in users], repeat) / len(users)
    per_resolve = _best(lambda: [resolve(exp_set, a) for a in assigned], repeat) / len(users)
    per_hash = _best(lambda: [bucket("salt", u) for u in users], repeat) / len(users)
    baseline = per_hash * hashes
    print(
        f"{label:<28} assign {per_call * 1e6:6.2f} us | baseline {hashes:.1f} bare hashes {baseline * 1e6:6.2f} us "
        f"| ratio {per_call / baseline:4.2f} | resolve {per_resolve * 1e6:5.2f} us"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (CI)")
    repeat = 5 if parser.parse_args().quick else 50
    measure("examples (holdout+2 layers)", load_experiments(EXAMPLES), repeat)
    with tempfile.TemporaryDirectory() as tmp:
        measure("synthetic (holdout+5 layers)", synthetic_set(Path(tmp)), repeat)


if __name__ == "__main__":
    main()
