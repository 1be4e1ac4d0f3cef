"""Load experiment files into an `ExperimentSet`, collecting every mistake with its file and line.

Serving calls `load_experiments(folder)` at start-up and on reload; `vsx experiments validate FILE...`
calls `load_files(paths)`. Both parse every file, validate each against the schema, run the single-file
and cross-file checks, and raise one `ExperimentConfigError` listing all issues, sorted by file and line.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from experiments.errors import ConfigIssue, ExperimentConfigError, MissingExperimentsFolderError
from experiments.experiment_set import ExperimentSet
from experiments.schema import SCHEMA_MODELS, Experiment, Platform
from experiments.validate import (
    ArtifactExists,
    KnownNames,
    ParsedExperiment,
    ParsedPlatform,
    check_experiment,
    check_known_names,
    check_set,
)
from experiments.yaml_lines import SourceFile, read_yaml

logger = logging.getLogger(__name__)

PLATFORM_FILE = "platform.yaml"

ModelT = TypeVar("ModelT", bound=BaseModel)

_KNOWN_KEYS = sorted({name for model in SCHEMA_MODELS for name in model.model_fields})
_PLAIN = {  # pydantic's wording names Python types; these name YAML ones
    "model_type": "must be a mapping (key: value)",
    "model_attributes_type": "must be a mapping (key: value)",
    "dict_type": "must be a mapping (key: value)",
    "tuple_type": "must be a list",
    "list_type": "must be a list",
    "string_type": "must be a string",
    "int_type": "must be a whole number",
    "float_type": "must be a number",
    "bool_type": "must be true or false",
}
_BOUNDS = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}


def load_experiments(
    folder: Path, artifact_exists: ArtifactExists | None = None, known: KnownNames | None = None
) -> ExperimentSet:
    """Every `*.yaml` in `folder` (with `platform.yaml` as the platform file), validated together.

    `known`: the metrics and attributes the analysis defines; without it, metric names are checked for shape only.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise MissingExperimentsFolderError(str(folder))
    misnamed = [
        ConfigIssue(str(p), 1, "", "rename to .yaml: only *.yaml files are loaded") for p in folder.glob("*.yml")
    ]
    if misnamed:
        raise ExperimentConfigError(sorted(misnamed))
    exp_set = load_files(sorted(folder.glob("*.yaml")), artifact_exists, known)
    running = sum(e.status == "running" for e in exp_set.experiments)
    logger.info("loaded %d experiments (%d running) from %s", len(exp_set.experiments), running, folder)
    return exp_set


def load_files(
    paths: Iterable[Path], artifact_exists: ArtifactExists | None = None, known: KnownNames | None = None
) -> ExperimentSet:
    """Validate the given files as one configuration; a file named `platform.yaml` is the platform file."""
    paths = list(paths)
    issues: list[ConfigIssue] = []
    experiments: list[ParsedExperiment] = []
    platforms: list[ParsedPlatform] = []
    for path in paths:
        source, file_issues = read_yaml(Path(path), str(path))
        issues += file_issues
        if source is None:
            continue
        if Path(path).name == PLATFORM_FILE:
            platform, model_issues = _validate(Platform, source)
            if platform is not None:
                platforms.append(ParsedPlatform(source, platform))
        else:
            experiment, model_issues = _validate(Experiment, source)
            model_issues += check_experiment(source)
            if known is not None:
                model_issues += check_known_names(source, known)
            if experiment is not None:
                experiments.append(ParsedExperiment(source, experiment))
        issues += model_issues
    for extra in platforms[1:]:
        issues.append(
            extra.source.issue((), f"more than one {PLATFORM_FILE} given (first: {platforms[0].source.file})")
        )
    parsed_platform = platforms[0] if platforms else None
    issues += check_set(experiments, parsed_platform, artifact_exists)
    if issues:
        order = {str(path): i for i, path in enumerate(paths)}
        raise ExperimentConfigError(sorted(issues, key=lambda x: (order.get(x.file, len(order)), x.line, x.field)))
    return ExperimentSet(
        experiments=tuple(p.experiment for p in experiments),
        platform=parsed_platform.platform if parsed_platform else Platform(),
        files={p.experiment.name: p.source.file for p in experiments},
    )


def _validate(model: type[ModelT], source: SourceFile) -> tuple[ModelT | None, list[ConfigIssue]]:
    try:
        return model.model_validate(source.data), []
    except ValidationError as exc:
        return None, [source.issue(tuple(err["loc"]), _message(err)) for err in exc.errors() if _reported(err)]


def _reported(err: Any) -> bool:
    """False for pydantic errors that repeat another: non-string keys (read_yaml reports them at their line) and
    "too short" on a list that only lost items to their own errors."""
    if err["type"] == "invalid_key" or err["loc"][-1:] == ("[key]",):
        return False
    return not (err["type"] == "too_short" and len(err["input"]) >= err["ctx"]["min_length"])


def _message(err: Any) -> str:
    """Pydantic's error, phrased for someone editing YAML (`must be > 0`, `unknown key (did you mean ...)`)."""
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind == "extra_forbidden":
        key = str(err["loc"][-1]) if err["loc"] else ""
        close = difflib.get_close_matches(key, _KNOWN_KEYS, n=1)
        return f"unknown key (did you mean {close[0]!r}?)" if close else "unknown key"
    if kind == "missing":
        return "required key is missing"
    if kind in _PLAIN:
        return _PLAIN[kind]
    if kind == "too_short":
        return f"must have at least {ctx['min_length']} item(s)"
    if kind in _BOUNDS:
        bound = next(iter(ctx.values()))
        return f"must be {_BOUNDS[kind]} {bound:g}" if isinstance(bound, int | float) else err["msg"]
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    return err["msg"][0].lower() + err["msg"][1:]
