"""Fixtures writing experiment folders: a valid experiment as a dict, with keys overridden per test."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml


def experiment_data(name: str, **fields: Any) -> dict[str, Any]:
    """A valid running A/B experiment (50/50, whole layer `ranking`, treatment sets k); `fields` override keys."""
    data: dict[str, Any] = {
        "name": name,
        "owner": "search-team",
        "status": "running",
        "layer": "ranking",
        "start": "2026-11-20T00:00:00Z",
        "control": "control",
        "variants": [{"name": "control", "weight": 0.5}, {"name": "treatment", "weight": 0.5, "k": 10}],
        "primary_metric": "ctr",
    }
    data.update(fields)
    return data


@pytest.fixture
def experiments_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "experiments"
    folder.mkdir()
    return folder


@pytest.fixture
def write_yaml(experiments_dir: Path) -> Callable[[str, dict[str, Any] | str], Path]:
    """`write_yaml(stem, content)` writes `<experiments_dir>/<stem>.yaml`: a dict is dumped, a str written as is."""

    def write(stem: str, content: dict[str, Any] | str) -> Path:
        path = experiments_dir / f"{stem}.yaml"
        text = content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False)
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def write_experiment(write_yaml: Callable[[str, dict[str, Any] | str], Path]) -> Callable[..., Path]:
    """`write_experiment(name, **fields)`: the valid experiment above with `fields` overridden, as `<name>.yaml`."""

    def write(name: str, **fields: Any) -> Path:
        return write_yaml(name, experiment_data(name, **fields))

    return write
