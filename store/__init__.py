"""The storage layer: the only package that imports duckdb or holds SQL.

It returns plain entity objects (``store.entities``) and raises only the errors of
``store.errors``. It imports nothing from ``app``.
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
from workbench.store.gateway import Store, Tx
from workbench.store.workspace import Workspace

__all__ = [
    "AlreadyExists",
    "Conflict",
    "InvalidInput",
    "NotFound",
    "PermissionDenied",
    "SchemaOutOfDate",
    "Store",
    "StoreBusy",
    "Tx",
    "WorkbenchError",
    "Workspace",
]
