"""Small read-only objects the store returns. Never cursors, never rows with meaning by index."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

ParamValue = int | float | bool | str | None

# A launched run waits ``queued`` until a worker starts it (MLflow's SCHEDULED); a run logged
# from code is ``running`` from its creation. The other four are ends.
RUN_STATUSES = ("queued", "running", "finished", "failed", "killed", "lost")
UNENDED_STATUSES = ("queued", "running")
ENDED_STATUSES = ("finished", "failed", "killed", "lost")
# What a run is, stored (schema step 15), never guessed from its name: ``run`` (one
# training execution: every run logged from code, a single launched run), ``sweep`` (the
# parent the launcher makes for a sweep; it trains nothing) or ``trial`` (one of a sweep's
# children).
RUN_KINDS = ("run", "sweep", "trial")


def utcnow() -> datetime:
    """Naive UTC 'now', the form every TIMESTAMP column holds."""
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class Experiment:
    """A named group of runs (MLflow's experiment).

    ``experiment_id``: a hex id; ``name``: unique among experiments; ``description``: free text
    ('' when none); ``lifecycle``: ``active`` (the column follows MLflow's lifecycle stage; only
    active experiments are listed); ``created_at``: naive UTC; ``created_by``: the user name that
    created it.
    """

    experiment_id: str
    name: str
    description: str
    lifecycle: str
    created_at: datetime
    created_by: str


@dataclass(frozen=True)
class ExperimentSummary:
    """An experiment with counts of its active (not deleted) runs, for the experiments list.

    ``run_count``: every active run, whatever its status; ``running``: those with status
    ``running``; ``queued``: those with status ``queued``; ``last_run_at``: the latest
    ``started_at`` among them (naive UTC), None when it has no active run.
    """

    experiment: Experiment
    run_count: int
    running: int
    last_run_at: datetime | None
    queued: int = 0


@dataclass(frozen=True)
class Run:
    """One run as stored. ``kind`` is one of :data:`RUN_KINDS` (``sweep``: a launched sweep's
    parent, ``trial``: one of its children; a run named "... sweep" is not one).

    ``run_id``: 32 hex digits; ``experiment_id``: its experiment; ``name``: shown name (``run-``
    and 6 hex digits when none was given); ``status``: one of :data:`RUN_STATUSES`; ``source``:
    who made it (``sdk`` from code, ``ui`` by the launcher, ``mlflow`` by an import);
    ``parent_run_id``: the sweep it belongs to, or None; ``created_by``: user name; ``host`` /
    ``pid``: the machine and process that logs it (None when unknown); ``started_at`` /
    ``ended_at``: naive UTC (``started_at`` is when it was queued until a queued run starts;
    ``ended_at`` None until it ends); ``error``: why it failed or was killed (the fluent API
    keeps at most 8,000 characters), else None; ``lifecycle``: ``active`` or ``deleted`` (in the
    trash).
    """

    run_id: str
    experiment_id: str
    name: str
    status: str
    source: str
    parent_run_id: str | None
    created_by: str
    host: str | None
    pid: int | None
    started_at: datetime
    ended_at: datetime | None
    error: str | None
    lifecycle: str
    kind: str = "run"

    @property
    def is_sweep(self) -> bool:
        """True for the parent run of a launched sweep (its trials are its children)."""
        return self.kind == "sweep"

    @property
    def duration_s(self) -> float | None:
        """Seconds from start to end (to now while running); None while queued: until a
        queued run starts, ``started_at`` is when it was queued."""
        end = self.ended_at or (utcnow() if self.status == "running" else None)
        return None if end is None else max((end - self.started_at).total_seconds(), 0.0)


@dataclass(frozen=True)
class MetricSummary:
    """One metric key of one run, summarised from all its logged points.

    ``last_value``: the value at the highest step (ties: the one logged last), as logged
    (may be NaN or infinite); ``last_step``: that highest step; ``min_value`` /
    ``max_value``: over the finite points only (None when no point is finite);
    ``n_points``: every logged point, NaN and infinities included.
    """

    key: str
    last_value: float
    last_step: int
    min_value: float | None
    max_value: float | None
    n_points: int


@dataclass(frozen=True)
class Artifact:
    """A file logged to a run. ``path``: its name relative to the run (e.g. ``model.joblib``);
    ``sha256``: hex digest of its content, which names its blob in the workspace's blob
    store; ``size_bytes``: its size in bytes; ``created_at``: naive UTC."""

    run_id: str
    path: str
    sha256: str
    size_bytes: int
    created_at: datetime


@dataclass(frozen=True)
class RunDetail:
    """Everything about one run the run page shows: the :class:`Run`, its experiment's
    name, its params (each with the Python type it was logged with), tags, metric summaries
    by key and artifacts (ordered by path)."""

    run: Run
    experiment_name: str
    params: dict[str, ParamValue] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, MetricSummary] = field(default_factory=dict)
    artifacts: tuple[Artifact, ...] = ()


@dataclass(frozen=True)
class AuditEvent:
    """One recorded action (``store.audit``). ``event_id``: increasing; ``ts``: naive UTC;
    ``actor``: the user name; ``action``: a dotted verb such as ``run.trash`` or
    ``model.version.create``; ``object_type`` / ``object_id``: what changed (e.g.
    ``model_version``, ``churn-classifier/3``); ``detail``: a JSON object as text."""

    event_id: int
    ts: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    detail: str


@dataclass(frozen=True)
class IngestState:
    """How far ingestion of a run's ``events.jsonl`` has got: ``byte_offset`` is the number
    of bytes of the file already read and stored, ``last_seq`` the sequence number of the last
    event stored (0 before any)."""

    run_id: str
    byte_offset: int
    last_seq: int


@dataclass(frozen=True)
class Condition:
    """One comparison in a runs search: ``metrics.auc > 0.9`` is
    ``Condition("metrics", "auc", ">", 0.9)``. ``value`` is ignored for IS [NOT] NULL."""

    field: str
    key: str
    op: str
    value: ParamValue = None


@dataclass(frozen=True)
class Where:
    """Conditions joined by ``AND`` or ``OR``; items are conditions or nested ``Where``."""

    op: str
    items: tuple[Condition | Where, ...]


Filter = Condition | Where


@dataclass(frozen=True)
class OrderBy:
    """One ordering term of a runs search. ``field``: ``attributes``, ``metrics``, ``params``
    or ``tags``; ``key``: the attribute name (see ``store.tracking.RUN_ATTRIBUTES``) or the
    metric/param/tag key; ``descending``: largest first. Missing values sort last either
    way."""

    field: str
    key: str
    descending: bool = False


# -- datasets ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnProfile:
    """One column of a dataset version: schema and statistics (see ``store.profiles``).

    ``min_value``/``max_value``/``mean``/``std``/``quantiles``/``hist_edges`` are on the
    column's numeric axis (dates: days since 1970-01-01; timestamps: seconds);
    ``min_text``/``max_text`` are the same extremes as the user writes them.

    Non-finite floats are counted apart and left out of every statistic on the numeric
    axis: ``nan_count`` NaN values, ``posinf_count`` +inf, ``neginf_count`` -inf (all
    three among ``count``, the non-null values; NULL is counted in ``nulls`` only). So
    min, max, mean, std, quantiles and the histogram are over the finite values.
    Versions profiled before schema step 10 have the infinities inside ``nan_count``.

    ``quantiles_exact`` says whether ``quantiles`` (so the median) are exact order
    statistics (every version profiled from schema step 11 on) or a t-digest estimate
    (versions profiled before); ``distinct_exact`` the same for ``distinct``. Displays mark
    estimates with "≈".

    ``singletons``: text and boolean columns' levels seen once, exact (None in versions
    profiled before schema step 12, and for numbers). ``tail_hashes`` / ``tail_counts``:
    where the top-levels list is cut off, a sample of the levels beyond it, the
    ``store.profiles.SKETCH_SIZE`` with the smallest ``store.profiles.level_hash``
    (ascending) and their row counts; every tail level when there are that few.
    """

    position: int
    name: str
    dtype: str
    family: str
    count: int
    nulls: int
    nan_count: int
    distinct: int
    distinct_exact: bool
    min_text: str | None
    max_text: str | None
    min_value: float | None
    max_value: float | None
    mean: float | None
    std: float | None
    quantiles: tuple[float, ...] = ()
    hist_edges: tuple[float, ...] = ()
    hist_counts: tuple[int, ...] = ()
    top_values: tuple[str, ...] = ()
    top_counts: tuple[int, ...] = ()
    other_count: int = 0
    posinf_count: int = 0
    neginf_count: int = 0
    quantiles_exact: bool = False
    singletons: int | None = None
    tail_hashes: tuple[int, ...] = ()
    tail_counts: tuple[int, ...] = ()

    @property
    def non_finite(self) -> int:
        """NaN, +inf and -inf values together (non-null values off the numeric axis)."""
        return self.nan_count + self.posinf_count + self.neginf_count

    @property
    def is_numeric(self) -> bool:
        """True for integer, float, date and timestamp columns (those with a numeric axis)."""
        return self.family in ("integer", "float", "date", "timestamp")

    def quantile(self, q: float) -> float | None:
        """The ``q`` quantile (0..1) read off the stored quantile function (the nearest of
        its 1,001 points; ``quantile(0.5)`` is the median)."""
        if not self.quantiles:
            return None
        return self.quantiles[round(q * (len(self.quantiles) - 1))]


@dataclass(frozen=True)
class Dataset:
    """A named collection of dataset versions (e.g. ``churn``). ``dataset_id``: a hex id;
    ``name``: unique; ``description``: free text; ``created_at``: naive UTC; ``created_by``: user
    name; ``lifecycle``: ``active`` (lists show active datasets only); ``latest_version``: the
    highest version number (0 before the first); ``n_versions``: how many versions it has."""

    dataset_id: str
    name: str
    description: str
    created_at: datetime
    created_by: str
    lifecycle: str
    latest_version: int
    n_versions: int


@dataclass(frozen=True)
class DatasetVersion:
    """An immutable snapshot of a dataset, written ``name@vN`` (see :attr:`ref`).

    ``version``: 1, 2, ... per dataset; ``fingerprint``: sha256 hex of the logical content
    (schema and rows, independent of file format; ``store.snapshots``), unique per dataset;
    ``blob_sha256``: hex digest of the stored Parquet file; ``size_bytes``: that file's size in
    bytes; ``n_rows`` / ``n_columns``: its shape; ``duplicate_rows``: rows that repeat an earlier
    row exactly; ``created_at``: naive UTC; ``created_by``: user name; ``message``: the note
    given when registering ('' when none); ``parent_version``: the version it was derived from,
    or None; ``source``: how it arrived (one of ``workbench.datasets.versions.SOURCES``:
    ``upload`` from the app, ``path`` a file, ``sdk`` a DataFrame, ``inbox`` the watched folder,
    ``prediction`` a model's scored output); ``source_name``: the file or label it came from;
    ``contract_revision``: the contract revision it was checked against, None when not checked;
    ``contract_passed``: that check's outcome (None when not checked); ``n_failed_checks``:
    failed checks (0 when not checked); ``tags``: key to value.
    """

    dataset_id: str
    dataset_name: str
    version: int
    fingerprint: str
    blob_sha256: str
    size_bytes: int
    n_rows: int
    n_columns: int
    duplicate_rows: int
    created_at: datetime
    created_by: str
    message: str
    parent_version: int | None
    source: str
    source_name: str
    contract_revision: int | None
    contract_passed: bool | None
    n_failed_checks: int
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        """``name@vN``, e.g. ``churn@v3``."""
        return f"{self.dataset_name}@v{self.version}"


@dataclass(frozen=True)
class CheckResult:
    """One contract check on one version: ``check`` is e.g. ``range``, ``column`` may be
    empty for table-level checks, ``examples`` are up to 20 failing values."""

    check: str
    column: str
    passed: bool
    message: str
    failing: int = 0
    examples: tuple[str, ...] = ()


# -- model registry ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Model:
    """A registered model (e.g. ``churn-classifier``). ``model_id``: a hex id; ``name``:
    unique; ``description``: free text; ``created_at``: naive UTC; ``created_by``: user
    name; ``latest_version``: the highest version number; ``aliases``: alias name to the
    version it points at (e.g. ``{"champion": 3}``)."""

    model_id: str
    name: str
    description: str
    created_at: datetime
    created_by: str
    latest_version: int
    aliases: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelVersion:
    """An immutable version of a model, made from a run's logged ``model.joblib``.

    ``version``: 1, 2, ... per model (see :attr:`ref`); ``run_id``: the run it came from;
    ``dataset_ref``: the training dataset version (``name@vN``) or None when unknown;
    ``sha256`` / ``size_bytes``: the model file's digest (hex) and size in bytes;
    ``signature``: the input/output schema (JSON object, ``workbench.registry.signature``);
    ``metrics``: the run's last value of each metric; ``libraries``: library name to
    version (from the run's ``env.*`` tags); ``card``: the model card as markdown;
    ``created_at``: naive UTC; ``created_by``: user name; ``tags``: key to value;
    ``aliases``: the aliases now pointing at this version.
    """

    model_id: str
    model_name: str
    version: int
    run_id: str
    dataset_ref: str | None
    sha256: str
    size_bytes: int
    signature: dict
    metrics: dict
    libraries: dict
    card: str
    created_at: datetime
    created_by: str
    tags: dict[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()

    @property
    def ref(self) -> str:
        """``model/N``, e.g. ``churn-classifier/3``."""
        return f"{self.model_name}/{self.version}"


@dataclass(frozen=True)
class AliasEvent:
    """One move of a model alias. ``from_version``: where it pointed before (None: the alias
    is new); ``to_version``: where it points now (None: the alias was removed); ``actor``:
    user name; ``moved_at``: naive UTC; ``reason``: the note given ('' when none)."""

    event_id: int
    alias: str
    from_version: int | None
    to_version: int | None
    actor: str
    moved_at: datetime
    reason: str
