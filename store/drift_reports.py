"""Stored drift reports: one immutable row per report; its per-column results, its model
section and the configuration it ran with as JSON (plain: the typed report is
``workbench.drift.results.DriftReport``, made from these by the service)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from workbench.store.gateway import Tx
from workbench.store.jsontext import finite

_COLS = (
    "report_id, created_at, created_by, reference_ref, current_ref, model_ref, n_columns, "
    "n_drifted, verdict, results, model_results, config"
)


@dataclass(frozen=True)
class StoredReport:
    """One drift report as stored (plain values; the typed report is
    ``workbench.drift.results.DriftReport``).

    ``report_id``: a hex id; ``created_at``: naive UTC; ``created_by``: user name;
    ``reference_ref`` / ``current_ref``: the compared dataset versions (``name@vN``);
    ``model_ref``: the model version checked (``model/N``) or None; ``n_columns``: columns
    compared; ``n_drifted``: of those, how many drifted; ``verdict``: the dataset verdict (drift
    | no drift | not enough evidence | schema change | nothing compared); ``results``: one JSON
    object per column (``ColumnDrift.to_json()``); ``model``: the model section; ``config``: the
    rule.
    """

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
    # workbench.drift.config.DriftConfig.to_json(); None for a report made before
    # configurations were stored (schema step 15)
    config: dict[str, Any] | None = None


def insert(tx: Tx, r: StoredReport) -> None:
    """Store report ``r``. Its ``results``, ``model`` and ``config`` are written as standard
    JSON (:func:`to_json`: a value with a ``to_json()`` method is written as what that
    returns, so a typed report's parts store as their plain form)."""
    tx.execute(
        f"INSERT INTO drift_reports ({_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            None if getattr(r, "config", None) is None else to_json(r.config),
        ],
    )


def to_json(value: Any) -> str:
    """Standard JSON: NaN and infinities become null (``allow_nan=False`` proves none is
    left), numpy numbers plain ones, an object with a ``to_json()`` method (a typed result)
    what that returns."""
    return json.dumps(finite(_plain(value)), allow_nan=False, default=float)


def _plain(value: Any) -> Any:
    """``value`` with every object that has a ``to_json()`` method replaced by its result,
    in lists, tuples and dicts too."""
    if hasattr(value, "to_json") and callable(value.to_json):
        return _plain(value.to_json())
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def recent(tx: Tx, limit: int | None = None) -> list[StoredReport]:
    """Stored reports, newest first: every one, or the newest ``limit`` (:func:`count` says
    how many there are in all)."""
    sql = f"SELECT {_COLS} FROM drift_reports ORDER BY created_at DESC, report_id DESC"
    rows = tx.records(sql) if limit is None else tx.records(sql + " LIMIT ?", [int(limit)])
    return [_report(r) for r in rows]


def count(tx: Tx) -> int:
    """How many drift reports are stored."""
    return int(tx.fetchone("SELECT count(*) FROM drift_reports")[0])


def get(tx: Tx, report_id: str) -> StoredReport | None:
    """The report ``report_id``, or None."""
    row = tx.record(f"SELECT {_COLS} FROM drift_reports WHERE report_id = ?", [report_id])
    return None if row is None else _report(row)


def _report(row: dict[str, Any]) -> StoredReport:
    """A stored row (by column name) as a StoredReport, its JSON columns parsed."""
    model = row.pop("model_results")
    return StoredReport(
        **{**row, "results": json.loads(row["results"]), "config": _loads(row["config"])},
        model=_loads(model),
    )


def _loads(text: str | None) -> Any:
    return json.loads(text) if text else None
