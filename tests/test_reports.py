"""Drift reports: stored, listed, shown on the page, exported as one offline HTML file."""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from markupsafe import escape
from streamlit.testing.v1 import AppTest

from tests.conftest import MAIN_SCRIPT, select_row
from workbench import sdk as wb
from workbench.drift import report as reports
from workbench.drift import stats as drift
from workbench.store.errors import InvalidInput
from workbench.store.workspace import Workspace
from workbench.ui import nav

MAIN = MAIN_SCRIPT


@pytest.fixture
def two_months(ws: Workspace) -> Workspace:
    rng = np.random.default_rng(5)
    n = 20_000
    for shift in (0.0, 1.0):
        wb.log_dataset(
            pd.DataFrame(
                {
                    "income": rng.normal(40_000 + 6_000 * shift, 10_000, n),
                    "plan": rng.choice(
                        ["basic", "pro"], n, p=[0.5 - 0.2 * shift, 0.5 + 0.2 * shift]
                    ),
                    "age": rng.integers(18, 90, n),
                }
            ),
            "customers",
        )
    return ws


def test_a_report_is_stored_and_listed(two_months: Workspace) -> None:
    report = reports.run_report(two_months, "customers@v1", "customers@v2", actor="ana")
    assert report.verdict == "drift" and report.n_drifted == 2
    assert [r.column for r in report.results][:2] == ["income", "plan"]
    assert reports.list_reports(two_months)[0] == report
    assert reports.get_report(two_months, report.report_id).results == report.results
    with pytest.raises(InvalidInput, match="pick two versions"):
        reports.run_report(two_months, "customers@v2", "customers@v2")


def test_a_label_without_a_model_is_refused_at_every_door(two_months: Workspace, capsys) -> None:
    """`workbench drift report ... --target plan` without --model ignored the label in
    silence (a user believed performance was checked); now it says what to do, at the
    service, so the CLI and the page say the same, and nothing is stored."""
    from workbench.cli.main import main

    with pytest.raises(InvalidInput, match="pick a model too"):
        reports.run_report(two_months, "customers@v1", "customers@v2", target="plan")
    code = main(
        [
            "--workspace",
            str(two_months.root),
            "drift",
            "report",
            "customers@v2",
            "--reference",
            "customers@v1",
            "--target",
            "plan",
        ]
    )
    assert code != 0 and "pick a model too" in capsys.readouterr().err
    assert reports.list_reports(two_months) == []


def test_the_html_export_is_self_contained(two_months: Workspace, tmp_path: Path) -> None:
    report = reports.run_report(two_months, "customers@v1", "customers@v2")
    out = reports.export_html(two_months, report.report_id, tmp_path / "r.html")
    text = out.read_text()
    assert "<script src=" not in text  # nothing fetched: it opens offline
    assert len(text) > 1_000_000  # plotly.js itself is inlined
    assert "Plotly" in text and text.count("plotly-graph-div") == 2  # income and plan
    assert "income: median" in text and "customers@v2" in text
    # the one text of the rule, from the report's stored configuration (jinja2 escapes it)
    assert str(escape(report.config.rule())) in text and str(escape(drift.RULE)) in text


def test_stored_reports_are_standard_json(ws: Workspace) -> None:
    """Infinities in the data, a constant reference column (its W1/sd is undefined): the
    stored report has no NaN or Infinity token, and reads back."""
    rng = np.random.default_rng(8)
    x = rng.normal(0, 1, 2000)
    inf = x.copy()
    inf[:600] = np.inf
    wb.log_dataset(pd.DataFrame({"x": x, "year": [2007] * 2000}), "odd")
    wb.log_dataset(pd.DataFrame({"x": inf, "year": rng.choice([2007, 2009], 2000)}), "odd")
    report = reports.run_report(ws, "odd@v1", "odd@v2")
    sql = "SELECT results FROM drift_reports WHERE report_id = ?"
    raw = ws.store.read(lambda tx: tx.fetchone(sql, [report.report_id]))[0]

    def refuse(token: str) -> None:
        raise AssertionError(f"{token} in the stored JSON")

    results = {r["column"]: r for r in json.loads(raw, parse_constant=refuse)}
    assert (
        results["x"]["verdict"] == "major drift"
        and "+inf 0% -> 30.0% of rows" in (results["x"]["sentence"])
    )
    assert results["year"]["stats"]["wasserstein_std"] is None
    assert "constant in the reference (2,007)" in results["year"]["sentence"]
    assert reports.get_report(ws, report.report_id).results == report.results


def test_the_drift_page(two_months: Workspace, monkeypatch) -> None:
    monkeypatch.setenv("WORKBENCH_WATCH", "0")
    at = AppTest.from_file(MAIN, default_timeout=120).run()
    at.switch_page(f"../../../pages/{nav.DRIFT.file}").run()
    next(b for b in at.button if b.label == "Run the report").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "drift: customers@v2 against customers@v1" in at.subheader[0].value
    table = next(d.value for d in at.dataframe if "verdict" in d.value.columns)
    assert table["verdict"].tolist()[:2] == ["major drift", "major drift"]
    assert table["verdict"].tolist()[2] == "no drift"
    assert any(m.value.startswith("Report stored: drift") for m in at.success)

    # Another report picked: the confirmation belongs to the one just made, so it goes.
    earlier = reports.run_report(two_months, "customers@v2", "customers@v1")
    at.run()
    picker = next(s for s in at.selectbox if s.label == "Report")
    picker.set_value(earlier.report_id).run()
    assert "customers@v1 against customers@v2" in at.subheader[0].value
    assert not [m.value for m in at.success if m.value.startswith("Report stored")]


def test_two_files_compared_without_registering(ws: Workspace, tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    ref, cur = tmp_path / "march.parquet", tmp_path / "may.csv"
    pd.DataFrame({"x": rng.normal(0, 1, 5000), "c": rng.choice(["a", "b"], 5000)}).to_parquet(ref)
    pd.DataFrame({"x": rng.normal(1, 1, 5000), "c": rng.choice(["a", "b"], 5000)}).to_csv(
        cur, index=False
    )
    results = {r.column: r for r in reports.compare_files(ref, cur)}
    assert results["x"].drifted and not results["c"].drifted
    assert not [p for p in ws.paths.blobs.rglob("*") if p.is_file()]  # nothing kept
    (tmp_path / "notes.txt.gz").write_bytes(b"x")
    with pytest.raises(InvalidInput, match=r"use a \.csv or \.parquet file"):
        reports.compare_files(ref, tmp_path / "notes.txt.gz")


def plotted_figures(page: str) -> list[dict]:
    """Every figure of an exported report: the data and layout passed to Plotly.newPlot."""
    body = page.split("</script>", 1)[1]  # after the inlined plotly.js
    decoder = json.JSONDecoder()
    figures = []
    for call in body.split("Plotly.newPlot(")[1:]:
        rest = call[call.index(",") + 1 :].lstrip()  # after the div's id
        data, end = decoder.raw_decode(rest)
        layout, _ = decoder.raw_decode(rest[end:].lstrip().removeprefix(",").lstrip())
        figures.append({"data": data, "layout": layout})
    return figures


def trace_colors(figure: dict) -> list[str]:
    """Each trace's colour as the browser resolves it: its own, else the template's colorway."""
    way = figure["layout"].get("template", {}).get("layout", {}).get("colorway") or []
    return [
        (t.get("marker") or {}).get("color") or (way[i % len(way)] if way else "")
        for i, t in enumerate(figure["data"])
    ]


def luminance(color: str) -> float:
    """Relative luminance (0 black to 1 white) of a #rrggbb colour (WCAG 2 weights)."""
    r, g, b = (int(color.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_the_html_exported_from_the_app_is_in_colour(two_months: Workspace, tmp_path: Path) -> None:
    """The page renders the report's charts through Streamlit (whose theme becomes plotly's
    default template in the server process, colours as #000001-style placeholders), then
    exports it as pages/drift.py's _html does: two distinct, visible colours per chart, and
    axes that make room for their titles."""
    report = reports.run_report(two_months, "customers@v1", "customers@v2")
    at = AppTest.from_file(MAIN, default_timeout=120)
    at.run()
    at.switch_page(f"../../../pages/{nav.DRIFT.file}")
    select_row(at, f"drift-table-{report.report_id}", 0)  # a column's chart: drawn on a pick
    at.run()
    assert not at.exception and at.get("plotly_chart"), "the page drew the report's chart"
    out = reports.export_html(two_months, report.report_id, tmp_path / "report.html")
    figures = plotted_figures(out.read_text())
    assert len(figures) == 2  # income and plan drifted
    for figure in figures:
        colors = trace_colors(figure)
        assert len(set(colors)) == 2, colors
        assert all(0.15 < luminance(c) < 0.9 for c in colors), colors  # not near-black/white
        layout = figure["layout"]
        assert layout["yaxis"]["automargin"] and layout["margin"]["l"] >= 50
        assert layout["xaxis"]["automargin"] and layout["margin"]["b"] >= 40


@pytest.mark.parametrize(
    ("p", "shown"),
    [
        (0.0, "< 1e-10"),
        (8e-13, "< 1e-10"),
        (1e-10, "1.0e-10"),
        (3.2e-8, "3.2e-8"),
        (2.78e-101, "< 1e-10"),
        (9.4e-4, "9.4e-4"),
        (0.012, "0.012"),
        (0.0123, "0.012"),
        (0.983, "0.98"),
        (1.0, "1"),
        (None, ""),
        (float("nan"), ""),
    ],
)
def test_p_values_have_one_readable_format(p, shown) -> None:
    assert drift.format_p(p) == shown
    # inside a sentence, with its sign: "p = 0.012", "p < 1e-10" (never "p = < 1e-10")
    clause = drift.p_clause(p)
    assert clause == ("" if not shown else f"p {shown}" if shown[0] == "<" else f"p = {shown}")


@pytest.fixture
def long_names(ws: Workspace) -> Workspace:
    """Three drifting columns with long names (a metric card cut them off with '…'), their
    p-values far below 1e-10 (shown as 0, 0.00e+00 or 2.78e-101 before)."""
    rng = np.random.default_rng(3)
    n = 5_000
    for shift in (0.0, 1.0):
        wb.log_dataset(
            pd.DataFrame(
                {
                    "monthly_support_calls": rng.poisson(1 + 2 * shift, n),
                    "average_session_minutes": rng.normal(30 - 8 * shift, 5, n),
                    "contract_renewal_channel": rng.choice(
                        ["web", "phone"], n, p=[0.5 + 0.3 * shift, 0.5 - 0.3 * shift]
                    ),
                    "steady": rng.normal(0, 1, n),
                }
            ),
            "usage",
        )
    return ws


def test_p_values_are_readable_and_labels_whole_everywhere(
    long_names: Workspace, capsys, tmp_path: Path
) -> None:
    """The page's tables, the HTML export and the CLI print each p-value by drift.format_p;
    the page's metric cards hold short values only (long column names go in wrapping text)."""
    from workbench.cli.main import main

    code = main(
        [
            "--workspace",
            str(long_names.root),
            "drift",
            "report",
            "usage@v2",
            "--reference",
            "usage@v1",
            "--html",
            str(tmp_path / "r.html"),
        ]
    )
    assert code == 0
    report = reports.list_reports(long_names)[0]
    shown = {r.column: drift.format_p(r.p_value) for r in report.results}
    assert shown["monthly_support_calls"] == "< 1e-10"
    assert shown["steady"] and shown["steady"] != "< 1e-10" and len(shown["steady"]) <= 5
    lines = capsys.readouterr().out.splitlines()
    for column, p in shown.items():
        line = next(x for x in lines if x.strip().startswith(column + " "))
        assert f" p {p} " in line, line
    page = (tmp_path / "r.html").read_text()
    for p in shown.values():
        assert f"<td>{html.escape(p)}</td>" in page
    assert "<td>0</td>" not in page
    at = AppTest.from_file(MAIN, default_timeout=120)
    at.run()
    at.switch_page(f"../../../pages/{nav.DRIFT.file}")
    select_row(at, f"drift-table-{report.report_id}", 0)  # its statistics: shown on a pick
    at.run()
    assert not at.exception and not at.error
    table = next(d.value for d in at.dataframe if "p-value" in d.value.columns)
    assert dict(zip(table["column"], table["p-value"], strict=True)) == shown
    stats = next(m.value for m in at.markdown if m.value.startswith("| statistic | value |"))
    for line in stats.splitlines()[2:]:  # the statistics' markdown table, unescaped
        key, value = (cell.strip().replace("\\", "") for cell in line.strip("| ").split(" | "))
        assert isinstance(value, str) and len(value) <= 12, (key, value)
        if key.startswith("p_"):
            assert value == "" or value == "< 1e-10" or "e-" in value or len(value) <= 5
    assert all(len(m.value) <= 20 for m in at.metric), [m.value for m in at.metric]
    top = next(md.value for md in at.markdown if md.value.startswith("**Top drifting**"))
    assert "monthly_support_calls" in top and "average_session_minutes" in top


def test_label_drift_is_reported_apart_from_the_features(ws: Workspace, capsys) -> None:
    """Issue #15: the label column counted as one more feature in the dataset verdict. With
    a model, its drift is shown beside the model's (page, CLI, HTML) and left out of the
    features' count: the same features with a third of the labels set to churned is label
    drift, not feature drift."""
    from tests.test_runner import binary_frame
    from workbench.cli.main import main
    from workbench.registry import models as registry
    from workbench.training import runner
    from workbench.training.task import RunSpec

    frame = binary_frame(600)
    v1 = wb.log_dataset(frame, "churn")
    launch = runner.launch(
        ws, RunSpec(v1.ref, "churned", "random_forest"), experiment="m", wait=True
    )
    registry.register_model(ws, launch.run_ids[0], "clf")
    flipped = frame.copy()
    flipped.loc[flipped.index[::3], "churned"] = True  # the churn rate rises
    v2 = wb.log_dataset(flipped, "churn")
    report = reports.run_report(ws, v1.ref, v2.ref, model="clf/1")
    label = reports.label_drift(report)
    assert label is not None and label.column == "churned" and label.kind == "label"
    assert label.verdict in ("drift", "major drift"), label
    assert report.verdict == "no drift" and report.n_drifted == 0  # the features did not move
    assert "churned" not in [r.column for r in report.results if r.kind != "label"]
    code = main(
        [
            "--workspace",
            str(ws.root),
            "drift",
            "report",
            v2.ref,
            "--reference",
            v1.ref,
            "--model",
            "clf/1",
        ]
    )
    assert code == 0 and "label churned (apart from the features):" in capsys.readouterr().out
    page = reports.export_html(ws, report.report_id, ws.root.parent / "r.html").read_text()
    assert "(apart from the features)" in page


def test_the_distribution_figure_shows_a_current_outside_the_reference() -> None:
    """Found by a newcomer: the current side was binned on the reference's bins, so a month
    of 2015 dates against 2013 drew no current bar at all, and dates were plotted as days
    since 1970 (x near 15,612). Both sides now share bins spanning both ranges, each
    side's bars sum to 1, and dates are on a date axis (a timestamp side too)."""
    from tests.test_drift_rule import profile_of
    from workbench.drift.render import distribution_figure

    days = pd.date_range("2013-01-01", periods=500)
    ref = profile_of(pd.DataFrame({"d": days.date, "x": np.arange(500.0)}))
    cur = profile_of(
        pd.DataFrame(
            {
                "d": (days + pd.DateOffset(years=2)),  # timestamps
                "x": np.arange(500.0) + 10_000,
            }
        )
    )
    for a, b in zip(ref, cur, strict=True):
        reference, current = distribution_figure(a, b).data
        assert sum(reference.y) == pytest.approx(1) and sum(current.y) == pytest.approx(1)
        # no bin holds both: the sides are apart, and each is drawn where it is
        assert not any(r > 0 and c > 0 for r, c in zip(reference.y, current.y, strict=True))
    reference, current = distribution_figure(ref[0], cur[0]).data
    assert isinstance(reference.x[0], pd.Timestamp) and reference.x[0].year == 2013
    assert current.x[-1].year == 2016  # the current's last days (2016-05) are on the axis


def test_the_export_keeps_hostile_names_as_text(ws: Workspace, tmp_path: Path) -> None:
    """A column named ``</script><script>...`` and a category ``<img onerror>``: the
    exported page has plotly's scripts only (one library, one per figure) and no element the
    data named; plotly writes text into its JSON with ``</`` escaped, the template escapes
    the rest (the figures are the only markup passed through unescaped)."""
    from html.parser import HTMLParser

    hostile = "</script><script>alert(1)</script>"
    rng = np.random.default_rng(3)
    for shift in (0.0, 3.0):
        wb.log_dataset(
            pd.DataFrame(
                {
                    hostile: rng.normal(shift, 1.0, 2_000),
                    "plan": rng.choice(["<img src=x onerror=alert(2)>", "pro"], 2_000),
                }
            ),
            "hostile",
        )
    report = reports.run_report(ws, "hostile@v1", "hostile@v2")
    page = reports.export_html(ws, report.report_id, tmp_path / "r.html").read_text()

    class Tags(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.tags: list[str] = []
            self.scripts: list[str] = []

        def handle_starttag(self, tag, attrs) -> None:
            self.tags.append(tag)

        def handle_data(self, data) -> None:
            if self.tags and self.tags[-1] == "script":
                self.scripts.append(data)

    parsed = Tags()
    parsed.feed(page)
    figures = page.count('class="plotly-graph-div"')
    assert figures >= 1
    assert parsed.tags.count("script") == 1 + figures
    assert "img" not in parsed.tags
    assert not any(s.lstrip().startswith("alert(") for s in parsed.scripts)
    assert html.escape(hostile) in page  # the table names the column, as text
