"""`vsx train`, `vsx artifacts list|show` and `vsx catalog info` end to end on a tiny folder catalog."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import torch
from typer.testing import CliRunner

from search_core.catalog import load_catalog
from tests.search_core.small_catalog import write_fashion_folder
from vsx.cli import app, main
from vsx.settings import get_settings

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Settings folders under tmp_path and a catalog folder of 40 Fashion-MNIST images (plus a broken file)."""
    monkeypatch.setenv("VSX_ARTIFACTS_DIR", str(tmp_path / "artifacts"))
    monkeypatch.setenv("VSX_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VSX_CONFIG_FILE", str(tmp_path / "absent.toml"))
    get_settings.cache_clear()
    threads = torch.get_num_threads()
    write_fashion_folder(tmp_path / "shop", per_class=4)
    (tmp_path / "shop" / "Bag" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    yield tmp_path
    get_settings.cache_clear()
    torch.set_num_threads(threads)


def _invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _run_main(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Through `vsx.cli.main`, so expected errors become `error: ...` and exit code 2 as in a shell."""
    monkeypatch.setattr(sys, "argv", ["vsx", *args])
    with pytest.raises(SystemExit) as exit_info:
        main()
    return int(exit_info.value.code or 0), capsys.readouterr().err


def test_train_fine_tune_with_pairs_and_list(env: Path) -> None:
    shop = str(env / "shop")
    assert "encoder px@1: raw pixels → PCA 8, dim 8" in _invoke("train", "--encoder", "pixels", "--name", "px",
                                                                 "--catalog", shop, "--pca", "8")  # fmt: skip
    out = _invoke("train", "--config", "quick", "--epochs", "1", "--name", "cnn", "--catalog", shop)
    assert "encoder cnn@1: small_cnn dim 128, from scratch, 1 epoch(s)" in out
    catalog = load_catalog(shop)
    pairs = env / "pairs.jsonl"
    train = catalog.train_ids
    rows = [{"query_image_id": q, "result_image_id": train[0], "weight": 2} for q in train[1:6]]
    rows.append({"query_image_id": catalog.query_ids[0], "result_image_id": train[0]})  # a test image: held out
    pairs.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    out = _invoke("train", "--epochs", "1", "--from", "cnn@1", "--pairs", str(pairs))
    assert "encoder cnn@2: small_cnn dim 128, from cnn@1, 5 click pairs (1 held out) in 1 groups of 6 images" in out
    listing = _invoke("artifacts", "list", "--kind", "encoder")
    assert "cnn@2" in listing and "cnn@1" in listing and "px@1" in listing
    row = next(line for line in listing.splitlines() if "cnn@2" in line)
    assert "cnn@1" in row and str(len(rows)) in row
    shown = orjson.loads(_invoke("artifacts", "show", "cnn@2"))
    assert shown["parent_version"] == 1 and shown["pairs"]["count"] == len(rows)
    out = _invoke("retrain", "--from", "cnn@2", "--pairs", str(pairs), "--epochs", "1", "--factory", "Flat",
                  "--eval-queries", "0")  # fmt: skip
    assert "cnn@3: fine-tuned from cnn@2 on the click groups of" in " ".join(out.split())
    assert "cnn@2" in out and "validation_precision@10" in " ".join(out.split())
    assert orjson.loads(_invoke("artifacts", "show", "cnn@3"))["parent_version"] == 2


def test_catalog_info_counts_and_skipped(env: Path) -> None:
    out = _invoke("catalog", "info", "--catalog", str(env / "shop"))
    assert "40 images" in out and "Ankle_boot" in out
    assert "skipped 1 unreadable file(s)" in out and "Bag/broken.png" in out


def test_bad_input_exits_2_with_one_line(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shop = str(env / "shop")
    cases = [
        (["--encoder", "resnet9"], "error: unknown encoder 'resnet9'; known: pixels, resnet18, resnet50, small_cnn"),
        (["--config", "turbo"], "error: unknown training config 'turbo'; known: cpu, gpu, quick"),
        (["--from", "nope@1"], "error: unknown encoder artifact nope@1"),
        (
            ["--encoder", "resnet18", "--weights", str(env / "r18.pt")],
            f"error: weights file {env / 'r18.pt'} not found",
        ),
        (["--pairs", str(env / "none.jsonl")], "error: --pairs fine-tunes an encoder: name it with --from NAME@V"),
        (
            ["--encoder", "pixels", "--catalog", str(env / "nowhere")],
            "is neither 'fashion-mnist' nor an existing folder",
        ),
    ]
    for extra, message in cases:
        code, err = _run_main(monkeypatch, capsys, "train", "--catalog", shop, *extra)
        last = err.strip().splitlines()[-1]  # warnings about the broken file come first
        assert code == 2 and last.startswith("error: ") and message in last, (extra, err)
    for extra, message in [
        ([], "give either --pairs FILE or one or more --experiment NAME"),
        (["--pairs", str(env / "p.jsonl"), "--experiment", "e"], "give either --pairs FILE or one or more"),
    ]:
        (env / "p.jsonl").write_text("")
        code, err = _run_main(monkeypatch, capsys, "retrain", "--from", "nope@1", *extra)
        assert code == 2 and message in " ".join(err.split()), (extra, err)
