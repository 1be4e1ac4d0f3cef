"""The shipped `examples/experiments/*.yaml` validate against the artifacts the demo builds.

The artifacts come from the demo's own step 2 (`first_arms`, at `make demo`'s size), on a small catalog
folder so that it trains in seconds: the names and versions are what `make demo` makes on a fresh machine.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from search_core.artifacts import ArtifactStore
from search_core.catalog import load_catalog
from tests.search_core.small_catalog import write_fashion_folder
from vsx.cli import app
from vsx.pipelines.demo import SIZES, first_arms
from vsx.settings import get_settings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "experiments"


@pytest.fixture
def artifacts_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("VSX_HOME", str(tmp_path))
    monkeypatch.setenv("VSX_CONFIG_FILE", str(tmp_path / "absent.toml"))
    get_settings.cache_clear()
    yield tmp_path / "var" / "artifacts"
    get_settings.cache_clear()


def test_examples_validate_against_the_demos_artifacts(artifacts_env: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    before = runner.invoke(app, ["experiments", "validate", str(EXAMPLES)])
    assert before.exit_code == 2 and "artifact pixels@1 not found" in before.stdout  # nothing built yet
    reviewed = runner.invoke(app, ["experiments", "validate", "--skip-artifacts", str(EXAMPLES)])
    assert reviewed.exit_code == 0, reviewed.output

    catalog = load_catalog(str(write_fashion_folder(tmp_path / "catalog", per_class=20)))
    size = replace(SIZES["full"], eval_queries=20)  # what `make demo` runs, evaluated on fewer queries
    control, treatment = first_arms(ArtifactStore(artifacts_env), catalog, size)

    after = runner.invoke(app, ["experiments", "validate", str(EXAMPLES)])
    assert after.exit_code == 0, after.output
    assert after.stdout.strip() == "ok: 2 experiment(s), 2 running"
    served = {str(ref) for arm in (control, treatment) for ref in (arm.encoder, arm.index)}
    assert served == {"pixels@1", "pixels-v1-hnsw32@1", "cnn@1", "cnn-v1-hnsw32@1"}
