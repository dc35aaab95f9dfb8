"""Drift: statistics, reports (stored and exported), model drift and monitoring.

``config`` (:class:`DriftConfig`, :class:`Override`, :func:`parse_rules`: the rule's
thresholds and per-column rules, validated and stored with each report), ``methods`` (the
registry of per-column methods), ``stats`` (the comparison of two profiles), ``results``
(:class:`ColumnDrift`, :class:`DriftReport`: typed, to and from JSON), ``report`` (run,
store, list and export reports), ``model_drift`` and ``monitoring``. The names above are
importable from here; they load on first use (this package stays light to import).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_LAZY = {
    "DriftConfig": "workbench.drift.config",
    "Override": "workbench.drift.config",
    "parse_rules": "workbench.drift.config",
    "ColumnDrift": "workbench.drift.results",
    "DriftReport": "workbench.drift.results",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
