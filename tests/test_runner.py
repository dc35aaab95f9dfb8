"""Launching runs and sweeps: every catalogue estimator trains, sweeps run on local
workers and on a real Dask cluster, cancel, a killed worker, run again, bad input."""

from __future__ import annotations

import io
import itertools
import json
import os
import re
import signal
import subprocess
import time

import joblib
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes, load_iris

from tests.conftest import PYTHON, ROOT, subprocess_env
from workbench import sdk as wb
from workbench.cli.main import main
from workbench.store import runs_admin
from workbench.store.entities import UNENDED_STATUSES as UNENDED
from workbench.store.errors import InvalidInput, NotFound
from workbench.store.workspace import Workspace
from workbench.tracking import experiments, ingest
from workbench.training import catalogue, runner
from workbench.training.task import RunSpec, train

IRIS = load_iris(as_frame=True).frame.rename(columns={"target": "species"})
DIABETES = load_diabetes(as_frame=True).frame.rename(columns={"target": "progression"})


def binary_frame(rows: int = 300) -> pd.DataFrame:
    from tests.conftest import make_frame

    frame = make_frame(rows)
    frame["churned"] = (frame["age"] > 55) | (frame["plan"] == "basic")
    return frame


CASES = [(key, task) for key, e in catalogue.CATALOGUE.items() for task in e.classes]


@pytest.mark.parametrize(("key", "task"), CASES, ids=[f"{k}-{t}" for k, t in CASES])
def test_every_catalogue_estimator_trains(key: str, task: str) -> None:
    frame, target = (IRIS, "species") if task == "classification" else (DIABETES, "progression")
    result = train(RunSpec("x@v1", target, key, task=task, seed=1), frame)
    expected = {"accuracy", "f1_macro"} if task == "classification" else {"rmse", "mae", "r2"}
    assert expected <= set(result.metrics)
    assert all(v == v for v in result.metrics.values())  # no NaN
    model = joblib.load(io.BytesIO(result.model))
    assert len(model.predict(frame.drop(columns=target).head(5))) == 5
    assert result.params["estimator"] == key and result.params["task"] == task
    if task == "classification":
        assert result.evaluation["confusion_matrix"]["labels"] == ["0", "1", "2"]
    else:
        assert len(result.evaluation["residuals"]["y_true"]) > 0
    for name, value in result.params.items():  # get_params() is logged typed
        assert value is None or isinstance(value, bool | int | float | str), name


def test_binary_classification_records_curves_and_stages() -> None:
    result = train(RunSpec("x@v1", "churned", "gradient_boosting"), binary_frame())
    assert {"roc", "pr", "confusion_matrix", "feature_importances"} <= set(result.evaluation)
    assert result.metrics["roc_auc"] > 0.8
    staged = [s for k, s, _ in result.step_metrics if k == "staged_accuracy"]
    assert staged[0] == 1 and staged[-1] == 100  # one point per boosting stage


@pytest.mark.parametrize(
    ("frame", "target", "key", "final"),
    [
        (IRIS, "species", "staged_accuracy", "accuracy"),
        (DIABETES, "progression", "staged_rmse", "rmse"),
    ],
)
def test_a_forest_logs_its_score_per_number_of_trees(frame, target, key, final) -> None:
    """A forest on a hold-out had only single values (its curves panel was empty): its
    first k trees averaged as the forest averages them give a curve whose last point is
    the forest's own hold-out score."""
    result = train(RunSpec("x@v1", target, "random_forest", params={"n_estimators": 40}), frame)
    staged = [(s, v) for k, s, v in result.step_metrics if k == key]
    assert [s for s, _ in staged] == list(range(1, 41))
    assert staged[-1][1] == pytest.approx(result.metrics[final], rel=1e-12)


def test_kfold_logs_each_fold_and_the_mean() -> None:
    seen = []
    result = train(
        RunSpec("x@v1", "species", "logistic", validation="kfold", folds=4),
        IRIS,
        progress=lambda values, step: seen.append(step),
    )
    assert seen == [0, 1, 2, 3]
    assert "accuracy_std" in result.metrics and result.evaluation["n_evaluated"] == 150


@pytest.fixture
def churn(ws: Workspace) -> Workspace:
    wb.log_dataset(binary_frame(), "churn")
    return ws


def test_a_launched_run_records_everything(churn: Workspace) -> None:
    launch = runner.launch(
        churn,
        RunSpec("churn", "churned", "random_forest", params={"n_estimators": 30}),
        experiment="ui",
        wait=True,
    )
    detail = experiments.get_run(churn, launch.run_ids[0])
    assert detail.run.status == "finished" and detail.run.source == "ui"
    assert detail.params["n_estimators"] == 30 and detail.params["dataset"] == "churn@v1"
    assert detail.params["bootstrap"] is True  # the estimator's own get_params(), typed
    assert {"accuracy", "roc_auc", "train_seconds"} <= set(detail.metrics)
    assert detail.tags["env.sklearn"] and detail.tags["task"] == "classification"
    model, heldout = sorted(detail.artifacts, key=lambda a: a.path != "model.joblib")
    assert model.path == "model.joblib" and detail.tags["model.sha256"] == model.sha256
    records = churn.store.read(lambda tx: runs_admin.run_records(tx, launch.run_ids[0]))
    assert records[("input", "train")]["dataset"] == "churn"
    assert records[("spec", "run")]["estimator"] == "random_forest"
    assert "roc" in records[("evaluation", "holdout")]
    # The hold-out's predictions are kept (issue 15): the rows the model was not fitted on.
    meta = records[("evaluation", "heldout")]
    assert heldout.path == "heldout_predictions.parquet" and meta["sha256"] == heldout.sha256
    assert meta | {"sha256": ""} == {
        "dataset": "churn@v1",
        "target": "churned",
        "kind": "holdout",
        "rows": 75,
        "sha256": "",
        "artifact": "heldout_predictions.parquet",
    }


def test_a_sweep_of_8_trials_on_2_local_workers(churn: Workspace) -> None:
    sweep = runner.SweepSpec("grid", {"n_estimators": [10, 20], "max_depth": [2, 4, 6, 8]})
    launch = runner.launch(
        churn,
        RunSpec("churn", "churned", "random_forest"),
        experiment="sweeps",
        sweep=sweep,
        workers=2,
        wait=True,
    )
    assert len(launch.run_ids) == 8
    children = [experiments.get_run(churn, rid) for rid in launch.run_ids]
    assert {c.run.status for c in children} == {"finished"}
    assert {c.run.parent_run_id for c in children} == {launch.parent_run_id}
    combos = {(c.params["n_estimators"], c.params["max_depth"]) for c in children}
    assert len(combos) == 8
    pids = {c.tags["worker.pid"] for c in children}
    assert len(pids) == 2 and str(os.getpid()) not in pids  # two worker processes
    parent = experiments.get_run(churn, launch.parent_run_id)
    assert parent.run.status == "finished" and parent.metrics["trials_finished"].last_value == 8


@pytest.mark.slow
def test_the_same_sweep_on_a_dask_cluster(churn: Workspace) -> None:
    from distributed import LocalCluster

    sweep = runner.SweepSpec("grid", {"n_estimators": [10, 20], "max_depth": [2, 4, 6, 8]})
    spec = RunSpec("churn", "churned", "random_forest")
    with LocalCluster(
        n_workers=2, threads_per_worker=1, host="127.0.0.1", processes=True, dashboard_address=None
    ) as cluster:
        launch = runner.launch(
            churn,
            spec,
            experiment="dask",
            sweep=sweep,
            scheduler=cluster.scheduler_address,
            wait=True,
        )
    local = runner.launch(churn, spec, experiment="local", sweep=sweep, workers=2, wait=True)

    def by_combo(ids):
        out = {}
        for rid in ids:
            d = experiments.get_run(churn, rid)
            assert d.run.status == "finished", d.run.error
            out[(d.params["n_estimators"], d.params["max_depth"])] = d.metrics[
                "accuracy"
            ].last_value
        return out

    assert by_combo(launch.run_ids) == by_combo(local.run_ids)  # same results, no shared disk


def test_run_again_reproduces_metrics_exactly(churn: Workspace) -> None:
    first = runner.launch(
        churn,
        RunSpec("churn", "churned", "hist_gradient_boosting", validation="kfold", folds=3, seed=7),
        experiment="repro",
        wait=True,
    )
    again = runner.run_again(churn, first.run_ids[0], wait=True)
    a = experiments.get_run(churn, first.run_ids[0]).metrics
    b = experiments.get_run(churn, again.run_ids[0]).metrics
    a.pop("train_seconds"), b.pop("train_seconds")
    assert {k: m.last_value for k, m in a.items()} == {k: m.last_value for k, m in b.items()}
    assert experiments.get_run(churn, again.run_ids[0]).params["seed"] == 7


def _slow_spec() -> RunSpec:
    return RunSpec(
        "churn",
        "churned",
        "gradient_boosting",
        validation="kfold",
        folds=20,
        params={"n_estimators": 300},
    )


def _wait_for(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def _events(ws: Workspace, run_id: str) -> list[dict]:
    path = ws.paths.run_dir(run_id) / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_cancel_stops_running_and_queued_trials(churn: Workspace) -> None:
    sweep = runner.SweepSpec("grid", {"learning_rate": [0.05, 0.1, 0.2, 0.3]})
    launch = runner.launch(churn, _slow_spec(), experiment="cancel", sweep=sweep, workers=2)
    _wait_for(lambda: any(e["type"] == "metrics" for e in _events(churn, launch.run_ids[0])))
    assert runner.cancel(churn, launch.parent_run_id, user="ana") == 5  # parent + 4 trials
    runner.join(120)
    runs = [experiments.get_run(churn, rid).run for rid in launch.run_ids]
    assert {r.status for r in runs} == {"killed"}
    first = experiments.get_run(churn, launch.run_ids[0])
    assert first.run.error == "Cancelled by ana."
    never_ran = [r for r in runs if r.error.endswith("before it started.")]
    assert all(r.duration_s == 0 for r in never_ran)  # not its wait in the queue
    assert experiments.get_run(churn, launch.parent_run_id).run.status == "killed"


def test_a_killed_worker_leaves_its_run_failed_with_a_reason(churn: Workspace) -> None:
    sweep = runner.SweepSpec("grid", {"learning_rate": [0.05, 0.1, 0.2, 0.3]})
    launch = runner.launch(churn, _slow_spec(), experiment="kill", sweep=sweep, workers=2)

    def worker_pid():
        for rid in launch.run_ids:
            for e in _events(churn, rid):
                if e["type"] == "tags" and "worker.pid" in e["values"]:
                    return int(e["values"]["worker.pid"])
        return None

    _wait_for(lambda: worker_pid() is not None)
    os.kill(worker_pid(), signal.SIGKILL)
    runner.join(120)
    runs = [experiments.get_run(churn, rid).run for rid in launch.run_ids]
    assert {"queued", "running"}.isdisjoint({r.status for r in runs})
    failed = [r for r in runs if r.status == "failed"]
    assert failed and all("worker process" in r.error for r in failed)
    assert experiments.get_run(churn, launch.parent_run_id).run.status not in UNENDED


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (RunSpec("churn", "nope", "random_forest"), "Target column 'nope' is not in churn@v1"),
        (RunSpec("churn", "empty", "random_forest"), "is empty (all NULL)"),
        (RunSpec("churn", "one", "random_forest"), "has a single class"),
        (
            RunSpec("churn", "churned", "random_forest", params={"n_estimators": "many"}),
            "n_estimators must be a whole number; got 'many'",
        ),
        (
            RunSpec("churn", "churned", "random_forest", params={"n_estimators": -5}),
            "The 'n_estimators' parameter of RandomForestClassifier must be an int in the range",
        ),
        (
            RunSpec("churn", "churned", "random_forest", features=("churned",)),
            "cannot also be a feature",
        ),
        (
            RunSpec("churn", "churned", "random_forest", features=("ghost",)),
            "not in churn@v1: ghost",
        ),
        (RunSpec("churn", "churned", "linear"), "Linear regression does not do classification"),
        (
            RunSpec("churn", "churned", "random_forest", params={"bogus": 1}),
            "has no parameter 'bogus'",
        ),
        (RunSpec("churn@v9", "churned", "random_forest"), "churn@v9 not found"),
    ],
)
def test_bad_launches_are_refused_before_any_run_exists(ws: Workspace, spec, message) -> None:
    frame = binary_frame(60)
    frame["empty"] = None
    frame["one"] = "same"
    wb.log_dataset(frame, "churn")
    with pytest.raises((InvalidInput, NotFound)) as info:
        runner.launch(ws, spec, experiment="bad", wait=True)
    assert message in str(info.value)
    assert experiments.search_runs(ws, limit=100) == []


def test_a_sweep_with_a_bad_trial_value_makes_no_runs(churn: Workspace) -> None:
    sweep = runner.SweepSpec("grid", {"max_depth": [2, "deep"]})
    with pytest.raises(InvalidInput, match="max_depth must be a whole number; got 'deep'"):
        runner.launch(
            churn, RunSpec("churn", "churned", "random_forest"), experiment="bad", sweep=sweep
        )
    assert experiments.search_runs(churn, limit=100) == []


def test_a_missing_snapshot_is_a_clear_error(churn: Workspace) -> None:
    version = wb.list_dataset_versions("churn")[0]
    churn.blobs.path_for(version.blob_sha256).unlink()  # as if purged from disk
    with pytest.raises(NotFound, match="missing from"):
        runner.launch(churn, RunSpec("churn", "churned", "dummy"), experiment="bad")
    assert experiments.search_runs(churn, limit=100) == []


def test_a_dataset_with_only_the_target_has_no_features(ws: Workspace) -> None:
    wb.log_dataset(pd.DataFrame({"y": [0, 1] * 20}), "only-target")
    with pytest.raises(InvalidInput, match="No feature columns"):
        runner.launch(ws, RunSpec("only-target", "y", "dummy"), experiment="bad")
    assert experiments.search_runs(ws, limit=100) == []


def test_queued_trials_are_not_lost_while_they_wait(churn: Workspace, monkeypatch) -> None:
    """One worker, three trials, a heartbeat timeout of 1 s and the reaper running all the
    while (as the app's watcher does): trials waiting in the queue longer than the timeout
    stay queued until they run, then finish; the sweep counts all three (issue 16: they
    were marked lost, then finished with metrics the sweep's totals left out)."""
    from workbench.tracking import ingest

    monkeypatch.setenv("WORKBENCH_HEARTBEAT_INTERVAL", "0.1")
    big = binary_frame(3000)
    wb.log_dataset(big, "churn")
    # the first trial outlasts the 1.5 s below on an idle machine too (600 trees did not)
    sweep = runner.SweepSpec("grid", {"n_estimators": [2000, 150, 150]})
    launch = runner.launch(
        churn,
        RunSpec("churn", "churned", "random_forest"),
        experiment="queued",
        sweep=sweep,
        workers=1,
    )
    last = churn.paths.run_dir(launch.run_ids[-1]) / "events.jsonl"  # written once it starts
    reaped, queued_past_timeout = [], False
    started = time.monotonic()
    while any(experiments.get_run(churn, r).run.status in UNENDED for r in launch.run_ids):
        reaped += ingest.reap_lost_runs(churn, heartbeat_timeout=1.0)
        queued_past_timeout |= not last.exists() and time.monotonic() - started > 1.5
        time.sleep(0.2)
    runner.join()
    assert reaped == []  # old code: the queued trials, "No heartbeat for 1 s"
    assert queued_past_timeout, "the last trial never waited in the queue past the timeout"
    trials = [experiments.get_run(churn, r) for r in launch.run_ids]
    assert [t.run.status for t in trials] == ["finished"] * 3, [t.run.error for t in trials]
    parent = experiments.get_run(churn, launch.parent_run_id)
    assert parent.metrics["trials_finished"].last_value == 3


# Statuses of a sweep's trials, in launch order, on one worker: those done, then at most one
# running, then the ones still waiting (issue 16: every trial showed running from the launch).
ONE_AT_A_TIME = re.compile(r"(finished )*(running )?(queued )*")


def _one_at_a_time(statuses: list[str]) -> bool:
    return ONE_AT_A_TIME.fullmatch("".join(f"{s} " for s in statuses)) is not None


def test_queued_trials_wait_as_queued_and_start_when_their_worker_does(
    churn: Workspace, capsys
) -> None:
    """Issue 16, "Queued sweep trials": a sweep of 4 trials on 1 worker. While the first
    runs, the SDK and `workbench runs list` report the other three queued (not running,
    no duration yet); each trial's started_at is when its worker took it, after the one
    before ended, so durations are run times, not run time plus the wait in the queue."""
    spec = RunSpec("churn", "churned", "gradient_boosting")
    sweep = runner.SweepSpec("grid", {"n_estimators": [3000, 5, 5, 5]})  # the first takes ~3 s
    launch = runner.launch(churn, spec, experiment="queued-test", sweep=sweep, workers=1)
    trials = list(launch.run_ids)
    seen_by = set()
    deadline = time.monotonic() + 120
    while seen_by != {"sdk", "cli"}:
        assert time.monotonic() < deadline, f"never saw the first trial running: {seen_by}"
        table = wb.search_runs(experiment="queued-test")
        sdk = dict(zip(table["run_id"], table["status"], strict=True))
        assert main(["runs", "list", "--experiment", "queued-test", "--format", "json"]) == 0
        rows = {r["run_id"]: r for r in json.loads(capsys.readouterr().out)}
        for source, statuses in (
            ("sdk", [sdk[t] for t in trials]),
            ("cli", [rows[t]["status"] for t in trials]),
        ):
            assert _one_at_a_time(statuses), (source, statuses)
            if statuses == ["running", "queued", "queued", "queued"]:
                seen_by.add(source)
        if rows[trials[-1]]["status"] == "queued":
            assert rows[trials[-1]]["duration_s"] is None  # it has not run yet
        time.sleep(0.05)
    detail = wb.get_run(trials[-1])
    assert detail.run.status == "queued" and detail.run.duration_s is None
    cmd = ["runs", "list", "--experiment", "queued-test", "--status", "queued"]
    assert main([*cmd, "--format", "json"]) == 0
    assert {r["run_id"] for r in json.loads(capsys.readouterr().out)} <= set(trials[1:])
    runner.join(180)

    runs = [experiments.get_run(churn, t).run for t in trials]
    assert [r.status for r in runs] == ["finished"] * 4, [r.error for r in runs]
    for before, after in itertools.pairwise(runs):
        assert after.started_at >= before.ended_at  # started by its worker, not at the launch
    durations = [r.duration_s for r in runs]
    parent = experiments.get_run(churn, launch.parent_run_id).run
    assert sum(durations) <= parent.duration_s  # one at a time: nothing counted twice
    assert max(durations[1:]) < durations[0], durations  # old code: 6.1, 6.8, 8.3, 9.9 s


LAUNCHER = """
import sys
from workbench.training import runner
from workbench.training.task import RunSpec
from workbench.workspaces import open_workspace
spec = RunSpec("churn", "churned", "gradient_boosting", validation="kfold", folds=20,
               params={"n_estimators": 300})
sweep = runner.SweepSpec("grid", {"learning_rate": [0.05, 0.1, 0.2]})
launch = runner.launch(open_workspace(sys.argv[1]), spec, experiment="killed", sweep=sweep,
                       workers=1)
print(" ".join(launch.run_ids), flush=True)
runner.join()
"""


@pytest.mark.slow
def test_queued_trials_of_a_killed_launcher_are_lost_with_a_reason(churn: Workspace) -> None:
    """The launcher (here also the worker: one at a time, in its process) is SIGKILLed while
    trial 1 runs: the reaper marks trial 1 lost as any dead run, and the queued trials lost
    saying they never started (duration 0, not the time they waited)."""
    proc = subprocess.Popen(
        [PYTHON, "-c", LAUNCHER, str(churn.root)],
        cwd=ROOT,
        env=subprocess_env(churn.root),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        trials = proc.stdout.readline().split()
        assert len(trials) == 3, proc.stderr.read() if proc.poll() is not None else trials
        _wait_for(lambda: experiments.get_run(churn, trials[0]).run.status == "running")
        assert [experiments.get_run(churn, t).run.status for t in trials[1:]] == ["queued"] * 2
    finally:
        proc.kill()
        proc.wait()
    lost = ingest.reap_lost_runs(churn, heartbeat_timeout=60)
    assert set(trials) <= set(lost)
    first, *queued = [experiments.get_run(churn, t).run for t in trials]
    assert first.status == "lost" and "ended without ending the run" in first.error
    for run in queued:
        assert run.status == "lost" and run.duration_s == 0
        expected = r"Queued, and the process that launched it \(PID \d+ on .+\) ended before"
        assert re.fullmatch(expected + r" it started\.", run.error), run.error


def test_a_queued_run_is_counted_filtered_and_listed_as_queued(ws: Workspace, capsys) -> None:
    """Counts, filters and lists know the queued state: the experiment's summary, the
    workspace's runs by status, `status = 'queued'`, no duration yet, the CLI's columns."""
    waiting, _ = experiments.create_run(
        ws, experiment="q", name="waiting", user="tester", pid=os.getpid(), queued=True
    )
    running = wb.start_run(experiment="q", name="busy")
    [summary] = experiments.list_experiments(ws)
    assert (summary.run_count, summary.running, summary.queued) == (2, 1, 1)
    assert experiments.workspace_summary(ws).runs_by_status == {"queued": 1, "running": 1}
    found = experiments.search_runs(ws, query="status = 'queued' and duration IS NULL")
    assert [r.run_id for r in found] == [waiting.run_id]
    assert main(["experiments", "list"]) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header.split()[:4] == ["name", "runs", "running", "queued"]
    assert row.split()[:4] == ["q", "2", "1", "1"]
    assert ingest.reap_lost_runs(ws, heartbeat_timeout=60) == []  # its launcher (we) lives
    running.end()


def test_timestamps_with_a_time_zone_train_and_score(ws: Workspace) -> None:
    """A timezone-aware timestamp feature (and text with mixed UTC offsets) trained: the
    run failed with "Cannot subtract tz-naive and tz-aware" before. Instants count from
    1970-01-01 UTC, so one moment written in two zones is one number."""
    frame = binary_frame(200)
    frame["seen"] = pd.date_range("2024-01-01", periods=200, freq="h", tz="Europe/Berlin")
    frame["logged"] = ["2024-01-01T00:00:00+02:00", "2024-01-01T03:00:00-05:00"] * 100
    wb.log_dataset(frame, "zoned")
    launch = runner.launch(
        ws,
        RunSpec("zoned", "churned", "logistic", features=("age", "seen", "logged")),
        experiment="zones",
        wait=True,
    )
    detail = experiments.get_run(ws, launch.run_ids[0])
    assert detail.run.status == "finished", detail.run.error
    assert "accuracy" in detail.metrics
    from workbench.training.task import DatesToDays

    same_moment = pd.DataFrame(
        {"t": pd.Series(pd.to_datetime(["2024-01-01T00:00:00Z"])).dt.tz_convert("Asia/Tokyo")}
    )
    assert DatesToDays().transform(same_moment)[0, 0] == 19723.0
