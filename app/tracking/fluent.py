"""The fluent run logger: the active run of this process and the calls that log to it
(MLflow's fluent API: ``start_run``, ``log_param``, ``log_metric`` ...).

:class:`ActiveRun` appends every call to the run's event log (``workbench.tracking.events``)
and a background beat ingests it into the database. The notebook facade ``workbench.sdk``
(``import workbench as wb``) re-exports these names; services that log runs (the training
runner, autologging) import them from here, never from the facade.
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

from workbench.settings import Settings
from workbench.store.entities import DatasetVersion, ParamValue
from workbench.store.errors import InvalidInput, WorkbenchError
from workbench.store.gateway import polite
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
    check_tag_value,
)
from workbench.workspaces import open_workspace

MAX_ERROR = 8000  # characters of a failed run's error text that are kept

_workspace_path: Path | None = None
_active: list[ActiveRun] = []
_active_lock = threading.Lock()


def set_workspace(path: str | os.PathLike | None) -> Workspace:
    """Use the workspace at ``path`` for this process; None goes back to the default
    (``workbench.settings.workspace_path``: $WORKBENCH_WORKSPACE, else the nearest
    ``workspace/`` with a database in this folder or a parent, else ./workspace). Creates it
    if missing; returns it."""
    global _workspace_path
    _workspace_path = Path(path) if path is not None else None
    return open_workspace(_workspace_path)


def workspace() -> Workspace:
    """The workspace this process logs to (``.root`` is its folder): the one
    :func:`set_workspace` chose, else $WORKBENCH_WORKSPACE, else the nearest ``workspace/``
    with a database in this folder or a parent (a notebook in a subfolder of the project logs
    where the app reads), else ./workspace; created and upgraded on first use. Raises
    InvalidInput or SchemaOutOfDate as ``workbench.workspaces.open_workspace`` does."""
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
        self.input_roles: set[str] = set()  # the roles of the inputs logged (log_input)
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
        """Log one hyperparameter; see :meth:`log_params` (same checks, same errors)."""
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
        """Log one metric value at ``step``; see :meth:`log_metrics` (same checks, same errors)."""
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
        """Set one tag; see :meth:`set_tags` (same checks, same errors)."""
        self.set_tags({key: value})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Set tags on the run: ``{key: value}``, a value being text or an int, float or bool
        (stored as its ``str``), at most 8,000 characters. Unlike a param, a tag may be set
        again: the last value wins. Raises InvalidInput for a bad key or value, a non-dict, or a
        run that has ended."""
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

    def log_input(
        self,
        dataset: DatasetVersion | str,
        role: str = "train",
        *,
        context: str | None = None,
    ) -> DatasetVersion:
        """Record that the run read a dataset version (lineage, MLflow's ``log_input``):
        ``dataset`` is a :class:`DatasetVersion` (``wb.log_dataset`` returns one) or a
        reference as every other call takes it (``"churn@v3"``, ``"churn"`` for the latest),
        resolved by ``workbench.datasets.versions.get_version``. ``role`` is what the run used
        it for (MLflow calls it ``context``; ``context=`` is accepted as its other name):
        ``"train"``, ``"eval"``, or any other key. Registering the run's model takes its
        training dataset from the input with role ``"train"`` (else from the only input).
        Logging a role again replaces that role's input. Returns the version recorded.

        Raises NotFound for a reference to no dataset version (naming what exists),
        InvalidInput for anything else than a version or a reference, for an empty or bad
        role, for ``role`` and ``context`` that disagree, or for a run that has ended."""
        if context is not None:
            if role not in ("train", context):  # the default, or the same role twice
                raise InvalidInput(
                    f"log_input: role {role!r} and context {context!r} name the same thing; "
                    "pass one of them."
                )
            role = context
        self._ensure_running()
        if not isinstance(role, str) or not role.strip():
            raise InvalidInput(
                f"log_input: the role is text such as 'train' or 'eval'; got {role!r}."
            )
        version = _dataset_version(self._ws, dataset)
        self.log_record(
            "input",
            role,
            {
                "dataset": version.dataset_name,
                "version": version.version,
                "fingerprint": version.fingerprint,
            },
        )
        self.input_roles = self.input_roles | {role}
        return version

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


def _dataset_version(ws: Workspace, dataset: Any) -> DatasetVersion:
    """``dataset`` as a :class:`DatasetVersion`: itself, or the version a reference text
    names (``"churn@v3"``; ``workbench.datasets.versions.get_version``, which raises NotFound
    or InvalidInput for a bad reference). Raises InvalidInput for any other type."""
    if isinstance(dataset, DatasetVersion):
        return dataset
    if isinstance(dataset, str):
        from workbench.datasets import versions as datasets

        return datasets.get_version(ws, dataset)
    raise InvalidInput(
        "log_input takes a dataset version (what wb.log_dataset returns) or a reference "
        f"such as 'churn@v3'; got {type(dataset).__name__}."
    )


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
    """The run this process started last and has not ended (the innermost of nested ``start_run``
    blocks), or None."""
    with _active_lock:
        return _active[-1] if _active else None


def _require_active() -> ActiveRun:
    run = active_run()
    if run is None:
        raise InvalidInput("No active run; call wb.start_run(...) first.")
    return run


def end_run(status: str = "finished") -> None:
    """End the active run with ``status`` (``finished``, ``failed`` or ``killed``) and ingest its
    events; see :meth:`ActiveRun.end`. Raises InvalidInput when no run is active in this process
    or for another status."""
    _require_active().end(status)


def log_param(key: str, value: Any) -> None:
    """Log one param into the active run (:meth:`ActiveRun.log_params`). Raises InvalidInput when
    no run is active in this process, for a bad key or value, or a key already logged with
    another value."""
    _require_active().log_param(key, value)


def log_params(params: Mapping[str, Any]) -> None:
    """Log params ``{key: value}`` into the active run (:meth:`ActiveRun.log_params`). Raises
    InvalidInput when no run is active in this process, for a bad key or value, or a key already
    logged with another value."""
    _require_active().log_params(params)


def log_metric(key: str, value: float, step: int | None = None) -> None:
    """Log one metric value into the active run at ``step`` (default: one past that key's last
    step; :meth:`ActiveRun.log_metrics`). Raises InvalidInput when no run is active in this
    process or for a bad key, value or step."""
    _require_active().log_metric(key, value, step)


def log_metrics(metrics: Mapping[str, float], step: int | None = None) -> None:
    """Log metrics ``{key: value}`` into the active run at ``step``
    (:meth:`ActiveRun.log_metrics`). Raises InvalidInput when no run is active in this process or
    for a bad key, value or step."""
    _require_active().log_metrics(metrics, step)


def set_tag(key: str, value: Any) -> None:
    """Set one tag on the active run (:meth:`ActiveRun.set_tags`). Raises InvalidInput when no
    run is active in this process or for a bad key or value."""
    _require_active().set_tag(key, value)


def set_tags(tags: Mapping[str, Any]) -> None:
    """Set tags ``{key: value}`` on the active run (:meth:`ActiveRun.set_tags`). Raises
    InvalidInput when no run is active in this process or for a bad key or value."""
    _require_active().set_tags(tags)


def log_artifact(local_path: str | os.PathLike, name: str | None = None) -> str:
    """Store the file ``local_path`` as an artifact of the active run, named ``name`` (default:
    the file's name); returns its sha256 (:meth:`ActiveRun.log_artifact`). Raises InvalidInput
    when no run is active in this process, for a path that is no file or a bad name."""
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
