"""Evaluation refuses data it cannot score honestly, with one sentence at every door (SDK,
CLI, page): a version without the model's inputs, a label column that is not there or
holds other values than the model predicts; champion and challenger on one version; a
negative margin. And the gate's first check, "evaluated on rows neither model was fitted
on", fails when a model's training data is unknown (logged by hand, no ``run.log_input``)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from tests.conftest import make_frame, open_tab, plain
from workbench import sdk as wb
from workbench.cli.main import main
from workbench.drift import report as reports
from workbench.registry import models as registry
from workbench.registry import promotion
from workbench.store import audit
from workbench.store.errors import InvalidInput
from workbench.store.workspace import Workspace
from workbench.training import runner
from workbench.training.task import RunSpec

FEATURES = ["age", "income", "plan"]
UNSEEN = "evaluated on rows neither model was fitted on"
PLAN_IS_NOT_A_LABEL = (
    "label column 'plan' of churn@v1 holds text values ('basic', 'pro', 'team'); churn-clf/1 "
    "is a boolean classifier (it predicts False, True): its label column holds booleans, or "
    "only 0 and 1. Pick the column the model was trained to predict."
)


def churn(rows: int, seed: int) -> pd.DataFrame:
    """make_frame's mixed table with a label the features decide (``churned``)."""
    frame = make_frame(rows, seed=seed)
    frame["churned"] = (frame["age"] > 55) | (frame["plan"] == "basic")
    return frame


def launch(ws: Workspace, name: str, estimator: str, target: str = "churned", **spec) -> int:
    """Train ``estimator`` on churn@v1 from the app (a hold-out kept) and register it."""
    done = runner.launch(
        ws,
        RunSpec("churn@v1", target, estimator, features=spec.pop("features", FEATURES), **spec),
        experiment=name,
        wait=True,
    )
    return registry.register_model(ws, done.run_ids[0], name).version


@pytest.fixture
def models(ws: Workspace) -> Workspace:
    """churn@v1 and churn@v2; churn-clf/1 a dummy (champion), churn-clf/2 a forest
    (challenger), both launched on churn@v1 (lineage known, 75 rows held out)."""
    wb.log_dataset(churn(300, 0), "churn")
    wb.log_dataset(churn(300, 1), "churn")
    launch(ws, "churn-clf", "dummy")
    launch(ws, "churn-clf", "random_forest", params={"n_estimators": 20})
    registry.set_alias(ws, "churn-clf", "champion", 1)
    registry.set_alias(ws, "churn-clf", "challenger", 2)
    return ws


def champion(ws: Workspace) -> int:
    return registry.get_version(ws, "churn-clf@champion").version


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, " ".join(err.split())


def test_a_version_without_the_models_inputs_is_refused_at_every_door(models, capsys) -> None:
    """The old code: compare and promote raised pandas' KeyError ("None of [Index(['age', ...
    ])] are in the [columns]") at ``frame[[...inputs]]``; the CLI called it a bug."""
    ws = models
    wb.log_dataset(pd.DataFrame({"petal": [1.0, 2.0, 3.0], "target": ["a", "b", "a"]}), "iris")
    said = "iris@v1 lacks column 'age' that churn-clf/1 needs; "
    compare_advice = said + "compare on a version that has the model's inputs (and labels)."
    with pytest.raises(InvalidInput) as refused:
        wb.promote("churn-clf", "iris@v1", "target")
    assert str(refused.value) == compare_advice
    with pytest.raises(InvalidInput, match="lacks column 'age'"):
        promotion.compare(ws, "churn-clf", "iris@v1", "target")
    code, _, err = cli(capsys, "models", "compare", "churn-clf", "--dataset", "iris@v1")
    assert code == 1 and compare_advice in err, err  # the CLI's default label: churned
    code, _, err = cli(
        capsys, "models", "promote", "churn-clf", "--dataset", "iris@v1", "--target", "target"
    )
    assert code == 1 and compare_advice in err and "something went wrong" not in err
    assert champion(ws) == 1
    # The same check (the same sentence, its own advice) for drift and scoring.
    with pytest.raises(InvalidInput) as drift:
        reports.run_report(ws, "churn@v1", "iris@v1", model="churn-clf@champion")
    assert str(drift.value) == (
        "iris@v1 lacks column 'age' that churn-clf/1 needs; compare versions that have the "
        "model's inputs, or run the report without the model."
    )
    with pytest.raises(InvalidInput) as scoring:
        registry.score(ws, "churn-clf/1", "iris@v1")
    assert str(scoring.value) == said + "score a version that has the model's inputs."
    assert reports.list_reports(ws) == []


def test_labels_that_are_not_the_models_classes_are_refused(models, capsys) -> None:
    """The old code raised scikit-learn's ValueError ("Mix of label input types (string and
    number)") from the accuracy of compare/promote and of the drift report's performance."""
    ws = models
    with pytest.raises(InvalidInput) as refused:
        wb.promote("churn-clf", "churn@v1", "plan")
    assert str(refused.value) == PLAN_IS_NOT_A_LABEL
    code, _, err = cli(
        capsys, "models", "compare", "churn-clf", "--dataset", "churn@v1", "--target", "plan"
    )
    assert code == 1 and PLAN_IS_NOT_A_LABEL in err, err
    code, _, err = cli(
        capsys,
        "drift",
        "report",
        "churn@v2",
        "--reference",
        "churn@v1",
        "--model",
        "churn-clf@champion",
        "--target",
        "plan",
    )
    assert code == 1 and PLAN_IS_NOT_A_LABEL in err, err
    # Numbers that are not the classes: most rows outside them (ages, not churn flags).
    with pytest.raises(InvalidInput) as ages:
        promotion.compare(ws, "churn-clf", "churn@v1", "age")
    said = str(ages.value)
    assert said.startswith("label column 'age' of churn@v1 holds ") and "distinct values)" in said
    assert said.endswith(
        "churn-clf/1 is a boolean classifier (it predicts False, True): its label column holds "
        "booleans, or only 0 and 1. Pick the column the model was trained to predict."
    )
    assert reports.list_reports(ws) == [] and champion(ws) == 1


def test_a_regressor_refuses_a_label_that_is_not_numbers(models) -> None:
    ws = models
    launch(ws, "age-reg", "dummy", target="age", task="regression", features=["income", "plan"])
    with pytest.raises(InvalidInput) as refused:
        reports.run_report(ws, "churn@v1", "churn@v2", model="age-reg/1", target="plan")
    assert str(refused.value) == (
        "label column 'plan' of churn@v1 holds string values ('basic', 'pro', 'team'); "
        "age-reg/1 is a regressor and predicts numbers: pick the numeric column the model was "
        "trained to predict."
    )
    assert reports.list_reports(ws) == []
    fine = reports.run_report(ws, "churn@v1", "churn@v2", model="age-reg/1", target="age")
    assert reports.model_section(fine).performance is not None


def test_the_drift_page_refuses_a_label_column_of_other_values(models, monkeypatch) -> None:
    from streamlit.testing.v1 import AppTest

    from tests.conftest import MAIN_SCRIPT
    from workbench.ui import nav

    monkeypatch.setenv("WORKBENCH_WATCH", "0")
    at = AppTest.from_file(MAIN_SCRIPT, default_timeout=120).run()
    at.switch_page(f"../../../pages/{nav.DRIFT.file}").run()
    next(s for s in at.selectbox if s.label == "Reference").select("churn@v1")
    next(s for s in at.selectbox if s.label == "Current").select("churn@v2")
    next(s for s in at.selectbox if s.label.startswith("Model (scores")).select(
        "churn-clf@champion"
    )
    next(t for t in at.text_input if t.label == "Label column").input("plan")
    next(b for b in at.button if b.label == "Run the report").click().run()
    assert not at.exception
    assert [plain(e.value) for e in at.error] == [PLAN_IS_NOT_A_LABEL]
    assert reports.list_reports(models) == []


def test_a_label_column_that_does_not_exist_is_refused(models, capsys) -> None:
    """The old drift report stored a report with a note ("Performance needs the label column
    'nope' in both versions") and counted the real label as a drifting feature."""
    ws = models
    columns = "id, age, income, plan, active, signup, churned"
    code, _, err = cli(
        capsys, "drift", "report", "churn@v2", "--model", "churn-clf@champion", "--target", "nope"
    )
    assert code == 1, err
    assert (
        f"Neither churn@v1 nor churn@v2 has a column 'nope' to take labels from; their "
        f"columns: {columns}; give the label column the model was trained to predict." in err
    )
    assert reports.list_reports(ws) == []
    with pytest.raises(InvalidInput) as refused:
        wb.promote("churn-clf", "churn@v2", "nope")
    assert str(refused.value) == (
        f"churn@v2 has no column 'nope' to take labels from; its columns: {columns}; give "
        "the label column the model was trained to predict."
    )
    # A label in one version only (unlabelled current data) still leaves performance out
    # with a note, as before: that is not a typo.
    wb.log_dataset(churn(300, 2).drop(columns="churned"), "churn")
    report = reports.run_report(ws, "churn@v1", "churn@v3", model="churn-clf/1", target="churned")
    assert reports.model_section(report).note == (
        "Performance needs the label column 'churned' in both versions."
    )


def hand_logged_forest(ws: Workspace) -> int:
    """A forest fitted by hand on every row of churn@v1 and logged with run.log_model only
    (no run.log_input): its training data is unknown to the registry."""
    frame = wb.load_dataset("churn@v1")
    X, y = frame[FEATURES], frame["churned"]
    prep = ColumnTransformer(
        [("num", SimpleImputer(), ["age", "income"]), ("cat", OneHotEncoder(), ["plan"])]
    )
    model = make_pipeline(prep, RandomForestClassifier(n_estimators=30, random_state=0))
    with wb.start_run(experiment="by hand") as run:
        run.log_model(model.fit(X, y), input_example=X)
    version = registry.register_model(ws, run.run_id, "churn-clf")
    assert version.dataset_ref is None
    return version.version


def test_unknown_training_data_keeps_the_gate_closed(models, capsys) -> None:
    """The old gate passed "data neither model was trained on" for a model whose training
    data is unknown (lineage says nothing, so it counted as "neither"), and promoted a
    forest on its own training rows."""
    ws = models
    # Known lineage: the check passes on the rows the runs held out, and its name is true.
    held = promotion.gate(promotion.compare(ws, "churn-clf", "churn@v1", "churned"))
    assert held.checks[0] == (
        UNSEEN,
        True,
        "churn@v1 is the champion and challenger's training data: compared on the 75 rows "
        "its run held out (not fitted on).",
    )
    hand = hand_logged_forest(ws)
    registry.set_alias(ws, "churn-clf", "challenger", hand)
    unknown = (
        f"churn-clf/{hand}'s training data is unknown (its run recorded no input dataset): "
        "cannot tell these rows are unseen; log the training version with run.log_input, or "
        "an admin may override."
    )
    result = promotion.compare(ws, "churn-clf", "churn@v1", "churned")
    assert result.unknown_training == (f"churn-clf/{hand}",) and not result.rows_unseen
    verdict = promotion.promote(ws, "churn-clf", "churn@v1", "churned")
    assert not verdict.moved and champion(ws) == 1
    assert [r.split(":")[0] for r in verdict.reasons] == [UNSEEN]  # every other check passes
    assert verdict.reasons[0].endswith(". " + unknown)  # two sentences, not ".;"
    code, out, _ = cli(capsys, "models", "compare", "churn-clf", "--dataset", "churn@v1")
    assert code == 3 and f"REFUSE {UNSEEN}: " in out and unknown in out
    # An admin's override still moves champion, and records the waived check.
    final = promotion.promote(
        ws, "churn-clf", "churn@v1", "churned", override=True, reason="trained on v1 by hand"
    )
    assert final.overridden and champion(ws) == hand
    events = ws.store.read(lambda tx: audit.recent(tx, 100))
    move = next(json.loads(e.detail) for e in events if e.action == "model.alias.move")
    assert move["override"] is True and move["waived"] == verdict.reasons


def test_champion_and_challenger_on_one_version_are_not_compared(
    models, capsys, monkeypatch
) -> None:
    """After a promotion both aliases point at one version: the old tab compared it with
    itself ("p = 1"); compare and promote now refuse it, and the page says so."""
    from tests.test_pages import run_page
    from workbench.ui import nav

    monkeypatch.setenv("WORKBENCH_WATCH", "0")
    ws = models
    assert promotion.promote(ws, "churn-clf", "churn@v1", "churned").allowed
    assert champion(ws) == 2 == registry.get_version(ws, "churn-clf@challenger").version
    same = (
        "churn-clf@champion and churn-clf@challenger both point at v2: there is nothing to "
        "compare. Point challenger at another version (register a new one, or retrain) to "
        "compare it with the champion."
    )
    with pytest.raises(InvalidInput) as refused:
        wb.promote("churn-clf", "churn@v2", "churned")
    assert str(refused.value) == same
    code, _, err = cli(capsys, "models", "compare", "churn-clf")
    assert code == 1 and same in err, err
    at = open_tab(run_page(nav.MODELS), "model-tabs-churn-clf", "Champion vs challenger")
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert same in [i.value for i in at.info]
    assert not any(m.label.startswith("Challenger") for m in at.metric)  # nothing compared


def test_the_page_warns_when_a_models_training_data_is_unknown(models, monkeypatch) -> None:
    from tests.test_pages import run_page
    from workbench.ui import nav

    monkeypatch.setenv("WORKBENCH_WATCH", "0")
    hand = hand_logged_forest(models)
    registry.set_alias(models, "churn-clf", "challenger", hand)
    at = open_tab(run_page(nav.MODELS), "model-tabs-churn-clf", "Champion vs challenger")
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("training data is unknown" in w.value for w in at.warning)
    failing = [m.value for m in at.markdown if f"**{UNSEEN}**" in m.value]
    assert failing and ":red[" in failing[0]
    assert next(b for b in at.button if b.key == "promote").disabled  # override needed


def test_a_negative_margin_is_refused(models, capsys) -> None:
    """The old gate took margin=-1 and reported "margin 0.0" (full_config raised it to 0)."""
    with pytest.raises(InvalidInput, match=r"The margin must be a number of 0 or more .* got -1"):
        wb.promote("churn-clf", "churn@v1", "churned", margin=-1)
    code, _, err = cli(
        capsys,
        "models",
        "promote",
        "churn-clf",
        "--dataset",
        "churn@v1",
        "--target",
        "churned",
        "--margin",
        "-0.5",
    )
    assert code == 1 and "The margin must be a number of 0 or more" in err, err
    with pytest.raises(InvalidInput, match="alpha must be between 0 and 1"):
        promotion.GateConfig(alpha=0)
    assert champion(models) == 1
