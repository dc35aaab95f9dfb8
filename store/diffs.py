"""Row-level differences between two snapshots, computed in DuckDB over their Parquet files.

Rows are compared by the canonical row text of the columns both versions share (the same
text the fingerprint uses), so a retyped column counts as changed only when its values'
canonical text differs. With a key column (unique and non-NULL in both), rows are matched
by key: added, removed, changed (with the changed columns' before and after), unchanged.
Without one, the versions are compared as multisets of rows: how many rows only the
reference has and how many only the current one has, duplicates counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from workbench.store.snapshots import Column, Scratch, ident, is_decimal, literal, row_text_expr

SAMPLE = 20


@dataclass(frozen=True)
class RowDiff:
    """The row-level difference of a reference and a current snapshot (:func:`diff_rows`).

    ``mode`` "key" (rows matched by the ``key`` column) or "multiset" (rows compared as
    whole row texts, duplicates counted; ``key`` None). Counts are rows: ``added`` only in
    current, ``removed`` only in reference, ``changed``/``unchanged`` (key mode only) keys
    in both whose shared columns differ / do not. Samples hold at most :data:`SAMPLE`
    rows; ``changed_sample`` is long form (key, column, reference, current);
    ``changed_by_column`` counts changed rows per column; ``note`` says why a key was not
    used or that the versions share no column."""

    mode: str  # "key" or "multiset"
    key: str | None
    compared_columns: tuple[str, ...]
    added: int
    removed: int
    changed: int = 0
    unchanged: int = 0
    added_sample: pd.DataFrame = field(default_factory=pd.DataFrame)
    removed_sample: pd.DataFrame = field(default_factory=pd.DataFrame)
    changed_sample: pd.DataFrame = field(default_factory=pd.DataFrame)
    changed_by_column: dict[str, int] = field(default_factory=dict)
    note: str = ""


def diff_rows(
    path_a: Path,
    cols_a: tuple[Column, ...],
    path_b: Path,
    cols_b: tuple[Column, ...],
    key: str | None,
) -> RowDiff:
    """Compare snapshot ``a`` (reference) with ``b`` (current): each a Parquet file and its
    columns. Rows are matched by ``key`` when that column is in both and unique and
    non-NULL in each; otherwise compared as multisets (:class:`RowDiff` ``note`` says why)."""
    by_b = {c.name: c for c in cols_b}
    common = tuple(c for c in cols_a if c.name in by_b)
    with Scratch() as s:
        s.sql(f"CREATE VIEW a AS SELECT * FROM read_parquet('{literal(str(path_a))}')")
        s.sql(f"CREATE VIEW b AS SELECT * FROM read_parquet('{literal(str(path_b))}')")
        if not common:
            return _disjoint(s)
        note = ""
        if key and key in by_b and any(c.name == key for c in cols_a):
            if _unique(s, "a", key) and _unique(s, "b", key):
                return _by_key(s, common, by_b, key)
            note = f"{key} is not unique in both versions, so rows were compared as multisets."
        elif key:
            note = f"Key column {key} is not in both versions; rows compared as multisets."
        return _multiset(s, *_comparable(common, by_b), note)


def _disjoint(s: Scratch) -> RowDiff:
    """Two versions with no column in common: no row of one can equal a row of the other,
    so every reference row is removed and every current row added (said in the note)."""
    removed = int(s.sql("SELECT count(*) FROM a").fetchone()[0])
    added = int(s.sql("SELECT count(*) FROM b").fetchone()[0])
    note = (
        "The versions share no column, so no row can match: every reference row counts "
        "as removed and every current row as added."
    )
    return RowDiff(
        mode="multiset",
        key=None,
        compared_columns=(),
        added=added,
        removed=removed,
        added_sample=s.sql(f"SELECT * FROM b LIMIT {SAMPLE}").df(),
        removed_sample=s.sql(f"SELECT * FROM a LIMIT {SAMPLE}").df(),
        note=note,
    )


def _unique(s: Scratch, table: str, key: str) -> bool:
    q = ident(key)
    return bool(
        s.sql(
            f"SELECT count(DISTINCT {q}) = count(*) AND count({q}) = count(*) FROM {table}"
        ).fetchone()[0]
    )


def _by_key(s: Scratch, common: tuple[Column, ...], by_b: dict[str, Column], key: str) -> RowDiff:
    q = ident(key)
    others = [c for c in common if c.name != key]
    flags = (
        ", ".join(f"({_changed(c, by_b[c.name])}) AS {ident('chg_' + c.name)}" for c in others)
        or "NULL AS none"
    )
    s.sql(
        f"CREATE TEMP TABLE j AS SELECT a.{q} AS ka, b.{q} AS kb, {flags} "
        f"FROM a FULL OUTER JOIN b ON a.{q} = b.{q}"
    )
    any_chg = " OR ".join(ident("chg_" + c.name) for c in others) or "FALSE"
    added, removed, changed, unchanged = s.sql(
        "SELECT count(*) FILTER (WHERE ka IS NULL), count(*) FILTER (WHERE kb IS NULL), "
        f"count(*) FILTER (WHERE ka IS NOT NULL AND kb IS NOT NULL AND ({any_chg})), "
        f"count(*) FILTER (WHERE ka IS NOT NULL AND kb IS NOT NULL AND NOT ({any_chg})) FROM j"
    ).fetchone()
    by_column = {}
    if others and changed:
        counts = ", ".join(f"count(*) FILTER (WHERE {ident('chg_' + c.name)})" for c in others)
        row = s.sql(f"SELECT {counts} FROM j WHERE ka IS NOT NULL AND kb IS NOT NULL").fetchone()
        by_column = {c.name: int(n) for c, n in zip(others, row, strict=True) if n}
    added_sample = s.sql(
        f"SELECT b.* FROM b JOIN j ON b.{q} = j.kb WHERE j.ka IS NULL ORDER BY b.{q} LIMIT {SAMPLE}"
    ).df()
    removed_sample = s.sql(
        f"SELECT a.* FROM a JOIN j ON a.{q} = j.ka WHERE j.kb IS NULL ORDER BY a.{q} LIMIT {SAMPLE}"
    ).df()
    changed_sample = _changed_sample(s, others, key, any_chg) if changed else pd.DataFrame()
    return RowDiff(
        mode="key",
        key=key,
        compared_columns=tuple(c.name for c in common),
        added=int(added),
        removed=int(removed),
        changed=int(changed),
        unchanged=int(unchanged),
        added_sample=added_sample,
        removed_sample=removed_sample,
        changed_sample=changed_sample,
        changed_by_column=by_column,
    )


def _changed_sample(s: Scratch, others: list[Column], key: str, any_chg: str) -> pd.DataFrame:
    """Long form: one row per (key, changed column) for up to SAMPLE changed keys."""
    q = ident(key)
    keys = (
        f"SELECT ka FROM j WHERE ka IS NOT NULL AND kb IS NOT NULL AND ({any_chg}) "
        f"ORDER BY ka LIMIT {SAMPLE}"
    )
    parts = [
        f'SELECT CAST(a.{q} AS VARCHAR) AS key, {_lit_str(c.name)} AS "column", '
        f"CAST(a.{ident(c.name)} AS VARCHAR) AS reference, CAST(b.{ident(c.name)} AS VARCHAR) "
        f"AS current FROM a JOIN b ON a.{q} = b.{q} JOIN j ON j.ka = a.{q} "
        f"WHERE a.{q} IN ({keys}) AND j.{ident('chg_' + c.name)}"
        for c in others
    ]
    return s.sql(" UNION ALL ".join(parts) + ' ORDER BY key, "column"').df()


def _multiset(
    s: Scratch, common_a: tuple[Column, ...], common_b: tuple[Column, ...], note: str
) -> RowDiff:
    ra, rb = row_text_expr(common_a), row_text_expr(common_b)
    # GROUP BY 1, not the alias: a user column may be called m or n
    s.sql(f"CREATE TEMP TABLE ha AS SELECT md5_number({ra}) AS m, count(*) AS n FROM a GROUP BY 1")
    s.sql(f"CREATE TEMP TABLE hb AS SELECT md5_number({rb}) AS m, count(*) AS n FROM b GROUP BY 1")
    s.sql(
        "CREATE TEMP TABLE d AS SELECT coalesce(ha.m, hb.m) AS m, "
        "coalesce(ha.n, 0) - coalesce(hb.n, 0) AS delta FROM ha FULL OUTER JOIN hb USING (m) "
        "WHERE coalesce(ha.n, 0) <> coalesce(hb.n, 0)"
    )
    removed, added = s.sql(
        "SELECT coalesce(sum(delta) FILTER (WHERE delta > 0), 0), "
        "coalesce(-sum(delta) FILTER (WHERE delta < 0), 0) FROM d"
    ).fetchone()
    removed_sample = _multiset_sample(s, "a", common_a, ra, "d.delta")
    added_sample = _multiset_sample(s, "b", common_b, rb, "-d.delta")
    return RowDiff(
        mode="multiset",
        key=None,
        compared_columns=tuple(c.name for c in common_a),
        added=int(added),
        removed=int(removed),
        added_sample=added_sample,
        removed_sample=removed_sample,
        note=note,
    )


def _multiset_sample(
    s: Scratch, table: str, columns: tuple[Column, ...], row_text: str, extra: str
) -> pd.DataFrame:
    """One row per differing row value, with how many more copies this side has."""
    names = ", ".join(ident(c.name) for c in columns)
    return s.sql(
        f"SELECT t.* EXCLUDE (__wb_m), {extra} AS extra_copies FROM (SELECT {names}, "
        f"md5_number({row_text}) AS __wb_m FROM {table}) AS t JOIN d ON t.__wb_m = d.m "
        f"WHERE {extra} > 0 QUALIFY row_number() OVER (PARTITION BY d.m) = 1 "
        f"ORDER BY ALL LIMIT {SAMPLE}"
    ).df()


def _comparable(
    common: tuple[Column, ...], by_b: dict[str, Column]
) -> tuple[tuple[Column, ...], tuple[Column, ...]]:
    """The shared columns of each side, with integer-vs-float (and decimal-vs-float) columns
    read as floats on both sides so that 19 and 19.0 make the same row text."""
    left, right = [], []
    for a in common:
        b = by_b[a.name]
        mixed_decimal = a.family == b.family == "float" and is_decimal(a.dtype) != is_decimal(
            b.dtype
        )  # a DECIMAL and a DOUBLE print 1e16 differently: compare as doubles
        if {a.family, b.family} == {"integer", "float"} or mixed_decimal:
            a, b = Column(a.name, "DOUBLE", "float"), Column(b.name, "DOUBLE", "float")
        left.append(a)
        right.append(b)
    return tuple(left), tuple(right)


def _changed(a: Column, b: Column) -> str:
    qa, qb = f"a.{ident(a.name)}", f"b.{ident(b.name)}"
    if a.family == b.family:
        return f"{qa} IS DISTINCT FROM {qb}"
    if {a.family, b.family} == {"integer", "float"}:  # 19 and 19.0 are the same value
        return f"CAST({qa} AS DOUBLE) IS DISTINCT FROM CAST({qb} AS DOUBLE)"
    return f"CAST({qa} AS VARCHAR) IS DISTINCT FROM CAST({qb} AS VARCHAR)"  # retyped column


def _lit_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
