"""Model signatures: the input columns and type families a model was fitted on, and what it
returns. Inferred at registration, enforced on every predict.

    {"inputs": [{"name": "age", "family": "integer"}, ...],
     "output": {"kind": "classification", "classes": ["no", "yes"]}}

Numbers accept numbers (an integer column may arrive as floats and the other way round),
dates accept dates, timestamps or ISO text (as JSON carries them), text accepts text. A
missing column, an extra column or a column of another family is an error naming it.
"""

from __future__ import annotations

import datetime as dt
import warnings
from typing import Any

import numpy as np
import pandas as pd

from store.errors import InvalidInput

_COMPATIBLE = {"integer": {"integer", "float", "boolean"}, "float": {"integer", "float"},
               "boolean": {"boolean", "integer"}, "date": {"date", "timestamp"},
               "timestamp": {"date", "timestamp"}, "string": {"string"}}  # fmt: skip


def family(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_integer_dtype(series):
        return "integer"
    if pd.api.types.is_float_dtype(series):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "timestamp"
    sample = series.dropna().head(20)
    if len(sample) and all(isinstance(v, dt.date) for v in sample):
        return "date"
    return "string"


def infer(frame: pd.DataFrame, features: list[str], model: Any, task: str) -> dict[str, Any]:
    output: dict[str, Any] = {"kind": task}
    if task == "classification" and hasattr(model, "classes_"):
        output["classes"] = [_plain(c) for c in model.classes_]
    return {"inputs": [{"name": c, "family": family(frame[c])} for c in features],
            "output": output}  # fmt: skip


def check(signature: dict[str, Any], frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the model's columns in the model's order, or InvalidInput naming the
    first column that is missing, extra, or of another type."""
    if not isinstance(frame, pd.DataFrame):
        raise InvalidInput(f"Predict takes a pandas DataFrame; got {type(frame).__name__}.")
    expected = [c["name"] for c in signature["inputs"]]
    missing = [c for c in expected if c not in frame.columns]
    if missing:
        raise InvalidInput(f"Column {missing[0]!r} is missing; the model expects "
                           f"{len(expected)} columns: {', '.join(expected)}.")  # fmt: skip
    extra = [c for c in frame.columns if c not in expected]
    if extra:
        raise InvalidInput(f"Column {extra[0]!r} is not one the model was trained on; drop it "
                           f"(expected: {', '.join(expected)}).")  # fmt: skip
    frame = frame[expected].copy()
    for col in signature["inputs"]:
        series = frame[col["name"]]
        if series.isna().all():
            continue  # an all-missing column is imputed, whatever its dtype
        got = family(series)
        if got == "string" and col["family"] in ("date", "timestamp"):
            try:  # ISO text, as JSON carries dates
                frame[col["name"]] = pd.to_datetime(series)
                continue
            except (ValueError, TypeError):
                pass
        if got not in _COMPATIBLE.get(col["family"], {col["family"]}):
            raise InvalidInput(f"Column {col['name']!r} has type {got} ({series.dtype}); the "
                               f"model was trained on {col['family']}.")  # fmt: skip
    return frame


def compatible(old: dict[str, Any], new: dict[str, Any]) -> tuple[bool, str]:
    """Whether a model with signature ``new`` can replace one with ``old`` for callers."""
    a = {c["name"]: c["family"] for c in old["inputs"]}
    b = {c["name"]: c["family"] for c in new["inputs"]}
    if set(a) != set(b):
        missing, added = sorted(set(a) - set(b)), sorted(set(b) - set(a))
        return False, (f"inputs differ (new needs {', '.join(added) or 'nothing new'}; "
                       f"drops {', '.join(missing) or 'nothing'})")  # fmt: skip
    retyped = [n for n in a if b[n] not in _COMPATIBLE.get(a[n], {a[n]})]
    if retyped:
        return False, f"input types differ for {', '.join(retyped)}"
    if old["output"].get("kind") != new["output"].get("kind"):
        return False, "the output kind differs"
    if old["output"].get("classes") != new["output"].get("classes"):
        return False, "the classes differ"
    return True, "same inputs and outputs"


class LoadedModel:
    """A registered model version, loaded after its hash was checked. ``predict`` and
    ``predict_proba`` enforce the signature."""

    def __init__(self, model: Any, signature: dict[str, Any], ref: str,
                 libraries: dict[str, str]) -> None:  # fmt: skip
        self.model, self.signature, self.ref, self.libraries = model, signature, ref, libraries
        import sklearn

        fitted = libraries.get("sklearn")
        if fitted and fitted != sklearn.__version__:
            warnings.warn(f"{ref} was fitted with scikit-learn {fitted}; {sklearn.__version__} "
                          "is installed. Predictions may differ; retrain or pin "
                          f"scikit-learn=={fitted}.", UserWarning, stacklevel=3)  # fmt: skip

    def __repr__(self) -> str:
        return f"<LoadedModel {self.ref} {self.signature['output']['kind']}>"

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return self.model.predict(check(self.signature, frame))

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        if self.signature["output"]["kind"] != "classification":
            raise InvalidInput(f"{self.ref} is a regression model; it has no probabilities.")
        return self.model.predict_proba(check(self.signature, frame))


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
