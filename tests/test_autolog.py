"""wb.autolog(): fitting a scikit-learn estimator in a notebook records a run."""

from __future__ import annotations

import io

import joblib
import pytest
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from workbench import sdk as wb
from workbench.store.workspace import Workspace
from workbench.tracking import experiments


@pytest.fixture
def autologging(ws: Workspace):
    X, y = load_iris(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, random_state=0)
    wb.autolog("notebook", eval_data=(X_te, y_te))
    yield X_tr, y_tr
    wb.autolog(disable=True)


def test_a_fit_records_params_metrics_and_the_model(ws: Workspace, autologging) -> None:
    X, y = autologging
    RandomForestClassifier(n_estimators=15, max_depth=3, random_state=0).fit(X, y)
    [run] = experiments.search_runs(ws)
    detail = experiments.get_run(ws, run.run_id)
    assert run.name == "RandomForestClassifier" and detail.experiment_name == "notebook"
    assert detail.params["n_estimators"] == 15 and detail.params["max_depth"] == 3
    assert {"training_score", "eval_score", "eval_accuracy", "eval_f1_macro"} <= set(detail.metrics)
    assert detail.metrics["eval_accuracy"].last_value > 0.8
    blob = ws.blobs.verified_path(detail.artifacts[0].sha256).read_bytes()
    assert joblib.load(io.BytesIO(blob)).n_estimators == 15


def test_a_pipeline_logs_once(ws: Workspace, autologging) -> None:
    X, y = autologging
    make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
    runs = experiments.search_runs(ws)
    assert [r.name for r in runs] == ["Pipeline"]


def test_inside_an_active_run_fits_log_into_it(ws: Workspace, autologging) -> None:
    X, y = autologging
    with wb.start_run(experiment="manual", name="mine") as run:
        LogisticRegression(max_iter=300).fit(X, y)
    [only] = experiments.search_runs(ws)
    assert only.run_id == run.run_id
    assert experiments.get_run(ws, run.run_id).params["max_iter"] == 300


def test_disable_restores_fit(ws: Workspace) -> None:
    wb.autolog()
    wb.autolog(disable=True)
    X, y = load_iris(return_X_y=True)
    LogisticRegression(max_iter=300).fit(X, y)
    assert experiments.search_runs(ws) == []
    assert not hasattr(LogisticRegression.fit, "__wb_autolog__")
