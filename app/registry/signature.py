"""Model signatures: the input columns and types a model was fitted on, and what it returns.
Recorded from the data the model was fitted on, enforced (and applied) on every predict.

    {"inputs": [{"name": "age", "family": "integer", "dtype": "int64"}, ...],
     "output": {"kind": "classification", "classes": ["no", "yes"]},
     "source": "training data"}

Where a signature comes from (``source``), best first:

* ``"training data"``: the run was launched from the app (the dataset version it trained on
  is known) or the model was fitted under ``wb.autolog()`` on a DataFrame: each column's
  dtype at fit time is recorded.
* ``"input example"``: logged by hand with ``wb.log_model(model, input_example=X_train)`` or
  ``signature=wb.infer_signature(X_train)``.
* ``"feature names only"``: the model has ``feature_names_in_`` but no data was seen; the
  names are known, the types are not (family ``"unknown"``: values pass unchanged).
* ``"positional"``: the model was fitted on an array (no column names): ``inputs`` is empty
  and ``positional = {"n_features": k, "family": ...}``. Nothing is invented.

Scoring brings every frame to the signature's types with :func:`conform`, by the rules
registration applies to data (the type policy, docs/types.md), and refuses what it cannot
convert exactly with an InvalidInput naming the column:

=========  ==================================================================================
family     accepted at scoring (converted to the dtype the model was fitted on)
=========  ==================================================================================
integer    integers inside the 64-bit range the model was trained on (int64, or uint64 for
           an unsigned column; beyond it refused, never wrapped); floats and decimals whose
           values are all whole numbers (NaN is missing). REST only: a JSON string that is
           a number is read as an exact decimal (``"70"``, ``"7e1"``; JSON has no exact
           decimal type); other text is refused. DataFrames (SDK): text is refused
float      floats, integers of any size, decimals (as float64); NaN, +inf and -inf are
           missing (NaN), as training and the profiles treat them (off the numeric axis).
           REST reads numeric text as for integers
boolean    booleans; integers 0/1; the text ``true``/``false`` (any case), as registration
           reads a CSV column of those spellings; other text (``yes``/``no``) is refused
date       dates, timestamps (time zones to UTC, then the day), ISO 8601 text
timestamp  timestamps (time-zone-aware ones to naive UTC, as registration stores them),
           dates (midnight), ISO 8601 text (``2024-05-01T00:00:00Z``; no offset means UTC)
string     text (and categoricals of text); numbers and booleans are refused
unknown    anything, unchanged
=========  ==================================================================================

A column with no values at all is passed as missing values of the signature's type. A
missing column or an extra column is an error naming it.
"""

from __future__ import annotations

import datetime as dt
import decimal
import warnings
from typing import Any

import numpy as np
import pandas as pd

from workbench.store.errors import InvalidInput

FAMILIES = ("integer", "float", "boolean", "date", "timestamp", "string", "unknown")

# What a model whose input has family ``new`` accepts fully from callers that send ``old``.
_COMPATIBLE = {
    "integer": {"integer"},
    "float": {"integer", "float"},
    "boolean": {"boolean"},
    "date": {"date", "timestamp"},
    "timestamp": {"date", "timestamp"},
    "string": {"string"},
}
_TRUE_FALSE = {"true": True, "false": False}

# pandas.api.types.infer_dtype kinds -> the value family they hold
_INFERRED = {
    "integer": "integer",
    "floating": "float",
    "mixed-integer-float": "float",
    "decimal": "decimal",
    "boolean": "boolean",
    "datetime64": "timestamp",
    "datetime": "timestamp",
    "date": "date",
    "string": "string",
    "empty": "empty",
}


def kind_of(series: pd.Series) -> str:
    """What the values of ``series`` are: integer, float, decimal, boolean, date, timestamp,
    string, empty (no values) or mixed (anything else: several kinds, bytes, lists...).
    Looks at every value of an object column (``pandas.api.types.infer_dtype``)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object)
    if series.isna().all():
        return "empty"
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_integer_dtype(series):
        return "integer"
    if pd.api.types.is_float_dtype(series):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "timestamp"
    inferred = pd.api.types.infer_dtype(series, skipna=True)
    if inferred == "decimal" or _arrow_decimal(series):
        return "decimal"
    return _INFERRED.get(inferred, "mixed")


def family(series: pd.Series) -> str:
    """The signature family of a training column (a decimal column is a float one; a column
    of no values or of mixed values is ``unknown``)."""
    kind = kind_of(series)
    if kind == "decimal":
        return "float"
    if kind == "empty":  # no values: the column's dtype still says what it holds
        dtype = series.dtype
        if pd.api.types.is_bool_dtype(dtype):
            return "boolean"
        if pd.api.types.is_integer_dtype(dtype):
            return "integer"
        if pd.api.types.is_float_dtype(dtype):
            return "float"
        if pd.api.types.is_datetime64_any_dtype(dtype):
            return "timestamp"
        if isinstance(dtype, pd.StringDtype):
            return "string"
    return kind if kind in FAMILIES else "unknown"


def describe(frame: pd.DataFrame, columns: list[str] | None = None) -> list[dict[str, Any]]:
    """The signature inputs of ``frame``'s columns (all, or ``columns`` in that order): name,
    family and the pandas dtype the model sees at fit time."""
    names = list(frame.columns) if columns is None else list(columns)
    return [
        {"name": str(c), "family": family(frame[c]), "dtype": str(frame[c].dtype)} for c in names
    ]


def infer(frame: pd.DataFrame, features: list[str], model: Any, task: str) -> dict[str, Any]:
    """The signature of ``model`` trained on ``frame[features]`` for ``task``."""
    return {
        "inputs": describe(frame, features),
        "output": output_of(model, task),
        "source": "training data",
    }


def output_of(model: Any, task: str | None = None) -> dict[str, Any]:
    """``{"kind": classification|regression[, "classes": [...]]}`` of a fitted model."""
    if task is None:
        task = "classification" if hasattr(model, "classes_") else "regression"
    output: dict[str, Any] = {"kind": task}
    if task == "classification" and hasattr(model, "classes_"):
        output["classes"] = [_plain(c) for c in model.classes_]
    return output


def infer_signature(model_input: Any, model_output: Any = None) -> dict[str, Any]:
    """The input signature of data a model is fitted on, in the spirit of MLflow's
    ``infer_signature(model_input, model_output)``: a DataFrame gives each column's name,
    family and dtype; an array (NumPy, or anything with a 2-D ``shape``) gives a positional
    signature (column count and value family, no names). ``model_output`` (predictions)
    adds their dtype. Pass the result to ``wb.log_model(model, signature=...)``."""
    if isinstance(model_input, pd.DataFrame):
        if isinstance(model_input.columns, pd.MultiIndex):
            raise InvalidInput("The input example has multi-level column names; flatten them.")
        sig: dict[str, Any] = {"inputs": describe(model_input), "source": "input example"}
    else:
        array = _as_2d(model_input, "The input example")
        sig = {
            "inputs": [],
            "positional": {"n_features": int(array.shape[1]), "family": _array_family(array)},
            "source": "positional",
        }
    if model_output is not None:
        sig["output"] = {"dtype": str(np.asarray(model_output).dtype)}
    return sig


def from_fit(X: Any) -> dict[str, Any] | None:
    """The input part of a signature from what ``fit(X, y)`` received (autolog), or None
    when ``X`` is neither a DataFrame nor array-like."""
    try:
        sig = infer_signature(X)
    except InvalidInput:
        return None
    sig["source"] = "training data" if isinstance(X, pd.DataFrame) else "positional"
    return sig


def for_model(model: Any, recorded: dict[str, Any] | None) -> dict[str, Any]:
    """The full signature of a fitted ``model``: the recorded inputs (from its fit data or
    an input example), checked against the model's ``feature_names_in_`` and
    ``n_features_in_``; without a record, the names the model knows (types not recorded) or
    a positional signature. Raises InvalidInput when the record does not fit the model or
    the model knows nothing of its inputs."""
    names = getattr(model, "feature_names_in_", None)
    n_features = getattr(model, "n_features_in_", None)
    out = output_of(model)
    if recorded is not None and recorded.get("inputs"):
        inputs = list(recorded["inputs"])
        if names is not None:
            by_name = {c["name"]: c for c in inputs}
            names = [str(n) for n in names]
            if set(names) != set(by_name):
                raise InvalidInput(
                    f"The recorded input columns ({', '.join(list(by_name)[:20])}) are not the "
                    f"columns the model was fitted on ({', '.join(names[:20])}); give the "
                    "DataFrame the model was fitted on as the input example."
                )
            inputs = [by_name[n] for n in names]  # the fit's order, which predict needs
        elif n_features is not None and int(n_features) != len(inputs):
            raise InvalidInput(
                f"The input example has {len(inputs)} columns but the model was "
                f"fitted on {int(n_features)}."
            )
        return {"inputs": inputs, "output": out, "source": recorded.get("source", "recorded")}
    if recorded is not None and recorded.get("positional"):
        positional = dict(recorded["positional"])
        if names is not None:  # fitted on a DataFrame after all: keep the names, not types
            return for_model(model, None)
        if n_features is not None and int(n_features) != positional["n_features"]:
            raise InvalidInput(
                f"The input example has {positional['n_features']} columns but "
                f"the model was fitted on {int(n_features)}."
            )
        return {"inputs": [], "positional": positional, "output": out, "source": "positional"}
    if names is not None:
        return {
            "inputs": [{"name": str(n), "family": "unknown", "dtype": None} for n in names],
            "output": out,
            "source": "feature names only",
        }
    if n_features is not None:
        return {
            "inputs": [],
            "positional": {"n_features": int(n_features), "family": "unknown"},
            "output": out,
            "source": "positional",
        }
    raise InvalidInput(
        "The model records neither feature names nor a feature count, so no "
        "signature can be given; fit it on a DataFrame, or log it with "
        "wb.log_model(model, input_example=X_train)."
    )


def input_names(signature: dict[str, Any]) -> list[str]:
    """The named input columns (empty for a positional signature)."""
    return [c["name"] for c in signature.get("inputs", [])]


def describe_inputs(signature: dict[str, Any]) -> str:
    """One line for a model card: ``age`` (integer), ``plan`` (string) ..."""
    if signature.get("positional"):
        p = signature["positional"]
        return (
            f"{p['n_features']} unnamed columns (fitted on an array; values "
            f"{p.get('family', 'unknown')}): score it with arrays of that width"
        )
    return ", ".join(f"`{c['name']}` ({family_label(c['family'])})" for c in signature["inputs"])


# -- checking the data a model is evaluated on -------------------------------------------------
# One check each for compare/promote (workbench.registry.promotion), model drift
# (workbench.drift.model_drift) and scoring (workbench.registry.models.score), so that every
# door refuses the same data with the same sentence.


def require_inputs(
    signature: dict[str, Any], columns: Any, model_ref: str, data_ref: str, advice: str = ""
) -> list[str]:
    """The model's named input columns (in its order), after checking that ``columns`` (the
    column names of dataset version ``data_ref``) hold every one. ``advice``: what to do
    instead, appended to the refusal after a semicolon. Raises InvalidInput for a positional
    signature (fitted on an unnamed array: no column can be matched to its inputs) and for
    the first input that is missing, e.g. "iris@v1 lacks column 'tenure_months' that
    churn-classifier/1 needs; <advice>"."""
    inputs = input_names(signature)
    if not inputs:
        raise InvalidInput(
            f"{model_ref} was fitted on an unnamed array, so the columns of "
            f"{data_ref} cannot be matched to its inputs; fit it on a "
            "DataFrame and register it again."
        )
    present = {str(c) for c in columns}
    missing = [c for c in inputs if c not in present]
    if missing:
        raise InvalidInput(
            f"{data_ref} lacks column {missing[0]!r} that {model_ref} needs"
            + (f"; {advice}" if advice else ".")
        )
    return inputs


def require_label_name(target: Any) -> str:
    """``target``, a label column's name, checked to be one: non-empty text. Raises
    InvalidInput for an empty or blank name (every door refuses it alike, rather than
    reading it as "the default")."""
    if not isinstance(target, str) or not target.strip():
        raise InvalidInput(
            f"The label column is empty ({target!r}); give a column name, e.g. the "
            "column the model was trained to predict."
        )
    return target


def require_label_column(target: str, columns: dict[str, Any]) -> None:
    """Check that label column ``target`` is a column of at least one of the dataset versions
    in ``columns`` (version ref -> its column names). Raises InvalidInput naming the column
    and the versions' columns (the first 30), e.g. "churn@v3 has no column 'nope' to take
    labels from; its columns: customer_id, ...; give the label column the model was trained
    to predict", and for an empty name (:func:`require_label_name`)."""
    require_label_name(target)
    named = {ref: [str(c) for c in cols] for ref, cols in columns.items()}
    if any(target in cols for cols in named.values()):
        return
    refs = list(named)
    every = list(dict.fromkeys(c for cols in named.values() for c in cols))
    shown = ", ".join(every[:30]) + (f" and {len(every) - 30} more" if len(every) > 30 else "")
    who = refs[0] if len(refs) == 1 else f"Neither {' nor '.join(refs)}"
    verb = "has no" if len(refs) == 1 else "has a"
    whose = "its" if len(refs) == 1 else "their"
    raise InvalidInput(
        f"{who} {verb} column {target!r} to take labels from; {whose} columns: "
        f"{shown or '(none)'}; give the label column the model was trained to predict."
    )


# The share of a classifier's labelled rows that may hold a value that is no class of the
# model (a class it never learned, e.g. a rare level added since): up to 1 % are scored, each
# a miss, and the comparison says how many; more is refused (likely another column).
OUTSIDE_SHARE = 0.01


def check_labels(
    signature: dict[str, Any], labels: pd.Series, target: str, model_ref: str, data_ref: str
) -> int:
    """Check that the labelled values of ``labels`` (column ``target`` of ``data_ref``; missing
    values are skipped) can be scored against the predictions of a model with ``signature``,
    and return how many labelled rows hold a value that is no class of a classifier (0 for a
    regressor, or when the signature records no classes).

    A classifier's label column must be of its classes' kind: booleans, or numbers that are
    all 0 or 1, for a boolean classifier; text for a text classifier; whole numbers (or
    booleans) for a classifier of numbers (scikit-learn's metrics refuse a mix). Then at most
    :data:`OUTSIDE_SHARE` (1 %) of the labelled rows may hold a value that is no class (a
    class the model never learned, scored as a miss); more are another column's values. A
    regressor's labels must be numbers (or booleans). Raises InvalidInput naming the column,
    its values (with counts, for values outside the classes) and what the model predicts,
    e.g. "label column 'plan' of churn@v4 holds text values 'basic', 'pro', 'team';
    churn-classifier/1 is a boolean classifier (it predicts False, True): its label column
    holds booleans, or only 0 and 1. Pick the column the model was trained to predict."."""
    values = labels[labels.notna()]
    if values.empty:
        return 0
    output = signature.get("output") or {}
    if output.get("kind") != "classification":
        kind = kind_of(values)
        if kind not in ("integer", "float", "decimal", "boolean"):
            raise InvalidInput(
                f"label column {target!r} of {data_ref} holds {kind} values "
                f"({_some(values.drop_duplicates())}); {model_ref} is a regressor and "
                "predicts numbers: pick the numeric column the model was trained to predict."
            )
        return 0
    classes = output.get("classes") or []
    if not classes:  # a signature that recorded no classes: nothing to hold the labels to
        return 0
    distinct = values.drop_duplicates()
    predicts = _some(pd.Series(classes, dtype=object))
    pick = "Pick the column the model was trained to predict."
    wanted = _kind_wanted(classes, values)
    if wanted is not None:
        kind, what, holds = wanted
        raise InvalidInput(
            f"label column {target!r} of {data_ref} holds {kind} values ({_some(distinct)}); "
            f"{model_ref} is {what} (it predicts {predicts}): its label column holds "
            f"{holds}. {pick}"
        )
    outside = values[~values.isin(classes)]
    if len(outside) > OUTSIDE_SHARE * len(values):
        counts = outside.astype(object).value_counts()
        shown = ", ".join(f"{_show(v)} ({n:,} rows)" for v, n in counts.head(5).items())
        more = f" and {len(counts) - 5:,} more values" if len(counts) > 5 else ""
        raise InvalidInput(
            f"label column {target!r} of {data_ref}: {len(outside):,} of its "
            f"{len(values):,} labelled rows ({len(outside) / len(values):.1%}) hold values "
            f"that are no class of {model_ref}: {shown}{more}; it predicts {predicts}. At "
            f"most {OUTSIDE_SHARE:.0%} of the rows may hold a class the model never learned "
            f"(each scored as a miss). {pick}"
        )
    return len(outside)


def _kind_wanted(classes: list[Any], values: pd.Series) -> tuple[str, str, str] | None:
    """None when labels ``values`` (no missing ones) are of the kind of ``classes``; else
    (the labels' kind, what the classifier is, what its label column holds) for the
    refusal."""
    kind = kind_of(values)
    shown = "text" if kind == "string" else kind
    if all(isinstance(c, bool | np.bool_) for c in classes):
        if kind == "boolean" or (
            kind in ("integer", "float", "decimal") and values.isin([0, 1]).all()
        ):
            return None
        return shown, "a boolean classifier", "booleans, or only 0 and 1"
    if all(isinstance(c, str) for c in classes):
        if kind == "string":
            return None
        return shown, "a classifier of text classes", "text"
    class_sorts = {_label_sort(c) for c in classes}
    if all(_label_sort(v) in class_sorts for v in values.drop_duplicates()):
        return None
    if class_sorts == {"number"}:
        return shown, "a classifier of whole-number classes", "whole numbers"
    return shown, "a classifier", "values of its classes' kind"


def _label_sort(value: Any) -> str:
    """What scikit-learn's label checks see in a value: ``text``, ``number`` (booleans and
    whole numbers) or ``continuous`` (a number with a fraction)."""
    if isinstance(value, str):
        return "text"
    if isinstance(value, bool | np.bool_):
        return "number"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "text"  # neither text nor a number (a date, bytes): never a class of a number
    return "number" if number.is_integer() else "continuous"


def _some(values: pd.Series, limit: int = 5) -> str:
    """Up to ``limit`` distinct values, sorted, as written (``'basic', 'pro', 'team'``), and
    how many there are when more."""
    distinct = [v.item() if isinstance(v, np.generic) else v for v in values.drop_duplicates()]
    try:
        distinct.sort()
    except TypeError:  # values that do not order together (text and numbers)
        distinct.sort(key=repr)
    shown = [_show(v) for v in distinct]
    if len(shown) <= limit:
        return ", ".join(shown)
    return f"{', '.join(shown[:limit])} ... ({len(shown):,} distinct values)"


def family_label(fam: str) -> str:
    """A signature family as a card shows it: the family's name (``integer``, ``float``,
    ``boolean``, ``date``, ``timestamp``, ``string``), or "type not recorded" for
    ``unknown`` (a model that kept its feature names but not their types)."""
    return "type not recorded" if fam == "unknown" else fam


# -- conforming a scoring frame ----------------------------------------------------------------


def conform(signature: dict[str, Any], frame: Any) -> pd.DataFrame | np.ndarray:
    """``frame`` brought to the model's inputs: its columns in the model's order, each
    converted to the dtype the model was fitted on by the rules in the module docstring.
    A positional signature takes an array or DataFrame of the right width (as a float or
    the fitted array). Raises InvalidInput naming the first column that is missing, extra,
    or holds values that do not convert exactly."""
    if signature.get("positional"):
        return _conform_positional(signature["positional"], frame)
    if not isinstance(frame, pd.DataFrame):
        raise InvalidInput(f"Predict takes a pandas DataFrame; got {type(frame).__name__}.")
    expected = input_names(signature)
    columns = [str(c) for c in frame.columns]
    missing = [c for c in expected if c not in columns]
    if missing:
        raise InvalidInput(
            f"Column {missing[0]!r} is missing; the model expects "
            f"{len(expected)} columns: {', '.join(expected)}."
        )
    extra = [c for c in columns if c not in expected]
    if extra:
        raise InvalidInput(
            f"Column {extra[0]!r} is not one the model was trained on; drop it "
            f"(expected: {', '.join(expected)})."
        )
    if len(set(columns)) != len(columns):
        raise InvalidInput("The frame has duplicate column names; give each column once.")
    frame = frame.set_axis(columns, axis=1)
    out = {spec["name"]: conform_column(spec, frame[spec["name"]]) for spec in signature["inputs"]}
    return pd.DataFrame(out, index=frame.index)


check = conform  # the name it had before it converted


def conform_column(spec: dict[str, Any], series: pd.Series) -> pd.Series:
    """One column converted to ``spec`` (``{"name", "family", "dtype"}``), or InvalidInput."""
    target, name = spec["family"], spec["name"]
    if target == "unknown":
        return series
    kind = kind_of(series)
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object)
    convert = _CONVERT.get(target)
    if convert is None:
        raise InvalidInput(f"Column {name!r} has the unknown signature type {target!r}.")
    return convert(name, series, kind, spec.get("dtype"))


def _refuse(
    name: str, kind: str, target: str, hint: str = "", s: pd.Series | None = None
) -> InvalidInput:
    example = ""
    if s is not None and s.notna().any():
        example = f" (e.g. {_show(s[s.notna()].iloc[0])})"
    return InvalidInput(
        f"Column {name!r} has type {kind}{example}; the model was trained on "
        f"{target}." + (f" {hint}" if hint else "")
    )


def _to_integer(name: str, s: pd.Series, kind: str, dtype: str | None) -> pd.Series:
    if kind == "empty":
        return _missing(s, "float64")
    if kind not in ("integer", "float", "decimal"):
        raise _refuse(name, kind, "integers", _numbers_hint(kind), s)
    fitted = _dtype(dtype)
    if kind == "decimal":  # exact: whole decimals become Python ints, then range-checked
        s = _decimal_integers(name, s)
        kind = "integer"
    if kind == "integer":
        _check_int_range(name, s, fitted)
    else:
        values = _floats(name, s, kind)
        finite = values[values.notna()]
        if np.isinf(finite).any():
            raise InvalidInput(
                f"Column {name!r} holds +inf/-inf; the model was trained on "
                "integers. Replace infinite values or drop those rows."
            )
        fraction = finite[finite != np.floor(finite)]
        if len(fraction):
            raise InvalidInput(
                f"Column {name!r} holds {_show(fraction.iloc[0])}, not a whole "
                "number; the model was trained on integers. Round the values "
                "or retrain on a float column."
            )
        if (finite.abs() > 2**53).any():  # above 2**53 a float is not one integer: refuse
            raise InvalidInput(
                f"Column {name!r} holds integers too large to arrive exactly "
                "as floats; send them as integers."
            )
        s = values
    has_missing = bool(s.isna().any())
    try:
        if has_missing:
            nullable = fitted is not None and isinstance(fitted, pd.api.extensions.ExtensionDtype)
            return s.astype(fitted if nullable else "float64")
        if fitted is not None and pd.api.types.is_integer_dtype(fitted):
            return s.astype(fitted)
        return s.astype("int64")
    except (OverflowError, ValueError, TypeError) as exc:
        raise InvalidInput(
            f"Column {name!r} holds integers outside the 64-bit range the model takes ({exc})."
        ) from exc


_INT64 = (-(2**63), 2**63 - 1)
_UINT64 = (0, 2**64 - 1)


def _check_int_range(name: str, s: pd.Series, fitted: Any) -> None:
    """InvalidInput unless every integer of ``s`` fits the 64-bit type the model was fitted on
    (uint64 for an unsigned column, else int64): numpy would wrap 2**63 to -2**63 silently.
    Looks at numpy/nullable unsigned and signed columns and at Python ints in object ones."""
    unsigned = fitted is not None and pd.api.types.is_unsigned_integer_dtype(fitted)
    lo, hi = _UINT64 if unsigned else _INT64
    bits = 64
    if fitted is not None and pd.api.types.is_integer_dtype(fitted):
        info = np.iinfo(getattr(fitted, "numpy_dtype", fitted))
        lo, hi, bits = int(info.min), int(info.max), info.bits
    values = s.dropna()
    if not len(values):
        return
    if values.dtype == object:  # Python ints: any size
        bad = [v for v in values.tolist() if not lo <= int(v) <= hi]
        first = bad[0] if bad else None
    else:  # compared in the column's own integer type, which cannot wrap
        info = np.iinfo(getattr(values.dtype, "numpy_dtype", values.dtype))
        out = values.iloc[:0]
        if int(info.max) > hi:
            out = values[values > hi]
        if not len(out) and int(info.min) < lo:
            out = values[values < lo]
        first = out.iloc[0] if len(out) else None
    if first is not None:
        raise InvalidInput(
            f"Column {name!r} holds {int(first)}, outside the {bits}-bit integer "
            f"range the model was trained on ({lo} to {hi}). Send values in "
            "that range, or retrain on a float column."
        )


def _decimal_integers(name: str, s: pd.Series) -> pd.Series:
    """A column of decimals (exact numbers, e.g. REST's ``"70"`` or ``"7e1"``) as Python ints
    when every value is a whole number (missing as None); InvalidInput naming the first
    value that is infinite or has a fraction."""
    out: list[Any] = []
    for v in s.tolist():
        if v is None or pd.isna(v):
            out.append(None)
            continue
        d = decimal.Decimal(v)
        if d.is_infinite():
            raise InvalidInput(
                f"Column {name!r} holds +inf/-inf; the model was trained on "
                "integers. Replace infinite values or drop those rows."
            )
        if d != d.to_integral_value():
            raise InvalidInput(
                f"Column {name!r} holds {_show(v)}, not a whole number; the model "
                "was trained on integers. Round the values or retrain on a float "
                "column."
            )
        out.append(int(d))
    return pd.Series(out, index=s.index, dtype=object)


def _to_float(name: str, s: pd.Series, kind: str, dtype: str | None) -> pd.Series:
    if kind == "empty":
        return _missing(s, "float64")
    if kind not in ("integer", "float", "decimal"):
        raise _refuse(name, kind, "numbers", _numbers_hint(kind), s)
    values = _floats(name, s, kind)
    # Non-finite values mean one thing everywhere: missing to a model (the workbench's
    # pipelines impute them; a model that cannot take NaN says so, as InvalidInput).
    values = values.where(~np.isinf(values.to_numpy(dtype=float, na_value=np.nan)), np.nan)
    fitted = _dtype(dtype)
    if (
        fitted is not None
        and pd.api.types.is_float_dtype(fitted)
        and not isinstance(fitted, pd.api.extensions.ExtensionDtype)
    ):
        return values.astype(fitted)
    return values


def _to_boolean(name: str, s: pd.Series, kind: str, dtype: str | None) -> pd.Series:
    if kind == "empty":
        return _missing(s, "boolean")
    if kind == "integer":
        values = s.dropna()
        if not values.isin([0, 1]).all():
            other = _show(values[~values.isin([0, 1])].iloc[0])
            raise InvalidInput(
                f"Column {name!r} holds {other}; the model was trained on "
                "booleans (integers 0 and 1 are accepted as false and "
                "true)."
            )
        s = s.map(lambda v: None if pd.isna(v) else bool(v), na_action=None)
    elif kind == "string":
        spelled = s.map(lambda v: v if pd.isna(v) else _TRUE_FALSE.get(str(v).strip().lower()))
        bad = s[s.notna() & spelled.isna()]
        if len(bad):
            raise InvalidInput(
                f"Column {name!r} holds the text {_show(bad.iloc[0])}; the model "
                "was trained on booleans, which are sent as true/false (JSON "
                "true or false, or the text 'true'/'false')."
            )
        s = spelled
    elif kind != "boolean":
        raise _refuse(name, kind, "booleans", "Send true/false.", s)
    if s.isna().any():
        return s.astype("boolean")
    fitted = _dtype(dtype)
    return s.astype(fitted if fitted is not None and pd.api.types.is_bool_dtype(fitted) else bool)


def _to_timestamp(name: str, s: pd.Series, kind: str, dtype: str | None) -> pd.Series:
    if kind == "empty":
        return _missing(s, "datetime64[us]")
    if kind not in ("timestamp", "date", "string"):
        raise _refuse(
            name,
            kind,
            "timestamps",
            "Send datetime values or ISO 8601 text such as '2024-05-01T00:00:00Z'.",
            s,
        )
    utc = _utc(name, s, kind)  # tz-aware UTC
    fitted = _dtype(dtype)
    if isinstance(fitted, pd.DatetimeTZDtype):  # the model was fitted on tz-aware stamps
        return utc.dt.tz_convert(fitted.tz).astype(fitted)
    naive = utc.dt.tz_localize(None)  # as registration stores them: naive UTC
    if fitted is not None and pd.api.types.is_datetime64_dtype(fitted):
        try:
            return naive.astype(fitted)
        except (ValueError, OverflowError) as exc:
            raise InvalidInput(
                f"Column {name!r} holds a timestamp outside the range the model takes ({exc})."
            ) from exc
    return naive


def _to_date(name: str, s: pd.Series, kind: str, dtype: str | None) -> pd.Series:
    if kind == "empty":
        return _missing(s, object)
    if kind not in ("timestamp", "date", "string"):
        raise _refuse(name, kind, "dates", "Send dates or ISO 8601 text such as '2024-05-01'.", s)
    days = _utc(name, s, kind).dt.tz_localize(None).dt.normalize()
    fitted = _dtype(dtype)
    if fitted is not None and pd.api.types.is_datetime64_dtype(fitted):
        return days.astype(fitted)
    return pd.Series([None if pd.isna(v) else v.date() for v in days], index=s.index, dtype=object)


def _to_string(name: str, s: pd.Series, kind: str, dtype: str | None) -> pd.Series:
    if kind == "empty":
        return _missing(s, object if dtype in (None, "object") else dtype)
    if kind != "string":
        raise _refuse(
            name,
            kind,
            "text",
            "Send text values (e.g. convert with df[col].astype(str) if the codes are numbers).",
            s,
        )
    fitted = _dtype(dtype)
    if fitted is not None and isinstance(fitted, pd.StringDtype):
        return s.astype(fitted)
    return s.astype(object)  # missing values as given: None and NaN are not the same to all


_CONVERT = {
    "integer": _to_integer,
    "float": _to_float,
    "boolean": _to_boolean,
    "timestamp": _to_timestamp,
    "date": _to_date,
    "string": _to_string,
}


def _utc(name: str, s: pd.Series, kind: str) -> pd.Series:
    """Timestamps, dates or ISO text as tz-aware UTC; naive values are taken as UTC (the
    rule registration applies). InvalidInput names the first value that does not parse."""
    if kind == "timestamp" and pd.api.types.is_datetime64_any_dtype(s):
        if getattr(s.dtype, "tz", None) is not None:
            return s.dt.tz_convert("UTC")
        return s.dt.tz_localize("UTC")
    values = s.astype(object).where(s.notna(), None)
    fmt = "ISO8601" if kind == "string" else None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = pd.to_datetime(values, utc=True, format=fmt, errors="coerce")
    except (ValueError, TypeError, OverflowError) as exc:
        raise InvalidInput(
            f"Column {name!r} holds values that are not timestamps ({exc})."
        ) from exc
    bad = values[values.notna() & parsed.isna()]
    if len(bad):
        raise InvalidInput(
            f"Column {name!r} holds {_show(bad.iloc[0])}, which is not an ISO 8601 "
            "date or timestamp (e.g. '2024-05-01' or '2024-05-01T00:00:00Z') or "
            "is out of range."
        )
    return parsed


def decimals_as_floats(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every column of Python decimals (exact DECIMAL data as loaded) as
    float64, since scikit-learn computes in floats: what a model is fitted on and what
    :func:`conform` gives it at scoring agree. Other columns are unchanged."""
    columns = [
        c for c in frame.columns if frame[c].dtype == object and kind_of(frame[c]) == "decimal"
    ]
    if not columns:
        return frame
    return frame.assign(**{c: _floats(str(c), frame[c], "decimal") for c in columns})


def _floats(name: str, s: pd.Series, kind: str) -> pd.Series:
    """Numbers (numpy, nullable, decimals) as float64 with NaN for missing."""
    try:
        if kind == "decimal":
            return pd.Series(
                [np.nan if pd.isna(v) else float(v) for v in s], index=s.index, dtype="float64"
            )
        return s.astype("float64")
    except (ValueError, TypeError, OverflowError, decimal.InvalidOperation) as exc:
        raise InvalidInput(
            f"Column {name!r} holds numbers that do not convert to floats ({exc})."
        ) from exc


def _show(value: Any) -> str:
    """A value as the user wrote it: 41.5, 'yes' (not np.float64(41.5))."""
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)[:80]


def _missing(s: pd.Series, dtype: Any) -> pd.Series:
    return pd.Series(
        pd.array([None] * len(s), dtype=dtype) if dtype != "float64" else np.full(len(s), np.nan),
        index=s.index,
    )


def _numbers_hint(kind: str) -> str:
    if kind == "string":
        return "Send numbers, not text (e.g. pd.to_numeric(df[col]))."
    if kind == "boolean":
        return "Booleans are not converted to numbers; send 0 and 1 if that is meant."
    return ""


def _dtype(text: str | None) -> Any:
    if not text:
        return None
    try:
        return pd.api.types.pandas_dtype(text)
    except (TypeError, ValueError, NotImplementedError):  # e.g. "decimal128(5, 2)[pyarrow]"
        return None


def _arrow_decimal(series: pd.Series) -> bool:
    return "decimal" in str(series.dtype)


def _as_2d(data: Any, label: str) -> np.ndarray:
    shape = getattr(data, "shape", None)
    if shape is None:
        try:
            data = np.asarray(data)
        except (ValueError, TypeError) as exc:
            raise InvalidInput(f"{label} is not a table or an array ({exc}).") from exc
        shape = data.shape
    if len(shape) != 2:
        raise InvalidInput(f"{label} must be 2-D (rows by columns); its shape is {shape}.")
    return data


def _array_family(array: Any) -> str:
    dtype = getattr(array, "dtype", None)
    if dtype is None:
        return "unknown"
    if np.issubdtype(dtype, np.bool_):
        return "boolean"
    if np.issubdtype(dtype, np.integer):
        return "integer"
    if np.issubdtype(dtype, np.floating):
        return "float"
    return "unknown"


def _conform_positional(positional: dict[str, Any], frame: Any) -> Any:
    width = int(positional["n_features"])
    if isinstance(frame, pd.DataFrame):
        if frame.shape[1] != width:
            raise InvalidInput(
                f"The model was fitted on an array of {width} unnamed columns, so it scores "
                f"arrays or frames of exactly {width} columns (taken in order); got "
                f"{frame.shape[1]}. A dataset's columns cannot be matched to it by name: "
                "fit the model on a DataFrame and register it again to score datasets."
            )
        for col in frame.columns:
            kind = kind_of(frame[col])
            if kind not in ("integer", "float", "boolean", "decimal", "empty"):
                raise InvalidInput(
                    f"Column {col!r} has {kind} values; the model was fitted on a numeric array."
                )
        return frame.astype("float64").to_numpy()
    array = _as_2d(frame, "The input")
    if array.shape[1] != width:
        raise InvalidInput(
            f"The model was fitted on {width} columns; got an array of {array.shape[1]}."
        )
    return array


def compatible(old: dict[str, Any], new: dict[str, Any]) -> tuple[bool, str]:
    """Whether a model with signature ``new`` can replace one with ``old`` for callers: the
    same inputs, each of ``new``'s types accepting everything of ``old``'s, the same output
    kind and classes."""
    if bool(old.get("positional")) != bool(new.get("positional")):
        return False, "one takes named columns, the other an unnamed array"
    if old.get("positional"):
        a, b = old["positional"]["n_features"], new["positional"]["n_features"]
        if a != b:
            return False, f"inputs differ ({a} columns, then {b})"
    a = {c["name"]: c["family"] for c in old["inputs"]}
    b = {c["name"]: c["family"] for c in new["inputs"]}
    if set(a) != set(b):
        missing, added = sorted(set(a) - set(b)), sorted(set(b) - set(a))
        return False, (
            f"inputs differ (new needs {', '.join(added) or 'nothing new'}; "
            f"drops {', '.join(missing) or 'nothing'})"
        )
    retyped = [n for n in a if b[n] != "unknown" and a[n] not in _COMPATIBLE.get(b[n], {b[n]})]
    if retyped:
        return False, "input types differ for " + ", ".join(
            f"{n} ({a[n]} -> {b[n]})" for n in retyped
        )
    if old["output"].get("kind") != new["output"].get("kind"):
        return False, "the output kind differs"
    if old["output"].get("classes") != new["output"].get("classes"):
        return False, "the classes differ"
    return True, "same inputs and outputs"


class LoadedModel:
    """A registered model version, loaded after its hash was checked. ``predict`` and
    ``predict_proba`` bring the frame to the signature (:func:`conform`) first; an error
    of the model on conformed rows is an InvalidInput too (e.g. NaN the model cannot
    impute), never a traceback."""

    def __init__(
        self, model: Any, signature: dict[str, Any], ref: str, libraries: dict[str, str]
    ) -> None:
        self.model, self.signature, self.ref, self.libraries = model, signature, ref, libraries
        import sklearn

        fitted = libraries.get("sklearn")
        if fitted and fitted != sklearn.__version__:
            warnings.warn(
                f"{ref} was fitted with scikit-learn {fitted}; {sklearn.__version__} "
                "is installed. Predictions may differ; retrain or pin "
                f"scikit-learn=={fitted}.",
                UserWarning,
                stacklevel=3,
            )

    def __repr__(self) -> str:
        return f"<LoadedModel {self.ref} {self.signature['output']['kind']}>"

    @property
    def has_proba(self) -> bool:
        """Whether the model gives class probabilities: a classifier with
        ``predict_proba``."""
        return self.signature["output"]["kind"] == "classification" and hasattr(
            self.model, "predict_proba"
        )

    def conform(self, frame: Any) -> Any:
        """``frame`` as the model takes it (see :func:`conform`)."""
        return conform(self.signature, frame)

    def predict(self, frame: Any) -> np.ndarray:
        """One prediction per row of ``frame`` (shape ``(n_rows,)``), after bringing it to
        the signature. Raises InvalidInput naming a missing, extra or unconvertible column,
        or the model's own error on the rows."""
        return self.predict_conformed(self.conform(frame))

    def predict_proba(self, frame: Any) -> np.ndarray:
        """Class probabilities, shape ``(n_rows, n_classes)`` with columns in the order of
        ``signature["output"]["classes"]``. Raises InvalidInput for a regression model and
        as :meth:`predict` does."""
        if self.signature["output"]["kind"] != "classification":
            raise InvalidInput(f"{self.ref} is a regression model; it has no probabilities.")
        return self.predict_proba_conformed(self.conform(frame))

    def predict_conformed(self, X: Any) -> np.ndarray:
        """Predictions for rows already conformed (skips the conversion)."""
        return self._call("predict", X)

    def predict_proba_conformed(self, X: Any) -> np.ndarray:
        """:meth:`predict_proba` for rows already conformed (skips the conversion)."""
        return self._call("predict_proba", X)

    def _call(self, method: str, X: Any) -> np.ndarray:
        """The model's ``method`` on conformed rows. InvalidInput for no rows ("no rows to
        score"), for missing values the model cannot take (naming the columns and what to
        do), and for any other error scikit-learn raises (its first line, after the ref)."""
        if len(X) == 0:
            raise InvalidInput(f"{self.ref}: no rows to score; send at least one row.")
        try:
            return getattr(self.model, method)(X)
        except (ValueError, TypeError) as exc:
            text = str(exc).strip()
            if "NaN" in text and ("contains NaN" in text or "missing values" in text):
                columns = _missing_columns(X)
                where = (
                    f"column{'s' if len(columns) > 1 else ''} "
                    f"{', '.join(repr(c) for c in columns[:20])}"
                    if columns
                    else "some columns"
                )
                verb = "holds" if len(columns) == 1 else "hold"
                raise InvalidInput(
                    f"{self.ref} could not score these rows: {where} {verb} missing values (NaN, "
                    "None, or +inf/-inf, which scoring treats as missing) and the model has no "
                    "step that fills them in. Impute those values or drop those rows before "
                    "scoring, or retrain with an imputer (e.g. sklearn.impute.SimpleImputer) in "
                    "the pipeline."
                ) from exc
            raise InvalidInput(
                f"{self.ref} could not score these rows: {text.splitlines()[0][:500]}"
            ) from exc


def _missing_columns(X: Any) -> list[str]:
    """The names (or 0-based positions, for an array) of the columns of ``X`` holding a
    missing or non-finite value."""
    if isinstance(X, pd.DataFrame):
        return [str(c) for c in X.columns if X[c].isna().any()]
    try:
        array = np.asarray(X, dtype=float)
    except (TypeError, ValueError):
        return []
    if array.ndim != 2:
        return []
    return [f"column {i}" for i in np.flatnonzero(~np.isfinite(array).all(axis=0))]


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value
