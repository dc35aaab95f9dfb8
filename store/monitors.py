"""Monitors (a rule per model) and monitor events (every check a monitor made).

Rows come back as tuples in table order; ``workbench.drift.monitoring`` turns them into its
``Monitor`` and ``MonitorEvent``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workbench.store.gateway import Tx


def put(tx: Tx, row: Sequence[Any]) -> None:
    """Insert or replace a monitor: (model, dataset, target, drift_share, auto_promote,
    created_at, created_by, max_performance_drop)."""
    tx.execute("INSERT OR REPLACE INTO monitors VALUES (?, ?, ?, ?, ?, ?, ?, ?)", list(row))


def monitors(tx: Tx, dataset: str | None = None) -> list[tuple]:
    """Every monitor (or those watching ``dataset``), by model name."""
    if dataset is None:
        return tx.fetchall("SELECT * FROM monitors ORDER BY model")
    return tx.fetchall("SELECT * FROM monitors WHERE dataset = ? ORDER BY model", [dataset])


def add_event(tx: Tx, row: Sequence[Any]) -> None:
    """Insert a monitor event: (event_id, model, dataset_ref, report_id, fired, action,
    detail JSON text, checked_at)."""
    tx.execute("INSERT INTO monitor_events VALUES (?, ?, ?, ?, ?, ?, ?, ?)", list(row))


def events(tx: Tx, model: str | None = None, limit: int | None = None) -> list[tuple]:
    """Monitor events, newest first, of every model or of ``model``: all of them, or the
    newest ``limit`` (:func:`count_events` says how many there are in all)."""
    where, params = ("WHERE model = ?", [model]) if model is not None else ("", [])
    sql = f"SELECT * FROM monitor_events {where} ORDER BY checked_at DESC, event_id DESC"
    if limit is None:
        return tx.fetchall(sql, params)
    return tx.fetchall(sql + " LIMIT ?", [*params, int(limit)])


def count_events(tx: Tx, model: str | None = None) -> int:
    """How many monitor events there are (of ``model``, or of every model)."""
    if model is None:
        return int(tx.fetchone("SELECT count(*) FROM monitor_events")[0])
    return int(tx.fetchone("SELECT count(*) FROM monitor_events WHERE model = ?", [model])[0])
