"""HTML significance reports rendered from `analysis` results.

Layout: `reports_dir/<experiment>/{results.json,report.html}` plus `reports_dir/{index,history}.html`.
"""

from dashboards.decisions import DecisionView, decision_views
from dashboards.errors import DashboardsError, ReportLayoutError, ResultsFileError
from dashboards.history import HistoryPoint, HistoryScan, collect_history, scan_history
from dashboards.history_page import render_history
from dashboards.index import index_entries, write_index
from dashboards.report import render_html, render_report

__all__ = [
    "DashboardsError",
    "DecisionView",
    "HistoryPoint",
    "HistoryScan",
    "ReportLayoutError",
    "ResultsFileError",
    "collect_history",
    "decision_views",
    "index_entries",
    "render_html",
    "render_history",
    "render_report",
    "scan_history",
    "write_index",
]
