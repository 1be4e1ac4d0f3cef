"""`vsx index build`, `vsx index update`, `vsx eval` and `vsx eval-trec` on a small real catalog folder and the pixels
encoder."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from search_core.artifacts import ArtifactStore, InvalidNameError
from search_core.catalog import load_catalog
from search_core.errors import IndexUpdateError, InvalidFactoryError, InvalidSearchParamsError
from search_core.images import encode_png
from search_core.index import load_index
from search_core.training import build_pixels_encoder
from tests.search_core.small_catalog import write_fashion_folder
from vsx.commands import eval as eval_command
from vsx.commands import index as index_command
from vsx.commands.artifacts import lineage
from vsx.settings import get_settings

VSX = str(Path(sys.executable).with_name("vsx"))


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer()
    index_command.register(app)
    eval_command.register(app)
    return app


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    catalog = load_catalog(str(write_fashion_folder(tmp_path_factory.mktemp("catalog"), 20)))
    root = tmp_path_factory.mktemp("artifacts")
    build_pixels_encoder(ArtifactStore(root), name="pixels", catalog=catalog)
    return root


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch, artifacts: Path, tmp_path: Path) -> Iterator[Path]:
    monkeypatch.setenv("VSX_ARTIFACTS_DIR", str(artifacts))
    monkeypatch.setenv("VSX_REPORTS_DIR", str(tmp_path / "reports"))
    get_settings.cache_clear()
    yield tmp_path / "reports"
    get_settings.cache_clear()


def test_build_then_eval_records_metrics_and_writes_trec_files(app: typer.Typer, settings: Path, artifacts: Path):
    runner = CliRunner()
    built = runner.invoke(app, ["index", "build", "pixels@1", "--factory", "IVF4,Flat", "--param", "nprobe=4"])
    assert built.exit_code == 0, built.output
    assert "index pixels-ivf4-flat@1: IVF4,Flat" in built.output and "ANN recall@10 1.0000" in built.output
    evaluated = runner.invoke(app, ["eval", "pixels@1", "--index", "pixels-ivf4-flat@1", "--queries", "0"])
    assert evaluated.exit_code == 0, evaluated.output
    assert evaluated.output.index("precision@10") < evaluated.output.index("recall@10")
    folder = settings / "eval" / "pixels-ivf4-flat-1"
    manifest = ArtifactStore(artifacts).manifest("index", "pixels-ivf4-flat@1", verify=True)
    assert {"precision@10", "mrr@10", "ndcg@10", "ann_recall@10", "eval_queries"} <= set(manifest.metrics)
    trec = runner.invoke(app, ["eval-trec", str(folder / "qrels.txt.gz"), str(folder / "run.txt")])
    assert trec.exit_code == 0, trec.output
    printed = json.loads(trec.output)
    assert {"mrr@10", "precision@10", "recall@10", "map@10", "ndcg@10", "map@100"} <= set(printed)
    assert printed["precision@10"] == pytest.approx(manifest.metrics["precision@10"])
    narrow = runner.invoke(app, ["eval", "pixels@1", "--index", "pixels-ivf4-flat@1", "--param", "nprobe=1"])
    assert narrow.exit_code == 0, narrow.output
    assert "precision@10[nprobe=1]" in ArtifactStore(artifacts).manifest("index", "pixels-ivf4-flat@1").metrics


def test_bad_inputs_raise_search_core_errors(app: typer.Typer, settings: Path, artifacts: Path) -> None:
    runner = CliRunner()
    bad_factory = runner.invoke(app, ["index", "build", "pixels@1", "--factory", "HNSWxx"])
    assert isinstance(bad_factory.exception, InvalidFactoryError)
    outside = runner.invoke(app, ["index", "build", "pixels@1", "--factory", "Flat", "--name", "../../../x"])
    assert isinstance(outside.exception, InvalidNameError)  # regression: it wrote outside the artifacts folder
    assert not (artifacts.parent.parent / "x").exists()  # where artifacts/index/../../../x would be
    assert runner.invoke(app, ["index", "build", "pixels@1", "--factory", "Flat", "--name", "px"]).exit_code == 0
    bad_param = runner.invoke(app, ["eval", "pixels@1", "--index", "px@1", "--param", "efSearch=8"])
    assert isinstance(bad_param.exception, InvalidSearchParamsError)
    malformed = runner.invoke(app, ["eval", "pixels@1", "--index", "px@1", "--param", "nprobe"])
    assert malformed.exit_code == 2 and "KEY=NUMBER" in malformed.output


@pytest.mark.slow  # a fresh `vsx` process imports torch, fastapi and friends: ~5 s idle, ~20 s on a busy machine
def test_cli_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    (tmp_path / "qrels.txt").write_text("q1 0 a 1\n")
    (tmp_path / "run.txt").write_text("q1 Q0 a 1 high tag\n")
    result = subprocess.run(
        [VSX, "eval-trec", str(tmp_path / "qrels.txt"), str(tmp_path / "run.txt")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"error: {tmp_path / 'run.txt'}:1: score 'high' is not a number"]


def test_index_update_adds_a_folder_and_removes_ids(
    app: typer.Typer, settings: Path, artifacts: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VSX_DATA_DIR", str(tmp_path / "data"))  # where the catalog's added images go
    get_settings.cache_clear()
    runner = CliRunner()
    assert runner.invoke(app, ["index", "build", "pixels@1", "--factory", "Flat", "--name", "up"]).exit_code == 0
    store = ArtifactStore(artifacts)
    catalog = load_catalog(store.manifest("index", "up@1").catalog)
    new = tmp_path / "new" / catalog.class_names[2]
    new.mkdir(parents=True)
    fmnist = load_catalog("fashion-mnist")
    (new / "a.png").write_bytes(encode_png(fmnist.image("fmnist-test-000001")[::-1].copy()))
    gone = catalog.gallery_ids[:2]
    command = ["index", "update", "up@1", "--add", str(tmp_path / "new"), "--remove", ",".join(gone)]
    updated = runner.invoke(app, command)
    assert updated.exit_code == 0, updated.output
    assert "index up@2: up@1 + 1 added - 2 removed" in updated.output
    index = load_index(store, "up@2")
    assert f"{catalog.class_names[2]}/a.png" in index and gone[0] not in index
    assert lineage(store.manifest("index", "up@2")) == "pixels@1 (update of up@1: +1 -2)"
    assert len(list((tmp_path / "data" / "catalog").glob("*/images/*.png"))) == 1
    again = runner.invoke(app, ["index", "update", "up@1", "--remove", gone[0]])
    assert isinstance(again.exception, IndexUpdateError)
