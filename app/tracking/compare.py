"""Comparing runs: which way a metric is better, and the best run for each metric.

The Experiments page, the SDK and the CLI share these rules; the page only draws them.

**Direction rule** (:func:`higher_is_better`), read from the metric's name, case-insensitive,
unless the runs declare it (rule 0):

0. A run tag ``direction.<metric>`` = ``higher`` or ``lower`` on a compared run decides for
   that metric (:func:`best_per_metric`; runs that declare it must agree). For a metric
   the name rule gets wrong.
1. A name that starts with ``neg_`` is higher-is-better: scikit-learn negates the errors
   and losses its scorers report so that greater is always better (``neg_log_loss``,
   ``neg_root_mean_squared_error``; ``sklearn.metrics.get_scorer_names``). So is a name
   ending in ``_score`` (scikit-learn's ``*_score`` functions: ``d2_absolute_error_score``),
   except a Brier score (an error), and a rate per unit of time (``tokens_per_sec``,
   ``throughput``).
2. A name that contains one of :data:`LOWER_IS_BETTER`, or has one of
   :data:`LOWER_IS_BETTER_WORDS` as a whole word (between ``_``, ``-``, ``.``, ``/`` or
   spaces), is lower-is-better: errors and losses (``rmse``, ``mae``, ``loss``,
   ``log_loss``, ``mean_squared_error``, ``hinge``; the scorers scikit-learn makes with
   ``greater_is_better=False``), the spread of a score across folds (``*_std``: smaller is
   steadier), costs, sizes and timings (``train_seconds``, ``latency_ms``, ``memory_mb``),
   ``perplexity``, ``fid``, false positive and negative rates, and word or character error
   rates (``wer``, ``cer``).
3. Any other name is higher-is-better: scores such as ``accuracy``, ``roc_auc``,
   ``f1_macro``, ``precision``, ``recall`` and ``r2`` (``sklearn.metrics``' ``*_score``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from workbench.store.entities import Condition
from workbench.store.errors import InvalidInput, NotFound
from workbench.store.workspace import Workspace
from workbench.tracking import experiments

#: Parts of a metric name that make it lower-is-better anywhere in it (rule 2).
LOWER_IS_BETTER = (
    "loss",
    "rmse",
    "mse",
    "msle",
    "mae",
    "mape",
    "error",
    "deviance",
    "brier",
    "hinge",
    "seconds",
    "latency",
    "duration",
    "perplexity",
    "regret",
    "memory",
    "false_positive",
    "false_negative",
)
#: Short words that make a name lower-is-better only as a whole word (rule 2): ``wer`` in
#: ``answer_f1`` or ``time`` in ``runtime_share`` would be read wrongly as parts.
LOWER_IS_BETTER_WORDS = (
    "std",
    "wer",
    "cer",
    "cost",
    "time",
    "ms",
    "sec",
    "mb",
    "gb",
    "bytes",
    "fid",
    "fpr",
    "fnr",
)
#: Parts that make a name a rate per unit of time, higher-is-better (rule 1).
RATES = ("per_sec", "per_second", "throughput", "per_minute", "per_hour")
#: The prefix scikit-learn gives a negated error or loss (rule 1).
NEGATED = "neg_"
#: The run tag that declares a metric's direction (rule 0): ``direction.<metric>``.
DIRECTION_TAG = "direction."


def higher_is_better(metric: str) -> bool:
    """True when a larger value of ``metric`` is better (``accuracy``, ``roc_auc``, ``r2``,
    ``neg_log_loss``), False when a smaller one is (``rmse``, ``mae``, ``log_loss``,
    ``accuracy_std``, ``train_seconds``, ``latency_ms``, ``perplexity``, ``wer``), by the
    name rules 1 to 3 of the module docstring (a declared direction is rule 0, applied by
    :func:`best_per_metric`). A metric key may carry a prefix (``fold_rmse``)."""
    name = metric.lower()
    if name.startswith(NEGATED) or any(rate in name for rate in RATES):
        return True
    if name.endswith("_score") and "brier" not in name:
        return True
    words = set(re.split(r"[_\-./ ]+", name))
    return not (any(part in name for part in LOWER_IS_BETTER) or words & set(LOWER_IS_BETTER_WORDS))


def metric_direction(table: pd.DataFrame, metric: str) -> tuple[bool, str]:
    """Whether a larger ``metric`` is better among the runs of ``table`` (the runs table,
    its ``tags.*`` columns read), and what decided it: ``"declared"`` (the runs' tag
    ``direction.<metric>`` says ``higher`` or ``lower``), ``"name"`` (:func:`higher_is_better`),
    or a note saying why a declaration was set aside (it holds another word, or the runs
    disagree: the name rule decides, and the note says so)."""
    column = f"tags.{DIRECTION_TAG}{metric}"
    said = (
        {str(v).strip().lower() for v in table[column].dropna()}
        if column in table.columns
        else set()
    )
    if not said:
        return higher_is_better(metric), "name"
    if said <= {"higher", "lower"} and len(said) == 1:
        return said == {"higher"}, "declared"
    return higher_is_better(metric), (
        f"the runs' tag {DIRECTION_TAG}{metric} says {', '.join(sorted(said))} (it must be "
        "'higher' or 'lower', the same on every run that sets it), so the name rule decided"
    )


@dataclass(frozen=True)
class MetricBest:
    """The best run for one metric among compared runs: ``run_id`` and its ``value``
    (largest when ``higher_is_better``, else smallest), and over the ``runs`` that have a
    value: ``min``, ``max`` and ``mean``. NaN values are left out (a diverged run is
    nobody's best). ``decided_by``: what set the direction (:func:`metric_direction`)."""

    metric: str
    higher_is_better: bool
    run_id: str
    value: float
    min: float
    max: float
    mean: float
    runs: int
    decided_by: str = "name"


def best_per_metric(table: pd.DataFrame) -> list[MetricBest]:
    """For each ``metrics.<key>`` column of ``table`` (the runs table of
    :func:`workbench.tracking.experiments.runs_table`: a ``run_id`` column and one column
    per metric, latest values; ``tags.*`` columns), the best run by the metric's direction
    (declared by the runs' ``direction.<metric>`` tag, else :func:`higher_is_better`), in
    column order. Raises InvalidInput when the runs declare a direction badly.
    A metric no run has a value for is left out; ties go to the first run in ``table``."""
    out = []
    for col in (c for c in table.columns if c.startswith("metrics.")):
        values = pd.to_numeric(table[col], errors="coerce").dropna()
        if values.empty:
            continue
        name = col.removeprefix("metrics.")
        higher, decided_by = metric_direction(table, name)
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
                decided_by=decided_by,
            )
        )
    return out


def best_runs(ws: Workspace, run_ids: Sequence[str]) -> list[MetricBest]:
    """:func:`best_per_metric` over the runs ``run_ids`` (of any experiment; runs in the
    trash are left out), for the SDK and the CLI. Raises InvalidInput for an empty list or
    a single string (a list of ids is wanted), NotFound naming the ids that match no run."""
    if isinstance(run_ids, str):
        raise InvalidInput(
            f"Give a list of run ids, e.g. [{run_ids!r}]; got one string, which would be read "
            "character by character."
        )
    ids = [str(r) for r in run_ids]
    if not ids:
        raise InvalidInput("Give at least one run id to compare; got none.")
    table = experiments.runs_table(
        ws, conditions=[Condition("attributes", "run_id", "IN", tuple(ids))]
    )
    missing = [r for r in ids if r not in set(table["run_id"])] if len(table) else ids
    if missing:
        raise NotFound(
            f"No run with id {', '.join(missing)}; `workbench runs list` shows the runs."
        )
    return best_per_metric(table)
