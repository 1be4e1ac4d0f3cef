"""The Jinja2 environment shared by the report and the index.

Autoescaping is on for every template: experiment, metric and variant names come from YAML files
and event streams, and a name like `<script>` must print, not run. Plots arrive as `Markup`
(built by `plots`, whose text matplotlib has already escaped). `StrictUndefined` turns a typo in a
template into an error in tests instead of a silently empty cell.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from dashboards.formatting import (
    arm_value,
    chance,
    coefficient,
    count,
    method_label,
    metric_label,
    num,
    num_interval,
    p_phrase,
    pct,
    pct_interval,
    pval,
    score,
    score_delta,
    timestamp,
)

# Beside this module, not looked up through the import system: found the same way in a wheel, an
# editable install, or a test run that puts a `tests/dashboards/` folder on the path.
TEMPLATES = Path(__file__).resolve().parent / "templates"


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        pct=pct,
        pct_interval=pct_interval,
        arm_value=arm_value,
        chance=chance,
        num=num,
        num_interval=num_interval,
        count=count,
        pval=pval,
        score=score,
        score_delta=score_delta,
        coefficient=coefficient,
        p_phrase=p_phrase,
        timestamp=timestamp,
        metric=metric_label,
        method=method_label,
    )
    return env
