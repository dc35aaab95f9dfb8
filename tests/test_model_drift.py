"""Per-column overrides, prediction and performance drift with a model, the drift history
of a model, and the monitor's performance rule (concept drift that no column shows)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from tests.conftest import MAIN_SCRIPT, plain
from workbench import sdk as wb
from workbench.datasets import versions as datasets
from workbench.drift import model_drift, monitoring
from workbench.drift import report as reports
from workbench.drift import stats as drift
from workbench.registry import models as registry
from workbench.store.errors import InvalidInput
from workbench.store.workspace import Workspace
from workbench.training import runner
from workbench.training.task import RunSpec


def customers(n: int, seed: int, *, shift: float = 0.0, concept: bool = False) -> pd.DataFrame:
    """Churn: low usage churns. ``shift`` moves usage (data drift: more predicted churn);
    ``concept`` keeps every column's distribution, the label's share included (28 %), but
    makes age, not usage, decide."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n)
    usage = rng.normal(500 - shift, 120, n)
    plan = rng.choice(["basic", "pro", "team"], n, p=[0.3, 0.4, 0.3])
    churned = (age > 62) if concept else (usage < 430)
    return pd.DataFrame({"age": age, "usage": usage, "plan": plan, "churned": churned})


@pytest.fixture()
def champion(ws: Workspace) -> str:
    wb.log_dataset(customers(2000, 1), "churn")
    launch = runner.launch(
        ws, RunSpec("churn", "churned", "logistic"), experiment="churn", wait=True
    )
    version = registry.register_model(ws, launch.run_ids[0], "churn-clf")
    registry.set_alias(ws, "churn-clf", "champion", version.version)
    return "churn-clf@champion"


def n_reports(ws: Workspace) -> int:
    return len(reports.list_reports(ws))


# -- per-column overrides ----------------------------------------------------------------------


def test_overrides_change_the_rule_for_their_column_only(ws: Workspace) -> None:
    rng = np.random.default_rng(0)
    n = 200_000
    ref = pd.DataFrame(
        {
            "x": rng.normal(0, 1, n),
            "y": rng.normal(0, 1, n),
            "id": np.arange(n),
            "c": rng.choice(list("ab"), n),
        }
    )
    cur = pd.DataFrame(
        {
            "x": rng.normal(0.05, 1, n),
            "y": rng.normal(0.05, 1, n),
            "id": np.arange(n, 2 * n),
            "c": rng.choice(list("ab"), n),
        }
    )
    wb.log_dataset(ref, "d")
    wb.log_dataset(cur, "d")
    plain = reports.run_report(ws, "d@v1", "d@v2")
    by = {r.column: r for r in plain.results}
    # A 0.05 sd shift in 200k rows is real but not material by default; id always drifts.
    assert by["x"].verdict == by["y"].verdict == "no drift"
    assert by["id"].verdict in ("drift", "major drift")
    strict = reports.run_report(
        ws,
        "d@v1",
        "d@v2",
        overrides={
            "x": drift.Override("wasserstein", 0.02),
            "id": drift.Override("ignore"),
            "c": drift.Override("js", 0.5),
        },
    )
    by = {r.column: r for r in strict.results}
    assert by["x"].verdict == "major drift"  # 0.05 >= 2.5 x 0.02
    assert by["x"].method == "wasserstein >= 0.02 (override)"
    assert by["x"].stats["threshold"] == 0.02
    assert by["x"].effect == pytest.approx(by["x"].stats["wasserstein_std"])
    assert by["y"].verdict == "no drift"  # untouched: the default rule
    assert by["id"].verdict == "ignored" and strict.n_columns == plain.n_columns - 1
    assert by["c"].verdict == "no drift"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"nope": drift.Override("psi", 0.1)}, "'nope': it is not in both versions"),
        (
            {"x": drift.Override("js", 0.1)},
            "'js' is not a method for a numeric column; use one of wasserstein, psi, ks or ignore",
        ),
        ({"c": drift.Override("ks", 0.1)}, "for a categorical column; use one of share, psi, js"),
        ({"x": drift.Override("psi", 0)}, "the threshold must be a number above 0; got 0"),
        ({"x": drift.Override("psi", math.nan)}, "the threshold must be a number above 0; got nan"),
        ({"x": drift.Override("psi", "high")}, "got 'high'"),
    ],
)
def test_bad_overrides_are_refused_and_nothing_is_stored(ws: Workspace, overrides, message) -> None:
    wb.log_dataset(pd.DataFrame({"x": [1.0, 2.0, 3.0], "c": ["a", "b", "a"]}), "d")
    wb.log_dataset(pd.DataFrame({"x": [1.0, 2.5, 3.0], "c": ["a", "b", "b"]}), "d")
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(")):
        reports.run_report(ws, "d@v1", "d@v2", overrides=overrides)
    assert n_reports(ws) == 0


# -- performance drift: the bootstrap and the verdict --------------------------------------


def _labels(n: int, accuracy: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n labels and predictions that are right on exactly round(n * accuracy) rows."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    right = rng.permutation(np.arange(n) < round(n * accuracy))
    return y, np.where(right, y, 1 - y)


def test_performance_verdicts_on_constructed_cases() -> None:
    drop = model_drift.performance_drift(
        _labels(5000, 0.9, 1), _labels(5000, 0.8, 2), classifier=True
    )
    assert drop.verdict == "degraded" and drop.metric == "accuracy"
    assert drop.change_interval[1] < 0 and drop.drop_share == pytest.approx(0.1 / 0.9)
    same = model_drift.performance_drift(
        _labels(5000, 0.9, 3), _labels(5000, 0.9, 4), classifier=True
    )
    assert same.verdict == "no change" and same.change_interval[0] < 0 < same.change_interval[1]
    few = model_drift.performance_drift(_labels(40, 0.9, 5), _labels(40, 0.825, 6), classifier=True)
    assert few.verdict == "not enough evidence"
    better = model_drift.performance_drift(
        _labels(5000, 0.7, 7), _labels(5000, 0.9, 8), classifier=True
    )
    assert better.verdict == "improved"
    rng = np.random.default_rng(9)
    y = rng.normal(0, 1, 3000)
    worse = model_drift.performance_drift(
        (y, y + rng.normal(0, 0.5, 3000)), (y, y + rng.normal(0, 0.8, 3000)), classifier=False
    )
    assert worse.metric == "rmse" and not worse.higher_is_better
    assert worse.verdict == "degraded" and worse.change_interval[0] > 0


def test_bootstrap_interval_matches_the_normal_approximation() -> None:
    """For accuracy p on n rows the 95 % interval is about p +- 1.96 sqrt(p(1-p)/n)."""
    ref, cur = _labels(4000, 0.85, 10), _labels(4000, 0.85, 11)
    result = model_drift.performance_drift(ref, cur, classifier=True, n_boot=4000)
    p = result.reference
    half = 1.96 * math.sqrt(p * (1 - p) / 4000)
    lo, hi = result.reference_interval
    assert lo == pytest.approx(p - half, abs=0.003) and hi == pytest.approx(p + half, abs=0.003)
    c_lo, c_hi = result.change_interval
    assert c_hi - c_lo == pytest.approx(2 * math.sqrt(2) * half, rel=0.1)


# -- with a real model --------------------------------------------------------------------


def test_report_with_a_model_scores_both_versions(ws: Workspace, champion: str) -> None:
    wb.log_dataset(customers(2000, 2, shift=120), "churn")  # usage falls: more churn predicted
    report = reports.run_report(ws, None, "churn@v2", model=champion)
    assert report.reference_ref == "churn@v1" and report.model_ref == "churn-clf/1"
    section = reports.model_section(reports.get_report(ws, report.report_id))
    assert section.target == "churned"  # from the run's launch spec
    pred = {p.column: p for p in section.predictions}
    assert pred["prediction"].kind == "prediction (categorical)" and pred["prediction"].drifted
    assert pred["proba_True"].kind == "prediction (numeric)" and pred["proba_True"].drifted
    assert set(section.profiles) == {"prediction", "proba_True"}
    # The rule did not change (low usage churns): the model is still right.
    assert section.performance.verdict in ("no change", "improved")
    assert section.performance.reference > 0.9 and section.performance.n_current == 2000
    assert section.verdict == "predictions drift"


def test_concept_drift_shows_in_performance_and_fires_the_monitor(
    ws: Workspace, champion: str
) -> None:
    monitoring.set_monitor(
        ws, "churn-clf", "churn", "churned", drift_share=1.0, max_performance_drop=0.05
    )
    version = wb.log_dataset(customers(2000, 3, concept=True), "churn")
    [event] = monitoring.on_new_version(ws, version)
    report = reports.get_report(ws, event.report_id)
    assert report.verdict == "no drift", report.results  # no column moved
    section = reports.model_section(report)
    assert section.performance.verdict == "degraded"
    assert section.performance.current < section.performance.reference - 0.2
    assert event.fired and event.detail["rule"] == "performance drop above 5%"
    assert event.detail["challenger"] == "churn-clf/2" and event.action == "retrained"
    timeline = reports.history(ws, "churn-clf")
    assert list(timeline["current"]) == ["churn@v2"]
    assert timeline["score"].iloc[0] == pytest.approx(section.performance.current)


def test_history_follows_successive_versions(ws: Workspace, champion: str) -> None:
    for seed, shift in ((4, 0), (5, 60), (6, 150)):
        wb.log_dataset(customers(1500, seed, shift=shift), "churn")
    for v in (2, 3, 4):
        reports.run_report(ws, None, f"churn@v{v}", model=champion)
    reports.run_report(ws, "churn@v1", "churn@v2")  # without the model: not in its history
    timeline = reports.history(ws, "churn-clf")
    assert list(timeline["current"]) == ["churn@v2", "churn@v3", "churn@v4"]
    effects = timeline["prediction_effect"].tolist()
    assert effects[0] < effects[1] < effects[2]
    assert timeline["score_lo"].le(timeline["score"]).all()
    assert timeline["score"].le(timeline["score_hi"]).all()


def test_a_version_without_the_models_inputs_is_refused(ws: Workspace, champion: str) -> None:
    wb.log_dataset(customers(300, 7).drop(columns=["usage"]), "churn")
    with pytest.raises(InvalidInput, match="churn@v2 lacks column 'usage' that churn-clf/1"):
        reports.run_report(ws, None, "churn@v2", model=champion)
    assert n_reports(ws) == 0


def test_without_labels_the_report_says_why(ws: Workspace, champion: str) -> None:
    wb.log_dataset(customers(500, 8).drop(columns=["churned"]), "churn")
    report = reports.run_report(ws, None, "churn@v2", model=champion)
    section = reports.model_section(report)
    assert section.performance is None
    assert section.note == "Performance needs the label column 'churned' in both versions."
    assert datasets.get_version(ws, "churn@v2").n_rows == 500


def test_the_drift_page_with_a_model(ws: Workspace, champion: str, monkeypatch) -> None:
    from streamlit.testing.v1 import AppTest

    from tests.conftest import open_tab
    from workbench.ui import nav

    monkeypatch.setenv("WORKBENCH_WATCH", "0")
    wb.log_dataset(customers(1000, 9, shift=120), "churn")
    at = AppTest.from_file(MAIN_SCRIPT, default_timeout=120).run()
    at.switch_page(f"../../../pages/{nav.DRIFT.file}").run()
    run = next(b for b in at.button if b.label == "Run the report")
    reference = next(s for s in at.selectbox if s.label == "Reference")
    reference.select("(the model's training data)")
    run.click().run()  # without a model: the page says what to do
    assert [plain(e.value) for e in at.error] == [
        "Pick a reference version (or a model, to compare with the data it was trained on)."
    ]
    model = next(s for s in at.selectbox if s.label.startswith("Model (scores"))
    model.select(champion)
    next(b for b in at.button if b.label == "Run the report").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    titles = [s.value for s in at.subheader]
    assert "churn@v2 against churn@v1" in titles[0]
    # the report opens on its columns; the model and the history are lazy tabs
    assert not any(t.startswith("Model churn-clf/1") for t in titles)
    assert any("`churn-clf/1`: predictions drift" in md.value for md in at.markdown)
    tabs = f"drift-tabs-{reports.list_reports(ws)[0].report_id}"
    open_tab(at, tabs, "History")
    assert "A model's drift across dataset versions" in [s.value for s in at.subheader]
    open_tab(at, tabs, "Model")
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "Model churn-clf/1: predictions drift" in [s.value for s in at.subheader]
    # short labels a metric card does not cut off; the metric is named above them
    labels = [m.label for m in at.metric]  # a binary classifier: its AUC and base rate too
    assert labels[-5:] == ["Reference", "Current", "Verdict", "ROC AUC", "Share of True"]
    assert any(md.value == "**Performance** (accuracy)" for md in at.markdown)
    predictions = next(d.value for d in at.dataframe if "prediction" in d.value.columns)
    assert predictions["prediction"].tolist()[0] in ("prediction", "proba_True")
    # p-values as drift.format_p writes them (the predictions drift: a tiny p)
    report = reports.list_reports(ws)[0]
    section = reports.model_section(report)
    expected = {p.column: drift.format_p(p.p_value) for p in section.predictions}
    assert dict(zip(predictions["prediction"], predictions["p-value"], strict=True)) == expected
    assert all(v == "< 1e-10" or "e-" in v or len(v) <= 5 for v in expected.values()), expected
