"""Whole-database reads of backup and doctor: the blobs the database names, its schema
version, a checkpoint before the file is copied. Run inside ``Store.exclusive()`` (backup)
or a read (doctor); the services never hold a raw connection."""

from __future__ import annotations

from workbench.store.gateway import Tx

# Every column that names a blob (a sha256 under blobs/): what a backup must carry and what
# doctor calls referenced. A new table with a blob column is added here.
BLOB_COLUMNS = (
    ("artifacts", "sha256"),
    ("dataset_versions", "blob_sha256"),
    ("model_versions", "sha256"),
)


def checkpoint(tx: Tx) -> None:
    """Write the write-ahead log into the database file (DuckDB's ``CHECKPOINT``), so a copy
    of the file alone holds every commit. Needs the database to this caller alone
    (``Store.exclusive()``): DuckDB refuses while another transaction has changes."""
    tx.execute("CHECKPOINT")


def schema_version(tx: Tx) -> int:
    """The schema version the database is at (``store.migrations``), 0 for none."""
    return int(tx.scalar("SELECT coalesce(max(version), 0) FROM schema_migrations"))


def referenced_blobs(tx: Tx) -> dict[str, str]:
    """Every blob the database names: sha256 (64 hex digits) -> the first table naming it,
    in :data:`BLOB_COLUMNS` order."""
    out: dict[str, str] = {}
    for table, column in BLOB_COLUMNS:
        for (sha,) in tx.fetchall(f"SELECT DISTINCT {column} FROM {table}"):
            out.setdefault(sha, table)
    return out
