"""The promotion gate reads every training input of a model's run, and takes only label
columns of the classes' kind.

A model fitted on two dataset versions (``run.log_input`` once for each) has both as its
training data: the old gate read the one version registration kept (the last logged) and
promoted a forest on its own training rows. A label column with values the model cannot
predict was accepted when most rows happened to be 0 or 1 (``support_calls`` as the label
of a churn classifier): now a boolean classifier takes booleans (or only 0 and 1), a text
classifier text, and at most ``signature.OUTSIDE_SHARE`` of the rows may hold a value that
is no class."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier

from tests.conftest import open_tab, plain
from workbench import sdk as wb
from workbench.cli.main import main
from workbench.registry import models as registry
from workbench.registry import promotion, signature
from workbench.store.errors import InvalidInput
from workbench.store.workspace import Workspace

FEATURES = ["tenure", "charges"]
UNSEEN = "evaluated on rows neither model was fitted on"


def churn(rows: int, seed: int) -> pd.DataFrame:
    """Numeric features, a boolean label they decide, and ``calls`` (0..7, about two thirds
    of the rows 0 or 1: mostly fits a boolean classifier's 0/1, but is no label)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "tenure": rng.integers(1, 72, rows),
            "charges": rng.normal(60, 20, rows).round(2),
            "calls": rng.choice(8, rows, p=[0.4, 0.27, 0.1, 0.08, 0.06, 0.04, 0.03, 0.02]),
        }
    )
    frame["churned"] = (frame["tenure"] < 20) | (frame["charges"] > 80)
    return frame


def forest(frame: pd.DataFrame) -> RandomForestClassifier:
    return RandomForestClassifier(n_estimators=20, random_state=0).fit(
        frame[FEATURES], frame["churned"]
    )


@pytest.fixture
def multi(ws: Workspace) -> Workspace:
    """churn@v1..v3; multi/1 (champion) fitted on churn@v3 (wb.load_dataset in its run),
    multi/2 (challenger) on churn@v1 and churn@v2 together (run.log_input for each)."""
    for seed in (1, 2, 3):
        wb.log_dataset(churn(300, seed), "churn")
    with wb.start_run(experiment="x", name="champ-v3") as run:
        d = wb.load_dataset("churn@v3")
        run.log_model(forest(d), input_example=d[FEATURES].head(2))
    registry.register_model(ws, run.run_id, "multi")
    with wb.start_run(experiment="x", name="chall-v1v2") as run:
        run.log_input("churn@v1")
        run.log_input("churn@v2")  # both role "train": the run's input record keeps v2 only
        d = pd.concat([wb.load_dataset("churn@v1"), wb.load_dataset("churn@v2")])
        run.log_model(forest(d), input_example=d[FEATURES].head(2))
    registry.register_model(ws, run.run_id, "multi")
    registry.set_alias(ws, "multi", "champion", 1)
    registry.set_alias(ws, "multi", "challenger", 2)
    return ws


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, " ".join(err.split())


def test_every_training_input_of_a_run_is_the_models_training_data(multi) -> None:
    """The old gate passed "churn@v1 is training data of neither model" and moved champion
    to a forest scoring 1.0 on its own training rows (churn@v1, logged before churn@v2)."""
    ws = multi
    challenger = registry.get_version(ws, "multi@challenger")
    assert challenger.dataset_ref == "churn@v2"  # registration keeps one
    assert registry.training_inputs(ws, challenger) == ("churn@v2", "churn@v1")
    verdict = wb.promote("multi", "churn@v1", "churned")
    assert not verdict.allowed and not verdict.moved
    name, ok, detail = verdict.checks[0]
    assert (name, ok) == (UNSEEN, False)
    assert detail == (
        "evaluated on training data: churn@v1 is the challenger's training data (multi/2 was "
        "fitted on churn@v2, churn@v1; its run kept no held-out rows of churn@v1). Choose a "
        "labelled version neither model was trained on."
    )
    assert registry.get_version(ws, "multi@champion").version == 1
    result = promotion.compare(ws, "multi", "churn@v1", "churned")
    assert result.on_training_data and not result.rows_unseen
    assert result.trained_on == ("challenger",)
    # The default evaluation version: every labelled version is a model's training data
    # (the old default was churn@v1, "neither model's").
    choice = promotion.evaluation_choice(ws, "multi")
    assert choice.default == "churn@v3"
    assert choice.note.startswith("Evaluated on training data")
    assert "churn@v1 of the challenger" in choice.note
    # A version neither model saw passes the check.
    wb.log_dataset(churn(300, 4), "churn")
    assert promotion.evaluation_choice(ws, "multi").default == "churn@v4"
    fresh = promotion.gate(promotion.compare(ws, "multi", "churn@v4", "churned"))
    assert fresh.checks[0] == (UNSEEN, True, "churn@v4 is training data of neither model")


def test_a_label_column_of_another_kind_is_refused_at_every_door(multi, capsys) -> None:
    """``calls`` (0..7, two thirds of the rows 0 or 1) was scored as the label of a boolean
    classifier (0/1 compare equal to False/True): the old check refused only when fewer than
    half the rows held a class."""
    ws = multi
    wb.log_dataset(churn(300, 4), "churn")
    refusal = (
        "label column 'calls' of churn@v4 holds integer values (0, 1, 2, 3, 4 ... (8 "
        "distinct values)); multi/1 is a boolean classifier (it predicts False, True): its "
        "label column holds booleans, or only 0 and 1. Pick the column the model was trained "
        "to predict."
    )
    with pytest.raises(InvalidInput) as refused:
        promotion.compare(ws, "multi", "churn@v4", "calls")
    assert str(refused.value) == refusal
    with pytest.raises(InvalidInput, match="is a boolean classifier"):
        wb.promote("multi", "churn@v4", "calls")
    code, _, err = cli(
        capsys, "models", "compare", "multi", "--dataset", "churn@v4", "--target", "calls"
    )
    assert code == 1 and refusal in err, err
    code, _, err = cli(
        capsys,
        "drift",
        "report",
        "churn@v4",
        "--reference",
        "churn@v3",
        "--model",
        "multi@champion",
        "--target",
        "calls",
    )
    assert code == 1 and "label column 'calls' of churn@v3 holds integer values" in err, err
    # 0/1 integers are a boolean classifier's labels.
    frame = churn(300, 5)
    frame["churned"] = frame["churned"].astype(int)
    wb.log_dataset(frame, "churn")
    assert promotion.compare(ws, "multi", "churn@v5", "churned").n_rows == 300


def test_labels_outside_the_classes_are_refused_beyond_one_percent() -> None:
    """A text classifier's label column of text: a value that is no class in at most 1 % of
    the labelled rows is counted (and scored as a miss); more is refused, naming the values
    and their counts. The old check took anything while half the rows held a class."""
    sig = {"output": {"kind": "classification", "classes": ["no", "yes"]}}
    labels = pd.Series(["no"] * 600 + ["yes"] * 397 + ["maybe"] * 3)
    assert signature.check_labels(sig, labels, "answer", "m/1", "d@v1") == 3
    labels = pd.Series(["no"] * 600 + ["yes"] * 350 + ["maybe"] * 40 + ["never"] * 10)
    with pytest.raises(InvalidInput) as refused:
        signature.check_labels(sig, labels, "answer", "m/1", "d@v1")
    assert str(refused.value) == (
        "label column 'answer' of d@v1: 50 of its 1,000 labelled rows (5.0%) hold values that "
        "are no class of m/1: 'maybe' (40 rows), 'never' (10 rows); it predicts 'no', 'yes'. "
        "At most 1% of the rows may hold a class the model never learned (each scored as a "
        "miss). Pick the column the model was trained to predict."
    )
    with pytest.raises(InvalidInput, match=r"holds integer values .* classifier of text"):
        signature.check_labels(sig, pd.Series([0, 1, 1]), "answer", "m/1", "d@v1")


def test_the_comparison_says_how_many_labels_are_outside_the_classes(multi, capsys) -> None:
    """Classifiers of 0 and 1 scored where 2 of 300 labels are 2 (0.7 %, a class neither
    learned): compared, each a miss, and the comparison says so."""
    ws = multi
    d = wb.load_dataset("churn@v1")
    for seed in (0, 1):
        with wb.start_run(experiment="ints") as run:
            run.log_input("churn@v1")
            model = RandomForestClassifier(n_estimators=10, random_state=seed)
            run.log_model(
                model.fit(d[FEATURES], d["churned"].astype(int)), input_example=d[FEATURES]
            )
        registry.register_model(ws, run.run_id, "ints")
    registry.set_alias(ws, "ints", "champion", 1)
    registry.set_alias(ws, "ints", "challenger", 2)
    frame = churn(300, 4)
    frame["churned"] = frame["churned"].astype(int)
    frame.loc[:1, "churned"] = 2
    wb.log_dataset(frame, "churn")
    result = promotion.compare(ws, "ints", "churn@v4", "churned")
    assert result.outside_labels == 2 and result.n_rows == 300
    assert result.label_note == (
        "2 of the 300 labelled rows hold a value in 'churned' that is no class the models "
        "predict; they are scored, each as a miss."
    )
    code, out, _ = cli(
        capsys, "models", "compare", "ints", "--dataset", "churn@v4", "--target", "churned"
    )
    assert code in (0, 3) and result.label_note in " ".join(out.split()), out
    frame.loc[:9, "churned"] = 2  # 10 of 300 (3.3 %): refused
    wb.log_dataset(frame, "churn")
    with pytest.raises(InvalidInput, match=r"10 of its 300 labelled rows \(3.3%\) hold values"):
        promotion.compare(ws, "ints", "churn@v5", "churned")


def test_an_empty_label_column_is_refused_at_every_door(multi, capsys) -> None:
    """``--target ""`` meant "the default" to drift report and models compare but was
    refused by models promote; now every door refuses it alike."""
    empty = "The label column is empty (''); give a column name"
    for args in (
        ("models", "compare", "multi", "--dataset", "churn@v3", "--target", ""),
        ("models", "promote", "multi", "--dataset", "churn@v3", "--target", ""),
        (
            "drift",
            "report",
            "churn@v3",
            "--reference",
            "churn@v1",
            "--model",
            "multi@champion",
            "--target",
            "",
        ),
    ):
        code, _, err = cli(capsys, *args)
        assert code == 1 and empty in err, (args, err)
    with pytest.raises(InvalidInput, match="give a column name"):
        promotion.compare(multi, "multi", "churn@v3", " ")


def test_compare_names_only_what_is_missing(multi, capsys) -> None:
    """The old message said "Give --dataset and --target" though --dataset was given."""
    code, _, err = cli(capsys, "models", "compare", "multi", "--dataset", "churn@v3")
    assert code == 1 and "Give --target: the models' label column is not recorded" in err, err
    code, _, err = cli(capsys, "models", "compare", "multi")
    assert code == 1 and "Give --target (and --dataset):" in err, err


def test_the_unseen_checks_reasons_read_as_sentences(multi) -> None:
    """The old detail ran two reasons together: "...trained on.; X's training data is
    unknown ... override" (a stray ".;", no final full stop)."""
    ws = multi
    d = wb.load_dataset("churn@v1")  # outside the run: no input logged, training data unknown
    with wb.start_run(experiment="by hand") as run:
        run.log_model(forest(d), input_example=d[FEATURES].head(2))
    assert registry.register_model(ws, run.run_id, "multi").dataset_ref is None
    registry.set_alias(ws, "multi", "challenger", 3)
    note = promotion.compare(ws, "multi", "churn@v3", "churned").data_note
    assert ".;" not in note and note.endswith("or an admin may override."), note
    assert "was trained on. multi/3's training data is unknown (its run recorded" in note


def test_the_page_takes_the_models_label_column_or_says_it_is_missing(ws, monkeypatch) -> None:
    """On a version without the model's label column the tab picked the last column as the
    label and showed a full gate; it now says the column is missing and compares nothing."""
    from tests.test_evaluation_inputs import churn as mixed
    from tests.test_evaluation_inputs import launch
    from tests.test_pages import run_page
    from workbench.ui import nav

    monkeypatch.setenv("WORKBENCH_WATCH", "0")
    wb.log_dataset(mixed(300, 0), "churn")
    launch(ws, "churn-clf", "dummy")
    launch(ws, "churn-clf", "random_forest", params={"n_estimators": 20})
    registry.set_alias(ws, "churn-clf", "champion", 1)
    registry.set_alias(ws, "churn-clf", "challenger", 2)
    unlabelled = mixed(200, 1).drop(columns="churned")
    unlabelled["active"] = unlabelled["active"].astype(int)  # a last column a guess could take
    wb.log_dataset(unlabelled, "churn")
    at = open_tab(run_page(nav.MODELS), "model-tabs-churn-clf", "Champion vs challenger")
    assert at.selectbox(key="cc-target").value == "churned"  # the model's label column
    at.selectbox(key="cc-dataset").set_value("churn@v2")
    at = at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.selectbox(key="cc-target").value is None
    infos = [plain(i.value) for i in at.info]
    assert any("churn@v2 has no column 'churned' to take labels from" in i for i in infos), infos
    assert not any(m.label.startswith("Challenger") for m in at.metric)  # nothing compared


def test_a_boolean_label_with_missing_values_is_scored_in_the_drift_report(multi, capsys) -> None:
    """A third pass: `drift report` crashed ("something went wrong", scikit-learn's "mix of
    unknown and binary targets") on a boolean label with a few empty values, which the
    comparison scored: the labelled rows were handed over as objects."""
    from workbench.drift import model_drift

    frame = churn(300, 4)
    frame["churned"] = frame["churned"].astype(object)
    frame.loc[frame.index[:10], "churned"] = None
    wb.log_dataset(frame, "churn")  # churn@v4: 290 labelled rows
    report = model_drift.model_drift(multi, "multi@champion", "churn@v1", "churn@v4", "churned")
    assert report.performance is not None, report.note
    assert report.performance.n_current == 290
    code, out, err = cli(
        capsys, "drift", "report", "churn@v4", "--model", "multi@champion", "--target", "churned"
    )
    assert code == 0 and "something went wrong" not in err and "performance" in out, err
