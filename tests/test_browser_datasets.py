"""The Datasets journey in Debian's chromium: upload a CSV, see its profile, upload a
changed version that breaks the contract, open the diff. Screenshots in
docs/screenshots/."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.conftest import make_frame
from tests.live import SHOTS, app_server, browser, error_texts, open_page, tick_row
from workbench.store.workspace import Workspace


def upload(page, path: Path, name: str | None, message: str) -> None:
    form = page.get_by_test_id("stForm").first
    form.locator("input[type='file']").set_input_files(str(path))
    form.get_by_text(path.name).wait_for()
    if name is not None:
        form.get_by_role("textbox", name="Dataset name").fill(name)
    form.get_by_role("textbox", name="Message").fill(message)
    form.get_by_role("button", name="Register").click()


@pytest.mark.browser
def test_datasets_journey(ws: Workspace, tmp_path: Path) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    march, april = tmp_path / "march.csv", tmp_path / "april.csv"
    make_frame(500).to_csv(march, index=False)
    changed = make_frame(500)
    changed.loc[changed.index[:40], "plan"] = "enterprise"  # a level the contract lacks
    changed = changed[changed["id"] > 10]  # ten customers left
    changed.to_csv(april, index=False)
    console: list[str] = []
    with app_server(ws.root, tmp_path / "server.log") as url, browser() as b:
        page = open_page(b, f"{url}/datasets", console)
        page.get_by_text("No datasets yet").wait_for()
        upload(page, march, "churn", "March export")
        page.get_by_text("Registered churn@v1: 500 rows x 6 columns.").wait_for()
        page.get_by_role("heading", name="churn@v1").wait_for()
        page.get_by_text("select a row to see its column's distribution").wait_for()
        expect(page.get_by_test_id("stPlotlyChart")).to_have_count(0)  # drawn when asked for
        profile = page.locator("[class*='st-key-profile-'] [data-testid='stDataFrameResizable']")
        tick_row(page, profile, 4)  # the fourth column, plan: its levels
        page.get_by_test_id("stPlotlyChart").filter(has_text="plan").wait_for()
        assert error_texts(page) == []
        page.screenshot(path=SHOTS / "datasets-profile.png", full_page=True)

        page.get_by_text("Register a version").click()  # the toggle opens the form
        upload(page, april, None, "April export")  # the name defaults to the dataset shown
        page.get_by_text(
            "Registered churn@v2: 490 rows x 6 columns. It breaks the contract"
        ).wait_for()
        page.get_by_role("heading", name="churn@v2").wait_for()

        page.get_by_role("tab", name="Contract").click()
        page.get_by_text("churn@v2 breaks contract revision 1").wait_for()
        page.get_by_text("enterprise").first.wait_for()

        page.get_by_role("tab", name="Diff").click()
        metrics = page.get_by_test_id("stMetric")

        def metric(label: str):
            return metrics.filter(has=page.get_by_text(label, exact=True))

        expect(metric("Removed")).to_contain_text("10")
        expect(metric("Changed")).to_contain_text("30")
        expect(metric("Added")).to_contain_text("0")
        page.get_by_text("Rows matched by id").wait_for()
        assert error_texts(page) == []
        page.screenshot(path=SHOTS / "datasets-diff.png", full_page=True)

        page.get_by_role("tab", name="Preview").click()
        page.get_by_text("Rows 1 to 100 of 490").wait_for()
        assert error_texts(page) == []

        page.get_by_role("tab", name="Download").click()
        with page.expect_download() as download_info:
            page.get_by_role("button", name="Download CSV").click()
        saved = tmp_path / download_info.value.suggested_filename
        download_info.value.save_as(saved)
        assert saved.name == "churn-v2.csv"
        assert len(saved.read_text().splitlines()) == 491
        assert error_texts(page) == []
    ours = [c for c in console if "404" not in c]
    assert ours == [], ours
