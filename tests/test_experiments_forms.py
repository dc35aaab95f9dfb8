"""The Experiments page's forms through AppTest on a real workspace: the launch form's Task
follows the dataset version and the target (the user's choice stays while both do), and the
compare view offers, lists and draws only what the selected runs logged."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import MAIN_SCRIPT, make_run, plain
from workbench import sdk as wb
from workbench.store.workspace import Workspace
from workbench.training.launch_defaults import task_for
from workbench.ui.compare import logged_only, scatter_points


@pytest.fixture
def app_env(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.setenv("WORKBENCH_WATCH", "0")  # no background thread inside AppTest
    return ws


def experiments_page(selected: list[str] | None = None, launch: bool = False) -> AppTest:
    """The Experiments page, with ``selected`` runs ticked and the launch form open or not."""
    at = AppTest.from_file(MAIN_SCRIPT, default_timeout=120)
    at.session_state["selected_runs"] = selected or []
    at.session_state["launch_open"] = launch
    at.run()
    at.switch_page("../../../pages/experiments.py")
    at.run()
    ok(at)
    return at


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def widget(at: AppTest, kind: str, label: str):
    [found] = [w for w in at.get(kind) if w.label == label]
    return found


def task(at: AppTest) -> str:
    return widget(at, "radio", "Task").value


def charts(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


# -- the launch form's task --------------------------------------------------------------


def churn_frame(n: int = 80) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:04d}" for i in range(n)],
            "plan": rng.choice(["basic", "plus", "pro"], n),
            "monthly_charges": rng.uniform(10, 120, n).round(2),
            "churned": rng.random(n) < 0.3,
        }
    )


def gems_frame(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    carat = rng.uniform(0.2, 3.0, n)
    return pd.DataFrame(
        {
            "carat": carat,
            "cut": rng.choice(["Fair", "Good", "Ideal"], n),
            "price": (carat * 4000 + rng.normal(0, 300, n)).round(2),  # ~n distinct floats
        }
    )


def test_the_task_follows_the_dataset_and_the_target(app_env: Workspace) -> None:
    """The Task radio was keyed once for the whole form, so it kept the task detected for
    the first target: a float `price` trained as a 2,000-class classifier, or a bool
    `churned` refused as a regression target. At HEAD the first switch below (gems to
    churn) left Task on "regression"."""
    wb.log_dataset(churn_frame(), "churn")
    wb.log_dataset(gems_frame(), "gems")  # the newest: the form starts on it
    at = experiments_page(launch=True)
    assert widget(at, "selectbox", "Dataset version").value == "gems@v1"
    assert widget(at, "selectbox", "Target column").value == "price"
    assert task(at) == "regression" == task_for("float", 300)

    widget(at, "selectbox", "Dataset version").set_value("churn@v1")
    ok(at.run())
    assert widget(at, "selectbox", "Target column").value == "churned"
    assert task(at) == "classification"

    # the target changes: the task is detected again, from the new target
    widget(at, "selectbox", "Target column").set_value("monthly_charges")
    ok(at.run())
    assert task(at) == "regression"
    widget(at, "selectbox", "Target column").set_value("plan")
    ok(at.run())
    assert task(at) == "classification"

    widget(at, "selectbox", "Dataset version").set_value("gems@v1")
    ok(at.run())
    assert widget(at, "selectbox", "Target column").value == "price"
    assert task(at) == "regression"


def test_a_task_the_user_picks_stays_while_dataset_and_target_do(app_env: Workspace) -> None:
    wb.log_dataset(gems_frame(), "gems")
    at = experiments_page(launch=True)
    assert task(at) == "regression"
    widget(at, "radio", "Task").set_value("classification")
    ok(at.run())
    assert task(at) == "classification"
    # other fields change and the page reruns: the override stays
    widget(at, "multiselect", "Features").set_value(["carat"])
    ok(at.run())
    at.number_input(key="launch_seed").set_value(7)
    ok(at.run())
    assert task(at) == "classification"
    assert widget(at, "selectbox", "Target column").value == "price"
    # another target: detected again
    widget(at, "selectbox", "Target column").set_value("cut")
    ok(at.run())
    assert task(at) == "classification"
    widget(at, "selectbox", "Target column").set_value("carat")
    ok(at.run())
    assert task(at) == "regression"


# -- the compare view --------------------------------------------------------------------


def quickstart_run() -> str:
    """The README's Quickstart run: params n_estimators and max_depth, `loss` and `auc` per
    step, named rf-baseline in experiment churn."""
    return make_run(
        experiment="churn",
        name="rf-baseline",
        params={"n_estimators": 200, "max_depth": 8},
        metrics={
            "loss": [1 / (s + 1) for s in range(10)],
            "auc": [0.5 + s / 100 for s in range(10)],
        },
    )


def test_compare_offers_and_lists_only_what_the_selected_runs_logged(
    app_env: Workspace,
) -> None:
    """Two Quickstart runs ticked beside launched-like runs of other metrics and params: at
    HEAD the chart started on Metric `accuracy` and param `C` (neither run has them), drew
    empty axes, and the metrics table had accuracy and balanced_accuracy columns of None."""
    make_run(
        experiment="churn",
        name="logistic",
        params={"C": 1.0, "estimator": "logistic"},
        metrics={"accuracy": 0.8, "balanced_accuracy": 0.7},
    )
    a, b = quickstart_run(), quickstart_run()
    at = experiments_page([a, b])
    assert widget(at, "selectbox", "Metric").options == ["auc", "loss"]
    params = widget(at, "selectbox", "Param against the metric")
    assert params.options == ["max_depth", "n_estimators"]
    frames = [d.value for d in at.dataframe]
    label_a, label_b = f"rf-baseline · {a[:8]}", f"rf-baseline · {b[:8]}"  # same name: by id
    [metrics] = [f for f in frames if label_a in f.index and "auc" in f.columns]
    assert list(metrics.columns) == ["auc", "loss"]
    assert set(metrics.index) == {label_a, label_b}
    [scatter] = [
        f
        for f in charts(at)
        if f["layout"].get("yaxis", {}).get("title", {}).get("text") == "auc"
        and f["layout"].get("xaxis", {}).get("title", {}).get("text") == params.value
    ]
    ys = [y for trace in scatter["data"] for y in trace["y"]]
    assert len(ys) == 2 and all(y is not None for y in ys)  # a point per run, none blank
    hover = {h for trace in scatter["data"] for h in trace.get("hovertext", [])}
    assert hover == {label_a, label_b}


def test_a_chart_with_nothing_to_draw_says_why_instead(app_env: Workspace) -> None:
    """Two runs with nothing in common: a param one logged against a metric only the other
    logged has no point; at HEAD it was drawn as empty axes."""
    a = make_run(experiment="churn", name="lr", params={"C": 1.0}, metrics={"accuracy": 0.8})
    b = make_run(
        experiment="churn", name="rf", params={"n_estimators": 50}, metrics={"loss": [0.5, 0.3]}
    )
    at = experiments_page([a, b])
    metric = widget(at, "selectbox", "Metric")
    assert metric.options == ["accuracy", "loss"] and metric.value == "accuracy"
    # the param starts on one that has a point with the metric
    assert widget(at, "selectbox", "Param against the metric").value == "C"
    widget(at, "selectbox", "Param against the metric").set_value("n_estimators")
    ok(at.run())
    captions = [plain(c.value) for c in at.caption]  # names escaped as markdown
    assert any(
        "No selected run logged both the param n_estimators and the metric accuracy" in c
        for c in captions
    ), captions
    for fig in charts(at):  # every chart drawn has a point to show
        assert any(v is not None for t in fig["data"] for v in t.get("y", [])), fig["layout"]
    # another metric starts on a param it can draw
    widget(at, "selectbox", "Metric").set_value("loss")
    ok(at.run())
    assert widget(at, "selectbox", "Param against the metric").value == "n_estimators"
    assert not any("No selected run logged both" in c.value for c in at.caption)


def test_logged_only_and_scatter_points() -> None:
    table = pd.DataFrame(
        {
            "run_id": ["a", "b", "c"],
            "params.depth": ["10", "9", None],
            "params.C": [None, None, None],
            "metrics.auc": [0.7, 0.8, 0.9],
            "metrics.accuracy": [None, float("nan"), None],
        }
    )
    kept = logged_only(table)
    assert list(kept.columns) == ["run_id", "params.depth", "metrics.auc"]
    points = scatter_points(kept, "depth", "auc")
    assert list(points["run_id"]) == ["a", "b"]
    assert list(points["params.depth"]) == [10.0, 9.0]  # numbers: ordered by value, not text
    assert scatter_points(table, "C", "auc").empty
    assert scatter_points(table, "depth", "accuracy").empty
    assert scatter_points(table, "depth", "no_such_metric").empty
