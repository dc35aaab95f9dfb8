"""Dataset snapshots: reading user data into a scratch DuckDB, checking it, and writing the
immutable Parquet snapshot with its canonical fingerprint.

All heavy data work runs in a private in-memory DuckDB (:class:`Scratch`), never in the
workspace database, so registering a big file holds no lock that notebooks or training
workers wait on. Only the small metadata rows go through :class:`store.gateway.Store`.

The fingerprint names the *logical* content, independent of file format and DuckDB
version (Parquet bytes differ between DuckDB releases):

* row order does not count; column names, column order and type tags do. A column's type
  tag is its family (integer, float, boolean, string, date, timestamp, other), except that
  DECIMAL columns are tagged ``decimal`` (they are exact numbers, loaded back as
  ``decimal.Decimal``; a DOUBLE column with the same printed values is other content);
* each row becomes a canonical text: per column, integers in decimal, floats in the
  shortest round-trip form (``repr``; -0.0 as 0.0, ``nan``, ``inf``, ``-inf``), decimals
  exactly in plain notation without trailing fractional zeros (``12345678901234567.891``,
  ``1.5`` for 1.500, ``100`` for 100.000), booleans ``true``/``false``, dates
  ``YYYY-MM-DD``, timestamps ``YYYY-MM-DD HH:MM:SS[.f]`` (UTC) where ``f`` is the
  fraction of a second to nanoseconds with trailing zeros removed (so a timestamp on a
  whole microsecond prints as it always did, and two that differ by 1 ns differ),
  strings length-prefixed (``5:hello``), NULL as ``\\x1e``; fields joined by ``\\x1f``;
* the multiset of rows is summed: ``S_hi``, ``S_lo`` = sums modulo 2**64 of the upper and
  lower 64 bits of each row's md5;
* fingerprint = sha256 of ``wbfp1``, the schema, the row count, ``S_hi`` and ``S_lo``.

Only decimal columns (the ``decimal`` tag and exact text, where they were read through
DOUBLE before) and timestamps with a sub-microsecond part (rounded to microseconds before)
fingerprint differently from earlier releases; every other column prints as it did.

``tests/test_fingerprint.py`` recomputes it in pure Python from the same definition.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import mmap
import os
import re
import shutil
import stat
import tempfile
import unicodedata
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd

from workbench.store.errors import FULL_MARKERS, InvalidInput, storage_full
from workbench.store.text import DECODE_FIRST, check_storable, first_unstorable, unstorable_error

FINGERPRINT_VERSION = "wbfp1"
SRC = "src"  # the scratch table a source is loaded into
_MASK64 = (1 << 64) - 1
_SNIFF_BYTES = 1 << 16

FAMILIES = ("integer", "float", "boolean", "string", "date", "timestamp")
_INTEGER = {
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
}
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
    """One column of a loaded table: its ``name``, DuckDB type text (``dtype``, e.g.
    ``BIGINT``, ``DECIMAL(18,3)``) and type ``family`` (:data:`FAMILIES` or ``other``,
    from :func:`family_of`)."""

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

    def __init__(self, *, memory_limit_mb: int | None = None) -> None:
        """``memory_limit_mb``: cap DuckDB's buffers at that many megabytes (streaming
        aggregates over a file need little; DuckDB's default is 80 % of the machine's RAM).
        """
        # no progress bar: DuckDB would print one into a notebook or a terminal on a long
        # CSV read, around the workbench's own messages
        self.con = duckdb.connect(":memory:")
        self.con.execute("SET enable_progress_bar = false")
        if memory_limit_mb is not None:
            self.con.execute(f"SET memory_limit = '{int(memory_limit_mb)}MB'")
        # what loading noticed and the user should be told (registration shows each)
        self.notes: list[str] = []

    def __enter__(self) -> Scratch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.con.close()

    def sql(self, sql: str, params: list | None = None) -> duckdb.DuckDBPyConnection:
        """Run ``sql`` on the scratch database (``?`` placeholders bound to ``params``);
        the connection, for fetching. A DuckDB error is raised as InvalidInput with its
        first line (the data, not the workbench, is what it is about)."""
        try:
            return self.con.execute(sql, params or [])
        except duckdb.Error as exc:
            raise InvalidInput(_first_line(exc)) from exc

    def columns(self, table: str = SRC) -> tuple[Column, ...]:
        """The columns of ``table`` (the loaded source by default), in table order."""
        rows = self.con.execute(f"DESCRIBE {table}").fetchall()
        return tuple(Column(name, dtype, family_of(dtype)) for name, dtype, *_ in rows)

    def count(self, table: str = SRC) -> int:
        """How many rows ``table`` (the loaded source by default) has."""
        return int(self.con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


# -- loading sources -----------------------------------------------------------------------


# Types DuckDB's CSV sniffer may choose: its defaults without BOOLEAN, so that Yes/No, T/F
# stay text (as in pandas); a column becomes BOOLEAN below only when spelled as pandas does.
CSV_TYPE_CANDIDATES = (
    "BIGINT",
    "HUGEINT",
    "DOUBLE",
    "TIME",
    "DATE",
    "TIMESTAMP",
    "TIMESTAMPTZ",
    "VARCHAR",
)
CSV_TRUE, CSV_FALSE = ("True", "TRUE", "true"), ("False", "FALSE", "false")  # pandas' spellings
# Dates are read as dates only when written as ISO 8601 (2024-03-04, and timestamps from
# it): DuckDB's sniffer otherwise guesses day-first or month-first per file, so 01/02/2024
# was February 1 in one version and January 2 in the next. Other spellings stay text, as
# pandas' read_csv keeps every date unless asked.
# What a CSV writes for a missing value, read as NULL: pandas' read_csv defaults (R writes NA,
# databases NULL, Excel #N/A), except its NaN spellings (nan, NaN, -nan, 1.#QNAN ...), which
# here are the float NaN, told apart from a missing value (docs/types.md).
CSV_NULLS = ("", "NA", "N/A", "n/a", "#N/A", "#N/A N/A", "#NA", "<NA>", "NULL", "null", "None")
# A number as DuckDB's CAST to DOUBLE reads it, or a non-finite one (any case):
# inf, +inf, -inf, infinity, nan, -nan ...
_NUMBER_RE = r"(?i)\s*[+-]?((\d+\.?\d*|\.\d+)(e[+-]?\d+)?|inf|infinity|nan)\s*"


# The longest CSV line (one row, all its fields) read; DuckDB's own default is 2,000,000
# bytes, which refused a CSV with one 5 MB text field that pandas reads.
MAX_LINE_BYTES = 256 * 2**20


def _line_too_long(exc: duckdb.Error) -> int | None:
    """The length in bytes of the line DuckDB's CSV reader found too long, from its error
    ("Maximum line size of ... bytes exceeded. Actual Size:N bytes."), else None."""
    found = re.search(r"Maximum line size of \d+ bytes exceeded\. Actual Size:\s*(\d+)", str(exc))
    return int(found.group(1)) if found else None


RENAME_FILE = (
    "The file's name is not UTF-8: rename the file (e.g. with mv, or convmv -f latin1 -t "
    "utf-8 NAME) and give the new name."
)


def readable_file(path: Path) -> os.stat_result:
    """``path``'s stat when it is a file this process can read, else InvalidInput saying
    which of missing, a folder or unreadable it is, or that its name has bytes that are not
    UTF-8 (Python keeps them as lone surrogates, which DuckDB cannot take as a path and the
    workspace cannot store as the source's name)."""
    check_storable(str(path), f"The file name {str(path)!r}", fix=RENAME_FILE)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise InvalidInput(f"No such file: {path}. Check the path.") from None
    except OSError as exc:
        raise InvalidInput(f"Cannot read {path} ({exc.strerror}).") from None
    if stat.S_ISDIR(st.st_mode):
        raise InvalidInput(f"{path} is a folder; give the path of a .csv or .parquet file.")
    if not stat.S_ISREG(st.st_mode):  # /dev/zero never ends, a FIFO blocks until written
        what = (
            "a named pipe (FIFO)"
            if stat.S_ISFIFO(st.st_mode)
            else "a socket"
            if stat.S_ISSOCK(st.st_mode)
            else "a device"
        )
        raise InvalidInput(
            f"{path} is {what}, not a regular file: a table is read from a file "
            "on disk. Save the data to a .csv or .parquet file and give its "
            "path."
        )
    if not os.access(path, os.R_OK):
        raise InvalidInput(
            f"Cannot read {path} (permission denied); check its permissions (chmod u+r)."
        )
    return st


def load_csv(
    scratch: Scratch,
    path: Path,
    *,
    label: str,
    encoding: str = "utf-8",
    tmp_dir: Path | None = None,
) -> None:
    """Load a CSV file with a header row into the scratch table, or raise InvalidInput.

    The encoding is decided once (:func:`text_encoding`: a byte-order mark wins, else
    ``encoding``); a file that is not UTF-8 is decoded by Python into a UTF-8 copy in
    ``tmp_dir`` (the system's temporary folder by default), so the header check and
    DuckDB's reader see the same text. Types are DuckDB's sniffed types, except: text stays
    text (``Yes``/``No``, ``T``/``F``, ``y``/``n`` are not booleans) and a column becomes
    BOOLEAN only when every value is one of pandas' spellings (True/TRUE/true,
    False/FALSE/false); a column of numbers with ``inf``/``-inf``/``nan``/``Infinity``
    anywhere (even first) is DOUBLE with those values; integers beyond 64 bits are text
    (as in pandas; Parquet cannot hold them); a timestamp column whose text has more than
    6 fractional digits is read at nanoseconds (:func:`_nanosecond_timestamps`). Numbers
    with more significant digits than a float64 holds stay DOUBLE, with a note in
    ``scratch.notes`` (:func:`_note_long_floats`).

    Refuses, each with its own message: a missing, folder or unreadable path, an empty
    file, a binary file, text that is not in the encoding, a header with blank or duplicate
    names, ragged rows, no data rows.
    """
    size = readable_file(path).st_size
    if size == 0:
        raise InvalidInput(
            f"{label} is empty (0 bytes). Export the data again with a header row and at "
            "least one data row."
        )
    head = _read_head(path)
    enc = text_encoding(head, encoding, label)
    if enc.native:
        _load_utf8_csv(scratch, path, head, size, label, enc)
        return
    if tmp_dir is not None:
        tmp_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=tmp_dir, prefix="csv-utf8-") as tmp:
        utf8 = Path(tmp) / "data.csv"
        _transcode(path, utf8, enc, label)
        head = _read_head(utf8)
        _load_utf8_csv(scratch, utf8, head, utf8.stat().st_size, label, enc)


def _shorten(text: str, keep: int = 40) -> str:
    """``text`` for a message: whole up to ``keep`` characters, else its start and end
    around an ellipsis, with its length (a 5,000-digit number was echoed whole)."""
    if len(text) <= keep:
        return text
    return f"{text[: keep - 12]}…{text[-8:]} ({len(text):,} characters)"


def _read_head(path: Path) -> bytes:
    """The first ``_SNIFF_BYTES`` of a file, read on to the end of its first line when that
    is longer (a header of thousands of columns: cut at 64 KiB, its last name was cut too,
    and a valid file was refused as having duplicate names), up to ``MAX_LINE_BYTES``. It
    stops at a run of eight NUL bytes, which no text holds (UTF-16 and UTF-32 text have at
    most three in a row): a binary file is refused on its first bytes, not read whole (a
    300 MB file of zeros was read for 84 s, its head copied at each step, to 716 MB)."""
    with path.open("rb") as fh:
        head = bytearray(fh.read(_SNIFF_BYTES))
        while b"\n" not in head and b"\x00" * 8 not in head and len(head) < MAX_LINE_BYTES:
            more = fh.read(4 * _SNIFF_BYTES)
            if not more:
                break
            head += more
    return bytes(head)


@dataclass(frozen=True)
class TextEncoding:
    """How a CSV file's bytes become text: one decision for the header check and the reader.

    ``codec`` is the Python codec for the whole file (``utf-8-sig`` strips a UTF-8 BOM,
    ``utf-16``/``utf-32`` read the BOM's byte order); ``native`` means DuckDB reads the
    file itself as UTF-8; otherwise Python decodes it into a UTF-8 copy first."""

    codec: str
    name: str
    native: bool


_C1 = re.compile("[\x80-\x9f]")
_UTF8_SEQ = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
_ONE_BYTE = {"cp1252", "iso8859-1", "iso8859-15", "cp1250", "cp1251", "cp1257", "mac-roman"}
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig", "UTF-8 (with a byte-order mark)"),
    (codecs.BOM_UTF32_LE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"),
)


def text_encoding(head: bytes, requested: str, label: str) -> TextEncoding:
    """The encoding to read a CSV in, from its first bytes and the one asked for.

    A byte-order mark decides (UTF-8, UTF-16 or UTF-32, either byte order), whatever was
    asked: it cannot be mistaken. Otherwise ``requested`` (any Python text codec; utf-8
    is read by DuckDB directly). Raises InvalidInput for an unknown encoding, for a codec
    that is not for a file's text (rot13, base64; idna, punycode and others that cannot
    decode a plain CSV line, or cannot mark a bad byte: :func:`_reads_text`), and for NUL
    bytes in an 8-bit encoding (a binary file, or UTF-16 without a byte-order mark)."""
    for bom, codec, name in _BOMS:
        if head.startswith(bom):
            return TextEncoding(codec, name, native=codec == "utf-8-sig")
    try:
        info = codecs.lookup(str(requested))
    except (LookupError, ValueError) as exc:  # ValueError: a NUL or a lone surrogate in it
        raise InvalidInput(
            f"Unknown encoding {_shorten(repr(requested))}; use utf-8, latin-1 or another "
            "text encoding Python knows (e.g. cp1252, utf-16)."
        ) from exc
    if not getattr(info, "_is_text_encoding", True):
        raise InvalidInput(f"{requested!r} is not a text encoding; use utf-8 or latin-1.")
    wide = info.name.startswith(("utf-16", "utf-32"))
    failure = None if wide else _reads_text(info.name)  # wide: the byte order, said below
    if failure is not None:
        raise InvalidInput(
            f"{requested!r} is not an encoding for a file's text ({failure}); use utf-8 or "
            "latin-1, or the encoding the file was written in (e.g. cp1252, shift_jis)."
        )
    if b"\x00" in head and not wide:
        even, odd = head[0::2].count(0), head[1::2].count(0)  # NULs on one side: UTF-16
        if len(head) >= 2 and max(even, odd) > len(head) // 4 and min(even, odd) == 0:
            raise InvalidInput(
                f"{label} looks like UTF-16 text without a byte-order mark. Choose the "
                "encoding utf-16-le (or utf-16-be), or re-save it as UTF-8."
            )
        raise InvalidInput(
            f"{label} looks like a binary file, not CSV text (it contains NUL bytes). "
            "Upload a CSV text file or a Parquet file (.parquet)."
        )
    return TextEncoding(info.name, str(requested), native=info.name == "utf-8")


_PLAIN_CSV = b"name,value\r\n1,a b\n"
# a Windows path and escapes as a CSV holds them: text, one character for each byte
_BACKSLASHES = b"C:\\x41\\u0042\\t\n"


def _reads_text(codec: str) -> str | None:
    """None when ``codec`` decodes a plain CSV line both strictly (as files are read) and
    with ``errors="replace"`` (as a bad byte's line is found), and reads backslashes as
    characters; else why not. Text codecs that are not for files fail here: idna decodes
    only strictly, punycode reads ',' as a digit, ``undefined`` decodes nothing, and
    unicode_escape and raw_unicode_escape read escape sequences in the data ("\\x41" as
    "A"), silently changing values and field counts."""
    try:
        for errors in ("strict", "replace"):
            codecs.getincrementaldecoder(codec)(errors).decode(_PLAIN_CSV, final=True)
        read = codecs.getincrementaldecoder(codec)("strict").decode(_BACKSLASHES, final=True)
    except (UnicodeError, LookupError, ValueError, TypeError) as exc:
        failure = _shorten(_first_line(exc) or type(exc).__name__, 80)
        return f"reading the plain CSV line 'name,value' with it fails: {failure}"
    if len(read) != len(_BACKSLASHES):  # an ASCII byte is one character in a file's text
        written = _BACKSLASHES.decode("ascii")
        return f"it reads backslash escapes in the data: the text {written!r} as {read!r}"
    return None


def _transcode(source: Path, target: Path, enc: TextEncoding, label: str) -> None:
    """Decode ``source`` with ``enc`` into UTF-8 at ``target`` (streamed), or InvalidInput
    naming the line of the first byte that is not valid in the encoding."""
    decoder = codecs.getincrementaldecoder(enc.codec)("strict")
    # latin-1 maps bytes 0x80-0x9F to C1 control characters, which no real text holds: a
    # file with them is Windows-1252 (its quotes, dashes, euro sign), refused as latin-1
    c1 = codecs.lookup(enc.codec).name == "iso8859-1"
    # a one-byte encoding reads UTF-8's multi-byte characters as two or three letters
    # ("café" as "cafÃ©"): such sequences, rare in real cp1252 or latin-1 text, are refused
    narrow = codecs.lookup(enc.codec).name in _ONE_BYTE
    lines = 0
    with source.open("rb") as src, target.open("w", encoding="utf-8", newline="") as out:
        while True:
            chunk = src.read(1 << 20)
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                try:
                    before = chunk[: max(exc.start, 0)].decode(enc.codec, errors="replace")
                except (UnicodeError, LookupError, ValueError):  # a codec without "replace"
                    before = chunk[: max(exc.start, 0)].decode("latin-1")
                raise _encoding_error(
                    label,
                    enc.name,
                    f"around line {lines + before.count(chr(10)) + 1}",
                    chunk,
                    complete=len(chunk) < 1 << 20,
                    mid_file=src.tell() > len(chunk),
                ) from exc
            except UnicodeError as exc:
                if not codecs.lookup(enc.codec).name.startswith(("utf-16", "utf-32")):
                    raise InvalidInput(
                        f"{label} cannot be read as {enc.name} ({_shorten(_first_line(exc), 80)})"
                        "; choose the encoding the file was written in (e.g. utf-8, cp1252)."
                    ) from exc
                # utf-16/utf-32 without a byte-order mark
                raise InvalidInput(
                    f"{label} is not {enc.name} text: {exc}. A file without a byte-order mark "
                    f"needs the encoding with its byte order: {enc.name}-le (Windows' "
                    f"'Unicode'), or {enc.name}-be; a UTF-8 file needs no --encoding."
                ) from exc
            except (LookupError, ValueError, TypeError) as exc:
                raise InvalidInput(
                    f"{label} cannot be read as {enc.name} ({_shorten(_first_line(exc), 80)}); "
                    "choose the encoding the file was written in (e.g. utf-8, cp1252)."
                ) from exc
            if narrow and (seq := _UTF8_SEQ.search(chunk)):
                line = lines + chunk.count(b"\n", 0, seq.start()) + 1
                word = seq.group().decode("utf-8")
                raise InvalidInput(
                    f"{label} holds UTF-8 text (line {line}: {word!r}), which {enc.name} "
                    f"would read as {seq.group().decode(enc.codec)!r} without a word. Register "
                    "it as UTF-8; if only some lines are in another encoding, fix those lines "
                    "first (re-save them as UTF-8)."
                )
            if c1 and (hit := _C1.search(text)):
                line = lines + text.count("\n", 0, hit.start()) + 1
                raise InvalidInput(
                    f"{label} read as {enc.name} holds the control character "
                    f"U+{ord(hit.group()):04X} (line {line}): in a file from Windows that "
                    "byte is a curly quote, a dash or the euro sign of cp1252 (Windows-1252), "
                    "which latin-1 would store as an invisible control character. Choose the "
                    "encoding cp1252 (--encoding cp1252, encoding='cp1252' in the SDK)."
                )
            try:
                out.write(text)
            except UnicodeEncodeError as exc:  # unicode_escape reads "\ud800" as a surrogate
                at = first_unstorable(text) or 0
                line = lines + text.count("\n", 0, at) + 1
                where = f"{label} read as {enc.name} (line {line})"
                raise unstorable_error(text, where, at) from exc
            lines += text.count("\n")
            if not chunk:
                break


def _load_utf8_csv(
    scratch: Scratch, path: Path, head: bytes, size: int, label: str, enc: TextEncoding
) -> None:
    if b"\x00" in head:
        raise InvalidInput(
            f"{label} looks like a binary file, not CSV text (it contains NUL bytes). "
            "Upload a CSV text file or a Parquet file (.parquet)."
        )
    text = _decode_head(head, label, enc.name, complete=len(head) >= size)
    delimiter = _sniff_delimiter(text)
    header = _header(text, delimiter, label)
    candidates = ", ".join(f"'{t}'" for t in CSV_TYPE_CANDIDATES)
    options = (
        f"header = true, delim = '{delimiter}', quote = '\"', escape = '\"', skip = 0, "
        f"strict_mode = true, null_padding = false, encoding = 'utf-8', "
        f"nullstr = [{', '.join(repr(v) for v in CSV_NULLS)}], dateformat = '%Y-%m-%d', "
        f"auto_type_candidates = [{candidates}]"
    )
    while True:
        sql = f"CREATE OR REPLACE TABLE {SRC} AS SELECT * FROM read_csv(?, {options}"
        try:
            try:
                scratch.con.execute(sql + ")", [str(path)])
            except duckdb.ConversionException:
                # The type sniffer saw only a sample; read again with every row sampled.
                scratch.con.execute(sql + ", sample_size = -1)", [str(path)])
            break
        except duckdb.Error as exc:
            longest = _line_too_long(exc)
            if longest is None or "max_line_size" in options:
                raise _csv_error(exc, path, label, delimiter, enc.name, len(header)) from exc
            if longest > MAX_LINE_BYTES:
                raise InvalidInput(
                    f"{label} has a line of {longest:,} bytes; the workbench reads CSV lines "
                    f"(a row with all its fields) up to {MAX_LINE_BYTES // 2**20} MiB. Save the "
                    "table as Parquet (one field may then be as long as you like) and "
                    "register that."
                ) from None
            # pandas reads a line of any length; DuckDB stops at 2,000,000 bytes by default.
            # Only files with such a line pay for the second read.
            options += f", max_line_size = {2 * longest}"
    got = [c.name for c in scratch.columns()]
    read_as_expected = got == [h.strip() for h in header]  # DuckDB strips header names
    if not read_as_expected and text.lstrip().startswith("#"):
        first = text.lstrip().splitlines()[0]
        raise InvalidInput(
            f"{label} starts with a comment line ({first[:60]!r}), not the header row: the "
            "first line must name the columns. Remove the comment lines above the header "
            "and register it again."
        )
    if not read_as_expected:
        raise InvalidInput(
            f"{label}: the header {header[:10]} was read as {got[:10]}; check the delimiter "
            f"(detected {delimiter!r}) and quoting."
        )
    _require_rows(scratch, label)
    _nanosecond_timestamps(scratch, path, options, label)
    records = _records(text, delimiter, complete=len(head) >= size)
    _radix_text(scratch, path, options, records[1:], label)
    _settle_csv_types(scratch, records[1:])
    _quoted_text(scratch, path, options, text, delimiter, label)
    _note_long_floats(scratch, records[1:], label)
    _names_as_written(scratch, header)


def _quoted_text(
    scratch: Scratch, path: Path, options: str, head: str, delimiter: str, label: str
) -> None:
    """Keep a quoted value in a text column as the text it is: ``""`` is the empty string
    and ``"NA"`` the two letters, while an unquoted empty field (or ``NA``) is missing.
    This is PostgreSQL's ``COPY ... CSV`` rule, and how the workbench's own CSV export
    writes text, so an exported version registers again as the same content (DuckDB's
    reader, like pandas, makes both missing). Two exceptions keep the reading pandas
    gives: a column that is numeric, boolean or a date when quoted empties count as
    missing keeps that type, and in a file whose header quotes every name (as writers
    that quote by type do: ``csv.QUOTE_ALL`` and ``QUOTE_NONNUMERIC`` write a missing
    value as ``""``, having no other way) ``""`` stays missing (:func:`_quotes_by_type`).
    ``head`` is the file's first 64 KiB as text. Each column where the rule kept a value
    pandas would read as missing gets a note (``scratch.notes``). Only a file with a
    quote character and a text column holding missing values pays for a second read of
    those columns."""
    columns = scratch.columns()
    text = [c for c in columns if c.dtype.upper() == "VARCHAR"]
    if not text:
        return
    missing = scratch.sql(
        f"SELECT {', '.join(f'count(*) - count({ident(c.name)})' for c in text)} FROM {SRC}"
    ).fetchone()
    holed = [c for c, n in zip(text, missing, strict=True) if n]
    if not holed or not _contains(path, b'"') or _quotes_by_type(head, delimiter):
        return
    names = ", ".join(ident(c.name) for c in holed)
    scratch.con.execute(
        f"CREATE OR REPLACE TEMP TABLE quoted AS SELECT {names} FROM read_csv(?, {options}, "
        "all_varchar = true, allow_quoted_nulls = false)",
        [str(path)],
    )
    kept = scratch.sql(
        "SELECT "
        + ", ".join(f"count(quoted.{ident(c.name)}) - count({SRC}.{ident(c.name)})" for c in holed)
        + f" FROM {SRC} POSITIONAL JOIN quoted"
    ).fetchone()
    changed = [(c, n) for c, n in zip(holed, kept, strict=True) if n]
    if changed:
        keep = ", ".join(
            f"quoted.{ident(c.name)}" if c in holed else f"{SRC}.{ident(c.name)}" for c in columns
        )
        scratch.sql(
            f"CREATE OR REPLACE TABLE {SRC} AS SELECT {keep} FROM {SRC} POSITIONAL JOIN quoted"
        )
    scratch.sql("DROP TABLE quoted")
    for c, n in changed:
        scratch.notes.append(
            f'{label}: column {c.name!r} has {n:,} quoted value(s) such as "" or "NA" that '
            "pandas would read as missing; they are kept as the text written (a quoted value "
            "is text; an unquoted empty field is missing, as in PostgreSQL's CSV format). Leave "
            "the field empty, unquoted, where a value is missing."
        )


def _quotes_by_type(head: str, delimiter: str) -> bool:
    """Whether the CSV's header row quotes every name, including a plain one that needs
    no quotes: how writers that quote by type or always (Python's and pandas'
    ``csv.QUOTE_ALL`` and ``QUOTE_NONNUMERIC``, R's ``write.csv``) write a header; they
    write a missing text value as ``""``, so there ``""`` is missing. ``head`` is the
    file's first lines. The workbench's own export quotes names only where needed."""
    header = next(iter(head.splitlines()), "")
    fields = _records(header + "\n", delimiter, complete=True)
    if not fields or not fields[0]:
        return False
    names = fields[0]
    rest = re.sub(r'"(?:[^"]|"")*"', "", header)
    quoted_all = not rest.replace(delimiter, "").strip()
    plain = any(n and not any(ch in n for ch in (delimiter, '"', "\n", "\r")) for n in names)
    return quoted_all and plain


def _contains(path: Path, needle: bytes) -> bool:
    """Whether the file at ``path`` holds ``needle`` (memory-mapped, no full read)."""
    with path.open("rb") as f:
        if not os.fstat(f.fileno()).st_size:
            return False
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            return m.find(needle) >= 0


def _names_as_written(scratch: Scratch, header: list[str]) -> None:
    """DuckDB's CSV reader strips the spaces around header names (`a, b` reads as `b`);
    pandas keeps them (`' b'`), and so does the workbench, for a DataFrame and a Parquet
    file too: what is registered is what comes back. Renames the scratch table's columns
    to the header as written; the last step, after every re-read of the file."""
    for column, written in zip(scratch.columns(), header, strict=True):
        if column.name != written:
            scratch.con.execute(
                f"ALTER TABLE {SRC} RENAME COLUMN {ident(column.name)} TO {ident(written)}"
            )


_NS_TYPES = {"TIMESTAMP": "TIMESTAMP_NS", "TIMESTAMP WITH TIME ZONE": "TIMESTAMPTZ_NS"}


FLOAT64_DIGITS = 17  # a float64's shortest round-trip text never needs more digits
_FINER_THAN_US = r"':\d\d\.\d{7}'"  # a time with more than 6 fractional digits


def significant_digits(text: str) -> int:
    """The significant digits of a number's text: no sign, exponent, point, leading or
    trailing zeros (``"0.00120"`` has 2; ``"12345678901234567.891"`` has 20)."""
    mantissa = re.split("[eE]", text.strip(), maxsplit=1)[0]
    return len("".join(ch for ch in mantissa if ch.isdigit()).strip("0"))


def _nanosecond_timestamps(scratch: Scratch, path: Path, options: str, label: str) -> None:
    """Read again, at nanoseconds, the timestamp columns whose text has more than 6
    fractional digits (DuckDB's sniffer reads every timestamp at microseconds, so two files
    1 ns apart would be the same content); the others stay microsecond TIMESTAMPs, as
    before. Only files with a timestamp column pay for the extra read (of those columns, as
    text). Outside the nanosecond range (years 1677 to 2262) a column keeps microseconds,
    with a note (``scratch.notes``; registration shows it)."""
    columns = scratch.columns()
    stamps = [c for c in columns if c.dtype.upper() in _NS_TYPES]
    if not stamps:
        return
    as_text = {c.name: "VARCHAR" if c in stamps else c.dtype for c in columns}
    probes = []
    for c in stamps:
        q, ns = ident(c.name), _NS_TYPES[c.dtype.upper()]
        finer = f"regexp_matches({q}, {_FINER_THAN_US})"
        probes += [
            f"count(*) FILTER (WHERE {finer})",
            f"count(*) FILTER (WHERE {finer} AND try_cast({q} AS {ns}) IS NULL)",
        ]
    try:
        found = scratch.con.execute(
            f"SELECT {', '.join(probes)} FROM read_csv(?, {options}, types = ?)",
            [str(path), as_text],
        ).fetchone()
    except duckdb.Error:  # it was read once already; keep that reading
        return
    finer: set[str] = set()
    for i, c in enumerate(stamps):
        n_fine, n_out = found[2 * i], found[2 * i + 1]
        if n_fine and not n_out:
            finer.add(c.name)
        elif n_fine:
            scratch.notes.append(
                f"{label}: column {c.name!r} has timestamps with more than 6 fractional digits "
                "outside the years 1677-2262 that nanoseconds can hold; they are kept at "
                "microseconds (the digits after the sixth are dropped). Keep the column as "
                "text if every digit matters."
            )
    if not finer:
        return
    types = {c.name: _NS_TYPES[c.dtype.upper()] if c.name in finer else c.dtype for c in columns}
    scratch.con.execute(
        f"CREATE OR REPLACE TABLE {SRC} AS SELECT * FROM read_csv(?, {options}, types = ?)",
        [str(path), types],
    )


_RADIX_RE = re.compile(r"\s*[+-]?0[xXbBoO]")  # 0xA1, 0b101, 0o17: DuckDB's integers
_LEADING_ZERO_RE = re.compile(r"\s*[+-]?0\d")  # 00123, -007, 007.5: codes, not amounts
_NUMBER_TEXT_RE = re.compile(r"\s*[+-]?\d+(\.\d*)?\s*")


def _radix_text(
    scratch: Scratch, path: Path, options: str, sample: list[list[str]], label: str
) -> None:
    """Read again as text the number columns whose sampled values are written in hex,
    binary or octal (``0xA1``, ``0b101``: DuckDB reads them as the integers 161 and 5,
    pandas keeps the text, and so do we) or with leading zeros (``00123``, ``-007``: zip
    codes, account numbers, product codes, whose zeros a number would drop; DuckDB's
    sniffer already keeps ``00123`` as text, but not ``-007``). Each column kept as text
    for its leading zeros gets a note, as pandas would read numbers there. Decided on the
    file's first 64 KiB, as the type sniffer decides; only a file with such a value among
    its sampled rows pays for the second read."""
    columns = scratch.columns()
    numbers = {i for i, c in enumerate(columns) if c.family in ("integer", "float")}
    texts = {i for i, c in enumerate(columns) if c.dtype.upper() == "VARCHAR"}
    hits: set[int] = set()
    zeros: dict[int, str] = {}
    numeric_text = set(texts)
    for record in sample:
        for i, v in enumerate(record[: len(columns)]):
            if i in numbers and (_RADIX_RE.match(v) or _LEADING_ZERO_RE.match(v)):
                hits.add(i)
            if _LEADING_ZERO_RE.match(v) and _NUMBER_TEXT_RE.fullmatch(v):
                zeros.setdefault(i, v)
            if i in numeric_text and v and not _NUMBER_TEXT_RE.fullmatch(v):
                numeric_text.discard(i)
    for i, example in sorted(zeros.items()):
        if i in hits or i in numeric_text:
            scratch.notes.append(
                f"{label}: column {columns[i].name!r} has numbers written with leading zeros "
                f"(e.g. {_shorten(example.strip())}); it is kept as text, as written, so the "
                "zeros of a code or identifier are not lost (pandas would read numbers). If "
                "they are amounts, convert after loading: pd.to_numeric(df[column])."
            )
    if not hits:
        return
    types = {c.name: "VARCHAR" if i in hits else c.dtype for i, c in enumerate(columns)}
    scratch.con.execute(
        f"CREATE OR REPLACE TABLE {SRC} AS SELECT * FROM read_csv(?, {options}, types = ?)",
        [str(path), types],
    )


def _note_long_floats(scratch: Scratch, sample: list[list[str]], label: str) -> None:
    """A note for each DOUBLE column whose sampled text has a number of more than 17
    significant digits. The column stays DOUBLE (as pandas reads it), but such numbers are
    rounded to the nearest float64, so files that differ only past the 17th digit are the
    same content. ``sample`` is the records of the file's first 64 KiB (the same the type
    checks look at): a full scan would cost a second read of every float column."""
    for i, c in enumerate(scratch.columns()):
        if c.dtype.upper() != "DOUBLE":
            continue
        example = next(
            (
                r[i].strip()
                for r in sample
                if i < len(r)
                and len(r[i]) > FLOAT64_DIGITS
                and significant_digits(r[i]) > FLOAT64_DIGITS
            ),
            None,
        )
        if example is not None:
            scratch.notes.append(
                f"{label}: column {c.name!r} has numbers with more significant digits than a "
                f"float64 holds ({FLOAT64_DIGITS}), e.g. {_shorten(example)}; they are stored "
                "as the nearest float64, as pandas reads them, so files that differ only past the "
                f"{FLOAT64_DIGITS}th digit are the same content. To keep every digit, register "
                "a Parquet file with a decimal(38, s) column, or a DataFrame of decimal.Decimal."
            )


def _settle_csv_types(scratch: Scratch, sample: list[list[str]]) -> None:
    """Retype sniffed CSV columns as pandas' read_csv would (see :func:`load_csv`).

    ``sample`` holds the first data records as parsed from the header check's text: a text
    column with a sampled value that is neither a boolean spelling nor a number Python
    can parse stays text without a scan (most do). The rest, and date and 128-bit integer
    columns, are checked exactly in one scan of the table."""
    columns = scratch.columns()
    truth = ", ".join(f"'{v}'" for v in CSV_TRUE + CSV_FALSE)
    maybe = [True] * len(columns)
    for record in sample:
        for i, value in enumerate(record[: len(columns)]):
            if (
                maybe[i]
                and value
                and value not in CSV_TRUE + CSV_FALSE + CSV_NULLS
                and not _parses(value)
            ):
                maybe[i] = False
    texts = [c for c, m in zip(columns, maybe, strict=True) if m and c.dtype.upper() == "VARCHAR"]
    exprs: list[str] = []
    probes: list[tuple[Column, str]] = []
    for c in columns:
        q, dtype = ident(c.name), c.dtype.upper()
        if c in texts:
            probes.append((c, "text"))
            exprs += [
                f"count({q})",
                f"count({q}) FILTER (WHERE {q} IN ({truth}))",
                f"count({q}) FILTER (WHERE regexp_full_match({q}, '{_NUMBER_RE}'))",
                f"count({q}) FILTER (WHERE regexp_matches({q}, '^\\s*[+-]?0\\d'))",
                f"count({q}) FILTER (WHERE regexp_full_match({q}, '\\s*[+-]?\\d+\\s*'))",
                f"count({q}) FILTER (WHERE regexp_full_match({q}, '\\s*[+-]?\\d+\\s*') "
                f"AND try_cast(trim({q}) AS BIGINT) IS NOT NULL)",
            ]
        elif dtype in ("DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE"):
            probes.append((c, "date"))  # DuckDB reads a lone 'inf' as the date infinity
            exprs += [f"count({q})", f"count({q}) FILTER (WHERE isinf({q}))"]
        elif dtype in ("HUGEINT", "UHUGEINT"):
            probes.append((c, "huge"))
            exprs += [
                f"min({q}) >= {_INT64[0]} AND max({q}) <= {_INT64[1]}",
                f"min({q}) >= 0 AND max({q}) <= {_UINT64[1]}",
            ]
    if not probes:
        return
    row = list(scratch.sql(f"SELECT {', '.join(exprs)} FROM {SRC}").fetchone())
    select, changed = {}, False
    for c, kind in probes:
        q = ident(c.name)
        if kind == "text":
            n, n_bool, n_number, n_zeros, n_whole, n_int = (int(v) for v in row[:6])
            del row[:6]
            if n and n_bool == n:
                true = ", ".join(f"'{v}'" for v in CSV_TRUE)
                select[c.name] = f"({q} IN ({true})) AS {q}"
            elif n and n_number == n and not n_zeros and (n_whole < n or n_int == n):
                # numbers DuckDB's sniffer left as text: inf/nan, or a plus sign (+5); pandas
                # reads them as numbers. Leading zeros (00123) stay text (_radix_text), and
                # so do integers beyond 64 bits (as pandas keeps them: objects, not floats).
                target = "BIGINT" if n_whole == n else "DOUBLE"
                select[c.name] = f"CAST(trim({q}) AS {target}) AS {q}"
        elif kind == "date":
            n, n_inf = (int(v) for v in row[:2])
            del row[:2]
            if n and n_inf == n:
                select[c.name] = (
                    f"CASE WHEN {q} IS NULL THEN NULL WHEN {q} > DATE '1970-01-01' "
                    f"THEN 'inf'::DOUBLE ELSE '-inf'::DOUBLE END AS {q}"
                )
        else:
            fits_signed, fits_unsigned = row[:2]
            del row[:2]
            target = "BIGINT" if fits_signed else "UBIGINT" if fits_unsigned else "VARCHAR"
            select[c.name] = f"CAST({q} AS {target}) AS {q}"
    changed = bool(select)
    if changed:
        parts = [select.get(c.name, ident(c.name)) for c in columns]
        scratch.sql(f"CREATE OR REPLACE TABLE {SRC} AS SELECT {', '.join(parts)} FROM {SRC}")


def _parses(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def load_parquet(scratch: Scratch, path: Path, *, label: str, materialize: bool = True) -> None:
    """Load a Parquet file into the scratch table, or raise InvalidInput. With
    ``materialize=False`` the table is a view over the file: each scan reads the file
    again (Parquet reads are fast) and memory stays small."""
    if readable_file(path).st_size == 0:
        raise InvalidInput(
            f"{label} is empty (0 bytes); it is not a Parquet file. "
            "Write the file again, or upload a CSV."
        )
    _refuse_wide_parquet_decimals(path, label)
    select = "*" + _durations_as_intervals(path)
    try:
        if materialize:
            scratch.con.execute(
                f"CREATE OR REPLACE TABLE {SRC} AS SELECT {select} FROM read_parquet(?)",
                [str(path)],
            )
        else:
            scratch.con.execute(
                f"CREATE OR REPLACE VIEW {SRC} AS SELECT {select} FROM "
                f"read_parquet('{literal(str(path))}')"
            )
    except duckdb.Error as exc:
        raise InvalidInput(
            f"{label} could not be read as Parquet ({_first_line(exc)}). Check that it is a "
            "complete Parquet file, or upload a CSV."
        ) from exc
    _check_names([c.name for c in scratch.columns()], label)
    _require_rows(scratch, label)


_TO_INTERVAL = {
    "s": "to_seconds({})",
    "ms": "to_milliseconds({})",
    "us": "to_microseconds({})",
    "ns": "to_microseconds({} // 1000)",
}


MAX_DECIMAL_PRECISION = 38  # DuckDB's DECIMAL holds at most 38 digits


def _wide_decimal_error(label: str, col: str, precision: int, scale: int, how: str) -> InvalidInput:
    return InvalidInput(
        f"{label}: column {col!r} holds decimals of precision {precision} (scale {scale}); "
        f"decimals are stored exactly up to {MAX_DECIMAL_PRECISION} digits only, and beyond "
        f"that they would be rounded to floats and lose digits. {how}"
    )


def _refuse_wide_parquet_decimals(path: Path, label: str) -> None:
    """InvalidInput for the first Parquet decimal column of precision above 38, which
    DuckDB would read as DOUBLE (two files differing past the 17th digit would be "the same
    content"). Nothing when the schema cannot be read: loading says why."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except (OSError, pa.ArrowException):
        return
    for f in schema:
        if pa.types.is_decimal(f.type) and f.type.precision > MAX_DECIMAL_PRECISION:
            raise _wide_decimal_error(
                label,
                f.name,
                f.type.precision,
                f.type.scale,
                f"Write the file again with {f.name!r} cast to decimal(38, s) for a scale s "
                "its values fit in, or to text to keep every digit (pyarrow: "
                "pc.cast(column, pa.string())).",
            )


def _durations_as_intervals(path: Path) -> str:
    """A ``REPLACE (...)`` clause that reads Arrow duration columns as INTERVAL, as a
    DataFrame's timedelta64 column is read: Parquet stores a duration as a bare INT64 (the
    unit is only in the Arrow schema), which DuckDB would read as BIGINT and lose the unit.
    INTERVAL holds microseconds: nanoseconds are truncated toward zero, as for a
    DataFrame. Empty when there is none (or the schema cannot be read: loading says why)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except (OSError, pa.ArrowException):
        return ""
    parts = [
        f"{_TO_INTERVAL[f.type.unit].format(ident(f.name))} AS {ident(f.name)}"
        for f in schema
        if pa.types.is_duration(f.type)
    ]
    return f" REPLACE ({', '.join(parts)})" if parts else ""


def load_frame(scratch: Scratch, frame: pd.DataFrame, *, label: str) -> None:
    """Load a pandas DataFrame into the scratch table, or raise InvalidInput.

    An index that carries data becomes leading column(s), as ``frame.reset_index()`` names
    them (its name, else ``index``; ``level_0``... for unnamed levels of a MultiIndex); only
    the default row numbers 0..n-1 (a RangeIndex, or the same integers) are dropped. NaN in
    a float column is missing (NULL), as pandas and pyarrow treat it; +-inf stay. Time
    zone-aware columns become UTC wall-clock time at their own resolution (nanoseconds
    kept)."""
    if not isinstance(frame, pd.DataFrame):
        raise InvalidInput(f"{label} must be a pandas DataFrame; got {type(frame).__name__}.")
    if isinstance(frame.columns, pd.MultiIndex):
        raise InvalidInput(
            f"{label} has multi-level column names; flatten them first, e.g. "
            "df.columns = ['_'.join(map(str, c)) for c in df.columns]."
        )
    bad = [c for c in frame.columns if not isinstance(c, str)]
    if bad:
        raise InvalidInput(
            f"{label} has column names that are not strings: {bad[:5]}. "
            "Rename them, e.g. df.columns = df.columns.astype(str)."
        )
    if len(frame.columns) == 0:
        raise InvalidInput(f"{label} has no columns; a dataset version needs at least one.")
    _check_names(list(frame.columns), label, where="column names (df.columns)")
    frame = _index_as_columns(frame, label)
    _refuse_unsupported_dtypes(frame, label)
    frame = _utc_naive(frame)
    frame = _exact_decimals(frame, label)
    frame = _object_integers(frame)
    try:
        scratch.con.register("incoming_frame", frame)
        scratch.con.execute(f"CREATE OR REPLACE TABLE {SRC} AS SELECT * FROM incoming_frame")
    except (duckdb.Error, ValueError, TypeError) as exc:
        if "surrogate" in str(exc):  # a text cell UTF-8 cannot encode: name it
            raise _unstorable_cell(frame, label) or InvalidInput(
                f"{label} holds text that is not valid Unicode ({_first_line(exc)}). "
                + DECODE_FIRST
            ) from exc
        raise InvalidInput(
            f"{label} could not be converted ({_first_line(exc)}). Give each column one type, "
            "e.g. df[col] = df[col].astype(str) for mixed text and numbers."
        ) from exc
    finally:
        scratch.con.unregister("incoming_frame")
    _require_rows(scratch, label)
    _note_frame_changes(scratch, frame, label)


def _unstorable_cell(frame: pd.DataFrame, label: str) -> InvalidInput | None:
    """The InvalidInput naming the first text cell (or category) of ``frame`` that holds a
    lone surrogate, found by a scan of its object columns: run only after DuckDB refused
    the frame for one, so a valid frame pays nothing."""
    for col in frame.columns:
        series = frame[col]
        if isinstance(series.dtype, pd.CategoricalDtype):
            values, where = list(series.cat.categories), "a category of column"
        elif series.dtype == object:
            values, where = series.tolist(), "column"
        else:
            continue  # numbers, dates, Arrow strings (which cannot hold a surrogate)
        for i, value in enumerate(values):
            if isinstance(value, str) and (at := first_unstorable(value)) is not None:
                cell = f"df[{col!r}].iloc[{i}]" if where == "column" else f"category {i + 1}"
                return unstorable_error(
                    value, f"{label}: {where} {col!r} ({cell}, {_shorten(repr(value))})", at
                )
    return None


def _note_frame_changes(scratch: Scratch, frame: pd.DataFrame, label: str) -> None:
    """A note (``scratch.notes``) for each DataFrame column stored other than as it was
    given: an object column mixing numbers with text or booleans, stored as text
    (``[1, 'x', 2.5]`` becomes ``'1', 'x', '2.5'``), and durations with nanoseconds, which
    DuckDB's INTERVAL keeps to the microsecond."""
    stored = {c.name: c for c in scratch.columns()}
    for col in frame.columns:
        series = frame[col]
        if series.dtype == object and stored[str(col)].dtype.upper() == "VARCHAR":
            kind = pd.api.types.infer_dtype(series, skipna=True)
            if kind.startswith("mixed"):
                example = next(
                    (v for v in series if v is not None and not isinstance(v, str)), None
                )
                scratch.notes.append(
                    f"{label}: column {col!r} mixes text with other values (e.g. "
                    f"{_shorten(repr(example))}); it is stored as text, so they come back as "
                    "strings. Give the column one "
                    f"type first (pd.to_numeric(df[{col!r}], errors='coerce') for numbers)."
                )
        elif series.dtype.kind == "m" and (series.dropna().dt.nanoseconds != 0).any():
            scratch.notes.append(
                f"{label}: column {col!r} has durations with nanoseconds; a duration is kept "
                "to the microsecond, so they are cut off. To keep them, store the column as "
                f"integer nanoseconds: df[{col!r}].astype('int64')."
            )


def _object_integers(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with each object column of integers (Python or numpy ints, with None or
    NaN as missing) as int64, or ``Int64`` when values are missing: pandas' own type for
    such a column (``infer_objects``), and what ``load_dataset`` gives back. DuckDB would
    pick the narrowest type that holds the values (int32 for small ones). A column with a
    value beyond int64 is left as it is (see :func:`normalize` for 128-bit integers)."""
    converted = {}
    for col in frame.columns:
        series = frame[col]
        if series.dtype != object or pd.api.types.infer_dtype(series, skipna=True) != "integer":
            continue
        try:
            ints = series.astype("Int64")
        except (OverflowError, TypeError, ValueError):
            continue
        converted[col] = ints if ints.isna().any() else ints.astype("int64")
    return frame.assign(**converted) if converted else frame


def _dtype_advice(dtype: object, col: str) -> str | None:
    """How to convert a column of a pandas type DuckDB cannot read; None when it can."""
    c = repr(col)
    if isinstance(dtype, pd.PeriodDtype):
        return (
            f"convert it to timestamps, df[{c}] = df[{c}].dt.to_timestamp(), or to text, "
            f"df[{c}] = df[{c}].astype(str)"
        )
    if isinstance(dtype, pd.IntervalDtype):
        left, right = repr(f"{col}_left"), repr(f"{col}_right")
        return (
            f"store its ends as two columns, df[{left}] = df[{c}].array.left and "
            f"df[{right}] = df[{c}].array.right, or as text, df[{c}] = df[{c}].astype(str)"
        )
    if isinstance(dtype, pd.SparseDtype):
        return f"make it dense: df[{c}] = df[{c}].sparse.to_dense()"
    if isinstance(dtype, pd.CategoricalDtype):
        if _dtype_advice(dtype.categories.dtype, col) is None:
            return None
        return f"convert its values to text: df[{c}] = df[{c}].astype(str)"
    if getattr(dtype, "kind", "") == "c":
        return (
            f"store the real and imaginary parts as two columns, e.g. np.real(df[{c}]) "
            f"and np.imag(df[{c}])"
        )
    return None


def _refuse_unsupported_dtypes(frame: pd.DataFrame, label: str) -> None:
    """InvalidInput for the first column whose pandas type cannot be stored (period,
    interval, sparse, complex, a categorical of those), saying how to convert it."""
    for col in frame.columns:
        advice = _dtype_advice(frame[col].dtype, col)
        if advice is not None:
            raise InvalidInput(
                f"{label}: column {col!r} has the pandas type "
                f"{frame[col].dtype}, which is not supported; {advice}."
            )


def index_carries_data(frame: pd.DataFrame) -> bool:
    """Whether ``frame``'s index is data (kept as columns by :func:`load_frame`): anything
    but the unnamed row numbers 0..n-1."""
    index = frame.index
    if isinstance(index, pd.MultiIndex) or index.name is not None:
        return True
    if isinstance(index, pd.RangeIndex) or pd.api.types.is_integer_dtype(index.dtype):
        return not index.equals(pd.RangeIndex(len(frame)))
    return True


def _index_as_columns(frame: pd.DataFrame, label: str) -> pd.DataFrame:
    """``frame`` with an index that carries data turned into columns (see load_frame)."""
    if not index_carries_data(frame):
        return frame
    for name in frame.index.names:
        if name is not None:
            check_storable(str(name), f"{label}: the index name {str(name)!r}")
    try:
        out = frame.reset_index()
    except ValueError as exc:  # the index's name is also a column's
        raise InvalidInput(
            f"{label}: its index {list(frame.index.names)} carries data and would become a "
            f"column, but a column of that name exists ({exc}). Rename the index "
            "(df.index.name = 'other') or drop it (df.reset_index(drop=True))."
        ) from exc
    added = out.shape[1] - frame.shape[1]
    out.columns = [str(c) for c in out.columns[:added]] + list(frame.columns)
    _check_names(list(out.columns), label)
    return out


def _decimal_shape(value: Decimal) -> tuple[int, int] | None:
    """(digits before the point, digits after it) of a finite Decimal; None otherwise."""
    if not value.is_finite():
        return None
    _, digits, exponent = value.as_tuple()
    return max(len(digits) + exponent, 0), max(-exponent, 0)


def _exact_decimals(frame: pd.DataFrame, label: str) -> pd.DataFrame:
    """Decimal columns as DuckDB can read them exactly, or InvalidInput.

    A column of finite ``decimal.Decimal`` objects (missing values allowed: None, NaN,
    ``Decimal("NaN")``, as pandas counts them; an infinite or signalling-NaN Decimal is
    refused, see :func:`_refuse_odd_decimals`) becomes an Arrow ``decimal128(p, s)``
    column with ``s`` the largest scale among its values and ``p`` the digits needed;
    DuckDB's own conversion would cap it at 38 digits by dropping fractional digits (1e30
    next to 0.00000001 stores 0.0000000) or turn it into DOUBLE. An Arrow ``decimal256``
    column of precision at most 38 becomes ``decimal128`` (DuckDB cannot read
    decimal256). Precision above 38 is refused, naming the column."""
    import pyarrow as pa

    changed: dict[str, pd.Series] = {}
    for col in frame.columns:
        series = frame[col]
        dtype = series.dtype
        if isinstance(dtype, pd.ArrowDtype) and pa.types.is_decimal(dtype.pyarrow_dtype):
            t = dtype.pyarrow_dtype
            if t.precision > MAX_DECIMAL_PRECISION:
                raise _wide_decimal_error(
                    label,
                    col,
                    t.precision,
                    t.scale,
                    f"Cast it to decimal(38, s) for a scale s its values fit in, e.g. "
                    f"df[{col!r}].astype(pd.ArrowDtype(pa.decimal128(38, {min(t.scale, 38)}))), "
                    f"or to text to keep every digit: df[{col!r}].astype(str).",
                )
            if pa.types.is_decimal256(t):
                arr = pa.array(series.array).cast(pa.decimal128(t.precision, t.scale))
                changed[col] = pd.Series(pd.arrays.ArrowExtensionArray(arr), index=frame.index)
            continue
        if not pd.api.types.is_object_dtype(dtype):
            continue
        _refuse_odd_decimals(series, col, label)
        values = series.dropna()
        if values.empty or not isinstance(values.iloc[0], Decimal):
            continue
        shapes = [_decimal_shape(v) if isinstance(v, Decimal) else None for v in values]
        if any(shape is None for shape in shapes):
            continue  # decimals mixed with other objects: DuckDB decides, as before
        whole = max(shape[0] for shape in shapes)
        scale = max(shape[1] for shape in shapes)
        precision = max(whole + scale, 1)
        if precision > MAX_DECIMAL_PRECISION:
            raise _wide_decimal_error(
                label,
                col,
                precision,
                scale,
                "Round its values to at most 38 digits (Decimal.quantize), or keep them as "
                f"text to keep every digit: df[{col!r}] = df[{col!r}].astype(str).",
            )
        missing = series.isna().to_numpy()  # None, NaN and Decimal("NaN"), as pandas sees it
        arr = pa.array(
            [None if m else v for v, m in zip(series, missing, strict=True)],
            type=pa.decimal128(precision, scale),
        )
        changed[col] = pd.Series(pd.arrays.ArrowExtensionArray(arr), index=frame.index)
    return frame.assign(**changed) if changed else frame


def _refuse_odd_decimals(series: pd.Series, col: str, label: str) -> None:
    """InvalidInput when an object column holds ``Decimal("Infinity")``, ``-Infinity`` or
    ``sNaN``: a decimal column has no such values, and DuckDB stored the whole column as
    a 32-bit float (12345678.901 became 12345679.0) without a word; pandas' isna raised on
    sNaN."""
    odd = next(
        (v for v in series if isinstance(v, Decimal) and (v.is_infinite() or v.is_snan())), None
    )
    if odd is None:
        return
    what = "a signalling NaN" if odd.is_snan() else "an infinity"
    raise InvalidInput(
        f"{label}: column {col!r} holds Decimal({str(odd)!r}), {what}, which a decimal column "
        "cannot hold exactly. Replace it (None or Decimal('NaN') for a missing value), or make "
        f"the column float to keep infinities: df[{col!r}] = df[{col!r}].astype(float)."
    )


def _utc_naive(frame: pd.DataFrame) -> pd.DataFrame:
    """Time zone-aware datetime columns as UTC wall-clock time, keeping their resolution
    (DuckDB would read them as microsecond TIMESTAMPTZ and drop nanoseconds)."""
    aware = [c for c in frame.columns if isinstance(frame[c].dtype, pd.DatetimeTZDtype)]
    if not aware:
        return frame
    frame = frame.copy(deep=False)
    for c in aware:
        frame[c] = frame[c].dt.tz_convert("UTC").dt.tz_localize(None)
    return frame


def normalize(scratch: Scratch, label: str) -> tuple[Column, ...]:
    """Bring the scratch table to the types a snapshot keeps, or raise InvalidInput.

    Exact types stay as they are (integers, DECIMAL(p,s), DOUBLE, FLOAT, TIMESTAMP_NS).
    Time zones become UTC timestamps (``TIMESTAMP WITH TIME ZONE`` -> ``TIMESTAMP``,
    ``TIMESTAMPTZ_NS`` -> ``TIMESTAMP_NS``), second and millisecond timestamps microsecond
    ones (no loss), enums and all-NULL columns text. 128-bit integers (HUGEINT, UHUGEINT),
    which Parquet cannot hold, become BIGINT or UBIGINT when every value fits, else they
    are refused; nested types (lists, structs, maps) are refused.
    """
    columns = scratch.columns()
    nested = [c for c in columns if any(t in c.dtype for t in ("[]", "STRUCT", "MAP", "UNION"))]
    if nested:
        c = nested[0]
        raise InvalidInput(
            f"{label}: column {c.name!r} has the nested type {c.dtype}; only flat tables can "
            "be versioned. Flatten it (one column per field) or store it as JSON text."
        )
    intervals = [c for c in columns if c.dtype.upper() == "INTERVAL"]
    if intervals:
        negative = scratch.sql(
            "SELECT "
            + ", ".join(
                f"count(*) FILTER (WHERE {ident(c.name)} < INTERVAL 0 SECOND)" for c in intervals
            )
            + f" FROM {SRC}"
        ).fetchone()
        for c, n in zip(intervals, negative, strict=True):
            if n:
                raise InvalidInput(
                    f"{label}: column {c.name!r} has {n:,} negative duration(s), which the "
                    "snapshot format (Parquet's INTERVAL) cannot hold. Store the column as "
                    f"seconds, df[{c.name!r}] = df[{c.name!r}].dt.total_seconds(), or as "
                    "integer nanoseconds (.astype('int64')), then register it again."
                )
    binary = next((c for c in columns if c.dtype.upper() in ("BLOB", "BIT")), None)
    if binary is not None:
        raise InvalidInput(
            f"{label}: column {binary.name!r} holds bytes ({binary.dtype}), which can be neither "
            "profiled, tested for drift nor written to CSV as the same value. Decode it to "
            f"text (df[{binary.name!r}] = df[{binary.name!r}].str.decode('utf-8')) or store "
            "it as base64 text (base64.b64encode(value).decode()), then register it again."
        )
    select, changed = [], False
    for c in columns:
        q = ident(c.name)
        dtype = c.dtype.upper()
        if dtype in ("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ_NS"):
            select.append(f"timezone('UTC', {q}) AS {q}")
        elif dtype.startswith(("TIMESTAMP_MS", "TIMESTAMP_S")):
            select.append(f"CAST({q} AS TIMESTAMP) AS {q}")
        elif dtype.startswith("ENUM") or dtype in ('"NULL"', "NULL"):
            # an all-None object column arrives typed NULL; text is what it most likely holds
            select.append(f"CAST({q} AS VARCHAR) AS {q}")
        elif dtype in ("HUGEINT", "UHUGEINT"):
            select.append(f"CAST({q} AS {_narrow_integer(scratch, c, label)}) AS {q}")
        else:
            select.append(q)
            continue
        changed = True
    if changed:
        view = scratch.sql(
            "SELECT count(*) FROM duckdb_views() WHERE view_name = ?", [SRC]
        ).fetchone()[0]
        if view:  # load_parquet(materialize=False): keep a view (over the renamed one)
            scratch.sql(f"ALTER VIEW {SRC} RENAME TO {SRC}_raw")
            scratch.sql(f"CREATE VIEW {SRC} AS SELECT {', '.join(select)} FROM {SRC}_raw")
        else:
            scratch.sql(f"CREATE OR REPLACE TABLE {SRC} AS SELECT {', '.join(select)} FROM {SRC}")
        columns = scratch.columns()
    return columns


_INT64 = (-(2**63), 2**63 - 1)
_UINT64 = (0, 2**64 - 1)


def _huge_range(scratch: Scratch, column: Column) -> tuple[int | None, int | None]:
    q = ident(column.name)
    lo, hi = scratch.sql(f"SELECT min({q}), max({q}) FROM {SRC}").fetchone()
    return lo, hi


def _narrow_integer(scratch: Scratch, column: Column, label: str) -> str:
    """BIGINT or UBIGINT for a 128-bit integer column whose values fit, else InvalidInput
    (Parquet has no 128-bit integers: DuckDB would write them as DOUBLE, losing digits)."""
    lo, hi = _huge_range(scratch, column)
    if lo is None or (_INT64[0] <= lo and hi <= _INT64[1]):
        return "BIGINT"
    if _UINT64[0] <= lo and hi <= _UINT64[1]:
        return "UBIGINT"
    example = hi if hi > _UINT64[1] else lo
    raise InvalidInput(
        f"{label}: column {column.name!r} holds integers outside the 64-bit range (e.g. "
        f"{example}); they cannot be stored exactly as numbers. Store them as text (e.g. "
        f"df[{column.name!r}] = df[{column.name!r}].astype(str)) or as decimal.Decimal "
        "values (up to 38 digits)."
    )


# -- fingerprint -------------------------------------------------------------------------------


def canonical_expr(column: Column) -> str:
    """SQL for one column's canonical text in a fingerprint row (see module docstring)."""
    q = ident(column.name)
    if is_decimal(column.dtype):
        if decimal_scale(column.dtype) == 0:
            return f"CAST({q} AS VARCHAR)"
        # DuckDB prints DECIMAL(3,3) 0.1 as ".100": put the 0 back, then trim the zeros
        text = f"regexp_replace(CAST({q} AS VARCHAR), '^(-?)\\.', '\\10.')"
        return f"rtrim(rtrim({text}, '0'), '.')"
    if column.family == "float":
        return f"CAST(CAST({q} AS DOUBLE) + 0.0 AS VARCHAR)"
    if column.family == "string":
        return f"CAST(length({q}) AS VARCHAR) || ':' || {q}"
    if column.family == "timestamp":
        if column.dtype.upper() == "TIMESTAMP_NS":  # nanoseconds, trailing zeros trimmed
            return f"CAST({q} AS VARCHAR)"
        return f"CAST(CAST({q} AS TIMESTAMP) AS VARCHAR)"
    return f"CAST({q} AS VARCHAR)"


def row_text_expr(columns: tuple[Column, ...]) -> str:
    """SQL for a row's canonical text: each column's :func:`canonical_expr` (NULL written
    as chr(30)), joined by chr(31), characters no canonical text contains unescaped."""
    parts = [f"coalesce({canonical_expr(c)}, chr(30))" for c in columns]
    return "concat_ws(chr(31), " + ", ".join(parts) + ")"


def fingerprint_tag(column: Column) -> str:
    """The type tag a column has in the fingerprint's schema: its family, ``decimal``, or
    for the family ``other`` its base type (``other:interval``, ``other:time``): a
    duration of 1 s and the time of day 00:00:01 print alike, and must not be one content.
    (Before 2026-11-30 both were tagged ``other``; a version with such a column registered
    earlier does not match the same data registered now.)"""
    if is_decimal(column.dtype):
        return "decimal"
    if column.family == "other":
        return "other:" + column.dtype.split("(")[0].strip().lower()
    return column.family


def schema_text(columns: tuple[Column, ...]) -> str:
    """The schema part of a fingerprint: each column's name and :func:`fingerprint_tag`,
    in column order (renaming, retyping or reordering a column is other content)."""
    return "\x1f".join(f"{c.name}\x1e{fingerprint_tag(c)}" for c in columns)


def is_decimal(dtype: str) -> bool:
    """Whether a DuckDB type is DECIMAL(p, s) (exact; family "float" for statistics)."""
    return dtype.strip().upper().startswith("DECIMAL")


def decimal_scale(dtype: str) -> int:
    """The scale ``s`` of ``DECIMAL(p,s)`` (0 when not given)."""
    inside = dtype.partition("(")[2].rstrip(") ")
    parts = inside.split(",")
    return int(parts[1]) if len(parts) == 2 else 0


def combine_fingerprint(columns: tuple[Column, ...], n_rows: int, s_hi: int, s_lo: int) -> str:
    """The fingerprint (64 hex digits): sha256 over :data:`FINGERPRINT_VERSION`, the
    :func:`schema_text`, the row count and the two 64-bit halves (``s_hi``, ``s_lo``,
    taken modulo 2**64) of the sum over rows of each row text's 128-bit md5: a sum, so row
    order does not change it, and duplicate rows do."""
    text = "\n".join(
        [
            FINGERPRINT_VERSION,
            schema_text(columns),
            str(n_rows),
            str(s_hi & _MASK64),
            str(s_lo & _MASK64),
        ]
    )
    return hashlib.sha256(text.encode()).hexdigest()


ROW_GROUP_ROWS = 122_880  # DuckDB scans a table in parallel by row groups of this many rows
_SLICED_CELLS = 1_000_000  # below this many cells, one thread hashes the rows fast enough


def snapshot_of(scratch: Scratch, columns: tuple[Column, ...]) -> Snapshot:
    """Fingerprint and duplicate-row count of the scratch table (one scan).

    DuckDB scans a table of one row group (up to 122,880 rows) with one thread, and a wide
    table's row text is costly (a float's shortest round-trip text: about 0.35 us a value,
    3.5 s for 1,000 x 10,000). Such a table, from a million cells, is hashed in as many
    row slices as DuckDB has threads, each by its own cursor in its own thread; the
    fingerprint is the same (a sum over rows, row order free)."""
    con = scratch.con
    n = scratch.count()
    threads = int(con.execute("SELECT current_setting('threads')").fetchone()[0])
    is_table = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND NOT temporary", [SRC]
    ).fetchone()[0]
    parts = threads if is_table and n <= ROW_GROUP_ROWS and n * len(columns) >= _SLICED_CELLS else 1
    row_hash = f"md5_number({row_text_expr(columns)})"
    totals = (
        "SELECT count(*), coalesce(sum(CAST(m >> 64 AS UBIGINT)), 0), "
        "coalesce(sum(CAST(m & CAST(18446744073709551615 AS UHUGEINT) AS UBIGINT)), 0), "
        "count(DISTINCT m) FROM h"
    )
    if parts <= 1:
        n, s_hi, s_lo, distinct = scratch.sql(
            f"WITH h AS (SELECT {row_hash} AS m FROM {SRC}) {totals}"
        ).fetchone()
    else:
        scratch.sql("CREATE OR REPLACE TABLE h (m UHUGEINT)")

        def hash_slice(i: int) -> None:
            cursor = con.cursor()
            try:
                cursor.execute(
                    f"INSERT INTO h SELECT {row_hash} FROM {SRC} WHERE rowid % {parts} = {i}"
                )
            finally:
                cursor.close()

        try:
            with ThreadPoolExecutor(parts) as pool:
                list(pool.map(hash_slice, range(parts)))
        except duckdb.Error as exc:
            raise InvalidInput(_first_line(exc)) from exc
        n, s_hi, s_lo, distinct = scratch.sql(totals).fetchone()
        scratch.sql("DROP TABLE h")
    return Snapshot(
        columns,
        int(n),
        combine_fingerprint(columns, int(n), int(s_hi), int(s_lo)),
        int(n) - int(distinct),
    )


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
    """Rows ``offset`` to ``offset + limit`` of a snapshot, in stored order (values as
    :func:`read_all` gives them).

    A filter on ``file_row_number`` lets DuckDB skip whole row groups (about 10 ms for any
    page of 10M rows, where OFFSET reads everything before the page)."""
    source = f"'{literal(str(path))}'"
    lo, hi = int(offset), int(offset) + int(limit)
    with Scratch() as s:
        try:
            s.con.execute(
                f"CREATE TEMP TABLE page AS SELECT * EXCLUDE (file_row_number) FROM "
                f"read_parquet({source}, file_row_number = true) WHERE file_row_number >= "
                f"{lo} AND file_row_number < {hi} ORDER BY file_row_number"
            )
        except duckdb.Error:  # a user column called file_row_number: page the slow way
            s.sql(
                f"CREATE TEMP TABLE page AS SELECT * FROM read_parquet({source}) "
                f"LIMIT {int(limit)} OFFSET {lo}"
            )
        return exact_frame(s, "page")


def read_all(path: Path) -> pd.DataFrame:
    """The whole snapshot as a DataFrame, exactly (see :func:`exact_frame`)."""
    with Scratch() as s:
        s.sql(f"CREATE VIEW snap AS SELECT * FROM read_parquet('{literal(str(path))}')")
        return exact_frame(s, "snap")


def read_sample(path: Path, n: int, seed: int = 0) -> pd.DataFrame:
    """All rows when there are at most ``n``, else a uniform sample of ``n`` (reservoir, the
    same rows for the same seed); values as :func:`read_all` gives them."""
    source = f"read_parquet('{literal(str(path))}')"
    with Scratch() as s:
        if s.count(source) <= n:
            s.sql(f"CREATE VIEW snap AS SELECT * FROM {source}")
        else:
            s.sql(
                f"CREATE TEMP TABLE snap AS SELECT * FROM {source} USING SAMPLE "
                f"reservoir({int(n)} ROWS) REPEATABLE ({int(seed)})"
            )
        return exact_frame(s, "snap")


def exact_frame(scratch: Scratch, table: str) -> pd.DataFrame:
    """``table`` as a DataFrame with every value as stored.

    DuckDB's own conversion is kept where it is exact: integers as int64/uint64 (nullable
    Int64/UInt64 with NULLs), floats as float64, booleans, text, dates and timestamps as
    datetime64 (nanoseconds kept). Two conversions would lose information and are made
    through Arrow instead: DECIMAL(p,s) columns become ``decimal128(p, s)[pyarrow]`` columns
    (numeric, values are ``decimal.Decimal``, NULL is ``pd.NA``; DuckDB's float64 would
    round 12345678901234567.891), and a float column holding both NULL and NaN becomes
    ``double[pyarrow]`` (NULL is ``pd.NA``, NaN stays NaN; float64 has one NaN for both). A
    float column with only one of them stays float64, where NaN is then unambiguous. Both
    kinds register back as the same content.
    """
    columns = scratch.columns(table)
    floats = [c for c in columns if c.family == "float" and not is_decimal(c.dtype)]
    both: set[str] = set()
    if floats:
        flags = scratch.sql(
            "SELECT "
            + ", ".join(
                f"coalesce(bool_or({ident(c.name)} IS NULL) AND bool_or(isnan({ident(c.name)})),"
                " false)"
                for c in floats
            )
            + f" FROM {table}"
        ).fetchall()[0]
        both = {c.name for c, flag in zip(floats, flags, strict=True) if flag}
    special = [c for c in columns if is_decimal(c.dtype) or c.name in both]
    if not special:
        return scratch.sql(f"SELECT * FROM {table}").df()
    plain = [ident(c.name) for c in columns if c not in special]
    # Two projections of one table come back in the same (insertion) order.
    arrow = scratch.con.sql(
        f"SELECT {', '.join(ident(c.name) for c in special)} FROM {table}"
    ).to_arrow_table()
    if plain:
        frame = scratch.sql(f"SELECT {', '.join(plain)} FROM {table}").df()
    else:
        frame = pd.DataFrame(index=pd.RangeIndex(arrow.num_rows))
    for i, c in enumerate(special):
        frame[c.name] = pd.Series(pd.arrays.ArrowExtensionArray(arrow.column(i)), index=frame.index)
    return frame[[c.name for c in columns]]


def write_csv(path: Path, target: Path) -> None:
    """The snapshot at ``path`` as CSV at ``target``: text values quoted (so ``""`` and
    ``"NA"`` read back as text), a missing value an empty field, names in the header
    quoted only where needed (a header quoting every name marks a file whose ``""`` is
    missing; see :func:`_quoted_text`)."""
    with Scratch() as s:
        source = f"read_parquet('{literal(str(path))}')"
        s.sql(f"CREATE VIEW exported AS SELECT * FROM {source}")
        columns = s.columns("exported")
        text = [ident(c.name) for c in columns if c.dtype.upper() == "VARCHAR"]
        quote = f", FORCE_QUOTE ({', '.join(text)})" if text else ""
        body = target.with_name(target.name + ".body")
        try:
            s.sql(
                f"COPY (SELECT * FROM exported) TO '{literal(str(body))}' "
                f"(HEADER false, DELIMITER ','{quote})"
            )
            with target.open("w", encoding="utf-8", newline="") as out:
                csv.writer(out, lineterminator="\n").writerow([c.name for c in columns])
                with body.open("r", encoding="utf-8", newline="") as rows:
                    shutil.copyfileobj(rows, out, 1 << 20)
        finally:
            body.unlink(missing_ok=True)


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
    for prefix in (
        "Invalid Input Error: ",
        "Conversion Error: ",
        "IO Error: ",
        "Binder Error: ",
        "Parser Error: ",
    ):
        text = text.removeprefix(prefix)
    return text


def _decode_head(head: bytes, label: str, encoding: str, complete: bool) -> str:
    """The first bytes of a UTF-8 file (BOM stripped) as text; ``encoding`` names the
    file's own encoding in an error."""
    try:
        return head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if not complete and exc.start >= len(head) - 4:
            return head[: exc.start].decode("utf-8-sig")  # a character cut by the sample's end
        line = head.count(b"\n", 0, exc.start) + 1
        raise _encoding_error(
            label,
            encoding,
            f"line {line}: byte 0x{head[exc.start]:02x} at offset {exc.start}",
            head,
            _non_ascii_utf8(head[: exc.start]),
            complete=complete,
        ) from exc


def _encoding_error(
    label: str,
    encoding: str,
    where: str,
    sample: bytes = b"",
    utf8_before: bool = False,
    *,
    complete: bool = False,
    mid_file: bool = False,
) -> InvalidInput:
    """The file is not text in ``encoding``; the hint names the likely one from ``sample``
    (its first bytes): Windows-1252 when bytes 0x80-0x9F occur (its curly quotes, dashes
    and euro sign; in latin-1 they are invisible control characters, so reading such a
    file as latin-1 would silently change its text), else latin-1 or cp1252. With
    ``utf8_before`` (the bytes before the failure are UTF-8 with non-ASCII characters) the
    file mixes encodings, and no single encoding reads it right. ``complete``: ``sample``
    ends where the file ends; ``mid_file``: it starts inside the file (a character may be
    cut at either end only where the sample, not the file, ends).

    Windows-1252 is named only when it is the plausible reading (:func:`_readings`): bytes
    that read as cp1252 into runs of unlikely symbols, or that Shift-JIS, EUC, Big5 or
    GB18030 read as words, get no guess but the encodings that decode them strictly, with
    what each reads (following a confident wrong guess registered mojibake). Cyrillic
    (cp1251, KOI8-R) is offered only where it reads as Cyrillic words."""
    where_to = (
        "(--encoding {0} on the command line, encoding='{0}' in the SDK, the "
        "Encoding box on the page)"
    )
    readings = _readings(sample, complete=complete, mid_file=mid_file) if not utf8_before else {}
    western = "cp1252" in readings and _reads_as_western(readings["cp1252"][2])
    eastern = [c for c, (*_, text) in readings.items() if c in _CJK and _reads_as_cjk(text)]
    if utf8_before:
        hint = (
            "Its text before that point is UTF-8 with accented or other non-ASCII "
            "characters, so the file mixes encodings: reading the whole file in another "
            "encoding would garble that part without a word. Fix the lines from that point "
            "(re-save them as UTF-8) and register the file again."
        )
    elif any(0x80 <= b <= 0x9F for b in sample) and western and not eastern:
        hint = (
            "It looks like Windows-1252 (what Excel and other Windows programs write: "
            "bytes 0x80-0x9F are its quotes, dashes and euro sign). Re-save it as UTF-8, "
            "or choose the encoding cp1252 " + where_to.format("cp1252") + "."
        )
    elif readings and (eastern or not western):
        names = list(readings)
        line = next(iter(readings.values()))[0]
        if len(names) == 1:
            ((only, (_, part, _)),) = readings.items()
            hint = (
                f"Its encoding is not clear: of {', '.join(_GUESSES)}, only {only} decodes it "
                f"(line {line} reads {part!r}). If that is its text, choose {only} "
                f"{where_to.format(only)}; else choose the encoding it was written in, or "
                "re-save it as UTF-8."
            )
        else:
            listed = ", ".join(names[:-1]) + " and " + names[-1]
            shown = "; ".join(f"{c} reads {part!r}" for c, (_, part, _) in readings.items())
            hint = (
                f"Its encoding is not clear: {listed} each decode it, into other text (line "
                f"{line}: {shown}). Pick the one the file was written in "
                f"{where_to.format('NAME')}, or re-save it as UTF-8."
            )
    elif encoding.lower().replace("_", "-").startswith(("utf-8", "utf8")):
        hint = (
            "Re-save it as UTF-8, or choose its encoding, e.g. cp1252 (Windows) or "
            "latin-1 (ISO-8859-1) " + where_to.format("cp1252") + "."
        )
    else:
        hint = "Choose the file's real encoding (e.g. utf-8, cp1252, latin-1)."
    return InvalidInput(f"{label} is not valid {encoding} text ({where}). {hint}")


def _non_ascii_utf8(data: bytes) -> bool:
    """True when ``data`` (a cut sample may end inside a character) is valid UTF-8 with at
    least one non-ASCII character on a complete line. Bytes on the line that fails may
    form a UTF-8 character by chance (EUC-JP's "名" is 0xcc 0xbe, UTF-8's U+033E): only a
    whole line read as UTF-8 shows that the file mixes encodings."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(data) - 3:
            return False
        data = data[: exc.start]
    return any(b >= 0x80 for b in data[: data.rfind(b"\n") + 1])


# Encodings a CSV that is not UTF-8 is often written in, tried on its first bytes when it
# does not read (latin-1 reads any byte, so it tells nothing): the Windows code page of
# Western Europe and the Americas, the Cyrillic ones of Windows and Unix (any byte reads
# in KOI8-R, so they are offered only when they read as Cyrillic words), and the
# double-byte ones of Japan, Korea, Taiwan, China.
_CYRILLIC = ("cp1251", "koi8_r")
_CJK = ("shift_jis", "euc-jp", "euc-kr", "big5", "gb18030")
_GUESSES = ("cp1252", *_CYRILLIC, *_CJK)


def _readings(
    sample: bytes, *, complete: bool = False, mid_file: bool = False
) -> dict[str, tuple[int, str, str]]:
    """Each of ``_GUESSES`` that decodes ``sample`` strictly and cleanly (no replacement
    character; no C1 control, private-use or unassigned character; a character cut at the
    start only when ``mid_file``, at the end only when not ``complete``), Cyrillic ones
    only when they read as Cyrillic words: the number of the first line holding a
    character that is not ASCII, that line's text around it (for a message), and the
    whole sample's text. Keys in ``_GUESSES`` order. Reads at most 64 KiB of ``sample``."""
    complete = complete and len(sample) <= _SNIFF_BYTES
    sample = sample[:_SNIFF_BYTES]
    if all(b < 0x80 for b in sample):
        return {}
    out = {}
    for codec in _GUESSES:
        decoded = _clean_text(sample, codec, complete=complete, mid_file=mid_file)
        if decoded is None:
            continue
        skipped, text = decoded
        if codec in _CYRILLIC and not _reads_as_cyrillic(text):
            continue
        at = next((i for i, c in enumerate(text) if ord(c) >= 0x80), None)
        if at is None:
            continue
        start = text.rfind("\n", 0, at) + 1
        end = text.find("\n", at)
        line = text[start : end if end >= 0 else len(text)].rstrip("\r")
        number = sample[:skipped].count(b"\n") + text.count("\n", 0, at) + 1
        at -= start
        out[codec] = (number, line[max(0, at - 12) : at + 24], text)
    return out


def _clean_text(
    sample: bytes, codec: str, *, complete: bool = False, mid_file: bool = False
) -> tuple[int, str] | None:
    """``sample`` decoded strictly with ``codec`` (and the number of bytes skipped at its
    start), forgiving a character cut at its start (only ``mid_file``: a chunk from
    mid-file) or end (only when not ``complete``: a cut sample); None when it does not
    decode, or decodes into C1 control, private-use or unassigned characters (Big5 read as
    GB18030, say)."""
    for head in (0, 1) if mid_file else (0,):
        data = sample[head:]
        try:
            text = data.decode(codec)
        except UnicodeDecodeError as exc:
            if complete or exc.start < len(data) - 3:
                continue
            try:
                text = data[: exc.start].decode(codec)
            except UnicodeDecodeError:
                continue
        if any(unicodedata.category(c) in ("Cc", "Co", "Cn") for c in text if ord(c) >= 0x80):
            return None
        return head, text
    return None


def _runs(text: str) -> list[int]:
    """The lengths of the runs of characters that are not ASCII in ``text``."""
    return [len(run) for run in re.findall(r"[^\x00-\x7f]+", text)]


def _reads_as_western(text: str) -> bool:
    """Whether a cp1252 reading looks like Western text: its letters with accents, quotes
    and dashes stand alone or in pairs among ASCII letters ("Größe", "„Müller“"); a
    double-byte encoding read as cp1252 makes runs of three or more ("“Œ‹ž" for "東京").
    True when fewer than a quarter of the characters that are not ASCII are in such runs."""
    runs = _runs(text)
    return sum(n for n in runs if n >= 3) * 4 < sum(runs)


def _reads_as_cyrillic(text: str) -> bool:
    """Whether a Cyrillic reading looks like Cyrillic text: at least four in five of its
    characters that are not ASCII are Cyrillic letters or punctuation, and at most one in
    five of its words with Cyrillic letters also holds Latin ones ("CafИ" is "Café" in
    cp1252 read as KOI8-R; Shift-JIS read so is mostly box-drawing symbols), and most of
    those words have two letters or more."""
    wide = [c for c in text if ord(c) >= 0x80]
    cyrillic = sum(
        "\u0400" <= c <= "\u04ff" or unicodedata.category(c).startswith(("P", "Z")) for c in wide
    )
    words = [w for w in re.findall(r"[^\W\d_]+", text) if re.search("[\u0400-\u04ff]", w)]
    mixed = sum(bool(re.search("[A-Za-z]", w)) for w in words)
    long = sum(len(w) >= 2 for w in words)  # words, not a letter alone ("1,Ѓ")
    return long * 2 > len(words) and cyrillic * 5 >= len(wide) * 4 and mixed * 5 <= len(words)


def _reads_as_cjk(text: str) -> bool:
    """Whether a double-byte reading looks like Chinese, Japanese or Korean text: words of
    two or more characters, not one character alone between ASCII letters ("M黱chen" is
    "München" in cp1252 read as GB18030). True when fewer than half of its characters that
    are not ASCII stand alone."""
    runs = _runs(text)
    return runs.count(1) * 2 < sum(runs)


def _sniff_delimiter(text: str) -> str:
    sample = "\n".join(text.splitlines()[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _header(text: str, delimiter: str, label: str) -> list[str]:
    if "\r" in text and "\n" not in text.rstrip("\r"):
        raise InvalidInput(
            f"{label} ends its lines with a carriage return alone (classic Mac OS). Save it "
            "with Unix (LF) or Windows (CRLF) line endings, e.g. tr '\\r' '\\n' < in.csv > "
            "out.csv."
        )
    try:
        header = next(csv.reader(io.StringIO(text), delimiter=delimiter), None)
    except csv.Error as exc:
        raise InvalidInput(f"{label}: the header row cannot be parsed ({exc}).") from exc
    if not header:
        raise InvalidInput(f"{label} has no header row; the first line must name the columns.")
    _check_names([h.strip() for h in header], label)
    return header  # as written: spaces around a name are part of it, as in pandas


def _records(text: str, delimiter: str, complete: bool) -> list[list[str]]:
    """The records in the start of a CSV (header first); the last one is left out when
    the text was cut off in it."""
    lines = text.splitlines(keepends=True)
    if not complete and lines:
        lines = lines[:-1]
    try:
        return list(csv.reader(lines, delimiter=delimiter))
    except csv.Error:
        return []


def _check_names(names: list[str], label: str, where: str = "header row") -> None:
    """InvalidInput for a column without a name (``where``: where names are given, "header
    row" for a file, "column names (df.columns)" for a DataFrame), for duplicates, or for a
    name that is not valid Unicode (a lone surrogate)."""
    for i, n in enumerate(names):
        check_storable(str(n), f"{label}: the name of column {i + 1} ({str(n)!r}) in the {where}")
    blank = [i + 1 for i, n in enumerate(names) if not str(n).strip()]
    if blank:
        raise InvalidInput(
            f"{label}: column {blank[0]} has no name. Give every column a name in the {where}."
        )
    seen: dict[str, str] = {}
    dupes = []
    for n in names:
        key = n.lower()  # DuckDB, like SQL, treats names case-insensitively
        if key in seen:
            dupes.append(n if seen[key] == n else f"{seen[key]}/{n}")
        seen.setdefault(key, n)
    if dupes:
        raise InvalidInput(
            f"{label} has duplicate column names: {', '.join(dupes[:10])} "
            "(names are compared ignoring case). Rename them so each is "
            "unique."
        )


def _require_rows(scratch: Scratch, label: str) -> None:
    if scratch.count() == 0:
        raise InvalidInput(
            f"{label} has a header but no data rows; a dataset version needs at least one row."
        )


def _csv_error(
    exc: duckdb.Error, path: Path, label: str, delimiter: str, encoding: str, n_header: int
) -> InvalidInput:
    text = str(exc)
    if "Invalid unicode" in text or "not utf-8" in text.lower():
        line = text.split("Line:")[1].split("\n")[0].strip() if "Line:" in text else "?"
        with path.open("rb") as f:
            sample = f.read(1 << 16)
        valid = sample[: len(sample) - 4] if len(sample) == 1 << 16 else sample
        mixed = encoding.lower().replace("_", "-") in ("utf-8", "utf8") and _non_ascii_utf8(valid)
        return _encoding_error(
            label, encoding, f"around line {line}", sample, mixed, complete=len(sample) < 1 << 16
        )
    ragged = _first_ragged_line(path, delimiter, encoding, n_header)
    if ragged is not None:
        line, found = ragged
        return InvalidInput(
            f"{label}: line {line} has {found} field{'' if found == 1 else 's'} but the header "
            f"has {n_header}. Fix that "
            "row (quote values that contain the delimiter) and try again."
        )
    return InvalidInput(f"{label} could not be read as CSV: {_first_line(exc)}")


def _first_ragged_line(
    path: Path, delimiter: str, encoding: str, n_header: int
) -> tuple[int, int] | None:
    try:
        with path.open(newline="", encoding="utf-8-sig", errors="replace") as fh:
            reader = csv.reader(fh, delimiter=delimiter)
            for record in reader:
                if record and len(record) != n_header:
                    return reader.line_num, len(record)
    except csv.Error:
        return None
    return None
