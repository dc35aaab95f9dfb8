"""Evaluation a statistician would sign (issue 15): no score is taken on rows the model was
fitted on. Launched runs keep their held-out predictions; a drift report's reference
performance comes from them; champion versus challenger defaults to a version neither
model was trained on, and the gate refuses training data; the retraining loop judges its
challenger on the rows of the new month it did not see."""

from __future__ import annotations

import os
import time

import numpy as np
import pandas as pd
import pytest

from tests.conftest import MAIN_SCRIPT
from workbench import sdk as wb
from workbench.cli.main import main
from workbench.datasets import inbox
from workbench.drift import monitoring
from workbench.drift import report as reports
from workbench.registry import models as registry
from workbench.registry import promotion
from workbench.store.workspace import Workspace
from workbench.tracking import experiments
from workbench.training import evaluation, runner
from workbench.training.task import RunSpec

NO_CONTRACT = promotion.GateConfig(require_contract=False)


def customers(n: int, seed: int, noise: float = 0.15) -> pd.DataFrame:
    """Churn with label noise: a share ``noise`` of labels flipped, so a random forest
    nearly memorises its training rows and scores them far above new ones."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n)
    usage = rng.normal(500, 120, n)
    plan = rng.choice(["basic", "pro", "team"], n, p=[0.3, 0.4, 0.3])
    churned = (usage < 450) | ((plan == "basic") & (age > 55))
    churned = churned ^ (rng.random(n) < noise)
    return pd.DataFrame({"age": age, "usage": usage, "plan": plan, "churned": churned})


def diamonds(n: int = 5000, seed: int = 3) -> pd.DataFrame:
    """A public-like diamonds table: price from carat and cut plus noise (sd 550)."""
    rng = np.random.default_rng(seed)
    carat = rng.gamma(2.0, 0.4, n)
    depth = rng.normal(61.7, 1.4, n)
    x = carat ** (1 / 3) * 6 + rng.normal(0, 0.1, n)
    cut = rng.choice(
        ["Fair", "Good", "Very Good", "Premium", "Ideal"], n, p=[0.05, 0.1, 0.25, 0.25, 0.35]
    )
    bonus = (
        pd.Series(cut)
        .map({"Fair": -300, "Good": -100, "Very Good": 0, "Premium": 150, "Ideal": 250})
        .to_numpy()
    )
    return pd.DataFrame(
        {
            "carat": carat,
            "cut": cut,
            "color": rng.choice(list("DEFGHIJ"), n),
            "clarity": rng.choice(["SI2", "SI1", "VS2", "VS1", "VVS2", "VVS1", "IF"], n),
            "depth": depth,
            "table": rng.normal(57.4, 2.2, n),
            "x": x,
            "y": x + rng.normal(0, 0.05, n),
            "z": x * 0.62 + rng.normal(0, 0.05, n),
            "price": 4000 * carat + bonus + 30 * (depth - 61.7) + rng.normal(0, 550, n),
        }
    )


def train(
    ws: Workspace, dataset: str, target: str, estimator: str, name: str, **spec
) -> registry.ModelVersion:
    launch = runner.launch(
        ws, RunSpec(dataset, target, estimator, **spec), experiment=name, wait=True
    )
    return registry.register_model(ws, launch.run_ids[0], name)


@pytest.fixture()
def split_diamonds(ws: Workspace) -> Workspace:
    """A random split of one table into two versions: nothing drifts."""
    frame = diamonds()
    order = np.random.default_rng(3).permutation(len(frame))
    half = len(frame) // 2
    wb.log_dataset(frame.iloc[order[:half]].reset_index(drop=True), "diamonds")
    wb.log_dataset(frame.iloc[order[half:]].reset_index(drop=True), "diamonds")
    return ws


# -- held-out predictions kept at training -----------------------------------------------------


def test_a_launched_run_keeps_the_predictions_of_rows_its_model_did_not_see(ws: Workspace) -> None:
    wb.log_dataset(customers(400, 1), "churn")
    version = train(ws, "churn@v1", "churned", "random_forest", "clf", seed=4)
    held = evaluation.heldout(ws, version)
    assert (held.dataset_ref, held.target, held.kind) == ("churn@v1", "churned", "holdout")
    frame = wb.load_dataset("churn@v1")
    rows = held.frame["row"].to_numpy()
    assert len(rows) == 100 == len(set(rows)) and rows.max() < 400
    assert held.frame["label"].tolist() == frame["churned"].iloc[rows].tolist()
    model = registry.load_model(ws, version.ref)  # the saved model made these predictions
    again = model.predict(frame.iloc[rows][["age", "usage", "plan"]])
    assert held.frame["prediction"].tolist() == list(again)
    assert {"proba_False", "proba_True"} <= set(held.frame.columns)
    # its accuracy there is the run's hold-out accuracy
    hits = (held.frame["label"] == held.frame["prediction"]).mean()
    assert hits == pytest.approx(version.metrics["accuracy"])
    # the run's charts are still its evaluation record, not the held-out file's
    charts = experiments.evaluations(ws, [version.run_id])[version.run_id]
    assert "confusion_matrix" in charts and "roc" in charts


def test_kfold_and_sweep_trials_keep_theirs(ws: Workspace) -> None:
    wb.log_dataset(customers(300, 2), "churn")
    version = train(ws, "churn@v1", "churned", "logistic", "clf", validation="kfold", folds=3)
    held = evaluation.heldout(ws, version)
    assert held.kind == "out-of-fold" and held.model_saw_rows
    assert sorted(held.frame["row"]) == list(range(300))  # each row once, by another fold
    sweep = runner.launch(
        ws,
        RunSpec("churn@v1", "churned", "random_forest"),
        experiment="sweep",
        wait=True,
        workers=2,
        sweep=runner.SweepSpec("grid", {"n_estimators": [5, 10]}),
    )
    for run_id in sweep.run_ids:
        child = registry.register_model(ws, run_id, "swept")
        assert evaluation.heldout(ws, child).kind == "holdout"


def test_autolog_keeps_the_evaluation_split_of_the_same_frame(split_diamonds: Workspace) -> None:
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.model_selection import train_test_split

    ws = split_diamonds
    frame = wb.load_dataset("diamonds@v1")
    X = frame[["carat", "depth", "table", "x", "y", "z"]]
    X_tr, X_te, y_tr, y_te = train_test_split(X, frame["price"], test_size=0.2, random_state=0)
    wb.autolog("notebook", eval_data=(X_te, y_te))
    try:
        model = RandomForestRegressor(60, random_state=0).fit(X_tr, y_tr)
    finally:
        wb.autolog(disable=True)
    [run_id] = wb.search_runs(experiment="notebook")["run_id"]
    version = wb.register_model(run_id, "nb")
    held = evaluation.heldout(ws, version)
    assert (held.dataset_ref, held.target, held.kind) == ("diamonds@v1", "price", "holdout")
    assert held.frame["row"].tolist() == list(X_te.index)
    assert held.frame["prediction"].tolist() == list(model.predict(X_te))
    report = reports.run_report(ws, "diamonds@v1", "diamonds@v2", model=version.ref, target="price")
    perf = reports.model_section(report).performance
    assert perf.n_reference == 500 and perf.verdict != "degraded", perf.sentence


# -- model drift: the reference performance from held-out predictions --------------------------


def test_a_random_split_does_not_degrade_a_regressor(split_diamonds: Workspace, capsys) -> None:
    """Issue 15: 0 of 10 columns drift, yet RMSE 340 -> 578 "drop 70%" and exit 3, because
    the reference was scored on the rows the forest was fitted on."""
    ws = split_diamonds
    version = train(ws, "diamonds@v1", "price", "random_forest", "price")
    report = reports.run_report(ws, "diamonds@v1", "diamonds@v2", model=version.ref)
    # 9 features compared; the label (price) is reported apart, beside the model
    assert report.n_drifted == 0 and report.n_columns == 9
    assert reports.label_drift(report).verdict == "no drift"
    perf = reports.model_section(report).performance
    assert perf.verdict != "degraded", perf.sentence
    assert reports.model_section(report).verdict != "performance degraded"
    assert perf.reference == pytest.approx(version.metrics["rmse"])  # the run's own hold-out
    assert perf.n_reference == 625 and "hold-out (625 rows of diamonds@v1" in perf.sentence
    assert abs(perf.drop_share) < 0.15  # about the same error on new rows
    code = main(
        [
            "drift",
            "report",
            "diamonds@v2",
            "--reference",
            "diamonds@v1",
            "--model",
            version.ref,
            "--fail-on-drift",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "the run's hold-out" in out


def test_a_classifier_shows_auc_and_base_rate_beside_accuracy(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Accuracy moves with the base rate; ROC AUC says whether the ranking got worse: in the
    report's sentence, and as cards of their own on the Drift page."""
    from sklearn.metrics import roc_auc_score

    from tests.conftest import open_tab
    from tests.test_pages import run_page
    from workbench.ui import nav

    wb.log_dataset(customers(1200, 1), "churn")
    version = train(ws, "churn@v1", "churned", "logistic", "clf")
    later = customers(1200, 2, noise=0.35)  # more churners, and labels less predictable
    wb.log_dataset(later, "churn")
    report = reports.run_report(ws, "churn@v1", "churn@v2", model=version.ref)
    perf = reports.model_section(report).performance
    held = evaluation.heldout(ws, version).frame
    assert perf.positive == "True" and perf.n_reference == 300
    assert perf.auc_reference == pytest.approx(roc_auc_score(held["label"], held["proba_True"]))
    assert perf.base_rate_reference == pytest.approx(held["label"].mean())
    assert perf.base_rate_current == pytest.approx(later["churned"].mean())
    assert perf.auc_current < perf.auc_reference - 0.1
    assert f"ROC AUC {perf.auc_reference:.3f} -> {perf.auc_current:.3f}" in perf.sentence
    assert f"share of True {perf.base_rate_reference:.1%} -> " not in perf.sentence
    assert f"share of 'True' {perf.base_rate_reference:.1%} -> " in perf.sentence
    monkeypatch.setenv("WORKBENCH_WATCH", "0")
    at = run_page(nav.DRIFT)  # the newest report, this one
    open_tab(at, f"drift-tabs-{report.report_id}", "Model")
    assert not at.exception, at.exception
    cards = {m.label: m.value for m in at.metric}
    assert cards["ROC AUC"] == f"{perf.auc_reference:.3f} → {perf.auc_current:.3f}"
    assert cards["Share of True"] == (
        f"{perf.base_rate_reference:.1%} → {perf.base_rate_current:.1%}"
    )


def test_kfold_reference_is_out_of_fold(split_diamonds: Workspace) -> None:
    ws = split_diamonds
    version = train(
        ws,
        "diamonds@v1",
        "price",
        "random_forest",
        "price",
        validation="kfold",
        folds=3,
        params={"n_estimators": 40},
    )
    report = reports.run_report(ws, None, "diamonds@v2", model=version.ref)  # default: v1
    perf = reports.model_section(report).performance
    assert perf.reference_source.startswith("the run's out-of-fold predictions (2,500 rows")
    assert perf.n_reference == 2500 and perf.verdict != "degraded", perf.sentence


def test_a_hand_logged_model_claims_no_degradation_against_its_training_rows(
    split_diamonds: Workspace, capsys
) -> None:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    ws = split_diamonds
    train_frame = wb.load_dataset("diamonds@v1")
    X, y = train_frame.drop(columns="price"), train_frame["price"]
    cats = ["cut", "color", "clarity"]
    prep = ColumnTransformer(
        [("cat", OneHotEncoder(handle_unknown="ignore"), cats)], remainder="passthrough"
    )
    model = Pipeline([("prep", prep), ("rf", RandomForestRegressor(60, random_state=0))])
    model.fit(X, y)
    with wb.start_run(experiment="hand") as run:
        run.log_input(registry_version(ws, "diamonds@v1"))
        run.log_model(model, input_example=X.head())
    version = wb.register_model(run.run_id, "hand")
    assert version.dataset_ref == "diamonds@v1"
    report = reports.run_report(ws, "diamonds@v1", "diamonds@v2", model=version.ref, target="price")
    section = reports.model_section(report)
    assert section.performance.drop_share > 0.3  # the optimistic training-row score
    assert section.performance.verdict == "not enough evidence"
    assert section.verdict != "performance degraded"
    assert "kept no held-out predictions" in section.note and "optimistic" in section.note
    assert (
        main(
            [
                "drift",
                "report",
                "diamonds@v2",
                "--reference",
                "diamonds@v1",
                "--model",
                version.ref,
                "--target",
                "price",
                "--fail-on-drift",
            ]
        )
        == 0
    )
    assert "no degradation is claimed" in capsys.readouterr().out
    assert evaluation.heldout(ws, version) is None


def registry_version(ws: Workspace, ref: str):
    from workbench.datasets import versions as datasets

    return datasets.get_version(ws, ref)


# -- champion versus challenger: never on training data ----------------------------------------


def three_months_two_models(ws: Workspace, rows: int, trained_on: str, estimator: str) -> None:
    """churn@v1..v3; clf/1 a dummy on v1 (champion), clf/2 ``estimator`` on ``trained_on``
    (challenger)."""
    for seed in (1, 2, 3):
        wb.log_dataset(customers(rows, seed), "churn")
    train(ws, "churn@v1", "churned", "dummy", "clf")
    train(ws, trained_on, "churned", estimator, "clf")
    registry.set_alias(ws, "clf", "champion", 1)
    registry.set_alias(ws, "clf", "challenger", 2)


def test_the_default_is_a_version_neither_model_was_trained_on(ws: Workspace, capsys) -> None:
    three_months_two_models(ws, 400, "churn@v2", "random_forest")
    choice = promotion.evaluation_choice(ws, "clf")
    assert (choice.default, choice.target, choice.note) == ("churn@v3", "churned", "")
    assert choice.candidates == ("churn@v3", "churn@v2", "churn@v1")
    unseen = promotion.compare(ws, "clf", "churn@v3", "churned", n_boot=200)
    assert unseen.n_rows == 400 and unseen.trained_on == () and not unseen.on_training_data
    # On the challenger's training version only the rows its run held out are used.
    held = promotion.compare(ws, "clf", "churn@v2", "churned", n_boot=200)
    assert held.trained_on == ("challenger",) and held.n_rows == 100
    assert not held.on_training_data and "the 100 rows its run held out" in held.data_note
    main(["models", "compare", "clf"])
    assert "on churn@v3, 400 labelled rows\n" in capsys.readouterr().out


def test_the_gate_refuses_a_comparison_on_training_data(ws: Workspace, capsys) -> None:
    """k-fold models are refitted on every row: their training versions have no unseen row.
    The forest wins on its own training rows; the gate must not believe it."""
    for seed in (1, 2):
        wb.log_dataset(customers(400, seed), "churn")
    train(ws, "churn@v1", "churned", "dummy", "clf", validation="kfold", folds=3)
    train(ws, "churn@v2", "churned", "random_forest", "clf", validation="kfold", folds=3)
    registry.set_alias(ws, "clf", "champion", 1)
    registry.set_alias(ws, "clf", "challenger", 2)
    choice = promotion.evaluation_choice(ws, "clf")
    assert choice.default == "churn@v2"
    assert choice.note.startswith(
        "Evaluated on training data: every labelled version is "
        "training data of one of the models (churn@v2 of the "
        "challenger; churn@v1 of the champion)"
    )
    result = promotion.compare(ws, "clf", "churn@v2", "churned", n_boot=200)
    assert result.on_training_data and result.challenger_score > 0.95  # memorised
    verdict = promotion.gate(result, NO_CONTRACT)
    assert not verdict.allowed
    assert verdict.reasons[0] == (
        "evaluated on rows neither model was fitted on: evaluated on training data: churn@v2 "
        "is the challenger's training data (clf/2 was fitted on it; it was refitted on every row "
        "after cross-validation). Choose a labelled version neither model was trained on."
    )
    assert main(["models", "compare", "clf"]) == 3  # the CLI: the same default, refused
    out = capsys.readouterr().out
    assert "on churn@v2, 400 labelled rows; evaluated on training data" in out
    assert "REFUSE evaluated on rows neither model was fitted on" in out
    refused = promotion.promote(ws, "clf", "churn@v2", "churned", config=NO_CONTRACT)
    assert not refused.allowed and registry.get_version(ws, "clf@champion").version == 1
    # The champion's training data is refused the same way.
    on_v1 = promotion.compare(ws, "clf", "churn@v1", "churned", n_boot=200)
    assert on_v1.trained_on == ("champion",) and on_v1.on_training_data
    assert not promotion.gate(on_v1, NO_CONTRACT).allowed


def test_the_models_page_defaults_to_unseen_data(ws: Workspace, monkeypatch) -> None:
    from streamlit.testing.v1 import AppTest

    from tests.conftest import open_tab
    from workbench.ui import nav

    monkeypatch.setenv("WORKBENCH_WATCH", "0")
    three_months_two_models(ws, 300, "churn@v3", "logistic")
    at = AppTest.from_file(MAIN_SCRIPT, default_timeout=120).run()
    at.switch_page(f"../../../pages/{nav.MODELS.file}").run()
    open_tab(at, "model-tabs-clf", "Champion vs challenger")
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert (
        next(s for s in at.selectbox if s.label == "Labelled dataset version").value == "churn@v2"
    )
    assert next(s for s in at.selectbox if s.label == "Label column").value == "churned"


# -- the retraining loop -----------------------------------------------------------------------


def test_a_clean_month_is_not_a_reason_to_promote(ws: Workspace) -> None:
    """Issue 15: a clean month in the inbox retrained a challenger on it, scored it on that
    same month and auto-promoted it on its own training data."""
    wb.log_dataset(customers(800, 1), "churn")
    train(ws, "churn@v1", "churned", "random_forest", "churn-clf")
    registry.set_alias(ws, "churn-clf", "champion", 1)
    monitoring.set_monitor(
        ws, "churn-clf", "churn", "churned", auto_promote=True, max_performance_drop=0.05
    )
    folder = ws.paths.inbox / "churn"
    folder.mkdir(parents=True)
    path = folder / "may.csv"
    customers(800, 2).to_csv(path, index=False)
    old = time.time() - 60
    os.utime(path, (old, old))
    inbox.scan(ws, settle=1.0)
    [event] = monitoring.events(ws, "churn-clf")
    assert event.detail.get("performance") != "degraded", event.detail
    assert event.action != "promoted", event.detail
    assert registry.get_version(ws, "churn-clf@champion").version == 1


def test_a_retrained_challenger_is_judged_on_rows_it_did_not_see(ws: Workspace) -> None:
    wb.log_dataset(customers(800, 1), "churn")
    champion = train(ws, "churn@v1", "churned", "random_forest", "churn-clf")
    registry.set_alias(ws, "churn-clf", "champion", champion.version)
    wb.log_dataset(customers(800, 2), "churn")  # the same market, new customers
    detail = monitoring.retrain(ws, "churn-clf", "churn@v2", "churned", None, auto_promote=True)
    # Same spec, same market: no real gain on unseen rows, so nothing is promoted (on its
    # own training rows the forest scored 0.95 against the champion's 0.84, and was).
    assert abs(detail["challenger_score"] - detail["champion_score"]) < 0.08, detail
    assert not detail["promoted"] and registry.get_version(ws, "churn-clf@champion").version == 1
    assert detail["evaluation_rows"] == 200, detail  # the challenger's hold-out of May
    assert "compared on the 200 rows its run held out" in detail["evaluated_on"]


def test_a_kfold_champion_is_retrained_with_a_holdout(ws: Workspace) -> None:
    wb.log_dataset(customers(400, 1), "churn")
    champion = train(ws, "churn@v1", "churned", "logistic", "clf", validation="kfold", folds=3)
    registry.set_alias(ws, "clf", "champion", champion.version)
    wb.log_dataset(customers(400, 2), "churn")
    detail = monitoring.retrain(ws, "clf", "churn@v2", "churned", None)
    assert detail["validation"] == "holdout" and detail["evaluation_rows"] == 100
    assert "evaluated on rows neither model was fitted on" not in " ".join(detail["reasons"])


def test_the_note_says_why_when_the_same_rows_come_back_under_another_name(ws) -> None:
    """Found by a newcomer: the training rows registered again under another name were
    scored on all rows (right: the run's hold-out is of the other version), but the note
    said the run "kept no held-out predictions" beside a reference taken from that very
    hold-out. The note now names the hold-out it has and where it is used."""
    frame = customers(500, 1)
    wb.log_dataset(frame, "tr")
    wb.log_dataset(frame, "tr2")  # the same content: the model was fitted on these rows
    version = train(ws, "tr@v1", "churned", "logistic", "tsm")
    report = reports.run_report(ws, "tr@v1", "tr2@v1", model=version.ref, target="churned")
    section = reports.model_section(report)
    assert section.performance.reference_source.startswith("the run's hold-out")
    assert "kept no held-out predictions" not in section.note
    assert "the held-out predictions its run kept are rows of tr@v1" in section.note
    assert "optimistic" in section.note and section.performance.verdict != "degraded"
