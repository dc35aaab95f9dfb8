"""Contract checks run in DuckDB over a scratch table.

A contract spec is plain JSON (built and edited by ``workbench.datasets.contracts``)::

    {"columns": [{"name": "age", "type": "integer", "required": true, "nullable": false,
                  "min": 0, "max": 120, "allowed": null},
                 {"name": "score", "type": "float", "min": 0.0, "max": 1.0,
                  "max_non_finite": 0.0, ...}],
     "key": "id", "allow_extra_columns": true, "min_rows": 1, "max_rows": null}

``min``/``max`` are numbers, or ISO text for dates and timestamps. Every check yields a
:class:`CheckResult`, passed or not, so a page can list what was checked; a failed one
counts the failing rows and keeps up to 20 example values.

Non-finite values (NaN, +inf, -inf in floats; the infinite dates and timestamps DuckDB
allows) are treated as the profile treats them (``store.profiles``): the ``range`` check
is over finite values only, and the ``non_finite`` check compares their share of the
column's non-null values with ``max_non_finite`` (0 to 1). A rule without that key (a
contract written before non-finite values were checked apart) allows none in a column
with a range, as its range check used to; ``null`` means no limit.

Every bound and allowed value is bound as a query parameter, never written into SQL
text, and the counts of all checks are computed in one scan per ``CHECK_CHUNK`` checks,
so checking a 1,000-column table costs a few scans, not thousands of queries.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from workbench.store.entities import CheckResult, ColumnProfile
from workbench.store.snapshots import SRC, Column, Scratch, ident

MAX_EXAMPLES = 20
CHECK_CHUNK = 200  # counted expressions per scan
# A column of the family on the left satisfies a contract asking for the one on the right.
_COERCIBLE = {("integer", "float"), ("date", "timestamp")}
_CASTS = {"date": "DATE", "timestamp": "TIMESTAMP"}
# Types whose profile holds their finite extremes exactly: (min, max) from a profile.
_INT_TEXT = lambda p: (int(p.min_text), int(p.max_text))  # noqa: E731
_EXACT_EXTREMES = {
    **{
        t: _INT_TEXT
        for t in (
            "TINYINT",
            "SMALLINT",
            "INTEGER",
            "BIGINT",
            "HUGEINT",
            "UTINYINT",
            "USMALLINT",
            "UINTEGER",
            "UBIGINT",
            "UHUGEINT",
        )
    },
    "DOUBLE": lambda p: (p.min_value, p.max_value),
}


@dataclass
class _Count:
    """One check whose failing rows are counted in SQL.

    ``exprs`` are the aggregates that decide it (``params`` bound in order); ``quick``
    are cheap aggregates (min, max, count) from which ``decide`` often knows the answer
    (a column whose min and max are inside the range has no row outside it), so the
    costlier ``exprs`` run only for the columns that need them. ``condition`` selects
    failing rows for examples; ``example`` is the SQL shown per example, or "NULL" for
    row numbers. For ``non_finite``, ``values`` are (non-null, NaN, +inf, -inf) counts.
    """

    check: str
    column: str
    exprs: list[str]
    params: list
    condition: str
    example: str
    what: str
    quick: list[str] = field(default_factory=list)
    decide: Callable[[list], list[int] | None] | None = None
    col: Column | None = None
    limit: float = 0.0
    bounds: tuple = (None, None)
    values: list[int] = field(default_factory=list)


def check(
    scratch: Scratch,
    columns: tuple[Column, ...],
    spec: dict[str, Any],
    table: str = SRC,
    profile: Sequence[ColumnProfile] = (),
) -> list[CheckResult]:
    """Check ``table`` against contract ``spec``: one :class:`CheckResult` per check, in
    the spec's order (row count, extra columns, each column's checks, the key).

    ``profile``, if given, must be the profile of this very table (``store.profiles``):
    checks it decides exactly (NULL and non-finite counts, ranges of integer and DOUBLE
    columns inside the bounds, text whose every level is allowed) then need no scan. The
    results are the same with or without it."""
    have = {c.name: c for c in columns}
    n_rows = int(scratch.sql(f"SELECT count(*) FROM {table}").fetchone()[0])
    results: list[CheckResult | _Count] = [_volume(n_rows, spec)]
    expected = {c["name"] for c in spec.get("columns", [])}
    extra = [c.name for c in columns if c.name not in expected]
    if extra and not spec.get("allow_extra_columns", True):
        results.append(
            CheckResult(
                "extra_columns",
                "",
                False,
                f"{len(extra)} column(s) not in the contract: {', '.join(extra[:MAX_EXAMPLES])}.",
                len(extra),
                tuple(extra[:MAX_EXAMPLES]),
            )
        )
    for rule in spec.get("columns", []):
        results += _column_checks(have.get(rule["name"]), rule)
    _from_profile(results, {p.name: p for p in profile})
    _count_all(scratch, table, results)
    out = [_outcome(scratch, table, r) for r in results]
    key = spec.get("key")
    if key:
        out.append(_unique_key(scratch, table, have.get(key), key))
    return out


def _volume(n_rows: int, spec: dict[str, Any]) -> CheckResult:
    lo, hi = spec.get("min_rows"), spec.get("max_rows")
    ok = (lo is None or n_rows >= lo) and (hi is None or n_rows <= hi)
    bounds = f"{lo if lo is not None else 0:,} to {f'{hi:,}' if hi is not None else 'any'}"
    return CheckResult("row_count", "", ok, f"{n_rows:,} rows; the contract allows {bounds}.")


def _column_checks(col: Column | None, rule: dict[str, Any]) -> list[CheckResult | _Count]:
    name = rule["name"]
    if col is None:
        if rule.get("required", True):
            return [
                CheckResult(
                    "required",
                    name,
                    False,
                    f"Column {name!r} is missing; the contract requires it.",
                )
            ]
        return []
    out: list[CheckResult | _Count] = []
    want = rule.get("type")
    if want and col.family != want and (col.family, want) not in _COERCIBLE:
        # The values cannot be compared with the contract's bounds; stop here.
        return [
            CheckResult(
                "type",
                name,
                False,
                f"{name} is {col.family} ({col.dtype}); the contract expects {want}.",
            )
        ]
    if want:
        out.append(CheckResult("type", name, True, f"{name} is {col.family}."))
    q = ident(name)
    if rule.get("nullable") is False:
        out.append(
            _Count(
                "not_null",
                name,
                [f"count_if({q} IS NULL)"],
                [],
                f"{q} IS NULL",
                "NULL",
                "NULL where the contract allows none",
                quick=[f"count(*) - count({q})"],
                decide=lambda v: [v[0]],
            )
        )
    lo, hi = rule.get("min"), rule.get("max")
    if lo is not None or hi is not None:
        out.append(_range(col, want, lo, hi))
    limit = rule.get("max_non_finite", 0.0 if lo is not None or hi is not None else None)
    if limit is not None and col.family in ("float", "date", "timestamp"):
        out.append(_non_finite(col, float(limit)))
    allowed = rule.get("allowed")
    if allowed:
        levels = [str(a) for a in allowed]
        cond = f"{q} IS NOT NULL AND CAST({q} AS VARCHAR) NOT IN ({', '.join('?' for _ in levels)})"
        out.append(
            _Count(
                "allowed_values",
                name,
                [f"count_if({cond})"],
                levels,
                cond,
                q,
                f"not among the {len(allowed)} allowed values",
            )
        )
    return out


def _range(col: Column, want: str | None, lo: Any, hi: Any) -> _Count:
    """Rows whose finite value is below ``lo`` or above ``hi`` (bounds as parameters)."""
    q = ident(col.name)
    cast = _CASTS.get(want or col.family) or _CASTS.get(col.family)
    if cast is None and (isinstance(lo, float) or isinstance(hi, float)):
        cast = "DOUBLE"
    conds, params = [], []
    for bound, op in ((lo, "<"), (hi, ">")):
        if bound is not None:
            conds.append(f"{q} {op} CAST(? AS {cast})" if cast else f"{q} {op} ?")
            params.append(bound)
    cond = f"{_finite(col)} AND ({' OR '.join(conds)})"
    check = _Count(
        "range",
        col.name,
        [f"count_if({cond})"],
        params,
        cond,
        q,
        f"outside [{_show(lo, '-inf')}, {_show(hi, 'inf')}]",
        bounds=(lo, hi),
    )
    if col.family in ("integer", "float"):

        def decide(v: list) -> list[int] | None:
            low, high = v
            if low is None:  # no values
                return [0]
            if not (_finite_number(low) and _finite_number(high)):
                return None  # NaN or inf present: count exactly
            inside = (lo is None or low >= lo) and (hi is None or high <= hi)
            return [0] if inside else None

        check.quick, check.decide = [f"min({q})", f"max({q})"], decide
    return check


def _non_finite(col: Column, limit: float) -> _Count:
    """(non-null, NaN, +inf, -inf) counts of a float, date or timestamp column."""
    q = ident(col.name)
    if col.family == "float":
        x = f"CAST({q} AS DOUBLE)"
        exprs = [
            f"count({q})",
            f"count_if(isnan({x}))",
            f"count_if(isinf({x}) AND {x} > 0)",
            f"count_if(isinf({x}) AND {x} < 0)",
        ]
    else:
        epoch = f"CAST('1970-01-01' AS {_CASTS[col.family]})"
        exprs = [
            f"count({q})",
            "0",
            f"count_if(isinf({q}) AND {q} > {epoch})",
            f"count_if(isinf({q}) AND {q} < {epoch})",
        ]
    check = _Count(
        "non_finite", col.name, exprs, [], f"NOT {_finite(col)}", q, "", col=col, limit=limit
    )
    if col.family == "float":

        def decide(v: list) -> list[int] | None:
            count, low, high = v
            if low is None or (_finite_number(low) and _finite_number(high)):
                return [int(count), 0, 0, 0]
            return None

        check.quick, check.decide = [f"count({q})", f"min({q})", f"max({q})"], decide
    return check


def _finite_number(value: Any) -> bool:
    try:
        return math.isfinite(value)
    except (TypeError, ValueError, OverflowError):
        return True  # integers beyond a double, decimals: finite by type


def _finite(col: Column) -> str:
    q = ident(col.name)
    if col.family == "float":
        return f"isfinite(CAST({q} AS DOUBLE))"
    if col.family in _CASTS:
        return f"isfinite({q})"
    return "true"


def _aggregate(scratch: Scratch, table: str, exprs: list[tuple[str, list]]) -> list:
    """The values of many aggregates over ``table``, ``CHECK_CHUNK`` per scan."""
    values: list = []
    for i in range(0, len(exprs), CHECK_CHUNK):
        chunk = exprs[i : i + CHECK_CHUNK]
        params = [p for _, ps in chunk for p in ps]
        row = scratch.sql(
            f"SELECT {', '.join(e for e, _ in chunk)} FROM {table}", params
        ).fetchone()
        values += list(row)
    return values


def _from_profile(results: list, profiles: dict[str, ColumnProfile]) -> None:
    """Set the values of the checks the table's profile decides exactly."""
    for r in results:
        p = profiles.get(r.column) if isinstance(r, _Count) else None
        if p is None:
            continue
        if r.check == "not_null":
            r.values = [p.nulls]
        elif r.check == "non_finite":
            r.values = [p.count, p.nan_count, p.posinf_count, p.neginf_count]
        elif r.check == "allowed_values":
            allowed = set(r.params)
            counted = sum(p.top_counts) + p.other_count == p.count  # value counts cover all
            if counted and p.other_count == 0 and all(v in allowed for v in p.top_values):
                r.values = [0]
        elif r.check == "range" and p.count == p.non_finite:
            r.values = [0]  # no finite value to be outside
        elif r.check == "range" and p.dtype.upper() in _EXACT_EXTREMES:
            low, high = _EXACT_EXTREMES[p.dtype.upper()](p)
            lo, hi = r.bounds
            if (lo is None or low >= lo) and (hi is None or high <= hi):
                r.values = [0]


def _count_all(scratch: Scratch, table: str, results: list) -> None:
    """Fill in the values of every counted check: first the cheap aggregates of all, then
    the exact counts of those the cheap ones cannot decide."""
    counted = [r for r in results if isinstance(r, _Count) and not r.values]
    quick = _aggregate(scratch, table, [(e, []) for r in counted for e in r.quick])
    it = iter(quick)
    undecided = []
    for r in counted:
        got = [next(it) for _ in r.quick]
        decided = r.decide(got) if r.decide else None
        if decided is None:
            undecided.append(r)
        else:
            r.values = decided
    exact = _aggregate(
        scratch,
        table,
        [(e, r.params if i == 0 else []) for r in undecided for i, e in enumerate(r.exprs)],
    )
    it = iter(exact)
    for r in undecided:
        r.values = [int(next(it) or 0) for _ in r.exprs]


def _outcome(scratch: Scratch, table: str, r: CheckResult | _Count) -> CheckResult:
    if isinstance(r, CheckResult):
        return r
    if r.check == "non_finite":
        return _non_finite_result(r.col, r.limit, r.values)
    n = r.values[0]
    if n == 0:
        return CheckResult(r.check, r.column, True, f"{r.column}: every row passes.")
    if r.example == "NULL":
        rows = scratch.sql(
            f"SELECT rn FROM (SELECT row_number() OVER () AS rn, * FROM {table}) "
            f"WHERE {r.condition} LIMIT {MAX_EXAMPLES}",
            r.params,
        ).fetchall()
        examples = tuple(f"row {row[0]}" for row in rows)
    else:
        rows = scratch.sql(
            f"SELECT DISTINCT CAST({r.example} AS VARCHAR) AS v FROM {table} "
            f"WHERE {r.condition} ORDER BY v LIMIT {MAX_EXAMPLES}",
            r.params,
        ).fetchall()
        examples = tuple(str(row[0]) for row in rows)
    rows_text = "1 row" if n == 1 else f"{n:,} rows"
    return CheckResult(r.check, r.column, False, f"{r.column}: {rows_text} {r.what}.", n, examples)


def _non_finite_result(col: Column, limit: float, counts: list[int]) -> CheckResult:
    count, nan, pos, neg = counts
    n = nan + pos + neg
    share = n / count if count else 0.0
    name = col.name
    kinds = [(nan, "NaN"), (pos, "+inf"), (neg, "-inf")]
    found = ", ".join(f"{k:,} {label}" for k, label in kinds if k)
    allowed = "none" if limit == 0 else f"at most {limit:.2%}"
    if share <= limit:
        text = (
            f"{name}: no non-finite values."
            if n == 0
            else (
                f"{name}: {found} ({share:.2%} of {count:,} values); the contract allows {allowed}."
            )
        )
        return CheckResult("non_finite", name, True, text)
    examples = tuple(f"{label} ({k:,}x)" for k, label in kinds if k)
    return CheckResult(
        "non_finite",
        name,
        False,
        f"{name}: {found} ({share:.2%} of {count:,} non-null values are not "
        f"finite numbers); the contract allows {allowed}.",
        n,
        examples,
    )


def _unique_key(scratch: Scratch, table: str, col: Column | None, key: str) -> CheckResult:
    if col is None:
        return CheckResult("unique_key", key, False, f"Key column {key!r} is missing.")
    q = ident(key)
    dupes = scratch.sql(
        f"SELECT CAST({q} AS VARCHAR) AS k, count(*) AS c FROM {table} GROUP BY ALL "
        f"HAVING c > 1 OR k IS NULL ORDER BY c DESC, k LIMIT {MAX_EXAMPLES}"
    ).fetchall()
    if not dupes:
        return CheckResult("unique_key", key, True, f"{key} is unique and never NULL.")
    n = int(
        scratch.sql(
            f"SELECT coalesce(sum(c), 0) FROM (SELECT count(*) AS c FROM {table} GROUP BY {q} "
            f"HAVING c > 1 OR {q} IS NULL)"
        ).fetchone()[0]
    )
    examples = tuple(f"{'NULL' if k is None else k} ({c}x)" for k, c in dupes)
    return CheckResult(
        "unique_key",
        key,
        False,
        f"{key}: {n:,} rows share a key value or have none; the key must be unique and not NULL.",
        n,
        examples,
    )


def unique_columns(scratch: Scratch, names: list[str], table: str = SRC) -> list[str]:
    """Which of ``names`` are unique and never NULL (exact, one scan)."""
    if not names:
        return []
    exprs = ", ".join(
        f"count(DISTINCT {ident(n)}) = count(*) AND count({ident(n)}) = count(*)" for n in names
    )
    row = scratch.sql(f"SELECT {exprs} FROM {table}").fetchone()
    return [n for n, ok in zip(names, row, strict=True) if ok]


def _show(value: Any, missing: str) -> str:
    return missing if value is None else f"{value:g}" if isinstance(value, float) else str(value)
