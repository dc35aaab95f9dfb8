"""Journeys in Debian's chromium against a real `workbench ui` server. Screenshots go to
docs/screenshots/."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.conftest import PYTHON, ROOT, make_run, subprocess_env
from tests.live import SHOTS, app_server, browser, error_texts, open_page, open_tab, tick_row
from workbench.store.workspace import Workspace

NEW_RUN = """
import workbench as wb
with wb.start_run(experiment="churn", name="logged-while-open") as run:
    run.log_params({"n_estimators": 50})
    for step in range(20):
        run.log_metrics({"loss": 1 / (step + 1), "auc": 0.6 + step / 100}, step=step)
"""


def select_row(page, row: int) -> None:
    """Tick row ``row`` (1-based) of the page's first table."""
    tick_row(page, page.get_by_test_id("stDataFrameResizable").first, row)


def seed_runs() -> None:
    for i, (n, depth) in enumerate([(100, 4), (200, 8), (400, 12)]):
        make_run(
            experiment="churn",
            name=f"rf-{n}",
            params={"n_estimators": n, "max_depth": depth, "criterion": "gini"},
            metrics={
                "loss": [1 / (s + 1 + i) for s in range(40)],
                "auc": [0.6 + 0.007 * s + 0.02 * i for s in range(40)],
            },
            tags={"owner": "ana"},
        )
    make_run(experiment="churn", name="broken-features", fail=True, metrics={"loss": [2.0, 3.5]})


@pytest.mark.browser
def test_home_and_experiments_journey(ws: Workspace, tmp_path: Path) -> None:
    seed_runs()
    SHOTS.mkdir(parents=True, exist_ok=True)
    console: list[str] = []
    with app_server(ws.root, tmp_path / "server.log") as url, browser() as b:
        page = open_page(b, url, console)
        page.get_by_text("Recent runs").wait_for()
        values = page.get_by_test_id("stMetricValue")
        expect(values.nth(0)).to_have_text("1")  # experiments
        expect(values.nth(1)).to_have_text("4")  # runs
        assert error_texts(page) == []
        page.screenshot(path=SHOTS / "home.png", full_page=True)

        # A recent run on Home opens on the Experiments page, selected.
        select_row(page, 2)  # rf-400 (newest first: broken-features, rf-400, ...)
        page.get_by_role("heading", name="rf-400").wait_for()
        page.get_by_text("Params", exact=True).wait_for()  # its Overview tab
        assert error_texts(page) == []

        page.get_by_role("link", name="Home").first.click()
        page.get_by_text("Recent runs").wait_for()
        page.get_by_role("link", name="Experiments").first.click()
        page.get_by_text("4 runs").wait_for()
        page.get_by_role("heading", name="rf-400").wait_for()  # the selection is remembered
        select_row(page, 3)  # add rf-200: two runs' curves overlaid, no single-run panel
        page.get_by_role("heading", name="rf-400").wait_for(state="detached")
        page.get_by_role("heading", name="Compare 2 runs").wait_for()
        curves = page.get_by_test_id("stPlotlyChart").filter(has_text="rf-200")
        curves.first.wait_for()
        page.screenshot(path=SHOTS / "experiments-compare.png", full_page=True)
        select_row(page, 2)
        select_row(page, 3)
        page.get_by_role("heading", name="Compare 2 runs").wait_for(state="detached")
        page.get_by_text("Params", exact=True).wait_for(state="detached")
        select_row(page, 1)
        page.get_by_text("Params", exact=True).wait_for()
        page.get_by_role("button", name="Act on 1 selected run").wait_for()
        # one run's curves are a tab away: drawn when opened, not on each tick
        open_tab(page, "Curves", page.get_by_test_id("stPlotlyChart").first)
        assert error_texts(page) == []
        page.screenshot(path=SHOTS / "experiments-run.png", full_page=True)

        # A run logged by another process while the page is open appears without a reload.
        subprocess.run([PYTHON, "-c", NEW_RUN], cwd=ROOT, env=subprocess_env(ws.root), check=True)
        page.get_by_text("5 runs").wait_for(timeout=20_000)
        # The selection stayed on the run that was selected, not on the row position.
        page.get_by_role("heading", name="broken-features").wait_for()
        page.screenshot(path=SHOTS / "experiments-live.png", full_page=True)
    # Streamlit probes /<page>/_stcore/... before /_stcore/... when a page has a path:
    # those 404s are its own; anything else is ours.
    ours = [c for c in console if "404" not in c]
    assert ours == [], ours
