"""Experiments and runs: the verbs the pages, the CLI and the SDK share."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from workbench.retry import write_retrying
from workbench.store import audit, history, runs_admin, tracking
from workbench.store import datasets as store_datasets
from workbench.store.entities import (
    RUN_KINDS,
    AuditEvent,
    Condition,
    Experiment,
    ExperimentSummary,
    Filter,
    OrderBy,
    Run,
    RunDetail,
    utcnow,
)
from workbench.store.errors import InvalidInput, NotFound
from workbench.store.gateway import Tx
from workbench.store.workspace import Workspace
from workbench.team.auth import requires
from workbench.tracking.query import check_keys, parse
from workbench.validation import check_key, check_name, check_tag_value

# The runs table's attribute columns; ``kind`` is run, sweep or trial (RUN_KINDS).
RUN_COLUMNS = [
    "run_id",
    "name",
    "experiment",
    "status",
    "started_at",
    "duration_s",
    "user",
    "kind",
]


@requires("editor")
def create_run(
    ws: Workspace,
    *,
    experiment: str,
    name: str | None,
    user: str,
    source: str = "sdk",
    parent_run_id: str | None = None,
    pid: int | None = None,
    host: str | None = None,
    queued: bool = False,
    kind: str = "run",
) -> tuple[Run, Experiment]:
    """Create a run in ``experiment`` (created if missing): ``running``, or with
    ``queued=True`` ``queued`` (a launched trial waiting for a worker; its worker's start
    event makes it running, started then). ``kind`` is stored with it (``RUN_KINDS``):
    ``run`` (the default: every run logged from code), ``sweep`` (a launched sweep's
    parent) or ``trial`` (one of its children, so ``parent_run_id`` is required). Raises
    InvalidInput for a bad name, an unknown kind or a trial without a parent."""
    check_name(experiment, "Experiment")
    if kind not in RUN_KINDS:
        raise InvalidInput(f"A run's kind is one of {', '.join(RUN_KINDS)}; got {kind!r}.")
    if kind == "trial" and parent_run_id is None:
        raise InvalidInput("A trial belongs to a sweep: give its parent_run_id.")
    run_id = uuid.uuid4().hex
    name = check_name(name, "Run") if name is not None else f"run-{run_id[:6]}"

    def work(tx: Tx) -> tuple[Run, Experiment]:
        exp = tracking.find_experiment(tx, experiment) or _insert_experiment(tx, experiment, user)
        status = "queued" if queued else "running"
        run = Run(
            run_id,
            exp.experiment_id,
            name,
            status,
            source,
            parent_run_id,
            user,
            host,
            pid,
            utcnow(),
            None,
            None,
            "active",
            kind,
        )
        tracking.insert_run(tx, run)
        audit.record(
            tx,
            actor=user,
            action="run.created",
            object_type="run",
            object_id=run_id,
            detail={"experiment": exp.name, "name": name}
            | ({"kind": kind} if kind != "run" else {}),
        )
        return run, exp

    # Another session may create the experiment between our read and insert: going again
    # finds it (see workbench.retry).
    return write_retrying(ws.store, work)


def _insert_experiment(tx: Tx, name: str, user: str) -> Experiment:
    exp = Experiment(uuid.uuid4().hex, name, "", "active", utcnow(), user)
    tracking.insert_experiment(tx, exp)
    audit.record(
        tx,
        actor=user,
        action="experiment.created",
        object_type="experiment",
        object_id=exp.experiment_id,
        detail={"name": name},
    )
    return exp


def list_experiments(ws: Workspace) -> list[ExperimentSummary]:
    """Every active experiment with the counts of its active runs (total, running, queued) and
    its latest run's start, the one with the latest run first, experiments without runs last
    (``workbench.store.entities.ExperimentSummary``). Empty when there is none."""
    return ws.store.read(tracking.list_experiments)


def get_experiment_by_name(ws: Workspace, name: str) -> Experiment:
    """The experiment named ``name`` (exact, case-sensitive). Raises NotFound naming up to ten
    known experiments."""

    def work(tx: Tx) -> Experiment:
        exp = tracking.find_experiment(tx, name)
        if exp is None:
            names = [s.experiment.name for s in tracking.list_experiments(tx)]
            more = f" and {len(names) - 10:,} more" if len(names) > 10 else ""
            known = ", ".join(names[:10]) + more or "none yet"
            raise NotFound(f"Experiment {name!r} not found; known experiments: {known}.")
        return exp

    return ws.store.read(work)


def search_runs(
    ws: Workspace,
    *,
    experiment_ids: Sequence[str] | None = None,
    conditions: Sequence[Condition] = (),
    order_by: Sequence[OrderBy] = (),
    limit: int | None = None,
    offset: int = 0,
    query: str | None = None,
    lifecycle: str = "active",
) -> list[Run]:
    """Runs matching ``conditions`` and the filter ``query`` (see app/tracking/query.py): all of
    them, or at most ``limit`` after ``offset`` (:func:`count_runs` says how many in all)."""
    return ws.store.read(
        lambda tx: tracking.search_runs(
            tx,
            experiment_ids=experiment_ids,
            conditions=conditions,
            order_by=order_by,
            limit=limit,
            offset=offset,
            lifecycle=lifecycle,
            where_filter=checked_filter(tx, query, experiment_ids),
        )
    )


def checked_filter(
    tx: Tx, query: str | None, experiment_ids: Sequence[str] | None = None
) -> Filter | None:
    """Parse a filter string and check its keys exist, in the caller's transaction (one
    round trip less than a read of its own). Raises InvalidInput."""
    tree = parse(query) if query else None
    if tree is not None:
        check_keys(tree, tracking.known_keys(tx, experiment_ids))
    return tree


def known_keys(ws: Workspace, experiment_ids: Sequence[str] | None = None) -> dict[str, list[str]]:
    """The metric, param and tag keys the runs have (for filters and column pickers)."""
    return ws.store.read(lambda tx: tracking.known_keys(tx, experiment_ids))


def count_runs(
    ws: Workspace,
    *,
    experiment_ids: Sequence[str] | None = None,
    query: str | None = None,
    lifecycle: str = "active",
) -> int:
    """How many runs match (what :func:`search_runs` returns without a limit)."""
    return ws.store.read(
        lambda tx: tracking.count_matching(
            tx,
            experiment_ids=experiment_ids,
            lifecycle=lifecycle,
            where_filter=checked_filter(tx, query, experiment_ids),
        )
    )


# -- bulk actions ------------------------------------------------------------------------------


@requires("editor")
def trash_runs(ws: Workspace, run_ids: Sequence[str], user: str) -> int:
    """Move runs to the trash (reversible with :func:`restore_runs`)."""
    return _set_lifecycle(ws, run_ids, "deleted", "run.trash", user)


@requires("editor")
def restore_runs(ws: Workspace, run_ids: Sequence[str], user: str) -> int:
    """Take runs out of the trash (undoes :func:`trash_runs`). ``run_ids``: run ids; ``user``:
    the actor recorded in the audit log. Returns how many of them are now active (unknown ids are
    not counted). Raises InvalidInput for an empty ``run_ids`` and PermissionDenied for a user
    below editor."""
    return _set_lifecycle(ws, run_ids, "active", "run.restore", user)


def _set_lifecycle(
    ws: Workspace, run_ids: Sequence[str], lifecycle: str, action: str, user: str
) -> int:
    ids = _checked_ids(run_ids)

    def work(tx: Tx) -> int:
        changed = runs_admin.set_lifecycle(tx, ids, lifecycle)
        audit.record(
            tx,
            actor=user,
            action=action,
            object_type="run",
            object_id=ids[0],
            detail={"runs": ids[:100], "count": len(ids)},
        )
        return changed

    return ws.store.write(work)


@requires("editor")
def tag_runs(ws: Workspace, run_ids: Sequence[str], key: str, value: str, user: str) -> int:
    """Set tag ``key`` to ``value`` on every run of ``run_ids`` (replacing an existing value), in
    one write, audited as ``run.tag``. Returns how many runs were tagged: an unknown id is
    skipped and not counted, as trash and restore count. Raises InvalidInput for an empty
    ``run_ids``, a bad key or value, and PermissionDenied for a user below editor."""
    ids = _checked_ids(run_ids)
    key, value = check_key(key, "Tag"), check_tag_value(key, value)

    def work(tx: Tx) -> int:
        tagged = runs_admin.upsert_tags(tx, ids, key, value)
        audit.record(
            tx,
            actor=user,
            action="run.tag",
            object_type="run",
            object_id=ids[0],
            detail={"runs": ids[:100], "count": tagged, key: value},
        )
        return tagged

    return ws.store.write(work)


@requires("admin")
def purge_runs(ws: Workspace, run_ids: Sequence[str], user: str) -> int:
    """Delete trashed runs for good, with their artifacts (blobs no other run names) and
    event logs. Runs not in the trash are refused: trash them first."""
    ids = _checked_ids(run_ids)
    folders = [ws.paths.run_dir(rid) for rid in ids]  # an id that is no folder name: refused

    def work(tx: Tx) -> list[str]:
        runs = {r.run_id: r for r in tracking.search_runs(tx, lifecycle="deleted")}
        active = [rid for rid in ids if rid not in runs]
        if active:
            raise InvalidInput(
                f"{len(active)} of the runs are not in the trash (e.g. "
                f"{active[0]}); trash them first, then purge."
            )
        blobs = runs_admin.delete_runs(tx, ids)
        audit.record(
            tx,
            actor=user,
            action="run.purge",
            object_type="run",
            object_id=ids[0],
            detail={"runs": ids[:100], "count": len(ids)},
        )
        return [b for b in blobs if not store_datasets.blob_referenced(tx, b)]

    orphans = ws.store.write(work)
    for sha in orphans:
        ws.blobs.remove(sha)
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
    return len(ids)


def _checked_ids(run_ids: Sequence[str]) -> list[str]:
    ids = [str(r) for r in run_ids]
    if not ids:
        raise InvalidInput("Select at least one run.")
    return ids


def runs_table(
    ws: Workspace,
    *,
    experiment_ids: Sequence[str] | None = None,
    conditions: Sequence[Condition] = (),
    order_by: Sequence[OrderBy] = (),
    limit: int | None = None,
    offset: int = 0,
    query: str | None = None,
    lifecycle: str = "active",
) -> pd.DataFrame:
    """One row per run: attributes, then ``params.<key>``, ``metrics.<key>`` (latest value)
    and ``tags.<key>`` columns, in search order: every matching run, or at most ``limit``
    after ``offset`` (:func:`runs_page` also says how many match in all). Params keep their
    Python types: an int param column holds Python ints, exact beyond 2**53."""
    return runs_page(
        ws,
        experiment_ids=experiment_ids,
        conditions=conditions,
        order_by=order_by,
        limit=limit,
        offset=offset,
        query=query,
        lifecycle=lifecycle,
    ).table


@dataclass(frozen=True)
class RunsPage:
    """A page of the runs table and how many runs match in all."""

    table: pd.DataFrame
    total: int
    offset: int = 0

    @property
    def cut(self) -> bool:
        """True when runs that match are not in the table (a limit or an offset left them
        out)."""
        return len(self.table) < self.total

    def note(self) -> str:
        """``"showing 50 of 1,005 runs"`` (or ``"runs 51-100 of 1,005"``); ``""`` when
        nothing is left out."""
        if not self.cut:
            return ""
        if self.offset:
            return f"runs {self.offset + 1:,}-{self.offset + len(self.table):,} of {self.total:,}"
        return f"showing {len(self.table):,} of {self.total:,} runs"


def runs_page(
    ws: Workspace,
    *,
    experiment_ids: Sequence[str] | None = None,
    conditions: Sequence[Condition] = (),
    order_by: Sequence[OrderBy] = (),
    limit: int | None = None,
    offset: int = 0,
    query: str | None = None,
    lifecycle: str = "active",
) -> RunsPage:
    """:func:`runs_table` with the number of matching runs, counted in the same read (so
    the count and the rows agree), for saying "showing 50 of 1,005"."""

    def work(tx: Tx) -> RunsPage:
        tree = checked_filter(tx, query, experiment_ids)
        runs = tracking.search_runs(
            tx,
            experiment_ids=experiment_ids,
            conditions=conditions,
            order_by=order_by,
            limit=limit,
            offset=offset,
            lifecycle=lifecycle,
            where_filter=tree,
        )
        if offset == 0 and (limit is None or len(runs) < limit):
            total = len(runs)  # nothing was left out: no need to count
        else:
            total = tracking.count_matching(
                tx,
                experiment_ids=experiment_ids,
                conditions=conditions,
                lifecycle=lifecycle,
                where_filter=tree,
            )
        wide = tracking.run_columns(tx, [r.run_id for r in runs])
        names = tracking.experiment_names(tx)
        return RunsPage(_runs_frame(runs, names, wide), total, offset)

    return ws.store.read(work)


def _runs_frame(
    runs: Sequence[Run], names: dict[str, str], wide: dict[str, dict[str, object]] | None = None
) -> pd.DataFrame:
    wide = wide or {}
    columns: dict[str, list | pd.Series] = {c: [] for c in RUN_COLUMNS}
    for r in runs:
        for col, value in zip(
            RUN_COLUMNS,
            (
                r.run_id,
                r.name,
                names.get(r.experiment_id, ""),
                r.status,
                r.started_at,
                r.duration_s,
                r.created_by,
                r.kind,
            ),
            strict=True,
        ):
            columns[col].append(value)
    order = {"metrics": 0, "params": 1, "tags": 2}  # metrics first: what a reader compares
    extra = sorted(
        {c for cols in wide.values() for c in cols}, key=lambda c: (order[c.split(".", 1)[0]], c)
    )
    for col in extra:
        # Metrics are floats; params keep their Python types, and a column may mix them.
        dtype = "float64" if col.startswith("metrics.") else object
        columns[col] = pd.Series([wide[r.run_id].get(col) for r in runs], dtype=dtype)
    return pd.DataFrame(columns)


def get_run(ws: Workspace, run_id: str) -> RunDetail:
    """Everything about one run. Raises :class:`NotFound`."""

    def work(tx: Tx) -> RunDetail:
        run = tracking.get_run(tx, run_id)
        exp = tracking.get_experiment(tx, run.experiment_id)
        return RunDetail(
            run=run,
            experiment_name=exp.name,
            params=tracking.run_params(tx, run_id),
            tags=tracking.run_tags(tx, run_id),
            metrics={m.key: m for m in tracking.metric_summary_list(tx, run_id)},
            artifacts=tuple(tracking.artifacts_of(tx, run_id)),
        )

    return ws.store.read(work)


def can_run_again(run: Run) -> bool:
    """Whether ``workbench.training.runner.run_again`` can repeat ``run``: one the launcher
    made (source ``ui``) that trained a model, a single run or a sweep's trial. A sweep's
    parent (kind ``sweep``) trains nothing and has no launch spec; a run logged from code
    has none either."""
    return run.source == "ui" and run.kind != "sweep"


def metric_history(
    ws: Workspace, run_ids: Sequence[str], keys: Sequence[str] | None = None
) -> pd.DataFrame:
    """Long table run_id, key, step, ts_ms, value of every point, in step order."""
    return ws.store.read(lambda tx: tracking.metric_history(tx, list(run_ids), keys))


def curves(
    ws: Workspace,
    run_ids: Sequence[str],
    keys: Sequence[str] | None = None,
    *,
    max_points: int = 200,
    steps: tuple[int, int] | None = None,
) -> pd.DataFrame:
    """Histories for charts, downsampled with each bucket's min and max kept."""
    return ws.store.read(
        lambda tx: history.downsampled(tx, list(run_ids), keys, max_points=max_points, steps=steps)
    )


def evaluations(ws: Workspace, run_ids: Sequence[str]) -> dict[str, dict]:
    """Each launched run's evaluation data (confusion matrix, curves, importances); the record
    ``heldout`` (where its held-out predictions are kept: ``workbench.training.evaluation``) is
    no chart and is left out."""

    def work(tx: Tx) -> dict[str, dict]:
        out = {}
        for rid in run_ids:
            records = runs_admin.run_records(tx, rid, "evaluation")
            charts = [data for (_, name), data in records.items() if name != "heldout"]
            if charts:
                out[rid] = charts[0]
        return out

    return ws.store.read(work)


@dataclass(frozen=True)
class WorkspaceSummary:
    """The Home page's figures, read in one transaction by :func:`workspace_summary`.

    ``experiments``: active experiments; ``runs_by_status``: ``{status: active runs}`` (absent
    statuses left out); ``recent_runs``: the newest active runs, columns ``RUN_COLUMNS``
    (``run_id``, ``name``, ``experiment``, ``status``, ``started_at``, ``duration_s`` in seconds,
    ``user``, ``kind``); ``recent_activity``: the newest audit events, newest first;
    ``datasets``: active datasets; ``dataset_versions``: versions of every dataset;
    ``flagged_versions``: versions that failed their contract check; ``activity_total``: audit
    events in all.
    """

    experiments: int
    runs_by_status: dict[str, int]
    recent_runs: pd.DataFrame
    recent_activity: list[AuditEvent]
    datasets: int = 0
    dataset_versions: int = 0
    flagged_versions: int = 0
    activity_total: int = 0  # audit events in all; recent_activity holds the newest

    @property
    def runs(self) -> int:
        """Active runs in all, whatever their status."""
        return sum(self.runs_by_status.values())

    @property
    def failed_or_lost(self) -> int:
        """Active runs that ended without finishing: failed, killed or lost."""
        return sum(self.runs_by_status.get(s, 0) for s in ("failed", "killed", "lost"))


def workspace_summary(ws: Workspace, recent: int = 10) -> WorkspaceSummary:
    """The Home page's :class:`WorkspaceSummary`, with the ``recent`` newest runs and audit
    events (default 10). Reads only; raises StoreBusy when the database stays locked."""

    def work(tx: Tx) -> WorkspaceSummary:
        experiments = tracking.list_experiments(tx)
        names = {s.experiment.experiment_id: s.experiment.name for s in experiments}
        runs = tracking.search_runs(tx, limit=recent)
        table = _runs_frame(runs, names)
        n_datasets, n_versions, n_flagged = store_datasets.version_counts(tx)
        return WorkspaceSummary(
            len(experiments),
            tracking.count_runs(tx),
            table,
            audit.recent(tx, recent),
            n_datasets,
            n_versions,
            n_flagged,
            audit.count(tx),
        )

    return ws.store.read(work)
