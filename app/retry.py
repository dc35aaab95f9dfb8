"""One way to write a row that another session may be creating at the same moment.

Creating something by name -- an experiment on a run's first log, a dataset on its first
version, a model on its first registration, an alias on its first move -- reads "is it
there?" and inserts it when not. Two processes (or two threads of one process: the app
server's sessions, a sweep's workers) doing that at once both read "not there" on their
own snapshot and both insert. DuckDB lets the first commit win; the second learns of the
duplicate key either at its INSERT (the winner committed first: a constraint error) or at
its COMMIT ("Failed to commit: ... constraint violation"). ``workbench.store.gateway``
translates both into :class:`~workbench.store.errors.AlreadyExists`. The gateway itself
re-runs a unit of work only on a write-write ``Conflict``; a duplicate key is the caller's
to handle, because only the caller knows that running its work again is the fix: on the
next attempt the read finds the winner's row and the work updates or uses it instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from workbench.store.errors import AlreadyExists
from workbench.store.gateway import Store, Tx

T = TypeVar("T")

#: Attempts in all. Each lost race means another session committed the same name, so a
#: second attempt normally finds its row; more than two are for a burst of sessions that
#: each take the next number (dataset and model versions are numbered per name).
WRITE_ATTEMPTS = 5


def write_retrying(store: Store, work: Callable[[Tx], T], *, attempts: int = WRITE_ATTEMPTS) -> T:
    """``store.write(work)``, run again (up to ``attempts`` times in all) when it raises
    :class:`AlreadyExists` because another session committed the same key first.

    ``work`` must read before it inserts (find the experiment, dataset, model or alias row;
    take the next version number), so that the next attempt, on a fresh snapshot, sees the
    winner's row. Like any ``store.write`` unit it may run several times and must have no
    side effects outside its transaction. An AlreadyExists that ``work`` raises on purpose
    is raised again after the last attempt, unchanged.

    Raises whatever ``store.write`` raises: AlreadyExists after ``attempts`` lost races,
    ``Conflict``, ``StoreBusy``, ``InvalidInput``; ValueError for ``attempts`` below 1 (a
    programming error, not a user's).
    """
    if attempts < 1:
        raise ValueError(f"attempts must be 1 or more; got {attempts}.")
    for attempt in range(1, attempts + 1):
        try:
            return store.write(work)
        except AlreadyExists:
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")
