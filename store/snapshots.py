"""Dataset snapshots: reading user data into a scratch DuckDB, checking it, and writing the
immutable Parquet snapshot with its canonical fingerprint.

All heavy data work runs in a private in-memory DuckDB (:class:`Scratch`), never in the
workspace database, so registering a big file holds no lock that notebooks or training
workers wait on. Only the small metadata rows go through :class:`store.gateway.Store`.

The fingerprint names the *logical* content, independent of file format and DuckDB
version (Parquet bytes differ between DuckDB releases):

* row order does not count; column names, column order and type families do;
* each row becomes a canonical text: per column, integers in decimal, floats in the
  shortest round-trip form (``repr``; -0.0 as 0.0), booleans ``true``/``false``, dates
  ``YYYY-MM-DD``, timestamps ``YYYY-MM-DD HH:MM:SS[.ffffff]`` (UTC, microseconds), strings
  length-prefixed (``5:hello``), NULL as ``\\x1e``; fields joined by ``\\x1f``;
* the multiset of rows is summed: ``S_hi``, ``S_lo`` = sums modulo 2**64 of the upper and
  lower 64 bits of each row's md5;
* fingerprint = sha256 of ``wbfp1``, the schema, the row count, ``S_hi`` and ``S_lo``.

``tests/test_fingerprint.py`` recomputes it in pure Python from the same definition.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from store.errors import FULL_MARKERS, InvalidInput, storage_full

FINGERPRINT_VERSION = "wbfp1"
SRC = "src"  # the scratch table a source is loaded into
_MASK64 = (1 << 64) - 1
_SNIFF_BYTES = 1 << 16

FAMILIES = ("integer", "float", "boolean", "string", "date", "timestamp")
_INTEGER = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
            "UINTEGER", "UBIGINT", "UHUGEINT"}  # fmt: skip
_FLOAT = {"FLOAT", "DOUBLE"}


def ident(name: str) -> str:
    """``name`` quoted as a SQL identifier (quotes, keywords and spaces are safe)."""
    return '"' + name.replace('"', '""') + '"'


def family_of(dtype: str) -> str:
    """The type family a DuckDB type belongs to (what contracts and fingerprints compare)."""
    base = dtype.split("(")[0].strip().upper()
    if base in _INTEGER:
        return "integer"
    if base in _FLOAT or base == "DECIMAL":
        return "float"
    if base == "BOOLEAN":
        return "boolean"
    if base == "VARCHAR":
        return "string"
    if base == "DATE":
        return "date"
    if base.startswith("TIMESTAMP"):
        return "timestamp"
    return "other"


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str
    family: str


@dataclass(frozen=True)
class Snapshot:
    """What loading a source produced: its schema, size and canonical fingerprint."""

    columns: tuple[Column, ...]
    n_rows: int
    fingerprint: str
    duplicate_rows: int


class Scratch:
    """A private in-memory DuckDB for data work; use as a context manager."""

    def __init__(self) -> None:
        self.con = duckdb.connect(":memory:")

    def __enter__(self) -> Scratch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.con.close()

    def sql(self, sql: str, params: list | None = None) -> duckdb.DuckDBPyConnection:
        try:
            return self.con.execute(sql, params or [])
        except duckdb.Error as exc:
            raise InvalidInput(_first_line(exc)) from exc

    def columns(self, table: str = SRC) -> tuple[Column, ...]:
        rows = self.con.execute(f"DESCRIBE {table}").fetchall()
        return tuple(Column(name, dtype, family_of(dtype)) for name, dtype, *_ in rows)

    def count(self, table: str = SRC) -> int:
        return int(self.con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


# -- loading sources -----------------------------------------------------------------------


def load_csv(scratch: Scratch, path: Path, *, label: str, encoding: str = "utf-8") -> None:
    """Load a CSV file with a header row into the scratch table, or raise InvalidInput.

    Refuses, each with its own message: an empty file, a binary file, text that is not in
    ``encoding``, a header with blank or duplicate names, ragged rows, no data rows.
    """
    size = path.stat().st_size
    if size == 0:
        raise InvalidInput(
            f"{label} is empty (0 bytes). Export the data again with a header row and at "
            "least one data row."
        )
    with path.open("rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    if b"\x00" in head:
        raise InvalidInput(
            f"{label} looks like a binary file, not CSV text (it contains NUL bytes). "
            "Upload a CSV text file or a Parquet file (.parquet)."
        )
    text = _decode_head(head, label, encoding, complete=size <= _SNIFF_BYTES)
    delimiter = _sniff_delimiter(text)
    header = _header(text, delimiter, label)
    options = (
        f"header = true, delim = '{delimiter}', quote = '\"', escape = '\"', skip = 0, "
        f"strict_mode = true, null_padding = false, encoding = '{encoding}'"
    )
    sql = f"CREATE OR REPLACE TABLE {SRC} AS SELECT * FROM read_csv(?, {options}"
    try:
        try:
            scratch.con.execute(sql + ")", [str(path)])
        except duckdb.ConversionException:
            # The type sniffer saw only a sample; read again with every row sampled.
            scratch.con.execute(sql + ", sample_size = -1)", [str(path)])
    except duckdb.Error as exc:
        raise _csv_error(exc, path, label, delimiter, encoding, len(header)) from exc
    got = [c.name for c in scratch.columns()]
    if got != header:
        raise InvalidInput(
            f"{label}: the header {header[:10]} was read as {got[:10]}; check the delimiter "
            f"(detected {delimiter!r}) and quoting."
        )
    _require_rows(scratch, label)


def load_parquet(scratch: Scratch, path: Path, *, label: str, materialize: bool = True) -> None:
    """Load a Parquet file into the scratch table, or raise InvalidInput. With
    ``materialize=False`` the table is a view over the file: each scan reads the file
    again (Parquet reads are fast) and memory stays small."""
    if path.stat().st_size == 0:
        raise InvalidInput(f"{label} is empty (0 bytes); it is not a Parquet file. "
                           "Write the file again, or upload a CSV.")  # fmt: skip
    try:
        if materialize:
            scratch.con.execute(f"CREATE OR REPLACE TABLE {SRC} AS SELECT * FROM "
                                "read_parquet(?)", [str(path)])  # fmt: skip
        else:
            scratch.con.execute(f"CREATE OR REPLACE VIEW {SRC} AS SELECT * FROM "
                                f"read_parquet('{literal(str(path))}')")  # fmt: skip
    except duckdb.Error as exc:
        raise InvalidInput(
            f"{label} could not be read as Parquet ({_first_line(exc)}). Check that it is a "
            "complete Parquet file, or upload a CSV."
        ) from exc
    _check_names([c.name for c in scratch.columns()], label)
    _require_rows(scratch, label)


def load_frame(scratch: Scratch, frame: pd.DataFrame, *, label: str) -> None:
    """Load a pandas DataFrame into the scratch table, or raise InvalidInput."""
    if not isinstance(frame, pd.DataFrame):
        raise InvalidInput(f"{label} must be a pandas DataFrame; got {type(frame).__name__}.")
    if isinstance(frame.columns, pd.MultiIndex):
        raise InvalidInput(f"{label} has multi-level column names; flatten them first, e.g. "
                           "df.columns = ['_'.join(map(str, c)) for c in df.columns].")  # fmt: skip
    bad = [c for c in frame.columns if not isinstance(c, str)]
    if bad:
        raise InvalidInput(f"{label} has column names that are not strings: {bad[:5]}. "
                           "Rename them, e.g. df.columns = df.columns.astype(str).")  # fmt: skip
    _check_names(list(frame.columns), label)
    if not isinstance(frame.index, pd.RangeIndex) and any(n is not None for n in frame.index.names):
        frame = frame.reset_index()  # a named index is data; a plain row number is not
    try:
        scratch.con.register("incoming_frame", frame)
        scratch.con.execute(f"CREATE OR REPLACE TABLE {SRC} AS SELECT * FROM incoming_frame")
    except (duckdb.Error, ValueError, TypeError) as exc:
        raise InvalidInput(
            f"{label} could not be converted ({_first_line(exc)}). Give each column one type, "
            "e.g. df[col] = df[col].astype(str) for mixed text and numbers."
        ) from exc
    finally:
        scratch.con.unregister("incoming_frame")
    _require_rows(scratch, label)


def normalize(scratch: Scratch, label: str) -> tuple[Column, ...]:
    """Bring the scratch table to the types a snapshot keeps, or raise InvalidInput.

    Time zones become UTC timestamps, nanosecond timestamps microsecond ones, enums and
    all-NULL columns text; nested types (lists, structs, maps) are refused.
    """
    columns = scratch.columns()
    nested = [c for c in columns if any(t in c.dtype for t in ("[]", "STRUCT", "MAP", "UNION"))]
    if nested:
        c = nested[0]
        raise InvalidInput(
            f"{label}: column {c.name!r} has the nested type {c.dtype}; only flat tables can "
            "be versioned. Flatten it (one column per field) or store it as JSON text."
        )
    select, changed = [], False
    for c in columns:
        q = ident(c.name)
        if c.dtype == "TIMESTAMP WITH TIME ZONE":
            select.append(f"timezone('UTC', {q}) AS {q}")
        elif c.dtype.startswith(("TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S")):
            select.append(f"CAST({q} AS TIMESTAMP) AS {q}")
        elif c.dtype.startswith("ENUM") or c.dtype in ('"NULL"', "NULL"):
            # an all-None object column arrives typed NULL; text is what it most likely holds
            select.append(f"CAST({q} AS VARCHAR) AS {q}")
        else:
            select.append(q)
            continue
        changed = True
    if changed:
        scratch.sql(f"CREATE OR REPLACE TABLE {SRC} AS SELECT {', '.join(select)} FROM {SRC}")
        columns = scratch.columns()
    return columns


# -- fingerprint -------------------------------------------------------------------------------


def canonical_expr(column: Column) -> str:
    """SQL for one column's canonical text in a fingerprint row (see module docstring)."""
    q = ident(column.name)
    if column.family == "float":
        return f"CAST(CAST({q} AS DOUBLE) + 0.0 AS VARCHAR)"
    if column.family == "string":
        return f"CAST(length({q}) AS VARCHAR) || ':' || {q}"
    if column.family == "timestamp":
        return f"CAST(CAST({q} AS TIMESTAMP) AS VARCHAR)"
    return f"CAST({q} AS VARCHAR)"


def row_text_expr(columns: tuple[Column, ...]) -> str:
    parts = [f"coalesce({canonical_expr(c)}, chr(30))" for c in columns]
    return "concat_ws(chr(31), " + ", ".join(parts) + ")"


def schema_text(columns: tuple[Column, ...]) -> str:
    return "\x1f".join(f"{c.name}\x1e{c.family}" for c in columns)


def combine_fingerprint(columns: tuple[Column, ...], n_rows: int, s_hi: int, s_lo: int) -> str:
    text = "\n".join([FINGERPRINT_VERSION, schema_text(columns), str(n_rows),
                      str(s_hi & _MASK64), str(s_lo & _MASK64)])  # fmt: skip
    return hashlib.sha256(text.encode()).hexdigest()


def snapshot_of(scratch: Scratch, columns: tuple[Column, ...]) -> Snapshot:
    """Fingerprint and duplicate-row count of the scratch table (one scan)."""
    n, s_hi, s_lo, distinct = scratch.sql(
        f"WITH h AS (SELECT md5_number({row_text_expr(columns)}) AS m FROM {SRC}) "
        "SELECT count(*), coalesce(sum(CAST(m >> 64 AS UBIGINT)), 0), "
        "coalesce(sum(CAST(m & CAST(18446744073709551615 AS UHUGEINT) AS UBIGINT)), 0), "
        "count(DISTINCT m) FROM h"
    ).fetchone()
    return Snapshot(columns, int(n), combine_fingerprint(columns, int(n), int(s_hi), int(s_lo)),
                    int(n) - int(distinct))  # fmt: skip


def write_parquet(scratch: Scratch, tmp_dir: Path) -> Path:
    """The scratch table as a Parquet file in ``tmp_dir`` (zstd); the caller moves it."""
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=tmp_dir, prefix="snapshot-", suffix=".parquet")
    os.close(fd)
    try:
        scratch.sql(f"COPY {SRC} TO '{literal(name)}' (FORMAT parquet, COMPRESSION zstd)")
    except BaseException as exc:
        os.unlink(name)
        if any(marker in str(exc) for marker in FULL_MARKERS):
            raise storage_full("the dataset snapshot", tmp_dir) from exc
        raise
    return Path(name)


# -- reading snapshots -------------------------------------------------------------------------


def read_page(path: Path, offset: int, limit: int) -> pd.DataFrame:
    """Rows ``offset`` to ``offset + limit`` of a snapshot, in stored order.

    A filter on ``file_row_number`` lets DuckDB skip whole row groups (about 10 ms for any
    page of 10M rows, where OFFSET reads everything before the page)."""
    source = f"'{literal(str(path))}'"
    lo, hi = int(offset), int(offset) + int(limit)
    with Scratch() as s:
        try:
            return s.con.execute(
                f"SELECT * EXCLUDE (file_row_number) FROM read_parquet({source}, "
                f"file_row_number = true) WHERE file_row_number >= {lo} AND file_row_number < "
                f"{hi} ORDER BY file_row_number"
            ).df()
        except duckdb.Error:  # a user column called file_row_number: page the slow way
            return s.sql(f"SELECT * FROM read_parquet({source}) LIMIT {int(limit)} "
                         f"OFFSET {lo}").df()  # fmt: skip


def read_all(path: Path) -> pd.DataFrame:
    with Scratch() as s:
        return s.sql(f"SELECT * FROM read_parquet('{literal(str(path))}')").df()


def read_sample(path: Path, n: int, seed: int = 0) -> pd.DataFrame:
    """All rows when there are at most ``n``, else a uniform sample of ``n`` (reservoir, the
    same rows for the same seed)."""
    source = f"read_parquet('{literal(str(path))}')"
    with Scratch() as s:
        if s.count(source) <= n:
            return s.sql(f"SELECT * FROM {source}").df()
        return s.sql(f"SELECT * FROM {source} USING SAMPLE reservoir({int(n)} ROWS) "
                     f"REPEATABLE ({int(seed)})").df()  # fmt: skip


def write_csv(path: Path, target: Path) -> None:
    with Scratch() as s:
        s.sql(f"COPY (SELECT * FROM read_parquet('{literal(str(path))}')) "
              f"TO '{literal(str(target))}' (HEADER, DELIMITER ',')")  # fmt: skip


@contextmanager
def opened(path: Path, table: str = SRC) -> Iterator[Scratch]:
    """A scratch database with the snapshot at ``path`` visible as a view named ``table``."""
    with Scratch() as s:
        s.sql(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{literal(str(path))}')")
        yield s


# -- helpers -----------------------------------------------------------------------------------


def literal(text: str) -> str:
    """``text`` escaped for use inside a single-quoted SQL string."""
    return text.replace("'", "''")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().split("\n")[0]
    for prefix in ("Invalid Input Error: ", "Conversion Error: ", "IO Error: ",
                   "Binder Error: ", "Parser Error: "):  # fmt: skip
        text = text.removeprefix(prefix)
    return text


def _decode_head(head: bytes, label: str, encoding: str, complete: bool) -> str:
    try:
        return head.decode(encoding)
    except UnicodeDecodeError as exc:
        if not complete and exc.start >= len(head) - 4:
            return head[: exc.start].decode(encoding)  # a character cut by the sample's end
        raise _encoding_error(label, encoding, f"byte 0x{head[exc.start]:02x} at offset "
                                               f"{exc.start}") from exc  # fmt: skip
    except LookupError as exc:
        raise InvalidInput(f"Unknown encoding {encoding!r}; use utf-8 or latin-1.") from exc


def _encoding_error(label: str, encoding: str, where: str) -> InvalidInput:
    hint = (
        "Re-save it as UTF-8, or choose the encoding latin-1 (--encoding latin-1 on the "
        "command line, encoding='latin-1' in the SDK, the Encoding box on the page)."
        if encoding.lower().replace("_", "-") in ("utf-8", "utf8")
        else "Choose the file's real encoding."
    )
    return InvalidInput(f"{label} is not valid {encoding} text ({where}). {hint}")


def _sniff_delimiter(text: str) -> str:
    sample = "\n".join(text.splitlines()[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _header(text: str, delimiter: str, label: str) -> list[str]:
    try:
        header = next(csv.reader(io.StringIO(text), delimiter=delimiter), None)
    except csv.Error as exc:
        raise InvalidInput(f"{label}: the header row cannot be parsed ({exc}).") from exc
    if not header:
        raise InvalidInput(f"{label} has no header row; the first line must name the columns.")
    header = [h.strip() for h in header]
    _check_names(header, label)
    return header


def _check_names(names: list[str], label: str) -> None:
    blank = [i + 1 for i, n in enumerate(names) if not str(n).strip()]
    if blank:
        raise InvalidInput(f"{label}: column {blank[0]} has no name. Give every column a name "
                           "in the header row.")  # fmt: skip
    seen: dict[str, str] = {}
    dupes = []
    for n in names:
        key = n.lower()  # DuckDB, like SQL, treats names case-insensitively
        if key in seen:
            dupes.append(n if seen[key] == n else f"{seen[key]}/{n}")
        seen.setdefault(key, n)
    if dupes:
        raise InvalidInput(f"{label} has duplicate column names: {', '.join(dupes[:10])} "
                           "(names are compared ignoring case). Rename them so each is "
                           "unique.")  # fmt: skip


def _require_rows(scratch: Scratch, label: str) -> None:
    if scratch.count() == 0:
        raise InvalidInput(f"{label} has a header but no data rows; a dataset version needs "
                           "at least one row.")  # fmt: skip


def _csv_error(exc: duckdb.Error, path: Path, label: str, delimiter: str, encoding: str,
               n_header: int) -> InvalidInput:  # fmt: skip
    text = str(exc)
    if "Invalid unicode" in text or "not utf-8" in text.lower():
        line = text.split("Line:")[1].split("\n")[0].strip() if "Line:" in text else "?"
        return _encoding_error(label, encoding, f"around line {line}")
    ragged = _first_ragged_line(path, delimiter, encoding, n_header)
    if ragged is not None:
        line, found = ragged
        return InvalidInput(
            f"{label}: line {line} has {found} field{'' if found == 1 else 's'} but the header "
            f"has {n_header}. Fix that "
            "row (quote values that contain the delimiter) and try again."
        )
    return InvalidInput(f"{label} could not be read as CSV: {_first_line(exc)}")


def _first_ragged_line(path: Path, delimiter: str, encoding: str, n_header: int
                       ) -> tuple[int, int] | None:  # fmt: skip
    try:
        with path.open(newline="", encoding=encoding, errors="replace") as fh:
            reader = csv.reader(fh, delimiter=delimiter)
            for record in reader:
                if record and len(record) != n_header:
                    return reader.line_num, len(record)
    except csv.Error:
        return None
    return None
