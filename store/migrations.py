"""Versioned schema migrations.

Each step is a numbered, named list of statements; it runs in one transaction together
with the row that records it in ``schema_migrations``, so a failing step leaves the
database at the previous version. Before an existing database is upgraded, a copy of the
file is written next to it (``backups/``). A database newer than the code is refused.

``make schema`` (``write_snapshot()``) rewrites ``store/schema.sql``, the
committed snapshot of the head schema that ``tests/test_migrations.py`` compares against.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from workbench.store.errors import SchemaOutOfDate
from workbench.store.gateway import Store, rollback_quietly

SNAPSHOT_PATH = Path(__file__).with_name("schema.sql")


@dataclass(frozen=True)
class Migration:
    """One schema step: ``version`` (1, 2, ...: the order applied and the number recorded
    in ``schema_migrations``), ``name`` (what it does, recorded with it) and ``statements``
    (SQL run in order, in one transaction with the record)."""

    version: int
    name: str
    statements: tuple[str, ...]


CORE_TRACKING = Migration(
    1,
    "core tracking: experiments, runs, typed params, metrics, tags, artifacts, audit",
    (
        """CREATE TABLE experiments (
            experiment_id VARCHAR PRIMARY KEY,
            name VARCHAR NOT NULL UNIQUE,
            description VARCHAR NOT NULL DEFAULT '',
            lifecycle VARCHAR NOT NULL DEFAULT 'active',
            created_at TIMESTAMP NOT NULL,
            created_by VARCHAR NOT NULL DEFAULT ''
        )""",
        # status: running | finished | failed | killed | lost. Times are naive UTC.
        """CREATE TABLE runs (
            run_id VARCHAR PRIMARY KEY,
            experiment_id VARCHAR NOT NULL,
            name VARCHAR NOT NULL,
            status VARCHAR NOT NULL,
            source VARCHAR NOT NULL DEFAULT 'sdk',
            parent_run_id VARCHAR,
            created_by VARCHAR NOT NULL DEFAULT '',
            host VARCHAR,
            pid INTEGER,
            started_at TIMESTAMP NOT NULL,
            ended_at TIMESTAMP,
            error VARCHAR,
            lifecycle VARCHAR NOT NULL DEFAULT 'active'
        )""",
        # A param keeps its Python type: kind is int | float | bool | str | null and the
        # value sits in the matching column, so numeric comparisons work in SQL.
        """CREATE TABLE params (
            run_id VARCHAR NOT NULL,
            key VARCHAR NOT NULL,
            kind VARCHAR NOT NULL,
            value_int BIGINT,
            value_float DOUBLE,
            value_bool BOOLEAN,
            value_str VARCHAR,
            PRIMARY KEY (run_id, key)
        )""",
        # No key on metric points: ingestion is exactly-once through run_ingest (the
        # cursor moves in the same transaction as the rows), which keeps inserts fast.
        """CREATE TABLE metrics (
            run_id VARCHAR NOT NULL,
            key VARCHAR NOT NULL,
            step BIGINT NOT NULL,
            ts_ms BIGINT NOT NULL,
            value DOUBLE NOT NULL,
            seq BIGINT NOT NULL
        )""",
        """CREATE TABLE metric_summary (
            run_id VARCHAR NOT NULL,
            key VARCHAR NOT NULL,
            last_value DOUBLE NOT NULL,
            last_step BIGINT NOT NULL,
            last_seq BIGINT NOT NULL,
            min_value DOUBLE,
            max_value DOUBLE,
            n_points BIGINT NOT NULL,
            PRIMARY KEY (run_id, key)
        )""",
        """CREATE TABLE tags (
            run_id VARCHAR NOT NULL,
            key VARCHAR NOT NULL,
            value VARCHAR NOT NULL,
            PRIMARY KEY (run_id, key)
        )""",
        """CREATE TABLE artifacts (
            run_id VARCHAR NOT NULL,
            path VARCHAR NOT NULL,
            sha256 VARCHAR NOT NULL,
            size_bytes BIGINT NOT NULL,
            created_at TIMESTAMP NOT NULL,
            PRIMARY KEY (run_id, path)
        )""",
        # Where ingestion of runs/<run_id>/events.jsonl has got to.
        """CREATE TABLE run_ingest (
            run_id VARCHAR PRIMARY KEY,
            byte_offset BIGINT NOT NULL DEFAULT 0,
            last_seq BIGINT NOT NULL DEFAULT 0,
            updated_at TIMESTAMP
        )""",
        "CREATE SEQUENCE audit_event_id START 1",
        """CREATE TABLE audit_events (
            event_id BIGINT PRIMARY KEY DEFAULT nextval('audit_event_id'),
            ts TIMESTAMP NOT NULL,
            actor VARCHAR NOT NULL,
            action VARCHAR NOT NULL,
            object_type VARCHAR NOT NULL,
            object_id VARCHAR NOT NULL,
            detail VARCHAR NOT NULL DEFAULT '{}'
        )""",
        "CREATE INDEX runs_experiment ON runs (experiment_id)",
    ),
)

DATASETS = Migration(
    2,
    "datasets: versions, column profiles, tags, contracts and their check results",
    (
        """CREATE TABLE datasets (
            dataset_id VARCHAR PRIMARY KEY,
            name VARCHAR NOT NULL UNIQUE,
            description VARCHAR NOT NULL DEFAULT '',
            created_at TIMESTAMP NOT NULL,
            created_by VARCHAR NOT NULL DEFAULT '',
            lifecycle VARCHAR NOT NULL DEFAULT 'active'
        )""",
        # One row per immutable version. The fingerprint names the logical content (see
        # store/snapshots.py) and is unique per dataset, so registering the same data twice
        # -- even from two processes at once -- cannot make two versions.
        """CREATE TABLE dataset_versions (
            dataset_id VARCHAR NOT NULL,
            version INTEGER NOT NULL,
            fingerprint VARCHAR NOT NULL,
            blob_sha256 VARCHAR NOT NULL,
            size_bytes BIGINT NOT NULL,
            n_rows BIGINT NOT NULL,
            n_columns INTEGER NOT NULL,
            duplicate_rows BIGINT NOT NULL,
            created_at TIMESTAMP NOT NULL,
            created_by VARCHAR NOT NULL DEFAULT '',
            message VARCHAR NOT NULL DEFAULT '',
            parent_version INTEGER,
            source VARCHAR NOT NULL,
            source_name VARCHAR NOT NULL DEFAULT '',
            contract_revision INTEGER,
            contract_passed BOOLEAN,
            n_failed_checks INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (dataset_id, version),
            UNIQUE (dataset_id, fingerprint)
        )""",
        # Column profiles on the column's numeric axis; see store/profiles.py.
        """CREATE TABLE dataset_columns (
            dataset_id VARCHAR NOT NULL,
            version INTEGER NOT NULL,
            position INTEGER NOT NULL,
            name VARCHAR NOT NULL,
            dtype VARCHAR NOT NULL,
            family VARCHAR NOT NULL,
            count BIGINT NOT NULL,
            nulls BIGINT NOT NULL,
            nan_count BIGINT NOT NULL,
            distinct_count BIGINT NOT NULL,
            distinct_exact BOOLEAN NOT NULL,
            min_text VARCHAR,
            max_text VARCHAR,
            min_value DOUBLE,
            max_value DOUBLE,
            mean DOUBLE,
            std DOUBLE,
            quantiles DOUBLE[],
            hist_edges DOUBLE[],
            hist_counts BIGINT[],
            top_values VARCHAR[],
            top_counts BIGINT[],
            other_count BIGINT NOT NULL DEFAULT 0,
            PRIMARY KEY (dataset_id, version, position)
        )""",
        """CREATE TABLE dataset_tags (
            dataset_id VARCHAR NOT NULL,
            version INTEGER NOT NULL,
            key VARCHAR NOT NULL,
            value VARCHAR NOT NULL,
            PRIMARY KEY (dataset_id, version, key)
        )""",
        # Contracts are edited by adding a revision; spec is JSON (see app/datasets/contracts.py).
        """CREATE TABLE dataset_contracts (
            dataset_id VARCHAR NOT NULL,
            revision INTEGER NOT NULL,
            created_at TIMESTAMP NOT NULL,
            created_by VARCHAR NOT NULL DEFAULT '',
            note VARCHAR NOT NULL DEFAULT '',
            spec VARCHAR NOT NULL,
            PRIMARY KEY (dataset_id, revision)
        )""",
        """CREATE TABLE contract_results (
            dataset_id VARCHAR NOT NULL,
            version INTEGER NOT NULL,
            revision INTEGER NOT NULL,
            position INTEGER NOT NULL,
            check_name VARCHAR NOT NULL,
            column_name VARCHAR NOT NULL DEFAULT '',
            passed BOOLEAN NOT NULL,
            message VARCHAR NOT NULL,
            failing BIGINT NOT NULL DEFAULT 0,
            examples VARCHAR[],
            checked_at TIMESTAMP NOT NULL,
            PRIMARY KEY (dataset_id, version, revision, position)
        )""",
    ),
)

RUN_RECORDS = Migration(
    3,
    "run records: launched runs' spec, input dataset versions and evaluation data",
    (
        # kind: spec | input | evaluation. data is JSON; an input names its dataset
        # version ({"dataset": ..., "version": ...}), an evaluation holds what the pages
        # draw (confusion matrix, ROC and PR curves, residuals, feature importances).
        """CREATE TABLE run_records (
            run_id VARCHAR NOT NULL,
            kind VARCHAR NOT NULL,
            name VARCHAR NOT NULL,
            data VARCHAR NOT NULL,
            PRIMARY KEY (run_id, kind, name)
        )""",
    ),
)

REGISTRY = Migration(
    4,
    "model registry: models, versions, aliases and every alias move",
    (
        """CREATE TABLE models (
            model_id VARCHAR PRIMARY KEY,
            name VARCHAR NOT NULL UNIQUE,
            description VARCHAR NOT NULL DEFAULT '',
            created_at TIMESTAMP NOT NULL,
            created_by VARCHAR NOT NULL DEFAULT ''
        )""",
        # signature, metrics and libraries are JSON; card is markdown.
        """CREATE TABLE model_versions (
            model_id VARCHAR NOT NULL,
            version INTEGER NOT NULL,
            run_id VARCHAR NOT NULL,
            dataset_ref VARCHAR,
            sha256 VARCHAR NOT NULL,
            size_bytes BIGINT NOT NULL,
            signature VARCHAR NOT NULL,
            metrics VARCHAR NOT NULL DEFAULT '{}',
            libraries VARCHAR NOT NULL DEFAULT '{}',
            card VARCHAR NOT NULL DEFAULT '',
            created_at TIMESTAMP NOT NULL,
            created_by VARCHAR NOT NULL DEFAULT '',
            PRIMARY KEY (model_id, version)
        )""",
        """CREATE TABLE model_version_tags (
            model_id VARCHAR NOT NULL,
            version INTEGER NOT NULL,
            key VARCHAR NOT NULL,
            value VARCHAR NOT NULL,
            PRIMARY KEY (model_id, version, key)
        )""",
        """CREATE TABLE model_aliases (
            model_id VARCHAR NOT NULL,
            alias VARCHAR NOT NULL,
            version INTEGER NOT NULL,
            updated_at TIMESTAMP NOT NULL,
            updated_by VARCHAR NOT NULL DEFAULT '',
            PRIMARY KEY (model_id, alias)
        )""",
        "CREATE SEQUENCE alias_event_id START 1",
        """CREATE TABLE alias_events (
            event_id BIGINT PRIMARY KEY DEFAULT nextval('alias_event_id'),
            model_id VARCHAR NOT NULL,
            alias VARCHAR NOT NULL,
            from_version INTEGER,
            to_version INTEGER,
            actor VARCHAR NOT NULL,
            moved_at TIMESTAMP NOT NULL,
            reason VARCHAR NOT NULL DEFAULT ''
        )""",
    ),
)

DRIFT = Migration(
    5,
    "drift reports: immutable comparisons of a current dataset version with a reference",
    (
        """CREATE TABLE drift_reports (
            report_id VARCHAR PRIMARY KEY,
            created_at TIMESTAMP NOT NULL,
            created_by VARCHAR NOT NULL DEFAULT '',
            reference_ref VARCHAR NOT NULL,
            current_ref VARCHAR NOT NULL,
            model_ref VARCHAR,
            n_columns INTEGER NOT NULL,
            n_drifted INTEGER NOT NULL,
            verdict VARCHAR NOT NULL,
            results VARCHAR NOT NULL
        )""",
    ),
)

MONITORING = Migration(
    6,
    "monitoring: a rule per model, and every check it made",
    (
        """CREATE TABLE monitors (
            model VARCHAR PRIMARY KEY,
            dataset VARCHAR NOT NULL,
            target VARCHAR NOT NULL,
            drift_share DOUBLE NOT NULL DEFAULT 0.25,
            auto_promote BOOLEAN NOT NULL DEFAULT false,
            created_at TIMESTAMP NOT NULL,
            created_by VARCHAR NOT NULL DEFAULT ''
        )""",
        """CREATE TABLE monitor_events (
            event_id VARCHAR PRIMARY KEY,
            model VARCHAR NOT NULL,
            dataset_ref VARCHAR NOT NULL,
            report_id VARCHAR,
            fired BOOLEAN NOT NULL,
            action VARCHAR NOT NULL,
            detail VARCHAR NOT NULL DEFAULT '{}',
            checked_at TIMESTAMP NOT NULL
        )""",
    ),
)

MODEL_DRIFT = Migration(
    7,
    "model drift: a report's prediction and performance section; a monitor's performance rule",
    (
        # JSON (workbench.drift.model_drift.ModelDrift.to_json); NULL for a report without a model
        "ALTER TABLE drift_reports ADD COLUMN model_results VARCHAR",
        # the largest tolerated loss in the model's metric, as a share of the reference
        # score; NULL: the rule is off
        "ALTER TABLE monitors ADD COLUMN max_performance_drop DOUBLE",
    ),
)

TEAM = Migration(
    8,
    "team mode: accounts with salted password hashes and roles",
    (
        """CREATE TABLE users (
            name VARCHAR PRIMARY KEY,
            password_hash VARCHAR NOT NULL,
            role VARCHAR NOT NULL,
            disabled BOOLEAN NOT NULL DEFAULT false,
            created_at TIMESTAMP NOT NULL,
            created_by VARCHAR NOT NULL DEFAULT '',
            password_changed_at TIMESTAMP NOT NULL
        )""",
    ),
)

SOURCE_HASHES = Migration(
    9,
    "datasets: the sha256 of each registered file's bytes, to recognize the same file fast",
    (
        # One row per file a version was registered from (the encoding is part of the key:
        # the same bytes read as another encoding are other content).
        """CREATE TABLE dataset_source_hashes (
            dataset_id VARCHAR NOT NULL,
            source_hash VARCHAR NOT NULL,
            version INTEGER NOT NULL,
            PRIMARY KEY (dataset_id, source_hash)
        )""",
    ),
)

NON_FINITE = Migration(
    10,
    "datasets: +inf and -inf counted apart from NaN in column profiles",
    (
        # Older profiles keep every non-finite value in nan_count (they read as 0 here).
        "ALTER TABLE dataset_columns ADD COLUMN posinf_count BIGINT DEFAULT 0",
        "ALTER TABLE dataset_columns ADD COLUMN neginf_count BIGINT DEFAULT 0",
    ),
)

EXACT_QUANTILES = Migration(
    11,
    "datasets: column profiles say whether their quantiles are exact or estimated",
    (
        # Profiles written before this step hold t-digest estimates (false); newer ones
        # exact order statistics (store/profiles.py).
        "ALTER TABLE dataset_columns ADD COLUMN quantiles_exact BOOLEAN DEFAULT false",
    ),
)

LEVEL_SKETCHES = Migration(
    12,
    "datasets: text columns' profiles count levels seen once and keep a hash sample of levels",
    (
        # Levels seen once (exact, every level) and, where the top-levels list is cut off,
        # the levels beyond it with the smallest hashes (store/profiles.py): NULL in
        # profiles written before this step, which drift reports then cannot look beyond.
        "ALTER TABLE dataset_columns ADD COLUMN singletons BIGINT",
        "ALTER TABLE dataset_columns ADD COLUMN tail_hashes UBIGINT[]",
        "ALTER TABLE dataset_columns ADD COLUMN tail_counts BIGINT[]",
    ),
)

SERVING_TOKENS = Migration(
    13,
    "serving: tokens for workbench serve, stored as the sha256 of their secret",
    (
        """CREATE TABLE serving_tokens (
            token_id VARCHAR PRIMARY KEY,
            name VARCHAR NOT NULL,
            secret_hash VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL,
            created_by VARCHAR NOT NULL,
            revoked_at TIMESTAMP,
            revoked_by VARCHAR NOT NULL DEFAULT '',
            last_used_at TIMESTAMP,
            uses BIGINT NOT NULL DEFAULT 0
        )""",
    ),
)

LOGIN_SESSIONS = Migration(
    14,
    "team mode: browser login sessions that survive a reload, stored as the token's sha256",
    (
        """CREATE TABLE login_sessions (
            session_hash VARCHAR PRIMARY KEY,
            user_name VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL,
            expires_at TIMESTAMP NOT NULL,
            ended_at TIMESTAMP,
            address VARCHAR
        )""",
    ),
)

KINDS_AND_CONFIGS = Migration(
    15,
    "runs: a stored kind (run, sweep, trial); drift reports: the configuration they ran with",
    (
        # What a run is, stored rather than guessed from its name: 'run' (a single run),
        # 'sweep' (the parent of a launched sweep) or 'trial' (a sweep's child). Existing
        # sweeps are recognised by the spec record the launcher wrote for each.
        "ALTER TABLE runs ADD COLUMN kind VARCHAR DEFAULT 'run'",
        """UPDATE runs SET kind = 'sweep' WHERE run_id IN
            (SELECT run_id FROM run_records WHERE kind = 'spec' AND name = 'sweep')""",
        """UPDATE runs SET kind = 'trial'
            WHERE parent_run_id IN (SELECT run_id FROM runs WHERE kind = 'sweep')""",
        # JSON of workbench.drift.DriftConfig (thresholds and per-column methods); NULL for a
        # report made before configurations were stored.
        "ALTER TABLE drift_reports ADD COLUMN config VARCHAR",
    ),
)

MIGRATIONS: tuple[Migration, ...] = (
    CORE_TRACKING,
    DATASETS,
    RUN_RECORDS,
    REGISTRY,
    DRIFT,
    MONITORING,
    MODEL_DRIFT,
    TEAM,
    SOURCE_HASHES,
    NON_FINITE,
    EXACT_QUANTILES,
    LEVEL_SKETCHES,
    SERVING_TOKENS,
    LOGIN_SESSIONS,
    KINDS_AND_CONFIGS,
)
HEAD = MIGRATIONS[-1].version

_VERSION_TABLE = """CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name VARCHAR NOT NULL,
    applied_at TIMESTAMP NOT NULL
)"""


@dataclass(frozen=True)
class SchemaStatus:
    """Where a database file stands: ``path`` (the file), ``version`` (the last step applied,
    0 for a new file), ``head`` (the last step this code knows) and ``applied`` (each
    recorded step as ``(version, name, applied_at)``, applied_at naive UTC, in order)."""

    path: Path
    version: int
    head: int
    applied: tuple[tuple[int, str, datetime], ...]

    @property
    def pending(self) -> int:
        """How many steps :func:`upgrade` would apply (0 when up to date or newer)."""
        return max(self.head - self.version, 0)


def status(store: Store, migrations: tuple[Migration, ...] | None = None) -> SchemaStatus:
    """The database's schema version and the migrations recorded in it."""
    migrations = migrations or MIGRATIONS
    with store.connection() as con:
        applied = _applied(con)
    version = applied[-1][0] if applied else 0
    return SchemaStatus(store.path, version, migrations[-1].version, tuple(applied))


def upgrade(
    store: Store,
    backup_dir: Path | None = None,
    migrations: tuple[Migration, ...] | None = None,
) -> list[Migration]:
    """Bring the database to the head version and return the steps applied.

    An existing database (version >= 1) is first copied into ``backup_dir``. Raises
    :class:`SchemaOutOfDate` if the database is newer than the code or a step fails; a
    failed step leaves the database at the version before it. ``migrations`` defaults to
    this module's ``MIGRATIONS``, read at call time.
    """
    migrations = migrations or MIGRATIONS
    head = migrations[-1].version
    with store.connection() as con:
        applied = _applied(con)
        current = applied[-1][0] if applied else 0
        if current > head:
            raise SchemaOutOfDate(
                f"The workspace database {store.path} is at schema version {current}, newer "
                f"than this workbench knows ({head}). Upgrade the workbench "
                "(pip install -U mlops-workbench, or git pull) before opening it."
            )
        todo = [m for m in migrations if m.version > current]
        if not todo:
            return []
        if current >= 1 and backup_dir is not None:
            _backup(con, store.path, backup_dir, current)
        con.execute(_VERSION_TABLE)
        if current == 0:  # a new database: every step in one transaction, all or nothing
            _apply(con, todo, store.path)
        else:
            for step in todo:
                _apply(con, [step], store.path)
    return todo


def _apply(con: duckdb.DuckDBPyConnection, steps: list[Migration], path: Path) -> None:
    """Apply ``steps`` in one transaction (a new database takes all of them at once: a
    commit per step made a new workspace cost 63 ms of CPU, 14 steps; once, 20 ms)."""
    con.begin()
    step = steps[0]
    try:
        for step in steps:
            for sql in step.statements:
                con.execute(sql)
            con.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                [step.version, step.name, datetime.now(UTC).replace(tzinfo=None)],
            )
        con.commit()
    except duckdb.Error as exc:
        rollback_quietly(con)
        left = steps[0].version - 1
        where = "empty (a new database)" if left == 0 else f"at version {left}"
        raise SchemaOutOfDate(
            f"Migration {step.version} ({step.name}) failed on {path}: {exc}. The database "
            f"was left {where}; a backup of an existing one is in the workspace's backups/ "
            "folder."
        ) from exc


def _applied(con: duckdb.DuckDBPyConnection) -> list[tuple[int, str, datetime]]:
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'schema_migrations'"
    ).fetchone()[0]
    if not exists:
        return []
    return con.execute(
        "SELECT version, name, applied_at FROM schema_migrations ORDER BY version"
    ).fetchall()


def _backup(con: duckdb.DuckDBPyConnection, db: Path, backup_dir: Path, version: int) -> Path:
    # Holding the connection keeps every other process out while the file is copied;
    # CHECKPOINT folds the WAL in so the single file is the whole database.
    con.execute("CHECKPOINT")
    backup_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = backup_dir / f"{db.stem}-v{version}-{stamp}{db.suffix}"
    shutil.copy2(db, target)
    return target


def dump_schema(store: Store) -> str:
    """The schema as deterministic SQL text (tables, sequences, indexes), for the snapshot."""

    def work(tx) -> str:
        parts = []
        for kind, fn in (("sequence", "duckdb_sequences"), ("table", "duckdb_tables")):
            name_col = f"{kind}_name"
            rows = tx.fetchall(
                f"SELECT {name_col}, sql FROM {fn}() WHERE schema_name = 'main' "
                f"AND NOT temporary ORDER BY {name_col}"
            )
            parts += [f"{sql.strip().rstrip(';')};" for _, sql in rows]
        rows = tx.fetchall(
            "SELECT index_name, sql FROM duckdb_indexes() WHERE schema_name = 'main' "
            "ORDER BY index_name"
        )
        parts += [f"{sql.strip().rstrip(';')};" for _, sql in rows]
        return "\n\n".join(parts) + "\n"

    return store.read(work)


def write_snapshot() -> None:
    """Rewrite the committed head-schema snapshot from a freshly migrated database."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "meta.duckdb")
        upgrade(store)
        SNAPSHOT_PATH.write_text(dump_schema(store))
    print(f"wrote {SNAPSHOT_PATH}")
