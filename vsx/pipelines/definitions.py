"""The metric catalogue of this installation and what experiment validation may know of it.

The built-in metrics plus `settings.metrics_dir/*.yaml`, checked against the declared user attributes
(`settings.analysis.attributes`). `experiments` imports no analysis, so validation gets the names it needs —
metric directions and attributes — as plain data (`KnownNames`), built here.
"""

from __future__ import annotations

from analysis.catalog import MetricCatalog
from analysis.metric_files import load_catalog
from experiments.validate import KnownNames
from vsx.settings import Settings


def metric_catalog(settings: Settings) -> MetricCatalog:
    """Every metric an analysis may name (raises `MetricDefinitionError` listing each problem of the files)."""
    return load_catalog(settings.metrics_dir, settings.analysis.attributes)


def known_names(settings: Settings, catalog: MetricCatalog | None = None) -> KnownNames:
    """What experiment validation checks names against."""
    catalog = catalog or metric_catalog(settings)
    return KnownNames(metrics=catalog.directions(), attributes=frozenset(settings.analysis.attributes))
