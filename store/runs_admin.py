"""Run housekeeping (bulk tags, trash, purge) and run records (spec, inputs, evaluation)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from workbench.store.gateway import Tx


def set_lifecycle(tx: Tx, run_ids: Sequence[str], lifecycle: str) -> int:
    """Set the lifecycle (``active`` or ``deleted``, the trash) of the runs ``run_ids``;
    returns how many of them now have it (unknown ids are skipped and not counted)."""
    tx.execute(
        "UPDATE runs SET lifecycle = ? WHERE run_id IN (SELECT unnest(?))",
        [lifecycle, list(run_ids)],
    )
    return int(
        tx.scalar(
            "SELECT count(*) FROM runs WHERE run_id IN (SELECT unnest(?)) AND lifecycle = ?",
            [list(run_ids), lifecycle],
        )
    )


def upsert_tags(tx: Tx, run_ids: Sequence[str], key: str, value: str) -> int:
    """Set the tag ``key`` to ``value`` on each run of ``run_ids`` that exists, replacing an
    existing value; returns how many runs were tagged (an unknown id gets no tag row: the
    tags table has no foreign key to refuse it)."""
    known = [
        rid
        for (rid,) in tx.fetchall(
            "SELECT run_id FROM runs WHERE run_id IN (SELECT unnest(?))", [list(run_ids)]
        )
    ]
    for rid in known:
        tx.execute(
            "INSERT INTO tags VALUES (?, ?, ?) ON CONFLICT (run_id, key) DO UPDATE SET "
            "value = excluded.value",
            [rid, key, value],
        )
    return len(known)


def delete_runs(tx: Tx, run_ids: Sequence[str]) -> list[str]:
    """Delete runs and everything they logged; returns the artifact blobs they named."""
    ids = [list(run_ids)]
    blobs = [
        r[0]
        for r in tx.fetchall(
            "SELECT DISTINCT sha256 FROM artifacts WHERE run_id IN (SELECT unnest(?))", ids
        )
    ]
    for table in (
        "params",
        "metrics",
        "metric_summary",
        "tags",
        "artifacts",
        "run_ingest",
        "run_records",
        "runs",
    ):
        tx.execute(f"DELETE FROM {table} WHERE run_id IN (SELECT unnest(?))", ids)
    return blobs


def run_records(tx: Tx, run_id: str, kind: str | None = None) -> dict[tuple[str, str], Any]:
    """A run's records (spec, inputs, evaluation data) as {(kind, name): data}."""
    sql = "SELECT kind, name, data FROM run_records WHERE run_id = ?"
    params: list = [run_id]
    if kind is not None:
        sql += " AND kind = ?"
        params.append(kind)
    return {(k, n): json.loads(d) for k, n, d in tx.fetchall(sql + " ORDER BY kind, name", params)}
