"""The Models journey in Debian's chromium: register two versions, set champion and
challenger, compare, promote, roll back. Screenshots in docs/screenshots/."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.live import (
    IDLE,
    SHOTS,
    alias_form,
    app_server,
    browser,
    error_texts,
    open_page,
    open_tab,
    switch_on,
)
from tests.test_runner import binary_frame
from workbench import sdk as wb
from workbench.registry import models as registry
from workbench.store.workspace import Workspace
from workbench.training import runner
from workbench.training.task import RunSpec


def register(page, run_label: str, name: str) -> None:
    page.wait_for_selector(IDLE)
    form = page.get_by_test_id("stForm").first
    form.get_by_role("textbox", name="Model name").wait_for()
    form.get_by_test_id("stSelectbox").first.click()
    page.keyboard.type(run_label)  # the selectbox filters its options as you type
    page.keyboard.press("Enter")
    form.get_by_role("textbox", name="Model name").fill(name)
    form.get_by_role("button", name="Register model").click()


def move_alias(page, alias: str, version: int) -> None:
    form = alias_form(page)
    form.get_by_role("textbox", name="Alias").fill(alias)
    form.get_by_test_id("stSelectbox").click()
    page.keyboard.type(str(version))
    page.keyboard.press("Enter")
    form.get_by_role("button", name="Move alias").click()
    page.get_by_text(f"churn-clf@{alias} → v{version}").wait_for()


@pytest.mark.browser
def test_models_journey(ws: Workspace, tmp_path: Path) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    wb.log_dataset(binary_frame(300), "churn")
    for estimator, name in (("dummy", "baseline"), ("random_forest", "forest")):
        runner.launch(
            ws, RunSpec("churn", "churned", estimator), experiment="models", name=name, wait=True
        )
    console: list[str] = []
    with app_server(ws.root, tmp_path / "server.log") as url, browser() as b:
        page = open_page(b, f"{url}/models", console)
        page.get_by_text("No model registered yet").wait_for()
        register(page, "baseline", "churn-clf")
        page.get_by_text("Registered churn-clf/1.").wait_for()
        switch_on(page, "Register a model from a run")
        register(page, "forest", "churn-clf")
        page.get_by_text("Registered churn-clf/2.").wait_for()

        move_alias(page, "champion", 1)
        move_alias(page, "challenger", 2)
        # both models scored and 1,000 bootstrap resamples: the page's heaviest step (over
        # 30 s once, with three test workers beside two busy processes)
        open_tab(page, "Champion vs challenger", page.get_by_text("significant", exact=True))
        page.wait_for_selector(IDLE)
        assert error_texts(page) == []
        page.screenshot(path=SHOTS / "models-compare.png", full_page=True)

        page.get_by_role("button", name="Promote the challenger to champion").click()
        page.get_by_text("Promoted churn-clf/2 to champion.").wait_for()
        assert registry.get_version(ws, "churn-clf@champion").version == 2
        # An alias moved beside the tabs: its message comes above them, and the tab the
        # user was in stays open (unkeyed, the tabs were redrawn with the first one open).
        page.goto(f"{url}/models")  # no message shown yet
        # champion and challenger now both point at v2: the tab says so instead of
        # comparing a version with itself
        open_tab(page, "Champion vs challenger", page.get_by_text("both point at v2"))
        move_alias(page, "staging", 1)
        page.wait_for_selector(IDLE)
        tab = page.get_by_role("tab", name="Champion vs challenger")
        assert tab.get_attribute("aria-selected") == "true"
        page.get_by_role("tab", name="Lineage").click()
        page.get_by_test_id("stPlotlyChart").first.wait_for()
        page.wait_for_selector(IDLE)
        page.screenshot(path=SHOTS / "models-promoted.png", full_page=True)

        page.get_by_role("button", name="Roll back @champion").click()
        page.get_by_text("churn-clf@champion rolled back to v1.").wait_for()
        assert registry.get_version(ws, "churn-clf@champion").version == 1
        assert error_texts(page) == []
        page.screenshot(path=SHOTS / "models-rollback.png", full_page=True)
    ours = [c for c in console if "404" not in c]
    assert ours == [], ours
