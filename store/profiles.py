"""Column profiles: counts in DuckDB, statistics of numbers in numpy, never a number in SQL.

How a column is profiled (the type policy in docs/types.md quotes this):

* Every column: ``count`` (non-null values) and ``nulls``, exactly. The distinct count is
  exact (``count(DISTINCT)``) for tables up to ``EXACT_DISTINCT_ROWS`` rows and for text
  and booleans at any size; above that, numbers, dates and timestamps get DuckDB's
  HyperLogLog estimate (``approx_count_distinct``, marked ``distinct_exact=False``), capped
  at the non-null count. NaN, +inf and -inf each count as one distinct value.
* Numbers (integers, floats, decimals), dates and timestamps are put on a numeric axis
  (DOUBLE: dates as days since 1970-01-01, timestamps as seconds since the epoch). Floats'
  NaN, +inf and -inf, and the infinite dates and timestamps DuckDB allows, are counted
  apart (``nan_count``, ``posinf_count``, ``neginf_count``) and left out of every
  statistic: ``min_text``/``max_text`` (the extremes as the user writes them),
  ``min_value``/``max_value``, mean, std, quantiles and histogram are over the finite
  values. All of these are exact on the DOUBLE axis: the finite values of each column are
  read into numpy (a bounded number of cells at a time) and sorted once; the 1,001-point
  quantile function uses linear interpolation between order statistics (numpy's default
  "linear" method, Hyndman & Fan type 7, the same as pandas' ``median``), and mean and
  std are computed on values scaled by a power of two so that no sum overflows, even for
  values near +-1.8e308 (accurate to about 1e-16 of the largest |value|). A std that is
  itself beyond the largest double is left empty.
  Integers beyond 2**53 (BIGINT near 2**63, HUGEINT, UBIGINT) are rounded to the nearest
  double on this axis only; ``min_text``/``max_text`` and the distinct count keep them
  exact, and a 64-bit integer column reaching beyond 2**53 with at most ``TOP_LEVELS``
  distinct values also gets its exact value counts (as text, like a text column's), so
  values the axis merges are still told apart.
* The histogram has up to ``HIST_BINS`` equal-width bins between the finite min and max
  (one bin per value for integer and date ranges of at most ``HIST_BINS`` values, one
  bin around the value for a constant column); bins are [left, right), the last one
  closed. Counts are exact (binary search in the sorted values), and they sum to the
  finite values.
* Text, booleans and other types get their value counts: the top ``TOP_LEVELS`` levels
  plus an "other" count, an exact distinct count, and ``singletons``, the exact number of
  levels seen once (Good-Turing's estimate of the share of rows a second sample shows new
  by chance is ``singletons / count``). Where the list is cut off, the levels beyond it
  are sampled by hash (a bottom-k sketch, Broder 1997; Cohen & Kaplan 2007): the
  ``SKETCH_SIZE`` tail levels with the smallest :func:`level_hash`, with their exact row
  counts (``tail_hashes``, ascending, and ``tail_counts``); all of them when the tail has
  that few. Two profiles' sketches hold the same levels below a common hash threshold,
  so a drift report can tell, for a uniform sample of a tail's levels, whether the other
  side has them at all.

Drift reports and contracts compare profiles, so they never read raw rows again. Work is
done in chunks of ``CHUNK_COLUMNS`` columns (and at most ``CHUNK_CELLS`` values fetched at
once), so the cost grows linearly with the number of columns.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import sys
from collections.abc import Iterator, Sequence

import numpy as np

from workbench.store.entities import ColumnProfile
from workbench.store.snapshots import SRC, Column, Scratch, ident

QUANTILE_POINTS = 1001
TOP_LEVELS = 1000
SKETCH_SIZE = 1024  # tail levels sampled by hash (16 KB per cut-off text column)
HIST_BINS = 30
NUMERIC_FAMILIES = ("integer", "float", "date", "timestamp")
EXACT_DISTINCT_ROWS = 1_000_000  # exact distinct counts up to this many rows
CHUNK_COLUMNS = 100  # columns per aggregate query (one query per chunk, not per table)
CHUNK_CELLS = 4_000_000  # values fetched into numpy at once (32 MB of doubles)
_MAX = sys.float_info.max
# Types numpy holds exactly: profiled from one fetch of their values, no SQL aggregates.
_NATIVE = {
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "DOUBLE",
}
_PROBS = np.linspace(0.0, 1.0, QUANTILE_POINTS)


def numeric_expr(column: Column) -> str:
    """The column on a numeric axis (DOUBLE), NULL where the value is not finite."""
    q = ident(column.name)
    if column.family == "date":
        return f"(CASE WHEN isfinite({q}) THEN CAST({q} - DATE '1970-01-01' AS DOUBLE) END)"
    if column.family == "timestamp":
        return f"(CASE WHEN isfinite({q}) THEN epoch({q}) END)"
    return f"(CASE WHEN isfinite(CAST({q} AS DOUBLE)) THEN CAST({q} AS DOUBLE) END)"


def finite_condition(column: Column) -> str:
    """SQL that is true where the column's value is finite (false for NULL, NaN, +-inf).
    Integers, text and booleans are always finite."""
    q = ident(column.name)
    if column.family == "float":
        return f"isfinite(CAST({q} AS DOUBLE))"
    if column.family in ("date", "timestamp"):
        return f"isfinite({q})"
    return f"({q} IS NOT NULL)"


def profile(
    scratch: Scratch,
    columns: tuple[Column, ...],
    table: str = SRC,
) -> tuple[ColumnProfile, ...]:
    """Profile every column of ``table`` (see the module docstring). Never raises on a
    table DuckDB could load: every number stays in DuckDB or numpy, never in SQL text."""
    if not columns:
        return ()
    n_rows = scratch.count(table)
    found: dict[str, dict] = {}
    native = [c for c in columns if c.dtype.upper() in _NATIVE]
    per_fetch = max(1, min(CHUNK_COLUMNS, CHUNK_CELLS // max(n_rows, 1)))
    for chunk in _chunks(native, per_fetch):
        found |= _native_stats(scratch, chunk, table)
    texts = [c for c in columns if c.family in ("string", "boolean")]
    for chunk in _chunks(texts, per_fetch):
        found |= _top_values(scratch, chunk, table)
    rest = [c for c in columns if c.name not in found]
    for chunk in _chunks(rest, CHUNK_COLUMNS):
        found |= _basics(scratch, chunk, table, n_rows)
    axis = [c for c in rest if c.family in NUMERIC_FAMILIES]
    for chunk in _chunks(axis, per_fetch):
        for name, stats in _axis_stats(scratch, chunk, table).items():
            found[name] |= stats
    for c in rest:
        if c.family not in NUMERIC_FAMILIES:
            found[c.name] |= _top_values(scratch, [c], table)[c.name]
    out = []
    for pos, c in enumerate(columns):
        b = found[c.name]
        count = int(b["count"])
        out.append(
            ColumnProfile(
                position=pos,
                name=c.name,
                dtype=c.dtype,
                family=c.family,
                count=count,
                nulls=n_rows - count,
                nan_count=b.get("nan", 0),
                posinf_count=b.get("posinf", 0),
                neginf_count=b.get("neginf", 0),
                distinct=min(int(b["distinct"]), count),
                distinct_exact=b["distinct_exact"],
                min_text=b.get("min_text"),
                max_text=b.get("max_text"),
                min_value=b.get("min"),
                max_value=b.get("max"),
                mean=b.get("mean"),
                std=b.get("std"),
                quantiles=tuple(b.get("quantiles", ())),
                quantiles_exact=bool(b.get("quantiles")),
                hist_edges=tuple(b.get("edges", ())),
                hist_counts=tuple(b.get("counts", ())),
                top_values=tuple(b.get("levels", ())),
                top_counts=tuple(b.get("level_counts", ())),
                other_count=b.get("other", 0),
                singletons=b.get("singletons"),
                tail_hashes=tuple(b.get("tail_hashes", ())),
                tail_counts=tuple(b.get("tail_counts", ())),
            )
        )
    return tuple(out)


def _chunks(items: Sequence[Column], size: int) -> Iterator[Sequence[Column]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _values(arrays: dict, key: str) -> np.ndarray:
    """The non-null values of one fetched column."""
    values = arrays[key]
    if isinstance(values, np.ma.MaskedArray):
        return values.compressed()
    return np.asarray(values)


def _native_stats(scratch: Scratch, columns: Sequence[Column], table: str) -> dict[str, dict]:
    """Everything about 8- to 64-bit integer and DOUBLE columns from one fetch of their
    values into numpy (exact: numpy holds these types without loss)."""
    select = ", ".join(f"{ident(c.name)} AS c{i}" for i, c in enumerate(columns))
    arrays = scratch.sql(f"SELECT {select} FROM {table}").fetchnumpy()
    out = {}
    for i, c in enumerate(columns):
        values = np.sort(_values(arrays, f"c{i}"))  # NaN sort last
        b: dict = {"count": int(values.size), "distinct_exact": True}
        if c.family == "float":
            x = values.astype(np.float64)
            finite_mask = np.isfinite(x)
            b["nan"] = int(np.isnan(x).sum())
            b["posinf"] = int((x == np.inf).sum())
            b["neginf"] = int((x == -np.inf).sum())
            finite = x[finite_mask]
            kinds = sum(k > 0 for k in (b["nan"], b["posinf"], b["neginf"]))
            b["distinct"] = _distinct_sorted(finite) + kinds  # each kind counts once
            b |= describe_values(finite, c.family, presorted=True)
            if finite.size:
                b["min_text"], b["max_text"] = repr(b["min"]), repr(b["max"])
        else:
            b["distinct"] = _distinct_sorted(values)
            if values.size:
                b["min_text"], b["max_text"] = str(values[0]), str(values[-1])
                axis = values.astype(np.float64)  # monotone: stays sorted
                b |= describe_values(axis, c.family, presorted=True)
                if (
                    max(abs(float(values[0])), abs(float(values[-1]))) >= 2**53
                    and b["distinct"] <= TOP_LEVELS
                ):
                    b |= _exact_levels(values)
        out[c.name] = b
    return out


def _exact_levels(values: np.ndarray) -> dict:
    """Every level of sorted integer ``values`` with its count, most frequent first (ties
    by value), as text: for integer columns beyond 2**53, where the DOUBLE axis merges
    neighbouring values, so that drift and the page can still tell them apart."""
    levels, counts = np.unique(values, return_counts=True)
    order = np.lexsort((levels, -counts))
    return {
        "levels": [str(v) for v in levels[order]],
        "level_counts": [int(n) for n in counts[order]],
        "other": 0,
        "singletons": int((counts == 1).sum()),
    }


def _distinct_sorted(a: np.ndarray) -> int:
    """Distinct values of sorted ``a`` (-0.0 and 0.0 are one)."""
    return int(a.size and 1 + np.count_nonzero(a[1:] != a[:-1]))


def _basics(
    scratch: Scratch,
    columns: Sequence[Column],
    table: str,
    n_rows: int,
) -> dict[str, dict]:
    """Counts, non-finite counts, finite extremes as text and distinct counts of columns
    numpy cannot hold exactly (decimals, 128-bit integers, FLOAT, dates, timestamps and
    other types), one query per chunk."""
    exact = n_rows <= EXACT_DISTINCT_ROWS
    exprs: list[str] = []
    layout: list[tuple[str, str]] = []
    for c in columns:
        q = ident(c.name)
        parts = {
            "count": f"count({q})",
            "distinct": f"count(DISTINCT {q})" if exact else f"approx_count_distinct({q})",
        }
        if c.family in NUMERIC_FAMILIES:
            finite = f"CASE WHEN {finite_condition(c)} THEN {q} END"
            parts["min_text"] = f"CAST(min({finite}) AS VARCHAR)"
            parts["max_text"] = f"CAST(max({finite}) AS VARCHAR)"
        else:
            parts["min_text"] = f"CAST(min({q}) AS VARCHAR)"
            parts["max_text"] = f"CAST(max({q}) AS VARCHAR)"
        if c.family == "float":
            x = f"CAST({q} AS DOUBLE)"
            parts["nan"] = f"count_if(isnan({x}))"
            parts["posinf"] = f"count_if(isinf({x}) AND {x} > 0)"
            parts["neginf"] = f"count_if(isinf({x}) AND {x} < 0)"
        elif c.family in ("date", "timestamp"):
            epoch = "DATE '1970-01-01'" if c.family == "date" else "TIMESTAMP '1970-01-01'"
            parts["posinf"] = f"count_if(isinf({q}) AND {q} > {epoch})"
            parts["neginf"] = f"count_if(isinf({q}) AND {q} < {epoch})"
        for key, sql in parts.items():
            layout.append((c.name, key))
            exprs.append(sql)
    row = scratch.sql(f"SELECT {', '.join(exprs)} FROM {table}").fetchone()
    out: dict[str, dict] = {c.name: {"distinct_exact": exact} for c in columns}
    for (name, key), value in zip(layout, row, strict=True):
        out[name][key] = int(value or 0) if key not in ("min_text", "max_text") else value
    return out


def _axis_stats(scratch: Scratch, columns: Sequence[Column], table: str) -> dict[str, dict]:
    """Exact statistics of the finite values of a few numeric columns, read into numpy."""
    select = ", ".join(f"{numeric_expr(c)} AS c{i}" for i, c in enumerate(columns))
    arrays = scratch.sql(f"SELECT {select} FROM {table}").fetchnumpy()
    out = {}
    for i, c in enumerate(columns):
        values = np.asarray(_values(arrays, f"c{i}"), dtype=np.float64)
        out[c.name] = describe_values(values[np.isfinite(values)], c.family)
    return out


def describe_values(values: np.ndarray, family: str = "float", presorted: bool = False) -> dict:
    """Exact min, max, mean, std, 1,001-point quantile function and histogram of finite
    DOUBLE ``values`` (any order). Empty dict for no values. Never overflows: see the
    module docstring. ``family`` picks one-per-value bins for small integer/date ranges;
    ``presorted`` skips the sort of values already in ascending order."""
    if values.size == 0:
        return {}
    a = values if presorted else np.sort(values)
    lo, hi = float(a[0]), float(a[-1])
    # Divided by a power of two, every |value| is below 2 (exact, bar subnormals), so sums
    # of n values stay within 2n, far from overflow. The mean is summed in extended
    # precision where the platform has it (x86: 64-bit mantissa), so that sums like
    # 3 * x - 3 * x cancel exactly; accurate to ~1e-16 * max|x| everywhere.
    scale = _scale(lo, hi)
    scaled = a / scale
    mean = float(np.mean(scaled, dtype=np.longdouble)) * scale
    # two-pass, on values less the first one: a constant column's std is exactly 0 (the
    # mean of 1e300 or 1.7e18 repeated is not exact, so deviations from it would not be)
    std = float(np.std(scaled - lo / scale, ddof=1)) * scale if a.size > 1 else None
    if lo == hi:
        mean, std = lo, (0.0 if a.size > 1 else None)
    edges, counts = _histogram(a, lo, hi, family)
    return {
        "min": lo,
        "max": hi,
        "mean": min(max(mean, lo), hi),  # rounding cannot leave the range
        "std": std if std is not None and math.isfinite(std) else None,
        "quantiles": _quantiles(a),
        "edges": edges,
        "counts": counts,
    }


def _scale(lo: float, hi: float) -> float:
    """The power of two 2**(e-1) where max(|lo|, |hi|) < 2**e (2**1023 at most)."""
    big = max(abs(lo), abs(hi))
    return math.ldexp(1.0, math.frexp(big)[1] - 1) if big > 0 else 1.0


def _quantiles(a: np.ndarray) -> list[float]:
    """Type 7 quantiles of sorted ``a`` at ``QUANTILE_POINTS`` evenly spaced probabilities,
    interpolated as (1 - w) * lower + w * upper, which cannot overflow."""
    pos = _PROBS * (a.size - 1)
    below = np.floor(pos).astype(np.int64)
    above = np.minimum(below + 1, a.size - 1)
    w = pos - below
    lower, upper = a[below], a[above]
    q = (1.0 - w) * lower + w * upper
    q = np.clip(q, lower, upper)  # rounding stays between the two order statistics
    q[0], q[-1] = a[0], a[-1]
    return q.tolist()


def _histogram(a: np.ndarray, lo: float, hi: float, family: str) -> tuple[list[float], list[int]]:
    """Edges and exact counts of sorted finite ``a`` (see the module docstring)."""
    n = int(a.size)
    if hi == lo:  # one bin around the value, wide enough to be a distinct double each side
        half = max(0.5, abs(lo) * 2.0**-20)
        return [max(lo - half, -_MAX), min(hi + half, _MAX)], [n]
    edges: list[float] | None = None
    if family in ("integer", "date") and hi - lo + 1 <= HIST_BINS and abs(lo) < 2.0**52:
        edges = [lo - 0.5 + i for i in range(int(hi - lo) + 2)]
    bins = HIST_BINS
    while edges is None:
        edges = _equal_width(lo, hi, bins)
        if bins > 1 and not all(b > a for a, b in itertools.pairwise(edges)):
            edges, bins = None, bins // 2  # too close to tell apart as doubles: fewer bins
    cuts = np.searchsorted(a, np.asarray(edges[1:-1]), side="left")
    counts = np.diff(np.concatenate(([0], cuts, [n])))
    return edges, [int(c) for c in counts]


def _equal_width(lo: float, hi: float, bins: int) -> list[float]:
    """``bins + 1`` edges from ``lo`` to ``hi``, computed on a scaled axis (no overflow)."""
    scale = _scale(lo, hi)
    a, b = lo / scale, hi / scale
    inner = [(a + (b - a) * i / bins) * scale for i in range(1, bins)]
    return [lo, *inner, hi]


def level_hash(level: str) -> int:
    """A level's hash for the tail sketch: the first 64 bits (big-endian) of the MD5 digest
    of its UTF-8 text, an unsigned integer below 2**64. The same as DuckDB's
    ``('0x' || md5(v)[1:16])::UBIGINT``, and stable across versions of both (MD5 is a
    standard), so sketches stored years apart stay comparable."""
    return int(hashlib.md5(level.encode("utf-8")).hexdigest()[:16], 16)


def _top_values(scratch: Scratch, columns: Sequence[Column], table: str) -> dict[str, dict]:
    """Value counts of a few columns as text, in one query over their long form: the top
    ``TOP_LEVELS`` levels, the count of the rest, the exact number of distinct levels and
    of levels seen once, the non-null count, the smallest and largest value as text, and
    the tail sketch (see the module docstring)."""
    select = ", ".join(f"CAST({ident(c.name)} AS VARCHAR) AS c{i}" for i, c in enumerate(columns))
    rows = scratch.sql(
        f"WITH wide AS (SELECT {select} FROM {table}), "
        "long AS (UNPIVOT wide ON COLUMNS(*) INTO NAME col VALUE v), "
        "counted AS (SELECT col, v, count(*) AS c FROM long GROUP BY col, v), "
        "ranked AS MATERIALIZED (SELECT *, "
        "row_number() OVER (PARTITION BY col ORDER BY c DESC, v) AS rank, "
        "count(*) OVER w AS groups, sum(c) OVER w AS total, count_if(c = 1) OVER w AS ones, "
        "min(v) OVER w AS lo, max(v) OVER w AS hi FROM counted WINDOW w AS (PARTITION BY col)), "
        "tail AS (SELECT col, c, ('0x' || md5(v)[1:16])::UBIGINT AS h FROM ranked "
        f"WHERE rank > {TOP_LEVELS}), "
        "sampled AS (SELECT col, c, h, row_number() OVER (PARTITION BY col ORDER BY h) AS k "
        "FROM tail) "
        "SELECT col, v, c, groups, total, lo, hi, ones, NULL::UBIGINT AS h, rank AS k "
        f"FROM ranked WHERE rank <= {TOP_LEVELS} "
        "UNION ALL SELECT col, NULL, c, NULL, NULL, NULL, NULL, NULL, h, "
        f"{TOP_LEVELS} + k FROM sampled WHERE k <= {SKETCH_SIZE} "
        "ORDER BY col, k"
    ).fetchall()
    out = {
        c.name: {
            "count": 0,
            "distinct": 0,
            "distinct_exact": True,
            "levels": [],
            "level_counts": [],
            "other": 0,
            "singletons": 0,
            "tail_hashes": [],
            "tail_counts": [],
        }
        for c in columns
    }
    for col, v, c, groups, total, lo, hi, ones, h, _ in rows:
        b = out[columns[int(col[1:])].name]
        if h is not None:  # a sampled tail level, after the column's top list
            b["tail_hashes"].append(int(h))
            b["tail_counts"].append(int(c))
            continue
        b["levels"].append(v)
        b["level_counts"].append(int(c))
        b |= {
            "count": int(total),
            "distinct": int(groups),
            "min_text": lo,
            "max_text": hi,
            "singletons": int(ones),
        }
    for b in out.values():
        b["other"] = b["count"] - sum(b["level_counts"])
    return out
