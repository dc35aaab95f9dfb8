"""The runs view with several runs ticked, through AppTest on a real workspace: same-named
runs stay apart (keyed by run id), and curves are drawn only for what was logged per step."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import MAIN_SCRIPT, make_run
from tests.test_runner import binary_frame
from workbench import sdk as wb
from workbench.store.workspace import Workspace
from workbench.training import runner
from workbench.training.task import RunSpec
from workbench.ui import compare

MAIN = MAIN_SCRIPT


@pytest.fixture
def app_env(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.setenv("WORKBENCH_WATCH", "0")  # no background thread inside AppTest
    return ws


def experiments_page(selected: list[str], tab: str = "Curves") -> AppTest:
    """The Experiments page with ``selected`` runs ticked (the selection it remembers) and,
    when one run is, its details' tab ``tab`` open."""
    at = AppTest.from_file(MAIN, default_timeout=120)
    at.session_state["selected_runs"] = selected
    at.session_state["run-tabs"] = tab
    at.run()
    at.switch_page("../../../pages/experiments.py")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def charts(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def curve_panels(at: AppTest) -> list[str]:
    """Subplot titles of the metric-curves chart (the figure with 'step' on its x axes)."""
    for fig in charts(at):
        layout = fig.get("layout", {})
        if layout.get("xaxis", {}).get("title", {}).get("text") == "step":
            return [a["text"] for a in layout.get("annotations", [])]
    return []


def test_two_runs_with_the_same_name_are_compared_apart(app_env: Workspace) -> None:
    a = make_run(
        experiment="churn",
        name="rf",
        params={"depth": 3},
        metrics={"auc": [0.5, 0.8], "accuracy": 0.7},
    )
    b = make_run(
        experiment="churn",
        name="rf",
        params={"depth": 5},
        metrics={"auc": [0.6, 0.9], "accuracy": 0.8},
    )
    at = experiments_page([a, b])
    label_a, label_b = f"rf · {a[:8]}", f"rf · {b[:8]}"
    frames = [d.value for d in at.dataframe]
    params = next(f for f in frames if "depth" in f.index)
    assert params.loc["depth"].to_dict() == {label_a: "3", label_b: "5"}
    summary = next(f for f in frames if "best run" in f.columns)
    assert summary.set_index("metric").loc["accuracy", "best run"] == label_b
    metrics = next(f for f in frames if "accuracy" in f.columns and label_a in f.index)
    assert metrics.loc[label_b, "accuracy"] == 0.8
    legend = {t["name"] for fig in charts(at) for t in fig["data"] if t.get("name")}
    assert {label_a, label_b} <= legend  # the curves' legend tells the two runs apart


def test_run_labels_stay_distinct() -> None:
    import pandas as pd

    table = pd.DataFrame(
        {"run_id": ["abcdef0123", "abcdef0199", "ffff000011"], "name": ["rf", "rf", "svm"]}
    )
    assert compare.run_labels(table) == {
        "abcdef0123": "rf · abcdef0123",
        "abcdef0199": "rf · abcdef0199",
        "ffff000011": "svm · ffff000011",
    }
    table = pd.DataFrame({"run_id": ["aaaaaaaa11", "bbbbbbbb22"], "name": ["rf", "svm"]})
    assert compare.run_labels(table) == {"aaaaaaaa11": "rf", "bbbbbbbb22": "svm"}


def test_single_values_are_not_drawn_as_empty_curves(app_env: Workspace) -> None:
    """Two runs, each with one value per metric: no curves chart and no steps slider."""
    a = make_run(experiment="churn", name="a", metrics={"accuracy": 0.7, "roc_auc": 0.8})
    b = make_run(experiment="churn", name="b", metrics={"accuracy": 0.75, "roc_auc": 0.6})
    at = experiments_page([a, b])
    assert curve_panels(at) == []
    assert not [s for s in at.slider if "Steps" in s.label]
    assert any("more than one step" in c.value for c in at.caption)
    at = experiments_page([a])  # one run: its values are in its metrics table, no curves
    assert curve_panels(at) == []
    assert any("Metric curves" in h.value for h in at.subheader) is False


def test_a_launched_run_shows_curves_of_its_folds_and_no_empty_panels(
    app_env: Workspace,
) -> None:
    wb.log_dataset(binary_frame(), "churn")
    kfold = runner.launch(
        app_env,
        RunSpec("churn", "churned", "logistic", validation="kfold", folds=4),
        experiment="ui",
        wait=True,
    )
    holdout = runner.launch(
        app_env,
        RunSpec("churn", "churned", "random_forest", params={"n_estimators": 20}),
        experiment="ui",
        wait=True,
    )
    at = experiments_page(kfold.run_ids)
    panels = curve_panels(at)
    assert "fold_accuracy" in panels and "fold_roc_auc" in panels
    assert not {"accuracy", "roc_auc", "train_seconds"} & set(panels)  # single values
    at = experiments_page(holdout.run_ids)  # a forest on a hold-out: score per tree count
    assert curve_panels(at) == ["staged_accuracy"]
    both = experiments_page(kfold.run_ids + holdout.run_ids)
    assert set(curve_panels(both)) == set(panels) | {"staged_accuracy"}


def test_one_ticked_run_is_acted_on_from_its_popover(app_env: Workspace) -> None:
    """A tick shows the run's facts and tabs; what can be done with it (tag, trash, run
    again, register its model) sits in the "Act on 1 selected run" popover, and works."""
    from workbench.registry import models as registry
    from workbench.tracking import experiments

    wb.log_dataset(binary_frame(), "churn")
    spec = RunSpec("churn", "churned", "logistic")
    launched = runner.launch(app_env, spec, experiment="ui", wait=True)
    run_id = launched.run_ids[0]
    at = experiments_page([run_id], tab="Artifacts")
    assert [t.label for t in at.tabs] == ["Overview", "Evaluation", "Artifacts"]  # no steps
    assert any(b.label.startswith("model.joblib") for b in at.get("download_button"))
    at.text_input(key="bulk-tag-key").input("reviewed")
    at.text_input(key="bulk-tag-value").input("yes")
    at.button(key="bulk-tag").click().run()
    assert experiments.get_run(app_env, run_id).tags["reviewed"] == "yes"
    at.text_input(key=f"regname-{run_id}").input("churn-clf")
    at.button(key=f"register-{run_id}").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert registry.get_version(app_env, "churn-clf/1").run_id == run_id
    at.button(key=f"again-{run_id}").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    runner.join(timeout=120)  # the launch runs in the background: let it end inside the test
    again = [r for r in experiments.search_runs(app_env) if r.run_id != run_id]
    assert len(again) == 1 and again[0].name == "logistic regression (again)"
    assert again[0].status == "finished"
