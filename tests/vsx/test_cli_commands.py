"""The `vsx` group loads a command's module only when asked: the COMMANDS map must name every command of
every module in `vsx/commands/` with the first line of its help, and an expected error of a package that was
never imported is not looked for."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
from typer.testing import CliRunner

import vsx.commands
from vsx.cli import COMMANDS, app, commands_of, is_expected
from vsx.errors import VsxError


def test_every_registered_command_is_in_the_map() -> None:
    for info in pkgutil.iter_modules(vsx.commands.__path__):
        if not hasattr(importlib.import_module(f"vsx.commands.{info.name}"), "register"):
            continue  # a helper of the commands (output, help_values), not a command module
        mapped = {name for name, (module, _) in COMMANDS.items() if module == info.name}
        assert set(commands_of(info.name)) == mapped, info.name


def test_the_listing_shows_each_commands_own_first_help_line() -> None:
    """`vsx --help` lists commands from COMMANDS without importing them; the line must not drift from the help."""
    for name, (module, line) in COMMANDS.items():
        assert (commands_of(module)[name].help or "").strip().splitlines()[0] == line, name
    listing = " ".join(CliRunner().invoke(app, ["--help"]).output.split())
    assert all(" ".join(line.split()) in listing for _, line in COMMANDS.values())


def test_expected_errors_are_ours() -> None:
    assert is_expected(VsxError("bad settings"))
    assert not is_expected(ValueError("a bug"))


def test_a_light_command_does_not_import_torch() -> None:
    code = "import sys; from vsx.cli import app; app(['config'], standalone_mode=False); print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.splitlines()[-1] == "False"


def test_every_command_and_parameter_explains_itself() -> None:
    """`--help` is what a newcomer reads first: no command, argument or option may go without a sentence."""

    def unexplained(path: str, command: click.Command) -> list[str]:
        gaps = [] if command.help else [path]
        gaps += [f"{path} {p.name}" for p in command.params if p.name != "help" and not getattr(p, "help", None)]
        if isinstance(command, click.Group):
            gaps += [gap for name, sub in command.commands.items() for gap in unexplained(f"{path} {name}", sub)]
        return gaps

    commands = {name: cmd for module, _ in set(COMMANDS.values()) for name, cmd in commands_of(module).items()}
    assert [gap for name, cmd in commands.items() for gap in unexplained(name, cmd)] == []
    for words in (["catalog", "info"], ["train"], ["index", "build"], ["eval"], ["eval-trec"], ["artifacts", "list"]):
        shown = CliRunner().invoke(app, [*words, "--help"])
        assert shown.exit_code == 0 and f"Usage: vsx {' '.join(words)}" in " ".join(shown.output.split())


def test_serve_trusts_simulated_time_only_when_told(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`vsx simulate --url` needs a `vsx serve` that honours its clock: VSX_TRUST_CLIENT_TIME, off by default."""
    from vsx.pipelines.serving import serving_config
    from vsx.settings import Settings

    monkeypatch.setenv("VSX_CONFIG_FILE", str(tmp_path / "absent.toml"))
    monkeypatch.delenv("VSX_TRUST_CLIENT_TIME", raising=False)
    assert serving_config(Settings()).trust_client_time is False
    monkeypatch.setenv("VSX_TRUST_CLIENT_TIME", "true")
    assert serving_config(Settings()).trust_client_time is True
    assert serving_config(Settings()).client_time_window is None  # a simulation's calendar is its own


def test_the_client_time_window_reaches_every_worker(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from datetime import timedelta

    from pydantic import TypeAdapter

    from serving.config import ServingConfig
    from vsx.pipelines.serving import serving_config
    from vsx.settings import Settings

    monkeypatch.setenv("VSX_CONFIG_FILE", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("VSX_CLIENT_TIME_WINDOW_DAYS", "1.5")
    config = serving_config(Settings())
    assert config.client_time_window == timedelta(days=1.5)
    adapter = TypeAdapter(ServingConfig)  # how `vsx serve` hands the config to its uvicorn workers
    assert adapter.validate_json(adapter.dump_json(config)) == config
