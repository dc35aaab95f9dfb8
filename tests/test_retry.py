"""``workbench.retry.write_retrying``: two sessions creating the same name at once both
succeed with one row, on a real store (DuckDB file), under real concurrency."""

from __future__ import annotations

import threading
import uuid
from collections import Counter

import pytest

from tests.test_runner import binary_frame
from workbench import sdk as wb
from workbench.registry import models as registry
from workbench.retry import WRITE_ATTEMPTS, write_retrying
from workbench.store import tracking
from workbench.store.entities import Experiment, utcnow
from workbench.store.errors import AlreadyExists
from workbench.store.workspace import Workspace
from workbench.tracking import experiments
from workbench.training import runner
from workbench.training.task import RunSpec


def _run_all(targets) -> list:
    """Run each callable in a thread of its own; their results in order (an exception in
    one is raised here)."""
    results: list = [None] * len(targets)
    errors: list[BaseException] = []

    def call(i, target):
        try:
            results[i] = target()
        except BaseException as exc:  # re-raised in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=call, args=(i, t)) for i, t in enumerate(targets)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    if errors:
        raise errors[0]
    return results


def test_two_sessions_creating_one_experiment_both_get_it(ws: Workspace) -> None:
    """Both sessions read "no such experiment" before either inserts (a barrier holds the
    first attempt of each until both have read), so one of them loses the race at its
    INSERT or its COMMIT: the helper runs its work again, which finds the winner's row."""
    barrier = threading.Barrier(2, timeout=30)
    attempts: Counter[str] = Counter()

    def session(who: str):
        def work(tx):
            attempts[who] += 1
            found = tracking.find_experiment(tx, "shared")
            if attempts[who] == 1:
                barrier.wait()  # both have read; neither has inserted
            if found is not None:
                return found.experiment_id
            exp = Experiment(uuid.uuid4().hex, "shared", "", "active", utcnow(), who)
            tracking.insert_experiment(tx, exp)
            return exp.experiment_id

        return write_retrying(ws.store, work)

    a, b = _run_all([lambda: session("a"), lambda: session("b")])
    assert a == b  # both have the same experiment
    rows = [s for s in experiments.list_experiments(ws) if s.experiment.name == "shared"]
    assert len(rows) == 1 and rows[0].experiment.experiment_id == a
    assert sum(attempts.values()) >= 3  # the race was lost once at least, and retried


def test_without_the_retry_the_loser_fails(ws: Workspace) -> None:
    """The same race with one attempt: the loser gets AlreadyExists. (What the helper is
    for; also proves the race above is real.)"""
    barrier = threading.Barrier(2, timeout=30)

    def session(who: str):
        waited = []

        def work(tx):
            found = tracking.find_experiment(tx, "raced")
            if not waited:  # (a unit the gateway re-runs on a Conflict must not wait again)
                waited.append(barrier.wait())
            assert found is None
            exp = Experiment(uuid.uuid4().hex, "raced", "", "active", utcnow(), who)
            tracking.insert_experiment(tx, exp)

        try:
            write_retrying(ws.store, work, attempts=1)
        except AlreadyExists:
            return "lost"
        return "won"

    assert sorted(_run_all([lambda: session("a"), lambda: session("b")])) == ["lost", "won"]


def test_concurrent_runs_in_a_new_experiment(ws: Workspace) -> None:
    """Eight sessions start a run in the same new experiment at once: eight runs, one
    experiment."""
    barrier = threading.Barrier(8, timeout=30)

    def start(i: int):
        barrier.wait()
        _run, exp = experiments.create_run(ws, experiment="burst", name=f"r{i}", user="tester")
        return exp.experiment_id

    ids = _run_all([lambda i=i: start(i) for i in range(8)])
    assert len(set(ids)) == 1
    [summary] = [s for s in experiments.list_experiments(ws) if s.experiment.name == "burst"]
    assert len(experiments.search_runs(ws, experiment_ids=[ids[0]])) == 8
    assert summary.experiment.experiment_id == ids[0]


def test_concurrent_registrations_of_one_new_model(ws: Workspace) -> None:
    """Two sessions register a run's model under the same new name at once: one model,
    versions 1 and 2."""
    wb.log_dataset(binary_frame(80), "churn")
    launch = runner.launch(ws, RunSpec("churn", "churned", "dummy"), experiment="e", wait=True)
    barrier = threading.Barrier(2, timeout=30)

    def register():
        barrier.wait()
        return registry.register_model(ws, launch.run_ids[0], "raced-model").version

    assert sorted(_run_all([register, register])) == [1, 2]
    assert [m.name for m in registry.list_models(ws)] == ["raced-model"]
    assert [v.version for v in registry.list_versions(ws, "raced-model")] == [2, 1]


def test_gives_up_after_the_attempts(ws: Workspace) -> None:
    calls = []

    def work(tx):
        calls.append(1)
        raise AlreadyExists("taken, every time")

    with pytest.raises(AlreadyExists, match="every time"):
        write_retrying(ws.store, work)
    assert len(calls) == WRITE_ATTEMPTS
    with pytest.raises(ValueError, match="attempts"):
        write_retrying(ws.store, work, attempts=0)
