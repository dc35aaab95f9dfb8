"""The audit log: who changed what, when. Written in the same transaction as the change."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from store.entities import AuditEvent, utcnow
from store.gateway import Tx


def record(
    tx: Tx,
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    detail: dict[str, Any] | None = None,
) -> None:
    tx.execute(
        "INSERT INTO audit_events (ts, actor, action, object_type, object_id, detail) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [utcnow(), actor, action, object_type, object_id,
         json.dumps(detail or {}, default=str, ensure_ascii=False)],
    )  # fmt: skip


def record_many(tx: Tx, events: list[dict[str, Any]]) -> None:
    """Record several events (each with the keyword arguments of :func:`record`) at once."""
    if not events:
        return
    now = utcnow()
    frame = pd.DataFrame({
        "ts": [now] * len(events),
        "actor": [e["actor"] for e in events],
        "action": [e["action"] for e in events],
        "object_type": [e["object_type"] for e in events],
        "object_id": [e["object_id"] for e in events],
        "detail": [json.dumps(e.get("detail") or {}, default=str, ensure_ascii=False)
                   for e in events],
    })  # fmt: skip
    tx.insert_frame("audit_events", frame)


def recent(tx: Tx, limit: int = 50) -> list[AuditEvent]:
    rows = tx.fetchall(
        "SELECT event_id, ts, actor, action, object_type, object_id, detail FROM audit_events "
        "ORDER BY event_id DESC LIMIT ?",
        [int(limit)],
    )
    return [AuditEvent(*row) for row in rows]
