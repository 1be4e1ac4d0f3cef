"""`vsx services status`: readable rows by default, the state as JSON with --json, a sentence when nothing runs."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vsx.cli import app
from vsx.services.process import process_identity
from vsx.services.stack import state_file
from vsx.settings import get_settings


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("VSX_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VSX_CONFIG_FILE", str(tmp_path / "absent.toml"))
    get_settings.cache_clear()
    yield tmp_path / "data"
    get_settings.cache_clear()


def test_nothing_started_says_so(data_dir: Path) -> None:
    result = CliRunner().invoke(app, ["services", "status"])
    assert result.exit_code == 0 and result.output.startswith("no local services started")
    assert str(state_file(data_dir)) in result.output
    assert json.loads(CliRunner().invoke(app, ["services", "status", "--json"]).output) == {}


def test_recorded_services_are_rows(data_dir: Path) -> None:
    path = state_file(data_dir)
    path.parent.mkdir(parents=True)
    state = {"services": {
        "tansu": {"pid": os.getpid(), **process_identity(os.getpid()), "ports": {"kafka": 1}, "log": "/tmp/tansu.log"},
        "clickhouse": {"pid": 999_999_999, "ports": {"tcp": 2, "http": 3}, "log": "/tmp/ch.log"},
    }}  # fmt: skip
    path.write_text(json.dumps(state))
    result = CliRunner().invoke(app, ["services", "status"])
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): line for line in result.output.splitlines() if "│" in line}
    assert "running" in rows["tansu"] and "kafka 1 closed" in rows["tansu"]
    assert "gone" in rows["clickhouse"] and "tcp 2 closed, http 3 closed" in rows["clickhouse"]
    shown = json.loads(CliRunner().invoke(app, ["services", "status", "--json"]).output)
    assert shown["clickhouse"]["state"] == "gone" and shown["tansu"]["ports"]["kafka"] == {"port": 1, "open": False}
