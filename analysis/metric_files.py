"""Metric files → a checked `MetricCatalog`, every mistake reported as `file:line field: message`.

The shipped definitions (`analysis/builtin_metrics.yaml`) come first, then each `*.yaml` of the metrics folder.
A file is checked against the schema (`analysis.metric_schema`), then against the events table (event types,
columns and their types, via `analysis.measures`) and the declared user attributes; across files, names are
unique, a per-user column means one thing, and a `pre_period` names a metric of the same type. One issue in
any file stops the load: a catalogue is used whole or not at all.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from analysis.catalog import MetricCatalog, build_metric, measure_fields, spec_measures
from analysis.errors import MetricDefinitionError
from analysis.measures import Measure, column_problem, measure_problem
from analysis.metric_schema import CappingSpec, FilterSpec, MeasureSpec, MetricFile, MetricSpec
from analysis.metrics import Metric
from analysis.yaml_source import read_metric_file
from config_files import ConfigIssue, Loc, SourceFile

BUILTIN_FILE = "builtin_metrics.yaml"
RESERVED_NAMES = frozenset({"interleaving_preference"})
"""Names results use for rows that no metric file defines."""
_MODELS = (MetricFile, MetricSpec, MeasureSpec, FilterSpec, CappingSpec)
_KNOWN_KEYS = sorted({name for model in _MODELS for name in model.model_fields})
_UNION_TAGS = ("str", "float", "int", "tuple[", "constrained-str")


@dataclass(frozen=True)
class _Parsed:
    """A schema-valid metric and where it was written."""

    spec: MetricSpec
    document: SourceFile
    loc: Loc


def _message(err: Any) -> str:
    """Pydantic's error in words for someone editing YAML."""
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(str(err["loc"][-1]), _KNOWN_KEYS, n=1)
        return f"unknown key (did you mean {close[0]!r}?)" if close else "unknown key"
    if kind == "missing":
        return "required key is missing"
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    if kind == "too_short":
        return f"must have at least {ctx['min_length']} item(s)"
    if kind in ("tuple_type", "list_type"):
        return "must be a list"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return "must be a mapping (key: value)"
    return err["msg"][0].lower() + err["msg"][1:]


def _schema_issues(document: SourceFile, exc: ValidationError) -> list[ConfigIssue]:
    """One issue per field; union members (a filter value may be text, a number or a list) each report an error
    for the same value, so only the first per field is kept."""
    issues: dict[Loc, ConfigIssue] = {}
    for err in exc.errors():
        if err["type"] == "too_short" and len(err["input"]) >= err["ctx"]["min_length"]:
            continue  # a list that only lost items to their own errors
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith(_UNION_TAGS)))
        issues.setdefault(loc, document.issue(loc, _message(err)))
    return list(issues.values())


def _structure(spec: MetricSpec) -> tuple[Loc, str] | None:
    """The fields a metric type needs and refuses."""
    parts = ("numerator", "denominator") if spec.type == "ratio" else ("measure",)
    for part in parts:
        if getattr(spec, part) is None:
            return (part,), f"a {spec.type} metric needs a {part}"
    for part in ("measure", "numerator", "denominator"):
        if part not in parts and getattr(spec, part) is not None:
            return (part,), f"a {spec.type} metric has {' and '.join(parts)}, not a {part}"
    if spec.type == "quantile":
        assert spec.measure is not None
        checks: list[tuple[bool, Loc, str]] = [
            (spec.level is None, ("level",), "a quantile metric needs a level in (0, 1), e.g. 0.95"),
            (spec.measure.aggregate is not None, ("measure", "aggregate"), "a quantile ranks values: no aggregate"),
            (spec.measure.column is None, ("measure", "column"), "a quantile needs the numeric column it ranks"),
            (spec.capping is not None, ("capping",), "quantiles are not capped (a cap only moves values above them)"),
            (spec.pre_period != "same", ("pre_period",), "quantiles have no CUPED covariate"),
        ]  # fmt: skip
        for failed, loc, message in checks:
            if failed:
                return loc, message
    elif spec.level is not None:
        return ("level",), "only quantile metrics have a level"
    if spec.type == "proportion":
        assert spec.measure is not None
        if spec.measure.aggregate not in (None, "any"):
            return ("measure", "aggregate"), "a proportion is the share of users with any such event: aggregate any"
        if spec.capping is not None:
            return ("capping",), "a proportion is 0 or 1 per user: nothing to cap"
    return None


def _spec_issues(parsed: _Parsed, attributes: Collection[str] | None) -> list[ConfigIssue]:
    """What the events table and the declared attributes say about one schema-valid metric."""
    spec, document, loc = parsed.spec, parsed.document, parsed.loc
    if spec.name in RESERVED_NAMES:
        return [document.issue((*loc, "name"), f"{spec.name!r} is reserved for results rows")]
    structure = _structure(spec)
    if structure:
        return [document.issue((*loc, *structure[0]), structure[1])]
    issues = []
    for part in ("measure", "numerator", "denominator"):
        if getattr(spec, part) is None:
            continue
        fields = measure_fields(spec, part)
        problem = measure_problem(**fields)
        if problem:
            issues.append(document.issue((*loc, part, *problem[0]), problem[1]))
            continue
        for i, item in enumerate(fields["filters"]):
            if item.attribute and attributes is not None and item.attribute not in attributes:
                known = ", ".join(sorted(attributes)) or "none"
                message = (
                    f"unknown user attribute {item.attribute!r} (declared in setting analysis.attributes: {known})"
                )
                issues.append(document.issue((*loc, part, "filters", i, "attribute"), message))
    if spec.type == "quantile" and not issues:
        assert spec.measure is not None and spec.measure.column is not None
        problem_text = column_problem(spec.measure.event, spec.measure.column, numeric=True)
        if problem_text:
            issues.append(document.issue((*loc, "measure", "column"), problem_text))
    return issues


def _parse(path: Path, file: str | None = None) -> tuple[list[_Parsed], list[ConfigIssue]]:
    """The schema-valid metrics of a file and every schema issue; a metric with issues is left out, the others
    go on to the next checks, so one run reports every mistake of the file."""
    document, issues = read_metric_file(path, file)
    if document is None:
        return [], issues
    try:
        parsed = MetricFile.model_validate(document.data)
    except ValidationError as exc:
        issues += _schema_issues(document, exc)
        bad = {err["loc"][1] for err in exc.errors() if err["loc"][:1] == ("metrics",) and len(err["loc"]) > 1}
        items = document.data.get("metrics") if isinstance(document.data, dict) else None
        if not isinstance(items, list):
            return [], issues
        good = [(i, MetricSpec.model_validate(item)) for i, item in enumerate(items) if i not in bad]
        return [_Parsed(spec, document, ("metrics", i)) for i, spec in good], issues
    return [_Parsed(spec, document, ("metrics", i)) for i, spec in enumerate(parsed.metrics)], issues


def _cross_issues(parsed: Sequence[_Parsed]) -> list[ConfigIssue]:
    """Names unique; one per-user column, one meaning; `pre_period` names a metric of the same type."""
    issues = []
    first: dict[str, _Parsed] = {}
    columns: dict[str, tuple[Measure, _Parsed, str]] = {}
    for p in parsed:
        where = p.document.issue
        if p.spec.name in first:
            other = first[p.spec.name]
            at = f"{other.document.file}:{other.document.line((*other.loc, 'name'))}"
            issues.append(where((*p.loc, "name"), f"metric {p.spec.name!r} is already defined at {at}"))
            continue
        first[p.spec.name] = p
        if p.spec.type == "quantile":
            continue
        for part, measure in spec_measures(p.spec).items():
            seen = columns.setdefault(measure.name, (measure, p, part))
            if not seen[0].same_as(measure):
                other = seen[1]
                at = f"{other.document.file}:{other.document.line((*other.loc, seen[2]))}"
                message = f"per-user column {measure.name!r} already counts something else ({other.spec.name}, {at})"
                issues.append(where((*p.loc, part), message))
    for p in parsed:
        target = p.spec.pre_period
        if target in ("same", "none") or p.spec.name not in first or first[p.spec.name] is not p:
            continue
        covariate = first.get(target)
        if covariate is None:
            issues.append(p.document.issue((*p.loc, "pre_period"), f"no metric {target!r} (same, none or a metric)"))
        elif covariate.spec.type == "quantile" or (covariate.spec.type == "ratio") != (p.spec.type == "ratio"):
            message = f"{target!r} is a {covariate.spec.type} metric: a {p.spec.type} needs a covariate of its kind"
            issues.append(p.document.issue((*p.loc, "pre_period"), message))
    return issues


def _catalog(parsed: Sequence[_Parsed]) -> MetricCatalog:
    specs = {p.spec.name: p.spec for p in parsed}
    metrics: dict[str, Metric] = {}

    def covariate(spec: MetricSpec) -> Metric | None:
        if spec.pre_period == "none" or spec.type == "quantile":
            return None
        target = spec.name if spec.pre_period == "same" else spec.pre_period
        return build_metric(specs[target], None)

    for name, spec in specs.items():
        metrics[name] = build_metric(spec, covariate(spec))
    files = {p.spec.name: p.document.file for p in parsed}
    return MetricCatalog(metrics, specs, files)


def load_metric_files(paths: Iterable[Path], attributes: Collection[str] | None = None) -> MetricCatalog:
    """The built-in metrics plus the given files, checked together; raises `MetricDefinitionError` listing every
    issue. `attributes`: the user attributes filters may name (None: any valid name)."""
    parsed, issues = _builtin_parsed()
    for path in paths:
        found, file_issues = _parse(Path(path))
        issues += file_issues
        for p in found:
            file_issues = _spec_issues(p, attributes)
            issues += file_issues
            if not file_issues:
                parsed.append(p)
    issues += _cross_issues(parsed)
    if issues:
        raise MetricDefinitionError(sorted(set(issues)))
    return _catalog(parsed)


def metric_files(folder: Path) -> list[Path]:
    """The `*.yaml` files of a metrics folder (none when it does not exist: the built-ins alone)."""
    return sorted(Path(folder).glob("*.yaml")) if Path(folder).is_dir() else []


def load_catalog(folder: Path | None, attributes: Collection[str] | None = None) -> MetricCatalog:
    """The built-in metrics plus the folder's definitions."""
    return load_metric_files(metric_files(folder) if folder else [], attributes)


def _builtin_parsed() -> tuple[list[_Parsed], list[ConfigIssue]]:
    source = resources.files("analysis").joinpath(BUILTIN_FILE)
    with resources.as_file(source) as path:
        parsed, issues = _parse(path, f"analysis/{BUILTIN_FILE}")
    return parsed, issues + [i for p in parsed for i in _spec_issues(p, None)]


@cache
def builtin_catalog() -> MetricCatalog:
    """The eleven shipped metrics."""
    return load_metric_files([])
