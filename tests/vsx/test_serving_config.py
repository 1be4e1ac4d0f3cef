"""The app configurations a command builds from the settings: the server's, and a simulation's on a chosen backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from search_core.catalog import load_catalog
from vsx.pipelines.serving import Backend, serving_config, simulation_config
from vsx.settings import Settings


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("VSX_CONFIG_FILE", str(tmp_path / "absent.toml"))
    return Settings(data_dir=tmp_path / "data", artifacts_dir=tmp_path / "artifacts",
                    experiments_dir=tmp_path / "experiments", reports_dir=tmp_path / "reports")  # fmt: skip


def test_the_backend_is_the_settings_unless_a_command_chooses(settings: Settings) -> None:
    backend = Backend.from_settings(settings)
    assert (backend.embedded, backend.chdb_path, backend.spool_dir) == (True, settings.chdb_path, settings.spool_dir)
    assert (backend.kafka, backend.clickhouse) == (settings.kafka, settings.clickhouse)
    assert Backend.from_settings(settings, embedded=False).embedded is False  # `vsx demo --services`


def test_a_simulation_serves_the_settings_on_its_backend_trusting_its_clock(settings: Settings, tmp_path: Path) -> None:
    server = serving_config(settings)
    assert server.embedded and server.report_refresh_s > 0 and server.reports_dir == settings.reports_dir
    catalog = load_catalog("fashion-mnist")
    folder = tmp_path / "demo-experiments"
    simulated = simulation_config(settings, Backend.from_settings(settings, embedded=False), catalog, folder)
    assert (simulated.experiments_dir, simulated.catalog, simulated.embedded) == (folder, catalog.name, False)
    assert simulated.trust_client_time and simulated.client_time_window is None
    assert simulated.reports_dir is None and simulated.report_refresh_s == 0.0  # it analyses when its traffic ends
    assert (simulated.artifacts_dir, simulated.spool_dir) == (server.artifacts_dir, server.spool_dir)
    assert simulated.known_names == server.known_names
