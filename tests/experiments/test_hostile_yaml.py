"""Hostile experiment files: each is one issue at its line, quickly, never a hang, a traceback or a native crash.

Regression tests: a 400-byte "billion laughs" file hung validation and reload (> 1 GB), 5,000-deep
nesting and values YAML cannot build (`2026-02-30`, `!!float abc`) escaped as exceptions, a start date whose UTC
instant is before year 1 overflowed, and a 3 MB file took 67 s (a quadratic duplicate-name check).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from experiments.errors import ExperimentConfigError
from experiments.loader import load_files
from experiments.yaml_lines import MAX_DEPTH, MAX_FILE_BYTES, MAX_NODES, load_yaml, parse_yaml
from tests.experiments.test_loader import VALID

LAUGHS = "\n".join(
    ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    + [f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]" for a, b in zip("abcdefgh", "bcdefghi", strict=True)]
)


def _issues(path: Path) -> list[str]:
    with pytest.raises(ExperimentConfigError) as info:
        load_files([path])
    return [str(issue) for issue in info.value.issues]


@pytest.mark.timeout(60)  # before the fix this allocated gigabytes for minutes
def test_billion_laughs_is_refused_before_expansion(write_yaml: Callable) -> None:
    assert len(LAUGHS) < 500
    path = write_yaml("enc", LAUGHS)
    assert _issues(path) == [f"{path}:6: aliases expand the document to more than {MAX_NODES:,} nodes"]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("a: " + "[" * 5000 + "]" * 5000, 1, "nest"),  # libyaml's own limit (1,000) may speak first
        ("a:\n" + "".join(f"{'  ' * i}- \n" for i in range(1, 60)), 33, f"nested deeper than {MAX_DEPTH} levels"),
        ("a: &x " + "[" * 20 + "1" + "]" * 20 + "\nb: " + "[" * 20 + "*x" + "]" * 20, 2, "aliases nest"),
        ("a: &a [*a]\n", 1, "an alias refers to the anchor it is inside of"),
        ("name: enc\nstart: 2026-02-30\n", 2, "cannot read '2026-02-30' as timestamp: day is out of range for month"),
        ("start: 2026-01-01 25:00:00\n", 1, "cannot read '2026-01-01 25:00:00' as timestamp: hour must be in 0..23"),
        ("owner: x\ntraffic: !!float abc\n", 2, "cannot read 'abc' as float"),
        ("offset: !!int 1x\n", 1, "cannot read '1x' as int"),
        ("a: !!python/object/apply:os.system [echo hi]\n", 1, "could not determine a constructor"),
    ],
)
def test_unbuildable_documents_are_one_issue_at_their_line(
    write_yaml: Callable, text: str, line: int, message: str
) -> None:
    path = write_yaml("enc", text)
    (issue,) = _issues(path)
    assert issue.startswith(f"{path}:{line}: ") and message in issue, issue


@pytest.mark.parametrize("start", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_a_start_outside_the_utc_calendar_is_a_field_error(write_yaml: Callable, start: str) -> None:
    path = write_yaml("enc", VALID.replace("start: 2026-11-20T00:00:00Z", f"start: {start}"))
    assert _issues(path) == [f"{path}:6 start: {start} is outside the years 1-9999 in UTC"]


def test_an_oversized_file_is_refused_unread(write_yaml: Callable) -> None:
    path = write_yaml("enc", VALID + "description: " + "x" * (3 * 1024 * 1024) + "\n")
    assert _issues(path) == [f"{path}:1: file is larger than {MAX_FILE_BYTES // 1024} KiB"]


def test_thousands_of_variants_are_checked_in_one_pass(write_yaml: Callable) -> None:
    """The duplicate-name check compared each variant with every earlier one (quadratic: 67 s for 3 MB)."""
    rows = "".join(f"  - {{name: v{i % 5000}, weight: 0.0001}}\n" for i in range(6000))
    path = write_yaml("enc", VALID.split("variants:")[0] + "variants:\n" + rows + "primary_metric: ctr\n")
    assert len(path.read_bytes()) < MAX_FILE_BYTES
    issues = _issues(path)
    assert sum("duplicate variant name" in issue for issue in issues) == 1000
    control = next(issue for issue in issues if " control: " in issue)
    assert control.endswith("(variants: v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, … (6000 in all))")


def test_parse_yaml_keeps_merge_keys_and_lines() -> None:
    source, issues = parse_yaml("x: &x {a: 1}\ny:\n  <<: *x\n  b: 2\n", "f.yaml")
    assert issues == [] and source is not None
    assert source.data == {"x": {"a": 1}, "y": {"a": 1, "b": 2}}
    assert source.line(("y", "b")) == 4


def test_load_yaml_is_the_same_bounded_reader(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(LAUGHS)
    with pytest.raises(ExperimentConfigError, match="aliases expand"):
        load_yaml(path)
    path.write_text("status: running\n")
    assert load_yaml(path) == {"status": "running"}
