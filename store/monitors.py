"""Monitors (a rule per model) and monitor events (every check a monitor made).

Entities are built by column name (``Tx.records``), inserts name their columns: a column
added to either table cannot shift a field.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime

from workbench.store.gateway import Tx


@dataclass(frozen=True)
class Monitor:
    """One model watched on one dataset (``workbench.drift.monitoring``): retrain when
    ``drift_share`` (0..1) of the columns drift, or when the model's metric falls by more
    than ``max_performance_drop`` (a share of the reference score; None: that rule is off).
    """

    model: str
    dataset: str
    target: str
    drift_share: float
    auto_promote: bool
    created_at: datetime
    created_by: str
    max_performance_drop: float | None = None


@dataclass(frozen=True)
class MonitorEvent:
    """One check a monitor made on a new dataset version: whether it ``fired``, the
    ``action`` taken and its ``detail`` (a JSON object)."""

    event_id: str
    model: str
    dataset_ref: str
    report_id: str | None
    fired: bool
    action: str
    detail: dict
    checked_at: datetime


def put(tx: Tx, monitor: Monitor) -> None:
    """Insert ``monitor``, or replace the one of the same model."""
    row = asdict(monitor)
    tx.execute(
        f"INSERT OR REPLACE INTO monitors ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
        list(row.values()),
    )


def monitors(tx: Tx, dataset: str | None = None) -> list[Monitor]:
    """Every monitor (or those watching ``dataset``), by model name."""
    if dataset is None:
        rows = tx.records("SELECT * FROM monitors ORDER BY model")
    else:
        rows = tx.records("SELECT * FROM monitors WHERE dataset = ? ORDER BY model", [dataset])
    return [Monitor(**row) for row in rows]


def add_event(tx: Tx, event: MonitorEvent) -> None:
    """Insert ``event`` (its detail stored as standard JSON text: no NaN)."""
    row = asdict(event)
    row["detail"] = json.dumps(event.detail, default=str, allow_nan=False)
    tx.execute(
        f"INSERT INTO monitor_events ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
        list(row.values()),
    )


def events(tx: Tx, model: str | None = None, limit: int | None = None) -> list[MonitorEvent]:
    """Monitor events, newest first, of every model or of ``model``: all of them, or the
    newest ``limit`` (:func:`count_events` says how many there are in all)."""
    where, params = ("WHERE model = ?", [model]) if model is not None else ("", [])
    sql = f"SELECT * FROM monitor_events {where} ORDER BY checked_at DESC, event_id DESC"
    if limit is not None:
        sql, params = sql + " LIMIT ?", [*params, int(limit)]
    return [
        MonitorEvent(**{**row, "detail": json.loads(row["detail"])})
        for row in tx.records(sql, params)
    ]


def count_events(tx: Tx, model: str | None = None) -> int:
    """How many monitor events there are (of ``model``, or of every model)."""
    if model is None:
        return int(tx.scalar("SELECT count(*) FROM monitor_events"))
    return int(tx.scalar("SELECT count(*) FROM monitor_events WHERE model = ?", [model]))
