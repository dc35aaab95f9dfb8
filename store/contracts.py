"""Contract checks run in DuckDB over a scratch table.

A contract spec is plain JSON (built and edited by ``app.contracts``)::

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

from dataclasses import dataclass
from typing import Any

from store.entities import CheckResult
from store.snapshots import SRC, Column, Scratch, ident

MAX_EXAMPLES = 20
CHECK_CHUNK = 200  # counted expressions per scan
# A column of the family on the left satisfies a contract asking for the one on the right.
_COERCIBLE = {("integer", "float"), ("date", "timestamp")}
_CASTS = {"date": "DATE", "timestamp": "TIMESTAMP"}


@dataclass
class _Count:
    """One check to count failing rows for: ``condition`` with its ``params`` bound."""

    check: str
    column: str
    condition: str
    params: list
    example: str  # SQL of the value shown as an example, or "NULL" for row numbers
    what: str
    failing: int = 0


def check(scratch: Scratch, columns: tuple[Column, ...], spec: dict[str, Any],
          table: str = SRC) -> list[CheckResult]:  # fmt: skip
    """Check ``table`` against contract ``spec``: one :class:`CheckResult` per check, in
    the spec's order (row count, extra columns, each column's checks, the key)."""
    have = {c.name: c for c in columns}
    n_rows = int(scratch.sql(f"SELECT count(*) FROM {table}").fetchone()[0])
    results: list[CheckResult | _Count | tuple] = [_volume(n_rows, spec)]
    expected = {c["name"] for c in spec.get("columns", [])}
    extra = [c.name for c in columns if c.name not in expected]
    if extra and not spec.get("allow_extra_columns", True):
        results.append(CheckResult("extra_columns", "", False,
                                   f"{len(extra)} column(s) not in the contract: "
                                   f"{', '.join(extra[:MAX_EXAMPLES])}.",
                                   len(extra), tuple(extra[:MAX_EXAMPLES])))  # fmt: skip
    for rule in spec.get("columns", []):
        results += _column_checks(have.get(rule["name"]), rule)
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


def _column_checks(col: Column | None, rule: dict[str, Any]) -> list[CheckResult | _Count | tuple]:
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
    out: list[CheckResult | _Count | tuple] = []
    want = rule.get("type")
    if want and col.family != want and (col.family, want) not in _COERCIBLE:
        # The values cannot be compared with the contract's bounds; stop here.
        return [CheckResult("type", name, False,
                            f"{name} is {col.family} ({col.dtype}); the contract expects "
                            f"{want}.")]  # fmt: skip
    if want:
        out.append(CheckResult("type", name, True, f"{name} is {col.family}."))
    q = ident(name)
    if rule.get("nullable") is False:
        out.append(_Count("not_null", name, f"{q} IS NULL", [], "NULL",
                          "NULL where the contract allows none"))  # fmt: skip
    lo, hi = rule.get("min"), rule.get("max")
    finite = _finite(col)
    if lo is not None or hi is not None:
        cast = _CASTS.get(want or col.family) or _CASTS.get(col.family)
        if cast is None and (isinstance(lo, float) or isinstance(hi, float)):
            cast = "DOUBLE"
        conds, params = [], []
        for bound, op in ((lo, "<"), (hi, ">")):
            if bound is not None:
                conds.append(f"{q} {op} CAST(? AS {cast})" if cast else f"{q} {op} ?")
                params.append(bound)
        out.append(_Count("range", name, f"{finite} AND ({' OR '.join(conds)})", params, q,
                          f"outside [{_show(lo, '-inf')}, {_show(hi, 'inf')}]"))  # fmt: skip
    limit = rule.get("max_non_finite", 0.0 if lo is not None or hi is not None else None)
    if limit is not None and col.family in ("float", "date", "timestamp"):
        out.append(("non_finite", col, float(limit)))
    allowed = rule.get("allowed")
    if allowed:
        out.append(_Count("allowed_values", name,
                          f"{q} IS NOT NULL AND NOT list_contains(?, CAST({q} AS VARCHAR))",
                          [[str(a) for a in allowed]], q,
                          f"not among the {len(allowed)} allowed values"))  # fmt: skip
    return out


def _finite(col: Column) -> str:
    q = ident(col.name)
    if col.family == "float":
        return f"isfinite(CAST({q} AS DOUBLE))"
    if col.family in _CASTS:
        return f"isfinite({q})"
    return "true"


def _non_finite_exprs(col: Column) -> list[str]:
    """count(values), NaN, +inf, -inf of a column, as four aggregates."""
    q = ident(col.name)
    if col.family == "float":
        x = f"CAST({q} AS DOUBLE)"
        return [f"count({q})", f"count_if(isnan({x}))", f"count_if(isinf({x}) AND {x} > 0)",
                f"count_if(isinf({x}) AND {x} < 0)"]  # fmt: skip
    epoch = f"CAST('1970-01-01' AS {_CASTS[col.family]})"
    return [f"count({q})", "0", f"count_if(isinf({q}) AND {q} > {epoch})",
            f"count_if(isinf({q}) AND {q} < {epoch})"]  # fmt: skip


def _count_all(scratch: Scratch, table: str, results: list) -> None:
    """Fill in the failing counts of every counted check, a chunk of checks per scan."""
    exprs: list[tuple[str, list]] = []
    for r in results:
        if isinstance(r, _Count):
            exprs.append((f"count_if({r.condition})", r.params))
        elif isinstance(r, tuple):
            exprs += [(e, []) for e in _non_finite_exprs(r[1])]
    values: list[int] = []
    for i in range(0, len(exprs), CHECK_CHUNK):
        chunk = exprs[i : i + CHECK_CHUNK]
        params = [p for _, ps in chunk for p in ps]
        row = scratch.sql(f"SELECT {', '.join(e for e, _ in chunk)} FROM {table}",
                          params).fetchone()  # fmt: skip
        values += [int(v or 0) for v in row]
    it = iter(values)
    for j, r in enumerate(results):
        if isinstance(r, _Count):
            r.failing = next(it)
        elif isinstance(r, tuple):
            results[j] = (*r, [next(it) for _ in range(4)])


def _outcome(scratch: Scratch, table: str, r: CheckResult | _Count | tuple) -> CheckResult:
    if isinstance(r, CheckResult):
        return r
    if isinstance(r, tuple):
        return _non_finite_result(*r[1:])
    n = r.failing
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
    return CheckResult(r.check, r.column, False, f"{r.column}: {rows_text} {r.what}.", n,
                       examples)  # fmt: skip


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
    return CheckResult("non_finite", name, False,
                       f"{name}: {found} ({share:.2%} of {count:,} non-null values are not "
                       f"finite numbers); the contract allows {allowed}.", n, examples)  # fmt: skip


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
    n = int(scratch.sql(
        f"SELECT coalesce(sum(c), 0) FROM (SELECT count(*) AS c FROM {table} GROUP BY {q} "
        f"HAVING c > 1 OR {q} IS NULL)"
    ).fetchone()[0])  # fmt: skip
    examples = tuple(f"{'NULL' if k is None else k} ({c}x)" for k, c in dupes)
    return CheckResult("unique_key", key, False,
                       f"{key}: {n:,} rows share a key value or have none; the key must be "
                       "unique and not NULL.", n, examples)  # fmt: skip


def unique_columns(scratch: Scratch, names: list[str], table: str = SRC) -> list[str]:
    """Which of ``names`` are unique and never NULL (exact, one scan)."""
    if not names:
        return []
    exprs = ", ".join(f"count(DISTINCT {ident(n)}) = count(*) AND count({ident(n)}) = count(*)"
                      for n in names)  # fmt: skip
    row = scratch.sql(f"SELECT {exprs} FROM {table}").fetchone()
    return [n for n, ok in zip(names, row, strict=True) if ok]


def _show(value: Any, missing: str) -> str:
    return missing if value is None else f"{value:g}" if isinstance(value, float) else str(value)
