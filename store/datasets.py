"""Dataset metadata: datasets, immutable versions, column profiles, tags, contracts and
contract results. Each function takes an open :class:`Tx`; the caller decides the unit of
work (registration writes a version, its profile, tags and check results at once)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from workbench.store import jsontext
from workbench.store.entities import CheckResult, ColumnProfile, Dataset, DatasetVersion, utcnow
from workbench.store.errors import NotFound
from workbench.store.gateway import Tx

_DATASET_COLS = "d.dataset_id, d.name, d.description, d.created_at, d.created_by, d.lifecycle"
_VERSION_COLS = (
    "v.dataset_id, d.name AS dataset_name, v.version, v.fingerprint, v.blob_sha256, "
    "v.size_bytes, v.n_rows, v.n_columns, v.duplicate_rows, v.created_at, v.created_by, "
    "v.message, v.parent_version, "
    "v.source, v.source_name, v.contract_revision, v.contract_passed, v.n_failed_checks"
)
_PROFILE_COLS = (
    "position, name, dtype, family, count, nulls, nan_count, distinct_count, distinct_exact, "
    "min_text, max_text, min_value, max_value, mean, std, quantiles, hist_edges, hist_counts, "
    "top_values, top_counts, other_count, posinf_count, neginf_count, quantiles_exact, "
    "singletons, tail_hashes, tail_counts"
)
# The same, named as ColumnProfile's fields (the table's distinct_count is its `distinct`).
_PROFILE_READ_COLS = _PROFILE_COLS.replace("distinct_count", 'distinct_count AS "distinct"')
# Arrow types of the profile columns, so a whole profile is inserted in one statement (a
# 1,000-column table would otherwise take 1,000 INSERTs) and no float becomes SQL text.
_PROFILE_TYPES = {
    "position": pa.int32(),
    "name": pa.string(),
    "dtype": pa.string(),
    "family": pa.string(),
    "count": pa.int64(),
    "nulls": pa.int64(),
    "nan_count": pa.int64(),
    "distinct_count": pa.int64(),
    "distinct_exact": pa.bool_(),
    "min_text": pa.string(),
    "max_text": pa.string(),
    "min_value": pa.float64(),
    "max_value": pa.float64(),
    "mean": pa.float64(),
    "std": pa.float64(),
    "quantiles": pa.list_(pa.float64()),
    "hist_edges": pa.list_(pa.float64()),
    "hist_counts": pa.list_(pa.int64()),
    "top_values": pa.list_(pa.string()),
    "top_counts": pa.list_(pa.int64()),
    "other_count": pa.int64(),
    "posinf_count": pa.int64(),
    "neginf_count": pa.int64(),
    "quantiles_exact": pa.bool_(),
    "singletons": pa.int64(),
    "tail_hashes": pa.list_(pa.uint64()),
    "tail_counts": pa.list_(pa.int64()),
}


# -- datasets ----------------------------------------------------------------------------------


def find_dataset(tx: Tx, name: str) -> Dataset | None:
    """The dataset named ``name`` (archived or not), with its latest version number and
    version count; None when there is none."""
    rows = _datasets(tx, "WHERE d.name = ?", [name])
    return rows[0] if rows else None


def list_datasets(tx: Tx) -> list[Dataset]:
    """The active datasets by name, each with its latest version number and count."""
    return _datasets(tx, "WHERE d.lifecycle = 'active'", [])


def _datasets(tx: Tx, where: str, params: list) -> list[Dataset]:
    rows = tx.records(
        f"SELECT {_DATASET_COLS}, coalesce(max(v.version), 0) AS latest_version, "
        "count(v.version) AS n_versions "
        f"FROM datasets d LEFT JOIN dataset_versions v USING (dataset_id) {where} "
        "GROUP BY ALL ORDER BY d.name",
        params,
    )
    return [Dataset(**row) for row in rows]


def insert_dataset(tx: Tx, dataset_id: str, name: str, *, description: str, actor: str) -> None:
    """Add the dataset row (created now, by ``actor``). A name another transaction
    committed first fails on the unique key: AlreadyExists (see ``workbench.retry``)."""
    tx.execute(
        "INSERT INTO datasets (dataset_id, name, description, created_at, created_by) "
        "VALUES (?, ?, ?, ?, ?)",
        [dataset_id, name, description, utcnow(), actor],
    )


# -- versions ----------------------------------------------------------------------------------


def list_versions(tx: Tx, dataset_id: str) -> list[DatasetVersion]:
    """The versions of one dataset, newest first (empty when it has none)."""
    return _versions(tx, "WHERE v.dataset_id = ? ORDER BY v.version DESC", [dataset_id])


def list_all_versions(tx: Tx, *, predictions: bool = True) -> list[DatasetVersion]:
    """Every version of every active dataset (archived ones are left out, as
    :func:`list_datasets` leaves them out), dataset by dataset in name order, each
    dataset's newest first; without the versions batch scoring wrote (source
    ``prediction``) when ``predictions`` is False. Two statements however many datasets
    there are: the versions, then their tags."""
    where = "WHERE d.lifecycle = 'active'"
    if not predictions:
        where += " AND v.source <> 'prediction'"
    return _versions(tx, f"{where} ORDER BY d.name, v.version DESC", [])


def find_version(tx: Tx, dataset_id: str, version: int) -> DatasetVersion | None:
    """Version ``version`` of the dataset, with its tags; None when it does not exist."""
    rows = _versions(tx, "WHERE v.dataset_id = ? AND v.version = ?", [dataset_id, version])
    return rows[0] if rows else None


def find_by_fingerprint(tx: Tx, dataset_id: str, fingerprint: str) -> DatasetVersion | None:
    """The dataset's version with this content fingerprint (``store.snapshots``); None
    when no version has it (registering it makes a new version)."""
    rows = _versions(tx, "WHERE v.dataset_id = ? AND v.fingerprint = ?", [dataset_id, fingerprint])
    return rows[0] if rows else None


def find_by_source_hash(tx: Tx, dataset_id: str, source_hash: str) -> DatasetVersion | None:
    """The version registered from a file with these bytes (see :func:`record_source_hash`)."""
    rows = _versions(
        tx,
        "WHERE v.dataset_id = ? AND v.version = (SELECT version FROM "
        "dataset_source_hashes WHERE dataset_id = ? AND source_hash = ?)",
        [dataset_id, dataset_id, source_hash],
    )
    return rows[0] if rows else None


def record_source_hash(tx: Tx, dataset_id: str, source_hash: str, version: int) -> None:
    """Remember that a file with ``source_hash`` (``encoding:sha256`` of its bytes) holds
    ``version``'s content, so registering the same bytes again needs no read of them. A
    hash already recorded is left as it is."""
    tx.execute(
        "INSERT INTO dataset_source_hashes VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        [dataset_id, source_hash, version],
    )


def recent_versions(tx: Tx, limit: int = 10) -> list[DatasetVersion]:
    """The ``limit`` most recently created versions of any dataset, newest first."""
    return _versions(tx, "ORDER BY v.created_at DESC, v.version DESC LIMIT ?", [int(limit)])


def count_versions(tx: Tx) -> int:
    """How many dataset versions the workspace holds, of all datasets."""
    return int(tx.scalar("SELECT count(*) FROM dataset_versions"))


def version_counts(tx: Tx) -> tuple[int, int, int]:
    """(datasets, versions, versions that break their contract)."""
    row = tx.fetchone(
        "SELECT (SELECT count(*) FROM datasets WHERE lifecycle = 'active'), count(*), "
        "count(*) FILTER (WHERE contract_passed = false) FROM dataset_versions"
    )
    return int(row[0]), int(row[1]), int(row[2])


def _versions(tx: Tx, tail: str, params: list) -> list[DatasetVersion]:
    rows = tx.records(
        f"SELECT {_VERSION_COLS} FROM dataset_versions v JOIN datasets d USING (dataset_id) "
        + tail,
        params,
    )
    if not rows:
        return []
    keys = {(r["dataset_id"], r["version"]) for r in rows}
    tags: dict[tuple[str, int], dict[str, str]] = {}
    for ds, ver, key, value in tx.fetchall(
        "SELECT dataset_id, version, key, value FROM dataset_tags WHERE dataset_id IN "
        "(SELECT unnest(?)) ORDER BY key",
        [sorted({k[0] for k in keys})],
    ):
        if (ds, ver) in keys:
            tags.setdefault((ds, ver), {})[key] = value
    return [
        DatasetVersion(**row, tags=tags.get((row["dataset_id"], row["version"]), {}))
        for row in rows
    ]


def next_version(tx: Tx, dataset_id: str) -> int:
    """The number the dataset's next version gets: its highest plus one (1 for the first)."""
    return int(
        tx.scalar(
            "SELECT coalesce(max(version), 0) + 1 FROM dataset_versions WHERE dataset_id = ?",
            [dataset_id],
        )
    )


def insert_version(tx: Tx, v: DatasetVersion, profile: Sequence[ColumnProfile]) -> None:
    """Add version ``v``, its tags, and its column profiles (one Arrow insert for all
    columns). A (dataset, version) another transaction committed first: AlreadyExists."""
    tx.execute(
        "INSERT INTO dataset_versions (dataset_id, version, fingerprint, blob_sha256, "
        "size_bytes, n_rows, n_columns, duplicate_rows, created_at, created_by, message, "
        "parent_version, source, source_name, contract_revision, contract_passed, "
        "n_failed_checks) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            v.dataset_id,
            v.version,
            v.fingerprint,
            v.blob_sha256,
            v.size_bytes,
            v.n_rows,
            v.n_columns,
            v.duplicate_rows,
            v.created_at,
            v.created_by,
            v.message,
            v.parent_version,
            v.source,
            v.source_name,
            v.contract_revision,
            v.contract_passed,
            v.n_failed_checks,
        ],
    )
    for key, value in v.tags.items():
        tx.execute(
            "INSERT INTO dataset_tags VALUES (?, ?, ?, ?)", [v.dataset_id, v.version, key, value]
        )
    if not profile:
        return
    values = {
        "position": [p.position for p in profile],
        "name": [p.name for p in profile],
        "dtype": [p.dtype for p in profile],
        "family": [p.family for p in profile],
        "count": [p.count for p in profile],
        "nulls": [p.nulls for p in profile],
        "nan_count": [p.nan_count for p in profile],
        "distinct_count": [p.distinct for p in profile],
        "distinct_exact": [p.distinct_exact for p in profile],
        "min_text": [p.min_text for p in profile],
        "max_text": [p.max_text for p in profile],
        "min_value": [p.min_value for p in profile],
        "max_value": [p.max_value for p in profile],
        "mean": [p.mean for p in profile],
        "std": [p.std for p in profile],
        "quantiles": [list(p.quantiles) for p in profile],
        "hist_edges": [list(p.hist_edges) for p in profile],
        "hist_counts": [list(p.hist_counts) for p in profile],
        "top_values": [list(p.top_values) for p in profile],
        "top_counts": [list(p.top_counts) for p in profile],
        "other_count": [p.other_count for p in profile],
        "posinf_count": [p.posinf_count for p in profile],
        "neginf_count": [p.neginf_count for p in profile],
        "quantiles_exact": [p.quantiles_exact for p in profile],
        "singletons": [p.singletons for p in profile],
        "tail_hashes": [list(p.tail_hashes) for p in profile],
        "tail_counts": [list(p.tail_counts) for p in profile],
    }
    n = len(profile)
    arrays = {
        "dataset_id": pa.array([v.dataset_id] * n, pa.string()),
        "version": pa.array([v.version] * n, pa.int32()),
    }
    arrays |= {k: pa.array(values[k], t) for k, t in _PROFILE_TYPES.items()}
    tx.insert_frame("dataset_columns", pa.table(arrays))


def column_profiles(tx: Tx, dataset_id: str, version: int) -> tuple[ColumnProfile, ...]:
    """The version's column profiles in column order (empty for an unknown version)."""
    rows = tx.records(
        f"SELECT {_PROFILE_READ_COLS} FROM dataset_columns WHERE dataset_id = ? AND version = ? "
        "ORDER BY position",
        [dataset_id, version],
    )
    return tuple(
        ColumnProfile(
            **{
                **r,
                **{k: tuple(r[k] or ()) for k in _PROFILE_LISTS},
                "quantiles_exact": bool(r["quantiles_exact"]),
            }
        )
        for r in rows
    )


# The profile columns stored as lists (NULL for none), read back as tuples.
_PROFILE_LISTS = (
    "quantiles",
    "hist_edges",
    "hist_counts",
    "top_values",
    "top_counts",
    "tail_hashes",
    "tail_counts",
)


def set_contract_outcome(
    tx: Tx, dataset_id: str, version: int, revision: int, results: Sequence[CheckResult]
) -> None:
    """Store the results of checking ``version`` against contract ``revision``; the version
    row keeps the outcome of the newest check."""
    tx.execute(
        "DELETE FROM contract_results WHERE dataset_id = ? AND version = ? AND revision = ?",
        [dataset_id, version, revision],
    )
    now = utcnow()
    n = len(results)
    if n:  # one statement for all results (a wide table has thousands of checks)
        tx.insert_frame(
            "contract_results",
            pa.table(
                {
                    "dataset_id": pa.array([dataset_id] * n, pa.string()),
                    "version": pa.array([version] * n, pa.int32()),
                    "revision": pa.array([revision] * n, pa.int32()),
                    "position": pa.array(range(n), pa.int32()),
                    "check_name": pa.array([r.check for r in results], pa.string()),
                    "column_name": pa.array([r.column for r in results], pa.string()),
                    "passed": pa.array([r.passed for r in results], pa.bool_()),
                    "message": pa.array([r.message for r in results], pa.string()),
                    "failing": pa.array([r.failing for r in results], pa.int64()),
                    "examples": pa.array(
                        [list(r.examples) for r in results], pa.list_(pa.string())
                    ),
                    "checked_at": pa.array([now] * n, pa.timestamp("us")),
                }
            ),
        )
    failed = sum(not r.passed for r in results)
    tx.execute(
        "UPDATE dataset_versions SET contract_revision = ?, contract_passed = ?, "
        "n_failed_checks = ? WHERE dataset_id = ? AND version = ?",
        [revision, failed == 0, failed, dataset_id, version],
    )


def contract_results(tx: Tx, dataset_id: str, version: int) -> tuple[int | None, list[CheckResult]]:
    """(revision, results) of the newest contract check of a version."""
    revision = tx.scalar(
        "SELECT contract_revision FROM dataset_versions WHERE dataset_id = ? AND version = ?",
        [dataset_id, version],
    )
    if revision is None:
        return None, []
    rows = tx.records(
        'SELECT check_name AS "check", column_name AS "column", passed, message, failing, '
        "examples FROM "
        "contract_results WHERE dataset_id = ? AND version = ? AND revision = ? "
        "ORDER BY position",
        [dataset_id, version, revision],
    )
    return revision, [CheckResult(**{**r, "examples": tuple(r["examples"] or ())}) for r in rows]


# -- contracts ---------------------------------------------------------------------------------


def latest_contract(tx: Tx, dataset_id: str) -> tuple[int, dict[str, Any]] | None:
    """(revision, spec) of the dataset's newest contract; None before its first."""
    row = tx.fetchone(
        "SELECT revision, spec FROM dataset_contracts WHERE dataset_id = ? "
        "ORDER BY revision DESC LIMIT 1",
        [dataset_id],
    )
    return None if row is None else (int(row[0]), json.loads(row[1]))


def insert_contract(tx: Tx, dataset_id: str, spec: dict[str, Any], *, actor: str, note: str) -> int:
    """Store ``spec`` as the dataset's next contract revision (1 for the first), with who
    and why; returns the revision."""
    revision = int(
        tx.scalar(
            "SELECT coalesce(max(revision), 0) + 1 FROM dataset_contracts WHERE dataset_id = ?",
            [dataset_id],
        )
    )
    tx.execute(
        "INSERT INTO dataset_contracts VALUES (?, ?, ?, ?, ?, ?)",
        [
            dataset_id,
            revision,
            utcnow(),
            actor,
            note,
            jsontext.dumps(spec, ensure_ascii=False, sort_keys=True),
        ],
    )
    return revision


# -- blobs -------------------------------------------------------------------------------------


def blob_referenced(tx: Tx, sha256: str) -> bool:
    """Whether any row names the blob (dataset snapshots, run artifacts)."""
    return bool(
        tx.scalar(
            "SELECT EXISTS (SELECT 1 FROM dataset_versions WHERE blob_sha256 = ?) OR "
            "EXISTS (SELECT 1 FROM artifacts WHERE sha256 = ?)",
            [sha256, sha256],
        )
    )


def require_version(tx: Tx, name: str, version: int | None) -> DatasetVersion:
    """The version (the latest when ``version`` is None), or NotFound with what exists."""
    ds = find_dataset(tx, name)
    if ds is None:
        names = [d.name for d in list_datasets(tx)]
        hint = f"available: {', '.join(names[:20])}" if names else "no datasets yet"
        raise NotFound(f"Dataset {name!r} not found; {hint}.")
    if ds.n_versions == 0:
        raise NotFound(f"Dataset {name!r} has no versions yet.")
    found = find_version(tx, ds.dataset_id, version or ds.latest_version)
    if found is None:
        raise NotFound(
            f"Dataset version {name}@v{version} not found; available: v1 to v{ds.latest_version}."
        )
    return found
