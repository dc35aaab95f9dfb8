"""Live ingestion: a watchdog observer on ``runs/`` feeding :func:`workbench.tracking.ingest.sync`,
and
on ``inbox/`` feeding :func:`workbench.datasets.inbox.scan` (dropped files become dataset versions).

The observer only notes which runs' logs changed; one background thread ingests them in
batches every ``interval`` seconds, and every ``reap_every`` seconds marks abandoned runs
lost. A full sync every ``full_sync_every`` seconds covers file systems where change
events do not arrive (network mounts). Errors are counted and kept, never raised: the
next round tries again. Inbox files are taken once unchanged for ``inbox_settle`` seconds
across two looks, so a file still being copied is never read.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import dataclass, field

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from workbench.datasets import inbox
from workbench.settings import Settings
from workbench.store.errors import WorkbenchError
from workbench.store.gateway import Deferred, polite
from workbench.store.workspace import Workspace
from workbench.tracking import ingest
from workbench.tracking.events import EVENTS_FILE

log = logging.getLogger(__name__)
OVERDUE_S = 30.0
"""Seconds after which background ingestion stops standing aside and queues for its turn."""


@dataclass
class WatcherStats:
    """Running totals of a :class:`RunWatcher`: ingestion
    ``rounds``, ``events`` and metric ``points`` ingested, runs marked ``lost``, inbox files
    that became ``dataset_versions`` or were ``rejected_files``, ``errors`` (the last as
    ``last_error``, "Type: message"), rounds ``deferred`` to other processes, ``last_sync``
    (epoch seconds) and the run ids whose logs changed since the last round (``dirty``).
    Shown by the app (errors) and ``workbench sync --watch``."""

    rounds: int = 0
    events: int = 0
    points: int = 0
    lost: int = 0
    dataset_versions: int = 0
    rejected_files: int = 0
    errors: int = 0
    deferred: int = 0  # rounds that stood aside while other processes wanted the database
    last_error: str | None = None
    last_sync: float | None = None
    dirty: set[str] = field(default_factory=set)


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: RunWatcher) -> None:
        self._watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        path = str(event.src_path)
        if path.endswith(EVENTS_FILE):
            self._watcher.mark_dirty(path.rsplit("/", 2)[-2])
        elif path.startswith(self._watcher.inbox_root):
            self._watcher.inbox_dirty = True


class RunWatcher:
    """Live ingestion for the workspace ``ws`` (module docstring): every ``interval``
    seconds a background thread ingests the runs whose logs changed and scans the inbox,
    every ``reap_every`` seconds marks abandoned runs lost, every ``full_sync_every``
    seconds syncs every run. ``settings`` (default: from the environment) gives the inbox
    settle time and heartbeat timeout. Nothing runs until :meth:`start`; errors are counted
    in :attr:`stats`, never raised from the thread."""

    def __init__(
        self,
        ws: Workspace,
        settings: Settings | None = None,
        *,
        interval: float = 1.0,
        reap_every: float = 10.0,
        full_sync_every: float = 60.0,
    ) -> None:
        self.ws = ws
        self.settings = settings or Settings.from_env()
        self.interval = interval
        self.reap_every = reap_every
        self.full_sync_every = full_sync_every
        self.stats = WatcherStats()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._observer = Observer()
        self._thread = threading.Thread(target=self._loop, name="wb-ingest", daemon=True)
        self.inbox_root = str(ws.paths.inbox)
        self.inbox_dirty = True  # look once at start: files may have arrived while stopped
        self._inbox_seen: dict = {}
        self._last_ingest = time.monotonic()
        self._last_reap = time.monotonic()

    def mark_dirty(self, run_id: str) -> None:
        """Note that ``run_id``'s event log changed: the next round ingests it."""
        with self._lock:
            self.stats.dirty.add(run_id)

    def start(self) -> RunWatcher:
        """Create ``runs/`` and ``inbox/`` if missing, start the file observer and the
        ingestion thread (both daemons); returns self. Call once: a thread starts only once."""
        self.ws.paths.runs.mkdir(parents=True, exist_ok=True)
        self.ws.paths.inbox.mkdir(parents=True, exist_ok=True)
        handler = _Handler(self)
        self._observer.schedule(handler, str(self.ws.paths.runs), recursive=True)
        self._observer.schedule(handler, self.inbox_root, recursive=True)
        self._observer.daemon = True
        self._observer.start()
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop watching and wait for the round in flight to finish (a round is bounded by
        the store's lock timeout). A caller's last ``run_once`` must not overlap it: two
        rounds writing the same run's cursor in one process conflict, and the last round
        lost the events it should have taken (seen once under load)."""
        self._stop.set()
        self._observer.stop()
        self._observer.join(timeout=5)
        self._thread.join(timeout=180)

    def run_once(self, full: bool = False, background: bool = False) -> bool:
        """One round: ingest dirty (or all) runs. ``background``: stand aside (keep them
        dirty for the next round) while other processes want the database, unless the last
        round that ingested is more than ``OVERDUE_S`` seconds old. Whether it ingested."""
        with self._lock:
            dirty, self.stats.dirty = self.stats.dirty, set()
        overdue = time.monotonic() - self._last_ingest > OVERDUE_S
        try:
            with polite() if background and not overdue else contextlib.nullcontext():
                result = ingest.sync(self.ws, None if full else dirty)
            self._last_ingest = time.monotonic()
            self.stats.events += result.events
            self.stats.points += result.points
            self.stats.last_sync = time.time()
            return True
        except Deferred:
            with self._lock:
                self.stats.dirty |= dirty  # not an error: busy, so later
            self.stats.deferred += 1
            return False
        except WorkbenchError as exc:
            with self._lock:
                self.stats.dirty |= dirty  # try these again next round
            self._note_error(exc)
            return False
        finally:
            self.stats.rounds += 1

    def scan_inbox(self) -> None:
        """Take settled inbox files; keep looking while some are still settling."""
        self.inbox_dirty = False
        try:
            outcomes = inbox.scan(self.ws, self.settings.inbox_settle, seen=self._inbox_seen)
        except Exception as exc:
            self.inbox_dirty = True
            self._note_error(exc)
            return
        for outcome in outcomes:
            if outcome.registration is not None and outcome.registration.created:
                self.stats.dataset_versions += 1
            elif outcome.registration is None:
                self.stats.rejected_files += 1
        if self._inbox_seen:  # files still settling: look again next round
            self.inbox_dirty = True

    def reap(self) -> None:
        """Mark runs whose heartbeat stopped as lost: background work (:func:`polite`)."""
        overdue = time.monotonic() - self._last_reap > OVERDUE_S
        try:
            with contextlib.nullcontext() if overdue else polite():
                lost = ingest.reap_lost_runs(self.ws, self.settings.heartbeat_timeout)
            self._last_reap = time.monotonic()
            self.stats.lost += len(lost)
        except Deferred:
            self.stats.deferred += 1  # busy: the next round looks again
        except WorkbenchError as exc:
            self._note_error(exc)

    def _loop(self) -> None:
        last_reap = last_full = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            full = now - last_full >= self.full_sync_every
            try:
                ingested = bool(full or self.stats.dirty) and self.run_once(full, True)
                if ingested and full:
                    last_full = now
                if self.inbox_dirty:
                    self.scan_inbox()
                if now - last_reap >= self.reap_every:
                    self.reap()
                    last_reap = now
            except Exception as exc:  # a bug must not stop live ingestion for good
                log.exception("ingestion round failed")
                self._note_error(exc)
            self._stop.wait(self.interval)

    def _note_error(self, exc: BaseException) -> None:
        self.stats.errors += 1
        self.stats.last_error = f"{type(exc).__name__}: {exc}"
        log.warning("ingestion: %s", self.stats.last_error)


_server_watcher: RunWatcher | None = None


def start_server_watcher(ws: Workspace, settings: Settings) -> RunWatcher:
    """The app server's watcher, started before the server (``workbench ui``)."""
    global _server_watcher
    if _server_watcher is None:
        _server_watcher = RunWatcher(ws, settings).start()
    return _server_watcher


def server_watcher() -> RunWatcher | None:
    """The watcher :func:`start_server_watcher` started in this process, or None."""
    return _server_watcher
