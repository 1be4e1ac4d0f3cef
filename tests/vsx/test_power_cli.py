"""`vsx power`: the command registered on a fresh app, so this test needs no other command module."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from experiments.errors import PowerInputError
from vsx.commands import power


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    power.register(app)
    app.callback()(lambda: None)
    return app


def test_sample_size_with_design_effect(app):
    args = ["power", "--baseline-ctr", "0.08", "--mde", "0.03", "--impressions-per-user", "20", "--icc", "0.05"]
    result = CliRunner().invoke(app, [*args, "--daily-users", "20000"])
    assert result.exit_code == 0, result.output
    assert "19,557" in result.output and "39,114" in result.output and "1.95" in result.output


def test_mde_for_given_users(app):
    result = CliRunner().invoke(app, ["power", "--baseline-ctr", "0.08", "--users-per-arm", "100000"])
    assert result.exit_code == 0, result.output
    assert "+4.25%" in result.output


def test_needs_exactly_one_of_mde_and_users(app):
    result = CliRunner().invoke(app, ["power", "--baseline-ctr", "0.08"])
    assert isinstance(result.exception, PowerInputError)
