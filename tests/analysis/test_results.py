"""The results.json contract: version 3 round-trips its Bayesian and segment fields; older versions are refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pytest

from analysis import AnalysisPlan, ExperimentData, Moments, Results, ResultsVersionError, analyze

COLUMNS = ("impressions", "clicks")


def _results() -> Results:
    rng = np.random.default_rng(1)
    impressions = rng.poisson(30, (4, 500)) + 1

    def arm(i: int) -> Moments:
        return Moments.from_values(COLUMNS, np.column_stack([impressions[i], rng.binomial(impressions[i], 0.1)]))

    segments = {"platform": {"web": {"control": arm(0), "treatment": arm(1)}}}
    data = ExperimentData("test", {"control": arm(2), "treatment": arm(3)}, segments=segments)
    return analyze(data, AnalysisPlan("exp", engine="bayesian", segments=("platform",)))


def test_version_3_round_trips(tmp_path: Path) -> None:
    results = _results()
    path = results.write(tmp_path / "results.json")
    again = Results.read(path)
    assert again == results and again.schema_version == 3
    raw = orjson.loads(path.read_bytes())
    row = raw["results"][0]
    assert row["engine"] == "bayesian" and set(row["risk"]) == {"control", "treatment"} and row["p_value"] is None
    assert raw["segments"][0]["attribute"] == "platform" and raw["segments"][0]["segment"] == "web"
    assert raw["design"]["bayesian"]["prior"] == "flat" and raw["design"]["segments"] == ["platform"]


@pytest.mark.parametrize("version", [1, 2])
def test_older_versions_are_refused_in_one_line(tmp_path: Path, version: int) -> None:
    path = tmp_path / "results.json"
    path.write_bytes(orjson.dumps({**orjson.loads(_results().model_dump_json()), "schema_version": version}))
    with pytest.raises(ResultsVersionError) as caught:
        Results.read(path)
    message = str(caught.value)
    assert "\n" not in message and f"schema version {version}, this vsx reads 3: re-run `vsx analyze`" in message
