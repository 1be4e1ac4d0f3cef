"""State paths come from the settings (VSX_HOME or the project root), never from the current folder, and every
"not found" names the folder and the setting that moves it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vsx.settings import Settings, checkout_root, default_home

REPO = Path(__file__).resolve().parents[2]


def vsx(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("VSX_")}
    script = Path(sys.executable).parent / "vsx"
    return subprocess.run([script, *args], cwd=cwd, env={**clean, **env}, capture_output=True, text=True, timeout=120)


def test_default_home_is_the_checkout_whatever_the_current_folder(tmp_path: Path) -> None:
    assert checkout_root() == REPO and default_home() == REPO
    shown = json.loads(vsx(["config"], cwd=tmp_path, VSX_CONFIG_FILE=str(tmp_path / "absent.toml")).stdout)
    assert shown["home"] == str(REPO) and shown["experiments_dir"] == str(REPO / "var" / "experiments")


def test_vsx_home_moves_every_relative_state_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VSX_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("VSX_REPORTS_DIR", "elsewhere/reports")  # relative: under home too
    monkeypatch.setenv("VSX_ARTIFACTS_DIR", str(tmp_path / "abs"))  # absolute: as given
    monkeypatch.setenv("VSX_CONFIG_FILE", str(tmp_path / "absent.toml"))
    settings = Settings()
    assert settings.home == tmp_path / "home"
    assert settings.data_dir == tmp_path / "home" / "var" / "data"
    assert settings.chdb_path == tmp_path / "home" / "var" / "data" / "chdb"
    assert settings.reports_dir == tmp_path / "home" / "elsewhere" / "reports"
    assert settings.artifacts_dir == tmp_path / "abs"


def test_vsx_toml_is_read_from_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "vsx.toml").write_text('experiments_dir = "mine"\nreport_refresh_minutes = 2.5\n')
    monkeypatch.delenv("VSX_CONFIG_FILE", raising=False)
    monkeypatch.setenv("VSX_HOME", str(tmp_path))
    settings = Settings()
    assert settings.experiments_dir == tmp_path / "mine" and settings.report_refresh_minutes == 2.5


def test_not_found_names_the_folder_and_the_setting(tmp_path: Path) -> None:
    env = {"VSX_HOME": str(tmp_path), "VSX_CONFIG_FILE": str(tmp_path / "absent.toml")}
    experiments = tmp_path / "var" / "experiments"

    listed = vsx(["experiments", "list"], cwd=REPO, **env)
    assert listed.returncode == 2
    assert listed.stderr.strip() == (
        f"error: experiments folder does not exist: {experiments}; "
        "set VSX_EXPERIMENTS_DIR (or VSX_HOME, for all state) to move it"
    )
    experiments.mkdir(parents=True)
    shown = vsx(["experiments", "show", "nope"], cwd=REPO, **env)
    assert shown.returncode == 2 and shown.stderr.strip() == (
        f"error: unknown experiment 'nope' (known: none) in {experiments}; "
        "set VSX_EXPERIMENTS_DIR (or VSX_HOME, for all state) to move it"
    )
    artifact = vsx(["artifacts", "show", "cnn@1"], cwd=REPO, **env)
    assert artifact.returncode == 2 and str(tmp_path / "var" / "artifacts") in artifact.stderr
    assert artifact.stderr.strip().endswith("set VSX_ARTIFACTS_DIR (or VSX_HOME, for all state) to move it")
    empty = vsx(["artifacts", "list"], cwd=REPO, **env)
    assert empty.returncode == 0 and str(tmp_path / "var" / "artifacts") in empty.stdout
    assert "set VSX_ARTIFACTS_DIR" in empty.stdout


def test_a_refused_setting_is_one_line_naming_its_variable(tmp_path: Path) -> None:
    done = vsx(["config"], cwd=tmp_path, VSX_CONFIG_FILE=str(tmp_path / "absent.toml"), VSX_REPORT_REFRESH_MINUTES="-1")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: invalid setting report_refresh_minutes: Input should be greater than or equal to 0 "
        f"(VSX_REPORT_REFRESH_MINUTES or {tmp_path / 'absent.toml'}, got '-1')"
    )
