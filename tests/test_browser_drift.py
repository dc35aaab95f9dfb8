"""The Drift journey in Debian's chromium: run a report, open a column, export the HTML
and open the exported file in the browser (offline: nothing fetched)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.live import (
    IDLE,
    SHOTS,
    app_server,
    browser,
    error_texts,
    open_page,
    open_tab,
    tick_row,
)
from workbench import sdk as wb
from workbench.drift import report as reports
from workbench.store.workspace import Workspace


@pytest.mark.browser
def test_drift_journey(ws: Workspace, tmp_path: Path) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(6)
    for shift in (0.0, 1.0):
        wb.log_dataset(
            pd.DataFrame(
                {
                    "income": rng.normal(40_000 + 6_000 * shift, 10_000, 5_000),
                    "plan": rng.choice(
                        ["basic", "pro"], 5_000, p=[0.5 - 0.2 * shift, 0.5 + 0.2 * shift]
                    ),
                    "age": rng.integers(18, 90, 5_000),
                }
            ),
            "customers",
        )
    console: list[str] = []
    with app_server(ws.root, tmp_path / "server.log") as url, browser() as b:
        page = open_page(b, f"{url}/drift", console)
        page.get_by_role("button", name="Run the report").click()
        page.get_by_role("heading", name="drift: customers@v2 against customers@v1").wait_for()
        page.wait_for_selector(IDLE)
        # a column's distributions are drawn when its row is selected
        page.get_by_text("Select a column's row to see its distributions").wait_for()
        order = [r.column for r in reports.list_reports(ws)[0].results]
        table = page.locator("[class*='st-key-drift-table-'] [data-testid='stDataFrameResizable']")
        tick_row(page, table, order.index("plan") + 1)
        page.get_by_test_id("stPlotlyChart").filter(has_text="plan").first.wait_for()
        page.get_by_text("statistic", exact=True).wait_for()  # the column's statistics
        page.wait_for_selector(IDLE)
        assert error_texts(page) == []
        page.screenshot(path=SHOTS / "drift-report.png", full_page=True)
        with page.expect_download() as info:
            page.get_by_role("button", name="Export as HTML").click()
        exported = tmp_path / info.value.suggested_filename
        info.value.save_as(exported)

        offline = b.new_context(offline=True).new_page()  # no network: all of it is inline
        requests: list[str] = []
        offline.on("request", lambda r: requests.append(r.url))
        offline.goto(exported.as_uri())
        offline.get_by_role("heading", name="Drift report").wait_for()
        offline.locator(".plotly-graph-div").first.wait_for()
        assert offline.locator(".plotly-graph-div").count() == 2
        assert [r for r in requests if not r.startswith("file:")] == []
        offline.screenshot(path=SHOTS / "drift-export.png", full_page=True)
    ours = [c for c in console if "404" not in c]
    assert ours == [], ours


@pytest.mark.browser
def test_drift_with_a_model_journey(ws: Workspace, tmp_path: Path) -> None:
    """A report with the champion: prediction and performance drift, and its history."""
    from tests.test_model_drift import customers
    from workbench.registry import models as registry
    from workbench.training import runner
    from workbench.training.task import RunSpec

    SHOTS.mkdir(parents=True, exist_ok=True)
    wb.log_dataset(customers(2000, 1), "churn")
    launch = runner.launch(
        ws, RunSpec("churn", "churned", "logistic"), experiment="churn", wait=True
    )
    registry.register_model(ws, launch.run_ids[0], "churn-clf")
    registry.set_alias(ws, "churn-clf", "champion", 1)
    wb.log_dataset(customers(2000, 2, shift=60), "churn")
    wb.log_dataset(customers(2000, 3, concept=True), "churn")
    console: list[str] = []
    with app_server(ws.root, tmp_path / "server.log") as url, browser() as b:
        page = open_page(b, f"{url}/drift", console)
        for current in ("churn@v2", "churn@v3"):
            for label, value in (
                ("Reference", "(the model's training data)"),
                ("Current", current),
                ("Model", "churn-clf@champion"),
            ):
                page.get_by_test_id("stSelectbox").filter(has_text=label).first.click()
                page.keyboard.type(value)
                page.keyboard.press("Enter")
            page.get_by_role("button", name="Run the report").click()
            page.get_by_role("heading", name="against churn@v1").filter(has_text=current).wait_for()
            page.wait_for_selector(IDLE)
        # The report opens on its Columns tab; the model's verdict shows above the tabs, its
        # detail and the history are a click away.
        assert page.get_by_role("heading", name="Model churn-clf/1").count() == 0
        page.get_by_text("churn-clf/1: performance degraded (the Model tab").wait_for()
        open_tab(
            page,
            "Model",
            page.get_by_role("heading", name="Model churn-clf/1: performance degraded"),
        )
        page.get_by_role("button", name="Retrain challenger").wait_for()
        page.wait_for_selector(IDLE)
        assert error_texts(page) == []
        # Streamlit scrolls its own container: bring each section into view to shoot it.
        page.get_by_role("heading", name="Model churn-clf/1").evaluate(
            "e => e.scrollIntoView({block: 'start'})"
        )
        page.screenshot(path=SHOTS / "drift-model.png")
        open_tab(
            page,
            "History",
            page.get_by_role("heading", name="A model's drift across dataset versions"),
        )
        page.get_by_test_id("stPlotlyChart").last.wait_for()
        page.wait_for_selector(IDLE)
        assert error_texts(page) == []
        page.get_by_role("heading", name="A model's drift across").evaluate(
            "e => e.scrollIntoView({block: 'start'})"
        )
        page.screenshot(path=SHOTS / "drift-history.png")
    ours = [c for c in console if "404" not in c]
    assert ours == [], ours
