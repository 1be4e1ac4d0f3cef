"""Configuration owned by the analysis: platform-wide defaults an experiment YAML may leave out.

A plain pydantic model: `vsx.settings.Settings` nests it, so `VSX_ANALYSIS__GUARDRAIL_MARGIN=0.05` or an
`[analysis]` table in `vsx.toml` fills it; library code receives values as arguments.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from analysis.plan import DEFAULT_GUARDRAIL_MARGIN


class AnalysisConfig(BaseModel):
    """`guardrail_margin`: relative non-inferiority margin of a guardrail whose YAML names none."""

    guardrail_margin: float = Field(default=DEFAULT_GUARDRAIL_MARGIN, gt=0, le=10)
