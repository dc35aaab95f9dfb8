"""Launching training runs and sweeps in background processes.

``launch`` checks everything it can before creating any run (dataset, target, features,
task, every trial's hyperparameters), so bad input leaves no half-made run. It then
creates the runs (a sweep is a parent run with one child per trial) and returns at once;
a background thread executes the trials through joblib. A trial is created ``queued``
(MLflow's SCHEDULED) and becomes ``running`` when a worker starts it: its ``started_at`` is
that moment, so its duration is its run time, not its wait in the queue.

* local (default): joblib's process pool (loky), ``workers`` at a time. Each worker runs
  its trial as the single writer of that run's event log: per-fold and per-stage metrics
  appear live in the app, and the model is written to the blob store. A worker that dies
  (SIGKILL, out of memory) breaks the pool; the launcher then marks every trial that had
  not ended ``failed`` with the reason.
* Dask (``WORKBENCH_DASK_SCHEDULER`` or ``scheduler=``): the same trials as pure tasks
  (spec and data in; metrics, evaluation and model bytes out), so workers need no shared
  disk; the launcher records each result as it arrives.

Cancelling writes a flag file into the run's folder; a local trial stops at its next fold
or boosting stage, a queued trial never starts (it ends ``killed``).
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import queue
import random
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from workbench.datasets import versions as datasets
from workbench.settings import Settings
from workbench.store import audit, runs_admin, tracking
from workbench.store.entities import UNENDED_STATUSES, Condition, utcnow
from workbench.store.errors import InvalidInput, NotFound
from workbench.store.workspace import Workspace
from workbench.team.auth import current_user, requires
from workbench.tracking import experiments, ingest
from workbench.training import catalogue, evaluation
from workbench.training.task import Cancelled, RunSpec, TrainResult, check_inputs, train

log = logging.getLogger(__name__)

CANCEL_FILE = "cancel-requested"
DASK_STARTED = "workbench-trial-started"  # the Dask topic a trial's task announces itself on
_threads: dict[str, threading.Thread] = {}


@dataclass(frozen=True)
class SweepSpec:
    """Grid: ``space`` maps a param to a list of values (every combination runs). Random:
    ``space`` maps a param to a list of values or ``{"low", "high", "log"}``; ``trials``
    draws, seeded by the base spec's seed."""

    method: str
    space: dict[str, Any]
    trials: int = 10


@dataclass(frozen=True)
class Launch:
    """What :func:`launch` started: ``parent_run_id`` (the sweep's parent run, None for a single
    run), ``run_ids`` (the trial runs in trial order; one id for a single run) and ``experiment``
    (the experiment's name)."""

    parent_run_id: str | None
    run_ids: tuple[str, ...]
    experiment: str


# -- planning ----------------------------------------------------------------------------------


def max_trials() -> int:
    """The most trials one sweep may start (WORKBENCH_MAX_TRIALS)."""
    return Settings.from_env().max_trials


def trial_params(base: RunSpec, task: str, sweep: SweepSpec | None) -> list[dict[str, Any]]:
    """The params of every trial, coerced to each parameter's type. Raises InvalidInput."""
    specs = {p.name: p for p in catalogue.param_specs(base.estimator, task)}
    fixed = {k: _coerce(specs, k, v) for k, v in base.params.items()}
    if sweep is None:
        return [fixed]
    if sweep.method not in ("grid", "random"):
        raise InvalidInput(f"Sweep method must be grid or random; got {sweep.method!r}.")
    if not sweep.space:
        raise InvalidInput("A sweep needs at least one parameter to vary.")
    for name in sweep.space:
        if name not in specs:
            raise InvalidInput(
                f"{name!r} is not a tunable parameter of {base.estimator}; "
                f"choose from {', '.join(specs)}."
            )
    limit = max_trials()
    if sweep.method == "grid":
        names = list(sweep.space)
        values = [[_coerce(specs, n, v) for v in _as_list(n, sweep.space[n])] for n in names]
        size = math.prod(len(v) for v in values)
        if size > limit:
            raise InvalidInput(
                f"The grid has {size:,} combinations; the limit is {limit} "
                "(WORKBENCH_MAX_TRIALS). Use fewer values or a random "
                "sweep."
            )
        trials = [dict(zip(names, combo, strict=True)) for combo in itertools.product(*values)]
    else:
        if not 1 <= sweep.trials <= limit:
            raise InvalidInput(
                f"trials must be 1 to {limit} (WORKBENCH_MAX_TRIALS); got {sweep.trials}."
            )
        rng = random.Random(base.seed)
        trials = [
            {n: _draw(rng, specs[n], r) for n, r in sweep.space.items()}
            for _ in range(sweep.trials)
        ]
    return [{**fixed, **t} for t in trials]


def _coerce(specs: dict[str, catalogue.ParamSpec], name: str, value: Any) -> Any:
    if name not in specs:
        return value  # any other estimator parameter: scikit-learn validates it
    return catalogue.coerce(specs[name], value)


def _as_list(name: str, values: Any) -> list:
    if not isinstance(values, list | tuple) or not values:
        raise InvalidInput(f"A grid needs a non-empty list of values for {name!r}.")
    return list(values)


def _draw(rng: random.Random, spec: catalogue.ParamSpec, space: Any) -> Any:
    if isinstance(space, list | tuple):
        return catalogue.coerce(spec, rng.choice(list(space)))
    if not isinstance(space, dict) or "low" not in space or "high" not in space:
        raise InvalidInput(
            f"Random search over {spec.name!r} needs a list of values or "
            "{'low': ..., 'high': ...}."
        )
    low, high = float(space["low"]), float(space["high"])
    if low > high:
        raise InvalidInput(f"{spec.name}: low {low} is above high {high}.")
    if space.get("log") and low > 0:
        value = math.exp(rng.uniform(math.log(low), math.log(high)))
    else:
        value = rng.uniform(low, high)
    return catalogue.coerce(spec, round(value) if spec.kind == "int" else value)


# -- launching ---------------------------------------------------------------------------------


@requires("editor")
def launch(
    ws: Workspace,
    spec: RunSpec,
    *,
    experiment: str,
    name: str | None = None,
    sweep: SweepSpec | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    user: str | None = None,
    wait: bool = False,
) -> Launch:
    """Check ``spec`` (and the sweep), create the runs, start executing them in the
    background and return. ``wait=True`` returns only when every trial has ended."""
    user = user or current_user()
    version = datasets.get_version(ws, spec.dataset)
    spec = replace(spec, dataset=version.ref)  # pin "churn" to the version it means now
    frame = datasets.load(ws, version.ref)
    task, _ = check_inputs(spec, frame)
    spec = replace(spec, task=task)
    trials = [replace(spec, params=p) for p in trial_params(spec, task, sweep)]
    for trial in trials:
        catalogue.build(trial.estimator, task, dict(trial.params), trial.seed)
    title = name or f"{catalogue.get(spec.estimator).title.lower()}"
    parent = None
    host, pid = socket.gethostname(), os.getpid()
    if sweep is not None:
        row, _ = experiments.create_run(
            ws,
            experiment=experiment,
            name=f"{title} sweep",
            user=user,
            source="ui",
            pid=pid,
            host=host,
            kind="sweep",  # stored: pages and the CLI read the kind, never the name
        )
        parent = _attach(ws, row.run_id, row.name, experiment)  # the launcher writes it
        parent.log_params(
            {
                "sweep.method": sweep.method,
                "sweep.trials": len(trials),
                "estimator": spec.estimator,
                "dataset": version.ref,
            }
        )
        parent.set_tags({"sweep": "parent"})
        parent.log_record(
            "spec",
            "sweep",
            {
                "base": spec.to_json(),
                "method": sweep.method,
                "space": sweep.space,
                "trials": sweep.trials,
            },
        )
    parent_id = parent.run_id if parent is not None else None
    runs = []
    for i, trial in enumerate(trials):
        label = f"{title}-{i + 1}" if sweep is not None else title
        # Queued until a worker starts it (issue 16: created running, trials waiting for a
        # worker showed as running and counted the wait in their duration).
        run, _ = experiments.create_run(
            ws,
            experiment=experiment,
            name=label,
            user=user,
            source="ui",
            parent_run_id=parent_id,
            pid=pid,
            host=host,
            queued=True,
            kind="trial" if parent_id is not None else "run",
        )
        # The trial's folder now, not when a worker starts it: the launcher beats for it
        # while it waits in the queue (_keep_alive). Without the folder those beats were
        # lost, and a trial queued past the heartbeat timeout was marked lost (issue 16).
        ws.paths.run_dir(run.run_id).mkdir(parents=True, exist_ok=True)
        runs.append((run.run_id, run.name, trial))
    result = Launch(parent_id, tuple(r[0] for r in runs), experiment)
    settings = Settings.from_env()
    scheduler = scheduler if scheduler is not None else settings.dask_scheduler
    n_workers = workers or settings.workers
    thread = threading.Thread(
        target=_execute,
        name=f"wb-launch-{(parent_id or runs[0][0])[:6]}",
        daemon=True,
        args=(ws, experiment, runs, frame, parent, n_workers, scheduler),
    )
    _threads[parent_id or runs[0][0]] = thread
    thread.start()
    if wait:
        thread.join()
    return result


@requires("editor")
def cancel(ws: Workspace, run_id: str, user: str | None = None) -> int:
    """Ask a queued or running run (or every such child of a sweep) to stop; returns how
    many. A running trial stops at its next fold or stage, a queued one never starts."""
    detail = experiments.get_run(ws, run_id)
    children = experiments.search_runs(  # all of them, however many runs came since
        ws, conditions=[Condition("attributes", "parent_run_id", "=", run_id)]
    )
    targets = [run_id] + [r.run_id for r in children]
    running = [
        rid for rid in targets if experiments.get_run(ws, rid).run.status in UNENDED_STATUSES
    ]
    for rid in running:
        folder = ws.paths.run_dir(rid)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / CANCEL_FILE).write_text(user or current_user())
    ws.store.write(
        lambda tx: audit.record(
            tx,
            actor=user or current_user(),
            action="run.cancel",
            object_type="run",
            object_id=run_id,
            detail={"name": detail.run.name, "runs": len(running)},
        )
    )
    return len(running)


def run_spec(ws: Workspace, run_id: str) -> RunSpec:
    """The spec a launched run was made from. Raises NotFound for a run not launched here."""
    records = ws.store.read(lambda tx: runs_admin.run_records(tx, run_id, "spec"))
    data = records.get(("spec", "run"))
    if data is None:
        raise NotFound(
            f"Run {run_id} has no launch spec (it was logged from code, or it is "
            "a sweep's parent); only launched runs can be run again."
        )
    return RunSpec.from_json(data)


@requires("editor")
def run_again(ws: Workspace, run_id: str, *, wait: bool = False, **kwargs: Any) -> Launch:
    """Repeat a launched run with the same spec and seed (same data version)."""
    detail = experiments.get_run(ws, run_id)
    return launch(
        ws,
        run_spec(ws, run_id),
        experiment=detail.experiment_name,
        name=f"{detail.run.name} (again)",
        wait=wait,
        **kwargs,
    )


def join(timeout: float | None = None) -> None:
    """Wait for every launch of this process (tests, the CLI)."""
    for thread in list(_threads.values()):
        thread.join(timeout)


# -- executing ---------------------------------------------------------------------------------


def _execute(
    ws: Workspace,
    experiment: str,
    runs: list,
    frame: pd.DataFrame,
    parent,
    workers: int,
    scheduler: str | None,
) -> None:
    run_ids = [r[0] for r in runs]
    done = threading.Event()
    keepalive = threading.Thread(target=_keep_alive, args=(ws, run_ids, done), daemon=True)
    keepalive.start()
    try:
        if scheduler:
            _execute_dask(ws, experiment, runs, frame, scheduler)
        else:
            _execute_local(ws, experiment, runs, frame, workers)
    except Exception as exc:  # the pool broke: a worker died, or could not start
        log.warning("launch failed: %s", exc)
        _fail_unfinished(ws, run_ids, exc)
    finally:
        done.set()
        if parent is not None:
            _end_parent(ws, parent, run_ids)
        _threads.pop(parent.run_id if parent is not None else runs[0][0], None)


def _keep_alive(ws: Workspace, run_ids: list[str], done: threading.Event) -> None:
    """Beat for trials still queued (their worker beats once it starts): while this launcher
    lives, a queued trial is not abandoned; if it dies, the beats stop and the reaper acts."""
    from workbench.tracking.events import touch_heartbeat

    interval = max(Settings.from_env().heartbeat_interval, 0.05)
    while True:
        for rid in run_ids:
            try:
                touch_heartbeat(ws.paths.run_dir(rid))
            except OSError:
                pass
        if done.wait(interval):
            return


def _execute_local(
    ws: Workspace, experiment: str, runs: list, frame: pd.DataFrame, workers: int
) -> None:
    from joblib import Parallel, delayed

    root = str(ws.root)
    if len(runs) == 1 or workers <= 1:
        for run_id, name, spec in runs:  # no pool to start for one trial
            _local_task(root, run_id, name, experiment, spec, frame, in_process=True)
        return
    tasks = (
        delayed(_local_task)(root, run_id, name, experiment, spec, frame)
        for run_id, name, spec in runs
    )
    for _ in Parallel(n_jobs=min(workers, len(runs)), return_as="generator_unordered")(tasks):
        pass


def _local_task(
    root: str,
    run_id: str,
    name: str,
    experiment: str,
    spec: RunSpec,
    frame: pd.DataFrame,
    in_process: bool = False,
) -> str:
    """One trial in a worker process, writing its own run's event log. The trial leaves the
    queue here: it becomes running, started now (or, cancelled meanwhile, ends killed)."""
    ws = Workspace(root)
    flag = ws.paths.run_dir(run_id) / CANCEL_FILE
    if flag.exists():
        run = _attach(ws, run_id, name, experiment)
        run.end("killed", f"Cancelled by {flag.read_text().strip() or 'a user'} before it started.")
        return "killed"
    run = _attach(ws, run_id, name, experiment, from_queue=True)
    run.set_tags({"worker.pid": os.getpid(), "worker.host": socket.gethostname()})
    run.log_record("spec", "run", spec.to_json())
    _log_input(ws, run, spec.dataset)
    try:
        result = train(
            spec,
            frame,
            progress=lambda values, step: run.log_metrics(values, step),
            should_stop=flag.exists,
        )
    except Cancelled:
        run.end("killed", f"Cancelled by {flag.read_text().strip() or 'a user'}.")
        return "killed"
    except Exception as exc:
        run.end("failed", f"{type(exc).__name__}: {exc}")
        return "failed"
    record(run, result, streamed=True)
    run.end("finished")
    return "finished"


def _execute_dask(
    ws: Workspace, experiment: str, runs: list, frame: pd.DataFrame, scheduler: str
) -> None:
    """Trials as Dask tasks. A task announces its start on the ``DASK_STARTED`` topic; the
    launcher, the writer of every Dask trial's event log, then marks the trial running."""
    from distributed import Client, as_completed

    by_id = {run_id: (run_id, name, spec) for run_id, name, spec in runs}
    started: queue.SimpleQueue[str] = queue.SimpleQueue()
    attached: dict[str, Any] = {}

    def start(run_id: str, *, from_queue: bool = True) -> Any:
        if run_id not in attached:
            _, name, spec = by_id[run_id]
            run = attached[run_id] = _attach(ws, run_id, name, experiment, from_queue=from_queue)
            run.log_record("spec", "run", spec.to_json())
            _log_input(ws, run, spec.dataset)
        return attached[run_id]

    def start_announced() -> None:
        while True:
            try:
                start(started.get_nowait())
            except queue.Empty:
                return

    with Client(scheduler, timeout="10s") as client:
        client.subscribe_topic(DASK_STARTED, lambda event: started.put(event[1]["run_id"]))
        data = client.scatter(frame, broadcast=True)
        futures = {
            client.submit(_dask_task, run_id, spec, data, pure=False): run_id
            for run_id, _, spec in runs
        }
        pending = as_completed(list(futures))
        while not pending.is_empty():
            start_announced()
            if not pending.has_ready():
                time.sleep(0.1)
                continue
            start_announced()  # a task's announcement comes before its result
            for future in pending.next_batch(block=False):
                run_id = futures[future]
                try:
                    result = future.result()
                except Exception as exc:
                    # a task that failed before it announced itself never ran: ended queued
                    run = start(run_id, from_queue=False)
                    run.end("failed", f"{type(exc).__name__}: {exc}")
                    continue
                run = start(run_id)  # announcement lost: started now, at the latest
                record(run, result, streamed=False)
                run.end("finished")


def _dask_task(run_id: str, spec: RunSpec, frame: pd.DataFrame) -> TrainResult:
    """One trial on a Dask worker: announce its start to the launcher, then train."""
    from distributed import get_worker

    try:
        get_worker().log_event(DASK_STARTED, {"run_id": run_id})
    except ValueError:
        pass  # not on a worker (a synchronous scheduler): the result starts it
    return train(spec, frame)


def record(run, result: TrainResult, *, streamed: bool) -> None:
    """Write a trial's result into its run (per-step metrics too unless already streamed).
    Params whose value is scikit-learn's deprecation sentinel (``"deprecated"``, what
    ``get_params()`` gives for a parameter being removed) are left out
    (``workbench.tracking.autolog.without_deprecated``)."""
    run.log_params(_loggable(result))
    if not streamed:
        by_step: dict[int, dict[str, float]] = {}
        for key, step, value in result.step_metrics:
            by_step.setdefault(step, {})[key] = value
        for step, values in sorted(by_step.items()):
            run.log_metrics(values, step=step)
    run.log_metrics(result.metrics, step=0)
    run.log_metrics({"train_seconds": result.seconds}, step=0)
    run.set_tags({f"env.{k}": v for k, v in result.environment.items()} | {"task": result.task})
    sha = run.log_artifact_bytes(result.model, "model.joblib")
    run.set_tags({"model.sha256": sha})
    run.log_record(
        "evaluation",
        "holdout" if "fold_" not in str(result.step_metrics) else "cv",
        result.evaluation,
    )
    if result.heldout is not None:
        evaluation.keep_heldout(
            run,
            result.heldout,
            kind=result.heldout_kind or "holdout",
            dataset=str(result.params.get("dataset")),
            target=str(result.params.get("target")),
        )


def _loggable(result: TrainResult) -> dict[str, Any]:
    """A trial's params as its run logs them: without scikit-learn's deprecation sentinels
    of its estimator's class (``result.params["estimator"]``, a catalogue key)."""
    from workbench.tracking.autolog import without_deprecated

    try:
        cls = catalogue.get(str(result.params.get("estimator"))).estimator_class(result.task)
    except InvalidInput:  # not a catalogue estimator: nothing is known to be a sentinel
        return dict(result.params)
    return without_deprecated(cls, dict(result.params))


def _log_input(ws: Workspace, run, ref: str) -> None:
    try:
        run.log_input(datasets.get_version(ws, ref))
    except NotFound:
        pass  # purged meanwhile: the spec still names it


def _attach(ws: Workspace, run_id: str, name: str, experiment: str, *, from_queue: bool = False):
    """This process becomes the writer of an existing run's event log; ``from_queue``: it
    starts a queued trial now (the run becomes running, started now)."""
    from workbench.tracking.fluent import ActiveRun

    return ActiveRun(ws, run_id, name, experiment, Settings.from_env(), from_queue=from_queue)


def _fail_unfinished(ws: Workspace, run_ids: Sequence[str], exc: BaseException) -> None:
    ingest.sync(ws, list(run_ids))  # what the workers logged before they died (starts too)

    def work(tx) -> None:
        for rid in run_ids:
            status = tracking.get_run(tx, rid).status
            if status in UNENDED_STATUSES:
                reason = _death_reason(exc, started=status == "running")
                tracking.finish_run(tx, rid, "failed", reason, utcnow())
                audit.record(
                    tx,
                    actor="workbench",
                    action="run.failed",
                    object_type="run",
                    object_id=rid,
                    detail={"reason": reason},
                )

    ws.store.write(work)


def _end_parent(ws: Workspace, parent, run_ids: Sequence[str]) -> None:
    ingest.sync(ws, list(run_ids))
    statuses = [experiments.get_run(ws, rid).run.status for rid in run_ids]
    finished = sum(s == "finished" for s in statuses)
    parent.log_metrics(
        {
            "trials_finished": finished,
            "trials_failed": statuses.count("failed"),
            "trials_cancelled": statuses.count("killed"),
        },
        step=0,
    )
    if (ws.paths.run_dir(parent.run_id) / CANCEL_FILE).exists() or (
        statuses and all(s == "killed" for s in statuses)
    ):
        parent.end("killed", "Cancelled.")
    elif finished == 0:
        parent.end("failed", "No trial finished.")
    else:
        parent.end("finished")


def _death_reason(exc: BaseException, *, started: bool) -> str:
    text = f"{type(exc).__name__}: {exc}".split("\n")[0][:500]
    if "Terminated" in text or "SIGKILL" in text or "BrokenProcessPool" in text:
        if not started:
            return (
                "A worker process of this launch died (killed, or out of memory) before this "
                f"queued trial started: {text}"
            )
        return (
            "The worker process running this trial died (killed, or out of memory) "
            f"before it finished: {text}"
        )
    if not started:
        return f"The launch stopped before this queued trial started: {text}"
    return f"The launch stopped before this trial ended: {text}"


def active_launches() -> list[str]:
    """The keys of this process's launches whose background thread is still executing: the
    sweep's parent run id, or the single run's id. Launches made by other processes are not seen."""
    return [k for k, t in _threads.items() if t.is_alive()]
