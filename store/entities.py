"""Small read-only objects the store returns. Never cursors, never rows with meaning by index."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

ParamValue = int | float | bool | str | None

RUN_STATUSES = ("running", "finished", "failed", "killed", "lost")
ENDED_STATUSES = ("finished", "failed", "killed", "lost")


def utcnow() -> datetime:
    """Naive UTC 'now', the form every TIMESTAMP column holds."""
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class Experiment:
    experiment_id: str
    name: str
    description: str
    lifecycle: str
    created_at: datetime
    created_by: str


@dataclass(frozen=True)
class ExperimentSummary:
    experiment: Experiment
    run_count: int
    running: int
    last_run_at: datetime | None


@dataclass(frozen=True)
class Run:
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

    @property
    def duration_s(self) -> float | None:
        end = self.ended_at or (utcnow() if self.status == "running" else None)
        return None if end is None else max((end - self.started_at).total_seconds(), 0.0)


@dataclass(frozen=True)
class MetricSummary:
    key: str
    last_value: float
    last_step: int
    min_value: float | None
    max_value: float | None
    n_points: int


@dataclass(frozen=True)
class Artifact:
    run_id: str
    path: str
    sha256: str
    size_bytes: int
    created_at: datetime


@dataclass(frozen=True)
class RunDetail:
    run: Run
    experiment_name: str
    params: dict[str, ParamValue] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, MetricSummary] = field(default_factory=dict)
    artifacts: tuple[Artifact, ...] = ()


@dataclass(frozen=True)
class AuditEvent:
    event_id: int
    ts: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    detail: str


@dataclass(frozen=True)
class IngestState:
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
class OrderBy:
    field: str
    key: str
    descending: bool = False
