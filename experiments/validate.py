"""Checks that need several fields, several files or the artifact store, each reported at a line.

Single-file rules (weights sum to 1, the control is a variant, an interleaving experiment has two
variants, the slice fits in its layer) and cross-file rules (unique names and salts, no overlapping
slices of running experiments in a layer, layers setting disjoint serving fields, interleaving experiments
live at the same time only in one layer, artifacts exist).
Two experiments only clash if both are running and their [start, end) windows overlap.
"""

from __future__ import annotations

import difflib
import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import combinations
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from experiments.errors import ConfigIssue
from experiments.hashing import BUCKETS
from experiments.schema import ATTRIBUTE_NAME, METRIC_NAME, Experiment, Platform, Variant
from experiments.slices import slice_range
from experiments.yaml_lines import Loc, SourceFile

ArtifactExists = Callable[[str, str], bool]
"""`artifact_exists(kind, ref)`: kind is "encoder" or "index", ref is `name@version`."""


@dataclass(frozen=True)
class KnownNames:
    """What the analysis can compute, passed in by the caller (this package imports no analysis): metric name →
    direction (`higher_is_better`, `lower_is_better`, `neutral`), and the user attributes segments may name."""

    metrics: Mapping[str, str]
    attributes: frozenset[str]


WEIGHT_TOLERANCE = 1e-9
RESERVED_NAMES = frozenset({"global-holdout"})
"""Names an experiment may not take: the holdout report's folder (`analysis.holdout.NAME`) beside theirs."""


@dataclass(frozen=True)
class ParsedExperiment:
    """A schema-valid experiment and the file it came from (for the lines of cross-file errors)."""

    source: SourceFile
    experiment: Experiment


@dataclass(frozen=True)
class ParsedPlatform:
    """A schema-valid `platform.yaml` and its source."""

    source: SourceFile
    platform: Platform


def check_experiment(src: SourceFile) -> list[ConfigIssue]:
    """Rules within one experiment file, run on the raw YAML data even when the schema rejected other fields.

    So one run reports every mistake: a rule needing a value that is missing or of the wrong type skips
    (the schema already reports that value), everything else is still checked.
    """
    data = src.data if isinstance(src.data, dict) else {}
    issues = []
    stem = Path(src.file).stem
    name = _field(Experiment, "name", data)
    if name is not None and name != stem:
        issues.append(src.issue(("name",), f"name {name!r} must match the file name {stem!r}.yaml"))
    if name in RESERVED_NAMES:
        issues.append(src.issue(("name",), f"name {name!r} is reserved (the global holdout's report)"))
    variants = data.get("variants")
    if isinstance(variants, list) and all(isinstance(v, dict) for v in variants):
        issues += _check_variants(src, data, variants)
    traffic, offset = _field(Experiment, "traffic", data), _field(Experiment, "offset", data)
    if traffic is not None and offset is not None:
        lo, hi = slice_range(traffic, offset)
        if offset + traffic > 1 + WEIGHT_TOLERANCE:
            message = f"offset {offset:g} + traffic {traffic:g} exceeds the layer (must be <= 1)"
            issues.append(src.issue(("traffic",), message))
        elif hi <= lo:
            issues.append(src.issue(("traffic",), f"traffic {traffic:g} covers none of the layer's {BUCKETS} buckets"))
    start, end = _field(Experiment, "start", data), _field(Experiment, "end", data)
    if start is not None and end is not None and end <= start:
        issues.append(src.issue(("end",), f"end {end.isoformat()} must be after start {start.isoformat()}"))
    return issues


def _check_variants(src: SourceFile, data: dict[str, Any], variants: list[dict[str, Any]]) -> list[ConfigIssue]:
    issues = []
    kind = _field(Experiment, "type", data)
    if kind == "interleaving" and len(variants) != 2:
        message = f"an interleaving experiment needs exactly 2 variants, got {len(variants)}"
        issues.append(src.issue(("variants",), message))
    elif len(variants) < 2:
        issues.append(src.issue(("variants",), "an experiment needs at least 2 variants (a control and a treatment)"))
    names = [_field(Variant, "name", v) for v in variants]
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name is not None and name in seen:
            issues.append(src.issue(("variants", i, "name"), f"duplicate variant name {name!r}"))
        elif name is not None:
            seen.add(name)
    weights = [_field(Variant, "weight", v) for v in variants]
    if variants and None not in weights:
        total = math.fsum(weights)
        if abs(total - 1) > WEIGHT_TOLERANCE:
            issues.append(src.issue(("variants",), f"weights sum to {total:.12g}, must sum to 1"))
    control = _field(Experiment, "control", data)
    if control is not None and None not in names and control not in names:
        shown = ", ".join(names[:10]) + (f", … ({len(names)} in all)" if len(names) > 10 else "")
        message = f"{control!r} is not a variant (variants: {shown})"
        issues.append(src.issue(("control",), message))
    return issues


def _field(model: type[BaseModel], name: str, data: dict[str, Any]) -> Any:
    """`data[name]` validated as the schema's field (its default when absent); None when invalid or missing."""
    if name not in data:
        info = model.model_fields[name]
        return None if info.is_required() else info.get_default(call_default_factory=True)
    try:
        return _adapter(model, name).validate_python(data[name])
    except ValidationError:
        return None


@functools.cache
def _adapter(model: type[BaseModel], name: str) -> TypeAdapter[Any]:
    info = model.model_fields[name]
    annotation: Any = info.annotation  # a field's type, whatever typing form it takes
    return TypeAdapter(Annotated[annotation, *info.metadata] if info.metadata else annotation)


def check_known_names(src: SourceFile, known: KnownNames) -> list[ConfigIssue]:
    """Metric names the analysis defines, with a direction where a decision needs one; known segment attributes.

    Run on the raw YAML data, like `check_experiment`, so a file with other mistakes still gets these reported.
    """
    data = src.data if isinstance(src.data, dict) else {}
    named: list[tuple[Loc, Any, str]] = [(("primary_metric",), data.get("primary_metric"), "primary metric")]
    if data.get("type", "ab") != "ab":
        named = [(loc, name, "") for loc, name, _ in named]  # an interleaving experiment decides on its preference
    named += [(("secondary_metrics", i), name, "") for i, name in enumerate(_list(data, "secondary_metrics"))]
    named += [
        (("guardrails", i, "metric"), g.get("metric"), "guardrail")
        for i, g in enumerate(_list(data, "guardrails"))
        if isinstance(g, dict)
    ]
    issues = []
    for loc, name, role in named:
        if not isinstance(name, str) or not METRIC_NAME.match(name):
            continue  # the schema reports it
        direction = known.metrics.get(name)
        if direction is None:
            close = difflib.get_close_matches(name, list(known.metrics), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            issues.append(src.issue(loc, f"unknown metric {name!r} ({hint}known: {', '.join(sorted(known.metrics))})"))
        elif direction == "neutral" and role:
            message = f"{name} is neutral (neither higher nor lower is better): a {role} needs a direction"
            issues.append(src.issue(loc, message))
    for i, attribute in enumerate(_list(data, "segments")):
        if isinstance(attribute, str) and ATTRIBUTE_NAME.match(attribute) and attribute not in known.attributes:
            declared = ", ".join(sorted(known.attributes)) or "none"
            issues.append(src.issue(("segments", i), f"unknown user attribute {attribute!r} (declared: {declared})"))
    return issues


def _list(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    return value if isinstance(value, list) else []


def check_set(
    experiments: list[ParsedExperiment],
    platform: ParsedPlatform | None,
    artifact_exists: ArtifactExists | None = None,
) -> list[ConfigIssue]:
    """Rules across all files (run after every file parsed; `experiments` in the order the files were given)."""
    issues = _check_names_and_salts(experiments, platform)

    running = [p for p in experiments if p.experiment.status == "running"]
    for first, second in combinations(running, 2):
        if _windows_overlap(first.experiment, second.experiment):
            issues += _check_pair(first, second)
    if artifact_exists is not None:
        issues += _check_artifacts(running, platform, artifact_exists)
    return issues


def _where(src: SourceFile, loc: Loc) -> str:
    return f"{src.file}:{src.line(loc)}"


def _check_names_and_salts(experiments: list[ParsedExperiment], platform: ParsedPlatform | None) -> list[ConfigIssue]:
    """Names unique; every hash salt (holdout salt, layer names, experiment salts) used by one owner only.

    Two owners sharing a salt would hash users identically: an experiment salted like its layer would put
    each variant in one part of the slice, and a salt reused across experiments would correlate them.
    """
    issues = []
    first_by_name: dict[str, ParsedExperiment] = {}
    owners: dict[str, tuple[tuple[str, ...], str]] = {}  # salt -> (owner key, owner description)

    def claim(salt: str, key: tuple[str, ...], description: str) -> str | None:
        owner_key, owner = owners.setdefault(salt, (key, description))
        return owner if owner_key != key else None

    if platform is not None:
        where = _where(platform.source, ("holdout", "salt"))
        claim(platform.platform.holdout.salt, ("holdout",), f"the global holdout ({where})")
    for p in experiments:
        exp, src = p.experiment, p.source
        if exp.name in first_by_name:
            other = first_by_name[exp.name].source
            issues.append(src.issue(("name",), f"duplicate experiment name, also in {_where(other, ('name',))}"))
        first_by_name.setdefault(exp.name, p)
        owner = claim(exp.layer, ("layer", exp.layer), f"layer {exp.layer!r} ({_where(src, ('layer',))})")
        if owner is not None:
            issues.append(src.issue(("layer",), f"layer name {exp.layer!r} is already the salt of {owner}"))
    for p in experiments:
        exp, src = p.experiment, p.source
        description = f"experiment {exp.name!r} ({_where(src, ('salt',))})"
        owner = claim(exp.salt, ("experiment", src.file), description)
        if owner is not None:
            issues.append(src.issue(("salt",), f"salt {exp.salt!r} is already used by {owner}"))
    return issues


def _windows_overlap(a: Experiment, b: Experiment) -> bool:
    a_end = a.end or datetime.max.replace(tzinfo=a.start.tzinfo)
    b_end = b.end or datetime.max.replace(tzinfo=b.start.tzinfo)
    return a.start < b_end and b.start < a_end


def _check_pair(first: ParsedExperiment, second: ParsedExperiment) -> list[ConfigIssue]:
    """Two running experiments live at the same time: same layer → disjoint slices; else → disjoint fields."""
    a, b = first.experiment, second.experiment
    if a.layer == b.layer:
        a_lo, a_hi = slice_range(a.traffic, a.offset)
        b_lo, b_hi = slice_range(b.traffic, b.offset)
        if a_lo < b_hi and b_lo < a_hi:
            message = (
                f"slice [{b.offset:g}, {b.offset + b.traffic:g}) of layer {b.layer!r} overlaps experiment "
                f"{a.name!r} [{a.offset:g}, {a.offset + a.traffic:g}) ({_where(first.source, ('offset',))})"
            )
            return [second.source.issue(("offset",), message)]
        return []
    if a.type == b.type == "interleaving":
        # A user in both would need one list merged from four rankers; in one layer they are exclusive.
        message = (
            f"interleaving experiment {a.name!r} ({_where(first.source, ('layer',))}) runs at the same time in "
            f"layer {a.layer!r}; concurrent interleaving experiments must share a layer"
        )
        return [second.source.issue(("layer",), message)]
    issues = []
    a_fields = {f for v in a.variants for f in v.serving_fields()}
    for i, variant in enumerate(b.variants):
        for name in sorted(a_fields.intersection(variant.serving_fields())):
            message = (
                f"also set by experiment {a.name!r} in layer {a.layer!r} ({_where(first.source, ('name',))}); "
                "layers must set disjoint serving fields"
            )
            issues.append(second.source.issue(("variants", i, name), message))
    return issues


def _check_artifacts(
    running: list[ParsedExperiment], platform: ParsedPlatform | None, artifact_exists: ArtifactExists
) -> list[ConfigIssue]:
    """Encoders and indexes of running experiments and of the default must exist (drafts may await training)."""
    located: list[tuple[SourceFile, Loc, str, str]] = []
    if platform is not None:
        default = platform.platform.default
        located += [
            (platform.source, ("default", "encoder"), "encoder", default.encoder),
            (platform.source, ("default", "index"), "index", default.index),
        ]
    for p in running:
        for i, v in enumerate(p.experiment.variants):
            for kind, ref in (("encoder", v.encoder), ("index", v.index)):
                if ref is not None:
                    located.append((p.source, ("variants", i, kind), kind, ref))
    return [
        src.issue(loc, f"{kind} artifact {ref} not found")
        for src, loc, kind, ref in located
        if not artifact_exists(kind, ref)
    ]
