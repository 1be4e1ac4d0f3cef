"""A CLI that answers at once: help and light commands import none of the heavy stack, help shows one kind of
placeholder, values copied for --help match their sources. Timings live in benchmarks/cli.py, not here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from typer.testing import CliRunner

from vsx.cli import COMMANDS, app, commands_of
from vsx.commands import help_values

HEAVY = ("torch", "torchvision", "faiss", "scipy", "matplotlib", "pandas", "statsmodels", "chdb", "fastapi",
         "sklearn", "pyarrow", "numba", "kafka", "clickhouse_driver")  # fmt: skip
"""Modules that cost ~0.2-3 s each to import: nothing that only lists or explains may load them."""

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "experiments"


def every_help() -> list[list[str]]:
    """`--help` of the group, every command and every subcommand."""
    words: list[list[str]] = [[]]
    for name, (module, _) in COMMANDS.items():
        command = commands_of(module)[name]
        words.append([name])
        words += [[name, sub] for sub in getattr(command, "commands", {})]
    return [[*w, "--help"] for w in words]


def heavy_after(runs: list[list[str]], env: dict[str, str] | None = None) -> dict[str, list[str]]:
    """Run each argument list through the CLI in one fresh interpreter; the heavy modules each run added."""
    code = f"""
import json, sys
from vsx.cli import app
heavy, seen = {HEAVY!r}, {{}}
for args in {runs!r}:
    try:
        app(args, standalone_mode=False)
    except SystemExit:
        pass
    seen[" ".join(args)] = [m for m in heavy if m in sys.modules and m not in sum(seen.values(), [])]
print(json.dumps(seen))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_no_help_imports_the_heavy_stack() -> None:
    loaded = heavy_after(every_help())
    assert len(loaded) > len(COMMANDS)
    assert {args: mods for args, mods in loaded.items() if mods} == {}


def test_light_commands_import_no_heavy_module(tmp_path: Path) -> None:
    env = {**_clean_env(), "VSX_HOME": str(tmp_path), "VSX_EXPERIMENTS_DIR": str(EXAMPLES)}
    runs = [["config"], ["experiments", "list"], ["experiments", "show", "enc-v1"], ["experiments", "assign", "u1"],
            ["experiments", "validate", "--skip-artifacts", str(EXAMPLES)], ["artifacts", "list"],
            ["services", "status"], ["--version"], ["power", "--baseline-ctr", "0.08", "--mde", "0.03"]]  # fmt: skip
    assert {args: mods for args, mods in heavy_after(runs, env).items() if mods} == {}


def test_values_copied_for_help_match_their_sources() -> None:
    from analysis.pairs import DEFAULT_MIN_DWELL_MS, DEFAULT_PROPENSITY_CLIP
    from search_core.encoders import ENCODERS
    from search_core.training import TRAIN_CONFIGS

    assert tuple(sorted(ENCODERS)) == help_values.ENCODER_NAMES
    assert tuple(sorted(TRAIN_CONFIGS)) == help_values.TRAIN_PRESETS
    assert (help_values.MIN_DWELL_MS, help_values.PROPENSITY_CLIP) == (DEFAULT_MIN_DWELL_MS, DEFAULT_PROPENSITY_CLIP)


def test_help_shows_one_kind_of_placeholder() -> None:
    """A value is shown as capitals (`--out OUT`, `ENCODER@V`) or its choices (`holm|bh`); a flag shows nothing.
    (Usage lines keep typer's own marks: `{EXPERIMENT}` required, `[EXPERIMENT]` optional.)"""
    shown = []
    for args in every_help():
        text = CliRunner().invoke(app, args).output
        assert "<str>" not in text and "<bool>" not in text and "<int" not in text and "<path>" not in text
        shown.append(text)

    def check(command: click.Command) -> None:
        for param in command.params:
            if getattr(param, "is_flag", False) or getattr(param, "count", False):
                assert param.metavar == "", (command.name, param.name)
            else:
                assert param.metavar and (param.metavar.isupper() or "|" in param.metavar), (command.name, param.name)
        for sub in getattr(command, "commands", {}).values():
            check(sub)

    for name, (module, _) in COMMANDS.items():
        check(commands_of(module)[name])
    assert "--out OUT" in CliRunner().invoke(app, ["analyze", "--help"]).output


def test_version() -> None:
    from importlib.metadata import version

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"vsx {version('vsx')}"


def test_tables_are_not_cut_when_piped(tmp_path: Path) -> None:
    """CliRunner's output is not a terminal, like a pipe: every cell stays whole on its row."""
    folder = tmp_path / "experiments"
    folder.mkdir()
    for file in EXAMPLES.glob("*.yaml"):
        (folder / file.name).write_text(file.read_text())
    long_name = "an-experiment-whose-name-alone-is-longer-than-eighty-columns-of-a-terminal-" + "x" * 20
    enc = (folder / "enc-v1.yaml").read_text().replace("name: enc-v1", f"name: {long_name}")
    (folder / f"{long_name}.yaml").write_text(enc)
    (folder / "enc-v1.yaml").unlink()
    result = CliRunner().invoke(app, ["experiments", "list", "--dir", str(folder)], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if long_name in line)
    assert "control* 0.5, treatment 0.5" in row and "2026-11-20 00:00 → open" in row


def test_logs_stay_at_warning_unless_asked(tmp_path: Path) -> None:
    """Loading experiments logs at INFO: silent by default, shown with -v."""
    env = {**_clean_env(), "VSX_HOME": str(tmp_path)}
    words = ["experiments", "list", "--dir", str(EXAMPLES)]
    quiet = _vsx(words, env)
    loud = _vsx(["-v", *words], env)
    assert quiet.returncode == loud.returncode == 0
    assert "loaded 2 experiments" not in quiet.stderr and "loaded 2 experiments" in loud.stderr


def test_progress_lines_show_without_v() -> None:
    code = """
import logging
from vsx.cli import app
app.registered_callback.callback(verbose=0, _version=False)
logging.getLogger("vsx.progress").info("[1/10] a step")
logging.getLogger("vsx.pipelines.artifacts").info("reusing an encoder")
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=_clean_env())
    assert "[1/10] a step" in done.stderr and "reusing" not in done.stderr


def test_completion_is_installable(tmp_path: Path) -> None:
    env = {**_clean_env(), "HOME": str(tmp_path), "SHELL": "/bin/bash"}
    # Typer finds the shell among the command's parent processes, as in a user's terminal: run it from bash
    # (the trailing command keeps bash from exec-ing vsx in its place), not from whatever started pytest.
    installed = subprocess.run(
        ["bash", "-c", f'"{_script()}" --install-completion; exit $?'],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert installed.returncode == 0, installed.stderr
    script = tmp_path / ".bash_completions" / "vsx.sh"
    assert script.is_file() and str(script) in (tmp_path / ".bashrc").read_text()

    def complete(words: str) -> list[str]:
        asked = {"_VSX_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(len(words.split()) - 1)}
        return subprocess.run(
            [_script()], env={**env, **asked}, capture_output=True, text=True, timeout=60
        ).stdout.split()

    assert complete("vsx exper") == ["experiments"]
    assert complete("vsx experiments l") == ["list"]


def test_an_unexpected_error_is_one_line_unless_verbose(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    import vsx.cli as cli

    def broken(**_: object) -> None:
        raise KeyError("a bug")

    monkeypatch.setattr(cli, "app", broken)
    monkeypatch.setattr(cli, "_verbosity", 0)
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    assert exit_info.value.code == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: unexpected KeyError: 'a bug' at ") and "-v" in lines[0]
    monkeypatch.setattr(cli, "_verbosity", 1)
    with pytest.raises(KeyError):
        cli.main()


def _script() -> str:
    return str(Path(sys.executable).parent / "vsx")


def _vsx(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_script(), *args], env=env, capture_output=True, text=True, timeout=120)


def _clean_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("VSX_")} | {"VSX_CONFIG_FILE": "/nonexistent.toml"}
