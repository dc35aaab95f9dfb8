"""Opening the workspace once per process and path."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from workbench.settings import Settings, workspace_path
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
