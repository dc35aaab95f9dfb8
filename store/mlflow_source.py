"""An MLflow tracking store's SQLite database, read-only: the source of
``workbench import-mlflow`` (``workbench.tracking.mlflow_import``).

Opened with Python's sqlite3 in read-only mode (``mode=ro``): the import never writes to it.
Tables and columns are MLflow's (``experiments``, ``runs``, ``params``, ``tags``,
``metrics``; see mlflow/store/tracking/dbmodels/models.py). SQLite keeps whatever bytes it
was given: text that is not UTF-8 is read with its bad bytes written out (``\\xff``), BLOBs
too, rather than refused halfway through an import.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from workbench.store.errors import InvalidInput


class SourceUnreadable(InvalidInput):
    """The MLflow database failed while being read (corrupt pages, a truncated file): the
    message is SQLite's. Raised by every read of :class:`MlflowSource`."""


def text(value: object) -> object:
    """``value``, a BLOB (which ``text_factory`` does not see) read as text the way the
    connection reads TEXT: UTF-8 with bad bytes written out (0xff -> ``\\xff``)."""
    return value.decode("utf-8", "backslashreplace") if isinstance(value, bytes) else value


class MlflowSource:
    """One open MLflow database. Use :func:`open_source`."""

    def __init__(self, con: sqlite3.Connection) -> None:
        self._con = con

    def _rows(self, sql: str, params: Sequence[object] = ()) -> list[tuple]:
        try:
            return self._con.execute(sql, list(params)).fetchall()
        except sqlite3.Error as exc:
            raise SourceUnreadable(str(exc)) from exc

    def experiments(self) -> list[tuple]:
        """``(experiment_id, name, creation_time_ms)`` of every experiment, by id."""
        return self._rows(
            "SELECT experiment_id, name, creation_time FROM experiments ORDER BY experiment_id"
        )

    def runs(self, experiment_id: object) -> list[tuple]:
        """``(run_uuid, name, user_id, status, start_time_ms, end_time_ms,
        lifecycle_stage, artifact_uri)`` of one experiment's runs, oldest first."""
        return self._rows(
            "SELECT run_uuid, name, user_id, status, start_time, end_time, "
            "lifecycle_stage, artifact_uri FROM runs WHERE experiment_id = ? "
            "ORDER BY start_time",
            [experiment_id],
        )

    def params(self, run_uuids: Sequence[str]) -> dict[str, list[tuple]]:
        """run_uuid -> ``[(key, value), ...]`` for the given runs."""
        return self._grouped("SELECT run_uuid, key, value FROM params", run_uuids)

    def tags(self, run_uuids: Sequence[str]) -> dict[str, list[tuple]]:
        """run_uuid -> ``[(key, value), ...]`` for the given runs."""
        return self._grouped("SELECT run_uuid, key, value FROM tags", run_uuids)

    def metrics(self, run_uuids: Sequence[str]) -> dict[str, list[tuple]]:
        """run_uuid -> ``[(key, value, timestamp_ms, step, is_nan), ...]``, every point, in
        timestamp then step order."""
        return self._grouped(
            "SELECT run_uuid, key, value, timestamp, step, is_nan FROM metrics",
            run_uuids,
            order=" ORDER BY run_uuid, timestamp, step",
        )

    def _grouped(
        self, select: str, run_uuids: Sequence[str], order: str = ""
    ) -> dict[str, list[tuple]]:
        marks = ", ".join("?" * len(run_uuids))
        out: dict[str, list[tuple]] = {}
        for row in self._rows(f"{select} WHERE run_uuid IN ({marks}){order}", run_uuids):
            out.setdefault(row[0], []).append(tuple(text(v) for v in row[1:]))
        return out


@contextmanager
def open_source(path: Path) -> Iterator[MlflowSource]:
    """``path`` opened read-only as an MLflow tracking database. Raises InvalidInput when it
    is not one (no ``runs`` table, not SQLite); reads later raise :class:`SourceUnreadable`."""
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        con.execute("SELECT run_uuid FROM runs LIMIT 1")
    except sqlite3.DatabaseError as exc:
        raise InvalidInput(f"{path} is not an MLflow tracking database ({exc}).") from exc
    con.text_factory = lambda raw: raw.decode("utf-8", "backslashreplace")
    try:
        yield MlflowSource(con)
    finally:
        con.close()
