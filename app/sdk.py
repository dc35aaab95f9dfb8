"""The notebook and script API. No server needed; runs show up in the app, live.

```python
import workbench as wb

with wb.start_run(experiment="churn", name="rf-baseline") as run:
    run.log_params({"n_estimators": 200, "max_depth": 8})
    for step in range(50):
        run.log_metrics({"loss": 0.1, "auc": 0.9}, step=step)
    run.set_tags({"owner": "ana"})
    run.log_artifact("confusion.csv")
```

Names follow MLflow's. Each logging call validates its input first (a bad value raises
:class:`InvalidInput` and writes nothing), then appends one line to the run's event log
and returns; the database is updated in batches (every ``WORKBENCH_INGEST_INTERVAL``
seconds, at the end of the run, and by the app's watcher). An exception inside the
``with`` block ends the run as ``failed`` with the error text; Ctrl-C ends it ``killed``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from workbench.datasets import versions as datasets
from workbench.settings import Settings
from workbench.store.entities import DatasetVersion, ParamValue, RunDetail
from workbench.store.errors import InvalidInput, WorkbenchError
from workbench.store.gateway import polite
from workbench.store.snapshots import index_carries_data
from workbench.store.text import escape_unstorable
from workbench.store.workspace import Workspace
from workbench.team.auth import current_user
from workbench.tracking import experiments, ingest
from workbench.tracking.events import EventLog, touch_heartbeat
from workbench.validation import (
    check_artifact_name,
    check_key,
    check_metric_value,
    check_param_value,
    check_step,
    check_storable,
    check_tag_value,
)
from workbench.workspace import open_workspace

__all__ = [
    "ActiveRun",
    "active_run",
    "autolog",
    "end_run",
    "get_run",
    "infer_signature",
    "list_dataset_versions",
    "load_dataset",
    "load_model",
    "log_artifact",
    "log_dataset",
    "log_metric",
    "log_metrics",
    "log_model",
    "log_param",
    "log_params",
    "predict",
    "promote",
    "register_model",
    "search_runs",
    "set_alias",
    "set_tag",
    "set_tags",
    "set_workspace",
    "start_run",
    "workspace",
]

MAX_ERROR = 8000  # characters of a failed run's error text that are kept

_workspace_path: Path | None = None
_active: list[ActiveRun] = []
_active_lock = threading.Lock()


def set_workspace(path: str | os.PathLike | None) -> Workspace:
    """Use the workspace at ``path`` for this process (default: $WORKBENCH_WORKSPACE or
    ./workspace). Creates it if missing."""
    global _workspace_path
    _workspace_path = Path(path) if path is not None else None
    return open_workspace(_workspace_path)


def workspace() -> Workspace:
    return open_workspace(_workspace_path)


class ActiveRun:
    """A run being logged by this process. Use it as a context manager, or call
    :meth:`end` yourself.

    ``from_queue=True`` (the runner, for a launched trial its worker takes from the queue):
    the run is ``queued`` in the database; a start event makes it ``running``, started now."""

    def __init__(
        self,
        ws: Workspace,
        run_id: str,
        name: str,
        experiment: str,
        settings: Settings,
        *,
        from_queue: bool = False,
    ) -> None:
        self.run_id = run_id
        self.name = name
        self.experiment = experiment
        self.status = "running"
        self._ws = ws
        self._settings = settings
        self._run_dir = ws.paths.run_dir(run_id)
        self._log = EventLog(self._run_dir)
        self._params: dict[str, ParamValue] = {}
        self._next_step: dict[str, int] = {}
        self._lock = threading.Lock()
        if from_queue:
            self._log.append({"type": "start"})  # its time is the run's start
        touch_heartbeat(self._run_dir)
        self._stop = threading.Event()
        self._beat = threading.Thread(
            target=self._heartbeat, name=f"wb-heartbeat-{run_id[:6]}", daemon=True
        )
        self._beat.start()
        if from_queue:
            try:  # shown as running at once, not at the next periodic ingestion
                ingest.sync(ws, [run_id])
            except WorkbenchError:
                pass  # the start event waits in the log: the heartbeat or the app ingests it

    def __repr__(self) -> str:
        return f"<ActiveRun {self.name!r} id={self.run_id} status={self.status}>"

    # -- logging ---------------------------------------------------------------------

    def log_param(self, key: str, value: Any) -> None:
        self.log_params({key: value})

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Log hyperparameters. A param is immutable: logging a key again with another
        value raises :class:`InvalidInput`."""
        clean = self._checked(params, "Param", check_param_value)
        with self._lock:
            for key, value in clean.items():
                if key in self._params and not _same(self._params[key], value):
                    raise InvalidInput(
                        f"Param {key!r} was already logged as {self._params[key]!r} in run "
                        f"{self.name!r}; params are immutable. Use a new key or a new run."
                    )
            new = {k: v for k, v in clean.items() if k not in self._params}
            if new:
                self._log.append({"type": "params", "values": new})
                self._params.update(new)

    def log_metric(self, key: str, value: float, step: int | None = None) -> None:
        self.log_metrics({key: value}, step=step)

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Log metric values at ``step`` (default: one past the last step of each key)."""
        clean = self._checked(metrics, "Metric", check_metric_value)
        if step is not None:
            step = check_step(step)
        with self._lock:
            self._ensure_running()
            steps = {k: step if step is not None else self._next_step.get(k, 0) for k in clean}
            # One event per distinct step keeps the line shape simple.
            for s in sorted(set(steps.values())):
                values = {k: v for k, v in clean.items() if steps[k] == s}
                self._log.append({"type": "metrics", "step": s, "values": values})
            for k, s in steps.items():
                self._next_step[k] = max(self._next_step.get(k, 0), s + 1)

    def set_tag(self, key: str, value: Any) -> None:
        self.set_tags({key: value})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        clean = self._checked(tags, "Tag", check_tag_value)
        with self._lock:
            self._ensure_running()
            self._log.append({"type": "tags", "values": clean})

    def log_artifact(self, local_path: str | os.PathLike, name: str | None = None) -> str:
        """Store a file in the content-addressed blob store; returns its sha256."""
        path = Path(local_path)
        name = check_artifact_name(name if name is not None else path.name)
        self._ensure_running()
        if not path.is_file():
            raise InvalidInput(f"Artifact {str(path)!r} is not a file; pass an existing file.")
        ref = self._ws.blobs.put_file(path)  # blob first, then the event that names it
        with self._lock:
            self._ensure_running()
            self._log.append(
                {"type": "artifact", "path": name, "sha256": ref.sha256, "size": ref.size_bytes}
            )
        return ref.sha256

    def log_artifact_bytes(self, data: bytes, name: str) -> str:
        """Store ``data`` as artifact ``name`` (e.g. a serialized model); returns its sha256."""
        name = check_artifact_name(name)
        self._ensure_running()
        ref = self._ws.blobs.put_bytes(data)
        with self._lock:
            self._ensure_running()
            self._log.append(
                {"type": "artifact", "path": name, "sha256": ref.sha256, "size": ref.size_bytes}
            )
        return ref.sha256

    def log_model(
        self, model: Any, *, input_example: Any = None, signature: Mapping[str, Any] | None = None
    ) -> str:
        """Store a fitted scikit-learn model as this run's ``model.joblib`` with its input
        signature, so ``wb.register_model(run.run_id, name)`` can register it. Returns the
        model file's sha256.

        As in MLflow, the signature comes from ``signature`` (``wb.infer_signature(X_train)``)
        or from ``input_example`` (the DataFrame, or a few of its rows, the model was fitted
        on: column names and dtypes are recorded). With neither, only what the model knows
        is recorded: ``feature_names_in_`` without types (a warning says so), or the column
        count of an array fit. Raises InvalidInput when the example's columns are not the
        ones the model was fitted on (``feature_names_in_``, ``n_features_in_``)."""
        from workbench.registry import signature as sig
        from workbench.training.task import environment

        if not hasattr(model, "predict"):
            raise InvalidInput(
                f"log_model takes a fitted model with predict(); got {type(model).__name__}."
            )
        if signature is not None:
            if not isinstance(signature, Mapping) or not (
                signature.get("inputs") or signature.get("positional")
            ):
                raise InvalidInput("signature must be what wb.infer_signature(X) returns.")
            recorded = dict(signature)
        elif input_example is not None:
            recorded = sig.infer_signature(input_example)
        else:
            recorded = None
        full = sig.for_model(model, recorded)  # checks the record against the model
        if full.get("source") == "feature names only":
            warnings.warn(
                "log_model: no input_example or signature, so the input types are not "
                "recorded (only the names); pass input_example=X_train.",
                stacklevel=2,
            )
        import io

        import joblib

        buffer = io.BytesIO()
        joblib.dump(model, buffer)
        sha = self.log_artifact_bytes(buffer.getvalue(), "model.joblib")
        if recorded is not None:
            self.log_record("spec", "signature", {k: v for k, v in full.items() if k != "output"})
        self.set_tags({"model.sha256": sha} | {f"env.{k}": v for k, v in environment().items()})
        return sha

    def log_input(self, version: DatasetVersion, role: str = "train") -> None:
        """Record that the run read dataset version ``version`` (lineage) in the role
        ``role``. Registering the run's model takes its training dataset from the input with
        role ``"train"`` (else the only input)."""
        self.log_record(
            "input",
            role,
            {
                "dataset": version.dataset_name,
                "version": version.version,
                "fingerprint": version.fingerprint,
            },
        )
        self.input_roles = getattr(self, "input_roles", set()) | {role}

    def log_record(self, kind: str, name: str, data: Any) -> None:
        """Store structured data with the run (``spec``, ``input``, ``evaluation``)."""
        if kind not in ("spec", "input", "evaluation"):
            raise InvalidInput(f"record kind must be spec, input or evaluation; got {kind!r}.")
        check_key(name, "Record")
        with self._lock:
            self._ensure_running()
            self._log.append({"type": "record", "kind": kind, "name": name, "data": data})

    # -- ending ----------------------------------------------------------------------

    def end(self, status: str = "finished", error: str | None = None) -> None:
        """End the run (``finished``, ``failed`` or ``killed``) and ingest its events."""
        if status not in ("finished", "failed", "killed"):
            raise InvalidInput(f"status must be finished, failed or killed; got {status!r}.")
        if error is not None and len(error := escape_unstorable(str(error))) > MAX_ERROR:
            error = error[: MAX_ERROR - 1] + "…"  # an exception message can be huge
        with self._lock:
            if self.status != "running":
                return
            self._log.append({"type": "end", "status": status, "error": error})
            self.status = status
            self._log.close()
        self._stop.set()
        self._beat.join(timeout=5)
        _forget(self)
        try:
            ingest.sync(self._ws, [self.run_id])
        except WorkbenchError as exc:
            warnings.warn(
                f"Run {self.name!r} ended, but its events could not be written to the "
                f"database yet ({exc}). They are safe in {self._run_dir}; the app or "
                "`workbench sync` will ingest them.",
                stacklevel=2,
            )

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.end("finished")
        elif issubclass(exc_type, KeyboardInterrupt):
            self.end("killed", "Interrupted (KeyboardInterrupt).")
        else:
            self.end("failed", f"{exc_type.__name__}: {exc}")

    # -- internals -------------------------------------------------------------------

    def _checked(self, values: Mapping[str, Any], what: str, check) -> dict:
        self._ensure_running()
        if not isinstance(values, Mapping):
            raise InvalidInput(
                f"{what}s must be given as a dict of key to value; got {type(values).__name__}."
            )
        return {check_key(k, what): check(k, v) for k, v in values.items()}

    def _ensure_running(self) -> None:
        if self.status != "running":
            raise InvalidInput(
                f"Run {self.name!r} ({self.run_id}) has ended with status {self.status}; "
                "start a new run to log more."
            )

    def _heartbeat(self) -> None:
        interval = max(self._settings.heartbeat_interval, 0.05)
        every = self._settings.ingest_interval
        waited = 0.0
        last_ingest = time.monotonic()
        while not self._stop.wait(interval):
            try:
                touch_heartbeat(self._run_dir)
            except OSError:
                pass  # the next beat tries again; the timeout is many beats long
            waited += interval
            if every > 0 and waited >= every:
                waited = 0.0
                # Background work: it stands aside while other processes want the database,
                # unless it has waited long (then it queues like any other unit of work).
                overdue = time.monotonic() - last_ingest > max(30.0, 6 * every)
                try:
                    with contextlib.nullcontext() if overdue else polite():
                        ingest.sync(self._ws, [self.run_id])
                    last_ingest = time.monotonic()
                except WorkbenchError:
                    pass  # busy: a later beat, the end of the run (or the app) ingests them


def _same(a: ParamValue, b: ParamValue) -> bool:
    return type(a) is type(b) and (a == b or (a != a and b != b))  # NaN equals NaN here


def start_run(
    experiment: str = "Default",
    name: str | None = None,
    *,
    tags: Mapping[str, Any] | None = None,
    parent_run_id: str | None = None,
    workspace_path: str | os.PathLike | None = None,
) -> ActiveRun:
    """Create a run in ``experiment`` (created if missing) and make it the active run."""
    ws = open_workspace(workspace_path if workspace_path is not None else _workspace_path)
    user = current_user()
    run, exp = experiments.create_run(
        ws,
        experiment=experiment,
        name=name,
        user=user,
        parent_run_id=parent_run_id,
        pid=os.getpid(),
        host=socket.gethostname(),
    )
    active = ActiveRun(ws, run.run_id, run.name, exp.name, Settings.from_env())
    with _active_lock:
        _active.append(active)
    if tags:
        active.set_tags(tags)
    return active


def _forget(run: ActiveRun) -> None:
    with _active_lock:
        if run in _active:
            _active.remove(run)


def active_run() -> ActiveRun | None:
    with _active_lock:
        return _active[-1] if _active else None


def _require_active() -> ActiveRun:
    run = active_run()
    if run is None:
        raise InvalidInput("No active run; call wb.start_run(...) first.")
    return run


def end_run(status: str = "finished") -> None:
    _require_active().end(status)


def log_param(key: str, value: Any) -> None:
    _require_active().log_param(key, value)


def log_params(params: Mapping[str, Any]) -> None:
    _require_active().log_params(params)


def log_metric(key: str, value: float, step: int | None = None) -> None:
    _require_active().log_metric(key, value, step)


def log_metrics(metrics: Mapping[str, float], step: int | None = None) -> None:
    _require_active().log_metrics(metrics, step)


def set_tag(key: str, value: Any) -> None:
    _require_active().set_tag(key, value)


def set_tags(tags: Mapping[str, Any]) -> None:
    _require_active().set_tags(tags)


def log_artifact(local_path: str | os.PathLike, name: str | None = None) -> str:
    return _require_active().log_artifact(local_path, name)


def log_model(
    model: Any, *, input_example: Any = None, signature: Mapping[str, Any] | None = None
) -> str:
    """Log a fitted model (with its signature) into the active run, or into a new run of
    experiment ``Default`` when none is active; returns the run id to register it with.
    See :meth:`ActiveRun.log_model`."""
    run = active_run()
    if run is not None:
        run.log_model(model, input_example=input_example, signature=signature)
        return run.run_id
    with start_run(name=type(model).__name__) as own:
        own.log_model(model, input_example=input_example, signature=signature)
    return own.run_id


def infer_signature(model_input: Any, model_output: Any = None) -> dict[str, Any]:
    """The signature of a model's input data (MLflow's name and shape): column names,
    type families and dtypes of a DataFrame, or a positional signature for an array."""
    from workbench.registry import signature

    return signature.infer_signature(model_input, model_output)


def get_run(run_id: str) -> RunDetail:
    return experiments.get_run(workspace(), run_id)


def search_runs(
    experiment: str | None = None,
    filter_string: str | None = None,
    *,
    max_results: int | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """The runs table (as on the Experiments page) as a DataFrame, newest first: every run
    of ``experiment`` (all experiments if None) matching ``filter_string`` (the filter
    language of :mod:`workbench.tracking.query`, e.g. ``"params.seed = 1152921504606846977"``).

    ``max_results`` (``limit`` is the same) keeps at most that many, as in MLflow's
    ``search_runs``; when it leaves runs out, a :class:`UserWarning` says how many. Param
    columns hold the logged Python values (ints stay exact). Raises :class:`InvalidInput`
    for a bad filter, :class:`NotFound` for an unknown experiment.
    """
    if filter_string is not None and not isinstance(filter_string, str):
        raise InvalidInput(
            f'filter_string must be a string such as "metrics.auc > 0.9"; got '
            f"{filter_string!r}. Pass the number of runs as max_results=."
        )
    if max_results is not None and limit is not None and max_results != limit:
        raise InvalidInput("Pass max_results or limit (the same thing), not both.")
    cap = max_results if max_results is not None else limit
    if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 0):
        raise InvalidInput(
            f"max_results must be a whole number from 0, or None for all; got {cap!r}."
        )
    ws = workspace()
    ids = None
    if experiment is not None:
        ids = [experiments.get_experiment_by_name(ws, experiment).experiment_id]
    page = experiments.runs_page(ws, experiment_ids=ids, limit=cap, query=filter_string)
    if page.cut:
        warnings.warn(
            f"search_runs: {page.note()} (max_results={cap}); pass "
            "max_results=None for all of them.",
            stacklevel=2,
        )
    return page.table


# -- datasets ----------------------------------------------------------------------------------


def log_dataset(
    data: pd.DataFrame | str | os.PathLike,
    name: str,
    *,
    message: str = "",
    tags: Mapping[str, Any] | None = None,
    encoding: str = "utf-8",
) -> DatasetVersion:
    """Register a DataFrame (or a CSV/Parquet path) as a version of dataset ``name``. A
    Series is logged as a one-column frame named by the series' name (else ``value``).

    Returns the new version, or the existing one when the same content is already there
    (a warning says which). A DataFrame's index that carries data (a DatetimeIndex, a named
    index, integers other than 0..n-1) is kept as leading column(s), as ``reset_index()``
    names them (an unnamed one with a warning); drop it first with
    ``df.reset_index(drop=True)`` if it is not data. Raises InvalidInput with what is wrong
    with the data.
    """
    if isinstance(data, pd.Series):  # one column, named by the series (else "value")
        column = "value" if data.name is None else str(data.name)
        check_storable(column, f"The Series name {column!r}")
        data = data.to_frame(name=column)
    if not isinstance(data, pd.DataFrame | str | os.PathLike):
        raise InvalidInput(
            f"log_dataset takes a DataFrame, a Series or a CSV/Parquet path; "
            f"got {type(data).__name__}. Make a frame first, e.g. "
            "pd.DataFrame(data)."
        )
    source = data if isinstance(data, pd.DataFrame) else Path(data)
    unnamed = isinstance(data, pd.DataFrame) and all(n is None for n in data.index.names)
    if unnamed and index_carries_data(data):  # a named index is plainly data: kept quietly
        warnings.warn(
            "The DataFrame's unnamed index is not the row numbers 0..n-1, so it is kept as "
            "a column (named as df.reset_index() names it, usually 'index'). If it is not "
            "data, log df.reset_index(drop=True) instead.",
            stacklevel=2,
        )
    result = datasets.register(
        workspace(),
        source,
        name,
        message=message,
        tags=tags,
        source_kind="sdk" if isinstance(data, pd.DataFrame) else "path",
        encoding=encoding,
    )
    if not result.created or result.notes:
        warnings.warn(result.message, stacklevel=2)
    return result.version


def load_dataset(ref: str) -> pd.DataFrame:
    """The rows of ``"churn@v3"`` (or ``"churn"`` for the latest) as a DataFrame, with the
    values exactly as registered (decimals as ``decimal.Decimal``, nanoseconds kept, NaN
    apart from NULL); see :func:`workbench.datasets.versions.load`. The frame's
    ``attrs["workbench_ref"]``
    names the version read (``"churn@v3"``), so ``wb.autolog()`` can record it as the
    training data of a model fitted on the frame (or on columns selected from it)."""
    ws = workspace()
    version = datasets.get_version(ws, ref)
    frame = datasets.load(ws, version.ref)
    frame.attrs["workbench_ref"] = version.ref
    return frame


def list_dataset_versions(name: str) -> list[DatasetVersion]:
    """The versions of dataset ``name``, newest first."""
    return datasets.list_versions(workspace(), name)


def autolog(
    experiment: str = "autolog",
    *,
    eval_data: tuple[Any, Any] | None = None,
    log_models: bool = True,
    disable: bool = False,
) -> None:
    """Log every scikit-learn ``fit`` as a run: params, training score, metrics on
    ``eval_data`` (``(X_val, y_val)``), and the fitted model. ``disable=True`` stops it."""
    from workbench.tracking import autolog as _autolog

    if disable:
        _autolog.disable()
    else:
        _autolog.enable(experiment, eval_data, log_models)


# -- models ------------------------------------------------------------------------------------


def register_model(run_id: str, name: str, *, tags: Mapping[str, Any] | None = None):
    """Register the model a run logged (``model.joblib``) as the next version of ``name``."""
    from workbench.registry import models as registry

    return registry.register_model(workspace(), run_id, name, tags=dict(tags or {}))


def load_model(ref: str):
    """``"churn-classifier@champion"`` or ``"churn-classifier/3"``: the model, hash-checked;
    its ``predict`` enforces the signature."""
    from workbench.registry import models as registry

    return registry.load_model(workspace(), ref)


def set_alias(
    name: str, alias: str, version: int, *, reason: str = "", override: bool = False
) -> None:
    """Point ``alias`` at ``version`` (the move is kept with who, when and ``reason``).
    Moving an existing ``champion`` elsewhere skips the promotion gate: refused
    (InvalidInput) unless an admin passes ``override=True`` and a ``reason``; use
    :func:`promote` to go through the gate."""
    from workbench.registry import models as registry

    registry.set_alias(workspace(), name, alias, version, reason=reason, override=override)


def promote(
    name: str,
    dataset_ref: str,
    target: str,
    *,
    margin: float = 0.0,
    override: bool = False,
    reason: str = "",
):
    """Champion against challenger on ``dataset_ref``'s labels in ``target``, through the
    promotion gate: champion moves to the challenger only when every check passes (or an
    admin overrides it with a reason). Returns the ``Verdict``: ``.allowed``, ``.moved``,
    ``.checks`` and ``.reasons`` (the failing checks)."""
    from workbench.registry import promotion

    return promotion.promote(
        workspace(),
        name,
        dataset_ref,
        target,
        config=promotion.GateConfig(margin=margin),
        override=override,
        reason=reason,
    )


def predict(model_ref: str, dataset_ref: str, *, output: str | None = None) -> DatasetVersion:
    """Score a dataset version; the predictions become a new dataset version (lineage kept)."""
    from workbench.registry import models as registry

    return registry.score(workspace(), model_ref, dataset_ref, output=output).version
