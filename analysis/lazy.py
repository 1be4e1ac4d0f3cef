"""Lazy re-exports (PEP 562) for `analysis` and `analysis.stats`: a name is imported from its module on first use.

`from analysis.results import Results` or the metric catalogue must not pull in scipy and statsmodels, which a
command line that only reads settings, a results file or metric definitions never needs. A module may not share
its name with a name its package re-exports: importing the module would replace the package's attribute.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """The `__getattr__` of `package`: `exports` maps each public name to the module defining it."""

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(exports[name]), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
