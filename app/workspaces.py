"""Opening the workspace once per process and path."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from workbench.settings import Settings, workspace_path
from workbench.store import migrations
from workbench.store.workspace import Workspace

_lock = threading.Lock()
_opened: dict[Path, Workspace] = {}


def open_workspace(path: str | os.PathLike | None = None) -> Workspace:
    """The workspace at ``path`` (see :func:`workbench.settings.workspace_path`), created and
    upgraded to the current schema on first use in this process.

    Raises :class:`InvalidInput` (path is a file, not a DuckDB database) or
    :class:`SchemaOutOfDate` (database newer than the code).
    """
    root = workspace_path(path)
    with _lock:
        ws = _opened.get(root)
        if ws is None or not ws.paths.db.exists():
            settings = Settings.from_env()
            ws = Workspace.open(root, lock_timeout=settings.lock_timeout, linger=settings.db_linger)
            _opened[root] = ws
        return ws


def forget(path: str | os.PathLike | None = None) -> None:
    """Drop the cached handle (tests, and after a restore)."""
    with _lock:
        _opened.pop(workspace_path(path), None)


# `workbench demo` leaves this file in the workspace it seeded; `demo --reset` only deletes
# a folder that has it.
DEMO_MARKER = ".demo-workspace"


def is_demo(root: str | os.PathLike) -> bool:
    """Whether the folder ``root`` is a workspace ``workbench demo`` seeded (it holds
    ``DEMO_MARKER``), which ``demo --reset`` may delete."""
    return (Path(root) / DEMO_MARKER).exists()


def schema_status(path: str | os.PathLike | None = None) -> migrations.SchemaStatus:
    """The schema of the workspace database at ``path`` (as :func:`open_workspace` finds
    it): its version, the code's head, pending and applied migrations. Upgrades and creates
    nothing; InvalidInput when the folder does not exist."""
    ws = Workspace.open(workspace_path(path), create=False, upgrade=False)
    return migrations.status(ws.store)


def upgrade_schema(path: str | os.PathLike | None = None) -> list[migrations.Migration]:
    """Apply the pending migrations to the workspace database at ``path`` (an existing
    database is first copied into its ``backups/``); returns the steps applied, empty when
    none was pending. SchemaOutOfDate when the database is newer than the code or a step
    fails (the database is left at the version before it)."""
    ws = Workspace.open(workspace_path(path), upgrade=False)
    return migrations.upgrade(ws.store, backup_dir=ws.paths.backups)


SCHEMA_HEAD = migrations.HEAD  # the schema version this code writes
