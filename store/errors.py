"""The one error hierarchy of the workbench.

Every error a user can cause or meet says what is wrong, the offending value, and what to
do. Pages show ``str(error)`` in ``st.error``; the CLI prints it on one line and exits 1.
Only ``store/`` turns duckdb exceptions into these.
"""

from __future__ import annotations


class WorkbenchError(Exception):
    """Base class: an error the user can act on."""


class NotFound(WorkbenchError):
    """The named object does not exist."""


class AlreadyExists(WorkbenchError):
    """An object with that name or key already exists."""


class InvalidInput(WorkbenchError):
    """A value given by the user is not acceptable."""


class Conflict(WorkbenchError):
    """Another writer changed the same object; the work was not applied."""


class StoreBusy(WorkbenchError):
    """The workspace database stayed locked by another process past the deadline."""


class SchemaOutOfDate(WorkbenchError):
    """The database schema and the code disagree on their version."""


class PermissionDenied(WorkbenchError):
    """The current user's role does not allow the action."""


class StorageFull(WorkbenchError):
    """The disk (or a file size limit) ran out while writing; nothing was kept."""


FULL_MARKERS = ("No space left", "File too large", "Disk quota exceeded")


def storage_full(what: str, where: object) -> StorageFull:
    """The StorageFull error (returned, not raised) for a write of ``what`` (e.g. "a
    file") that ran out of space; ``where`` names the place to free space in."""
    return StorageFull(
        f"The disk is full (or a file size limit was reached) while writing "
        f"{what}; nothing was kept. Free space where {where} lives, then try "
        "again."
    )
