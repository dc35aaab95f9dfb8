"""The scores runs and comparisons report, in one place: each one is scikit-learn's
(``sklearn.metrics``), so a number on the Experiments page, in a champion versus challenger
comparison and in an autologged run means the same thing.

Every function takes the true labels (or values) and the predictions as array-likes of the
same length n >= 1 and returns a Python float. Classification: ``accuracy``,
``balanced_accuracy``, the macro averages ``f1_macro``, ``precision_macro`` and
``recall_macro`` (a class never predicted scores 0, not a warning), ``roc_auc`` and
``log_loss`` (from class probabilities or, for ROC AUC, a binary decision score).
Regression: ``rmse`` (the root of the mean squared error, in the target's unit), ``mae``
and ``r2``. Whether higher or lower is better for each is
:func:`workbench.tracking.compare.higher_is_better`.

Only the training wing imports scikit-learn at module level; a service that scores (the
promotion gate) imports this module inside the function that scores, so its metadata reads
stay free of scikit-learn.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm


def accuracy(y_true: Any, y_pred: Any) -> float:
    """The share of rows predicted right, 0..1 (``sklearn.metrics.accuracy_score``)."""
    return float(skm.accuracy_score(y_true, y_pred))


def balanced_accuracy(y_true: Any, y_pred: Any) -> float:
    """The mean of the per-class recalls, 0..1 (``sklearn.metrics.balanced_accuracy_score``)."""
    return float(skm.balanced_accuracy_score(y_true, y_pred))


def f1_macro(y_true: Any, y_pred: Any) -> float:
    """The unweighted mean of the per-class F1 scores, 0..1 (``sklearn.metrics.f1_score``,
    ``average="macro"``, ``zero_division=0``)."""
    return float(skm.f1_score(y_true, y_pred, average="macro", zero_division=0))


def precision_macro(y_true: Any, y_pred: Any) -> float:
    """The unweighted mean of the per-class precisions, 0..1 (``zero_division=0``)."""
    return float(skm.precision_score(y_true, y_pred, average="macro", zero_division=0))


def recall_macro(y_true: Any, y_pred: Any) -> float:
    """The unweighted mean of the per-class recalls, 0..1 (``zero_division=0``)."""
    return float(skm.recall_score(y_true, y_pred, average="macro", zero_division=0))


def roc_auc(y_true: Any, proba: np.ndarray, classes: Sequence[Any]) -> float:
    """Area under the ROC curve, 0..1 (``sklearn.metrics.roc_auc_score``). ``proba``: one
    column per class of ``classes`` (n x k; for two classes the second column, the
    positive class ``classes[1]``, is the score, so a decision score as ``[-s, s]`` works);
    three or more classes: one-versus-rest, macro average. Raises ValueError when a class
    is missing from ``y_true`` (no curve for it)."""
    if len(classes) == 2:
        return float(skm.roc_auc_score(pd.Series(y_true) == classes[1], proba[:, 1]))
    return float(skm.roc_auc_score(y_true, proba, multi_class="ovr", labels=list(classes)))


def log_loss(y_true: Any, proba: np.ndarray, classes: Sequence[Any]) -> float:
    """Cross-entropy of the class probabilities, in nats, 0..inf
    (``sklearn.metrics.log_loss``); ``proba`` as for :func:`roc_auc`, probabilities only."""
    return float(skm.log_loss(y_true, proba, labels=list(classes)))


def rmse(y_true: Any, y_pred: Any) -> float:
    """Root mean squared error, in the target's unit
    (``sklearn.metrics.root_mean_squared_error``)."""
    return float(skm.root_mean_squared_error(y_true, y_pred))


def mae(y_true: Any, y_pred: Any) -> float:
    """Mean absolute error, in the target's unit (``sklearn.metrics.mean_absolute_error``)."""
    return float(skm.mean_absolute_error(y_true, y_pred))


def r2(y_true: Any, y_pred: Any) -> float:
    """Coefficient of determination, at most 1 (``sklearn.metrics.r2_score``)."""
    return float(skm.r2_score(y_true, y_pred))


def regression_scores(y_true: Any, y_pred: Any) -> dict[str, float]:
    """``{"rmse", "mae", "r2"}`` of float predictions (what a launched regressor logs)."""
    return {"rmse": rmse(y_true, y_pred), "mae": mae(y_true, y_pred), "r2": r2(y_true, y_pred)}


def classification_scores(
    y_true: Any,
    y_pred: Any,
    proba: np.ndarray | None = None,
    classes: Sequence[Any] | None = None,
    *,
    proba_is_score: bool = False,
) -> dict[str, float]:
    """What a launched classifier logs: accuracy, balanced accuracy, the macro F1,
    precision and recall and, given class probabilities ``proba`` (n x len(classes)) for
    labels with two or more values, ``roc_auc`` and ``log_loss`` (``log_loss`` not when
    ``proba_is_score``: a decision score is no probability). Both are left out when a class
    is missing from ``y_true`` (a split without it)."""
    out = {
        "accuracy": accuracy(y_true, y_pred),
        "balanced_accuracy": balanced_accuracy(y_true, y_pred),
        "f1_macro": f1_macro(y_true, y_pred),
        "precision_macro": precision_macro(y_true, y_pred),
        "recall_macro": recall_macro(y_true, y_pred),
    }
    if proba is not None and classes is not None and pd.Series(y_true).nunique() >= 2:
        try:
            out["roc_auc"] = roc_auc(y_true, proba, classes)
            if not proba_is_score:
                out["log_loss"] = log_loss(y_true, proba, classes)
        except ValueError:
            pass  # a class absent from this split: no AUC for it
    return out
