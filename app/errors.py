"""The errors every door raises, for users' code: ``from workbench.errors import NotFound``.

They are the storage layer's (``workbench.store.errors``), re-exported under a name that
does not send a notebook into the storage layer. Every one is a :class:`WorkbenchError`:
its message says what is wrong and what to do.
"""

from workbench.store.errors import (
    AlreadyExists,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    SchemaOutOfDate,
    StoreBusy,
    WorkbenchError,
)

__all__ = [
    "AlreadyExists",
    "Conflict",
    "InvalidInput",
    "NotFound",
    "PermissionDenied",
    "SchemaOutOfDate",
    "StoreBusy",
    "WorkbenchError",
]
