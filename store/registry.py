"""Model registry SQL: models, immutable versions, aliases and the history of every move."""

from __future__ import annotations

import json

from workbench.store.entities import AliasEvent, Model, ModelVersion, utcnow
from workbench.store.gateway import Tx

_VERSION_COLS = (
    "v.model_id, m.name AS model_name, v.version, v.run_id, v.dataset_ref, v.sha256, v.size_bytes, "
    "v.signature, v.metrics, v.libraries, v.card, v.created_at, v.created_by"
)


def find_model(tx: Tx, name: str) -> Model | None:
    """The model named ``name`` with its latest version and aliases; None if there is none."""
    models = _models(tx, "WHERE m.name = ?", [name])
    return models[0] if models else None


def list_models(tx: Tx) -> list[Model]:
    """Every model by name, each with its latest version (0: none left) and aliases."""
    return _models(tx, "", [])


def _models(tx: Tx, where: str, params: list) -> list[Model]:
    rows = tx.records(
        "SELECT m.model_id, m.name, m.description, m.created_at, m.created_by, "
        "coalesce(max(v.version), 0) AS latest_version "
        "FROM models m LEFT JOIN model_versions v USING (model_id) "
        f"{where} GROUP BY ALL ORDER BY m.name",
        params,
    )
    aliases: dict[str, dict[str, int]] = {}
    for model_id, alias, version in tx.fetchall(
        "SELECT model_id, alias, version FROM model_aliases ORDER BY alias"
    ):
        aliases.setdefault(model_id, {})[alias] = version
    return [Model(**row, aliases=aliases.get(row["model_id"], {})) for row in rows]


def insert_model(tx: Tx, model_id: str, name: str, actor: str) -> None:
    """Add the model row (created now, by ``actor``). A name another transaction committed
    first fails on the unique key: AlreadyExists (see ``workbench.retry``)."""
    tx.execute(
        "INSERT INTO models (model_id, name, created_at, created_by) VALUES (?, ?, ?, ?)",
        [model_id, name, utcnow(), actor],
    )


def next_version(tx: Tx, model_id: str) -> int:
    """The number the model's next version gets: its highest plus one (1 for the first)."""
    return int(
        tx.scalar(
            "SELECT coalesce(max(version), 0) + 1 FROM model_versions WHERE model_id = ?",
            [model_id],
        )
    )


def insert_version(tx: Tx, v: ModelVersion) -> None:
    """Add version ``v`` (signature, metrics and libraries stored as JSON text) and its
    tags. A (model, version) another transaction committed first: AlreadyExists."""
    tx.execute(
        "INSERT INTO model_versions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            v.model_id,
            v.version,
            v.run_id,
            v.dataset_ref,
            v.sha256,
            v.size_bytes,
            json.dumps(v.signature),
            json.dumps(v.metrics),
            json.dumps(v.libraries),
            v.card,
            v.created_at,
            v.created_by,
        ],
    )
    for key, value in v.tags.items():
        tx.execute(
            "INSERT INTO model_version_tags VALUES (?, ?, ?, ?)",
            [v.model_id, v.version, key, value],
        )


def versions(tx: Tx, model_id: str, version: int | None = None) -> list[ModelVersion]:
    """The model's versions newest first, with their tags and the aliases pointing at
    each; only ``version`` when given (an empty list when it does not exist)."""
    where, params = "WHERE v.model_id = ?", [model_id]
    if version is not None:
        where += " AND v.version = ?"
        params.append(version)
    rows = tx.records(
        f"SELECT {_VERSION_COLS} FROM model_versions v JOIN models m USING (model_id) {where} "
        "ORDER BY v.version DESC",
        params,
    )
    tags: dict[int, dict[str, str]] = {}
    for ver, key, value in tx.fetchall(
        "SELECT version, key, value FROM model_version_tags WHERE model_id = ? ORDER BY key",
        [model_id],
    ):
        tags.setdefault(ver, {})[key] = value
    aliases: dict[int, list[str]] = {}
    for alias, ver in tx.fetchall(
        "SELECT alias, version FROM model_aliases WHERE model_id = ? ORDER BY alias", [model_id]
    ):
        aliases.setdefault(ver, []).append(alias)
    return [
        ModelVersion(
            **{**r, **{k: json.loads(r[k]) for k in ("signature", "metrics", "libraries")}},
            tags=tags.get(r["version"], {}),
            aliases=tuple(aliases.get(r["version"], ())),
        )
        for r in rows
    ]


def resolve(tx: Tx, name: str, alias: str | None) -> tuple[str, int, int | None] | None:
    """(model id, latest version, the alias's version) in one statement; None if no model."""
    row = tx.fetchone(
        "SELECT m.model_id, (SELECT coalesce(max(version), 0) FROM model_versions v "
        "WHERE v.model_id = m.model_id), a.version FROM models m LEFT JOIN model_aliases a "
        "ON a.model_id = m.model_id AND a.alias = ? WHERE m.name = ?",
        [alias or "", name],
    )
    return None if row is None else (row[0], int(row[1]), row[2])


def alias_version(tx: Tx, model_id: str, alias: str) -> int | None:
    """The version ``alias`` points at; None when the model has no such alias."""
    return tx.scalar(
        "SELECT version FROM model_aliases WHERE model_id = ? AND alias = ?", [model_id, alias]
    )


def move_alias(
    tx: Tx, model_id: str, alias: str, version: int | None, actor: str, reason: str
) -> int | None:
    """Point ``alias`` at ``version`` (None removes it) and record the move; returns the
    version it pointed at before. Both writes are one transaction: a move is never in the
    table without its history row, or the other way round."""
    before = alias_version(tx, model_id, alias)
    now = utcnow()
    if version is None:
        tx.execute("DELETE FROM model_aliases WHERE model_id = ? AND alias = ?", [model_id, alias])
    else:
        tx.execute(
            "INSERT INTO model_aliases VALUES (?, ?, ?, ?, ?) ON CONFLICT (model_id, alias) "
            "DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at, "
            "updated_by = excluded.updated_by",
            [model_id, alias, version, now, actor],
        )
    tx.execute(
        "INSERT INTO alias_events (model_id, alias, from_version, to_version, actor, "
        "moved_at, reason) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [model_id, alias, before, version, actor, now, reason],
    )
    return before


def alias_history(tx: Tx, model_id: str, alias: str | None = None) -> list[AliasEvent]:
    """The moves of the model's aliases (only ``alias``'s when given), newest first."""
    where, params = "WHERE model_id = ?", [model_id]
    if alias is not None:
        where += " AND alias = ?"
        params.append(alias)
    rows = tx.records(
        "SELECT event_id, alias, from_version, to_version, actor, moved_at, reason FROM "
        f"alias_events {where} ORDER BY event_id DESC",
        params,
    )
    return [AliasEvent(**r) for r in rows]


def delete_version(tx: Tx, model_id: str, version: int) -> str:
    """Delete a version's rows; returns its artifact sha256."""
    sha = tx.scalar(
        "SELECT sha256 FROM model_versions WHERE model_id = ? AND version = ?", [model_id, version]
    )
    for table in ("model_version_tags", "model_versions"):
        tx.execute(f"DELETE FROM {table} WHERE model_id = ? AND version = ?", [model_id, version])
    return sha


def set_card(tx: Tx, model_id: str, version: int, card: str) -> None:
    """Replace the model card (markdown text) of one version."""
    tx.execute(
        "UPDATE model_versions SET card = ? WHERE model_id = ? AND version = ?",
        [card, model_id, version],
    )


def versions_of_run(tx: Tx, run_id: str) -> list[tuple[str, int]]:
    """(model name, version) of every model version registered from run ``run_id``."""
    return tx.fetchall(
        "SELECT m.name, v.version FROM model_versions v JOIN models m "
        "USING (model_id) WHERE v.run_id = ?",
        [run_id],
    )
