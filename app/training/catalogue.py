"""The estimators the UI can launch, and their hyperparameter forms.

Each entry names a scikit-learn estimator per task and the parameters worth tuning. A
parameter's form field is generated from the estimator itself: its default from
``get_params()``, its type and hard bounds from scikit-learn's own parameter constraints,
and a sensible search range (for sweeps) from the table below. Values are validated by
scikit-learn (``_validate_params``), so the message is scikit-learn's: "The
'n_estimators' parameter of RandomForestClassifier must be an int in the range [1, inf).
Got -1 instead."
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any

from sklearn.base import BaseEstimator
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.svm import SVC, SVR

from workbench.store.errors import InvalidInput

TASKS = ("classification", "regression")


@dataclass(frozen=True)
class ParamSpec:
    """One hyperparameter's form field. ``kind`` is int, float, bool or choice; ``low`` and
    ``high`` bound random search (``log`` samples on a log scale); ``nullable`` allows
    None (e.g. ``max_depth=None``: no limit)."""

    name: str
    kind: str
    default: Any
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()
    nullable: bool = False
    help: str = ""


@dataclass(frozen=True)
class EstimatorSpec:
    """One estimator the launcher offers, under ``key`` (e.g. ``random_forest``), shown as
    ``title``. ``classes``: task (``classification`` / ``regression``) to the scikit-learn class;
    ``params``: the hyperparameters shown in the form, each mapped to its search hint (``low`` /
    ``high`` bound a sweep's random search, ``log`` samples on a log scale, ``choices`` lists the
    options; an empty hint shows the field with no range); ``fixed``: parameters always set and
    not shown (a default for a form field, e.g. ``max_iter=1000``)."""

    key: str
    title: str
    classes: dict[str, type[BaseEstimator]]
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    fixed: dict[str, Any] = field(default_factory=dict)  # always set, e.g. a seed

    def supports(self, task: str) -> bool:
        """True when the estimator has a class for ``task`` (``classification`` or
        ``regression``)."""
        return task in self.classes

    def estimator_class(self, task: str) -> type[BaseEstimator]:
        """The scikit-learn class for ``task``. Raises InvalidInput naming the estimators that do
        that task."""
        if task not in self.classes:
            raise InvalidInput(
                f"{self.title} does not do {task}; choose one of "
                f"{', '.join(e.title for e in for_task(task))}."
            )
        return self.classes[task]


# Search ranges; everything else (type, bounds, default) comes from scikit-learn.
CATALOGUE: dict[str, EstimatorSpec] = {
    e.key: e
    for e in [
        EstimatorSpec(
            "dummy",
            "Dummy baseline",
            {"classification": DummyClassifier, "regression": DummyRegressor},
        ),
        EstimatorSpec(
            "logistic",
            "Logistic regression",
            {"classification": LogisticRegression},
            {"C": {"low": 1e-3, "high": 1e3, "log": True}, "max_iter": {"low": 100, "high": 2000}},
            {"max_iter": 1000},
        ),
        EstimatorSpec(
            "linear", "Linear regression", {"regression": LinearRegression}, {"fit_intercept": {}}
        ),
        EstimatorSpec(
            "ridge",
            "Ridge",
            {"regression": Ridge},
            {"alpha": {"low": 1e-3, "high": 1e3, "log": True}},
        ),
        EstimatorSpec(
            "random_forest",
            "Random forest",
            {"classification": RandomForestClassifier, "regression": RandomForestRegressor},
            {
                "n_estimators": {"low": 10, "high": 500},
                "max_depth": {"low": 2, "high": 32},
                "min_samples_leaf": {"low": 1, "high": 50},
                "max_features": {"low": 0.1, "high": 1.0},
            },
            {"n_jobs": 1},
        ),
        EstimatorSpec(
            "gradient_boosting",
            "Gradient boosting",
            {"classification": GradientBoostingClassifier, "regression": GradientBoostingRegressor},
            {
                "n_estimators": {"low": 20, "high": 500},
                "learning_rate": {"low": 1e-3, "high": 1.0, "log": True},
                "max_depth": {"low": 1, "high": 10},
                "subsample": {"low": 0.5, "high": 1.0},
            },
        ),
        EstimatorSpec(
            "hist_gradient_boosting",
            "Histogram gradient boosting",
            {
                "classification": HistGradientBoostingClassifier,
                "regression": HistGradientBoostingRegressor,
            },
            {
                "max_iter": {"low": 20, "high": 500},
                "learning_rate": {"low": 1e-3, "high": 1.0, "log": True},
                "max_leaf_nodes": {"low": 4, "high": 128},
                "l2_regularization": {"low": 0.0, "high": 10.0},
            },
            {"early_stopping": False},
        ),
        EstimatorSpec(
            "svm",
            "Support vector machine",
            {"classification": SVC, "regression": SVR},
            {
                "C": {"low": 1e-2, "high": 1e3, "log": True},
                "kernel": {"choices": ("rbf", "linear", "poly", "sigmoid")},
                "gamma": {"choices": ("scale", "auto")},
            },
        ),
        EstimatorSpec(
            "knn",
            "k-nearest neighbours",
            {"classification": KNeighborsClassifier, "regression": KNeighborsRegressor},
            {
                "n_neighbors": {"low": 1, "high": 50},
                "weights": {"choices": ("uniform", "distance")},
            },
        ),
    ]
}


def for_task(task: str) -> list[EstimatorSpec]:
    """The catalogue's estimators that do ``task``, in catalogue order (empty for an unknown
    task)."""
    return [e for e in CATALOGUE.values() if e.supports(task)]


def get(key: str) -> EstimatorSpec:
    """The catalogue entry ``key`` (e.g. ``random_forest``). Raises InvalidInput naming the known
    keys."""
    if key not in CATALOGUE:
        raise InvalidInput(f"Unknown estimator {key!r}; choose one of {', '.join(CATALOGUE)}.")
    return CATALOGUE[key]


def param_specs(key: str, task: str) -> list[ParamSpec]:
    """The form fields of an estimator for a task, generated from scikit-learn."""
    entry = get(key)
    cls = entry.estimator_class(task)
    defaults = cls().get_params()
    constraints = getattr(cls, "_parameter_constraints", {})
    out = []
    for name, hint in entry.params.items():
        default = entry.fixed.get(name, defaults.get(name))
        out.append(_spec(name, default, constraints.get(name, []), hint))
    return out


def _spec(name: str, default: Any, constraints: list, hint: dict[str, Any]) -> ParamSpec:
    nullable = None in constraints or default is None
    if "choices" in hint:
        return ParamSpec(name, "choice", default, choices=tuple(hint["choices"]))
    if isinstance(default, bool) or "boolean" in constraints:
        return ParamSpec(name, "bool", bool(default))
    interval = next((c for c in constraints if hasattr(c, "type") and hasattr(c, "left")), None)
    integral = interval is not None and interval.type is numbers.Integral
    int_default = isinstance(default, int) and not isinstance(hint.get("low"), float)
    kind = "int" if integral or (int_default and "log" not in hint) else "float"
    if name == "max_features":  # a share of the features; 'sqrt' is the classifier default
        kind, nullable = "float", True
    low, high = hint.get("low"), hint.get("high")
    return ParamSpec(name, kind, default, low, high, bool(hint.get("log")), (), nullable)


def coerce(spec: ParamSpec, value: Any) -> Any:
    """A form or sweep value as the parameter's type, or InvalidInput naming the parameter."""
    if isinstance(value, str) and value == spec.default:
        return value  # a named default such as max_features='sqrt'
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none")):
        if spec.nullable or spec.default is None:
            return None
        raise InvalidInput(f"{spec.name} needs a value (default {spec.default!r}).")
    try:
        if spec.kind == "int":
            number = float(value)
            if not number.is_integer():
                raise ValueError
            return int(number)
        if spec.kind == "float":
            number = float(value)
            if math.isnan(number):
                raise ValueError
            return number
        if spec.kind == "bool":
            if isinstance(value, str):
                if value.lower() not in ("true", "false"):
                    raise ValueError
                return value.lower() == "true"
            return bool(value)
    except (TypeError, ValueError):
        word = {"int": "a whole number", "float": "a number", "bool": "true or false"}[spec.kind]
        raise InvalidInput(f"{spec.name} must be {word}; got {value!r}.") from None
    if spec.choices and value not in spec.choices:
        raise InvalidInput(
            f"{spec.name} must be one of {', '.join(map(str, spec.choices))}; got {value!r}."
        )
    return value


def build(key: str, task: str, params: dict[str, Any], seed: int) -> BaseEstimator:
    """The estimator with ``params`` set and validated by scikit-learn."""
    from sklearn.utils._param_validation import InvalidParameterError

    entry = get(key)
    cls = entry.estimator_class(task)
    estimator = cls()
    settings = {**entry.fixed, **params}
    if "random_state" in estimator.get_params():
        settings["random_state"] = seed
    unknown = sorted(set(settings) - set(estimator.get_params()))
    if unknown:
        raise InvalidInput(
            f"{cls.__name__} has no parameter {unknown[0]!r}; its parameters "
            f"are {', '.join(sorted(estimator.get_params()))}."
        )
    estimator.set_params(**settings)
    try:
        estimator._validate_params()
    except InvalidParameterError as exc:
        raise InvalidInput(str(exc)) from None
    return estimator
