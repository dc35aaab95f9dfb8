"""The demo workspace tells its story: seeded through the services, quickly, and every page
of it walks clean in chromium, as a newcomer follows it (a screenshot per page for docs/)."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.conftest import PYTHON, ROOT
from tests.live import (
    IDLE,
    SHOTS,
    app_server,
    browser,
    cut_off_texts,
    error_texts,
    open_page,
    open_tab,
    wait_drawn,
)
from tests.test_browser import select_row
from workbench import demo
from workbench.datasets import versions as datasets
from workbench.drift import monitoring
from workbench.drift import report as reports
from workbench.registry import models as registry
from workbench.store.errors import InvalidInput
from workbench.store.workspace import Workspace
from workbench.tracking import experiments
from workbench.workspaces import is_demo


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> tuple[Workspace, float]:
    """The demo as a teacher gets it back between two classes: a demo workspace holding
    what a class added, reset by `workbench demo --reset` (which deletes it and seeds the
    story afresh, in its own process). The module's tests read the result; the story is
    seeded once for all of them."""
    from tests.test_runner import binary_frame

    root = tmp_path_factory.mktemp("demo") / "workspace"
    before = Workspace.open(root)
    (root / demo.DEMO_MARKER).write_text("seeded by `workbench demo`\n")
    datasets.register(before, binary_frame(30), "scribbles")  # what a class added
    before.store.close()
    done = subprocess.run(
        [PYTHON, "-m", "workbench.cli", "--workspace", str(root), "demo", "--reset"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    said = re.search(r"demo seeded in (\d+) s", done.stdout)
    assert said, done.stdout
    return Workspace.open(root), float(said[1])


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
    assert demo.INTENDED_USE in registry.get_version(ws, f"{demo.MODEL}@champion").card
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


def test_demo_reset_seeds_the_story_afresh(seeded) -> None:
    """`workbench demo --reset`, as a teacher runs it between two classes (the fixture ran
    it): what the class added is gone, the story is back."""
    ws, _ = seeded
    assert is_demo(ws.root) and "scribbles" not in {d.name for d in datasets.list_datasets(ws)}
    assert [v.ref for v in datasets.list_versions(ws, "churn")] == [
        f"churn@v{i}" for i in (4, 3, 2, 1)
    ]
    assert registry.list_models(ws)[0].aliases == {"champion": 1, "challenger": 2}


def test_seeding_refuses_a_workspace_with_data_and_reset_only_deletes_demos(
    ws: Workspace, tmp_path: Path
) -> None:
    from tests.test_runner import binary_frame
    from workbench import sdk as wb

    wb.log_dataset(binary_frame(30), "mine")
    with pytest.raises(InvalidInput, match="already has data"):
        demo.seed(ws)
    with pytest.raises(InvalidInput, match="is not a demo workspace"):
        demo.reset(ws.root)
    assert datasets.list_versions(ws, "mine")  # untouched


def walk(page, url: str, champion_run: str) -> None:
    """A newcomer's walk: land on Home, follow the Start here path page by page, do what
    each step says, and come back. Every page is checked for error elements and for text
    cut off, and leaves a screenshot (``make screenshots``: for the user guide, docs/guide/).
    ``champion_run``: the id of the run that trained the champion (its confusion matrix)."""

    def shot(name: str) -> None:
        wait_drawn(page)  # charts draw after the script is idle
        assert error_texts(page) == [], name
        assert cut_off_texts(page) == [], name
        page.screenshot(path=SHOTS / f"guide-{name}.png")

    def follow(step: str) -> None:
        page.get_by_role("link", name="Start here").first.click()
        page.get_by_role("heading", name="Start here").wait_for()
        page.get_by_role("link", name=f"Open {step}").click()
        page.get_by_role("heading", name=step, exact=True).wait_for()

    page.goto(url)
    page.get_by_text("This is the demo workspace").wait_for()
    page.get_by_text("Recent runs").wait_for()
    shot("home")
    page.get_by_role("link", name="Start here").nth(1).click()  # the callout's, not the nav's
    page.get_by_role("heading", name="Start here").wait_for()
    expect(page.get_by_test_id("stMetricValue").first).to_have_text("4")  # churn versions
    shot("start")

    follow("Datasets")  # the link opens churn, newest version first: April, flagged
    page.get_by_role("heading", name="churn@v4").wait_for()
    page.get_by_text("breaks the contract").first.wait_for()
    shot("datasets")
    page.get_by_role("tab", name="Contract").click()
    page.get_by_text("churn@v4 breaks contract revision").wait_for()
    page.get_by_text("support_calls").first.wait_for()
    shot("datasets-contract")
    page.get_by_role("tab", name="Diff").click()
    page.get_by_text("Rows matched by customer_id").wait_for()
    shot("datasets-diff")

    follow("Experiments")  # the link picks the churn experiment: two sweeps
    page.get_by_text("runs · select runs").wait_for()
    for row in (2, 3, 4):
        select_row(page, row)
    page.get_by_role("heading", name="Compare 3 runs").wait_for()
    page.get_by_test_id("stPlotlyChart").first.wait_for()
    shot("experiments")
    # The champion's own run: what a class sees when it opens its confusion matrix.
    page.get_by_role("textbox", name="Filter").fill(f"run_id = '{champion_run}'")
    page.keyboard.press("Enter")
    page.get_by_text("1 run · select runs").wait_for()  # one, not "1 runs"
    page.wait_for_selector(IDLE)
    ticked = page.get_by_role("button", name="Act on 1 selected run")
    if ticked.count() == 0:
        select_row(page, 1)
    ticked.wait_for()
    matrix = page.get_by_test_id("stPlotlyChart").filter(has_text="Confusion matrix")
    open_tab(page, "Evaluation", matrix.first)
    matrix.first.scroll_into_view_if_needed()
    shot("experiments-champion")
    page.get_by_role("textbox", name="Filter").fill("")
    page.keyboard.press("Enter")

    follow("Models")
    page.get_by_role("heading", name=demo.MODEL).wait_for()
    page.get_by_text("@challenger").first.wait_for()
    shot("models")
    page.get_by_role("tab", name="Lineage").click()
    page.get_by_test_id("stPlotlyChart").first.wait_for()
    shot("models-lineage")
    open_tab(page, "Champion vs challenger", page.get_by_text("McNemar's exact test"))
    gate = page.get_by_test_id("stSelectbox").filter(has_text="Labelled dataset version")
    gate.get_by_role("combobox").click()  # the box, not its label's help icon
    page.keyboard.type("churn@v4")  # the challenger wins on April, but April breaks the contract
    page.keyboard.press("Enter")
    page.get_by_text("churn@v4 contract failed").wait_for()
    shot("models-gate")

    follow("Drift")  # the newest report: April against January, with the champion
    page.get_by_role("heading", name="drift: churn@v4 against churn@v1").wait_for()
    shot("drift")
    open_tab(page, "Model", page.get_by_text("performance degraded").first)
    shot("drift-model")
    open_tab(
        page, "History", page.get_by_role("heading", name="A model's drift across dataset versions")
    )
    page.get_by_test_id("stPlotlyChart").last.wait_for()
    shot("drift-history")

    follow("Admin")
    page.get_by_role("heading", name="Audit log").wait_for()
    page.get_by_text("monitor.retrained").first.wait_for(state="attached")  # a grid cell
    shot("admin")


@pytest.mark.browser
def test_a_newcomer_walks_the_demo_clean(seeded, tmp_path: Path) -> None:
    ws, _ = seeded
    champion = registry.get_version(ws, f"{demo.MODEL}@champion")
    ws.store.close()
    SHOTS.mkdir(parents=True, exist_ok=True)
    console: list[str] = []
    with app_server(ws.root, tmp_path / "server.log") as url, browser() as b:
        walk(open_page(b, url, console, height=1400), url, champion.run_id)
    ours = [c for c in console if "404" not in c]
    assert ours == [], ours


def balanced_accuracy_on(ws: Workspace, model_ref: str, dataset_ref: str) -> float:
    """The model's balanced accuracy on a labelled dataset version (scikit-learn's metric)."""
    from sklearn.metrics import balanced_accuracy_score

    frame = datasets.load(ws, dataset_ref)
    model = registry.load_model(ws, model_ref)
    predicted = registry.predict_frame(model, frame[list(demo.FEATURES)])["prediction"]
    return float(balanced_accuracy_score(frame["churned"], predicted))


def test_the_champion_learns_and_april_hurts_it(seeded) -> None:
    """The champion is no majority-class model: on February (labelled, the same world as
    January, and neither champion (January) nor challenger (April) trained on it) its
    balanced accuracy is at least 0.70; on April it falls measurably, and the report says so."""
    ws, _ = seeded
    champion = f"{demo.MODEL}@champion"
    lineage = {v.version: v for v in registry.list_versions(ws, demo.MODEL)}
    # the run's own hold-out (rows of January the model was not fitted on)
    assert registry.get_version(ws, champion).metrics["balanced_accuracy"] >= 0.70
    february = balanced_accuracy_on(ws, champion, "churn@v2")
    april = balanced_accuracy_on(ws, champion, "churn@v4")
    print(f"champion balanced accuracy: February {february:.3f}, April {april:.3f}")
    assert february >= 0.70, f"February {february:.3f}; lineage {lineage}"
    assert february - april >= 0.05, (february, april)
    frame = datasets.load(ws, "churn@v2")
    model = registry.load_model(ws, champion)
    predicted = registry.predict_frame(model, frame[list(demo.FEATURES)])["prediction"]
    assert 0.10 <= predicted.astype(bool).mean() <= 0.90  # it predicts both classes
    by_month = {r.current_ref: r for r in reports.list_reports(ws)}
    assert reports.model_section(by_month["churn@v4"]).performance.verdict == "degraded"


def test_home_counts_the_runs_the_guide_quotes(seeded) -> None:
    import re

    ws, _ = seeded
    guide = (ROOT / "docs" / "guide" / "README.md").read_text()
    quoted = re.search(r"Home counts (\d+) runs", guide)
    assert quoted, "the guide should say how many runs Home counts"
    assert experiments.workspace_summary(ws).runs == int(quoted.group(1))


def test_the_datasets_page_opens_churn_by_default(seeded) -> None:
    ws, _ = seeded
    assert datasets.default_dataset(datasets.list_datasets(ws)) == "churn"


def test_start_here_leads_with_what_explains_april() -> None:
    first, second = demo.GUIDED_STEPS[:2]
    assert first[0] == "Datasets" and "Contract" in first[3] and "support_calls" in first[3]
    assert second[0] == "Drift" and "April" in second[3]
    assert not any("diff of v1 and v4" in step[3].lower() for step in demo.GUIDED_STEPS)


LIVE_RUN = """
import sys
import workbench as wb
run = wb.start_run(experiment="notebook", name="still logging")
run.log_metrics({"loss": 0.5}, step=1)
print(run.run_id, flush=True)
sys.stdin.read()  # logging goes on until the test closes stdin
"""


def test_demo_reset_refuses_while_a_run_is_still_logging(tmp_path: Path, monkeypatch) -> None:
    """A notebook run in flight in a demo workspace: `demo --reset` refuses with a clear
    message (in the service and from the shell) and deletes nothing; --force deletes."""
    import os

    root = tmp_path / "workspace"
    Workspace.open(root).store.close()
    (root / demo.DEMO_MARKER).write_text("seeded by a test\n")
    env = {**os.environ, "WORKBENCH_WORKSPACE": str(root), "WORKBENCH_HEARTBEAT_INTERVAL": "1"}
    notebook = subprocess.Popen(
        [PYTHON, "-c", LIVE_RUN],
        cwd=ROOT,
        env=env,
        text=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        run_id = notebook.stdout.readline().strip()
        assert run_id, "the notebook run did not start"
        with pytest.raises(InvalidInput, match=r"still logging.*--force"):
            demo.reset(root)
        assert root.exists() and is_demo(root)
        shell = subprocess.run(
            [PYTHON, "-m", "workbench.cli", "--workspace", str(root), "demo", "--reset"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert shell.returncode != 0 and "still logging" in shell.stderr + shell.stdout
        assert "Traceback" not in shell.stderr
        assert [r.run_id for r in demo.live_runs(Workspace.open(root))] == [run_id]
        demo.reset(root, force=True)
        assert not root.exists()
    finally:
        notebook.stdin.close()
        notebook.wait(timeout=120)


def test_demo_reset_goes_ahead_once_the_run_has_ended(ws: Workspace) -> None:
    from workbench import sdk as wb

    (ws.root / demo.DEMO_MARKER).write_text("seeded by a test\n")
    run = wb.start_run(experiment="notebook", name="done")
    with pytest.raises(InvalidInput, match="1 run is still logging"):
        demo.reset(ws.root)
    run.end()
    demo.reset(ws.root)
    assert not ws.root.exists()


def test_demo_reset_force_deletes_while_a_run_keeps_writing(tmp_path: Path) -> None:
    """`demo --reset --force` beside a run still writing (its heartbeat): rmtree met files
    created while it deleted ("Directory not empty", seen under load). The tree is moved
    aside first, so the writer can no longer reach it."""
    import threading

    root = tmp_path / "workspace"
    Workspace.open(root).store.close()
    (root / demo.DEMO_MARKER).write_text("seeded by a test\n")
    run_dir = root / "runs" / "live"
    run_dir.mkdir(parents=True)
    stop = threading.Event()

    def keep_writing() -> None:  # a heartbeat with no pause: the worst case
        i = 0
        while not stop.is_set():
            try:
                (run_dir / f"beat-{i % 50}").touch()
            except OSError:
                pass  # the folder is gone: as the SDK's heartbeat thread does
            i += 1

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        for _ in range(200):  # let the writer fill the folder first
            if len(list(run_dir.iterdir())) >= 50:
                break
            time.sleep(0.01)
        demo.reset(root, force=True)
    finally:
        stop.set()
        writer.join()
    assert not root.exists()
    assert [p.name for p in tmp_path.iterdir()] == []  # nothing left beside it either


def test_start_here_says_what_breaks_aprils_contract(seeded) -> None:
    """Start here's first step said "rows with a negative support_calls"; a newcomer found
    13 rows outside the range, one of them 9 (April's calls rise): the step now says 13
    rows outside the contract's range, a dozen at -1. Checked against the seeded data
    (the contract widens January's range: the 9 is outside it, a 7 would not be)."""
    ws, _ = seeded
    _, checks = datasets.get_checks(ws, datasets.get_version(ws, "churn@v4"))
    [failed] = [c for c in checks if not c.passed]
    assert (failed.column, failed.failing) == ("support_calls", 13)
    assert (datasets.load(ws, "churn@v4")["support_calls"] == -1).sum() == 12  # and one 9
    step = demo.GUIDED_STEPS[0][3]
    assert "13 rows with `support_calls` outside the range" in step
    assert "a dozen of them at -1" in step and "negative" not in step


def test_start_here_says_how_the_challenger_does_on_march(seeded) -> None:
    """A second pass: step 4 said the challenger "does not win clearly" on March, where it
    loses by far (accuracy 0.80 -> 0.47). The step says it does worse; checked here."""
    from workbench.registry import promotion

    ws, _ = seeded
    march = promotion.compare(ws, demo.MODEL, "churn@v3", "churned", n_boot=50)
    assert march.challenger_score < march.champion_score - 0.1
    [step] = [s[3] for s in demo.GUIDED_STEPS if s[0] == "Models"]
    assert "on March, which neither model saw, the challenger does worse" in step


def test_start_heres_drift_link_opens_april_against_january(
    seeded, tmp_path: Path, monkeypatch
) -> None:
    """A newcomer's find: "Open Drift" carried no report, so once a user had made a report
    of their own it opened theirs, not April against January as the step says. The link
    names the pair; the page opens the newest report of it."""
    import shutil

    from streamlit.testing.v1 import AppTest

    from tests.test_pages import MAIN
    from workbench.ui import nav

    ws, _ = seeded
    root = tmp_path / "workspace"
    shutil.copytree(ws.root, root)
    mine = Workspace.open(root)
    own = reports.run_report(mine, "churn@v2", "churn@v3")  # the newest report now
    mine.store.close()
    monkeypatch.setenv("WORKBENCH_WORKSPACE", str(root))
    monkeypatch.setenv("WORKBENCH_WATCH", "0")
    [link] = [step[1] for step in demo.GUIDED_STEPS if step[0] == "Drift"]
    at = AppTest.from_file(MAIN, default_timeout=120).run()
    at.switch_page(f"../../../pages/{nav.DRIFT.file}")
    at.query_params.update(link)
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    shown = next(s for s in at.selectbox if s.label == "Report")
    found = reports.list_reports(Workspace.open(root))
    opened = next(r for r in found if r.report_id == shown.value)
    assert (opened.current_ref, opened.reference_ref) == ("churn@v4", "churn@v1")
    assert opened.report_id != own.report_id
