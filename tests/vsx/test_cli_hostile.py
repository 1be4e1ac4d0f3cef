"""The real `vsx` script on hostile input: one `error:` line and exit 2, never a traceback or a native crash.

Regression tests: settings errors (`VSX_EMBEDDED=maybe`, a malformed `vsx.toml`) and arguments that
are not UTF-8 ended in tracebacks, `index build --factory HNSW0` died of SIGABRT inside Faiss, and `eval-trec` on a
truncated `.gz` printed a bare "Aborted!" (Click's answer to an EOFError) with exit 1.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import pytest

from search_core.artifacts import ArtifactStore
from search_core.catalog import load_catalog
from search_core.training import build_pixels_encoder
from tests.search_core.small_catalog import write_fashion_folder

pytestmark = pytest.mark.slow  # each test starts the `vsx` script (a second or two; torch for `index build`)

VSX = str(Path(sys.executable).with_name("vsx"))
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "experiments"


def run_vsx(args: list[str | bytes], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("VSX_")}
    clean.update({"VSX_CONFIG_FILE": str(tmp_path / "absent.toml"), "VSX_DATA_DIR": str(tmp_path / "data"), **env})
    return subprocess.run([VSX, *args], env=clean, cwd=tmp_path, capture_output=True, text=True, timeout=300)


def assert_one_error_line(done: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines[-1].startswith("error: "), done.stderr
    assert all(part in lines[-1] for part in expected), lines[-1]


def test_an_invalid_setting_in_the_environment(tmp_path: Path) -> None:
    done = run_vsx(["config"], tmp_path, VSX_EMBEDDED="maybe")
    assert_one_error_line(done, "invalid setting embedded", "VSX_EMBEDDED", "'maybe'")


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("embedded = \n", "not valid TOML: Invalid value (at line 1, column 12)"),
        ("[kafka]\npartitions = 0\n", "invalid setting kafka.partitions"),
        (b"data_dir = '\xff'\n", "cannot read"),
    ],
)
def test_a_malformed_vsx_toml(tmp_path: Path, toml: str | bytes, expected: str) -> None:
    path = tmp_path / "vsx.toml"
    path.write_bytes(toml if isinstance(toml, bytes) else toml.encode())
    done = run_vsx(["config"], tmp_path, VSX_CONFIG_FILE=str(path))
    assert_one_error_line(done, str(path) if "invalid setting" not in expected else "", expected)


@pytest.mark.parametrize(
    "args",
    [
        ["experiments", "assign", b"caf\xc3"],
        ["export-pairs", b"\xff\xfe", "--out", "pairs.jsonl"],
    ],
)
def test_arguments_that_are_not_utf8(tmp_path: Path, args: list[str | bytes]) -> None:
    done = run_vsx(args, tmp_path, VSX_EXPERIMENTS_DIR=str(EXAMPLES))
    assert_one_error_line(done, "arguments must be UTF-8 text")
    assert not (tmp_path / "pairs.jsonl").exists()


def test_truncated_gzip_qrels(tmp_path: Path) -> None:
    qrels = tmp_path / "qrels.txt.gz"
    qrels.write_bytes(gzip.compress(b"q1 0 a 1\n" * 5_000)[:-8])
    (tmp_path / "run.txt").write_text("q1 Q0 a 1 1.0 t\n")
    done = run_vsx(["eval-trec", str(qrels), str(tmp_path / "run.txt")], tmp_path)
    assert_one_error_line(done, f"cannot read {qrels}")


def test_a_factory_that_aborted_faiss(tmp_path: Path) -> None:
    catalog = load_catalog(str(write_fashion_folder(tmp_path / "catalog", 20)))
    build_pixels_encoder(ArtifactStore(tmp_path / "artifacts"), name="pixels", catalog=catalog)
    done = run_vsx(
        ["index", "build", "pixels@1", "--factory", "HNSW0"], tmp_path, VSX_ARTIFACTS_DIR=str(tmp_path / "artifacts")
    )
    assert_one_error_line(done, "bad Faiss factory string 'HNSW0': HNSW's M is 0")


def test_an_unknown_event_source(tmp_path: Path) -> None:
    """The pipelines refuse it with their own error (they import no CLI framework): one line, exit 2."""
    done = run_vsx(["export-pairs", "exp", "--out", str(tmp_path / "p.jsonl"), "--source", "nope"], tmp_path)
    assert_one_error_line(done, "--source: 'nope' is not one of clickhouse, embedded")


def test_analyze_name_cannot_climb_out_of_the_reports_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: `vsx analyze ../../x --per-user f.csv` wrote its report outside the reports folder."""
    from typer.testing import CliRunner

    from search_core.artifacts import InvalidNameError
    from tests.vsx.test_cli_analyze import write_per_user_csv
    from vsx.cli import app
    from vsx.settings import get_settings

    reports = tmp_path / "a" / "b" / "reports"
    monkeypatch.setenv("VSX_REPORTS_DIR", str(reports))
    monkeypatch.setenv("VSX_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VSX_CONFIG_FILE", str(tmp_path / "absent.toml"))
    get_settings.cache_clear()
    users = write_per_user_csv(tmp_path / "users.csv", users=200)
    try:
        result = CliRunner().invoke(app, ["analyze", "../../x", "--per-user", str(users)])
    finally:
        get_settings.cache_clear()
    assert not (tmp_path / "a" / "x").exists()
    assert isinstance(result.exception, InvalidNameError)
