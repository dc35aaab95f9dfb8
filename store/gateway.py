"""The connection gateway: the only code in the workbench that calls ``duckdb.connect``.

DuckDB lets one process at a time hold a database file, read-only included, and releases
the lock only when every connection of that process is closed. So the gateway never keeps
the file open: each unit of work opens it, runs, commits, checks and closes. Around that:

* a lock held by another process is waited out with jittered backoff up to a deadline,
  then reported as :class:`StoreBusy`;
* a write-write conflict (``TransactionException``) aborts the transaction, and DuckDB
  would silently roll back a later ``COMMIT``; the gateway notices, and re-runs the whole
  unit of work, then reports :class:`Conflict` if it keeps failing;
* a file that is not a DuckDB database, or a path that cannot be opened, is reported as
  :class:`InvalidInput` with the path and what to do.
"""

from __future__ import annotations

import atexit
import os
import random
import re
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pandas as pd
import pyarrow as pa

from workbench.store.errors import (
    FULL_MARKERS,
    AlreadyExists,
    Conflict,
    InvalidInput,
    StoreBusy,
    WorkbenchError,
    storage_full,
)
from workbench.store.text import surrogate_error
from workbench.store.turns import FAR_LOOK_MAX_S, FAR_LOOK_S, Turns

T = TypeVar("T")

COURTESY = 0.01
"""Seconds an idle process keeps the file open while another process waits for it (the
linger is for back-to-back units; idle with someone waiting, it only makes them wait)."""
_LOCK_PATTERN = re.compile(r"Could not set lock|Conflicting lock", re.IGNORECASE)
# Two threads opening the same file at the same instant can collide in DuckDB's instance
# cache; the next attempt finds the instance the other thread made.
_RACE_PATTERN = re.compile(r"Unique file handle conflict|already attached", re.IGNORECASE)
_PID_PATTERN = re.compile(r"\(PID (\d+)\)")
_turn_log: deque[tuple[float, float]] = deque(maxlen=100_000)
_polite = threading.local()


class Deferred(StoreBusy):
    """A background unit of work stood aside: other processes were waiting for the
    database file, and this process did not hold it (:func:`polite`). Try again later."""


@contextmanager
def polite() -> Iterator[None]:
    """Make the units of work in this block (this thread) background work: when this process
    does not hold the file and another process waits for it (a queue has formed), they
    raise :class:`Deferred` at once instead of joining it; behind a lone holder they wait
    their turn as usual. For work that can wait and catch up in a batch (a run's periodic
    ingestion, the app's watcher and reaper): every switch of the file between processes
    costs an open and a close (about 30 ms idle, several times that on a busy machine),
    which such work would otherwise add to every foreground wait. Measured with 4 logging
    processes, the app server and a polling reader on a loaded 2-core machine, the reader's
    p50 wait fell from about 2 s to about 1 s (docs/architecture.md, "Turns")."""
    before = getattr(_polite, "on", False)
    _polite.on = True
    try:
        yield
    finally:
        _polite.on = before


def turn_log() -> list[tuple[float, float]]:
    """This process's turns at the database file, oldest first (the last 100,000): for
    each opening, the seconds it waited for the file (the queue and the lock) and the
    seconds it then held it open. For the fairness test and benchmark."""
    return list(_turn_log)


class Tx:
    """One open transaction. Pages and services never see it; ``store/`` query modules do.

    Every statement goes through :meth:`execute`, so the transaction knows when DuckDB has
    aborted it, and the gateway refuses to report such a transaction as committed.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con
        self.aborted: BaseException | None = None

    def execute(self, sql: str, params: Sequence[Any] | dict | None = None) -> None:
        """Run a statement and consume its result (DuckDB 2 refuses further work on a
        connection whose last result is unfinished)."""
        self._guard(lambda: self._result(sql, params).fetchall())

    def fetchall(self, sql: str, params: Sequence[Any] | dict | None = None) -> list[tuple]:
        """Every row of a query as tuples in the SELECT's column order (empty list when
        none). ``params`` binds ``?`` (a sequence) or ``$name`` (a dict) placeholders. A
        DuckDB error marks the transaction aborted and propagates (the gateway translates it
        when the unit of work ends); a text DuckDB cannot encode raises InvalidInput."""
        return self._guard(lambda: self._result(sql, params).fetchall())

    def fetchone(self, sql: str, params: Sequence[Any] | dict | None = None) -> tuple | None:
        """The first row of :meth:`fetchall`, or None when the query returns none."""
        rows = self.fetchall(sql, params)
        return rows[0] if rows else None

    def records(self, sql: str, params: Sequence[Any] | dict | None = None) -> list[dict[str, Any]]:
        """The rows of a query as dicts keyed by column name (the query's own names and
        aliases), so an entity is built by name (``Entity(**row)``), never by position: a
        column added to a table or reordered in a SELECT cannot shift a field."""

        def run() -> list[dict[str, Any]]:
            result = self._result(sql, params)
            names = [d[0] for d in result.description]
            return [dict(zip(names, row, strict=True)) for row in result.fetchall()]

        return self._guard(run)

    def record(self, sql: str, params: Sequence[Any] | dict | None = None) -> dict[str, Any] | None:
        """The first row of :meth:`records`, or None when the query returns none."""
        rows = self.records(sql, params)
        return rows[0] if rows else None

    def scalar(self, sql: str, params: Sequence[Any] | dict | None = None) -> Any:
        """The first column of the first row (e.g. a ``count(*)``), or None when no row."""
        row = self.fetchone(sql, params)
        return None if row is None else row[0]

    def df(self, sql: str, params: Sequence[Any] | dict | None = None) -> pd.DataFrame:
        """The query's result as a pandas DataFrame, one column per SELECT column (named as
        the query names them). DuckDB converts a NULL float to NaN."""
        return self._guard(lambda: self._result(sql, params).df())

    def _result(self, sql: str, params: Sequence[Any] | dict | None) -> Any:
        return self._guard(
            lambda: self._con.execute(sql, params) if params is not None else self._con.execute(sql)
        )

    def _guard(self, call: Callable[[], T]) -> T:
        try:
            return call()
        except duckdb.Error as exc:
            if self.aborted is None:  # keep the first: later ones only say "aborted"
                self.aborted = exc
            unstorable = _unstorable(exc)
            if unstorable is not None:  # a read says so too, not only a transaction
                raise unstorable from exc
            raise

    def insert_frame(self, table: str, frame: pd.DataFrame | pa.Table, conflict: str = "") -> None:
        """Insert a DataFrame or Arrow table whose columns are named like the table's, in one
        statement. ``conflict`` is an optional ``ON CONFLICT ...`` clause.

        Use Arrow for floats that may be NaN: DuckDB reads a pandas NaN as NULL.
        """
        if len(frame) == 0:
            return
        names = frame.column_names if isinstance(frame, pa.Table) else list(frame.columns)
        with self.registered(frame) as name:
            cols = ", ".join(f'"{c}"' for c in names)
            self.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {name} {conflict}")

    @contextmanager
    def registered(self, frame: pd.DataFrame | pa.Table) -> Iterator[str]:
        """Expose ``frame`` to SQL under the yielded view name for the block's duration."""
        name = f"_frame_{threading.get_ident()}_{id(frame)}"
        self._guard(lambda: self._con.register(name, frame))
        try:
            yield name
        finally:
            try:
                self._con.unregister(name)
            except duckdb.Error:
                if self.aborted is None:
                    raise


class _Instance:
    """This process's DuckDB instance of one database file, and who is using it.

    Every :class:`Store` on the same file shares one (a process may open a workspace more
    than once: a launcher thread's trial does). Two instances of one file in one process
    break DuckDB: it caches the instance per path, and one store connecting while another's
    units of work bind a registered frame made them fail with "Table Function with name
    python_arrow_scan does not exist" (DuckDB 2.0.1; six threads on two stores, about one
    unit in a hundred; ``tests/test_gateway.py``). Sharing the state makes the instance open
    only when no unit of work of this process is in flight, as with a single store.
    """

    def __init__(self, path: Path | None = None) -> None:
        if path is not None:
            self.path = path
        self.turns = Turns(self.path)  # this process's place in the queue for the file
        self.held_since = 0.0  # when the instance opened (the quantum counts from there)
        self.waited = 0.0  # how long this opening waited for the file
        self.next_look = 0.0  # when to look at the queue again (not at every unit of work)
        self.yielding = False  # closing to let waiting processes have their turn
        self.depth = threading.local()  # per thread: its units of work in flight (nesting)
        self.mutex = threading.Lock()
        self.turn = threading.Condition(self.mutex)  # units of work wait out exclusive()
        self.exclusive: int | None = None  # the thread holding exclusive(), if any
        self.anchor: duckdb.DuckDBPyConnection | None = None
        self.active = 0
        self.idle_since = 0.0
        self.closer: threading.Thread | None = None


_instances: weakref.WeakValueDictionary[str, _Instance] = weakref.WeakValueDictionary()
_instances_lock = threading.Lock()


def _instance_for(path: Path) -> _Instance:
    key = os.path.realpath(path)
    with _instances_lock:
        found = _instances.get(key)
        if found is None:
            found = _instances[key] = _Instance(Path(key))
        return found


def _forget_after_fork() -> None:
    # A forked child must not use (or close) the parent's instances; stores that shared one
    # still share its fresh state.
    global _instances_lock
    _instances_lock = threading.Lock()
    for found in list(_instances.values()):
        found.__init__()  # a fresh queue entry too: the parent's is the parent's


class Store:
    """A DuckDB database file used one short unit of work at a time.

    Creating a DuckDB instance costs about 25 ms here (``:memory:`` too), and closing it
    checkpoints. So the store keeps the instance while this process has units of work in
    flight and for ``linger`` seconds after the last one, then closes it and so releases
    the file lock for other processes. Units of work that follow each other closely (the
    several reads of one page render, a run's start and its first ingest) share one open.

    Processes take turns at the file through a first-come, first-served queue
    (:mod:`store.turns`): a process whose units of work keep coming holds the file for at
    most ``quantum`` seconds while another process waits, then closes it and queues again.

    ``lock_timeout`` is how long to wait for the file (the queue ahead and another
    process's lock); ``conflict_retries`` how often to re-run a unit of work that lost a
    write-write conflict.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        lock_timeout: float = 30.0,
        conflict_retries: int = 10,
        linger: float = 0.1,
        quantum: float = 0.1,
    ) -> None:
        self.path = Path(path)
        self.lock_timeout = lock_timeout
        self.conflict_retries = conflict_retries
        self.linger = linger
        self.quantum = quantum
        self._inst = _instance_for(self.path)
        _live_stores.add(self)

    # -- the two verbs every caller uses -------------------------------------------------

    def write(self, work: Callable[[Tx], T]) -> T:
        """Run ``work(tx)`` in one transaction and commit it, re-running it on a conflict.

        ``work`` may run more than once, so it must not have side effects outside ``tx``.
        Raises :class:`StoreBusy`, :class:`Conflict`, :class:`InvalidInput` (bad file).
        """
        delay = 0.005
        last: BaseException | None = None
        for _attempt in range(self.conflict_retries):
            try:
                with self.transaction() as tx:
                    return work(tx)
            except Conflict as exc:
                last = exc
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 0.25)
        raise Conflict(
            f"Another writer kept changing the same rows in {self.path.name}; "
            f"gave up after {self.conflict_retries} attempts. Try again."
        ) from last

    def read(self, work: Callable[[Tx], T]) -> T:
        """Run ``work(tx)`` on a consistent snapshot; nothing is written."""
        with self.connection() as con:
            con.begin()
            try:
                return work(Tx(con))
            finally:
                con.rollback()

    # -- building blocks ------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """One attempt at a transaction: commit on success, :class:`Conflict` on a conflict."""
        with self.connection() as con:
            con.begin()
            tx = Tx(con)
            try:
                yield tx
                if tx.aborted is None:
                    con.commit()
            except BaseException as exc:
                rollback_quietly(con)
                # The first DuckDB error is the cause; later ones only say "aborted".
                raise _translate(tx.aborted or exc) from (tx.aborted or exc)
            if tx.aborted is not None:
                # The body swallowed an error: DuckDB has already rolled back, and a
                # COMMIT now would report success for nothing.
                rollback_quietly(con)
                raise _translate(tx.aborted) from tx.aborted

    @contextmanager
    def connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection of its own for one unit of work (waiting out another process's
        lock if the instance is not open yet); closed afterwards."""
        inst = self._inst
        nested = getattr(inst.depth, "n", 0) > 0  # a unit inside this thread's own unit
        with inst.mutex:
            # A nested unit never waits for a yield: the yield waits for its outer unit.
            me = threading.get_ident()
            while (inst.yielding and not nested) or inst.exclusive not in (None, me):
                inst.turn.wait()
            if inst.anchor is not None and not nested and self._should_yield():
                # Held for a quantum while others wait: let this process's units in flight
                # finish, close (leaving the queue), and queue again at the back.
                inst.yielding = True
                try:
                    while inst.active > 0:
                        inst.turn.wait()
                    self._close_anchor()
                finally:
                    inst.yielding = False
                    inst.turn.notify_all()
            if inst.anchor is None:
                if getattr(_polite, "on", False) and self._others_waiting():
                    raise Deferred(
                        f"The workspace database {self.path} is in use by other processes; "
                        "this background work waits for a quieter moment."
                    )
                inst.anchor = self._connect()
                inst.held_since = time.monotonic()
            # cursor() is a new connection to the same instance: one per unit of work, as
            # DuckDB 2 refuses concurrent use of one connection object by two threads.
            con = self._inst.anchor.cursor()
            self._inst.active += 1
        inst.depth.n = getattr(inst.depth, "n", 0) + 1
        try:
            yield con
        finally:
            inst.depth.n -= 1
            con.close()
            with self._inst.mutex:
                self._inst.active -= 1
                self._inst.turn.notify_all()
                if self._inst.active == 0:
                    self._inst.idle_since = time.monotonic()
                    if self.linger <= 0 or self._should_yield():
                        self._close_anchor()
                    elif self._inst.closer is None:
                        self._inst.closer = threading.Thread(
                            target=self._close_when_idle, name="wb-store-closer", daemon=True
                        )
                        self._inst.closer.start()

    @contextmanager
    def exclusive(self) -> Iterator[Tx]:
        """The database to this caller alone: other processes are locked out (the open
        instance holds the file lock) and this process's other threads wait for the block
        to end, after their units of work in flight have finished. For a consistent copy of
        the file (``store.maintenance.checkpoint``, then copy). Yields a :class:`Tx` outside
        any transaction (statements autocommit); the raw connection never leaves the store."""
        me = threading.get_ident()
        with self._inst.mutex:
            while self._inst.exclusive is not None:
                self._inst.turn.wait()
            self._inst.exclusive = me
            while self._inst.active > 0:
                self._inst.turn.wait()
        try:
            with self.connection() as con:
                yield Tx(con)
        finally:
            with self._inst.mutex:
                self._inst.exclusive = None
                self._inst.turn.notify_all()

    def close(self) -> None:
        """Close the instance now (it reopens on the next unit of work)."""
        with self._inst.mutex:
            if self._inst.active == 0:
                self._close_anchor()

    def _close_when_idle(self) -> None:
        while True:
            with self._inst.mutex:
                if self._inst.anchor is None:
                    self._inst.closer = None
                    return
                idle = time.monotonic() - self._inst.idle_since
                if self._inst.active == 0 and (
                    idle >= self.linger or (idle >= COURTESY and self._others_waiting())
                ):
                    self._close_anchor()
                    self._inst.closer = None
                    return
                wait = min(self.linger - idle, COURTESY) if self._inst.active == 0 else self.linger
            time.sleep(max(wait, 0.002))

    def _close_anchor(self) -> None:
        if self._inst.anchor is not None:
            anchor, self._inst.anchor = self._inst.anchor, None
            try:
                anchor.close()
            finally:
                self._leave_queue()
                held = time.monotonic() - self._inst.held_since
                _turn_log.append((self._inst.waited, held))

    def _should_yield(self) -> bool:
        """Whether this process has held the open file for its quantum while another
        process waits for it (called under the instance mutex with the file open)."""
        inst = self._inst
        now = time.monotonic()
        if now - inst.held_since < self.quantum or now < inst.next_look or not inst.turns.enabled:
            return False
        inst.next_look = now + 0.005  # a look at the queue file costs about 30 us
        return self._others_waiting()

    def _others_waiting(self) -> bool:
        """Whether another process waits for the file (under the instance mutex)."""
        if not self._inst.turns.enabled:
            return False
        try:
            return self._inst.turns.waiting() > 0
        except OSError:
            return False

    def _leave_queue(self) -> None:
        try:
            self._inst.turns.leave()
        except OSError:
            pass  # a dead entry is dropped by the next reader

    def generation(self) -> tuple:
        """A cheap token that changes whenever a write commits (the files' mtimes and sizes).

        Reading does not change it, so UI caches keyed on it survive reruns that write
        nothing, without opening the database.
        """
        out = []
        for p in (self.path, self.path.with_name(self.path.name + ".wal")):
            try:
                st = p.stat()
                out.append((st.st_mtime_ns, st.st_size))
            except FileNotFoundError:
                out.append(None)
        return tuple(out)

    def _connect(self) -> duckdb.DuckDBPyConnection:
        if self.path.is_dir():
            raise InvalidInput(
                f"The database path {self.path} is a folder; remove it or choose another workspace."
            )
        started = time.monotonic()
        deadline = started + self.lock_timeout
        try:
            self._wait_for_turn(deadline)
            con = self._open(deadline)
        except BaseException:
            self._leave_queue()
            raise
        turns = self._inst.turns
        if turns.enabled and turns.me is not None:
            try:
                turns.hold()
            except OSError:
                pass
        self._inst.waited = time.monotonic() - started
        return con

    def _wait_for_turn(self, deadline: float) -> None:
        """Queue for the file and wait until first in line (:mod:`store.turns`); a queue
        file that cannot be written (a read-only folder) means plain retries."""
        turns = self._inst.turns
        if not turns.enabled:
            return
        delay = 0.001
        try:
            while ahead := turns.place():
                if time.monotonic() >= deadline:
                    raise StoreBusy(
                        f"The workspace database {self.path} stayed busy for "
                        f"{self.lock_timeout:.0f} s: other processes held it in turn (PIDs "
                        f"{', '.join(str(e.pid) for e in turns.ahead())}). Wait for them to "
                        "finish, or stop the one that holds it open, then try again."
                    )
                if ahead > 1:  # the ones ahead take a turn each first: look less often
                    pace = min(FAR_LOOK_S * (ahead - 1), FAR_LOOK_MAX_S)
                    time.sleep(pace * (0.5 + random.random()))
                    delay = 0.001
                    continue
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 0.01)
        except OSError:
            turns.me = None

    def _open(self, deadline: float) -> duckdb.DuckDBPyConnection:
        """``duckdb.connect``, waiting out a lock held by a process outside the queue."""
        delay = 0.005
        while True:
            try:
                return duckdb.connect(str(self.path))
            except duckdb.Error as exc:
                text = str(exc)
                locked = isinstance(exc, duckdb.IOException) and _LOCK_PATTERN.search(text)
                if not (locked or _RACE_PATTERN.search(text)):
                    raise _open_error(self.path, exc) from exc
                if time.monotonic() >= deadline:
                    pid = _PID_PATTERN.search(text)
                    holder = f" (PID {pid.group(1)})" if pid else ""
                    raise StoreBusy(
                        f"The workspace database {self.path} stayed locked by another "
                        f"process{holder} for {self.lock_timeout:.0f} s. Wait for it to "
                        "finish, or stop the process that holds it open, then try again."
                    ) from exc
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 0.1)


_live_stores: weakref.WeakSet[Store] = weakref.WeakSet()


def _close_all() -> None:
    for store in list(_live_stores):
        store.close()


atexit.register(_close_all)
os.register_at_fork(after_in_child=_forget_after_fork)


def rollback_quietly(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back ``con``'s open transaction, ignoring the DuckDB error raised when DuckDB
    has already rolled it back itself (after a failing statement). Raises nothing else."""
    try:
        con.rollback()
    except duckdb.Error:
        pass  # already rolled back by DuckDB after the failing statement


def _translate(exc: BaseException) -> BaseException:
    """The workbench error for a DuckDB error met inside a transaction; others unchanged."""
    text = str(exc).split("\n")[0]
    if isinstance(exc, duckdb.TransactionException) and "Conflict" in text:
        return Conflict(f"Write conflict: {text}")
    if isinstance(exc, duckdb.TransactionException) and "constraint violation" in text:
        # Two transactions inserting the same key: the loser learns it at COMMIT.
        return AlreadyExists(text.replace("TransactionContext Error: Failed to commit: ", ""))
    if any(marker in text for marker in FULL_MARKERS):
        return storage_full("to the database", "the workspace")
    if (unstorable := _unstorable(exc)) is not None:
        return unstorable
    if isinstance(exc, duckdb.ConstraintException):
        message = text.replace("Constraint Error: ", "")
        if "Duplicate key" in text or "unique" in text.lower():
            return AlreadyExists(message)
        return InvalidInput(message)
    return exc


# How DuckDB refuses a Python str with a lone surrogate ("Python Conversion Failure: cannot
# encode str as UTF-8, surrogate '\\ud800' at position 1 is not allowed"; 0-based)
_SURROGATE = re.compile(r"surrogate '\\u([0-9a-fA-F]{4})' at position (\d+)")


def _unstorable(exc: BaseException) -> InvalidInput | None:
    """InvalidInput for a text parameter DuckDB could not take (a lone surrogate, which
    UTF-8 cannot encode), else None. The services check every text they keep first
    (``store.text.check_storable``, naming the field); this is the net under them."""
    found = _SURROGATE.search(str(exc))
    if found is None:
        return None
    what = "A text value given to the database (nothing was changed)"
    return surrogate_error(what, int(found.group(1), 16), int(found.group(2)))


def _open_error(path: Path, exc: BaseException) -> WorkbenchError:
    text = str(exc)
    if "not a valid DuckDB database" in text:
        return InvalidInput(
            f"{path} exists but is not a DuckDB database. Move it away (it is left "
            "untouched) or point --workspace / WORKBENCH_WORKSPACE at another folder."
        )
    if "newer version" in text.lower() or "storage version" in text.lower():
        return InvalidInput(
            f"{path} was written by a newer DuckDB than the installed one ({duckdb.__version__})."
            " Upgrade the duckdb package, then try again."
        )
    return InvalidInput(f"Cannot open the workspace database {path}: {text}")
