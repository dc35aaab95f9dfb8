"""Stored drift reports: one immutable row per report, its per-column results as JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from workbench.store.gateway import Tx
from workbench.store.jsontext import finite

_COLS = (
    "report_id, created_at, created_by, reference_ref, current_ref, model_ref, n_columns, "
    "n_drifted, verdict, results, model_results"
)


@dataclass(frozen=True)
class StoredReport:
    report_id: str
    created_at: datetime
    created_by: str
    reference_ref: str
    current_ref: str
    model_ref: str | None
    n_columns: int
    n_drifted: int
    verdict: str
    results: list[dict[str, Any]]
    model: dict[str, Any] | None = None  # workbench.drift.model_drift.ModelDrift.to_json()


def insert(tx: Tx, r: StoredReport) -> None:
    tx.execute(
        f"INSERT INTO drift_reports ({_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            r.report_id,
            r.created_at,
            r.created_by,
            r.reference_ref,
            r.current_ref,
            r.model_ref,
            r.n_columns,
            r.n_drifted,
            r.verdict,
            to_json(r.results),
            None if r.model is None else to_json(r.model),
        ],
    )


def to_json(value: Any) -> str:
    """Standard JSON: NaN and infinities become null (``allow_nan=False`` proves none is
    left), numpy numbers plain ones."""
    return json.dumps(finite(value), allow_nan=False, default=float)


def recent(tx: Tx, limit: int | None = None) -> list[StoredReport]:
    """Stored reports, newest first: every one, or the newest ``limit`` (:func:`count` says
    how many there are in all)."""
    sql = f"SELECT {_COLS} FROM drift_reports ORDER BY created_at DESC, report_id DESC"
    rows = tx.fetchall(sql) if limit is None else tx.fetchall(sql + " LIMIT ?", [int(limit)])
    return [_report(r) for r in rows]


def count(tx: Tx) -> int:
    """How many drift reports are stored."""
    return int(tx.fetchone("SELECT count(*) FROM drift_reports")[0])


def get(tx: Tx, report_id: str) -> StoredReport | None:
    row = tx.fetchone(f"SELECT {_COLS} FROM drift_reports WHERE report_id = ?", [report_id])
    return None if row is None else _report(row)


def _report(row: tuple) -> StoredReport:
    return StoredReport(*row[:9], json.loads(row[9]), json.loads(row[10]) if row[10] else None)
