"""The `vsx` group loads a command's module only when asked: the COMMANDS map must name every command of
every module in `vsx/commands/`, and an expected error of a package that was never imported is not looked for."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import vsx.commands
from vsx.cli import COMMANDS, commands_of, is_expected
from vsx.errors import VsxError


def test_every_registered_command_is_in_the_map() -> None:
    for info in pkgutil.iter_modules(vsx.commands.__path__):
        mapped = {name for name, module in COMMANDS.items() if module == info.name}
        assert set(commands_of(info.name)) == mapped, info.name


def test_expected_errors_are_ours() -> None:
    assert is_expected(VsxError("bad settings"))
    assert not is_expected(ValueError("a bug"))


def test_a_light_command_does_not_import_torch() -> None:
    code = "import sys; from vsx.cli import app; app(['config'], standalone_mode=False); print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.splitlines()[-1] == "False"
