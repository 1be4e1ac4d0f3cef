import re
from datetime import UTC, datetime

from dashboards.index import index_entries, write_index
from dashboards.report import render_report


def add_experiment(reports_dir, results, *, with_report: bool = True):
    folder = reports_dir / results.experiment
    results.write(folder / "results.json")
    if with_report:
        render_report(results, folder / "report.html")


def test_index_lists_every_experiment_newest_first_with_decision_health_and_link(tmp_path, results, srm_failed_results):
    older = srm_failed_results.model_copy(
        update={"experiment": "rerank-v1", "generated_at": datetime(2024, 4, 1, tzinfo=UTC), "status": "stopped"}
    )
    add_experiment(tmp_path, older)
    add_experiment(tmp_path, results)  # rewrites the index: both appear
    page = (tmp_path / "index.html").read_text()
    assert page.index("encoder-v2-vs-v1") < page.index("rerank-v1")
    assert '<a href="encoder-v2-vs-v1/report.html">encoder-v2-vs-v1</a>' in page
    assert '<a href="rerank-v1/report.html">rerank-v1</a>' in page
    assert '<span class="badge badge-no_ship">don&#39;t ship</span>' in page
    assert '<span class="badge badge-invalid">invalid — do not read</span>' in page
    assert "15,025" in page and '<span class="badge badge-fail">mismatch</span>' in page
    assert '<span class="badge badge-fail">1 fail</span>' in page
    assert "stopped" in page and "running" in page
    assert "2 experiments" in page


def test_index_shows_unreadable_results_and_missing_reports(tmp_path, results):
    add_experiment(tmp_path, results, with_report=False)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "results.json").write_text("{not json")
    (tmp_path / "no-results-here").mkdir()
    entries = index_entries(tmp_path)
    assert [e.folder for e in entries] == ["encoder-v2-vs-v1", "broken"]
    assert entries[0].report_href is None
    assert entries[1].error == "unreadable results.json"
    page = write_index(tmp_path).read_text()
    assert 'encoder-v2-vs-v1 <span class="sub">(no report yet)</span>' in page
    assert "unreadable results.json" in page


def test_index_links_and_names_are_escaped(tmp_path, results_factory):
    evil = results_factory(experiment="<script>alert(1)</script>")
    folder = tmp_path / "odd name&more"
    evil.write(folder / "results.json")
    render_report(evil, folder / "report.html")
    page = (tmp_path / "index.html").read_text()
    assert not re.search(r"<script", page, re.IGNORECASE)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'href="odd%20name%26more/report.html"' in page


def test_empty_or_missing_reports_dir_gets_an_empty_index(tmp_path):
    path = write_index(tmp_path / "reports")
    assert path == tmp_path / "reports" / "index.html"
    assert "No experiments analysed yet" in path.read_text()
    assert not list(path.parent.glob("*.tmp")) and not list(path.parent.glob(".*.tmp"))
