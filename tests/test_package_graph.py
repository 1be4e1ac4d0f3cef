"""The package graph of `../shared/ARCHITECTURE.md`, read from every import in the tree (lazy ones included).

Each package imports only the packages below it; `config_files` is the leaf all of them may import. Inside the
`vsx` shell, commands import pipelines and never the reverse, and only the command line knows typer, so what the
pipelines do (`vsx serve`'s report refresh runs them too) does not depend on how a command was typed.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAY_IMPORT = {
    "config_files": set(),
    "search_core": {"config_files"},
    "experiments": {"config_files"},
    "event_logging": {"config_files"},
    "analysis": {"config_files", "event_logging"},
    "dashboards": {"config_files", "analysis"},
    "serving": {"config_files", "search_core", "experiments", "event_logging"},
    "vsx": {"config_files", "search_core", "experiments", "event_logging", "analysis", "dashboards", "serving"},
}


def imports(package: str) -> Iterator[tuple[str, str]]:
    """(module file relative to the root, imported module) for every absolute import under `package`."""
    for path in sorted((ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            else:
                continue
            yield from ((str(path.relative_to(ROOT)), name) for name in names)


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_each_package_imports_only_those_below_it(package: str) -> None:
    wrong = [
        (where, name)
        for where, name in imports(package)
        if (top := name.split(".")[0]) in MAY_IMPORT and top != package and top not in MAY_IMPORT[package]
    ]
    assert wrong == []


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_no_package_reaches_into_anothers_private_module(package: str) -> None:
    wrong = [
        (where, name)
        for where, name in imports(package)
        if name.split(".")[0] in MAY_IMPORT
        and name.split(".")[0] != package
        and any(part.startswith("_") for part in name.split(".")[1:])
    ]
    assert wrong == []


def test_pipelines_import_no_command_and_no_cli_framework() -> None:
    shell = list(imports("vsx"))
    from_pipelines = [(where, name) for where, name in shell if where.startswith("vsx/pipelines/")]
    assert [(w, n) for w, n in from_pipelines if n.startswith(("vsx.commands", "vsx.cli", "typer", "click"))] == []
    assert [w for w, n in shell if n == "typer" and not w.startswith(("vsx/cli.py", "vsx/commands/"))] == []
