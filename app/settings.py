"""Where the workspace is and the knobs of tracking, read from the environment.

| variable | default | meaning |
| --- | --- | --- |
| WORKBENCH_WORKSPACE | see below | the workspace folder |
| WORKBENCH_USER | the login name | who is recorded as author |
| WORKBENCH_HEARTBEAT_INTERVAL | 5 | seconds between a live run's heartbeats |
| WORKBENCH_HEARTBEAT_TIMEOUT | 60 | seconds without heartbeat before a run is marked lost |
| WORKBENCH_INGEST_INTERVAL | 5 | seconds between a live run's own ingestions (0: only at end) |
| WORKBENCH_LOCK_TIMEOUT | 30 | seconds to wait for another process's database lock |
| WORKBENCH_DB_LINGER | 0.1 | seconds the database stays open after a unit of work |
| WORKBENCH_MAX_UPLOAD_MB | 200 | largest data file accepted for a dataset version |
| WORKBENCH_INBOX_SETTLE | 2 | seconds an inbox file must stay unchanged before it is taken |
| WORKBENCH_WORKERS | 2 | training processes a launch runs at once |
| WORKBENCH_DASK_SCHEDULER | (none) | a Dask scheduler address: launches run there instead |
| WORKBENCH_TEAM | 0 | 1: team mode, every page needs a login (`workbench ui --team`) |
| WORKBENCH_SESSION_HOURS | 12 | a team-mode login lasts this long |
| WORKBENCH_TRUSTED_USER_HEADER | (none) | behind a proxy that sets it: the header naming the user |
| WORKBENCH_MAX_TRIALS | 500 | the most trials one sweep may start |
| WORKBENCH_MAX_SCORE_ROWS | 200000 | rows per side a report with a model scores (else a sample) |
| WORKBENCH_DEBUG | 0 | 1: a CLI bug prints its traceback (always kept in the error log) |
"""

from __future__ import annotations

import getpass
import math
import os
from dataclasses import dataclass
from pathlib import Path

from workbench.store.errors import InvalidInput

WORKSPACE_ENV = "WORKBENCH_WORKSPACE"
DEFAULT_WORKSPACE = "workspace"


@dataclass(frozen=True)
class Settings:
    """The tracking and server knobs, each with its default; :meth:`from_env` reads them
    from the environment variables of the table in the module docstring. Durations are
    seconds (``session_hours`` hours), ``max_upload_mb`` mebibytes."""

    heartbeat_interval: float = 5.0
    heartbeat_timeout: float = 60.0
    ingest_interval: float = 5.0
    lock_timeout: float = 30.0
    db_linger: float = 0.1
    max_upload_mb: float = 200.0
    inbox_settle: float = 2.0
    workers: int = 2
    dask_scheduler: str | None = None
    team: bool = False
    trusted_user_header: str | None = None
    session_hours: float = 12.0
    max_trials: int = 500
    max_score_rows: int = 200_000

    @property
    def max_upload_bytes(self) -> int:
        """``max_upload_mb`` in bytes (1 MB here is 1024 * 1024 bytes)."""
        return int(self.max_upload_mb * 1024 * 1024)

    @classmethod
    def from_env(cls) -> Settings:
        """The settings as the environment gives them now (unset or empty: the default).
        Each number must be finite and in range: durations 0 to a week of seconds, the
        session above 0 and at most 366 days of hours, uploads at most 1e6 MB, workers
        1024, trials 1e6, score rows 1e9 (a count below 1 is raised to 1). InvalidInput,
        naming the variable, the range and the value given, otherwise."""
        return cls(
            heartbeat_interval=_seconds("WORKBENCH_HEARTBEAT_INTERVAL", cls.heartbeat_interval),
            heartbeat_timeout=_seconds("WORKBENCH_HEARTBEAT_TIMEOUT", cls.heartbeat_timeout),
            ingest_interval=_seconds("WORKBENCH_INGEST_INTERVAL", cls.ingest_interval),
            lock_timeout=_seconds("WORKBENCH_LOCK_TIMEOUT", cls.lock_timeout),
            db_linger=_seconds("WORKBENCH_DB_LINGER", cls.db_linger),
            max_upload_mb=_number("WORKBENCH_MAX_UPLOAD_MB", cls.max_upload_mb, "megabytes", 1e6),
            inbox_settle=_seconds("WORKBENCH_INBOX_SETTLE", cls.inbox_settle),
            workers=max(1, int(_number("WORKBENCH_WORKERS", cls.workers, "workers", 1024))),
            dask_scheduler=os.environ.get("WORKBENCH_DASK_SCHEDULER") or None,
            team=os.environ.get("WORKBENCH_TEAM", "0").strip().lower() in ("1", "true", "yes"),
            trusted_user_header=os.environ.get("WORKBENCH_TRUSTED_USER_HEADER") or None,
            session_hours=_number(
                "WORKBENCH_SESSION_HOURS", cls.session_hours, "hours", 24 * 366, positive=True
            ),
            max_trials=max(1, int(_number("WORKBENCH_MAX_TRIALS", cls.max_trials, "trials", 1e6))),
            max_score_rows=max(
                1, int(_number("WORKBENCH_MAX_SCORE_ROWS", cls.max_score_rows, "rows", 1e9))
            ),
        )


def workspace_path(path: str | os.PathLike | None = None) -> Path:
    """The workspace folder: the argument, else $WORKBENCH_WORKSPACE, else the nearest
    ``workspace/`` holding a database in the current folder or one of its parents (so a
    notebook in a subfolder of the project logs where the app reads), else ./workspace."""
    raw = path if path is not None else os.environ.get(WORKSPACE_ENV)
    if raw:
        return Path(raw).expanduser().absolute()
    here = Path.cwd()
    for folder in (here, *here.parents):
        candidate = folder / DEFAULT_WORKSPACE
        if (candidate / "meta.duckdb").is_file():
            return candidate
    return here / DEFAULT_WORKSPACE


def current_user() -> str:
    """The name this process records as author: WORKBENCH_USER if set, else the login name
    (``getpass.getuser``: LOGNAME, USER, ... then the password database), else "unknown".
    A claim, not a proof: a team workspace ignores it (``workbench.team.auth``)."""
    user = os.environ.get("WORKBENCH_USER")
    if user:
        return user
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


WEEK_S = 7 * 24 * 3600.0


def _seconds(name: str, default: float) -> float:
    return _number(name, default, "seconds", WEEK_S)


def _number(
    name: str, default: float, unit: str, maximum: float, *, positive: bool = False
) -> float:
    """The setting ``name`` as a finite number from 0 (above 0 with ``positive``) to
    ``maximum``; ``default`` when unset. InvalidInput, naming the range, otherwise: "nan",
    "inf" or 1e9 hours were accepted once and failed later, at every login."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InvalidInput(f"{name} must be a number of {unit}; got {raw!r}.") from None
    low = "more than 0" if positive else "0 or more"
    if not math.isfinite(value) or value < 0 or (positive and value == 0) or value > maximum:
        raise InvalidInput(f"{name} must be {low} and at most {maximum:g} {unit}; got {raw!r}.")
    return value
