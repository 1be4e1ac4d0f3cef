"""Loading and validation errors: every mistake reported as `file:line field: message`, all in one run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from experiments.errors import ConfigIssue, ExperimentConfigError
from experiments.loader import load_experiments, load_files
from experiments.schema import Platform
from experiments.validate import KnownNames

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "experiments"

VALID = """\
name: enc
owner: search-team
status: running
type: ab
layer: ranking
start: 2026-11-20T00:00:00Z
control: control
variants:
  - name: control
    weight: 0.5
  - name: treatment
    weight: 0.5
    encoder: cnn@1
    index: cnn-hnsw@1
primary_metric: ctr
"""


KNOWN = KnownNames(
    metrics={"ctr": "higher_is_better", "error_rate": "lower_is_better", "searches_per_user": "neutral"},
    attributes={"platform", "country"},
)
"""What an analysis catalogue would tell validation (vsx passes the real one)."""


def _issues(
    paths: list[Path], artifact_exists: Callable[[str, str], bool] | None = None, known: KnownNames | None = KNOWN
) -> list[str]:
    with pytest.raises(ExperimentConfigError) as info:
        load_files(paths, artifact_exists, known)
    assert str(info.value).splitlines()[1:] == [str(i) for i in info.value.issues]
    return [str(i) for i in info.value.issues]


def _edit(old: str, new: str) -> str:
    assert old in VALID
    return VALID.replace(old, new)


def test_valid_file_loads_with_defaults(write_yaml: Callable) -> None:
    exp_set = load_files([write_yaml("enc", VALID)])
    (exp,) = exp_set.experiments
    assert (exp.salt, exp.traffic, exp.offset, exp.hash_version, exp.end) == ("enc", 1.0, 0.0, 1, None)
    assert exp.analysis.correction == "holm" and exp.analysis.alpha == 0.05
    assert exp_set.platform == Platform()
    assert exp_set.files == {"enc": str(write_yaml("enc", VALID))}


def test_examples_folder_is_valid() -> None:
    exp_set = load_experiments(EXAMPLES, artifact_exists=lambda kind, ref: True)
    assert sorted(e.name for e in exp_set.experiments) == ["enc-v1", "rerank-dedupe"]
    assert exp_set.platform.holdout.share == 0.05


def test_unknown_key_is_reported_at_its_line_with_a_suggestion(write_yaml: Callable) -> None:
    path = write_yaml("enc", _edit("    weight: 0.5\n    encoder", "    wieght: 0.5\n    encoder"))
    assert _issues([path]) == [
        f"{path}:11 variants[1].weight: required key is missing",
        f"{path}:12 variants[1].wieght: unknown key (did you mean 'weight'?)",
    ]


def test_bad_weight(write_yaml: Callable) -> None:
    path = write_yaml("enc", _edit("    weight: 0.5\n    encoder", "    weight: 0\n    encoder"))
    assert _issues([path]) == [f"{path}:12 variants[1].weight: must be > 0"]


def test_weights_not_summing_to_one(write_yaml: Callable) -> None:
    path = write_yaml("enc", _edit("    weight: 0.5\n    encoder", "    weight: 0.4\n    encoder"))
    assert _issues([path]) == [f"{path}:8 variants: weights sum to 0.9, must sum to 1"]


def test_control_must_name_a_variant(write_yaml: Callable) -> None:
    path = write_yaml("enc", _edit("control: control", "control: baseline"))
    assert _issues([path]) == [f"{path}:7 control: 'baseline' is not a variant (variants: control, treatment)"]


def test_interleaving_with_three_variants(write_yaml: Callable) -> None:
    text = _edit("type: ab", "type: interleaving").replace("weight: 0.5", "weight: 0.25")
    text = text.replace("primary_metric", "  - name: third\n    weight: 0.5\nprimary_metric")
    path = write_yaml("enc", text)
    assert _issues([path]) == [f"{path}:8 variants: an interleaving experiment needs exactly 2 variants, got 3"]


def test_yaml_syntax_error_reports_the_parser_line(write_yaml: Callable) -> None:
    path = write_yaml("enc", _edit("    weight: 0.5\n    encoder", "    weight: [0.5\n    encoder"))
    (issue,) = _issues([path])
    assert issue.startswith(f"{path}:13: ") and "flow sequence" in issue


def test_duplicate_key(write_yaml: Callable) -> None:
    path = write_yaml("enc", VALID + "status: draft\n")
    assert _issues([path]) == [f"{path}:16 status: duplicate key (first at line 3)"]


def test_missing_artifact(write_yaml: Callable) -> None:
    path = write_yaml("enc", VALID)
    known = {("encoder", "cnn@1")}
    assert _issues([path], lambda kind, ref: (kind, ref) in known) == [
        f"{path}:14 variants[1].index: index artifact cnn-hnsw@1 not found"
    ]


def test_draft_may_reference_artifacts_not_built_yet(write_yaml: Callable) -> None:
    path = write_yaml("enc", _edit("status: running", "status: draft"))
    assert load_files([path], lambda kind, ref: False).experiments[0].status == "draft"


def test_overlapping_slices_across_files(write_yaml: Callable) -> None:
    first = write_yaml("enc", _edit("layer: ranking", "layer: ranking\ntraffic: 0.6"))
    second = write_yaml(
        "enc2", _edit("name: enc", "name: enc2").replace("layer: ranking", "layer: ranking\noffset: 0.5\ntraffic: 0.5")
    )
    assert _issues([first, second]) == [
        f"{second}:6 offset: slice [0.5, 1) of layer 'ranking' overlaps experiment 'enc' [0, 0.6) ({first}:1)",
    ]


def test_overlapping_slices_are_fine_when_windows_do_not_overlap(write_yaml: Callable) -> None:
    first = write_yaml("enc", _edit("layer: ranking", "layer: ranking\nend: 2026-11-25T00:00:00Z"))
    second = write_yaml("enc2", _edit("name: enc", "name: enc2").replace("2026-11-20", "2026-11-25"))
    assert len(load_files([first, second]).experiments) == 2


def test_every_error_of_every_file_is_reported(write_yaml: Callable) -> None:
    """One run lists schema errors, rule errors and syntax errors of several files, sorted by file and line."""
    text = _edit("control: control", "control: baseline").replace("weight: 0.5\n    encoder", "weight: 0\n    encoder")
    text = text.replace("primary_metric: ctr", "primary_metric: ctrr\nhash_version: 2")
    bad = write_yaml("enc", text)
    broken = write_yaml("broken", "name: broken\nowner: [x\n")
    issues = _issues([bad, broken])
    assert [i.split(" ")[0] for i in issues] == [
        f"{bad}:7",
        f"{bad}:12",
        f"{bad}:15",
        f"{bad}:16",
        f"{broken}:3:",
    ]
    assert issues[1] == f"{bad}:12 variants[1].weight: must be > 0"
    assert issues[3] == f"{bad}:16 hash_version: unsupported hash_version 2 (supported: 1)"


def test_name_must_match_the_file_name(write_yaml: Callable) -> None:
    path = write_yaml("encoder-test", VALID)
    assert _issues([path]) == [f"{path}:1 name: name 'enc' must match the file name 'encoder-test'.yaml"]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("type: ab", "type: ab\non: true", "5: key 'on' is not a string (YAML reads it as True); quote it"),
        ("status: running", "status: live", "3 status: input should be 'draft', 'running' or 'stopped'"),
        (
            "layer: ranking",
            "layer: Ranking",
            "5 layer: 'Ranking' must match [a-z0-9][a-z0-9_-]* (lower case, digits, '-', '_')",
        ),
        ("start: 2026-11-20T00:00:00Z", "start: 2026-11-20T00:00:00", "6 start: input should have timezone info"),
        (
            "encoder: cnn@1",
            "encoder: cnn",
            "13 variants[1].encoder: 'cnn' must be name@version with a positive integer version, e.g. cnn@1",
        ),
        (
            "    index: cnn-hnsw@1\n",
            "",
            "11 variants[1]: encoder and index must be set together (an index is built from one encoder)",
        ),
        (
            "primary_metric: ctr",
            "primary_metric: ctr\nsecondary_metrics: [ctr, clicks]",
            "16 secondary_metrics[1]: unknown metric 'clicks'",
        ),
        (
            "primary_metric: ctr",
            "primary_metric: searches_per_user",
            "15 primary_metric: searches_per_user is neutral (neither higher nor lower is better): a primary metric "
            "needs a direction",
        ),
        (
            "primary_metric: ctr",
            "primary_metric: ctr\nguardrails: [{metric: searches_per_user}]",
            "16 guardrails[0].metric: searches_per_user is neutral",
        ),
        (
            "primary_metric: ctr",
            "primary_metric: ctr\nsegments: [platform, app_version]",
            "16 segments[1]: unknown user attribute 'app_version' (declared: country, platform)",
        ),
        ("primary_metric: ctr", "primary_metric: ctr\nsegments: [Platform]", "16 segments[0]: 'Platform' is not a"),
        (
            "primary_metric: ctr",
            "primary_metric: ctr\nanalysis: {engine: bayesian, sequential: true}",
            "16 analysis: sequential testing is frequentist",
        ),
        (
            "primary_metric: ctr",
            "primary_metric: ctr\nanalysis: {engine: bayesian, bayesian: {chance_to_win: 0.4}}",
            "16 analysis.bayesian.chance_to_win: must be > 0.5",
        ),
        (
            "primary_metric: ctr",
            "primary_metric: ctr\nguardrails:\n  - {metric: error_rate, max: 0.1}",
            "17 guardrails[0]: guardrails are tests against control with a relative margin, not absolute bounds: "
            "replace max/min with e.g. `margin: 0.1` (at most 10 % worse than control)",
        ),
        (
            "primary_metric: ctr",
            "primary_metric: ctr\nguardrails:\n  - {metric: error_rate, margin: 0}",
            "17 guardrails[0].margin: must be > 0",
        ),
        (
            "primary_metric: ctr",
            "primary_metric: ctr\ntraffic: 0.7\noffset: 0.5",
            "16 traffic: offset 0.5 + traffic 0.7 exceeds the layer (must be <= 1)",
        ),
        (
            "primary_metric: ctr",
            "primary_metric: ctr\nend: 2026-11-01T00:00:00Z",
            "16 end: end 2026-11-01T00:00:00+00:00 must be after start 2026-11-20T00:00:00+00:00",
        ),
        ("primary_metric: ctr", "primary_metric: ctr\nanalysis: {alpha: 0.7}", "16 analysis.alpha: must be < 0.5"),
        (
            "primary_metric: ctr",
            "primary_metric: ctr\ntargeting: {platform: []}",
            "16 targeting.platform: must have at least 1 item(s)",
        ),
        (
            "    weight: 0.5\n    encoder",
            "    weight: 0.5\n    k: 101\n    encoder",
            "13 variants[1].k: must be <= 100",
        ),
        (
            "    weight: 0.5\n    encoder",
            "    weight: 0.5\n    index_params: {nprobe: [8]}\n    encoder",
            "13 variants[1].index_params: 'nprobe' must be a number, string or boolean (query-time index parameter)",
        ),
    ],
)
def test_schema_errors_name_line_and_field(write_yaml: Callable, old: str, new: str, expected: str) -> None:
    path = write_yaml("enc", _edit(old, new))
    issues = _issues([path])
    assert len(issues) == 1 and issues[0].startswith(f"{path}:{expected}")


def test_without_known_names_metric_names_are_checked_for_shape_only(write_yaml: Callable) -> None:
    path = write_yaml("enc", _edit("primary_metric: ctr", "primary_metric: revenue_per_user"))
    assert load_files([path]).experiments[0].primary_metric == "revenue_per_user"
    path = write_yaml("enc", _edit("primary_metric: ctr", "primary_metric: CTR"))
    assert _issues([path], known=None) == [f"{path}:15 primary_metric: 'CTR' is not a metric name ([a-z][a-z0-9_]*)"]


def test_platform_file(write_yaml: Callable, experiments_dir: Path) -> None:
    write_yaml("enc", VALID)
    write_yaml("platform", "holdout: {share: 0.6}\ndefault:\n  encoder: cnn@1\n  rerank: []\n")
    with pytest.raises(ExperimentConfigError) as info:
        load_experiments(experiments_dir)
    assert [str(i) for i in info.value.issues] == [
        f"{experiments_dir / 'platform.yaml'}:1 holdout.share: must be <= 0.5",
    ]


def test_folder_errors(tmp_path: Path, write_yaml: Callable, experiments_dir: Path) -> None:
    with pytest.raises(ExperimentConfigError, match="experiments folder does not exist"):
        load_experiments(tmp_path / "missing")
    (experiments_dir / "enc.yml").write_text(VALID)
    with pytest.raises(ExperimentConfigError, match="rename to .yaml"):
        load_experiments(experiments_dir)


def test_error_is_a_value_error_listing_every_issue() -> None:
    error = ExperimentConfigError(
        [ConfigIssue("a.yaml", 3, "k", "must be <= 100"), ConfigIssue("b.yaml", 1, "", "bad")]
    )
    assert isinstance(error, ValueError)
    assert str(error) == "2 errors in experiment configuration:\na.yaml:3 k: must be <= 100\nb.yaml:1: bad"


def test_the_holdout_reports_name_is_reserved(write_yaml: Callable) -> None:
    path = write_yaml("global-holdout", _edit("name: enc", "name: global-holdout"))
    assert f"{path}:1 name: name 'global-holdout' is reserved (the global holdout's report)" in _issues([path])
