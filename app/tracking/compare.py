"""Comparing runs: which way a metric is better, and the best run for each metric.

The Experiments page, the SDK and the CLI share these rules; the page only draws them.

**Direction rule** (:func:`higher_is_better`), read from the metric's name, case-insensitive:

1. A name that starts with ``neg_`` is higher-is-better: scikit-learn negates the errors
   and losses its scorers report so that greater is always better (``neg_log_loss``,
   ``neg_root_mean_squared_error``; ``sklearn.metrics.get_scorer_names``).
2. A name that contains one of :data:`LOWER_IS_BETTER` is lower-is-better: errors and
   losses (``rmse``, ``mae``, ``loss``, ``log_loss``, ``mean_squared_error``; the scorers
   scikit-learn makes with ``greater_is_better=False``), the spread of a score across
   folds (``*_std``: smaller is steadier) and timings (``train_seconds``).
3. Any other name is higher-is-better: scores such as ``accuracy``, ``roc_auc``,
   ``f1_macro``, ``precision``, ``recall`` and ``r2`` (``sklearn.metrics``' ``*_score``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from workbench.store.entities import Condition
from workbench.store.errors import InvalidInput
from workbench.store.workspace import Workspace
from workbench.tracking import experiments

#: Parts of a metric name that make it lower-is-better (rule 2 of the module docstring).
LOWER_IS_BETTER = (
    "loss",
    "rmse",
    "mse",
    "mae",
    "mape",
    "error",
    "deviance",
    "brier",
    "seconds",
    "std",
)
#: The prefix scikit-learn gives a negated error or loss (rule 1).
NEGATED = "neg_"


def higher_is_better(metric: str) -> bool:
    """True when a larger value of ``metric`` is better (``accuracy``, ``roc_auc``, ``r2``,
    ``neg_log_loss``), False when a smaller one is (``rmse``, ``mae``, ``log_loss``,
    ``accuracy_std``, ``train_seconds``); the rule and its source are in the module
    docstring. A metric key may carry a prefix (``fold_rmse``, ``eval_accuracy``)."""
    name = metric.lower()
    if name.startswith(NEGATED):
        return True
    return not any(part in name for part in LOWER_IS_BETTER)


@dataclass(frozen=True)
class MetricBest:
    """The best run for one metric among compared runs: ``run_id`` and its ``value``
    (largest when ``higher_is_better``, else smallest), and over the ``runs`` that have a
    value: ``min``, ``max`` and ``mean``. NaN values are left out (a diverged run is
    nobody's best)."""

    metric: str
    higher_is_better: bool
    run_id: str
    value: float
    min: float
    max: float
    mean: float
    runs: int


def best_per_metric(table: pd.DataFrame) -> list[MetricBest]:
    """For each ``metrics.<key>`` column of ``table`` (the runs table of
    :func:`workbench.tracking.experiments.runs_table`: a ``run_id`` column and one column
    per metric, latest values), the best run by :func:`higher_is_better`, in column order.
    A metric no run has a value for is left out; ties go to the first run in ``table``."""
    out = []
    for col in (c for c in table.columns if c.startswith("metrics.")):
        values = pd.to_numeric(table[col], errors="coerce").dropna()
        if values.empty:
            continue
        name = col.removeprefix("metrics.")
        higher = higher_is_better(name)
        best = values.idxmax() if higher else values.idxmin()
        out.append(
            MetricBest(
                metric=name,
                higher_is_better=higher,
                run_id=str(table.loc[best, "run_id"]),
                value=float(values[best]),
                min=float(values.min()),
                max=float(values.max()),
                mean=float(values.mean()),
                runs=len(values),
            )
        )
    return out


def best_runs(ws: Workspace, run_ids: Sequence[str]) -> list[MetricBest]:
    """:func:`best_per_metric` over the runs ``run_ids`` (of any experiment; runs in the
    trash and ids that match no run are left out), for the SDK and the CLI. Raises
    InvalidInput for an empty list."""
    ids = [str(r) for r in run_ids]
    if not ids:
        raise InvalidInput("Select at least one run to compare; got none.")
    table = experiments.runs_table(
        ws, conditions=[Condition("attributes", "run_id", "IN", tuple(ids))]
    )
    return best_per_metric(table)
