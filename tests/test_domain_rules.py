"""Domain rules live in services, not in pages (issue 17): a sweep is a stored kind, not a
name ending in " sweep"; one task rule for the launch form and the runner; which way a
metric is better and the best run per metric in ``workbench.tracking.compare``; the
scores in ``workbench.training.metrics``, the only wing that imports scikit-learn at
module level."""

from __future__ import annotations

import ast
import json
import math
import subprocess
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import MAIN_SCRIPT, PYTHON, ROOT, make_run, subprocess_env
from tests.test_runner import binary_frame
from workbench import sdk as wb
from workbench.datasets import versions as datasets
from workbench.registry import signature
from workbench.store.errors import InvalidInput
from workbench.store.gateway import Store
from workbench.store.migrations import MIGRATIONS, upgrade
from workbench.store.workspace import Workspace
from workbench.tracking import compare, experiments
from workbench.training import launch_defaults, runner
from workbench.training import metrics as scores
from workbench.training.task import RunSpec, check_inputs, detect_task

# -- the stored kind ----------------------------------------------------------------------


def test_a_sweep_is_stored_as_one_with_its_trials(ws: Workspace) -> None:
    wb.log_dataset(binary_frame(120), "churn")
    launched = runner.launch(
        ws,
        RunSpec("churn", "churned", "logistic"),
        experiment="tuning",
        sweep=runner.SweepSpec("grid", {"C": [0.1, 1.0]}),
        wait=True,
    )
    parent = experiments.get_run(ws, launched.parent_run_id).run
    assert (parent.kind, parent.is_sweep) == ("sweep", True)
    trials = [experiments.get_run(ws, rid).run for rid in launched.run_ids]
    assert [t.kind for t in trials] == ["trial", "trial"]
    assert not any(t.is_sweep for t in trials)
    single = runner.launch(ws, RunSpec("churn", "churned", "dummy"), experiment="tuning", wait=True)
    assert experiments.get_run(ws, single.run_ids[0]).run.kind == "run"
    table = experiments.runs_table(ws, query="kind = 'sweep'")  # a filter on the kind
    assert table["run_id"].tolist() == [launched.parent_run_id]
    kinds = dict(zip(*experiments.runs_table(ws)[["run_id", "kind"]].T.values, strict=True))
    assert sorted(kinds.values()) == ["run", "sweep", "trial", "trial"]


def test_a_run_named_like_a_sweep_is_a_run(app_env: Workspace) -> None:
    """A user's own run called "my sweep" (the SDK makes plain runs) is no sweep: the
    Experiments page shows no sweep status for it while it runs."""
    run = wb.start_run(experiment="mine", name="my sweep")  # left running
    assert experiments.get_run(app_env, run.run_id).run.kind == "run"
    sweep, _ = experiments.create_run(  # a sweep's parent, as the launcher makes it
        app_env, experiment="mine", name="tuning", user="me", source="ui", kind="sweep"
    )
    at = _experiments_page([])
    assert [s.label for s in at.status] == ["tuning: 0 of 0 trials ended"]
    assert not [b for b in at.button if b.key == f"cancel-sweep-{run.run_id}"]
    assert [b for b in at.button if b.key == f"cancel-sweep-{sweep.run_id}"]
    run.end()


def test_a_launched_run_named_like_a_sweep_can_be_run_again(app_env: Workspace) -> None:
    """ "Run again" is offered by kind: a single launched run called "... sweep" is one."""
    wb.log_dataset(binary_frame(120), "churn")
    launched = runner.launch(
        app_env,
        RunSpec("churn", "churned", "dummy"),
        experiment="x",
        name="baseline sweep",
        wait=True,
    )
    run = experiments.get_run(app_env, launched.run_ids[0]).run
    assert run.kind == "run" and experiments.can_run_again(run)
    at = _experiments_page(list(launched.run_ids), tab="Overview")
    assert [b for b in at.button if b.key == f"again-{run.run_id}"]


def test_the_kind_is_checked_on_creation(ws: Workspace) -> None:
    with pytest.raises(InvalidInput, match="kind is one of run, sweep, trial; got 'child'"):
        experiments.create_run(ws, experiment="e", name="a", user="u", kind="child")
    with pytest.raises(InvalidInput, match="parent_run_id"):
        experiments.create_run(ws, experiment="e", name="a", user="u", kind="trial")
    assert experiments.runs_table(ws).empty  # nothing half made


def test_sweeps_made_before_schema_15_are_recognised_after_the_upgrade(tmp_path: Path) -> None:
    """A database at schema 14 (no kind column): the launcher's sweep spec record marks a
    sweep, its children become trials, and a run merely named "... sweep" stays a run."""
    folder = tmp_path / "ws"
    folder.mkdir()
    store = Store(folder / "meta.duckdb")
    upgrade(store, None, tuple(m for m in MIGRATIONS if m.version < 15))

    def old_rows(tx) -> None:
        tx.execute(
            "INSERT INTO experiments VALUES ('e1', 'old', '', 'active', now()::TIMESTAMP, 'a')"
        )
        for run_id, name, parent in (
            ("p1", "logistic regression sweep", None),
            ("t1", "logistic regression-1", "p1"),
            ("t2", "logistic regression-2", "p1"),
            ("u1", "my sweep", None),
            ("c1", "child of mine", "u1"),
        ):
            tx.execute(
                "INSERT INTO runs (run_id, experiment_id, name, status, source, parent_run_id, "
                "started_at) VALUES (?, 'e1', ?, 'finished', 'ui', ?, now()::TIMESTAMP)",
                [run_id, name, parent],
            )
            tx.execute("INSERT INTO run_ingest (run_id) VALUES (?)", [run_id])
        spec = json.dumps({"method": "grid", "space": {"C": [0.1, 1]}, "trials": 2})
        tx.execute("INSERT INTO run_records VALUES ('p1', 'spec', 'sweep', ?)", [spec])

    store.write(old_rows)
    store.close()
    ws = Workspace.open(folder)  # upgrades to head
    kinds = {rid: experiments.get_run(ws, rid).run.kind for rid in ("p1", "t1", "t2", "u1", "c1")}
    assert kinds == {"p1": "sweep", "t1": "trial", "t2": "trial", "u1": "run", "c1": "run"}
    assert experiments.runs_table(ws, query="kind = 'sweep'")["name"].tolist() == [
        "logistic regression sweep"
    ]


# -- one task rule ------------------------------------------------------------------------


def test_the_form_and_the_runner_detect_the_same_task(ws: Workspace) -> None:
    """For every column of a registered version, the form's default task (from the stored
    profile) is the task the runner detects on the loaded column. A date target was
    regression on the form and classification in the runner."""
    rng = np.random.default_rng(3)
    n = 120
    frame = pd.DataFrame(
        {
            "amount": rng.normal(100, 20, n).round(2),
            "rating": rng.integers(1, 6, n),  # 5 levels: classes
            "count": rng.integers(0, 500, n),  # many levels: a quantity
            "flag": rng.random(n) < 0.4,
            "plan": rng.choice(["basic", "pro"], n),
            "day": [date(2024, 1, 1 + int(d)) for d in rng.integers(0, 28, n)],
            "stamp": pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, 9, n), "h"),
        }
    )
    frame.loc[::7, "amount"] = np.nan
    version = wb.log_dataset(frame, "mixed")
    profile = datasets.get_profile(ws, version)
    loaded = datasets.load(ws, version.ref)
    form = {p.name: launch_defaults.task_of(p) for p in profile}
    runner_side = {
        c: check_inputs(RunSpec(version.ref, c, "dummy"), loaded)[0] for c in loaded.columns
    }
    assert form == runner_side
    assert form == {
        "amount": "regression",
        "rating": "classification",
        "count": "regression",
        "flag": "classification",
        "plan": "classification",
        "day": "classification",
        "stamp": "classification",
    }
    assert {c: detect_task(signature.decimals_as_floats(loaded)[c]) for c in loaded} == form


def test_the_task_rule_counts_integer_levels() -> None:
    limit = launch_defaults.MAX_INTEGER_CLASSES
    assert launch_defaults.task_for("integer", limit) == "classification"
    assert launch_defaults.task_for("integer", limit + 1) == "regression"
    assert detect_task(pd.Series(range(limit))) == "classification"
    assert detect_task(pd.Series(range(limit + 1))) == "regression"
    assert str(limit) in launch_defaults.TASK_RULE  # the form states the rule it applies


# -- metric direction and the best run per metric ------------------------------------------


@pytest.mark.parametrize(
    "metric",
    ["accuracy", "roc_auc", "f1_macro", "r2", "balanced_accuracy", "eval_accuracy", "AUC"],
)
def test_scores_are_better_higher(metric: str) -> None:
    assert compare.higher_is_better(metric)


@pytest.mark.parametrize(
    "metric",
    ["rmse", "mae", "loss", "log_loss", "fold_rmse", "staged_rmse", "accuracy_std", "RMSE"],
)
def test_errors_and_losses_are_better_lower(metric: str) -> None:
    assert not compare.higher_is_better(metric)


def test_negated_scikit_learn_errors_are_better_higher() -> None:
    assert compare.higher_is_better("neg_log_loss")
    assert compare.higher_is_better("neg_root_mean_squared_error")


def test_the_best_run_per_metric_is_the_services(ws: Workspace) -> None:
    a = make_run(name="a", metrics={"accuracy": 0.7, "rmse": 2.0, "log_loss": 0.4})
    b = make_run(name="b", metrics={"accuracy": 0.8, "rmse": 3.0, "log_loss": math.nan})
    c = make_run(name="c", metrics={"accuracy": 0.75})
    best = {m.metric: m for m in compare.best_runs(ws, [a, b, c])}
    assert (best["accuracy"].run_id, best["accuracy"].value) == (b, 0.8)
    assert best["accuracy"].higher_is_better and best["accuracy"].runs == 3
    assert (best["accuracy"].min, best["accuracy"].max) == (0.7, 0.8)
    assert (best["rmse"].run_id, best["rmse"].higher_is_better) == (a, False)
    assert best["log_loss"].run_id == a and best["log_loss"].runs == 1  # NaN is nobody's best
    only_two = {m.metric: m.run_id for m in compare.best_runs(ws, [a, c])}
    assert only_two == {"accuracy": c, "rmse": a, "log_loss": a}
    with pytest.raises(InvalidInput, match="at least one run"):
        compare.best_runs(ws, [])


# -- the scores: scikit-learn's, imported by the training wing only ------------------------


def test_the_scores_are_scikit_learns() -> None:
    from sklearn import metrics as skm

    rng = np.random.default_rng(0)
    y, pred = rng.normal(size=200), rng.normal(size=200)
    assert scores.rmse(y, pred) == float(np.sqrt(np.mean((y - pred) ** 2)))  # as before
    assert scores.rmse(y, pred) == float(skm.root_mean_squared_error(y, pred))
    labels = pd.Series(rng.choice(["no", "yes"], 200))
    proba = rng.random((200, 1))
    proba = np.hstack([1 - proba, proba])
    got = scores.classification_scores(
        labels, labels.sample(frac=1, random_state=0), proba, ["no", "yes"]
    )
    assert set(got) == {
        "accuracy",
        "balanced_accuracy",
        "f1_macro",
        "precision_macro",
        "recall_macro",
        "roc_auc",
        "log_loss",
    }
    assert got["roc_auc"] == float(skm.roc_auc_score(labels == "yes", proba[:, 1]))


def test_promotion_imports_no_scikit_learn() -> None:
    """The promotion gate's metadata reads (the Models page's evaluation choice) import no
    scikit-learn; it is imported when a comparison scores."""
    script = "import sys, workbench.registry.promotion; print('sklearn' in sys.modules)"
    out = subprocess.run(
        [PYTHON, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env=subprocess_env(ROOT / "unused"),
    )
    assert out.stdout.strip() == "False", out.stderr


def test_only_the_training_wing_imports_scikit_learn_at_module_level() -> None:
    offenders = []
    for path in [*(ROOT / "app").rglob("*.py"), *(ROOT / "pages").glob("*.py")]:
        if path.relative_to(ROOT).parts[:2] == ("app", "training"):
            continue
        for node in ast.parse(path.read_text()).body:  # module level: top statements
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(n.split(".")[0] == "sklearn" for n in names):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


# -- helpers ------------------------------------------------------------------------------


@pytest.fixture
def app_env(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.setenv("WORKBENCH_WATCH", "0")  # no background thread inside AppTest
    return ws


def _experiments_page(selected: list[str], tab: str = "Overview") -> AppTest:
    """The Experiments page with ``selected`` runs ticked and their details' ``tab`` open."""
    at = AppTest.from_file(MAIN_SCRIPT, default_timeout=120)
    at.session_state["selected_runs"] = selected
    at.session_state["run-tabs"] = tab
    at.run()
    at.switch_page("../../../pages/experiments.py")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_parallel_coordinates_leave_out_runs_without_a_value() -> None:
    """A run without the metric (or a differing param) was drawn at the axis's minimum, a
    value it never had; now it is left out and counted."""
    from workbench.ui.compare import parallel_coordinates

    table = pd.DataFrame(
        {
            "params.depth": [2, 4, 8, 16],
            "params.lr": [0.1, 0.2, None, 0.4],
            "metrics.auc": [0.7, 0.8, 0.9, float("nan")],
        }
    )
    fig, left_out = parallel_coordinates(table, "auc")
    assert left_out == 2
    depth, lr, auc = (list(d.values) for d in fig.data[0].dimensions)
    assert depth == [2, 4] and lr == [0.1, 0.2] and auc == [0.7, 0.8]
    assert parallel_coordinates(table, "no_such_metric") == (None, 4)


def test_home_page_rules_live_in_the_services(ws) -> None:
    """What Home shows as "Failed or lost" and the colour of a monitor badge are service
    rules (the Models page draws the same badge), not sums and maps in the pages."""
    from workbench import sdk as wb
    from workbench.drift import monitoring
    from workbench.tracking import experiments

    for _ in range(3):
        with wb.start_run(experiment="home"):
            pass
    for status in ("failed", "killed"):
        wb.start_run(experiment="home").end(status)
    summary = experiments.workspace_summary(ws)
    assert summary.failed_or_lost == 2 and summary.runs == 5
    assert [
        monitoring.badge_color(s) for s in ("ok", "unmonitored", "drift: challenger waiting")
    ] == [
        "green",
        "gray",
        "orange",
    ]
    pages = ROOT / "pages"
    assert '"ok": "green"' not in (pages / "home.py").read_text()
    assert '"ok": "green"' not in (pages / "models.py").read_text()


@pytest.mark.parametrize(
    ("metric", "higher"),
    [
        ("latency_ms", False),
        ("perplexity", False),
        ("cost", False),
        ("wer", False),
        ("hinge_loss", False),
        ("answer_f1", True),  # "wer" inside a word is no error rate
        ("runtime_share", True),
        ("power", True),
    ],
)
def test_common_lower_is_better_names(metric: str, higher: bool) -> None:
    """Latency, perplexity, cost and error rates were "higher is better" (the run with the
    highest latency was the best)."""
    from workbench.tracking.compare import higher_is_better

    assert higher_is_better(metric) is higher


def test_runs_declare_a_direction_the_name_rule_gets_wrong(ws) -> None:
    from workbench import sdk as wb

    ids = []
    for value in (0.2, 0.9):
        with wb.start_run(experiment="declared") as run:
            run.log_metric("gain", value)
            run.set_tag("direction.gain", "lower")
        ids.append(run.run_id)
    table = wb.best_runs(ids).set_index("metric")
    assert table.loc["gain", "run_id"] == ids[0] and not table.loc["gain", "higher_is_better"]
    with wb.start_run(experiment="declared") as run:
        run.log_metric("gain", 0.5)
        run.log_metric("auc", 0.8)
        run.set_tag("direction.gain", "higher")
    # runs that disagree set the declaration aside for that metric alone, and say so
    with pytest.warns(UserWarning, match=r"gain: the runs' tag direction\.gain says higher, lower"):
        table = wb.best_runs([*ids, run.run_id]).set_index("metric")
    assert table.loc["gain", "run_id"] == ids[1] and table.loc["gain", "decided_by"] != "declared"
    assert table.loc["auc", "run_id"] == run.run_id
    from workbench.store.entities import Condition
    from workbench.tracking import experiments
    from workbench.ui.compare import styled_metrics

    two = experiments.runs_table(
        ws, conditions=[Condition("attributes", "run_id", "IN", tuple(ids))]
    )
    styled = styled_metrics(two)
    styled._compute()  # pandas fills Styler.ctx, (row, column) -> CSS, when it renders
    column = list(styled.data.columns).index("gain")
    [row] = [r for (r, c), css in styled.ctx.items() if c == column and css]
    # the page's highlighted best follows the declared direction too: the lower gain
    assert styled.data["gain"].iloc[row] == 0.2


@pytest.mark.parametrize(
    ("metric", "higher"),
    [
        ("tokens_per_sec", True),  # a rate: "sec" made it lower
        ("samples_per_second", True),
        ("loss_per_sample", False),
        ("rmsle", False),  # mean_squared_log_error
        ("d2_absolute_error_score", True),  # scikit-learn's *_score: higher
        ("brier_score", False),  # an error despite its name
        ("false_positive_rate", False),
        ("memory_mb", False),
        ("fid", False),
    ],
)
def test_scores_rates_and_errors_by_name(metric: str, higher: bool) -> None:
    from workbench.tracking.compare import higher_is_better

    assert higher_is_better(metric) is higher
