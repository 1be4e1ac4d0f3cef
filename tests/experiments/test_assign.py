"""Assignment: balance, stability across processes, ramp-up, exclusivity, orthogonality, holdout, targeting."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from scipy.stats import chi2_contingency, chisquare

from experiments.assign import ServedVariant, assign, in_holdout, resolve
from experiments.errors import UnknownExperimentError
from experiments.loader import load_experiments
from experiments.slices import Assignment

NOW = datetime(2026, 12, 1, tzinfo=UTC)
USERS = [f"user-{i}" for i in range(100_000)]
WriteExperiment = Callable[..., Path]


def _variants(*weights: float) -> list[dict]:
    return [{"name": "control" if i == 0 else f"treatment{i}", "weight": w} for i, w in enumerate(weights)]


def test_variants_are_balanced_against_weights(write_experiment: WriteExperiment, experiments_dir: Path) -> None:
    write_experiment("balance", variants=_variants(0.5, 0.3, 0.2))
    exp_set = load_experiments(experiments_dir)
    counts = Counter(a.variant for u in USERS for a in assign(exp_set, u, now=NOW))
    observed = [counts["control"], counts["treatment1"], counts["treatment2"]]
    assert sum(observed) == len(USERS)
    assert chisquare(observed, [w * len(USERS) for w in (0.5, 0.3, 0.2)]).pvalue > 0.001


def test_assignments_are_identical_in_another_process(write_experiment: WriteExperiment, experiments_dir: Path) -> None:
    """A fresh interpreter with a different PYTHONHASHSEED must agree: nothing may depend on Python's `hash`."""
    write_experiment("stable", variants=_variants(0.25, 0.25, 0.5), traffic=0.7, offset=0.1)
    write_experiment("other-layer", layer="ui", variants=_variants(0.5, 0.5))
    users = USERS[:1000]
    script = (
        "import json, sys; from datetime import datetime\n"
        "from experiments.assign import assign; from experiments.loader import load_experiments\n"
        "s = load_experiments(sys.argv[1]); now = datetime.fromisoformat(sys.argv[2])\n"
        "print(json.dumps([[[a.experiment, a.variant] for a in assign(s, f'user-{i}', now=now)] for i in range(1000)]))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", script, str(experiments_dir), NOW.isoformat()],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
    ).stdout
    exp_set = load_experiments(experiments_dir)
    here = [[[a.experiment, a.variant] for a in assign(exp_set, u, now=NOW)] for u in users]
    assert json.loads(out) == here
    assert any(len(row) == 2 for row in here) and any(len(row) == 1 for row in here)


def test_ramp_up_keeps_every_assigned_user_in_their_variant(
    write_experiment: WriteExperiment, experiments_dir: Path
) -> None:
    users = USERS[:20_000]
    write_experiment("ramp", traffic=0.2)
    before_set = load_experiments(experiments_dir)
    before = {u: assign(before_set, u, now=NOW) for u in users}
    write_experiment("ramp", traffic=0.5)
    after_set = load_experiments(experiments_dir)
    after = {u: assign(after_set, u, now=NOW) for u in users}
    assigned_before = [u for u in users if before[u]]
    assert all(after[u] == before[u] for u in assigned_before)
    assert 0.18 < len(assigned_before) / len(users) < 0.22
    assert 0.48 < sum(bool(a) for a in after.values()) / len(users) < 0.52


def test_experiments_in_one_layer_never_share_a_user(write_experiment: WriteExperiment, experiments_dir: Path) -> None:
    write_experiment("left", traffic=0.5, offset=0.0)
    write_experiment("right", traffic=0.5, offset=0.5)
    exp_set = load_experiments(experiments_dir)
    per_user = [assign(exp_set, u, now=NOW) for u in USERS[:20_000]]
    assert all(len(a) == 1 for a in per_user)
    counts = Counter(a[0].experiment for a in per_user)
    assert chisquare([counts["left"], counts["right"]]).pvalue > 0.001


def test_layers_are_orthogonal(write_experiment: WriteExperiment, experiments_dir: Path) -> None:
    """Variant in one layer tells nothing about the variant in another (independence chi-square)."""
    write_experiment("retrieval-exp", layer="retrieval", variants=_variants(0.5, 0.5))
    write_experiment("rerank-exp", layer="rerank", variants=_variants(0.3, 0.7), traffic=0.6)
    exp_set = load_experiments(experiments_dir)
    table = Counter()
    for u in USERS[:50_000]:
        by_layer = {a.layer: a.variant for a in assign(exp_set, u, now=NOW)}
        table[(by_layer["retrieval"], by_layer.get("rerank", "none"))] += 1
    rows = [[table[(r, c)] for c in ("control", "treatment1", "none")] for r in ("control", "treatment1")]
    assert chi2_contingency(rows).pvalue > 0.001


def test_holdout_users_get_the_default_and_no_experiment(
    write_experiment: WriteExperiment, write_yaml: Callable, experiments_dir: Path
) -> None:
    write_experiment("everyone", traffic=1.0)
    write_yaml("platform", {"holdout": {"share": 0.1, "salt": "holdout-2026"}, "default": {"k": 30}})
    exp_set = load_experiments(experiments_dir)
    users = USERS[:20_000]
    held = [u for u in users if in_holdout(exp_set, u)]
    assert 0.09 < len(held) / len(users) < 0.11
    assert all(assign(exp_set, u, now=NOW) == [] for u in held)
    assert all(len(assign(exp_set, u, now=NOW)) == 1 for u in set(users) - set(held))
    assert resolve(exp_set, []) == ServedVariant("pixels@1", "pixels-flat@1", {}, ({"name": "drop_query"},), 30)


def test_targeting_assigns_only_matching_requests(write_experiment: WriteExperiment, experiments_dir: Path) -> None:
    write_experiment("web-only", targeting={"platform": ["web", "ios"], "country": ["de"]})
    exp_set = load_experiments(experiments_dir)
    assert assign(exp_set, "user-1", {"platform": "web", "country": "de"}, now=NOW)
    assert assign(exp_set, "user-1", {"platform": "android", "country": "de"}, now=NOW) == []
    assert assign(exp_set, "user-1", {"platform": "web"}, now=NOW) == []
    assert assign(exp_set, "user-1", None, now=NOW) == []


def test_only_running_experiments_inside_their_window_assign(
    write_experiment: WriteExperiment, experiments_dir: Path
) -> None:
    write_experiment("windowed", start="2026-11-20T00:00:00Z", end="2026-12-20T00:00:00Z")
    write_experiment("drafted", layer="ui", status="draft", variants=_variants(0.5, 0.5))
    exp_set = load_experiments(experiments_dir)
    at = lambda iso: [a.experiment for a in assign(exp_set, "user-7", now=datetime.fromisoformat(iso))]  # noqa: E731
    assert at("2026-11-19T23:59:59+00:00") == []
    assert at("2026-11-20T00:00:00+00:00") == ["windowed"]
    assert at("2026-12-20T00:00:00+00:00") == []
    assert at("2026-12-19T23:59:59") == ["windowed"]  # naive means UTC
    assert at("2026-12-20T00:30:00+01:00") == ["windowed"]
    assert [e.name for e in exp_set.running(NOW)] == ["windowed"]


def test_assignment_carries_salt_and_hash_version(write_experiment: WriteExperiment, experiments_dir: Path) -> None:
    write_experiment("renamed", salt="original-name")
    (assignment,) = assign(load_experiments(experiments_dir), "user-3", now=NOW)
    assert assignment == Assignment("renamed", assignment.variant, "ranking", "original-name", 1)


def test_resolve_overlays_the_default_with_each_layers_fields(
    write_experiment: WriteExperiment, experiments_dir: Path
) -> None:
    write_experiment(
        "retrieval-exp",
        layer="retrieval",
        variants=[
            {"name": "control", "weight": 0.5},
            {
                "name": "treatment",
                "weight": 0.5,
                "encoder": "cnn@1",
                "index": "cnn-hnsw@1",
                "index_params": {"efSearch": 64},
            },
        ],
    )
    write_experiment(
        "k-exp",
        layer="ui",
        variants=[{"name": "control", "weight": 0.5}, {"name": "treatment", "weight": 0.5, "k": 50}],
    )
    exp_set = load_experiments(experiments_dir)
    both = [
        Assignment("retrieval-exp", "treatment", "retrieval", "retrieval-exp", 1),
        Assignment("k-exp", "treatment", "ui", "k-exp", 1),
    ]
    served = resolve(exp_set, both)
    assert served == ServedVariant("cnn@1", "cnn-hnsw@1", {"efSearch": 64}, ({"name": "drop_query"},), 50)
    served.index_params["efSearch"] = 1  # a caller's copy: the loaded configuration is unchanged
    assert resolve(exp_set, both).index_params == {"efSearch": 64}
    with pytest.raises(UnknownExperimentError):
        resolve(exp_set, [Assignment("k-exp", "nope", "ui", "k-exp", 1)])


def test_assignment_plan_is_computed_once(write_experiment: WriteExperiment, experiments_dir: Path) -> None:
    """Serving assigns per request; the bucket table must be built at load, not per call."""
    write_experiment("cached")
    exp_set = load_experiments(experiments_dir)
    assert exp_set.layers is exp_set.layers
    assert exp_set.layers[0].slices[0].bounds == (5000.0, 10000.0)
