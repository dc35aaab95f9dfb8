"""Validation contracts: inferred from a dataset's first version, edited by the user, checked
on every new version (``store.contracts`` runs the checks in DuckDB).

Inference rules (shown on the Datasets page):

* every column is required, with its type family (integers also satisfy float);
* ``nullable`` is false when the first version had no NULL in the column;
* numbers get the observed range of their finite values widened by ``RANGE_MARGIN`` of
  its width on each side (never below 0 for a column that had no negative value; integers
  rounded outward; a bound beyond the largest double is left open), so a fresh sample of
  the same population passes and a wild value does not; dates and timestamps get no
  bounds (new data is newer);
* floats, dates and timestamps get ``max_non_finite``: the largest share of non-null
  values that may be NaN, +inf or -inf. It is 0 when the first version had none, else its
  share plus ``NON_FINITE_MARGIN`` (at most 1). NaN and infinities are never inside a
  range: they are counted by this check alone, as the profile counts them apart;
* text columns with at most ``MAX_ALLOWED_LEVELS`` distinct values get them as the allowed
  set; booleans and wider text are left open;
* the key is the first column named ``id``, ``key`` or ``*_id`` that is unique and never
  NULL; none otherwise;
* at least one row; extra columns are allowed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from workbench.store.entities import ColumnProfile
from workbench.store.errors import InvalidInput
from workbench.store.snapshots import FAMILIES

#: The types a contract's column rule may name (the editor's choices): the type families
#: every loaded column is sorted into by ``store.snapshots`` (integer, float, boolean,
#: string, date, timestamp).
COLUMN_TYPES: tuple[str, ...] = FAMILIES
MAX_ALLOWED_LEVELS = 20
RANGE_MARGIN = 0.25
NON_FINITE_MARGIN = 0.05
EDITOR_COLUMNS = [
    "column",
    "type",
    "required",
    "nullable",
    "min",
    "max",
    "allowed",
    "max non-finite share",
]
_NON_FINITE_FAMILIES = ("float", "date", "timestamp")


def key_candidates(profile: Sequence[ColumnProfile]) -> list[str]:
    """Column names that look like a key; uniqueness is checked on the data by the caller."""
    return [
        p.name
        for p in profile
        if p.nulls == 0
        and p.family in ("integer", "string")
        and (p.name.lower() in ("id", "key") or p.name.lower().endswith("_id"))
    ]


def infer(profile: Sequence[ColumnProfile], unique: Sequence[str] = ()) -> dict[str, Any]:
    """A contract describing the profiled version (see the module docstring)."""
    columns = []
    for p in profile:
        rule: dict[str, Any] = {
            "name": p.name,
            "type": p.family,
            "required": True,
            "nullable": p.nulls > 0,
            "min": None,
            "max": None,
            "allowed": None,
        }
        if p.family in ("integer", "float") and p.min_value is not None:
            rule["min"], rule["max"] = _widened(p)
        if p.family in _NON_FINITE_FAMILIES:
            rule["max_non_finite"] = _non_finite_limit(p)
        elif (
            p.family == "string"
            and p.distinct_exact
            and 0 < p.distinct <= MAX_ALLOWED_LEVELS
            and p.other_count == 0
        ):
            rule["allowed"] = sorted(p.top_values)
        columns.append(rule)
    key = next((name for name in key_candidates(profile) if name in unique), None)
    return {
        "columns": columns,
        "key": key,
        "allow_extra_columns": True,
        "min_rows": 1,
        "max_rows": None,
    }


def _non_finite_limit(p: ColumnProfile) -> float:
    """0 when the profiled version had no NaN/inf, else its share plus the margin (<= 1),
    rounded up to 4 decimals so the version itself passes."""
    if p.non_finite == 0 or p.count == 0:
        return 0.0
    share = p.non_finite / p.count + NON_FINITE_MARGIN
    return min(1.0, math.ceil(share * 10_000) / 10_000)


def _widened(p: ColumnProfile) -> tuple[float | int | None, float | int | None]:
    lo, hi = float(p.min_value), float(p.max_value)
    # RANGE_MARGIN of the width, computed so that no step overflows near +-1.8e308
    margin = RANGE_MARGIN * hi - RANGE_MARGIN * lo or RANGE_MARGIN * abs(hi) or RANGE_MARGIN
    lo2, hi2 = lo - margin, hi + margin
    if lo >= 0:
        lo2 = max(lo2, 0.0)
    if p.family == "integer":
        return _finite_bound(lo2, math.floor), _finite_bound(hi2, math.ceil)
    return _finite_bound(lo2, min), _finite_bound(hi2, max)


def _finite_bound(value: float, outward) -> float | int | None:
    """``value`` rounded outward (to an integer, or to 4 significant digits for floats),
    or None (no bound) when it is beyond the largest double."""
    if not math.isfinite(value):
        return None
    if outward in (math.floor, math.ceil):
        return _number(outward(value))
    rounded = float(f"{value:.4g}")  # readable bounds, rounded outward
    return _number(outward(rounded, value) if math.isfinite(rounded) else value)


def validate(spec: dict[str, Any]) -> dict[str, Any]:
    """Check an edited contract; return it normalized or raise InvalidInput."""
    if not isinstance(spec, dict) or not isinstance(spec.get("columns"), list):
        raise InvalidInput("A contract is a mapping with a 'columns' list.")
    names = set()
    for rule in spec["columns"]:
        name = rule.get("name")
        if not isinstance(name, str) or not name:
            raise InvalidInput("Every contract column needs a name.")
        if name in names:
            raise InvalidInput(f"Column {name!r} appears twice in the contract; keep one row.")
        names.add(name)
        if rule.get("type") not in (None, *FAMILIES):
            raise InvalidInput(
                f"Column {name!r}: type {rule.get('type')!r} is not one of {', '.join(FAMILIES)}."
            )
        lo, hi = rule.get("min"), rule.get("max")
        if rule.get("max_non_finite") is not None:
            rule["max_non_finite"] = _share(name, rule["max_non_finite"])
        if rule.get("type") in ("date", "timestamp"):
            for which, bound in (("min", lo), ("max", hi)):
                _date_bound(name, which, bound, rule["type"])
        if rule.get("type") in ("integer", "float"):
            rule["min"], rule["max"] = _bound(name, "min", lo), _bound(name, "max", hi)
            if rule["min"] is not None and rule["max"] is not None and rule["min"] > rule["max"]:
                raise InvalidInput(
                    f"Column {name!r}: min {rule['min']} is above max {rule['max']}; swap them."
                )
    key = spec.get("key")
    if key and key not in names:
        raise InvalidInput(f"Key column {key!r} is not one of the contract's columns.")
    for bound in ("min_rows", "max_rows"):
        value = spec.get(bound)
        if value is not None and (not isinstance(value, int) or value < 0):
            raise InvalidInput(f"{bound} must be a whole number from 0 or empty; got {value!r}.")
    return spec


def to_editor(spec: dict[str, Any]) -> pd.DataFrame:
    """The contract's column rules as an editable table (allowed values comma-separated)."""
    rows = [
        {
            "column": r["name"],
            "type": r.get("type") or "",
            "required": bool(r.get("required", True)),
            "nullable": bool(r.get("nullable", True)),
            "min": "" if r.get("min") is None else str(r["min"]),
            "max": "" if r.get("max") is None else str(r["max"]),
            "allowed": ", ".join(r.get("allowed") or []),
            "max non-finite share": _text(non_finite_limit(r)),
        }
        for r in spec.get("columns", [])
    ]
    return pd.DataFrame(rows, columns=EDITOR_COLUMNS)


def non_finite_limit(rule: dict[str, Any]) -> float | None:
    """The share of non-null values a rule lets be NaN/+inf/-inf (None: no limit). A rule
    written before the key existed allows none where it has a range (its range check
    refused NaN and infinities), as ``store.contracts`` checks it."""
    if rule.get("type") not in _NON_FINITE_FAMILIES:
        return None
    ranged = rule.get("min") is not None or rule.get("max") is not None
    return rule.get("max_non_finite", 0.0 if ranged else None)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def from_editor(
    frame: pd.DataFrame,
    *,
    key: str | None,
    allow_extra_columns: bool,
    min_rows: int | None,
    max_rows: int | None,
) -> dict[str, Any]:
    """The inverse of :func:`to_editor`, validated."""
    columns = []
    for row in frame.to_dict("records"):
        name = str(row.get("column") or "").strip()
        if not name:
            continue
        family = str(row.get("type") or "").strip() or None
        allowed = [v.strip() for v in str(row.get("allowed") or "").split(",") if v.strip()]
        lo, hi = _blank(row.get("min")), _blank(row.get("max"))
        rule = {
            "name": name,
            "type": family,
            "required": bool(row.get("required")),
            "nullable": bool(row.get("nullable")),
            "min": lo,
            "max": hi,
            "allowed": allowed or None,
        }
        if family in _NON_FINITE_FAMILIES:  # blank: no limit on NaN/inf
            rule["max_non_finite"] = _blank(row.get("max non-finite share"))
        columns.append(rule)
    return validate(
        {
            "columns": columns,
            "key": key or None,
            "allow_extra_columns": allow_extra_columns,
            "min_rows": min_rows,
            "max_rows": max_rows,
        }
    )


def _bound(name: str, which: str, value: Any) -> float | int | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"Column {name!r}: {which} must be a number; got {value!r}.") from None
    if math.isnan(number):
        raise InvalidInput(f"Column {name!r}: {which} cannot be NaN; leave it empty instead.")
    return _number(number)


def _share(name: str, value: Any) -> float:
    try:
        share = float(value)
    except (TypeError, ValueError):
        share = math.nan
    if not 0.0 <= share <= 1.0:
        raise InvalidInput(
            f"Column {name!r}: max non-finite share must be a number from 0 to "
            f"1 (0.05 is 5% of non-null values), or empty for no limit; got "
            f"{value!r}."
        )
    return share


def _date_bound(name: str, which: str, value: Any, family: str) -> None:
    if value is None or value == "":
        return
    try:
        pd.Timestamp(str(value))
    except pd.errors.OutOfBoundsDatetime:
        return  # a valid date beyond pandas' range; DuckDB compares it
    except (TypeError, ValueError):
        raise InvalidInput(
            f"Column {name!r}: {which} must be a {family} written like 2024-05-01; got {value!r}."
        ) from None


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() and abs(value) < 2**53 else float(value)


def _blank(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None
