"""AppTest for every page in the router (a page added to app/ui/nav.py without a render
here fails the parametrized smoke test by construction)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import MAIN_SCRIPT, make_run, open_tab, plain
from workbench.store.workspace import Workspace
from workbench.tracking import experiments
from workbench.ui import nav

MAIN = MAIN_SCRIPT


@pytest.fixture
def app_env(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.setenv("WORKBENCH_WATCH", "0")  # no background thread inside AppTest
    return ws


def run_page(page) -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=120)
    at.run()
    if page is not nav.HOME:
        at.switch_page(f"../../../pages/{page.file}")  # relative to app/ui/entry/main.py
        at.run()
    return at


@pytest.mark.parametrize("page", nav.PAGES, ids=lambda p: p.title)
def test_every_page_renders_without_error(app_env: Workspace, page) -> None:
    make_run(experiment="churn", params={"depth": 3}, metrics={"auc": [0.5, 0.8]})
    at = run_page(page)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert at.title[0].value == page.title


@pytest.mark.parametrize("page", nav.PAGES, ids=lambda p: p.title)
def test_every_page_handles_an_empty_workspace(app_env: Workspace, page) -> None:
    at = run_page(page)
    assert not at.exception and not at.error
    assert at.info, "an empty workspace says what to do first"


def test_home_counts_and_recent_runs(app_env: Workspace) -> None:
    make_run(experiment="churn", name="good")
    make_run(experiment="churn", name="bad", fail=True)
    make_run(experiment="other", name="third")
    at = run_page(nav.HOME)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Experiments"] == "2" and metrics["Runs"] == "3"
    assert metrics["Failed or lost"] == "1" and metrics["Finished"] == "2"
    recent = at.dataframe[0].value
    assert recent["name"].tolist() == ["third", "bad", "good"]
    assert len(at.dataframe) == 1  # the activity is a markdown table (no grid to mount)
    activity = next(m.value for m in at.markdown if m.value.startswith("| when \\(UTC\\) |"))
    assert "run\\.created" in activity


def test_experiments_table_shows_params_metrics_tags(app_env: Workspace) -> None:
    make_run(
        experiment="churn",
        name="rf",
        params={"depth": 8},
        metrics={"auc": [0.5, 0.9]},
        tags={"owner": "ana"},
    )
    at = run_page(nav.EXPERIMENTS)
    table = at.dataframe[0].value
    row = table.iloc[0]
    assert row["name"] == "rf" and row["status"] == "finished"
    assert row["params.depth"] == "8" and row["metrics.auc"] == 0.9 and row["tags.owner"] == "ana"
    assert at.selectbox[0].options == ["All experiments", "churn"]


def test_experiment_filter(app_env: Workspace) -> None:
    make_run(experiment="churn", name="a")
    make_run(experiment="other", name="b")
    at = run_page(nav.EXPERIMENTS)
    at.selectbox[0].select("other").run()
    assert at.dataframe[0].value["name"].tolist() == ["b"]


def test_a_bad_workspace_shows_a_clear_error(tmp_path: Path, monkeypatch) -> None:
    afile = tmp_path / "file"
    afile.write_text("x")
    monkeypatch.setenv("WORKBENCH_WORKSPACE", str(afile))
    monkeypatch.setenv("WORKBENCH_WATCH", "0")
    at = AppTest.from_file(MAIN, default_timeout=120).run()
    assert not at.exception
    assert "is a file, not a folder" in at.error[0].value


def test_home_counts_datasets(app_env: Workspace) -> None:
    from tests.conftest import make_dataset_version, make_frame
    from workbench import sdk as wb

    make_dataset_version(rows=50)
    bad = make_frame(50, seed=1)
    bad.loc[0, "plan"] = "platinum"
    wb.log_dataset(bad, "churn")
    at = run_page(nav.HOME)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Datasets"] == "1" and metrics["Dataset versions"] == "2"
    assert metrics["Versions breaking their contract"] == "1"
    activity = next(m.value for m in at.markdown if m.value.startswith("| when \\(UTC\\) |"))
    assert "dataset\\.version\\.create" in activity


def test_datasets_page_shows_the_latest_version_and_its_flags(app_env: Workspace) -> None:
    from tests.conftest import make_dataset_version, make_frame
    from workbench import sdk as wb

    make_dataset_version(rows=60)
    bad = make_frame(60, seed=1)
    bad.loc[0, "plan"] = "platinum"
    wb.log_dataset(bad, "churn", message="April")
    at = run_page(nav.DATASETS)
    assert not at.exception and not at.error
    assert at.subheader[0].value == "churn@v2"
    assert not at.metric  # only the open tab (Profile) is drawn
    versions = at.dataframe[0].value
    assert versions["version"].tolist() == ["v2", "v1"]
    assert versions["contract"].tolist() == ["failed (1)", "passed"]
    profile = at.dataframe[1].value
    assert profile["column"].tolist() == ["id", "age", "income", "plan", "active", "signup"]
    open_tab(at, "version-tabs-churn", "Contract")
    assert any("breaks contract revision 1" in w.value for w in at.warning)
    assert any("platinum" in m.value for m in at.markdown)
    open_tab(at, "version-tabs-churn", "Diff")
    metrics = {m.label: m.value for m in at.metric}  # the Diff tab: v1 against v2
    assert metrics["Changed"] == "60" and metrics["Unchanged"] == "0"  # another seed: all differ
    assert metrics["Added"] == "0" and metrics["Removed"] == "0"


def test_the_contract_is_saved_from_the_page(app_env: Workspace) -> None:
    from tests.conftest import make_dataset_version
    from workbench.datasets import versions as datasets

    make_dataset_version(rows=30)
    at = open_tab(run_page(nav.DATASETS), "version-tabs-churn", "Contract")
    key = next(s for s in at.selectbox if s.label == "Key column")
    assert key.value == "id"
    key.select("(none)")
    next(c for c in at.checkbox if c.label == "Allow extra columns").uncheck()
    next(t for t in at.text_input if t.label == "Note").input("no key for now")
    next(b for b in at.button if b.label == "Save contract").click().run()
    assert not at.exception and not at.error
    assert any("Saved contract revision 2" in s.value for s in at.success)
    revision, spec = datasets.get_contract(app_env, "churn")
    assert revision == 2 and spec["key"] is None and spec["allow_extra_columns"] is False


def test_a_run_is_launched_from_the_page(app_env: Workspace) -> None:
    from tests.test_runner import binary_frame
    from workbench import sdk as wb
    from workbench.training import runner

    wb.log_dataset(binary_frame(120), "churn")
    at = run_page(nav.EXPERIMENTS)
    assert not at.exception and not at.error
    assert next(s for s in at.selectbox if s.label == "Target column").value == "churned"
    assert next(r for r in at.radio if r.label == "Task").value == "classification"
    estimator = next(s for s in at.selectbox if s.label == "Estimator")
    assert estimator.value == "random_forest"
    next(t for t in at.text_input if t.label == "n_estimators").input("25")
    next(b for b in at.button if b.label == "Launch run").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    launched = "Launched a run in Default; it appears below as it runs."
    assert any(launched in s.value for s in at.success)
    runner.join(60)
    at.run()
    table = at.dataframe[0].value
    assert table["status"].tolist() == ["finished"] and table["params.n_estimators"][0] == "25"


def test_bad_hyperparameters_from_the_page_say_why(app_env: Workspace) -> None:
    from tests.test_runner import binary_frame
    from workbench import sdk as wb

    wb.log_dataset(binary_frame(60), "churn")
    at = run_page(nav.EXPERIMENTS)
    next(t for t in at.text_input if t.label == "n_estimators").input("-3")
    next(b for b in at.button if b.label == "Launch run").click().run()
    assert "must be an int in the range [1, inf). Got -3" in plain(at.error[0].value)
    assert experiments.search_runs(app_env) == []


def test_models_page_aliases_and_promotion(app_env: Workspace) -> None:
    from tests.test_runner import binary_frame
    from workbench import sdk as wb
    from workbench.registry import models as registry
    from workbench.training import runner
    from workbench.training.task import RunSpec

    wb.log_dataset(binary_frame(200), "churn")
    for estimator in ("dummy", "random_forest"):
        launch = runner.launch(
            app_env, RunSpec("churn", "churned", estimator), experiment="m", wait=True
        )
        registry.register_model(app_env, launch.run_ids[0], "churn-clf")
    registry.set_alias(app_env, "churn-clf", "champion", 1)
    registry.set_alias(app_env, "churn-clf", "challenger", 2)
    at = run_page(nav.MODELS)
    assert not at.exception and not at.error, [e.value for e in at.error]
    versions = at.dataframe[0].value
    assert versions["version"].tolist() == ["churn-clf/2", "churn-clf/1"]
    assert versions["aliases"].tolist() == ["challenger", "champion"]
    assert len(at.dataframe) == 1  # the alias history is a markdown table, newest first
    history = next(m.value for m in at.markdown if m.value.startswith("| when \\(UTC\\) |"))
    assert [line.split(" | ")[1] for line in history.splitlines()[2:]] == ["challenger", "champion"]
    open_tab(at, "model-tabs-churn-clf", "Champion vs challenger")
    promote = next(b for b in at.button if b.label == "Promote the challenger to champion")
    assert not promote.disabled
    promote.click().run()
    assert not at.exception and not at.error
    assert registry.get_version(app_env, "churn-clf@champion").version == 2
    next(b for b in at.button if b.label == "Roll back @champion").click().run()
    assert registry.get_version(app_env, "churn-clf@champion").version == 1
    assert any("rolled back to v1" in s.value for s in at.success)


def test_champion_versus_challenger_is_computed_once(app_env: Workspace, monkeypatch) -> None:
    """Issue #15: the comparison (both models scored, 1,000 bootstrap resamples) reran on
    every click of the Models page, and ran on arrival although its tab was hidden. It now
    runs when its tab opens, and ticking a gate box reuses it; a write (an alias moved)
    computes it afresh. The calls are counted on the real function."""
    from workbench.registry import promotion

    refused_models(app_env)
    calls = []
    real = promotion.compare
    monkeypatch.setattr(promotion, "compare", lambda *a, **k: calls.append(1) or real(*a, **k))
    at = run_page(nav.MODELS)
    assert not at.exception and not calls  # the Model card is open: nothing compared
    open_tab(at, "model-tabs-churn-clf", "Champion vs challenger")
    assert not at.exception and len(calls) == 1
    at.checkbox(key="cc-sig").uncheck().run()
    at.number_input(key="cc-margin").set_value(0.01).run()
    assert not at.exception and len(calls) == 1


def refused_models(ws: Workspace) -> None:
    """churn-clf: v1 a dummy, v2 a forest; the forest is champion and the dummy challenger,
    so the promotion gate refuses the challenger (worse, not significant)."""
    from tests.test_runner import binary_frame
    from workbench import sdk as wb
    from workbench.registry import models as registry
    from workbench.training import runner
    from workbench.training.task import RunSpec

    wb.log_dataset(binary_frame(200), "churn")
    for estimator in ("dummy", "random_forest"):
        launch = runner.launch(
            ws, RunSpec("churn", "churned", estimator), experiment="m", wait=True
        )
        registry.register_model(ws, launch.run_ids[0], "churn-clf")
    registry.set_alias(ws, "churn-clf", "champion", 2)
    registry.set_alias(ws, "churn-clf", "challenger", 1)


def move_alias(
    at: AppTest, alias: str, version: int, reason: str = "", override: bool | None = None
) -> AppTest:
    """Fill and submit the Models page's Move alias form."""
    next(t for t in at.text_input if t.label == "Alias").input(alias)
    next(s for s in at.selectbox if s.label == "Version" and "1" in s.options).select(version)
    next(t for t in at.text_input if t.label == "Reason").input(reason)
    if override is not None:
        box = next(c for c in at.checkbox if c.label == "Override the promotion gate")
        box.check() if override else box.uncheck()
    return next(b for b in at.button if b.label == "Move alias").click().run()


def test_an_admin_overrides_the_gate_only_explicitly_and_with_a_reason(app_env) -> None:
    """Single-user mode: the process's user is an admin (as for every admin action). The
    Aliases form no longer moves champion past the gate in one click, and the refused
    Promote needs the override box and a reason; both moves are audited as overrides."""
    import json

    from workbench.registry import models as registry
    from workbench.team import auth

    refused_models(app_env)
    at = open_tab(run_page(nav.MODELS), "model-tabs-churn-clf", "Champion vs challenger")
    assert not at.exception and not at.error, [e.value for e in at.error]
    # the comparison's cards: short labels (a third of the column cut "Champion churn-…")
    cards = [m.label for m in at.metric]
    assert cards[-2:] == ["Champion v2", "Challenger v1"], cards
    captions = " ".join(c.value for c in at.caption)
    assert "challenger minus champion" in captions and "95% interval [" in captions
    assert "McNemar's exact test" in captions and "p = <" not in captions
    assert next(t for t in at.text_input if t.label == "Alias").value == "challenger"
    move_alias(at, "champion", 1, reason="looks fine")
    assert any("guarded by the promotion gate" in e.value for e in at.error)
    assert registry.get_version(app_env, "churn-clf@champion").version == 2
    move_alias(at, "champion", 1, override=True)
    assert any("needs a reason" in e.value for e in at.error)
    assert registry.get_version(app_env, "churn-clf@champion").version == 2

    promote = next(b for b in at.button if b.key == "promote")
    assert promote.label == "Override the gate and promote" and promote.disabled
    assert any("The gate refuses this promotion" in w.value for w in at.warning)
    next(c for c in at.checkbox if c.label == "Override the gate").check().run()
    assert next(b for b in at.button if b.key == "promote").disabled  # no reason yet
    next(t for t in at.text_input if t.label == "Reason for the override").input(
        "the forest leaks the label"
    ).run()
    next(b for b in at.button if b.key == "promote").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert registry.get_version(app_env, "churn-clf@champion").version == 1
    assert any("Promoted churn-clf/1 to champion by override" in s.value for s in at.success)
    move_alias(at, "champion", 2, reason="back to the forest", override=True)
    assert not at.error, [e.value for e in at.error]
    assert registry.get_version(app_env, "churn-clf@champion").version == 2
    moves = auth.audit_events(app_env, action="model.alias.move")
    details = [json.loads(d) for d in moves["detail"]][:2]
    assert [(d["override"], d["reason"]) for d in details] == [
        (True, "back to the forest"),
        (True, "the forest leaks the label"),
    ]
    assert [w.split(":")[0] for w in details[1]["waived"]] == [
        "better by the margin",
        "significant",
    ]


def test_monitor_badges_on_models_and_home(app_env: Workspace) -> None:
    from tests.test_runner import binary_frame
    from workbench import sdk as wb
    from workbench.drift import monitoring
    from workbench.registry import models as registry
    from workbench.training import runner
    from workbench.training.task import RunSpec

    wb.log_dataset(binary_frame(120), "churn")
    launch = runner.launch(app_env, RunSpec("churn", "churned", "dummy"), experiment="m", wait=True)
    registry.register_model(app_env, launch.run_ids[0], "churn-clf")
    registry.set_alias(app_env, "churn-clf", "champion", 1)
    at = open_tab(run_page(nav.MODELS), "model-tabs-churn-clf", "Monitor")
    assert any("unmonitored" in m.value for m in at.markdown)
    next(t for t in at.text_input if t.label == "Label column").input("churned")
    next(b for b in at.button if b.label == "Save monitor").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    saved = monitoring.monitors(app_env)[0]
    assert saved.target == "churned" and saved.max_performance_drop == pytest.approx(0.05)
    assert any(":green-badge[ok]" in m.value for m in at.markdown)
    home = run_page(nav.HOME)
    assert any("**churn-clf** · champion v1 · :green-badge[ok]" in m.value for m in home.markdown)


def _flash_page() -> None:
    import streamlit as st

    from workbench.ui.widgets import flash_scope

    with flash_scope():
        st.session_state["runs"] = st.session_state.get("runs", 0) + 1
        if message := st.session_state.get("flash"):
            st.success(message)
        if st.session_state.get("interrupt"):
            # what Streamlit does when a newer rerun request arrives mid-run
            st.session_state["interrupt"] = False
            st.rerun()
        if st.button("Act"):
            st.session_state["flash"] = "Done."
            st.session_state["interrupt"] = True
            st.rerun()


def test_a_confirmation_survives_a_run_interrupted_before_it_was_drawn() -> None:
    """A page read its confirmation with pop(): a run interrupted after reading it (a second
    rerun under load) took it along, and the browser never showed "Promoted ...". The
    message now lasts until a run that shows it ends, and goes after that."""
    at = AppTest.from_function(_flash_page, default_timeout=120).run()
    at.button[0].click().run()
    assert [s.value for s in at.success] == ["Done."]
    assert at.session_state["runs"] == 4  # the click, the interrupted run, the one shown
    at.run()
    assert [s.value for s in at.success] == []


def test_the_datasets_page_opens_the_dataset_with_a_history(app_env: Workspace) -> None:
    """The sidebar's Datasets link (no query parameter) opens the dataset with the most
    versions (the demo's `churn`), not the first name alphabetically (`breast_cancer`)."""
    from tests.test_runner import binary_frame
    from workbench.datasets import versions as datasets

    datasets.register(app_env, binary_frame(30), "breast_cancer")
    for rows in (30, 40):  # two different versions
        datasets.register(app_env, binary_frame(rows), "churn")
    at = run_page(nav.DATASETS)
    assert not at.exception, at.exception
    picker = next(s for s in at.selectbox if s.label == "Dataset")
    assert picker.value == "churn"


def test_file_sizes_read_as_people_read_them() -> None:
    """An artifact's button said "heldout_predictions.parquet (21,340 bytes)", cut off."""
    from workbench.ui.widgets import file_size

    sizes = [0, 812, 1024, 21_340, 3_250_000, 5 * 1024**4]
    assert [file_size(n) for n in sizes] == [
        "0 B",
        "812 B",
        "1.0 KiB",
        "20.8 KiB",
        "3.1 MiB",
        "5.0 TiB",
    ]


def test_a_page_run_in_a_test_leaves_a_trace_in_main() -> None:
    """With the next test: AppTest installs the page as ``sys.modules["__main__"]`` (as
    Streamlit's script runner does) and leaves it there after the test."""
    at = AppTest.from_function(_flash_page, default_timeout=120).run()
    assert not at.exception


def test_a_spawned_process_starts_after_a_page_test() -> None:
    """A process started by spawning re-runs ``__main__``'s file: after the test above it ran
    the page script and died (dask's LocalCluster: "Nanny failed to start", under load).
    tests/conftest.py puts ``__main__`` back after every test."""
    import multiprocessing

    child = multiprocessing.get_context("spawn").Process(target=abs, args=(0,))
    child.start()
    child.join(120)
    assert child.exitcode == 0


def test_the_diff_of_the_first_version_runs_forwards_in_time(app_env: Workspace) -> None:
    """A newcomer: with v1 selected, the Diff tab compared reference v2 with current v1."""
    from tests.conftest import make_dataset_version, make_frame, select_row
    from workbench import sdk as wb

    make_dataset_version(rows=60)
    wb.log_dataset(make_frame(60, seed=1), "churn", message="April")
    at = AppTest.from_file(MAIN, default_timeout=120).run()
    at.switch_page(f"../../../pages/{nav.DATASETS.file}")
    select_row(at, "versions-churn-2", 1)  # v1, the older
    at = open_tab(at, "version-tabs-churn", "Diff")
    boxes = {s.label: s.value for s in at.selectbox}
    assert (boxes["Reference"], boxes["Current"]) == ("churn@v1", "churn@v2")
    at = open_tab(at, "version-tabs-churn", "Profile")
    select_row(at, "versions-churn-2", 0)  # v2: against the one before it
    at = open_tab(at, "version-tabs-churn", "Diff")
    boxes = {s.label: s.value for s in at.selectbox}
    assert (boxes["Reference"], boxes["Current"]) == ("churn@v1", "churn@v2")


def test_models_page_draws_the_newest_alias_moves_and_keeps_the_rest_one_click_away(
    app_env: Workspace,
) -> None:
    """The alias history is a markdown table of the newest moves (a data grid cost every
    visitor's browser a mount on each visit); a longer history is whole in a popover."""
    from tests.test_runner import binary_frame
    from workbench import sdk as wb
    from workbench.registry import models as registry
    from workbench.training import runner
    from workbench.training.task import RunSpec

    wb.log_dataset(binary_frame(200), "churn")
    launch = runner.launch(app_env, RunSpec("churn", "churned", "dummy"), experiment="m", wait=True)
    registry.register_model(app_env, launch.run_ids[0], "churn-clf")
    registry.register_model(app_env, launch.run_ids[0], "churn-clf")
    for i in range(12):  # 12 moves, alternating versions, each with its reason
        registry.set_alias(app_env, "churn-clf", "staging", 1 + i % 2, reason=f"move {i}")
    at = run_page(nav.MODELS)
    assert not at.exception and not at.error, [e.value for e in at.error]
    history = next(m.value for m in at.markdown if m.value.startswith("| when \\(UTC\\) |"))
    rows = history.splitlines()[2:]
    assert len(rows) == 10
    assert rows[0].endswith("| move 11 |") and rows[-1].endswith("| move 2 |")
    whole = next(d.value for d in at.dataframe if "reason" in d.value.columns)
    assert whole["reason"].tolist() == [f"move {i}" for i in range(11, -1, -1)]
