"""Turns at the database file: a first-come, first-served queue of the processes that want it.

DuckDB's file lock is all or nothing and has no queue: a process that cannot open the
file can only try again later, and a busy process that reopens the file at once after
closing it wins every time (measured, issue 16: of 7 processes hammering one workspace
for 30 s, one logger and the registrars' first attempts got in; 3 loggers and the reader
failed with ``StoreBusy`` after 30 s). So the processes using a workspace take turns
through a small queue file beside the database (``meta.duckdb.turns``):

* a process that needs the database and does not hold it **joins** the queue (one line:
  its PID, the PID's start time, a random tag) and waits until it is **first**;
* the first process opens the database, marks itself **holding**, works, and when it
  closes the database it **leaves** the queue;
* a holder whose units of work keep coming **yields** once it has held the file for its
  quantum (``Store.quantum``) and someone is waiting: it lets its units in flight finish,
  closes the file, leaves, and joins again at the back.

Crash safety: a line whose process is gone (no such PID, a zombie, or the PID now belongs
to a process that started later) is dropped by whoever reads the queue; a waiter first in
line that does not take its turn within ``STALL_S`` (a stopped process, say) is moved to
the back. A process holding the file that stops answering keeps it, as DuckDB's lock
would: the others wait until their ``lock_timeout`` and get ``StoreBusy`` naming it.

Every change is a read-modify-write of the whole file under ``flock`` (the file holds at
most one line per process, about 40 bytes each). The queue orders processes on one
machine; a workspace shared over a network file system is not supported by DuckDB's
lock either.
"""

from __future__ import annotations

import errno
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - not a POSIX system: no queue, plain retries
    fcntl = None  # type: ignore[assignment]

FLOCK_WAIT_S = 1.0
"""Seconds to wait for the queue file's flock (held for microseconds by each change) before
giving up with TimeoutError: a process stopped (SIGSTOP, Ctrl-Z) inside a change keeps it,
and the others then use the database without the queue instead of hanging."""

FAR_LOOK_S = 0.02
"""Seconds between a waiter's looks at the queue per process ahead of it beyond the first
(at most ``FAR_LOOK_MAX_S``): a turn takes at least an open and a close (about 30 ms), so
from third in line a look every 2 ms found nothing new and cost 0.3 ms of CPU each (six
waiters polled away a quarter of a core, measured with tests/fairness.py)."""

FAR_LOOK_MAX_S = 0.1

STALL_S = 2.0
"""Seconds a waiter may stay first in line without taking its turn before it is dropped."""


@dataclass(frozen=True)
class Entry:
    """One line of the queue: a process (``pid`` and its start time ``born``) and a tag,
    waiting (``holding`` False) or holding the database."""

    pid: int
    born: str
    tag: str
    holding: bool

    def line(self) -> str:
        """The entry as its line in the queue file: ``PID BORN TAG h|w`` and a newline."""
        return f"{self.pid} {self.born} {self.tag} {'h' if self.holding else 'w'}\n"


def _born(pid: int) -> str:
    """The process's start time in clock ticks since boot (``/proc/PID/stat`` field 22), or
    "-" where there is no /proc; with the PID it names one process even after PID reuse."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
    except OSError:
        return "-"
    return "Z" if fields[0] == b"Z" else fields[19].decode()


def _alive(entry: Entry) -> bool:
    try:
        os.kill(entry.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process: alive
    born = _born(entry.pid)
    return born != "Z" and (born == "-" or entry.born == "-" or born == entry.born)


class Turns:
    """The queue for the database at ``db_path`` (file ``<db_path>.turns``), as one
    process sees it. Not thread-safe: the store calls it under its instance mutex."""

    def __init__(self, db_path: Path) -> None:
        self.path = Path(str(db_path) + ".turns")
        self.me: Entry | None = None
        self._first_seen: tuple[str, float] | None = None  # (tag of a waiting head, since)

    @property
    def enabled(self) -> bool:
        """Whether the queue is used: False where there is no ``fcntl`` (not POSIX), and the
        store falls back to plain retries."""
        return fcntl is not None

    def _update(self, change) -> list[Entry]:
        """Apply ``change(entries) -> entries`` under an exclusive lock; the new entries."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            _lock(fd)
            raw = b""
            while chunk := os.read(fd, 65536):
                raw += chunk
            before = _parse(raw)
            mine = getattr(self.me, "tag", None)
            after = change([e for e in before if e.tag == mine or _alive(e)])
            if after != before:
                data = "".join(e.line() for e in after).encode()
                os.lseek(fd, 0, os.SEEK_SET)
                os.write(fd, data)
                os.ftruncate(fd, len(data))
            return after
        finally:
            os.close(fd)  # releases the flock

    def join(self) -> None:
        """Take a place at the back of the queue (a fresh one if already in it)."""
        pid = os.getpid()
        self.me = Entry(pid, _born(pid), secrets.token_hex(4), False)
        me = self.me
        self._update(lambda es: [e for e in es if e.pid != pid] + [me])

    def first(self) -> bool:
        """Whether this process is first in line now (joining first if it was not in it)."""
        return self.place() == 0

    def place(self) -> int:
        """How many live entries are ahead of this process now (0: it is first), joining
        first if it was not in the queue. A waiter uses it to pace its looks (the store
        looks less often from further back: each look costs about 0.3 ms of CPU)."""
        if self.me is None:
            self.join()
        me = self.me
        now = time.monotonic()

        def change(es: list[Entry]) -> list[Entry]:
            if me not in es:  # dropped while stalled, or the file was removed
                es = [*es, me]
            head = es[0]
            if head.tag == me.tag or head.holding:
                self._first_seen = None
                return es
            seen = self._first_seen
            if seen is None or seen[0] != head.tag:
                self._first_seen = (head.tag, now)
            elif now - seen[1] > STALL_S:  # first in line and not taking its turn: out;
                self._first_seen = None  # it queues again at the back when it next looks
                return es[1:]
            return es

        tags = [e.tag for e in self._update(change)]
        return tags.index(me.tag) if me.tag in tags else len(tags)

    def hold(self) -> None:
        """Mark this process as holding the database (it has opened it)."""
        if self.me is None:
            self.join()
        old = self.me
        new = self.me = Entry(old.pid, old.born, old.tag, True)

        def change(es: list[Entry]) -> list[Entry]:
            if old not in es:  # dropped as stalled meanwhile: it holds the file now
                return [new, *es]
            return [new if e.tag == old.tag else e for e in es]

        self._update(change)

    def waiting(self) -> int:
        """How many other live processes are waiting for the database."""
        tag = getattr(self.me, "tag", None)
        return sum(1 for e in self._update(lambda es: es) if e.tag != tag and not e.holding)

    def ahead(self) -> list[Entry]:
        """The live entries ahead of this process in the queue (all of them if not in it)."""
        entries = self._update(lambda es: es)
        tags = [e.tag for e in entries]
        mine = getattr(self.me, "tag", None)
        return entries[: tags.index(mine)] if mine in tags else entries

    def leave(self) -> None:
        """Leave the queue (after closing the database)."""
        if self.me is None:
            return
        tag, self.me = self.me.tag, None
        try:
            self._update(lambda es: [e for e in es if e.tag != tag])
        except OSError as exc:
            if exc.errno not in (errno.ENOENT, errno.EROFS, errno.EACCES):
                raise


def _lock(fd: int) -> None:
    """``flock(fd, LOCK_EX)``, waiting at most FLOCK_WAIT_S; TimeoutError (an OSError, so
    the store falls back to plain retries) if the holder does not let go."""
    deadline = time.monotonic() + FLOCK_WAIT_S
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    "the queue file stayed locked (its holder is stopped?)"
                ) from None
            time.sleep(0.001)


def _parse(raw: bytes) -> list[Entry]:
    out = []
    for line in raw.decode(errors="replace").splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[0].isdigit():
            out.append(Entry(int(parts[0]), parts[1], parts[2], parts[3] == "h"))
    return out
