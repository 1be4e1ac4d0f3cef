"""HTML significance reports rendered from `analysis` results.

Layout: `reports_dir/<experiment>/{results.json,report.html}` plus `reports_dir/index.html`.
"""

from dashboards.errors import DashboardsError, ReportLayoutError, ResultsFileError
from dashboards.index import index_entries, write_index
from dashboards.report import render_html, render_report
from dashboards.verdict import Verdict, verdicts

__all__ = [
    "DashboardsError",
    "ReportLayoutError",
    "ResultsFileError",
    "Verdict",
    "index_entries",
    "render_html",
    "render_report",
    "verdicts",
    "write_index",
]
