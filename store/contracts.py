"""Contract checks run in DuckDB over a scratch table.

A contract spec is plain JSON (built and edited by ``app.contracts``)::

    {"columns": [{"name": "age", "type": "integer", "required": true, "nullable": false,
                  "min": 0, "max": 120, "allowed": null}],
     "key": "id", "allow_extra_columns": true, "min_rows": 1, "max_rows": null}

``min``/``max`` are numbers, or ISO text for dates and timestamps. Every check yields a
:class:`CheckResult`, passed or not, so a page can list what was checked; a failed one
counts the failing rows and keeps up to 20 example values.
"""

from __future__ import annotations

from typing import Any

from store.entities import CheckResult
from store.snapshots import SRC, Column, Scratch, ident

MAX_EXAMPLES = 20
# A column of the family on the left satisfies a contract asking for the one on the right.
_COERCIBLE = {("integer", "float"), ("date", "timestamp")}


def check(scratch: Scratch, columns: tuple[Column, ...], spec: dict[str, Any],
          table: str = SRC) -> list[CheckResult]:  # fmt: skip
    have = {c.name: c for c in columns}
    n_rows = int(scratch.sql(f"SELECT count(*) FROM {table}").fetchone()[0])
    results = [_volume(n_rows, spec)]
    expected = {c["name"] for c in spec.get("columns", [])}
    extra = [c.name for c in columns if c.name not in expected]
    if extra and not spec.get("allow_extra_columns", True):
        results.append(CheckResult("extra_columns", "", False,
                                   f"{len(extra)} column(s) not in the contract: "
                                   f"{', '.join(extra[:MAX_EXAMPLES])}.",
                                   len(extra), tuple(extra[:MAX_EXAMPLES])))  # fmt: skip
    for rule in spec.get("columns", []):
        results += _column_checks(scratch, table, have.get(rule["name"]), rule)
    key = spec.get("key")
    if key:
        results.append(_unique_key(scratch, table, have.get(key), key))
    return results


def _volume(n_rows: int, spec: dict[str, Any]) -> CheckResult:
    lo, hi = spec.get("min_rows"), spec.get("max_rows")
    ok = (lo is None or n_rows >= lo) and (hi is None or n_rows <= hi)
    bounds = f"{lo if lo is not None else 0:,} to {f'{hi:,}' if hi is not None else 'any'}"
    return CheckResult("row_count", "", ok, f"{n_rows:,} rows; the contract allows {bounds}.")


def _column_checks(scratch: Scratch, table: str, col: Column | None, rule: dict[str, Any]
                   ) -> list[CheckResult]:  # fmt: skip
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
    out = []
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
        out.append(_failing(scratch, table, "not_null", name, f"{q} IS NULL", "NULL",
                            "NULL where the contract allows none"))  # fmt: skip
    lo, hi = rule.get("min"), rule.get("max")
    if lo is not None or hi is not None:
        cast = {"date": "DATE", "timestamp": "TIMESTAMP"}.get(col.family, "DOUBLE")
        conds = []
        if lo is not None:
            conds.append(f"{q} < CAST({_literal(lo)} AS {cast})")
        if hi is not None:
            conds.append(f"{q} > CAST({_literal(hi)} AS {cast})")
        out.append(_failing(scratch, table, "range", name, " OR ".join(conds), q,
                            f"outside [{_show(lo, '-inf')}, {_show(hi, 'inf')}]"))  # fmt: skip
    allowed = rule.get("allowed")
    if allowed:
        levels = ", ".join(_literal(str(a)) for a in allowed)
        out.append(_failing(scratch, table, "allowed_values", name,
                            f"{q} IS NOT NULL AND CAST({q} AS VARCHAR) NOT IN ({levels})", q,
                            f"not among the {len(allowed)} allowed values"))  # fmt: skip
    return out


def _failing(scratch: Scratch, table: str, check_name: str, column: str, condition: str,
             example: str, what: str) -> CheckResult:  # fmt: skip
    n = int(scratch.sql(f"SELECT count(*) FROM {table} WHERE {condition}").fetchone()[0])
    if n == 0:
        return CheckResult(check_name, column, True, f"{column}: every row passes.")
    if example == "NULL":
        rows = scratch.sql(
            f"SELECT rn FROM (SELECT row_number() OVER () AS rn, * FROM {table}) "
            f"WHERE {condition} LIMIT {MAX_EXAMPLES}"
        ).fetchall()
        examples = tuple(f"row {r[0]}" for r in rows)
    else:
        rows = scratch.sql(
            f"SELECT DISTINCT CAST({example} AS VARCHAR) AS v FROM {table} WHERE {condition} "
            f"ORDER BY v LIMIT {MAX_EXAMPLES}"
        ).fetchall()
        examples = tuple(str(r[0]) for r in rows)
    rows = "1 row" if n == 1 else f"{n:,} rows"
    return CheckResult(check_name, column, False, f"{column}: {rows} {what}.", n, examples)


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


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(float(value))
    return "'" + str(value).replace("'", "''") + "'"


def _show(value: Any, missing: str) -> str:
    return missing if value is None else f"{value:g}" if isinstance(value, float) else str(value)
