"""Autologging for scikit-learn in a notebook: ``wb.autolog()`` and every ``fit`` records a
run with the estimator's params, its score on the training data and on the given
evaluation data, the fitted model, and its input signature taken from the ``X`` that ``fit``
received: each DataFrame column's name, type family and dtype (``workbench.registry.signature``),
or, for
an array, a positional signature (the column count, no invented names). Registering the
run's model uses that signature, so the model takes its own training rows at predict.
When ``X`` came from ``wb.load_dataset`` (its ``attrs["workbench_ref"]``), the dataset version
is logged as the run's training input, so the registered model records its lineage; when
``eval_data`` holds other rows of that same frame (``train_test_split``), the predictions on
them are kept as the run's held-out predictions (``workbench.training.evaluation``).

Each estimator class scikit-learn lists (``sklearn.utils.all_estimators``) gets a wrapped
``fit``; only the outermost fit of a nested call is logged (a Pipeline or a search logs
once, not once per inner estimator). Inside an active run, fits log into it (params keep
the first value, as params are immutable); otherwise each fit is its own run.
``wb.autolog(disable=True)`` restores the original methods.
"""

from __future__ import annotations

import functools
import io
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

_lock = threading.Lock()
_patched: dict[type, Any] = {}  # class -> its own fit before patching (or None if inherited)
_depth = threading.local()
_config: dict[str, Any] = {}


def enable(
    experiment: str = "autolog", eval_data: tuple[Any, Any] | None = None, log_models: bool = True
) -> int:
    """Patch every scikit-learn estimator's ``fit``; returns how many classes were patched."""
    from sklearn.utils import all_estimators

    with _lock:
        _config.update(experiment=experiment, eval_data=eval_data, log_models=log_models)
        for _, cls in all_estimators():
            if cls in _patched or not callable(getattr(cls, "fit", None)):
                continue
            _patched[cls] = cls.__dict__.get("fit")
            cls.fit = _wrap(cls.fit)
        return len(_patched)


def disable() -> None:
    """Undo :func:`enable`: give every patched class back its own ``fit`` (or remove the wrapper
    from a class that inherited ``fit``), so later fits log nothing. Calling it when nothing is
    patched does nothing."""
    with _lock:
        for cls, own in _patched.items():
            if own is None:
                del cls.fit
            else:
                cls.fit = own
        _patched.clear()


def _wrap(fit: Callable) -> Callable:
    @functools.wraps(fit)
    def logged_fit(self, *args, **kwargs):
        depth = getattr(_depth, "n", 0)
        _depth.n = depth + 1  # fits inside this one (or inside its scoring) are not logged
        try:
            result = fit(self, *args, **kwargs)
            if depth == 0:
                X = args[0] if args else kwargs.get("X")
                y = args[1] if len(args) > 1 else kwargs.get("y")
                _log_fit(self, X, y)
        finally:
            _depth.n = depth
        return result

    logged_fit.__wb_autolog__ = True  # type: ignore[attr-defined]
    return logged_fit


def _log_fit(estimator: Any, X: Any, y: Any) -> None:
    from workbench.tracking import fluent

    own = fluent.active_run() is None
    run = (
        fluent.start_run(
            experiment=_config.get("experiment", "autolog"), name=type(estimator).__name__
        )
        if own
        else fluent.active_run()
    )
    try:
        params = {}
        for key, value in estimator.get_params(deep=False).items():
            if isinstance(value, np.generic):
                value = value.item()
            if value is not None and not isinstance(value, bool | int | float | str):
                value = repr(value)[:500]
            params[key] = value
        run.log_params(without_deprecated(type(estimator), params))
        run.set_tags({"autolog": "sklearn", "estimator": type(estimator).__name__})
        metrics = {}
        if y is not None and hasattr(estimator, "score"):
            metrics["training_score"] = float(estimator.score(X, y))
        eval_data = _config.get("eval_data")
        if eval_data is not None and hasattr(estimator, "score"):
            metrics["eval_score"] = float(estimator.score(*eval_data))
            metrics |= _eval_metrics(estimator, *eval_data)
        if metrics:
            run.log_metrics(metrics, step=0)
        if _config.get("log_models", True):
            import joblib

            from workbench.registry import signature
            from workbench.training.task import environment

            buffer = io.BytesIO()
            joblib.dump(estimator, buffer)
            sha = run.log_artifact_bytes(buffer.getvalue(), "model.joblib")
            recorded = signature.from_fit(X)
            if recorded is not None:
                run.log_record("spec", "signature", recorded)
            _log_lineage(run, X)
            if eval_data is not None:
                _keep_heldout(run, estimator, X, *eval_data)
            run.set_tags({"model.sha256": sha} | {f"env.{k}": v for k, v in environment().items()})
    except Exception as exc:
        if own:
            run.end("failed", f"autolog: {type(exc).__name__}: {exc}")
        raise
    if own:
        run.end()


DEPRECATED = "deprecated"  # scikit-learn's value of a parameter it is removing


def without_deprecated(cls: type, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` (an estimator's ``get_params()``, name -> value) without the parameters
    whose value is scikit-learn's deprecation sentinel: the string ``"deprecated"`` that
    ``get_params()`` returns for a parameter being removed when the user did not set it
    (``LogisticRegression``'s ``penalty``, ``GradientBoostingClassifier``'s ``criterion``
    in scikit-learn 1.8+). It is a sentinel only where the class's
    ``_parameter_constraints`` accept ``"deprecated"`` as a hidden option, so a parameter
    that merely holds that text (a third-party estimator's, a target column so named) is
    kept. Used by autologging and by the runner of launched runs (``workbench.training
    .runner.record``)."""
    constraints = getattr(cls, "_parameter_constraints", None) or {}
    return {
        k: v
        for k, v in params.items()
        if not (v == DEPRECATED and _sentinel_of(constraints.get(k)))
    }


def _sentinel_of(constraints: Any) -> bool:
    """True when a parameter's constraints list ``"deprecated"`` as a hidden option
    (scikit-learn's ``Hidden(StrOptions({"deprecated"}))``)."""
    for c in constraints if isinstance(constraints, list | tuple) else ():
        inner = getattr(c, "constraint", None)  # Hidden wraps the option set
        if inner is not None and DEPRECATED in (getattr(inner, "options", None) or ()):
            return True
    return False


def _log_lineage(run: Any, X: Any) -> None:
    """Record the dataset version ``X`` was read from as the run's training input, when
    ``X`` is a frame from ``wb.load_dataset`` (its ``attrs["workbench_ref"]``, which pandas
    keeps through column selection) and the run has logged no input itself."""
    ref = getattr(X, "attrs", {}).get("workbench_ref") if hasattr(X, "attrs") else None
    if not isinstance(ref, str) or getattr(run, "input_roles", None):
        return
    from workbench.datasets import versions as datasets
    from workbench.store.errors import NotFound
    from workbench.tracking import fluent

    try:
        run.log_input(datasets.get_version(fluent.workspace(), ref), "train")
    except NotFound:  # deleted since it was loaded: no lineage rather than a wrong one
        return


def _keep_heldout(run: Any, estimator: Any, X: Any, X_eval: Any, y_eval: Any) -> None:
    """Keep the predictions on ``eval_data`` as the run's held-out predictions
    (``workbench.training.evaluation``) when they are rows the fit did not see of the dataset
    version it
    trained on: ``X`` and ``X_eval`` both from one ``wb.load_dataset`` frame (the same
    ``attrs["workbench_ref"]``), with disjoint row labels (e.g. ``train_test_split``), and
    ``y_eval`` a named column. Otherwise nothing is kept: which rows they are is unknown."""
    import pandas as pd

    ref = getattr(X, "attrs", {}).get("workbench_ref") if hasattr(X, "attrs") else None
    other = getattr(X_eval, "attrs", {}).get("workbench_ref") if hasattr(X_eval, "attrs") else None
    target = getattr(y_eval, "name", None)
    if not isinstance(ref, str) or ref != other or not isinstance(target, str):
        return
    rows, seen = X_eval.index, X.index
    if not (pd.api.types.is_integer_dtype(rows) and pd.api.types.is_integer_dtype(seen)) or (
        rows.has_duplicates or len(rows) == 0 or rows.min() < 0 or len(rows.intersection(seen))
    ):
        return
    from sklearn.base import is_classifier

    from workbench.training import evaluation
    from workbench.training.task import heldout_frame

    pred: dict[str, Any] = {"pred": estimator.predict(X_eval)}
    if is_classifier(estimator) and hasattr(estimator, "predict_proba"):
        try:
            pred |= {"proba": estimator.predict_proba(X_eval), "classes": list(estimator.classes_)}
        except (AttributeError, NotImplementedError):
            pass
    evaluation.keep_heldout(
        run, heldout_frame(rows, y_eval, pred), kind="holdout", dataset=ref, target=target
    )


def _eval_metrics(estimator: Any, X: Any, y: Any) -> dict[str, float]:
    """The estimator's scores on the evaluation data, by ``workbench.training.metrics``:
    ``eval_accuracy`` and ``eval_f1_macro`` for a classifier, ``eval_rmse`` and ``eval_r2``
    for a regressor, nothing for other estimators."""
    from sklearn.base import is_classifier, is_regressor

    from workbench.training import metrics as scores

    pred = estimator.predict(X)
    if is_classifier(estimator):
        return {
            "eval_accuracy": scores.accuracy(y, pred),
            "eval_f1_macro": scores.f1_macro(y, pred),
        }
    if is_regressor(estimator):
        return {"eval_rmse": scores.rmse(y, pred), "eval_r2": scores.r2(y, pred)}
    return {}
