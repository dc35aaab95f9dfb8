"""A new user's findings: a run's inputs given as a reference or recorded by
``wb.load_dataset`` inside a run; scikit-learn's "deprecated" sentinel kept out of logged
params; a column that was not tested shows no effect or p-value at any door; a boolean's
levels drawn as the data holds them."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import MAIN_SCRIPT, make_frame
from workbench import sdk as wb
from workbench.store import runs_admin
from workbench.store.errors import InvalidInput, NotFound
from workbench.store.workspace import Workspace
from workbench.ui import nav


def _frame(n: int = 120) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "x": [i % 17 for i in range(n)],
            "plan": [("a", "b", "c")[i % 3] for i in range(n)],
            "y": [int(i % 17 > 8) for i in range(n)],
        }
    )


def _pipeline():
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    prep = ColumnTransformer(
        [("cat", OneHotEncoder(handle_unknown="ignore"), ["plan"])], remainder="passthrough"
    )
    return Pipeline([("prep", prep), ("model", LogisticRegression())])


def _inputs(ws: Workspace, run_id: str) -> dict[str, str]:
    records = ws.store.read(lambda tx: runs_admin.run_records(tx, run_id, "input"))
    return {name: f"{d['dataset']}@v{d['version']}" for (_, name), d in records.items()}


# -- 1. inputs -----------------------------------------------------------------------------------


def test_log_input_takes_a_reference_as_every_other_call_does(ws: Workspace) -> None:
    """Old code: ``run.log_input("visits@v1")`` raised a raw AttributeError ('str' object has
    no attribute 'dataset_name')."""
    wb.log_dataset(_frame(), "visits")
    v2 = wb.log_dataset(_frame(150), "visits")
    X, y = _frame()[["x", "plan"]], _frame()["y"]
    with wb.start_run(experiment="hand") as run:
        assert run.log_input("visits@v1").ref == "visits@v1"
        assert run.log_input("visits", context="eval") == v2  # MLflow's name; latest
        with pytest.raises(NotFound, match="Dataset 'gems' not found; available: visits"):
            run.log_input("gems@v1")
        with pytest.raises(NotFound, match="visits@v9 not found; available: v1 to v2"):
            run.log_input("visits@v9")
        for bad in (3, None, _frame()):
            with pytest.raises(InvalidInput, match="log_input takes a dataset version"):
                run.log_input(bad)
        with pytest.raises(InvalidInput, match="role is text"):
            run.log_input(v2, "")
        with pytest.raises(InvalidInput, match="pass one of them"):
            run.log_input(v2, "test", context="eval")
        run.log_model(_pipeline().fit(X, y), input_example=X)
    assert _inputs(ws, run.run_id) == {"train": "visits@v1", "eval": "visits@v2"}
    assert wb.register_model(run.run_id, "lined").dataset_ref == "visits@v1"
    with pytest.raises(InvalidInput, match="has ended"):
        run.log_input("visits@v1")


def test_load_dataset_inside_a_run_records_its_training_input(ws: Workspace) -> None:
    """Old code: a frame loaded inside a run recorded nothing, so a model logged by hand
    had no training data ("not recorded"). The rule: the first load without a role is the
    "train" input, later ones are not recorded; ``role=`` records in that role."""
    wb.log_dataset(_frame(), "visits")
    wb.log_dataset(_frame(150), "visits")
    wb.log_dataset(_frame(90), "visits")
    with wb.start_run(experiment="hand") as run:
        frame = wb.load_dataset("visits@v1")
        wb.load_dataset("visits@v2")  # the run has its "train" input: not recorded
        X, y = frame[["x", "plan"]], frame["y"]
        run.log_model(_pipeline().fit(X, y), input_example=X)
    assert _inputs(ws, run.run_id) == {"train": "visits@v1"}  # old code: {}
    version = wb.register_model(run.run_id, "hand")
    assert version.dataset_ref == "visits@v1"  # old code: None
    assert "on dataset version `visits@v1`" in version.card
    with wb.start_run(experiment="hand") as run:
        wb.load_dataset("visits@v1")
        held = wb.load_dataset("visits@v3", role="eval")
    assert held.attrs["workbench_ref"] == "visits@v3"
    assert _inputs(ws, run.run_id) == {"train": "visits@v1", "eval": "visits@v3"}
    # an evaluation set loaded first keeps its role; the next load is the training data
    with wb.start_run(experiment="hand") as run:
        wb.load_dataset("visits@v3", role="eval")
        wb.load_dataset("visits@v2")
    assert _inputs(ws, run.run_id) == {"eval": "visits@v3", "train": "visits@v2"}
    # outside a run nothing is recorded, and a role there is refused
    assert len(wb.load_dataset("visits@v1")) == 120
    with pytest.raises(InvalidInput, match="no run is active"):
        wb.load_dataset("visits@v1", role="eval")


# -- 2. scikit-learn's "deprecated" sentinel ------------------------------------------------------


def test_deprecated_sentinels_are_not_logged(ws: Workspace) -> None:
    """scikit-learn 1.8+ returns "deprecated" from get_params() for a parameter it is
    removing (LogisticRegression's penalty, GradientBoosting's criterion). Old code logged
    ``penalty: 'deprecated'`` into launched runs, their model cards, and autologged runs."""
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression

    from tests.test_runner import binary_frame
    from workbench.registry import models as registry
    from workbench.training import runner
    from workbench.training.task import RunSpec

    sentinels = {
        cls: {k for k, v in cls().get_params().items() if v == "deprecated"}
        for cls in (LogisticRegression, GradientBoostingClassifier)
    }
    v1 = wb.log_dataset(binary_frame(200), "churn")
    for key, cls in (("logistic", LogisticRegression), ("gradient_boosting", None)):
        launch = runner.launch(ws, RunSpec(v1.ref, "churned", key), experiment="m", wait=True)
        params = wb.get_run(launch.run_ids[0]).params
        assert "deprecated" not in params.values(), params
        assert params["estimator"] == key and params["target"] == "churned"
        if cls is LogisticRegression:
            assert "C" in params and "max_iter" in params  # the other params stay
            assert not sentinels[cls] & set(params)
            card = registry.register_model(ws, launch.run_ids[0], "clf").card
            assert "deprecated" not in card and "max_iter" in card
    wb.autolog("auto")
    try:
        frame = binary_frame(200)
        LogisticRegression(max_iter=300).fit(frame[["age"]], frame["churned"])
    finally:
        wb.autolog(disable=True)
    from workbench.tracking import experiments

    (auto,) = experiments.search_runs(ws, query="tags.autolog = 'sklearn'")
    params = wb.get_run(auto.run_id).params
    assert "deprecated" not in params.values() and params["max_iter"] == 300
    # only scikit-learn's sentinel goes: a value that merely reads "deprecated" stays
    from workbench.tracking.autolog import without_deprecated

    kept = without_deprecated(LogisticRegression, {"penalty": "deprecated", "target": "deprecated"})
    assert kept == {"target": "deprecated"}
    assert without_deprecated(object, {"mode": "deprecated"}) == {"mode": "deprecated"}


# -- 3. a column that was not tested ---------------------------------------------------------


@pytest.fixture
def with_ids(ws: Workspace) -> Workspace:
    rng = np.random.default_rng(3)
    n = 1500
    for month in (0, 1):
        wb.log_dataset(
            pd.DataFrame(
                {
                    "customer_id": [f"c{month}-{i:05d}" for i in range(n)],
                    "usage": rng.normal(20 + 8 * month, 5, n),
                }
            ),
            "usage",
        )
    return ws


def test_a_column_not_tested_shows_no_effect_or_p_value_at_any_door(
    with_ids: Workspace, capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An identifier-like column is "not tested". Old code showed its effect 0.0000 and p 1
    (CLI), 0 and 1 (HTML) and 0 and "1" (page): figures that read as "no drift"."""
    from workbench.cli.main import main
    from workbench.drift import report as reports

    out = tmp_path / "r.html"
    args = ["--workspace", str(with_ids.root), "drift", "report", "usage@v2"]
    assert main([*args, "--reference", "usage@v1", "--html", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    line = next(x for x in lines if x.strip().startswith("customer_id "))
    assert "not tested" in line and " - " in line and " p - " in line, line
    assert "0.0000" not in line and " p 1 " not in line, line
    assert "identifier-like" in line  # the reason, as before
    usage = next(x for x in lines if x.strip().startswith("usage "))
    assert " p < 1e-10 " in usage and "-  p" not in usage
    page = out.read_text()
    row = page[page.index("<tr><td>customer_id</td>") :].split("</tr>")[0]
    # effect, method and p: a method that decided nothing is not named (a second pass)
    assert row.count("<td>—</td>") == 3 and "<td>not tested</td>" in row, row
    assert "<td>0</td>" not in row and "<td>1</td>" not in row
    assert html.escape("identifier-like") in row
    monkeypatch.setenv("WORKBENCH_WATCH", "0")
    at = AppTest.from_file(MAIN_SCRIPT, default_timeout=120).run()
    at.switch_page(f"../../../pages/{nav.DRIFT.file}").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    table = next(d.value for d in at.dataframe if "p-value" in d.value.columns)
    row = table.set_index("column").loc["customer_id"]
    assert row["verdict"] == "not tested"
    assert pd.isna(row["effect"]) and pd.isna(row["p-value"])  # drawn as the placeholder "—"
    assert pd.isna(row["method"])
    assert table.set_index("column").loc["usage", "p-value"] == "< 1e-10"
    report = reports.list_reports(with_ids)[0]
    by_column = {r.column: r for r in report.results}
    ids, usage = by_column["customer_id"], by_column["usage"]
    assert ids.verdict == "not tested" and not ids.tested
    assert (ids.shown_effect, ids.shown_p_value) == (None, None)
    shown = (usage.shown_effect, usage.shown_p_value)
    assert usage.tested and shown == (usage.effect, usage.p_value)


# -- 4. a boolean's levels --------------------------------------------------------------------


def test_a_boolean_columns_levels_are_drawn_as_the_data_holds_them(ws: Workspace) -> None:
    """The profile holds DuckDB's text of a BOOLEAN ('false'/'true'); the chart showed
    those while pandas, the model's classes and the performance line say False/True."""
    from workbench.datasets import versions as datasets
    from workbench.drift import render

    versions = [wb.log_dataset(make_frame(200, seed=s), "flags") for s in (0, 1)]
    ref, cur = (
        next(p for p in datasets.get_profile(ws, v) if p.name == "active") for v in versions
    )
    assert ref.family == "boolean"
    fig = render.distribution_figure(ref, cur)
    assert sorted(fig.data[0].x) == ["False", "True"]  # old code: ['false', 'true']
    plan = [next(p for p in datasets.get_profile(ws, v) if p.name == "plan") for v in versions]
    assert sorted(render.distribution_figure(*plan).data[0].x) == ["basic", "pro", "team"]
    assert render.level_text("false") == "False" and render.level_text("maybe") == "maybe"


def test_a_boolean_label_reads_the_same_in_label_drift_and_performance(ws: Workspace) -> None:
    """A newcomer's find: label drift said "share of 'false' 69.2% -> 46.5%" and the
    performance line "Share of True 30.8% -> 53.5%". Both now quote the value as the data
    holds it: 'False' / 'True'."""
    from workbench.drift import report as reports

    rng = np.random.default_rng(0)
    flags = [rng.random(400) < share for share in (0.3, 0.6)]  # the label's share moves
    refs = [
        wb.log_dataset(pd.DataFrame({"x": rng.normal(size=400), "churned": f}), "labels").ref
        for f in flags
    ]
    report = reports.run_report(ws, refs[0], refs[1])
    [label] = [c for c in report.results if c.column == "churned"]
    text = " ".join(str(v) for v in vars(label).values())
    assert "share of 'False'" in text or "share of 'True'" in text, text
    assert "'false'" not in text and "'true'" not in text


def test_the_label_row_is_marked_in_the_table_of_columns(ws: Workspace) -> None:
    """A second pass: the label of a report with a model sat in the table of columns with a
    verdict and no mark, though it is left out of the features' count."""
    from workbench.drift.results import ColumnDrift

    label = ColumnDrift("churned", "label", "drift", "chi-square", 0.2, 0.01, 10, 10)
    feature = ColumnDrift("plan", "categorical", "drift", "chi-square", 0.2, 0.01, 10, 10)
    assert (label.shown_column, feature.shown_column) == ("churned (label)", "plan")
    assert label.shown_method == "chi-square"
    ignored = ColumnDrift("id", "ignored", "ignored", "chi-square", 0.0, 1.0, 10, 10)
    assert ignored.shown_method is None
