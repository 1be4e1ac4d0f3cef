"""`vsx power`: the command registered on a fresh app, so this test needs no other command module."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from experiments.errors import PowerInputError
from experiments.power import sample_size
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


def test_json_plan_with_holm_level_and_cuped(app):
    args = ["power", "--baseline-ctr", "0.1", "--mde", "0.05", "--arms", "3", "--cuped-reduction", "0.3", "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    expected = sample_size(0.1, 0.05, arms=3, cuped_reduction=0.3)
    assert plan["test_alpha"] == 0.025 and plan["users_per_arm"] == expected.users_per_arm
    assert plan["total_users"] == 3 * expected.users_per_arm and plan["cuped_reduction"] == 0.3


def test_table_names_the_holm_level(app):
    result = CliRunner().invoke(app, ["power", "--baseline-ctr", "0.1", "--mde", "0.05", "--arms", "4"])
    assert result.exit_code == 0, result.output
    assert "0.01667 (Holm across 3 treatments)" in result.output


def test_absurd_mde_is_an_input_error(app):
    result = CliRunner().invoke(app, ["power", "--baseline-ctr", "0.08", "--mde", "1e-300"])
    assert isinstance(result.exception, PowerInputError) and "would need more than" in str(result.exception)
