"""One training task, pure: a run spec and a DataFrame in; params, metrics, evaluation data
and the fitted pipeline (joblib bytes) out. No workspace, no database, no shared disk, so
the same function runs in a local joblib worker or on a Dask cluster.

Preprocessing that just works: numbers (and booleans) have NaN and infinities treated as
missing (as the profiles and contracts treat them: off the numeric axis), are imputed with
the median and scaled (by the largest magnitude first, so values near 1.8e308 cannot
overflow the standard deviation); a column with no value at all becomes a constant; text
and categories imputed with the most frequent value and one-hot encoded (unknown levels
ignored at predict time); dates become days since 1970 and are then
treated as numbers. Everything sits in one scikit-learn Pipeline, so the saved model
takes raw rows.
"""

from __future__ import annotations

import io
import platform
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from sklearn import metrics as skm
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, MaxAbsScaler, OneHotEncoder, StandardScaler

from workbench.registry import signature
from workbench.store.errors import InvalidInput
from workbench.training import catalogue, launch_defaults
from workbench.training import metrics as scores

MAX_CURVE_POINTS = 200
MAX_STAGES = 100
FORESTS = (RandomForestClassifier, RandomForestRegressor, ExtraTreesClassifier, ExtraTreesRegressor)
ROOT = Path(__file__).resolve().parents[2]


class Cancelled(Exception):
    """Raised inside a task when its run was cancelled."""


@dataclass(frozen=True)
class RunSpec:
    """Everything that decides a training run; with the same data it gives the same metrics."""

    dataset: str  # a version ref, e.g. churn@v3
    target: str
    estimator: str
    features: tuple[str, ...] = ()  # empty: every column but the target
    task: str | None = None  # None: detected from the target
    params: dict[str, Any] = field(default_factory=dict)
    validation: str = "holdout"  # holdout | kfold
    test_size: float = 0.25
    folds: int = 5
    seed: int = 0

    def to_json(self) -> dict[str, Any]:
        """The spec as a plain JSON object: every field by name, ``features`` as a list."""
        data = asdict(self)
        data["features"] = list(self.features)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunSpec:
        """The spec :meth:`to_json` wrote (``features`` may be a list or missing). Raises
        TypeError for a key that is no field."""
        return cls(**{**data, "features": tuple(data.get("features") or ())})


@dataclass
class TrainResult:
    """What :func:`train` returns for one spec.

    ``params``: the spec's settings and the fitted estimator's parameters, as logged;
    ``metrics``: the scores on the held-out rows (holdout), or their mean over the folds
    plus ``<metric>_std`` (kfold): rmse, mae, r2 for a regressor; accuracy, balanced
    accuracy, macro F1, precision, recall, and from probabilities ROC AUC and log loss for a
    classifier (``workbench.training.metrics``); ``step_metrics``: ``(key, step, value)``
    in the order reported (``fold_<metric>`` at step = fold number from 0, or
    ``staged_accuracy`` / ``staged_rmse`` at step = stages or trees); ``evaluation``: what
    the pages draw (``n_evaluated``, feature importances, a confusion matrix and binary
    ROC/PR curves, or residuals); ``model``: the fitted Pipeline as joblib bytes (kfold:
    refitted on every labelled row); ``environment``: :func:`environment`; ``task``:
    ``classification`` or ``regression``; ``seconds``: wall time of fit and evaluation;
    ``heldout`` / ``heldout_kind``: see below."""

    params: dict[str, Any]
    metrics: dict[str, float]
    step_metrics: list[tuple[str, int, float]]
    evaluation: dict[str, Any]
    model: bytes
    environment: dict[str, str]
    task: str
    seconds: float
    # The predictions on rows the evaluation held out (:func:`heldout_frame`: the
    # row's position in the version, its label, the prediction, class probabilities) and
    # how they were made: "holdout" (by the saved model, which never saw those rows) or
    # "out-of-fold" (each by a fold's model; the saved model was refitted on every row).
    heldout: pd.DataFrame | None = None
    heldout_kind: str | None = None


Progress = Callable[[dict[str, float], int], None]


def detect_task(target: pd.Series) -> str:
    """``"classification"`` or ``"regression"`` for the loaded target column, by the one
    task rule (``workbench.training.launch_defaults.task_for``, which the launch form
    applies to the stored profile): regression for floats and for integers with more than
    ``MAX_INTEGER_CLASSES`` distinct values, classification for everything else (text,
    booleans, categories, dates). Exact decimals count as floats (convert them first with
    ``signature.decimals_as_floats``, as :func:`check_inputs` does)."""
    return launch_defaults.task_for(_family(target), int(target.nunique()))


def _family(values: pd.Series) -> str:
    """The profile family (``store.snapshots.family_of``) a loaded column's dtype maps to,
    as far as the task rule needs it: integer, float, boolean, or other."""
    if pd.api.types.is_bool_dtype(values):
        return "boolean"
    if pd.api.types.is_integer_dtype(values):
        return "integer"
    if pd.api.types.is_numeric_dtype(values):
        return "float"
    return "other"


def check_inputs(spec: RunSpec, frame: pd.DataFrame) -> tuple[str, list[str]]:
    """(task, features) for ``spec`` on ``frame``, or InvalidInput saying what is wrong."""
    if spec.target not in frame.columns:
        raise InvalidInput(
            f"Target column {spec.target!r} is not in {spec.dataset}; its "
            f"columns are {', '.join(map(str, frame.columns[:30]))}."
        )
    y = signature.decimals_as_floats(frame[[spec.target]])[spec.target]  # exact decimals: numbers
    if y.notna().sum() == 0:
        raise InvalidInput(
            f"Target column {spec.target!r} is empty (all NULL) in "
            f"{spec.dataset}; choose another target."
        )
    features = list(spec.features) or [c for c in frame.columns if c != spec.target]
    missing = [f for f in features if f not in frame.columns]
    if missing:
        raise InvalidInput(f"Feature columns not in {spec.dataset}: {', '.join(missing[:10])}.")
    if spec.target in features:
        raise InvalidInput(f"The target {spec.target!r} cannot also be a feature.")
    if not features:
        raise InvalidInput("No feature columns: choose at least one column besides the target.")
    task = spec.task or detect_task(y)
    if task not in catalogue.TASKS:
        raise InvalidInput(f"task must be classification or regression; got {task!r}.")
    if task == "classification":
        classes = y.dropna().unique()
        if len(classes) < 2:
            raise InvalidInput(
                f"Target {spec.target!r} has a single class ({classes[0]!r}) in "
                f"{spec.dataset}; a classifier needs two or more."
            )
    elif not pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y):
        raise InvalidInput(f"Regression needs a numeric target; {spec.target!r} is {y.dtype}.")
    if spec.validation not in ("holdout", "kfold"):
        raise InvalidInput(f"validation must be holdout or kfold; got {spec.validation!r}.")
    if spec.validation == "holdout" and not 0.05 <= spec.test_size <= 0.9:
        raise InvalidInput(f"test_size must be between 0.05 and 0.9; got {spec.test_size}.")
    if spec.validation == "kfold" and not 2 <= spec.folds <= 20:
        raise InvalidInput(f"folds must be 2 to 20; got {spec.folds}.")
    return task, features


def _naive_utc(values: pd.Series) -> pd.Series:
    """``values`` as naive UTC datetimes (NaT where unparseable): a timezone-aware column and
    text carrying UTC offsets (mixed ones included) are converted to UTC, naive ones kept."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC").dt.tz_localize(None)
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    try:
        stamps = pd.to_datetime(values, errors="coerce")
    except (ValueError, TypeError):  # offsets that differ row to row: read each as UTC
        stamps = pd.to_datetime(values, errors="coerce", utc=True)
    if isinstance(stamps.dtype, pd.DatetimeTZDtype):
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    return stamps


class DatesToDays(BaseEstimator, TransformerMixin):
    """Date and datetime columns as float days since 1970-01-01."""

    def fit(self, X, y=None):
        """Record the column count (``n_features_in_``); learns nothing else. Returns self."""
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):
        """``X`` (a frame or 2-D array of date, datetime or date-like text columns) as a float
        array of the same shape: days since 1970-01-01 UTC (fractional for times); unparseable
        values become NaN. Instants with a UTC offset (a timezone-aware column, or text with
        offsets, mixed ones included) count from 1970-01-01 UTC; naive ones are taken as UTC,
        as the workbench stores them."""
        frame = pd.DataFrame(X)
        out = np.empty(frame.shape, dtype=float)
        for i, col in enumerate(frame.columns):
            stamps = _naive_utc(frame[col])
            days = (stamps - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)
            out[:, i] = days.to_numpy(dtype=float, na_value=np.nan)
        return out

    def get_feature_names_out(self, input_features=None):
        """The input column names unchanged (one output per input); empty when none are given."""
        return np.asarray(input_features if input_features is not None else [], dtype=object)


def build_pipeline(frame: pd.DataFrame, features: list[str], estimator: BaseEstimator) -> Pipeline:
    """The unfitted Pipeline ``prep`` -> ``model`` for ``features`` of ``frame`` (a DataFrame;
    only the dtypes are read) around ``estimator``. Columns are routed by dtype: numbers and
    booleans -> non-finite to NaN, median imputation, MaxAbsScaler then StandardScaler; datetime
    columns and text that looks like dates -> days since 1970, then the same numeric steps;
    everything else -> most-frequent imputation and one-hot encoding (at most 50 categories per
    column, the rarer grouped as infrequent; levels unseen at fit are ignored at predict).
    Columns not in ``features`` are dropped."""
    dates = [
        c
        for c in features
        if pd.api.types.is_datetime64_any_dtype(frame[c])
        or (frame[c].dtype == object and _looks_like_dates(frame[c]))
    ]
    numbers = [
        c
        for c in features
        if c not in dates
        and (pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c]))
    ]
    texts = [c for c in features if c not in dates and c not in numbers]
    parts = []
    if numbers:
        parts.append(("num", _numeric_steps(), numbers))
    if dates:
        parts.append(("date", Pipeline([("days", DatesToDays()), *_numeric_steps().steps]), dates))
    if texts:
        parts.append(
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent", keep_empty_features=True),
                    OneHotEncoder(handle_unknown="ignore", max_categories=50, sparse_output=False),
                ),
                texts,
            )
        )
    prep = ColumnTransformer(parts, remainder="drop", verbose_feature_names_out=False)
    return Pipeline([("prep", prep), ("model", estimator)])


def finite_or_nan(X) -> np.ndarray:
    """``X`` as floats with NaN for every non-finite value (+inf and -inf are missing to the
    imputer, as NaN is). A module-level function, so a saved pipeline unpickles."""
    frame = pd.DataFrame(X)
    out = np.empty(frame.shape, dtype=float)
    for i, column in enumerate(frame.columns):  # nullable Int64/boolean hold pd.NA
        try:  # numbers, nullable numbers (pd.NA), booleans, Arrow decimals
            out[:, i] = frame[column].to_numpy(dtype=float, na_value=np.nan)
        except (TypeError, ValueError):  # object columns: what is not a number is missing
            values = pd.to_numeric(frame[column].astype(object), errors="coerce")
            out[:, i] = values.to_numpy(dtype=float, na_value=np.nan)
    out[~np.isfinite(out)] = np.nan
    return out


def _numeric_steps() -> Pipeline:
    """Non-finite to missing, median imputation (a column with no value becomes 0 instead of
    being dropped, so the fitted width never depends on the split), then scaling: by the
    largest magnitude first (MaxAbsScaler: no overflow near 1.8e308), then to unit
    variance."""
    return make_pipeline(
        FunctionTransformer(finite_or_nan, feature_names_out="one-to-one"),
        SimpleImputer(strategy="median", keep_empty_features=True),
        MaxAbsScaler(),
        StandardScaler(),
    )


def train(
    spec: RunSpec,
    frame: pd.DataFrame,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TrainResult:
    """Fit and evaluate ``spec`` on ``frame``. ``progress(metrics, step)`` receives per-fold
    and per-stage metrics as they are computed; ``should_stop()`` is polled between folds
    and raises :class:`Cancelled` when true."""
    started = time.perf_counter()
    # Exact decimals (DECIMAL columns load as Python Decimals) are fitted as floats, as the
    # signature says and as scoring converts them (workbench.registry.signature.conform).
    frame = signature.decimals_as_floats(frame).reset_index(drop=True)  # index: row position
    task, features = check_inputs(spec, frame)
    data = frame[frame[spec.target].notna()]
    X, y = data[features], data[spec.target]
    estimator = catalogue.build(spec.estimator, task, dict(spec.params), spec.seed)
    step_metrics: list[tuple[str, int, float]] = []

    def report(values: dict[str, float], step: int) -> None:
        step_metrics.extend((k, step, v) for k, v in values.items())
        if progress is not None:
            progress(values, step)
        if should_stop is not None and should_stop():
            raise Cancelled("cancelled")

    if spec.validation == "kfold":
        pipeline, metrics, evaluation, oof = _cross_validate(
            spec, task, data, X, y, estimator, report
        )
        heldout = heldout_frame(X.index, y, oof)
    else:
        stratify = y if task == "classification" and y.value_counts().min() >= 2 else None
        X_tr, X_te, y_tr, y_te = train_test_split(
            X, y, test_size=spec.test_size, random_state=spec.seed, stratify=stratify
        )
        pipeline = build_pipeline(data, features, estimator).fit(X_tr, y_tr)
        metrics = _score(task, pipeline, X_te, y_te)
        _staged(task, pipeline, X_te, y_te, report)
        held = _predictions(task, pipeline, X_te)
        evaluation = _evaluation(task, pipeline, X_te, y_te, held)
        heldout = heldout_frame(X_te.index, y_te, held)
    buffer = io.BytesIO()
    joblib.dump(pipeline, buffer)
    params = {**_spec_params(spec, task, features), **_estimator_params(pipeline)}
    return TrainResult(
        params,
        metrics,
        step_metrics,
        evaluation,
        buffer.getvalue(),
        environment(),
        task,
        time.perf_counter() - started,
        heldout,
        "out-of-fold" if spec.validation == "kfold" else "holdout",
    )


def _cross_validate(spec, task, data, X, y, estimator, report):
    splitter = (
        StratifiedKFold(spec.folds, shuffle=True, random_state=spec.seed)
        if task == "classification" and y.value_counts().min() >= spec.folds
        else KFold(spec.folds, shuffle=True, random_state=spec.seed)
    )
    per_fold: list[dict[str, float]] = []
    oof = None
    features = list(X.columns)
    for fold, (tr, te) in enumerate(splitter.split(X, y)):
        fitted = build_pipeline(data, features, _fresh(estimator)).fit(X.iloc[tr], y.iloc[tr])
        scores = _score(task, fitted, X.iloc[te], y.iloc[te])
        per_fold.append(scores)
        report({f"fold_{k}": v for k, v in scores.items()}, fold)
        pred = _predictions(task, fitted, X.iloc[te])
        oof = _merge_oof(oof, pred, te, len(X))
    metrics = {k: float(np.mean([f[k] for f in per_fold])) for k in per_fold[0]}
    metrics |= {f"{k}_std": float(np.std([f[k] for f in per_fold])) for k in per_fold[0]}
    pipeline = build_pipeline(data, features, _fresh(estimator)).fit(X, y)  # the model: all data
    evaluation = _evaluation(task, pipeline, X, y, oof)
    return pipeline, metrics, evaluation, oof


def heldout_frame(rows: pd.Index, y: pd.Series, pred: dict[str, Any]) -> pd.DataFrame:
    """The held-out predictions as a table: ``row`` (the row's 0-based position in the
    dataset version the run trained on), ``label``, ``prediction``, and for a classifier
    with probabilities ``proba_<class>`` per class (as ``workbench.registry.models.predict_frame``
    names
    them). One row per held-out row, in the order given."""
    out = pd.DataFrame(
        {
            "row": np.asarray(rows, dtype="int64"),
            "label": np.asarray(y),
            "prediction": np.asarray(pred["pred"]),
        }
    )
    proba = pred.get("proba")
    if proba is not None and not pred.get("proba_is_score"):
        for i, cls in enumerate(pred.get("classes") or []):
            out[f"proba_{cls}"] = np.asarray(proba)[:, i]
    return out


def _fresh(estimator: BaseEstimator) -> BaseEstimator:
    from sklearn.base import clone

    return clone(estimator)


def _merge_oof(oof, pred, index, n):
    if oof is None:
        oof = {
            "pred": np.empty(n, dtype=pred["pred"].dtype),
            "proba": None,
            "classes": pred.get("classes"),
        }
    oof["pred"][index] = pred["pred"]
    if pred.get("proba") is not None:
        if oof["proba"] is None:
            oof["proba"] = np.full((n, pred["proba"].shape[1]), np.nan)
        if pred["proba"].shape[1] == oof["proba"].shape[1]:
            oof["proba"][index] = pred["proba"]
    return oof


def _predictions(task: str, pipeline: Pipeline, X: pd.DataFrame) -> dict[str, Any]:
    out: dict[str, Any] = {"pred": pipeline.predict(X)}
    if task != "classification":
        return out
    out["classes"] = list(pipeline.classes_)
    try:
        out["proba"] = pipeline.predict_proba(X)
    except (AttributeError, NotImplementedError):
        # SVC without probabilities: a binary decision score still ranks rows for ROC/AUC
        if len(out["classes"]) == 2 and hasattr(pipeline, "decision_function"):
            score = np.asarray(pipeline.decision_function(X), dtype=float)
            out["proba"] = np.column_stack([-score, score])
            out["proba_is_score"] = True
    return out


def _score(task: str, pipeline: Pipeline, X: pd.DataFrame, y: pd.Series) -> dict[str, float]:
    """The run's metrics on (X, y) (``workbench.training.metrics``): rmse, mae and r2 for a
    regressor; accuracy, balanced accuracy, macro F1, precision and recall, and from class
    probabilities ROC AUC and log loss, for a classifier."""
    p = _predictions(task, pipeline, X)
    if task == "regression":
        return scores.regression_scores(y, p["pred"].astype(float))
    return scores.classification_scores(
        y,
        p["pred"],
        p.get("proba"),
        p.get("classes"),
        proba_is_score=bool(p.get("proba_is_score")),
    )


def _staged(task, pipeline: Pipeline, X, y, report) -> None:
    """Per-stage validation scores (``staged_accuracy`` or ``staged_rmse`` at step k, k
    stages or trees), downsampled to MAX_STAGES: boosting models through their own
    ``staged_predict``; bagged forests by averaging their first k trees' predictions as the
    forest does with all of them (sklearn's ``predict_proba`` / ``predict`` average the
    trees), at about the cost of one prediction."""
    model = pipeline.named_steps["model"]
    if hasattr(model, "staged_predict"):
        stages = model.staged_predict(pipeline.named_steps["prep"].transform(X))
    elif _is_forest(model):
        stages = _forest_stages(model, pipeline.named_steps["prep"].transform(X))
    else:
        return
    stages = list(stages)
    keep = set(np.linspace(0, len(stages) - 1, min(MAX_STAGES, len(stages))).astype(int))
    for i, pred in enumerate(stages):
        if i not in keep:
            continue
        if task == "classification":
            report({"staged_accuracy": scores.accuracy(y, pred)}, i + 1)
        else:
            report({"staged_rmse": scores.rmse(y, pred)}, i + 1)


def _is_forest(model) -> bool:
    return isinstance(model, FORESTS) and getattr(model, "n_outputs_", 1) == 1


def _forest_stages(model, Xt) -> Iterator[np.ndarray]:
    """The predictions of ``model``'s first 1, 2, ... trees, averaged as the forest does."""
    total = None
    for k, tree in enumerate(model.estimators_, start=1):
        part = tree.predict_proba(Xt) if hasattr(model, "classes_") else tree.predict(Xt)
        total = part.astype(float) if total is None else total + part
        mean = total / k
        yield model.classes_.take(np.argmax(mean, axis=1)) if mean.ndim == 2 else mean


def _evaluation(task: str, pipeline: Pipeline, X, y, pred: dict) -> dict[str, Any]:
    """What the pages draw, as plain data."""
    out: dict[str, Any] = {"n_evaluated": len(y)}
    importances = _importances(pipeline)
    if importances:
        out["feature_importances"] = importances
    yp = pred["pred"]
    if task == "regression":
        y_true = np.asarray(y, dtype=float)
        y_pred = np.asarray(yp, dtype=float)
        idx = np.linspace(0, len(y_true) - 1, min(500, len(y_true))).astype(int)
        out["residuals"] = {"y_true": y_true[idx].tolist(), "y_pred": y_pred[idx].tolist()}
        return out
    labels = list(pipeline.classes_)
    cm = skm.confusion_matrix(np.asarray(y), np.asarray(yp), labels=labels)
    out["confusion_matrix"] = {"labels": [str(c) for c in labels], "matrix": cm.tolist()}
    proba = pred.get("proba")
    if proba is not None and len(labels) == 2 and not np.isnan(proba).any():
        positive = np.asarray(y) == labels[1]
        fpr, tpr, _ = skm.roc_curve(positive, proba[:, 1])
        precision, recall, _ = skm.precision_recall_curve(positive, proba[:, 1])
        out["roc"] = _thin({"fpr": fpr, "tpr": tpr}) | {"positive": str(labels[1])}
        out["pr"] = _thin({"recall": recall, "precision": precision})
    return out


def _thin(curve: dict[str, np.ndarray]) -> dict[str, list[float]]:
    n = len(next(iter(curve.values())))
    idx = np.unique(np.linspace(0, n - 1, min(MAX_CURVE_POINTS, n)).astype(int))
    return {k: [round(float(v), 6) for v in np.asarray(a)[idx]] for k, a in curve.items()}


def _importances(pipeline: Pipeline) -> dict[str, float]:
    model = pipeline.named_steps["model"]
    values = getattr(model, "feature_importances_", None)
    if values is None and getattr(model, "coef_", None) is not None:
        coef = np.asarray(model.coef_, dtype=float)
        values = np.abs(coef).mean(axis=0) if coef.ndim == 2 else np.abs(coef)
    if values is None:
        return {}
    try:
        names = pipeline.named_steps["prep"].get_feature_names_out()
    except (AttributeError, ValueError):
        names = [f"x{i}" for i in range(len(values))]
    pairs = sorted(zip(map(str, names), map(float, values), strict=False), key=lambda p: -p[1])
    return dict(pairs[:30])


def _spec_params(spec: RunSpec, task: str, features: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "dataset": spec.dataset,
        "target": spec.target,
        "task": task,
        "estimator": spec.estimator,
        "validation": spec.validation,
        "seed": spec.seed,
        "n_features": len(features),
    }
    out["test_size" if spec.validation == "holdout" else "folds"] = (
        spec.test_size if spec.validation == "holdout" else spec.folds
    )
    return out


def _estimator_params(pipeline: Pipeline) -> dict[str, Any]:
    """The fitted estimator's own get_params(), typed; objects as their repr."""
    out = {}
    for key, value in pipeline.named_steps["model"].get_params(deep=False).items():
        if isinstance(value, np.generic):
            value = value.item()
        if value is not None and not isinstance(value, bool | int | float | str):
            value = repr(value)[:500]
        out[key] = value
    return out


def _looks_like_dates(col: pd.Series) -> bool:
    sample = col.dropna().head(20)
    import datetime as dt

    return len(sample) > 0 and all(isinstance(v, dt.date) for v in sample)


_ENV: dict[str, str] | None = None


def environment() -> dict[str, str]:
    """Python and package versions, and the git commit of this checkout if there is one."""
    global _ENV
    if _ENV is None:
        import sklearn

        env = {
            "python": platform.python_version(),
            "sklearn": sklearn.__version__,
            "pandas": pd.__version__,
            "numpy": np.__version__,
            "joblib": joblib.__version__,
            "duckdb": metadata.version("duckdb"),
            "platform": platform.platform(),
        }
        try:
            commit = subprocess.run(
                ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=5
            )
            if commit.returncode == 0:
                env["git_commit"] = commit.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
        _ENV = env
    return dict(_ENV)
