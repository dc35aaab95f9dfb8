"""SQL that applies runs' logged events: params, tags, metric points and summaries,
artifacts, records, the start of a queued run, the end of a run, and each run's ingestion
cursor, in one transaction per batch of runs (so each event is applied exactly once,
however often ingestion is repeated or interrupted). The event log format is
:mod:`workbench.tracking.events`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import pyarrow as pa

from workbench.store.entities import IngestState, ParamValue
from workbench.store.errors import NotFound
from workbench.store.gateway import Tx
from workbench.store.tracking import encode_param


@dataclass
class IngestBatch:
    """Everything parsed from one stretch of a run's event log, ready to apply at once."""

    run_id: str
    new_offset: int
    last_seq: int
    params: list[tuple[str, ParamValue]] = field(default_factory=list)
    tags: list[tuple[str, str]] = field(default_factory=list)
    metric_key: list[str] = field(default_factory=list)
    metric_step: list[int] = field(default_factory=list)
    metric_ts: list[int] = field(default_factory=list)
    metric_value: list[float] = field(default_factory=list)
    metric_seq: list[int] = field(default_factory=list)
    artifacts: list[tuple[str, str, int, datetime]] = field(default_factory=list)
    records: list[tuple[str, str, str]] = field(default_factory=list)  # kind, name, JSON
    start: datetime | None = None  # a queued run's worker started it then
    end: tuple[str, str | None, datetime] | None = None

    @property
    def n_metric_points(self) -> int:
        """How many metric points the batch holds."""
        return len(self.metric_value)


def get_ingest_state(tx: Tx, run_id: str) -> IngestState:
    """The run's ingestion cursor: how many bytes of its event log (``byte_offset``) and
    which event sequence number (``last_seq``) are applied. NotFound when the run has no
    row in the database."""
    row = tx.record(
        "SELECT run_id, byte_offset, last_seq FROM run_ingest WHERE run_id = ?", [run_id]
    )
    if row is None:
        raise NotFound(f"Run {run_id!r} is not in the workspace database.")
    return IngestState(**row)


def apply_ingest(tx: Tx, batches: Sequence[IngestBatch], now: datetime) -> None:
    """Write batches of several runs and move their ingestion cursors, in the caller's
    transaction, with one statement per table whatever the number of runs.

    Because the cursors move in the same transaction as the rows, each event is applied
    exactly once however often ingestion is repeated or interrupted.
    """
    if not batches:
        return
    _ingest_params(tx, batches)
    _ingest_tags(tx, batches)
    if any(b.metric_value for b in batches):
        _ingest_metrics(tx, batches)
    arts = [(b.run_id, *a) for b in batches for a in b.artifacts]
    if arts:
        frame = pa.table(
            {
                "run_id": [a[0] for a in arts],
                "path": [a[1] for a in arts],
                "sha256": [a[2] for a in arts],
                "size_bytes": pa.array([a[3] for a in arts], pa.int64()),
                "created_at": pa.array([a[4] for a in arts], pa.timestamp("us")),
            }
        )
        tx.insert_frame(
            "artifacts",
            frame,
            "ON CONFLICT (run_id, path) DO UPDATE SET "
            "sha256 = excluded.sha256, size_bytes = excluded.size_bytes, "
            "created_at = excluded.created_at",
        )
    records = {(b.run_id, kind, name): data for b in batches for kind, name, data in b.records}
    if records:
        frame = pa.table(
            {
                "run_id": [k[0] for k in records],
                "kind": [k[1] for k in records],
                "name": [k[2] for k in records],
                "data": list(records.values()),
            }
        )
        tx.insert_frame(
            "run_records",
            frame,
            "ON CONFLICT (run_id, kind, name) DO UPDATE SET data = excluded.data",
        )
    _ingest_starts(tx, batches)
    _ingest_ends(tx, batches)
    cursors = pa.table(
        {
            "run_id": [b.run_id for b in batches],
            "byte_offset": pa.array([b.new_offset for b in batches], pa.int64()),
            "last_seq": pa.array([b.last_seq for b in batches], pa.int64()),
        }
    )
    with tx.registered(cursors) as c:
        tx.execute(
            f"UPDATE run_ingest SET byte_offset = {c}.byte_offset, "
            f"last_seq = {c}.last_seq, updated_at = ? FROM {c} "
            f"WHERE run_ingest.run_id = {c}.run_id",
            [now],
        )


def _ingest_starts(tx: Tx, batches: Sequence[IngestBatch]) -> None:
    """A queued run becomes running, started when its worker began (not when it was queued).
    A run no longer queued (already started, or ended meanwhile: lost, cancelled) keeps its
    state, as a late end does not resurrect a lost run."""
    starts = [(b.run_id, b.start) for b in batches if b.start is not None]
    if not starts:
        return
    frame = pa.table(
        {
            "run_id": pa.array([s[0] for s in starts], pa.string()),
            "started_at": pa.array([s[1] for s in starts], pa.timestamp("us")),
        }
    )
    with tx.registered(frame) as f:
        tx.execute(
            f"UPDATE runs SET status = 'running', started_at = {f}.started_at FROM {f} "
            f"WHERE runs.run_id = {f}.run_id AND runs.status = 'queued'"
        )


def _ingest_ends(tx: Tx, batches: Sequence[IngestBatch]) -> None:
    """End queued or running runs. One ended while still queued (cancelled before it
    started) never ran: its start becomes its end, so its duration is 0, not its wait."""
    ends = [(b.run_id, *b.end) for b in batches if b.end is not None]
    if not ends:
        return
    frame = pa.table(
        {
            "run_id": pa.array([e[0] for e in ends], pa.string()),
            "status": pa.array([e[1] for e in ends], pa.string()),
            "error": pa.array([e[2] for e in ends], pa.string()),
            "ended_at": pa.array([e[3] for e in ends], pa.timestamp("us")),
        }
    )
    with tx.registered(frame) as f:
        tx.execute(
            f"UPDATE runs SET status = {f}.status, error = {f}.error, ended_at = {f}.ended_at, "
            f"started_at = CASE WHEN runs.status = 'queued' THEN {f}.ended_at "
            f"ELSE runs.started_at END FROM {f} "
            f"WHERE runs.run_id = {f}.run_id AND runs.status IN ('queued', 'running')"
        )


def _ingest_params(tx: Tx, batches: Sequence[IngestBatch]) -> None:
    run_ids, keys, rows = [], [], []
    for b in batches:
        first: dict[str, ParamValue] = {}
        for key, value in b.params:
            first.setdefault(key, value)  # params are immutable: the first value stands
        run_ids += [b.run_id] * len(first)
        keys += list(first)
        rows += [encode_param(v) for v in first.values()]
    if not rows:
        return
    # Arrow keeps a NaN param a NaN (through pandas DuckDB would read it as NULL).
    frame = pa.table(
        {
            "run_id": pa.array(run_ids, pa.string()),
            "key": pa.array(keys, pa.string()),
            "kind": pa.array([r[0] for r in rows], pa.string()),
            "value_int": pa.array([r[1] for r in rows], pa.int64()),
            "value_float": pa.array([r[2] for r in rows], pa.float64()),
            "value_bool": pa.array([r[3] for r in rows], pa.bool_()),
            "value_str": pa.array([r[4] for r in rows], pa.string()),
        }
    )
    tx.insert_frame("params", frame, "ON CONFLICT (run_id, key) DO NOTHING")


def _ingest_tags(tx: Tx, batches: Sequence[IngestBatch]) -> None:
    rows = [(b.run_id, k, v) for b in batches for k, v in dict(b.tags).items()]  # last wins
    if rows:
        frame = pa.table(
            {
                "run_id": [r[0] for r in rows],
                "key": [r[1] for r in rows],
                "value": [r[2] for r in rows],
            }
        )
        upsert = "ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value"
        tx.insert_frame("tags", frame, upsert)


def _ingest_metrics(tx: Tx, batches: Sequence[IngestBatch]) -> None:
    run_col: list[str] = []
    for b in batches:
        run_col += [b.run_id] * b.n_metric_points
    # Arrow, not pandas: DuckDB would read a pandas NaN as NULL, and NaN is a logged value.
    frame = pa.table(
        {
            "run_id": pa.array(run_col, pa.string()),
            "key": pa.array([k for b in batches for k in b.metric_key], pa.string()),
            "step": pa.array([v for b in batches for v in b.metric_step], pa.int64()),
            "ts_ms": pa.array([v for b in batches for v in b.metric_ts], pa.int64()),
            "value": pa.array([v for b in batches for v in b.metric_value], pa.float64()),
            "seq": pa.array([v for b in batches for v in b.metric_seq], pa.int64()),
        }
    )
    tx.insert_frame("metrics", frame)
    with tx.registered(frame) as points:
        # Latest = highest step, then latest arrival. min/max skip NaN and +-inf, which are
        # stored as logged but would otherwise win every max().
        tx.execute(
            f"""INSERT INTO metric_summary
               SELECT run_id, key, arg_max(value, [step, seq]), max(step),
                      arg_max(seq, [step, seq]),
                      min(value) FILTER (WHERE isfinite(value)),
                      max(value) FILTER (WHERE isfinite(value)), count(*)
               FROM {points} GROUP BY run_id, key
               ON CONFLICT (run_id, key) DO UPDATE SET
                 last_value = CASE WHEN [excluded.last_step, excluded.last_seq]
                     >= [metric_summary.last_step, metric_summary.last_seq]
                     THEN excluded.last_value ELSE metric_summary.last_value END,
                 last_seq = CASE WHEN [excluded.last_step, excluded.last_seq]
                     >= [metric_summary.last_step, metric_summary.last_seq]
                     THEN excluded.last_seq ELSE metric_summary.last_seq END,
                 last_step = greatest(metric_summary.last_step, excluded.last_step),
                 min_value = least(metric_summary.min_value, excluded.min_value),
                 max_value = greatest(metric_summary.max_value, excluded.max_value),
                 n_points = metric_summary.n_points + excluded.n_points"""
        )


def ingest_states(tx: Tx, run_ids: Sequence[str]) -> dict[str, IngestState]:
    """``{run_id: cursor}`` (as :func:`get_ingest_state`) for those of ``run_ids`` that
    have one; runs unknown to the database are left out, not an error."""
    if not run_ids:
        return {}
    rows = tx.records(
        f"SELECT run_id, byte_offset, last_seq FROM run_ingest "
        f"WHERE run_id IN ({', '.join('?' * len(run_ids))})",
        list(run_ids),
    )
    return {row["run_id"]: IngestState(**row) for row in rows}


def run_owners(tx: Tx, run_ids: Sequence[str]) -> dict[str, str]:
    """Who started each run (the actor of its audit events)."""
    if not run_ids:
        return {}
    return dict(
        tx.fetchall(
            "SELECT run_id, created_by FROM runs WHERE run_id IN "
            f"({', '.join('?' * len(run_ids))})",
            list(run_ids),
        )
    )
