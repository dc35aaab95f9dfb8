"""The workspace folder: one place on disk for everything the workbench keeps.

```
workspace/
  meta.duckdb      metadata: every entity, metric and audit event
  blobs/ab/...     content-addressed files (artifacts, snapshots, models)
  runs/<run_id>/   per-run append-only event log (events.jsonl) and heartbeat
  inbox/           watched folder for files that become dataset versions
  backups/         copies of meta.duckdb written before a schema upgrade
```
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from workbench.store import migrations
from workbench.store.blobs import BlobStore
from workbench.store.errors import InvalidInput
from workbench.store.gateway import Store
from workbench.store.text import check_storable

DB_NAME = "meta.duckdb"


@dataclass(frozen=True)
class WorkspacePaths:
    """Where each part of the workspace at ``root`` lives (the layout in the module
    docstring); computing a path creates nothing."""

    root: Path

    @property
    def db(self) -> Path:
        """The metadata database, ``meta.duckdb``."""
        return self.root / DB_NAME

    @property
    def blobs(self) -> Path:
        """The content-addressed file store, ``blobs/``."""
        return self.root / "blobs"

    @property
    def runs(self) -> Path:
        """The runs' event logs and heartbeats, ``runs/``."""
        return self.root / "runs"

    @property
    def inbox(self) -> Path:
        """The watched folder whose files become dataset versions, ``inbox/``."""
        return self.root / "inbox"

    @property
    def backups(self) -> Path:
        """Copies of the database made before a schema upgrade, ``backups/``."""
        return self.root / "backups"

    def run_dir(self, run_id: str) -> Path:
        """``runs/<run_id>``. InvalidInput for an id that is not one plain folder name
        (letters, digits, '-', '_'; at most 64): a run id such as ``../../x``, which an
        imported store once carried, would name a folder outside the workspace, and
        purging the run would delete it."""
        if not isinstance(run_id, str) or not _RUN_ID.fullmatch(run_id):
            raise InvalidInput(f"{run_id!r} is not a run id (32 hex digits, as runs list shows).")
        return self.runs / run_id


_RUN_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")


class Workspace:
    """An opened workspace: its paths, its database gateway and its blob store.

    Constructing one touches no file (use :meth:`open` to create the folders and upgrade the
    schema); ``lock_timeout`` (seconds to wait for the database file before StoreBusy) and
    ``linger`` (seconds the file stays open after a unit of work) go to :class:`Store`.
    InvalidInput for a path that is not valid UTF-8 text (a lone surrogate).
    """

    def __init__(
        self, root: Path | str, *, lock_timeout: float = 30.0, linger: float = 0.1
    ) -> None:
        # DuckDB cannot open a path that is not UTF-8 (std::bad_cast): refused before any
        # folder or file is made (it left blobs/, runs/ and a queue file behind, then "a bug")
        check_storable(
            str(root),
            f"The workspace path {str(root)!r}",
            fix="Use a folder whose name is UTF-8 (rename it, e.g. with convmv) and pass that.",
        )
        self.paths = WorkspacePaths(Path(root).expanduser().absolute())
        self.store = Store(self.paths.db, lock_timeout=lock_timeout, linger=linger)
        self.blobs = BlobStore(self.paths.blobs)

    @property
    def root(self) -> Path:
        """The workspace folder, absolute, ``~`` expanded."""
        return self.paths.root

    def __repr__(self) -> str:
        return f"Workspace({str(self.root)!r})"

    @classmethod
    def open(
        cls, root: Path | str, *, create: bool = True, upgrade: bool = True, **kwargs
    ) -> Workspace:
        """Open (and by default create) the workspace and bring its schema to head.

        Raises :class:`InvalidInput` when the path is a file or the database is not DuckDB,
        :class:`SchemaOutOfDate` when the database is newer than the code.
        """
        ws = cls(root, **kwargs)
        ws._check_layout(create)
        if upgrade:
            migrations.upgrade(ws.store, backup_dir=ws.paths.backups)
        return ws

    def _check_layout(self, create: bool) -> None:
        root = self.paths.root
        if root.exists() and not root.is_dir():
            raise InvalidInput(
                f"The workspace path {root} is a file, not a folder. Pass a folder with "
                "--workspace or WORKBENCH_WORKSPACE (it is created if missing)."
            )
        if not root.exists() and not create:
            raise InvalidInput(f"No workspace at {root}; run `workbench ui` to create one.")
        for sub in (root, self.paths.blobs, self.paths.runs, self.paths.inbox):
            try:
                sub.mkdir(parents=True, exist_ok=True)
            except (FileExistsError, NotADirectoryError) as exc:
                raise InvalidInput(
                    f"Cannot create {sub}: a file is in the way. Move it, or choose another "
                    "workspace folder."
                ) from exc
            except PermissionError as exc:
                raise InvalidInput(
                    f"No permission to create {sub}; choose a workspace folder you can write."
                ) from exc
