"""``workbench import-mlflow URI``: experiments, runs, params, metrics (every point, with its
step and timestamp) and tags from an MLflow tracking store's SQLite database.

The MLflow database is opened read-only with Python's sqlite3; MLflow itself is not
needed. Runs keep their MLflow run ids, so importing the same store again adds only runs
that are new. MLflow stores params as text: they are read back as int, float, bool or
None where the text is exactly such a value and prints back the same ("8" -> 8, "0.1" ->
0.1, "True" -> True, "None" -> None; "007" and "12345678901234567.891" stay text), so
numeric filters work on them and no digit is lost. Artifacts stay where MLflow put them;
their location is kept as the tag ``mlflow.artifact_uri``. Keys the workbench does not
accept are skipped and counted.
"""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from workbench.store import audit, ingestion, mlflow_source, tracking
from workbench.store.entities import Experiment, ParamValue, Run, utcnow
from workbench.store.errors import InvalidInput
from workbench.store.ingestion import IngestBatch
from workbench.store.workspace import Workspace
from workbench.team.auth import requires
from workbench.validation import check_key, check_name, visible_name

_INT64 = (-(2**63), 2**63 - 1)  # a param's int is 64-bit
STATUS = {
    "FINISHED": "finished",
    "FAILED": "failed",
    "KILLED": "killed",
    "RUNNING": "lost",
    "SCHEDULED": "lost",
}
BATCH_RUNS = 200


@dataclass
class ImportReport:
    """What one :func:`import_store` did, counted as it goes.

    ``experiments``: MLflow experiments that had runs to import (created here, or found by name);
    ``runs``: runs imported; ``skipped_runs``: runs already in the workspace (same run id, active
    or in the trash); ``params`` / ``tags``: values imported; ``metric_points``: metric points
    imported; ``skipped_keys``: param, metric or tag keys the workbench does not accept (their
    values were left out); ``skipped_points``: metric points whose value, timestamp or step is
    not a number (or past int64); ``bad_run_ids``: runs whose id is not MLflow's 32 hex digits
    (left out); ``unreadable_times``: run start or end times that could not be read (taken as
    unknown).
    """

    experiments: int = 0
    runs: int = 0
    skipped_runs: int = 0
    params: int = 0
    metric_points: int = 0
    tags: int = 0
    skipped_keys: set[str] = field(default_factory=set)
    skipped_points: int = 0
    bad_run_ids: int = 0
    unreadable_times: int = 0

    def summary(self) -> str:
        """One line for the CLI: ``"imported 12 runs (3 already here) in 2 experiments: ..."``,
        followed by what was skipped (at most ten skipped keys, written out so hidden characters
        show)."""
        text = (
            f"imported {self.runs} runs ({self.skipped_runs} already here) in "
            f"{self.experiments} experiments: {self.params} params, "
            f"{self.metric_points:,} metric points, {self.tags} tags"
        )
        if self.skipped_keys:  # written out: a key may hold a bidi override or a newline
            keys = sorted(visible_name(k) for k in self.skipped_keys)
            text += f"; skipped keys: {', '.join(keys[:10])}"
        if self.skipped_points:
            text += (
                f"; skipped {self.skipped_points:,} metric points whose value, time or step "
                "is not a number"
            )
        if self.bad_run_ids:
            text += f"; skipped {self.bad_run_ids} runs whose id is not MLflow's 32 hex digits"
        if self.unreadable_times:
            text += f"; {self.unreadable_times} run times unreadable, taken as unknown"
        return text


def database_path(uri: str) -> Path:
    """The SQLite file of ``sqlite:///path`` (or a plain path). Raises InvalidInput."""
    raw = uri.removeprefix("sqlite:///") if uri.startswith("sqlite:///") else uri
    if "://" in raw:
        raise InvalidInput(
            f"Only MLflow's SQLite store can be imported; got {uri!r}. Pass "
            "sqlite:///path/to/mlflow.db or the file's path."
        )
    path = Path(raw).expanduser()
    if not path.is_file():
        raise InvalidInput(
            f"No MLflow database at {path}; pass the mlflow.db file that "
            "`mlflow server --backend-store-uri sqlite:///...` uses."
        )
    return path


@requires("editor")
def import_store(ws: Workspace, uri: str, user: str) -> ImportReport:
    """Import experiments, runs, params, metrics (every point, with its step and timestamp) and
    tags from the MLflow SQLite store ``uri`` (``sqlite:///path/mlflow.db`` or a path), keeping
    MLflow's run ids so a second import adds only new runs; statuses map as in ``STATUS`` (an
    MLflow run still RUNNING or SCHEDULED becomes ``lost``; a run deleted in MLflow lands in the
    trash). Runs are written ``BATCH_RUNS`` (200) per transaction, so an interrupted import keeps
    the batches done. ``user``: the actor recorded (one ``mlflow.import`` audit event). Returns
    the :class:`ImportReport`. Raises InvalidInput for a URI that is not a SQLite file, a
    database that cannot be read to the end (runs imported before that stay), or an experiment
    name the workbench refuses (every name is checked before anything is written: then
    nothing is imported); PermissionDenied for a user below editor."""
    path = database_path(uri)
    report = ImportReport()
    with mlflow_source.open_source(path) as source:
        try:
            _import_all(ws, source, user, report)
        except mlflow_source.SourceUnreadable as exc:
            raise InvalidInput(
                f"{path} could not be read to the end ({exc}). {report.runs} runs were "
                "imported before that; repair the database (sqlite3 .recover) and import "
                "again: runs already here are skipped."
            ) from exc
    ws.store.write(
        lambda tx: audit.record(
            tx,
            actor=user,
            action="mlflow.import",
            object_type="workspace",
            object_id=str(path),
            detail={"runs": report.runs, "points": report.metric_points},
        )
    )
    return report


def _import_all(
    ws: Workspace, source: mlflow_source.MlflowSource, user: str, report: ImportReport
) -> None:
    """Every experiment of ``source`` with runs not here yet, in batches of BATCH_RUNS runs
    (one transaction each); counts into ``report``. SourceUnreadable propagates."""
    experiments = source.experiments()
    existing = set(
        ws.store.read(
            lambda tx: (
                [r.run_id for r in tracking.search_runs(tx, limit=10_000_000)]
                + [
                    r.run_id
                    for r in tracking.search_runs(tx, limit=10_000_000, lifecycle="deleted")
                ]
            )
        )
    )
    # Every experiment's name is checked before anything is written: a name the workbench
    # refuses stops the import with the workspace as it was, not halfway through.
    todo: list[tuple[str, object, list]] = []
    refused: list[str] = []
    for exp_id, name, created in experiments:
        new = []
        for row in source.runs(exp_id):
            run_id = _run_id(row[0])
            if run_id is None:  # '../../x' would name a folder outside the workspace
                report.bad_run_ids += 1
            elif run_id in existing:  # imported before, or 'ab-c' and 'abc' in one store
                report.skipped_runs += 1
            else:
                existing.add(run_id)
                new.append(row)
        if not new:
            continue
        try:  # a name from MLflow is kept, with what would hide in it written out
            todo.append(
                (check_name(visible_name(mlflow_source.text(name)), "Experiment"), created, new)
            )
        except InvalidInput as exc:
            refused.append(f"MLflow experiment {exp_id}: {exc}")
    if refused:
        raise InvalidInput(
            "Nothing was imported: "
            + " ".join(refused)
            + " Rename it in MLflow (`mlflow experiments rename --experiment-id ID "
            "--new-name NAME`) and import again."
        )
    for name, created, new in todo:
        experiment = _experiment(ws, name, user, created)
        report.experiments += 1
        for start in range(0, len(new), BATCH_RUNS):
            _import_runs(ws, source, experiment, new[start : start + BATCH_RUNS], report)


def _experiment(ws: Workspace, name: str, user: str, created_ms: object) -> Experiment:
    def work(tx) -> Experiment:
        found = tracking.find_experiment(tx, name)
        if found is not None:
            return found
        exp = Experiment(
            uuid.uuid4().hex,
            name,
            "imported from MLflow",
            "active",
            _time(created_ms, None) or utcnow(),
            user,
        )
        tracking.insert_experiment(tx, exp)
        return exp

    return ws.store.write(work)


def _import_runs(
    ws: Workspace,
    source: mlflow_source.MlflowSource,
    exp: Experiment,
    rows: list,
    report: ImportReport,
) -> None:
    ids = [r[0] for r in rows]
    params, tags, points = source.params(ids), source.tags(ids), source.metrics(ids)
    runs, batches = [], []
    for run_uuid, name, user_id, status, start, end, stage, artifact_uri in rows:
        run_id = _run_id(run_uuid) or ""  # the caller passes only runs with an id
        name, user_id, status, stage, artifact_uri = map(
            mlflow_source.text, (name, user_id, status, stage, artifact_uri)
        )
        run_tags = dict((k, v) for k, v in tags.get(run_uuid, []))
        label = visible_name(name or run_tags.get("mlflow.runName") or f"run-{run_id[:6]}")
        ours = STATUS.get(status, "lost")
        runs.append(
            Run(
                run_id,
                exp.experiment_id,
                label,
                ours,
                "mlflow",
                None,
                user_id or "",
                None,
                None,
                _time(start, report) or utcnow(),
                _time(end, report) or (utcnow() if ours == "lost" else None),
                "imported while running" if ours == "lost" else None,
                "deleted" if stage == "deleted" else "active",
            )
        )
        batch = IngestBatch(run_id, 0, 0)
        batch.params = [(k, _typed(v)) for k, v in _valid(params.get(run_uuid, []), report)]
        run_tags["mlflow.artifact_uri"] = artifact_uri or ""
        batch.tags = list(_valid(list(run_tags.items()), report))
        for seq, (key, value, ts, step, is_nan) in enumerate(points.get(run_uuid, []), 1):
            if key in report.skipped_keys or not _ok(key):
                report.skipped_keys.add(key)
                continue
            try:  # SQLite keeps any value in any column: 'abc' in a REAL one
                number = math.nan if is_nan else float(value)
                point = (int(ts), int(step or 0))
            except (TypeError, ValueError, OverflowError):
                point = None
            if point is None or not all(_INT64[0] <= n <= _INT64[1] for n in point):
                report.skipped_points += 1  # a step or time past int64 is no number here
                continue
            batch.metric_key.append(key)
            batch.metric_value.append(number)
            batch.metric_ts.append(point[0])
            batch.metric_step.append(point[1])
            batch.metric_seq.append(seq)
        report.params += len(batch.params)
        report.tags += len(batch.tags)
        report.metric_points += batch.n_metric_points
        batches.append(batch)

    def work(tx) -> None:
        for run in runs:
            tracking.insert_run(tx, run)
        ingestion.apply_ingest(tx, batches, utcnow())

    ws.store.write(work)
    report.runs += len(runs)


def _run_id(run_uuid: object) -> str | None:
    """The workbench id of an MLflow run_uuid: its 32 hex digits (MLflow's uuid4 hex,
    '-' removed), or None for any other value, which is no run id (and may be a path)."""
    if not isinstance(run_uuid, str):
        return None
    run_id = run_uuid.replace("-", "")
    return run_id if re.fullmatch(r"[0-9a-f]{32}", run_id) else None


def _valid(pairs: list[tuple], report: ImportReport) -> list[tuple]:
    out = []
    for key, value in pairs:
        if _ok(key):
            out.append((key, value))
        else:
            report.skipped_keys.add(key)
    return out


def _ok(key: str) -> bool:
    try:
        check_key(key, "Key")
    except InvalidInput:
        return False
    return True


def _typed(text: str | None) -> ParamValue:
    """An MLflow param's text as the value it spells, only when that value prints back as
    the same text (so nothing is rounded or reformatted): ``"8"`` -> 8,
    ``"1152921504606846977"`` -> that int exactly, ``"0.1"`` -> 0.1, ``"True"`` -> True,
    ``"None"`` -> None. Text that would change stays text: ``"007"``, ``"1e-5"`` (Python
    prints 1e-05), ``"12345678901234567.891"`` (no double holds it) and integers beyond
    64 bits (params are int64)."""
    if text is None or text == "None":
        return None
    if text in ("True", "False", "true", "false"):
        return text.lower() == "true"
    if re.fullmatch(r"-?[0-9]{1,19}", text):
        number = int(text)
        return number if str(number) == text and _INT64[0] <= number <= _INT64[1] else text
    try:
        number = float(text)
    except ValueError:
        return text[:6000]
    return number if repr(number) == text else text[:6000]


def _time(ms: object, report: ImportReport | None) -> datetime | None:
    """Milliseconds since the epoch as a naive UTC datetime; None for NULL (unknown) and
    for a value that is no such time ('x', a year past 9999, NaN), counted in ``report``
    when given."""
    if ms is None:
        return None
    try:
        if isinstance(ms, (int, float)) and not isinstance(ms, bool):
            return datetime.fromtimestamp(ms / 1000, UTC).replace(tzinfo=None)
    except (ValueError, OverflowError, OSError):
        pass
    if report is not None:
        report.unreadable_times += 1
    return None
