"""Launching a sweep from the Experiments page in Debian's chromium, watching it finish,
and comparing runs. Screenshots in docs/screenshots/."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.live import SHOTS, app_server, browser, error_texts, open_page
from tests.test_browser import select_row
from tests.test_runner import binary_frame
from workbench import sdk as wb
from workbench.store.workspace import Workspace


@pytest.mark.browser
def test_launch_a_sweep_and_compare(ws: Workspace, tmp_path: Path) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    wb.log_dataset(binary_frame(200), "churn")
    console: list[str] = []
    with app_server(ws.root, tmp_path / "server.log", WORKBENCH_WORKERS="2") as url, browser() as b:
        page = open_page(b, f"{url}/experiments", console)
        page.get_by_text("Launch a run or a sweep").wait_for()
        page.get_by_role("textbox", name="Experiment").fill("churn-sweeps")
        page.get_by_text("Sweep", exact=True).click()
        page.get_by_role("button", name="Launch sweep").wait_for()
        page.screenshot(path=SHOTS / "experiments-launch.png", full_page=True)
        page.get_by_role("button", name="Launch sweep").click()
        page.get_by_text("Launched a sweep of 6 trials in churn-sweeps").wait_for(timeout=30_000)
        page.get_by_text("7 runs").wait_for(timeout=30_000)  # the sweep and its 6 trials
        page.get_by_text("refreshing live").wait_for(state="detached", timeout=120_000)
        assert error_texts(page) == []
        page.screenshot(path=SHOTS / "experiments-sweep.png", full_page=True)

        select_row(page, 2)
        select_row(page, 3)
        page.get_by_role("heading", name="Compare 2 runs").wait_for()
        page.get_by_text("Params that differ", exact=True).wait_for()
        expect(page.get_by_test_id("stPlotlyChart").first).to_be_visible()
        assert error_texts(page) == []
        page.get_by_role("heading", name="Compare 2 runs").scroll_into_view_if_needed()
        page.screenshot(path=SHOTS / "experiments-sweep-compare.png")

        page.get_by_role("textbox", name="Filter").fill(
            "metrics.accuracy >= 0 and status = 'finished'"
        )
        page.get_by_role("textbox", name="Filter").press("Enter")
        page.get_by_text("6 runs").wait_for(timeout=30_000)
        assert error_texts(page) == []
    ours = [c for c in console if "404" not in c]
    assert ours == [], ours


def test_two_runs_with_one_name_are_compared_apart(ws: Workspace, tmp_path: Path) -> None:
    """The same estimator launched twice (two runs named alike): ticking both shows the
    comparison, each run labelled by its name and short id, and no error box (a pandas
    'non-unique index' / 'Duplicate column names' traceback before)."""
    from workbench.tracking import experiments
    from workbench.training import runner
    from workbench.training.task import RunSpec

    SHOTS.mkdir(parents=True, exist_ok=True)
    wb.log_dataset(binary_frame(200), "churn")
    ids = [
        runner.launch(
            ws,
            RunSpec(
                "churn", "churned", "gradient_boosting", seed=seed, params={"n_estimators": 30}
            ),
            experiment="churn",
            name="gb",
            wait=True,
        ).run_ids[0]
        for seed in (1, 2)
    ]
    assert {experiments.get_run(ws, i).run.name for i in ids} == {"gb"}
    with app_server(ws.root, tmp_path / "server.log") as url, browser() as b:
        page = open_page(b, f"{url}/experiments")
        page.get_by_text("2 runs").wait_for()
        select_row(page, 1)
        select_row(page, 2)
        page.get_by_role("heading", name="Compare 2 runs").wait_for()
        for run_id in ids:
            expect(page.get_by_text(f"gb · {run_id[:8]}").first).to_be_attached()
        expect(page.get_by_test_id("stPlotlyChart").first).to_be_visible()
        assert error_texts(page) == []
        page.get_by_role("heading", name="Compare 2 runs").scroll_into_view_if_needed()
        page.screenshot(path=SHOTS / "experiments-compare-same-name.png")
        # boosting stages are curves, one line per run, the legend telling them apart
        curves = page.get_by_test_id("stPlotlyChart").filter(has_text="staged_accuracy")
        curves.scroll_into_view_if_needed()
        for run_id in ids:
            expect(curves.get_by_text(f"gb · {run_id[:8]}")).to_be_visible()
        page.screenshot(path=SHOTS / "experiments-compare-same-name-curves.png")
