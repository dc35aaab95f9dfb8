"""Moving run event logs into the database, and marking abandoned runs lost.

``sync`` is what the app's file watcher, ``workbench sync`` and a run's own end call. It
applies every run's new events in one transaction (the cursor moves with the rows, so it
is exactly-once), which is what makes batched ingestion fast.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from workbench.store import audit, ingestion, tracking
from workbench.store.entities import UNENDED_STATUSES, Run, utcnow
from workbench.store.gateway import Tx
from workbench.store.workspace import Workspace
from workbench.tracking.events import EVENTS_FILE, MAX_BATCH_BYTES, heartbeat_age, read_batch


@dataclass(frozen=True)
class SyncResult:
    """What one :func:`sync` applied: ``runs`` with new events, ``events`` (counted by
    sequence numbers, damaged lines skipped included), metric ``points``. ``lost`` is
    always empty from :func:`sync`; :func:`reap_lost_runs` marks lost runs."""

    runs: int
    events: int
    points: int
    lost: tuple[str, ...] = ()


# One ingestion at a time per process. Across processes the database file lock already
# serializes them; within one, two overlapping syncs of the same run (a run's heartbeat
# thread still waiting for the lock while its end() syncs) would insert the same rows in
# two open transactions, and DuckDB reports the uncommitted twin as a duplicate key.
_sync_lock = threading.Lock()


def sync(ws: Workspace, run_ids: Iterable[str] | None = None) -> SyncResult:
    """Ingest new events of the given runs (default: every folder under ``runs/``); runs
    without a database row or without new complete lines are skipped. Each round applies
    up to ``MAX_BATCH_BYTES`` (64 MiB) of logs in one transaction, cursors included, so it
    is safe to repeat or interrupt. One sync at a time per process. InvalidInput for a run
    id that is not a plain folder name; StoreBusy when the database stays locked."""
    with _sync_lock:
        return _sync(ws, run_ids)


def _sync(ws: Workspace, run_ids: Iterable[str] | None) -> SyncResult:
    ids = sorted(set(run_ids) if run_ids is not None else _run_dirs(ws))
    sizes = {rid: _log_size(ws, rid) for rid in ids}
    ids = [rid for rid in ids if sizes[rid] > 0]
    runs = events = points = 0
    while ids:
        done = ws.store.write(lambda tx, todo=ids: _ingest_round(ws, tx, todo, sizes))
        if not done:
            break
        runs += len({b.run_id for b, _ in done})
        events += sum(n for _, n in done)
        points += sum(b.n_metric_points for b, _ in done)
        # Runs whose log was cut at the batch limit have more to read; only they go again.
        ids = [b.run_id for b, _ in done if sizes[b.run_id] > b.new_offset]
    return SyncResult(runs=runs, events=events, points=points)


def _ingest_round(ws: Workspace, tx: Tx, ids: list[str], sizes: dict[str, int]) -> list:
    states = ingestion.ingest_states(tx, ids)
    done, budget = [], MAX_BATCH_BYTES
    for rid in ids:
        state = states.get(rid)
        if state is None or sizes[rid] <= state.byte_offset or budget <= 0:
            continue  # a folder with no run row, nothing new, or enough for one round
        batch = read_batch(
            rid, ws.paths.run_dir(rid) / EVENTS_FILE, state.byte_offset, state.last_seq
        )
        if batch is None or batch.new_offset == state.byte_offset:
            continue
        budget -= batch.new_offset - state.byte_offset
        done.append((batch, batch.last_seq - state.last_seq))
    batches = [b for b, _ in done]
    ingestion.apply_ingest(tx, batches, utcnow())
    ended = [b for b in batches if b.end is not None]
    owners = ingestion.run_owners(tx, [b.run_id for b in ended])  # the run's user ended it
    audit.record_many(
        tx,
        [
            dict(
                actor=owners.get(b.run_id, "workbench"),
                action="run.ended",
                object_type="run",
                object_id=b.run_id,
                detail={"status": b.end[0]},
            )
            for b in ended
        ],
    )
    return done


def reap_lost_runs(ws: Workspace, heartbeat_timeout: float) -> list[str]:
    """Mark runs lost, running or queued, whose process is gone (same host) or whose
    heartbeat is older than ``heartbeat_timeout`` seconds. A queued trial's process is its
    launcher, which beats for it while it waits. Their logged events are ingested first
    (a start or an end may be among them)."""
    unended = ws.store.read(tracking.unended_runs)
    verdicts = {run.run_id: _lost_reason(ws, run, heartbeat_timeout) for run in unended}
    lost = {rid: why for rid, why in verdicts.items() if why}
    if not lost:
        return []
    sync(ws, lost)  # the log may hold the run's own end event

    was = {run.run_id: run.status for run in unended}

    def work(tx: Tx) -> list[str]:
        marked = []
        for run_id, why in lost.items():
            run = tracking.get_run(tx, run_id)
            if run.status not in UNENDED_STATUSES:
                continue
            if run.status != was[run_id]:  # its log said it started: judge it as running
                why = _lost_reason(ws, run, heartbeat_timeout)
                if why is None:
                    continue
            tracking.finish_run(tx, run_id, "lost", why, utcnow())
            audit.record(
                tx,
                actor="workbench",
                action="run.lost",
                object_type="run",
                object_id=run_id,
                detail={"reason": why},
            )
            marked.append(run_id)
        return marked

    return ws.store.write(work)


def live_runs(ws: Workspace, heartbeat_timeout: float) -> list[Run]:
    """Runs queued or running that are not lost by :func:`reap_lost_runs`'s rule: their
    process is alive (same host) and their heartbeat is at most ``heartbeat_timeout``
    seconds old."""
    unended = ws.store.read(tracking.unended_runs)
    return [run for run in unended if _lost_reason(ws, run, heartbeat_timeout) is None]


def _lost_reason(ws: Workspace, run: Run, timeout: float) -> str | None:
    queued = run.status == "queued"
    if run.pid and run.host == socket.gethostname() and not pid_alive(run.pid):
        if queued:
            return (
                f"Queued, and the process that launched it (PID {run.pid} on {run.host}) "
                "ended before it started."
            )
        return f"The process (PID {run.pid} on {run.host}) ended without ending the run."
    age = heartbeat_age(ws.paths.run_dir(run.run_id))
    if age is None:
        age = (utcnow() - run.started_at).total_seconds()
    if age > timeout:
        waiting = "Queued, and no" if queued else "No"
        return f"{waiting} heartbeat for {age:.0f} s (timeout {timeout:.0f} s)."
    return None


def pid_alive(pid: int) -> bool:
    """True if a process with this PID exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            state = fh.read().rsplit(b")", 1)[1].split()[0]
        return state not in (b"Z", b"X")
    except (FileNotFoundError, IndexError):
        return os.path.exists(f"/proc/{pid}") or not os.path.isdir("/proc")


def _run_dirs(ws: Workspace) -> list[str]:
    try:
        return [e.name for e in os.scandir(ws.paths.runs) if e.is_dir()]
    except FileNotFoundError:
        return []


def _log_size(ws: Workspace, run_id: str) -> int:
    try:
        return (ws.paths.run_dir(run_id) / EVENTS_FILE).stat().st_size
    except FileNotFoundError:
        return 0
