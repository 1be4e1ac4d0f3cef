"""HTML significance reports rendered from `analysis` results.

Layout: `reports_dir/<experiment>/{results.json,report.html}` plus `reports_dir/{index,history}.html`.
"""

from dashboards.errors import DashboardsError, ReportLayoutError, ResultsFileError
from dashboards.history import HistoryPoint, HistoryScan, collect_history, scan_history
from dashboards.history_page import render_history
from dashboards.index import index_entries, write_index
from dashboards.report import render_html, render_report
from dashboards.verdict import Verdict, verdicts

__all__ = [
    "DashboardsError",
    "HistoryPoint",
    "HistoryScan",
    "ReportLayoutError",
    "ResultsFileError",
    "Verdict",
    "collect_history",
    "index_entries",
    "render_html",
    "render_history",
    "render_report",
    "scan_history",
    "verdicts",
    "write_index",
]
