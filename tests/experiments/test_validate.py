"""Cross-file rules: unique names and salts, disjoint serving fields across layers, one platform file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from experiments.errors import ExperimentConfigError
from experiments.loader import load_experiments, load_files

RERANK_VARIANTS = [{"name": "control", "weight": 0.5}, {"name": "treatment", "weight": 0.5, "rerank": []}]
"""Variants setting a field the default experiment (which sets k) does not, so two layers can coexist."""


def _issues(folder_or_files: Path | list[Path]) -> list[str]:
    with pytest.raises(ExperimentConfigError) as info:
        if isinstance(folder_or_files, list):
            load_files(folder_or_files)
        else:
            load_experiments(folder_or_files)
    return [str(i) for i in info.value.issues]


def _line(path: Path, text: str, nth: int = 1) -> int:
    """The 1-based line of the `nth` line of `path` containing `text` (the dumped YAML's layout is not ours)."""
    return [i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line][nth - 1]


def test_duplicate_salts(write_experiment: Callable, experiments_dir: Path) -> None:
    first = write_experiment("alpha", traffic=0.5, salt="shared")
    second = write_experiment("beta", traffic=0.5, offset=0.5, salt="shared")
    assert _issues(experiments_dir) == [
        f"{second}:{_line(second, 'salt:')} salt: salt 'shared' is already used by experiment 'alpha' "
        f"({first}:{_line(first, 'salt:')})",
    ]


def test_salt_equal_to_a_layer_name_or_the_holdout_salt(
    write_experiment: Callable, write_yaml: Callable, experiments_dir: Path
) -> None:
    """A salt equal to the layer name would give each variant one part of the slice instead of a random share."""
    salted_like_layer = write_experiment("alpha", salt="ranking")
    salted_like_holdout = write_experiment("beta", layer="ui", salt="global-holdout", variants=RERANK_VARIANTS)
    platform = write_yaml("platform", "holdout: {share: 0.1}\n")
    assert _issues(experiments_dir) == [
        f"{salted_like_layer}:{_line(salted_like_layer, 'salt:')} salt: salt 'ranking' is already used by "
        f"layer 'ranking' ({salted_like_layer}:{_line(salted_like_layer, 'layer:')})",
        f"{salted_like_holdout}:{_line(salted_like_holdout, 'salt:')} salt: salt 'global-holdout' is already used "
        f"by the global holdout ({platform}:1)",
    ]


def test_concurrent_interleaving_experiments_must_share_a_layer(
    write_experiment: Callable, experiments_dir: Path
) -> None:
    """A user in two interleaving experiments would need one list merged from four rankers."""
    write_experiment("alpha", type="interleaving", traffic=0.5)
    write_experiment("beta", type="interleaving", traffic=0.5, offset=0.5)  # same layer: exclusive, allowed
    load_experiments(experiments_dir)
    third = write_experiment("gamma", type="interleaving", layer="ui", variants=RERANK_VARIANTS)
    assert _issues(experiments_dir) == [
        f"{third}:{_line(third, 'layer:')} layer: interleaving experiment {name!r} ({first}:{_line(first, 'layer:')}) "
        "runs at the same time in layer 'ranking'; concurrent interleaving experiments must share a layer"
        for name, first in (("alpha", experiments_dir / "alpha.yaml"), ("beta", experiments_dir / "beta.yaml"))
    ]


def test_duplicate_names_across_folders(write_experiment: Callable, tmp_path: Path) -> None:
    first = write_experiment("alpha")
    other = tmp_path / "other"
    other.mkdir()
    second = other / "alpha.yaml"
    second.write_text(
        first.read_text().replace("layer: ranking", "layer: ui\nsalt: alpha-2").replace("k: 10", "rerank: []")
    )
    assert _issues([first, second]) == [f"{second}:1 name: duplicate experiment name, also in {first}:1"]


def test_layers_must_set_disjoint_serving_fields(write_experiment: Callable, experiments_dir: Path) -> None:
    """Both layers set `k`: the served k would depend on layer order, so it is refused."""
    first = write_experiment("alpha")
    second = write_experiment("beta", layer="ui")
    assert _issues(experiments_dir) == [
        f"{second}:{_line(second, 'k: 10')} variants[1].k: also set by experiment 'alpha' in layer 'ranking' "
        f"({first}:1); layers must set disjoint serving fields",
    ]


def test_field_conflicts_ignore_stopped_experiments(write_experiment: Callable, experiments_dir: Path) -> None:
    write_experiment("alpha", status="stopped")
    write_experiment("beta", layer="ui")
    assert [e.name for e in load_experiments(experiments_dir).experiments] == ["alpha", "beta"]


def test_only_one_platform_file(write_yaml: Callable, tmp_path: Path) -> None:
    first = write_yaml("platform", "holdout: {share: 0.1}\n")
    other = tmp_path / "platform.yaml"
    other.write_text("holdout: {share: 0.2}\n")
    assert _issues([first, other]) == [f"{other}:1: more than one platform.yaml given (first: {first})"]
