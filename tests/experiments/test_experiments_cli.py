"""`vsx experiments validate|list|show|assign` through typer's CliRunner, against a real artifact store."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from experiments.errors import UnknownExperimentError
from search_core.artifacts import ArtifactRef, ArtifactStore, Manifest
from vsx.commands import experiments as experiments_command
from vsx.settings import get_settings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "experiments"


@pytest.fixture
def app() -> typer.Typer:
    """The `experiments` command group on its own app, as `vsx.cli` registers it."""
    app = typer.Typer()
    experiments_command.register(app)
    app.callback()(lambda: None)
    return app


@pytest.fixture
def artifacts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ArtifactStore]:
    """An artifact store holding the examples' encoders and indexes except `cnn-v1-hnsw32@1`."""
    store = ArtifactStore(tmp_path / "artifacts")
    for kind, ref in [("encoder", "pixels@1"), ("index", "pixels-v1-hnsw32@1"), ("encoder", "cnn@1")]:
        parsed = ArtifactRef.parse(ref)
        staging = store.staging_dir(kind, parsed)
        (staging / "weights.bin").write_bytes(b"\0")
        store.write(Manifest(kind=kind, name=parsed.name, version=parsed.version, catalog="test", dim=8), staging)
    monkeypatch.setenv("VSX_ARTIFACTS_DIR", str(store.root))
    monkeypatch.setenv("VSX_EXPERIMENTS_DIR", str(EXAMPLES))
    get_settings.cache_clear()
    yield store
    get_settings.cache_clear()


def test_validate_prints_each_error_and_exits_2(app: typer.Typer, artifacts: ArtifactStore, tmp_path: Path) -> None:
    folder = tmp_path / "experiments"
    shutil.copytree(EXAMPLES, folder)
    enc = folder / "enc-v1.yaml"
    enc.write_text(enc.read_text().replace("weight: 0.5\n    encoder: cnn@1", "weight: 0\n    encoder: cnn@1"))
    result = CliRunner().invoke(app, ["experiments", "validate", str(enc), str(folder / "platform.yaml")])
    assert result.exit_code == 2
    assert result.stdout.splitlines() == [
        f"{enc}:23 variants[1].weight: must be > 0",
    ]
    result = CliRunner().invoke(app, ["experiments", "validate", str(folder)])
    assert result.exit_code == 2
    assert result.stdout.splitlines() == [
        f"{enc}:23 variants[1].weight: must be > 0",
    ]


def test_validate_checks_artifacts_in_the_store(app: typer.Typer, artifacts: ArtifactStore) -> None:
    result = CliRunner().invoke(app, ["experiments", "validate", str(EXAMPLES)])
    assert result.exit_code == 2
    assert result.stdout.splitlines() == [
        f"{EXAMPLES / 'enc-v1.yaml'}:25 variants[1].index: index artifact cnn-v1-hnsw32@1 not found"
    ]
    result = CliRunner().invoke(app, ["experiments", "validate", "--skip-artifacts", str(EXAMPLES)])
    assert result.exit_code == 0
    assert result.stdout.strip() == "ok: 2 experiment(s), 2 running"


def test_validate_missing_file_is_a_usage_error(app: typer.Typer, artifacts: ArtifactStore, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["experiments", "validate", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2


def test_list_show_and_assign(app: typer.Typer, artifacts: ArtifactStore) -> None:
    runner = CliRunner()
    listed = runner.invoke(app, ["experiments", "list"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0 and "enc-v1" in listed.stdout and "[0, 5000)" in listed.stdout
    shown = runner.invoke(app, ["experiments", "show", "rerank-dedupe"])
    assert shown.exit_code == 0 and "threshold: 0.98" in shown.stdout and "salt: rerank-dedupe" in shown.stdout
    words = ["experiments", "assign", "user-3", "--attr", "platform=web", "--now", "2026-12-01T00:00:00"]
    said = runner.invoke(app, words)
    assert said.exit_code == 0 and "user-3: enc-v1 → " in said.stdout and "served: encoder " in said.stdout
    assigned = runner.invoke(app, [*words, "--json"])
    assert assigned.exit_code == 0, assigned.output
    result = json.loads(assigned.stdout)
    assert result["holdout"] is False
    assert {a["experiment"] for a in result["assignments"]} <= {"enc-v1", "rerank-dedupe"}
    assert result["served"]["k"] == 20
    listed = json.loads(runner.invoke(app, ["experiments", "list", "--json"]).stdout)
    enc = next(e for e in listed["experiments"] if e["name"] == "enc-v1")
    assert enc["buckets"] == [0, 5000] and enc["status"] == "running" and enc["file"].endswith("enc-v1.yaml")
    assert set(listed["holdout"]) == {"share", "salt"}
    shown = json.loads(runner.invoke(app, ["experiments", "show", "rerank-dedupe", "--json"]).stdout)
    assert shown["experiment"]["salt"] == "rerank-dedupe" and shown["file"].endswith("rerank-dedupe.yaml")
    missing = runner.invoke(app, ["experiments", "show", "nope"])
    assert isinstance(missing.exception, UnknownExperimentError)
    bad_attr = runner.invoke(app, ["experiments", "assign", "user-3", "--attr", "platform"])
    assert bad_attr.exit_code == 2 and "not key=value" in bad_attr.output


def test_validate_reports_hostile_files_as_lines(app: typer.Typer, artifacts: ArtifactStore, tmp_path: Path) -> None:
    """Regression: `!!float abc`, an impossible date and 5,000-deep nesting escaped as tracebacks (exit 1)."""
    files = {
        "a.yaml": "traffic: !!float abc\n",
        "b.yaml": "name: b\nstart: 2026-02-30\n",
        "c.yaml": "a: " + "[" * 5000 + "]" * 5000 + "\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    result = CliRunner().invoke(app, ["experiments", "validate", *(str(tmp_path / name) for name in files)])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
    lines = result.stdout.splitlines()
    assert [line.split(": ")[0] for line in lines] == [f"{tmp_path / 'a.yaml'}:1", f"{tmp_path / 'b.yaml'}:2",
                                                       f"{tmp_path / 'c.yaml'}:1"]  # fmt: skip
    assert "cannot read 'abc' as float" in lines[0] and "day is out of range for month" in lines[1]
