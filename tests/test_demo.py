"""The demo workspace tells its story: seeded through the services, quickly, and every page
of it walks clean in chromium (a screenshot per page for docs/)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from app import datasets, demo, experiments, monitoring, registry, reports
from store.errors import InvalidInput
from store.workspace import Workspace
from tests.conftest import OUTPUT
from tests.live import IDLE, app_server, browser, error_texts, open_page

SHOTS = OUTPUT / "screenshots"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> tuple[Workspace, float]:
    ws = Workspace.open(tmp_path_factory.mktemp("demo") / "workspace")
    started = time.perf_counter()
    demo.seed(ws, progress=lambda _step: None)
    return ws, time.perf_counter() - started


def test_the_story_is_seeded(seeded) -> None:
    ws, seconds = seeded
    versions = {v.ref: v for v in datasets.list_versions(ws, "churn")}
    assert sorted(versions) == ["churn@v1", "churn@v2", "churn@v3", "churn@v4"]
    assert versions["churn@v4"].contract_passed is False  # the data-entry bug
    assert all(versions[f"churn@v{i}"].contract_passed for i in (1, 2, 3))
    assert {d.name for d in datasets.list_datasets(ws)} >= {"iris", "wine", "breast_cancer"}
    runs = experiments.search_runs(ws, limit=1000)
    assert len([r for r in runs if r.parent_run_id]) >= 20
    model = registry.list_models(ws)[0]
    assert model.name == demo.MODEL and model.aliases == {"champion": 1, "challenger": 2}
    by_month = {r.current_ref: r for r in reports.list_reports(ws)}
    assert by_month["churn@v4"].verdict == "drift"
    april = reports.model_section(by_month["churn@v4"])
    assert april.performance.verdict == "degraded"
    [event] = monitoring.events(ws, demo.MODEL)
    assert event.fired and event.action == "retrained" and not event.detail["gate"]
    assert "contract" in " ".join(event.detail["reasons"])
    actions = {e.action for e in experiments.workspace_summary(ws, recent=200).recent_activity}
    assert {"drift.report", "model.alias.move", "monitor.retrained"} <= actions
    assert seconds < 120, f"seeding took {seconds:.0f} s"  # the target is 60 s; CI is noisy
    print(f"demo seeded in {seconds:.1f} s")


def test_seeding_refuses_a_workspace_with_data_and_reset_only_deletes_demos(
        ws: Workspace, tmp_path: Path) -> None:  # fmt: skip
    from app import sdk as wb
    from tests.test_runner import binary_frame

    wb.log_dataset(binary_frame(30), "mine")
    with pytest.raises(InvalidInput, match="already has data"):
        demo.seed(ws)
    with pytest.raises(InvalidInput, match="is not a demo workspace"):
        demo.reset(ws.root)
    assert datasets.list_versions(ws, "mine")  # untouched


@pytest.mark.browser
def test_every_page_of_the_demo_walks_clean(seeded, tmp_path: Path) -> None:
    from app.ui import nav

    ws, _ = seeded
    ws.store.close()
    SHOTS.mkdir(parents=True, exist_ok=True)
    console: list[str] = []
    with app_server(ws.root, tmp_path / "server.log") as url, browser() as b:
        page = open_page(b, f"{url}/start", console)
        page.get_by_role("heading", name="Start here").wait_for()
        for spec in [*nav.PAGES, nav.ADMIN]:
            path = "" if spec.default else spec.file.removesuffix(".py")
            page.goto(f"{url}/{path}")
            page.wait_for_selector(IDLE, timeout=60_000)
            page.get_by_role("heading", name=spec.title if spec is not nav.START
                             else "Start here").first.wait_for()  # fmt: skip
            page.wait_for_timeout(500)  # charts draw after the script is idle
            assert error_texts(page) == [], spec.title
            page.screenshot(path=SHOTS / f"demo-{spec.file.removesuffix('.py')}.png")
    ours = [c for c in console if "404" not in c]
    assert ours == [], ours
