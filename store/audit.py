"""The audit log: who changed what, when. Written in the same transaction as the change."""

from __future__ import annotations

from typing import Any

import pandas as pd

from workbench.store import jsontext
from workbench.store.entities import AuditEvent, utcnow
from workbench.store.gateway import Tx


def record(
    tx: Tx,
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one audit event, stamped with the current naive UTC time, in the caller's
    transaction (so it commits or rolls back with the change it describes).

    ``action`` is dotted, domain first (``model.alias.move``, ``auth.login_failed``);
    ``object_type``/``object_id`` name what changed; ``detail`` is stored as standard JSON
    (non-finite floats as null, anything else unserialisable as its ``str``)."""
    tx.execute(
        "INSERT INTO audit_events (ts, actor, action, object_type, object_id, detail) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [
            utcnow(),
            actor,
            action,
            object_type,
            object_id,
            jsontext.dumps(detail or {}, default=str, ensure_ascii=False),
        ],
    )


def failed_logins(tx: Tx, *, since, name: str | None = None, address: str | None = None) -> int:
    """Refused logins since ``since`` (a naive UTC datetime): for the account ``name``, the
    failed ones (action ``auth.login_failed``); from the client ``address`` (the event
    detail's "address"), the failed and the throttled ones (``auth.login_throttled``): an
    address that keeps trying a paused account keeps counting. 0 when neither is given."""
    if name is None and address is None:
        return 0
    where, params = ["ts >= ?"], [since]
    if name is not None:
        where.append("action = 'auth.login_failed' AND object_id = ?")
        params.append(name)
    if address is not None:
        where.append("action IN ('auth.login_failed', 'auth.login_throttled')")
        where.append("json_extract_string(detail, '$.address') = ?")
        params.append(address)
    sql = f"SELECT count(*) FROM audit_events WHERE {' AND '.join(where)}"
    return int(tx.scalar(sql, params))


def record_many(tx: Tx, events: list[dict[str, Any]]) -> None:
    """Record several events (each with the keyword arguments of :func:`record`) at once."""
    if not events:
        return
    now = utcnow()
    frame = pd.DataFrame(
        {
            "ts": [now] * len(events),
            "actor": [e["actor"] for e in events],
            "action": [e["action"] for e in events],
            "object_type": [e["object_type"] for e in events],
            "object_id": [e["object_id"] for e in events],
            "detail": [
                jsontext.dumps(e.get("detail") or {}, default=str, ensure_ascii=False)
                for e in events
            ],
        }
    )
    tx.insert_frame("audit_events", frame)


def recent(tx: Tx, limit: int = 50) -> list[AuditEvent]:
    """The ``limit`` newest audit events, newest first (``detail`` as its JSON text)."""
    rows = tx.records(
        "SELECT event_id, ts, actor, action, object_type, object_id, detail FROM audit_events "
        "ORDER BY event_id DESC LIMIT ?",
        [int(limit)],
    )
    return [AuditEvent(**row) for row in rows]


def _where(
    actor: str | None, action: str | None, object_type: str | None, text: str | None, since
) -> tuple[str, list]:
    where, params = ["true"], []
    if actor:
        where.append("actor = ?")
        params.append(actor)
    if action:
        where.append("starts_with(action, ?)")
        params.append(action)
    if object_type:
        where.append("object_type = ?")
        params.append(object_type)
    if text:
        where.append("(contains(object_id, ?) OR contains(detail, ?))")
        params += [text, text]
    if since is not None:
        where.append("ts >= ?")
        params.append(since)
    return " AND ".join(where), params


def search(
    tx: Tx,
    *,
    actor: str | None = None,
    action: str | None = None,
    object_type: str | None = None,
    text: str | None = None,
    since=None,
    limit: int | None = 1000,
) -> pd.DataFrame:
    """Audit events, newest first, filtered: exact actor and object type, action by prefix
    (``model.`` finds every model change), ``text`` anywhere in the object id or detail,
    ``since`` a naive UTC datetime; at most ``limit`` rows (None: all). A DataFrame with
    columns event_id, ts, actor, action, object_type, object_id, detail (JSON text).
    :func:`count` says how many match in all."""
    where, params = _where(actor, action, object_type, text, since)
    sql = (
        "SELECT event_id, ts, actor, action, object_type, object_id, detail FROM audit_events "
        f"WHERE {where} ORDER BY event_id DESC"
    )
    if limit is None:
        return tx.df(sql, params)
    return tx.df(sql + " LIMIT ?", [*params, int(limit)])


def count(
    tx: Tx,
    *,
    actor: str | None = None,
    action: str | None = None,
    object_type: str | None = None,
    text: str | None = None,
    since=None,
) -> int:
    """How many audit events match the filters of :func:`search`."""
    where, params = _where(actor, action, object_type, text, since)
    return int(tx.fetchone(f"SELECT count(*) FROM audit_events WHERE {where}", params)[0])


def facets(tx: Tx) -> dict[str, list[str]]:
    """The distinct actors and object types, for filter pickers."""
    return {
        col: [r[0] for r in tx.fetchall(f"SELECT DISTINCT {col} FROM audit_events ORDER BY 1")]
        for col in ("actor", "object_type")
    }
