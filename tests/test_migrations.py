"""Schema migrations: empty to head, the committed snapshot, failure, backup, refusal."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.store import migrations
from workbench.store.errors import SchemaOutOfDate
from workbench.store.gateway import Store
from workbench.store.migrations import MIGRATIONS, Migration, dump_schema, status, upgrade
from workbench.store.workspace import Workspace


def test_empty_workspace_migrates_to_head(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path / "ws")
    st = status(ws.store)
    assert st.version == migrations.HEAD and st.pending == 0
    assert [v for v, _, _ in st.applied] == [m.version for m in MIGRATIONS]
    assert not (ws.paths.backups).exists()  # nothing to back up on a new database


def test_head_schema_matches_committed_snapshot(tmp_path: Path) -> None:
    store = Store(tmp_path / "meta.duckdb")
    upgrade(store)
    assert dump_schema(store) == migrations.SNAPSHOT_PATH.read_text(), (
        "The schema differs from store/schema.sql: add a migration step, then `make schema`."
    )


def test_failing_step_leaves_previous_version(tmp_path: Path) -> None:
    store = Store(tmp_path / "meta.duckdb")
    upgrade(store)
    broken = Migration(
        migrations.HEAD + 1,
        "broken",
        ("CREATE TABLE half_done (x INTEGER)", "ALTER TABLE no_such_table ADD COLUMN y INTEGER"),
    )
    with pytest.raises(SchemaOutOfDate, match=f"left at version {migrations.HEAD}"):
        upgrade(store, tmp_path / "backups", (*MIGRATIONS, broken))
    assert status(store).version == migrations.HEAD
    tables = store.read(lambda tx: tx.fetchall("SELECT table_name FROM duckdb_tables()"))
    assert ("half_done",) not in tables  # the step's first statement was rolled back too


def test_old_database_is_backed_up_then_upgraded(tmp_path: Path) -> None:
    store = Store(tmp_path / "meta.duckdb")
    upgrade(store)
    store.write(
        lambda tx: tx.execute(
            "INSERT INTO experiments VALUES ('e1', 'keep me', '', 'active', now()::TIMESTAMP, 'a')"
        )
    )
    extra = Migration(
        migrations.HEAD + 1, "add notes", ("ALTER TABLE experiments ADD COLUMN notes VARCHAR",)
    )
    applied = upgrade(store, tmp_path / "backups", (*MIGRATIONS, extra))
    assert [m.version for m in applied] == [extra.version]
    backups = list((tmp_path / "backups").glob("meta-v*.duckdb"))
    assert len(backups) == 1 and f"-v{migrations.HEAD}-" in backups[0].name
    # The backup is a complete database at the old version, with the data in it.
    old = Store(backups[0])
    assert status(old).version == migrations.HEAD
    assert old.read(lambda tx: tx.scalar("SELECT name FROM experiments")) == "keep me"
    assert store.read(lambda tx: tx.scalar("SELECT name FROM experiments")) == "keep me"


def test_newer_database_is_refused(tmp_path: Path) -> None:
    store = Store(tmp_path / "ws" / "meta.duckdb")
    (tmp_path / "ws").mkdir()
    future = Migration(migrations.HEAD + 1, "from the future", ("CREATE TABLE future (x INT)",))
    upgrade(store, None, (*MIGRATIONS, future))
    with pytest.raises(SchemaOutOfDate, match="newer than this workbench knows"):
        Workspace.open(tmp_path / "ws")
    assert status(store).version == migrations.HEAD + 1  # untouched


def test_opening_an_old_workspace_backs_up_then_upgrades(tmp_path: Path, monkeypatch) -> None:
    """The automatic path: a workspace written by older code is upgraded on open, after a
    backup copy, and keeps its data."""
    ws = Workspace.open(tmp_path / "ws")
    ws.store.write(
        lambda tx: tx.execute(
            "INSERT INTO experiments VALUES ('e1', 'old data', '', 'active', now()::TIMESTAMP, 'a')"
        )
    )
    ws.store.close()
    newer = Migration(
        migrations.HEAD + 1, "add notes", ("ALTER TABLE experiments ADD COLUMN notes VARCHAR",)
    )
    monkeypatch.setattr(migrations, "MIGRATIONS", (*MIGRATIONS, newer))
    reopened = Workspace.open(tmp_path / "ws")
    assert status(reopened.store).version == newer.version
    [backup] = reopened.paths.backups.iterdir()
    assert status(Store(backup)).version == newer.version - 1
    cols = reopened.store.read(lambda tx: tx.fetchall("SELECT name, notes FROM experiments"))
    assert cols == [("old data", None)]
