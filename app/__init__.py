"""MLOps Workbench: datasets, experiments, models and drift on a local DuckDB store.

``import workbench as wb`` is the notebook and script API (MLflow's names)::

    import workbench as wb

    with wb.start_run(experiment="churn", name="rf-baseline") as run:
        run.log_params({"n_estimators": 200})
        run.log_metric("auc", 0.91)

The names are re-exported lazily from :mod:`workbench.sdk`: ``import workbench`` alone
imports neither pandas nor scikit-learn, so a script or a test that only needs
``workbench.store`` stays light. Inside, one folder per domain (``datasets``, ``tracking``,
``training``, ``registry``, ``drift``, ``team``, ``cli``, ``ui``) over the storage layer
``workbench.store``; docs/architecture.md draws them and the imports each may make.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # for editors and type checkers; at run time see __getattr__
    from workbench.sdk import *  # noqa: F403

# The notebook API: every name of workbench.sdk.__all__ (kept equal by tests/test_package.py).
_SDK_NAMES = frozenset(
    {
        "ActiveRun",
        "active_run",
        "autolog",
        "best_runs",
        "end_run",
        "get_run",
        "infer_signature",
        "list_dataset_versions",
        "load_dataset",
        "load_model",
        "log_artifact",
        "log_dataset",
        "log_metric",
        "log_metrics",
        "log_model",
        "log_param",
        "log_params",
        "predict",
        "promote",
        "register_model",
        "search_runs",
        "set_alias",
        "set_tag",
        "set_tags",
        "set_workspace",
        "start_run",
        "workspace",
    }
)

# The package's own folders and modules a notebook may reach as ``wb.<name>`` (e.g.
# ``except wb.errors.NotFound``): imported on first use, like the SDK names.
_SUBMODULES = frozenset(
    {"cli", "datasets", "drift", "errors", "registry", "store", "team", "tracking", "training"}
)

__all__ = sorted(_SDK_NAMES)


def __getattr__(name: str) -> Any:
    """``wb.start_run`` and the rest: imported from :mod:`workbench.sdk` on first use;
    ``wb.errors``, ``wb.store`` and the other domain packages: imported on first use.

    Raises AttributeError for any other name."""
    if name in _SDK_NAMES:
        value = getattr(importlib.import_module("workbench.sdk"), name)
        globals()[name] = value  # later lookups skip this function
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"workbench.{name}")
    raise AttributeError(f"module 'workbench' has no attribute {name!r}")


def __dir__() -> list[str]:
    """What a notebook may use: the SDK's names and the domain packages."""
    return sorted(_SDK_NAMES | _SUBMODULES)
