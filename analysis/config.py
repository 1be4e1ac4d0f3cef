"""Configuration owned by the analysis: platform-wide defaults an experiment YAML may leave out.

A plain pydantic model: `vsx.settings.Settings` nests it, so `VSX_ANALYSIS__GUARDRAIL_MARGIN=0.05` or an
`[analysis]` table in `vsx.toml` fills it; library code receives values as arguments.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from analysis.plan import DEFAULT_GUARDRAIL_MARGIN
from event_logging.schema import ATTRIBUTE_NAME_PATTERN

DEFAULT_ATTRIBUTES = ("platform", "country", "app_version")


class AnalysisConfig(BaseModel):
    """`guardrail_margin`: relative non-inferiority margin of a guardrail whose YAML names none.

    `attributes`: the user attributes (`X-Attr-*` request headers, logged on searches) that experiments may
    segment by and metric filters may read; a name outside this list is a validation error, so a typo cannot
    produce an empty segment.
    """

    guardrail_margin: float = Field(default=DEFAULT_GUARDRAIL_MARGIN, gt=0, le=10)
    attributes: tuple[Annotated[str, Field(pattern=ATTRIBUTE_NAME_PATTERN, max_length=64)], ...] = DEFAULT_ATTRIBUTES
