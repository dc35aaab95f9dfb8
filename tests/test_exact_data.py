"""What you register is what you get back (issue 14, items 1, 3, 7, 10): exact decimals,
nanosecond timestamps and 64-bit integers, non-finite floats from every door, text
encodings, text that looks like booleans, and a DataFrame index that carries data."""

from __future__ import annotations

import math
import os
import time
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench import sdk as wb
from workbench.cli.main import main
from workbench.datasets import inbox
from workbench.datasets import versions as datasets
from workbench.store import snapshots
from workbench.store.errors import InvalidInput
from workbench.store.snapshots import Scratch
from workbench.store.workspace import Workspace

# -- item 1: numbers and times stay exact ------------------------------------------------------


def write_parquet(path: Path, **columns: pa.Array) -> Path:
    pq.write_table(pa.table(columns), path)
    return path


def test_decimals_differing_in_the_last_digit_are_two_versions_and_load_exactly(
    ws: Workspace, tmp_path: Path
) -> None:
    dec = pa.decimal128(38, 3)
    exact = [Decimal("12345678901234567.891"), Decimal("-0.5"), None]
    # loaded as decimal128(38, 3)[pyarrow]: numeric, exact, NULL as pd.NA
    a = write_parquet(tmp_path / "a.parquet", id=pa.array([1, 2, 3]), amount=pa.array(exact, dec))
    later = [Decimal("12345678901234567.892"), *exact[1:]]
    b = write_parquet(tmp_path / "b.parquet", id=pa.array([1, 2, 3]), amount=pa.array(later, dec))
    v1 = datasets.register(ws, a, "money")
    v2 = datasets.register(ws, b, "money")
    assert v1.created and v2.created, v2.message
    assert v1.version.fingerprint != v2.version.fingerprint
    loaded = wb.load_dataset("money@v1")
    assert loaded["amount"].tolist() == [*exact[:2], pd.NA]
    assert pd.api.types.is_numeric_dtype(loaded["amount"])
    assert wb.load_dataset("money@v2")["amount"][0] == Decimal("12345678901234567.892")
    # The same file again is the same version; a DataFrame of Decimals is exact too.
    assert not datasets.register(ws, a, "money").created
    frame = pd.DataFrame(
        {"id": [1, 2, 3], "amount": [Decimal("12345678901234567.891"), Decimal("-0.5"), None]}
    )
    assert not datasets.register(ws, frame, "money").created  # same content as v1
    # The profile still treats it as a number (family float) with its exact text.
    profile = {p.name: p for p in datasets.get_profile(ws, v1.version)}
    assert profile["amount"].family == "float"
    assert profile["amount"].max_text == "12345678901234567.891"


def test_nanosecond_timestamps_one_ns_apart_are_two_versions(ws: Workspace, tmp_path: Path) -> None:
    ns = pa.timestamp("ns")
    base = 1_714_564_800_123_456_789  # 2024-05-01 12:00:00.123456789
    a = write_parquet(tmp_path / "a.parquet", at=pa.array([base, None], ns))
    b = write_parquet(tmp_path / "b.parquet", at=pa.array([base + 1, None], ns))
    assert datasets.register(ws, a, "ticks").created
    second = datasets.register(ws, b, "ticks")
    assert second.created, second.message
    assert [p.dtype for p in datasets.get_profile(ws, second.version)] == ["TIMESTAMP_NS"]
    loaded = wb.load_dataset("ticks@v2")["at"]
    assert loaded.dtype == "datetime64[ns]"
    assert loaded[0] == pd.Timestamp(base + 1, unit="ns") and pd.isna(loaded[1])
    # From a DataFrame, naive or time zone-aware (UTC wall clock, nanoseconds kept).
    aware = pd.DataFrame(
        {
            "at": pd.Series([pd.Timestamp(base + 2, unit="ns"), None])
            .dt.tz_localize("UTC")
            .dt.tz_convert("Europe/Paris")
        }
    )
    third = datasets.register(ws, aware, "ticks")
    assert third.created
    assert wb.load_dataset("ticks@v3")["at"][0] == pd.Timestamp(base + 2, unit="ns")
    naive = pd.DataFrame({"at": pd.Series([pd.Timestamp(base + 2, unit="ns"), None])})
    assert datasets.register(ws, naive, "ticks").version.version == 3  # same instant


def test_whole_microsecond_timestamps_keep_their_old_identity(ws: Workspace) -> None:
    """datetime64[ns] and datetime64[us] holding the same microseconds are one content
    (and fingerprint as before nanoseconds were kept: see tests/test_fingerprint.py)."""
    stamps = pd.Series(
        pd.to_datetime(["2024-05-01 12:00:00.123456", "1999-12-31 23:59:59.0"], format="ISO8601")
    )
    v1 = wb.log_dataset(pd.DataFrame({"at": stamps.astype("datetime64[us]")}), "t")
    with pytest.warns(UserWarning, match="Same content"):
        again = wb.log_dataset(pd.DataFrame({"at": stamps.astype("datetime64[ns]")}), "t")
    assert again == v1


def test_64_bit_integers_come_back_exactly_from_every_door(ws: Workspace, tmp_path: Path) -> None:
    lo, hi, top = -(2**63), 2**63 - 1, 2**64 - 1
    frame = pd.DataFrame(
        {
            "i": pd.Series([lo, hi, None], dtype="Int64"),
            "u": pd.Series([top, 0, None], dtype="UInt64"),
        }
    )
    wb.log_dataset(frame, "ints")
    back = wb.load_dataset("ints")
    assert back["i"].tolist() == [lo, hi, pd.NA] and back["u"].tolist() == [top, 0, pd.NA]
    csv = tmp_path / "ints.csv"
    csv.write_text(f"i,u\n{lo},{top}\n{hi},0\n,\n")
    assert not datasets.register(ws, csv, "ints").created  # the same values
    parquet = write_parquet(
        tmp_path / "ints.parquet",
        i=pa.array([lo, hi, None], pa.int64()),
        u=pa.array([top, 0, None], pa.uint64()),
    )
    assert not datasets.register(ws, parquet, "ints").created
    whole = pd.DataFrame({"i": [lo, hi], "u": np.array([top, 0], dtype="uint64")})
    wb.log_dataset(whole, "ints2")
    back = wb.load_dataset("ints2")
    assert (back["i"].dtype, back["u"].dtype) == (np.dtype("int64"), np.dtype("uint64"))
    assert back["i"].tolist() == [lo, hi] and back["u"].tolist() == [top, 0]


def test_integers_beyond_64_bits(ws: Workspace, tmp_path: Path) -> None:
    """Parquet has no 128-bit integers (DuckDB would write them as DOUBLE, losing digits):
    a CSV column of them is text, as pandas reads it; a DataFrame of them is refused."""
    huge = 2**64 + 1
    csv = tmp_path / "ids.csv"
    csv.write_text(f"iccid,n\n{huge},1\n89014103211118510720,2\n")
    datasets.register(ws, csv, "ids")
    back = wb.load_dataset("ids")
    assert back["iccid"].tolist() == [str(huge), "89014103211118510720"]
    assert back["n"].tolist() == [1, 2]
    with pytest.raises(InvalidInput, match=r"'big' holds integers outside the 64-bit range"):
        wb.log_dataset(pd.DataFrame({"big": [huge, 1]}), "ids2")
    fits = pd.DataFrame({"big": pd.Series([2**64 - 1, 1], dtype=object)})  # UBIGINT range
    wb.log_dataset(fits, "ids3")
    assert wb.load_dataset("ids3")["big"].tolist() == [2**64 - 1, 1]


def test_decimals_beyond_38_digits_are_refused_naming_the_column(
    ws: Workspace, tmp_path: Path, capsys
) -> None:
    """DuckDB's DECIMAL holds 38 digits: wider decimals became float64 in silence, and two
    files differing in the 50th digit were "Same content". Every door refuses them now,
    naming the column, its precision and what to do."""
    values = [
        "1234567890123456789012345678901234567890.1234567891",
        "1234567890123456789012345678901234567890.1234567892",
    ]
    wide = pa.decimal256(60, 10)
    files = [
        write_parquet(tmp_path / f"e{i}.parquet", amount=pa.array([Decimal(v)] * 3, wide))
        for i, v in enumerate(values)
    ]
    refusal = r"column 'amount' holds decimals of precision 60 \(scale 10\).*38 digits"
    with pytest.raises(InvalidInput, match=refusal + r".*decimal\(38, s\).*text"):
        wb.log_dataset(str(files[0]), "d")
    assert main(["datasets", "add", str(files[1]), "--name", "d"]) != 0
    assert "holds decimals of precision 60" in capsys.readouterr().err
    drop_in_inbox(ws, "d", "e0.parquet", files[0].read_bytes())
    [outcome] = inbox.scan(ws, settle=2.0)
    assert "holds decimals of precision 60" in str(outcome.error)
    # A DataFrame: Decimal objects needing 41 digits, or an Arrow decimal256 column.
    objects = pd.DataFrame({"amount": [Decimal(values[0][:-9]), None]})
    with pytest.raises(InvalidInput, match=r"'amount' holds decimals of precision 41.*astype"):
        wb.log_dataset(objects, "d")
    arrow = pd.DataFrame({"amount": pd.array([Decimal(values[0])], dtype=pd.ArrowDtype(wide))})
    with pytest.raises(InvalidInput, match=r"'amount' holds decimals of precision 60"):
        wb.log_dataset(arrow, "d")
    assert datasets.list_datasets(ws) == []
    # decimal256 of at most 38 digits is kept exactly (DuckDB cannot read decimal256).
    fits = pd.array(
        [Decimal("12345678901234567.891"), None], dtype=pd.ArrowDtype(pa.decimal256(38, 3))
    )
    wb.log_dataset(pd.DataFrame({"amount": fits}), "fits")
    assert wb.load_dataset("fits")["amount"].tolist() == [Decimal("12345678901234567.891"), pd.NA]


def test_decimal_objects_keep_every_fractional_digit(ws: Workspace) -> None:
    """DuckDB read a column of Decimal objects needing 39 digits by dropping fraction digits
    in silence (1e30 next to 1e-8 stored 0E-7 for the second): refused now; 38 digits go in
    exactly."""
    with pytest.raises(InvalidInput, match=r"'x' holds decimals of precision 39 \(scale 8\)"):
        wb.log_dataset(pd.DataFrame({"x": [Decimal("1e30"), Decimal("0.00000001")]}), "tiny")
    exact = [Decimal("1e29"), Decimal("0.00000001"), Decimal("-2.5"), None]
    wb.log_dataset(pd.DataFrame({"x": exact}), "tiny")
    back = wb.load_dataset("tiny")["x"].tolist()
    assert back[:3] == exact[:3] and back[3] is pd.NA
    profile = {p.name: p for p in datasets.get_profile(ws, datasets.get_version(ws, "tiny"))}
    assert Decimal(profile["x"].min_text) == Decimal("-2.5")
    assert profile["x"].dtype == "DECIMAL(38,8)"
    # Decimal("NaN") is missing, as pandas counts it (and as NaN in a DataFrame is).
    wb.log_dataset(pd.DataFrame({"x": [Decimal("NaN"), Decimal("1.5")]}), "dnan")
    assert wb.load_dataset("dnan")["x"].tolist() == [pd.NA, Decimal("1.5")]


def test_csv_timestamps_with_nanoseconds_are_read_at_nanoseconds(
    ws: Workspace, tmp_path: Path, capsys
) -> None:
    """DuckDB's CSV sniffer read every timestamp at microseconds: CSVs 1 ns apart were
    "Same content" and loaded back as datetime64[us] (the DataFrame and Parquet doors kept
    nanoseconds)."""
    paths = []
    for i, t in enumerate(["2024-01-01T00:00:00.000000001", "2024-01-01T00:00:00.000000002"]):
        paths.append(tmp_path / f"ns{i}.csv")
        paths[-1].write_text("t,x\n" + f"{t},1\n" * 10)
    assert wb.log_dataset(str(paths[0]), "ns").ref == "ns@v1"
    assert wb.log_dataset(str(paths[1]), "ns").ref == "ns@v2"
    t = wb.load_dataset("ns")["t"]
    assert t.dtype == "datetime64[ns]" and t[0] == pd.Timestamp("2024-01-01T00:00:00.000000002")
    # The same instants from a DataFrame are the same content as the CSV.
    frame = pd.DataFrame(
        {"t": pd.Series([pd.Timestamp("2024-01-01T00:00:00.000000002")] * 10), "x": [1] * 10}
    )
    assert not datasets.register(ws, frame, "ns").created
    # The CLI and the inbox read through the same loader.
    three = tmp_path / "ns3.csv"
    three.write_text("t,x\n" + "2024-01-01T00:00:00.000000003,1\n" * 10)
    assert main(["datasets", "add", str(three), "--name", "ns"]) == 0
    assert "Registered ns@v3" in capsys.readouterr().out
    drop_in_inbox(ws, "ns", "ns4.csv", b"t,x\n" + b"2024-01-01T00:00:00.000000004,1\n" * 10)
    [outcome] = inbox.scan(ws, settle=2.0)
    assert outcome.error is None and outcome.registration.version.ref == "ns@v4"
    # With an offset: UTC, nanoseconds kept; whole microseconds stay microsecond columns.
    mixed = tmp_path / "mixed.csv"
    mixed.write_text(
        "z,us,old\n2024-01-01T01:00:00.123456789+01:00,2024-01-01 00:00:00.5,1500-01-01 00:00:00\n"
    )
    wb.log_dataset(str(mixed), "mixed")
    back = wb.load_dataset("mixed")
    assert back["z"][0] == pd.Timestamp("2024-01-01T00:00:00.123456789")
    assert (back["us"].dtype, back["old"].dtype) == ("datetime64[us]", "datetime64[us]")
    # Sub-microsecond text outside what nanoseconds hold is kept at microseconds, with a note.
    far = tmp_path / "far.csv"
    far.write_text("t\n1500-01-01 00:00:00.000000001\n")
    with pytest.warns(UserWarning, match=r"'t' has timestamps with more than 6 fractional"):
        wb.log_dataset(str(far), "far")


def test_csv_numbers_with_more_digits_than_a_float_holds_are_noted(
    ws: Workspace, tmp_path: Path, capsys
) -> None:
    """pandas reads 12345678901234567.891 as a float, and so does the workbench; but the
    second file, differing in the 20th digit, is "Same content", which is now said."""
    paths = []
    for i, v in enumerate(["12345678901234567.891", "12345678901234567.892"]):
        paths.append(tmp_path / f"f{i}.csv")
        paths[-1].write_text("v,n\n" + f"{v},1.5\n" * 3)
    note = r"'v' has numbers with more significant digits than a float64 holds \(17\)"
    with pytest.warns(UserWarning, match=note + r".*12345678901234567.891"):
        wb.log_dataset(str(paths[0]), "f")
    second = datasets.register(ws, paths[1], "f")
    assert not second.created
    assert "Same content as f@v1" in second.message and "differ only past" in second.message
    assert wb.load_dataset("f")["v"].dtype == np.float64
    assert main(["datasets", "add", str(paths[1]), "--name", "g"]) == 0
    assert "more significant digits than a float64 holds" in capsys.readouterr().out
    # 17 digits or fewer, and trailing zeros, need no note.
    short = tmp_path / "short.csv"
    short.write_text("v\n0.12345678901234567\n100000000000000000000000.0\n")
    assert datasets.register(ws, short, "short").notes == ()
    # a 5,000-digit number is quoted by its ends and length, not echoed whole (a newcomer's
    # find: the note ran to 5,000 characters)
    huge = tmp_path / "huge.csv"
    huge.write_text("v\n" + "7" * 5000 + ".5\n1.5\n")
    [note] = datasets.register(ws, huge, "huge").notes
    assert "(5,002 characters)" in note and len(note) < 600, note
    assert snapshots.significant_digits("-0.001200e5") == 2


# -- item 3: non-finite values -----------------------------------------------------------------


@pytest.mark.parametrize("first", ["inf", "-inf", "nan", "NaN", "Infinity", "-Infinity", "INF"])
def test_a_float_column_whose_first_row_is_non_finite_is_a_number(
    ws: Workspace, tmp_path: Path, first: str
) -> None:
    path = tmp_path / "x.csv"
    path.write_text(f"x,y\n{first},a\n1.5,b\n2,c\n")
    version = datasets.register(ws, path, "nf").version
    assert [p.family for p in datasets.get_profile(ws, version)] == ["float", "string"]
    x = wb.load_dataset("nf")["x"].tolist()
    want = float(first.lower().replace("infinity", "inf"))
    assert (math.isnan(x[0]) if math.isnan(want) else x[0] == want) and x[1:] == [1.5, 2.0]


def test_a_column_of_only_infinity_is_a_float_not_a_date(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("x,y\ninf,1\n,2\n-inf,3\n")
    datasets.register(ws, path, "nf")
    assert wb.load_dataset("nf")["x"].tolist()[::2] == [math.inf, -math.inf]


def same_floats(got: list, want: list) -> bool:
    """Equal lists where NaN equals NaN and NULL (None in ``want``; None or pd.NA in
    ``got``) equals only NULL."""

    def null(v: object) -> bool:
        return v is None or v is pd.NA

    return len(got) == len(want) and all(
        (null(g) and null(w))
        or (not null(g) and not null(w) and (g == w or (math.isnan(g) and math.isnan(w))))
        for g, w in zip(got, want, strict=True)
    )


def test_non_finite_floats_round_trip_from_csv_parquet_and_dataframe(
    ws: Workspace, tmp_path: Path
) -> None:
    values = [1.5, math.nan, math.inf, -math.inf, 2.5]
    csv = tmp_path / "f.csv"
    csv.write_text("x\n1.5\nnan\ninf\n-inf\n2.5\n")
    datasets.register(ws, csv, "f")
    back = wb.load_dataset("f")["x"]
    assert back.dtype == "float64" and same_floats(back.tolist(), values)
    parquet = write_parquet(tmp_path / "f.parquet", x=pa.array(values, pa.float64()))
    assert not datasets.register(ws, parquet, "f").created  # NaN stays NaN: same content
    # NULL and NaN in one column: both kept apart (double[pyarrow], pd.NA for NULL).
    csv.write_text("x\n1.5\nnan\ninf\n-inf\n2.5\n\n")
    both = datasets.register(ws, csv, "f").version
    profile = datasets.get_profile(ws, both)[0]
    assert (profile.nulls, profile.nan_count) == (1, 1)
    loaded = wb.load_dataset("f@v2")
    assert pd.api.types.is_float_dtype(loaded["x"])
    assert same_floats(loaded["x"].tolist(), [*values, None])
    assert datasets.register(ws, loaded, "f").version == both  # and it registers back
    parquet = write_parquet(tmp_path / "g.parquet", x=pa.array([*values, None], pa.float64()))
    assert datasets.register(ws, parquet, "f").version == both
    # A DataFrame's NaN is pandas' missing value (as pyarrow reads it): stored as NULL and
    # loaded as NaN in float64; infinities stay.
    frame_version = wb.log_dataset(pd.DataFrame({"x": values}), "g")
    profile = datasets.get_profile(ws, frame_version)[0]
    assert (profile.nulls, profile.nan_count) == (1, 0)
    back = wb.load_dataset("g")["x"]
    assert back.dtype == "float64" and same_floats(back.tolist(), values)


# -- item 7: text encodings --------------------------------------------------------------------

TEXT = "name,city,n\nJosé,München,1\nZoë,Łódź,2\n"


@pytest.mark.parametrize(
    "codec, bom",
    [("utf-8", b"\xef\xbb\xbf"), ("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff")],
)
def test_a_byte_order_mark_decides_the_encoding(
    ws: Workspace, tmp_path: Path, codec: str, bom: bytes
) -> None:
    plain = tmp_path / "plain.csv"
    plain.write_bytes(TEXT.encode("utf-8"))
    v1 = datasets.register(ws, plain, "people").version
    path = tmp_path / f"{codec}.csv"
    path.write_bytes(bom + TEXT.encode(codec))
    again = datasets.register(ws, path, "people")
    assert again.version == v1  # clean column names, same text: same content
    back = wb.load_dataset("people")
    assert list(back.columns) == ["name", "city", "n"]
    assert back["city"].tolist() == ["München", "Łódź"]


def test_utf16_without_a_byte_order_mark_says_what_to_do(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "u16.csv"
    path.write_bytes(TEXT.encode("utf-16-le"))
    with pytest.raises(InvalidInput, match="looks like UTF-16 text without a byte-order mark"):
        datasets.register(ws, path, "people")
    datasets.register(ws, path, "people", encoding="utf-16-le")
    assert wb.load_dataset("people")["name"].tolist() == ["José", "Zoë"]


def test_other_encodings_are_read_by_one_decision(ws: Workspace, tmp_path: Path) -> None:
    latin = tmp_path / "latin.csv"
    latin.write_bytes("name,city\nJosé,München\n".encode("latin-1"))
    with pytest.raises(InvalidInput, match="is not valid utf-8 text"):
        datasets.register(ws, latin, "people")
    datasets.register(ws, latin, "people", encoding="latin-1")
    cp = tmp_path / "cp1252.csv"
    cp.write_bytes("name,price\nCafé,5 €\n".encode("cp1252"))
    # Windows-1252 is named (latin-1 would turn its euro sign and quotes into invisible
    # control characters without a word)
    with pytest.raises(InvalidInput, match=r"looks like Windows-1252.*--encoding cp1252"):
        datasets.register(ws, cp, "prices")
    datasets.register(ws, cp, "prices", encoding="cp1252")
    assert wb.load_dataset("prices").iloc[0].tolist() == ["Café", "5 €"]
    bad = tmp_path / "bad16.csv"
    bad.write_bytes(b"\xff\xfe" + "a\n1\n2\n".encode("utf-16-le") + b"\x00\xd8")
    with pytest.raises(InvalidInput, match=r"is not valid UTF-16 text \(around line 4\)"):
        datasets.register(ws, bad, "bad")
    with pytest.raises(InvalidInput, match="Unknown encoding 'klingon'"):
        datasets.register(ws, latin, "people", encoding="klingon")
    assert not any(p for p in ws.blobs.tmp_dir.iterdir() if p.name.startswith("csv-utf8-"))


def drop_in_inbox(ws: Workspace, dataset: str, name: str, body: bytes) -> Path:
    folder = ws.paths.inbox / dataset
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(body)
    old = time.time() - 60
    os.utime(path, (old, old))
    return path


def test_inbox_and_cli_read_excel_csv_and_keep_text_as_text(
    ws: Workspace, tmp_path: Path, capsys
) -> None:
    body = "\ufeffsmoker,total\nYes,16.99\nNo,10.34\n".encode()  # Excel's "CSV UTF-8"
    drop_in_inbox(ws, "tips", "tips.csv", body)
    [outcome] = inbox.scan(ws, settle=2.0)
    assert outcome.error is None and outcome.registration.created
    back = wb.load_dataset("tips")
    assert list(back.columns) == ["smoker", "total"]
    assert back["smoker"].tolist() == ["Yes", "No"]
    path = tmp_path / "tips-16.csv"
    path.write_bytes(b"\xff\xfe" + "smoker,total\nYes,16.99\nNo,10.34\n".encode("utf-16-le"))
    assert main(["datasets", "add", str(path), "--name", "tips"]) == 0
    assert "Same content as tips@v1" in capsys.readouterr().out


# -- item 10: what you register is what you get back -------------------------------------------


def test_text_that_looks_boolean_stays_text(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "titanic.csv"
    path.write_text(
        "smoker,survived,flag,bit,real,yn,maybe\nYes,y,T,0,True,yes,TRUE\n"
        "No,n,F,1,false,no,\nNo,n,F,1,FALSE,no,false\n"
    )
    v1 = datasets.register(ws, path, "titanic").version
    families = {p.name: p.family for p in datasets.get_profile(ws, v1)}
    assert families == {
        "smoker": "string",
        "survived": "string",
        "flag": "string",
        "bit": "integer",
        "real": "boolean",
        "yn": "string",
        "maybe": "boolean",
    }
    back = wb.load_dataset("titanic")
    assert back["smoker"].tolist() == ["Yes", "No", "No"]
    assert back["survived"].tolist() == ["y", "n", "n"]
    assert back["flag"].tolist() == ["T", "F", "F"]
    assert back["bit"].tolist() == [0, 1, 1]
    assert back["real"].tolist() == [True, False, False]
    assert back["maybe"].tolist() == [True, pd.NA, False] or back["maybe"].tolist() == [
        True,
        None,
        False,
    ]
    # A later export of the same kind passes the contract inferred from the first.
    path.write_text(
        "smoker,survived,flag,bit,real,yn,maybe\nNo,y,T,1,False,yes,true\nYes,n,F,0,true,no,\n"
    )
    v2 = datasets.register(ws, path, "titanic").version
    failed = [c.message for c in datasets.get_checks(ws, v2)[1] if not c.passed]
    assert v2.contract_passed, failed


def test_an_index_that_carries_data_is_kept(ws: Workspace) -> None:
    # statsmodels' co2: a weekly DatetimeIndex without a name and one column
    weeks = pd.date_range("1958-03-29", periods=5, freq="W-SAT")
    co2 = pd.DataFrame({"co2": [316.1, 317.3, 317.6, 317.5, 316.4]}, index=weeks)
    with pytest.warns(UserWarning, match="unnamed index is not the row numbers"):
        version = wb.log_dataset(co2, "co2")
    assert version.n_columns == 2
    back = wb.load_dataset("co2")
    assert list(back.columns) == ["index", "co2"]
    assert list(pd.to_datetime(back["index"])) == list(weeks)
    # A named index keeps its name; integers that are not 0..n-1 are data too.
    named = co2.rename_axis("week")
    assert list(wb.log_dataset(named, "co2-named") and wb.load_dataset("co2-named").columns) == [
        "week",
        "co2",
    ]
    picked = pd.DataFrame({"x": [10, 20, 30]}, index=[3, 7, 9])
    with pytest.warns(UserWarning):
        wb.log_dataset(picked, "picked")
    assert wb.load_dataset("picked").to_dict("list") == {"index": [3, 7, 9], "x": [10, 20, 30]}
    # Row numbers 0..n-1 are not data, whatever index type holds them.
    plain = pd.DataFrame({"x": [1, 2, 3]}, index=pd.Index([0, 1, 2], dtype="int64"))
    assert wb.log_dataset(plain, "plain").n_columns == 1
    with pytest.raises(InvalidInput, match="a column of that name exists"):
        wb.log_dataset(pd.DataFrame({"id": [1]}, index=pd.Index([5], name="id")), "clash")


# -- the rule as a property --------------------------------------------------------------------

NAMES = ["select", "Ünï cødé", 'say "hi"', "order by; drop table x", "index ", "x"]
int64s = st.integers(-(2**63), 2**63 - 1) | st.none()
float64s = st.floats(width=64) | st.none()  # NaN, +-inf included
decimals = st.decimals(-(10**20), 10**20, places=3, allow_nan=False, allow_infinity=False)
texts = st.sampled_from(["Yes", "No", "True", "false", "inf", "", "Ünï", "NULL"]) | st.none()
stamps = st.integers(-(2**62), 2**62).map(lambda n: pd.Timestamp(n, unit="ns"))


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_a_dataframe_comes_back_as_registered(tmp_path_factory, data) -> None:
    """Through the same functions registration uses: a frame with extreme values, snapshot
    to Parquet, read back. The rule: values equal; NaN in a float column is missing (as in
    pandas) and comes back NaN; decimals equal as numbers; time zones become UTC
    wall-clock time, nanoseconds kept; text, including boolean-looking text, unchanged."""
    n = data.draw(st.integers(1, 12))
    names = data.draw(st.permutations(NAMES))
    frame = pd.DataFrame(
        {
            names[0]: pd.array(data.draw(st.lists(int64s, min_size=n, max_size=n)), dtype="Int64"),
            names[1]: pd.array(
                data.draw(st.lists(float64s, min_size=n, max_size=n)), dtype="float64"
            ),
            names[2]: pd.Series(
                data.draw(st.lists(decimals, min_size=n, max_size=n)), dtype=object
            ),
            names[3]: pd.Series(data.draw(st.lists(texts, min_size=n, max_size=n)), dtype=object),
            names[4]: pd.Series(data.draw(st.lists(stamps, min_size=n, max_size=n)))
            .dt.tz_localize("UTC")
            .dt.tz_convert("Asia/Kolkata"),
            names[5]: data.draw(st.lists(st.booleans(), min_size=n, max_size=n)),
        }
    )
    with Scratch() as s:
        snapshots.load_frame(s, frame, label="frame")
        snapshots.normalize(s, "frame")
        path = snapshots.write_parquet(s, tmp_path_factory.mktemp("snap"))
    back = snapshots.read_all(path)
    assert list(back.columns) == list(frame.columns)
    for name in frame.columns:
        want, got = frame[name], back[name]
        if isinstance(want.dtype, pd.DatetimeTZDtype):
            want = want.dt.tz_convert("UTC").dt.tz_localize(None)
        for w, g in zip(want.tolist(), got.tolist(), strict=True):
            if w is None or w is pd.NA or (isinstance(w, float) and math.isnan(w)):
                assert pd.isna(g), (name, w, g)
            else:
                assert w == g, (name, w, g)
                if isinstance(w, (int, Decimal)) and not isinstance(w, bool):
                    assert not isinstance(g, float), (name, w, g)  # never through float64


def test_no_encoding_choice_garbles_text_in_silence(ws: Workspace, tmp_path: Path) -> None:
    """Issue #14 trial: a UTF-8 file with one Windows-1252 line at its end was told to use
    cp1252, which then turned every 'café' into 'cafÃ©'; a Windows-1252 file read as
    latin-1 (the README's old advice) kept its quotes and euro sign as invisible control
    characters. Each is refused now, saying what to do; nothing is registered."""
    mixed = tmp_path / "mixed.csv"
    body = "id,name\n" + "".join(f"{i},café {i}\n" for i in range(3000))
    mixed.write_bytes(body.encode() + "3000,“q”\n".encode("cp1252"))
    with pytest.raises(InvalidInput, match=r"line 3002.*mixes encodings"):
        datasets.register(ws, mixed, "mixed")
    with pytest.raises(InvalidInput, match=r"holds UTF-8 text \(line 2: 'é'\), which cp1252"):
        datasets.register(ws, mixed, "mixed", encoding="cp1252")
    windows = tmp_path / "windows.csv"
    windows.write_bytes("note,p\n“great”,€5\n".encode("cp1252"))
    with pytest.raises(InvalidInput, match=r"control character U\+0093 \(line 2\).*cp1252"):
        datasets.register(ws, windows, "w", encoding="latin-1")
    assert datasets.list_datasets(ws) == []
    datasets.register(ws, windows, "w", encoding="cp1252")
    assert wb.load_dataset("w").iloc[0].tolist() == ["“great”", "€5"]


def test_drift_files_reads_the_encoding_it_is_told(tmp_path: Path, capsys) -> None:
    """The encoding advice named --encoding, which `workbench drift files` did not have."""
    from workbench.cli.main import main

    ref, cur = tmp_path / "ref.csv", tmp_path / "cur.csv"
    ref.write_bytes(("city\n" + "München\n" * 50).encode("cp1252"))
    cur.write_bytes(("city\n" + "Köln\n" * 50).encode("cp1252"))
    assert main(["drift", "files", str(ref), str(cur)]) != 0
    assert "--encoding cp1252" in capsys.readouterr().err
    assert main(["drift", "files", str(ref), str(cur), "--encoding", "cp1252"]) == 0
    assert "new value 'Köln'" in capsys.readouterr().out


def test_missing_value_markers_in_a_csv_are_missing(ws: Workspace, tmp_path: Path, capsys) -> None:
    """Found by a newcomer: `1.5,NA,2` (R's write.csv) loaded as the text '1.5','NA','2', so
    one NA in a new month broke the contract ("x is string") and drift said "type changed
    DOUBLE -> VARCHAR". pandas' read_csv reads NA, NULL, None, #N/A, n/a, <NA> ... as
    missing: so do we, at every door (here the CLI and the SDK), while nan stays the float
    NaN, told apart from a missing value."""
    rng = np.random.default_rng(3)
    clean = pd.DataFrame({"x": rng.normal(size=1000).round(3), "name": ["a", "b"] * 500})
    clean.to_csv(tmp_path / "r_v1.csv", index=False)
    marked = clean.copy()
    marked["x"] = marked["x"].astype(object)
    for i, marker in enumerate(["NA", "NULL", "null", "None", "#N/A", "n/a", "<NA>", "N/A"]):
        marked.loc[i, "x"] = marker
    marked.loc[8, "x"] = "nan"
    marked.loc[9, "name"] = "NA"
    marked.to_csv(tmp_path / "r_v2.csv", index=False)
    assert main(["datasets", "add", str(tmp_path / "r_v1.csv"), "--name", "r"]) == 0
    capsys.readouterr()
    assert main(["datasets", "add", str(tmp_path / "r_v2.csv"), "--name", "r"]) == 0
    said = capsys.readouterr().out  # missing values, not a column of text
    assert "failed type" not in said and "x: 8 rows NULL where the contract allows" in said
    v2 = datasets.get_version(ws, "r@v2")
    back = wb.load_dataset("r@v2")
    assert pd.api.types.is_float_dtype(back["x"]) and back["x"][:8].isna().all()
    assert math.isnan(back["x"][8]) and back["x"][10:].tolist() == clean["x"][10:].tolist()
    assert pd.isna(back["name"][9])
    expected = pd.read_csv(tmp_path / "r_v2.csv")  # pandas: the same missing cells (and NaN)
    assert (
        back["x"].isna().tolist()[:8] + back["x"].isna().tolist()[9:]
        == expected["x"].isna().tolist()[:8] + expected["x"].isna().tolist()[9:]
    )
    profile = {p.name: p for p in datasets.get_profile(ws, v2)}["x"]
    assert (profile.nulls, profile.nan_count) == (8, 1)


@pytest.mark.parametrize("odd", ["Infinity", "-Infinity", "sNaN"])
def test_a_decimal_infinity_is_refused_not_made_float32(ws: Workspace, odd: str) -> None:
    """Found by a newcomer: Decimal('12345678.901') next to Decimal('Infinity') was stored as
    a 32-bit float (12345679.0) in silence; Decimal('sNaN') raised decimal.InvalidOperation
    out of log_dataset. Now a clear InvalidInput naming the column, and nothing is
    registered; Decimal('NaN') and None stay missing values."""
    frame = pd.DataFrame({"d": [Decimal("12345678.901"), Decimal(odd)]})
    with pytest.raises(InvalidInput, match=r"column 'd' holds Decimal\('.*'\).*astype\(float\)"):
        wb.log_dataset(frame, "x")
    assert datasets.list_datasets(ws) == []
    kept = wb.log_dataset(pd.DataFrame({"d": [Decimal("12345678.901"), Decimal("NaN"), None]}), "x")
    assert wb.load_dataset(kept.ref)["d"].tolist()[0] == Decimal("12345678.901")


def test_ambiguous_dates_stay_as_written(ws: Workspace, tmp_path: Path) -> None:
    """Found by a newcomer: 01/02/2024 was read day-first (February 1) in a file without a
    day above 12, and month-first (January 2) once 01/13/2024 came in the next version, so
    a diff of the same rows said "2 changed". Only ISO 8601 is read as a date; other
    spellings stay the text written, as pandas keeps them."""
    (tmp_path / "v1.csv").write_text("k,v\n1,01/02/2024\n2,03/04/2024\n")
    (tmp_path / "v2.csv").write_text("k,v\n1,01/02/2024\n2,03/04/2024\n3,01/13/2024\n")
    (tmp_path / "iso.csv").write_text("k,v,at\n1,2024-01-02,2024-01-02T10:00:00.5\n")
    for name in ("v1", "v2"):
        assert main(["datasets", "add", str(tmp_path / f"{name}.csv"), "--name", "usd"]) == 0
    assert wb.load_dataset("usd@v1")["v"].tolist() == ["01/02/2024", "03/04/2024"]
    assert wb.load_dataset("usd@v2")["v"].tolist()[:2] == ["01/02/2024", "03/04/2024"]
    diff = datasets.diff(ws, "usd@v1", "usd@v2", key="k")
    assert (diff.rows.changed, diff.rows.added) == (0, 1)
    iso = wb.load_dataset(wb.log_dataset(tmp_path / "iso.csv", "iso").ref)
    assert str(iso["v"][0])[:10] == "2024-01-02" and iso["at"][0] == pd.Timestamp(
        "2024-01-02 10:00:00.5"
    )


def test_hex_and_binary_text_stays_text(ws: Workspace, tmp_path: Path) -> None:
    """Found by a newcomer: a column 0xA1,0xFF,0x10 loaded as the integers 161, 255, 16
    (and 0b101 as 5), where pandas keeps the text. It stays the text written; decimal
    integers beside it stay integers."""
    (tmp_path / "h.csv").write_text("k,h,b\n1,0xA1,0b101\n2,0xFF,0b11\n3,0x10,0b1\n")
    assert main(["datasets", "add", str(tmp_path / "h.csv"), "--name", "h"]) == 0
    back = wb.load_dataset("h@v1")
    assert back["h"].tolist() == ["0xA1", "0xFF", "0x10"]
    assert back["b"].tolist() == ["0b101", "0b11", "0b1"]
    assert back["k"].tolist() == [1, 2, 3] and pd.api.types.is_integer_dtype(back["k"])


def test_spaces_around_a_csv_header_name_are_kept_as_pandas_keeps_them(
    ws: Workspace, tmp_path: Path
) -> None:
    """`a, b` names its second column ' b' (pandas does too); DuckDB's reader strips it to
    'b', and the name changed without a word. Through the SDK, the CLI and the inbox."""
    source = tmp_path / "spaces.csv"
    source.write_text("a, b ,c\n1, 2,x\n3, 4,y\n")
    expected = list(pd.read_csv(source).columns)
    assert expected == ["a", " b ", "c"]
    assert list(wb.load_dataset(wb.log_dataset(source, "sdk").ref).columns) == expected
    assert main(["--workspace", str(ws.root), "datasets", "add", str(source), "--name", "cli"]) == 0
    assert list(datasets.load(ws, "cli@v1").columns) == expected
    folder = ws.paths.inbox / "inboxed"
    folder.mkdir(parents=True)
    dropped = folder / "spaces.csv"
    dropped.write_text(source.read_text())
    os.utime(dropped, (time.time() - 60, time.time() - 60))
    inbox.scan(ws, settle=0.0)
    assert list(datasets.load(ws, "inboxed@v1").columns) == expected


def test_an_exported_csv_registers_again_as_the_same_content(ws: Workspace, tmp_path: Path) -> None:
    """Empty strings and the text 'NA' survived neither the CSV export nor the reader: the
    export wrote `""` for '' and a bare NA, the reader made both missing, and the re-import
    was a new version with changed rows. A quoted value is text (PostgreSQL's CSV rule),
    the export quotes text, and a missing value stays an unquoted empty field."""
    frame = pd.DataFrame(
        {"note": ["", None, "x", "NA", 'say "hi"'], "n": [1.5, None, 2.0, 3.0, 4.0]}
    )
    first = wb.log_dataset(frame, "notes")
    out = tmp_path / "notes.csv"
    assert main(["--workspace", str(ws.root), "datasets", "export", "notes@v1", str(out)]) == 0
    again = datasets.register(ws, out, "notes")
    assert not again.created, again.message  # same content, no new version
    assert again.version.fingerprint == first.fingerprint
    back = wb.load_dataset("notes@v1")["note"]
    assert back[[0, 2, 3, 4]].tolist() == ["", "x", "NA", 'say "hi"'] and pd.isna(back[1])
    # A hand-written file: "" and "NA" quoted are text, an empty field and NA are missing.
    hand = tmp_path / "hand.csv"
    hand.write_text('s,k\n"",1\n,2\n"NA",3\nNA,4\nx,5\n')
    made = datasets.register(ws, hand, "hand")
    loaded = datasets.load(ws, made.version.ref)
    assert loaded["s"].tolist()[0] == "" and loaded["s"].tolist()[2] == "NA"
    assert loaded["s"].isna().tolist() == [False, True, False, True, False]
    assert "quoted value" in made.message
    assert loaded["k"].tolist() == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("quoting", ["QUOTE_ALL", "QUOTE_NONNUMERIC"])
def test_a_file_that_quotes_by_type_keeps_quoted_empties_missing(
    ws: Workspace, tmp_path: Path, quoting: str
) -> None:
    """csv.QUOTE_ALL and QUOTE_NONNUMERIC write a missing value as `""` (they have no
    other way), and quote every header name: there, as in pandas, `""` is missing, in
    text and number columns alike, and the version equals the DataFrame's."""
    import csv

    path = tmp_path / "typed.csv"
    frame = pd.DataFrame({"k": [1.0, None, 3.0], "s": ["a", None, "c"]})
    frame.to_csv(path, index=False, quoting=getattr(csv, quoting))
    made = datasets.register(ws, path, "quoted")
    loaded = datasets.load(ws, made.version.ref)
    assert loaded["k"].tolist()[::2] == [1.0, 3.0] and pd.isna(loaded["k"][1])
    assert loaded["s"].isna().tolist() == pd.read_csv(path)["s"].isna().tolist()
    assert loaded["s"].isna().tolist() == [False, True, False]
    assert not datasets.register(ws, frame, "quoted").created  # same content


def test_text_only_tables_and_r_style_files_come_back_as_written(
    ws: Workspace, tmp_path: Path
) -> None:
    """An all-text table's export quotes every field, as QUOTE_ALL does; its header (names
    quoted only where needed) tells them apart, so it registers again as the same content.
    R's write.csv quotes the header and text, and writes NA bare: NA is missing there."""
    for name, frame in {
        "one": pd.DataFrame({"a": ["", "NA", "x"]}),
        "two": pd.DataFrame({"a": ["", None, "NA", "x"], "k": list("pqrs")}),
    }.items():
        first = wb.log_dataset(frame, name)
        out = datasets.export(ws, first.ref, tmp_path / f"{name}.csv")
        again = datasets.register(ws, out, name)
        assert not again.created, (out.read_text(), again.message)
    r_file = tmp_path / "r.csv"
    r_file.write_text('"city","n"\n"Oslo",1\nNA,2\n"",3\n')
    loaded = datasets.load(ws, datasets.register(ws, r_file, "r").version.ref)
    assert loaded["city"].isna().tolist() == [False, True, True]  # "" missing, as pandas


def test_csv_booleans_with_missing_values_and_signed_numbers_are_typed_as_pandas_types_them(
    ws: Workspace, tmp_path: Path
) -> None:
    """R's TRUE/FALSE/NA stayed text (NA hid the booleans), and `+5` turned a number column
    into text, where pandas reads booleans and numbers; integers beyond 64 bits stay text."""
    cases = {
        "v,k\ntrue,0\nfalse,1\nNA,2\n": ("boolean", [True, False, None]),
        "v,k\nTRUE,0\nFALSE,1\nNA,2\n": ("boolean", [True, False, None]),
        "v\n1\n+5\n": ("int64", [1, 5]),
        "v\n0\n-0\n0.5\n.5\n+5\n": ("float64", [0.0, -0.0, 0.5, 0.5, 5.0]),
        "v\n+99999999999999999999\n1\n": ("str", ["+99999999999999999999", "1"]),
    }
    for i, (text, (kind, values)) in enumerate(cases.items()):
        path = tmp_path / f"case{i}.csv"
        path.write_text(text)
        back = datasets.load(ws, datasets.register(ws, path, f"case{i}").version.ref)["v"]
        got = [None if pd.isna(v) else v for v in back.tolist()]
        assert got == values, text
        if kind == "str":
            assert pd.api.types.is_string_dtype(back), text
        else:
            assert pd.api.types.pandas_dtype(kind).kind == back.dtype.kind or (
                kind == "boolean" and pd.api.types.is_bool_dtype(back)
            ), (text, back.dtype)


def test_utf16_named_for_a_file_without_a_byte_order_mark_is_a_clear_error(
    ws: Workspace, tmp_path: Path
) -> None:
    """Python's utf-16 codec raises a bare UnicodeError (not a decode error) without a
    BOM: it reached the user as "a bug in the workbench"."""
    path = tmp_path / "plain.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(InvalidInput, match="utf-16-le"):
        wb.log_dataset(path, "plain", encoding="utf-16")
    assert (
        main(
            [
                "--workspace",
                str(ws.root),
                "datasets",
                "add",
                str(path),
                "--name",
                "p",
                "--encoding",
                "utf-16",
            ]
        )
        == 1
    )
    assert datasets.list_datasets(ws) == []


def test_an_object_column_of_integers_loads_back_as_int64(ws: Workspace) -> None:
    """Python ints in an object column (with None) loaded back as Int32: DuckDB picks the
    narrowest type for small values. pandas types them int64 (infer_objects), as the type
    policy says."""
    frame = pd.DataFrame(
        {
            "with_none": pd.Series([1, None, 3], dtype=object),
            "whole": pd.Series([1, 2, 2**40], dtype=object),
        }
    )
    back = wb.load_dataset(wb.log_dataset(frame, "objects").ref)
    assert back["with_none"].dtype == "Int64" and back["whole"].dtype == "int64"
    assert back["with_none"].tolist()[::2] == [1, 3] and back["whole"].tolist()[2] == 2**40


def test_a_bytes_column_is_refused_with_what_to_do(ws: Workspace, tmp_path: Path) -> None:
    """A bytes column was stored as BLOB, exported to CSV as the text `\\x00\\x01` and
    drift-tested as categories: refused at every door, saying how to convert it."""
    frame = pd.DataFrame({"k": [1, 2], "payload": [b"\x00\x01", b"ab"]})
    with pytest.raises(InvalidInput, match=r"'payload' holds bytes.*base64"):
        wb.log_dataset(frame, "raw")
    path = write_parquet(
        tmp_path / "raw.parquet",
        k=pa.array([1, 2]),
        payload=pa.array([b"\x00\x01", b"ab"], pa.binary()),
    )
    with pytest.raises(InvalidInput, match=r"'payload' holds bytes"):
        datasets.register(ws, path, "raw")
    assert datasets.list_datasets(ws) == []  # nothing half-registered


def test_numbers_with_leading_zeros_stay_text_with_a_note(ws: Workspace, tmp_path: Path) -> None:
    """`00123` stayed text but `-007` became -7 and `007.5` text, without a word: every
    number written with leading zeros keeps its text (a code's zeros are data), and the
    registration says so, since pandas would read numbers."""
    path = tmp_path / "codes.csv"
    path.write_text("zip,signed,fraction,plain,zero\n00123,-007,007.5,5,0\n45678,12,1.5,6,0.5\n")
    made = datasets.register(ws, path, "codes")
    back = datasets.load(ws, made.version.ref)
    assert back["zip"].tolist() == ["00123", "45678"]
    assert back["signed"].tolist() == ["-007", "12"]
    assert back["fraction"].tolist() == ["007.5", "1.5"]
    assert back["plain"].tolist() == [5, 6] and back["zero"].tolist() == [0.0, 0.5]
    for column in ("zip", "signed", "fraction"):
        assert f"column {column!r} has numbers written with leading zeros" in made.message
    assert "'plain'" not in made.message


def test_a_wide_table_hashed_in_row_slices_has_the_same_fingerprint(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A table of one row group is hashed in row slices, one thread each (a wide table's
    row text is costly); the fingerprint and the duplicate count must not depend on it."""
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(rng.normal(size=(300, 40)), columns=[f"f{i}" for i in range(40)])
    frame = pd.concat([frame, frame.iloc[:5]], ignore_index=True)  # 5 duplicate rows
    frame["t"] = ["a", None, "c"] * 101 + ["a", None]
    found = {}
    for cells in (10**12, 1):  # one scan, then slices
        monkeypatch.setattr(snapshots, "_SLICED_CELLS", cells)
        with Scratch() as s:
            s.con.execute("SET threads = 3")  # 3 slices, on any machine
            snapshots.load_frame(s, frame, label="wide")
            found[cells] = snapshots.snapshot_of(s, s.columns())
    assert found[1] == found[10**12]
    assert found[1].duplicate_rows == 5 and found[1].n_rows == 305


def test_a_csv_export_names_the_types_csv_cannot_carry_back(
    ws: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Decimals, float32 and durations exported as CSV registered again as a new version
    without a word; the export now says which columns and to use Parquet."""
    frame = pd.DataFrame(
        {
            "amount": [Decimal("1.5"), Decimal("2.25")],
            "ratio": np.array([0.1, 1e38], dtype="float32"),
            "took": pd.to_timedelta(["1s", "2s"]),
            "plain": [1, 2],
        }
    )
    wb.log_dataset(frame, "typed")
    assert (
        main(
            [
                "--workspace",
                str(ws.root),
                "datasets",
                "export",
                "typed",
                str(tmp_path / "typed.csv"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    for column in ("'amount' DECIMAL", "'ratio' FLOAT -> DOUBLE", "'took' INTERVAL"):
        assert column in out, out
    assert "'plain'" not in out and "Export Parquet" in out
    # text that reads as numbers, and a number column with no value, are named too (the
    # export reads its file back as registering would); a table that round-trips is quiet
    wb.log_dataset(
        pd.DataFrame({"zip": ["10001", "94105"], "x": pd.array([None, None], dtype="Int64")}),
        "zips",
    )
    wb.log_dataset(pd.DataFrame({"a": ["x", "", None], "n": [1, 2, 3]}), "fine")
    for name in ("zips", "fine"):
        assert (
            main(
                [
                    "--workspace",
                    str(ws.root),
                    "datasets",
                    "export",
                    name,
                    str(tmp_path / f"{name}.csv"),
                ]
            )
            == 0
        )
        out = capsys.readouterr().out
        if name == "zips":
            assert "'zip' VARCHAR -> BIGINT" in out and "'x' BIGINT -> VARCHAR" in out, out
        else:
            assert "note:" not in out, out
            assert not datasets.register(ws, tmp_path / "fine.csv", "fine").created
    assert (
        main(
            [
                "--workspace",
                str(ws.root),
                "datasets",
                "export",
                "typed",
                str(tmp_path / "typed.parquet"),
            ]
        )
        == 0
    )
    assert "note:" not in capsys.readouterr().out
    assert not datasets.register(ws, tmp_path / "typed.parquet", "typed").created


def test_durations_and_mixed_columns_are_refused_or_noted_never_changed_in_silence(
    ws: Workspace, tmp_path: Path
) -> None:
    """Negative durations were refused with DuckDB's "Parquet files do not support negative
    intervals" (blaming Parquet for a DataFrame, no advice); nanoseconds of a duration and a
    mixed object column's types were dropped without a word."""
    negative = pd.DataFrame({"a": pd.to_timedelta(["-1s", "2s"])})
    with pytest.raises(InvalidInput, match=r"'a' has 1 negative duration.*total_seconds"):
        wb.log_dataset(negative, "neg")
    path = tmp_path / "neg.parquet"
    negative.to_parquet(path)
    with pytest.raises(InvalidInput, match="negative duration"):
        datasets.register(ws, path, "neg")
    fine = datasets.register(
        ws, pd.DataFrame({"a": pd.to_timedelta(["1 days 00:00:00.000000001", "1s"])}), "ns"
    )
    assert "durations with nanoseconds" in fine.message
    mixed = datasets.register(
        ws, pd.DataFrame({"a": pd.Series([1, "x", 2.5], dtype=object)}), "mixed"
    )
    assert "'a' mixes text with other values (e.g. 1)" in mixed.message
    assert datasets.load(ws, "mixed@v1")["a"].tolist() == ["1", "x", "2.5"]
    plain = datasets.register(
        ws, pd.DataFrame({"a": ["x", None], "d": pd.to_timedelta(["1s", "2s"])}), "plain"
    )
    assert "Note" not in plain.message


def test_a_duration_and_a_time_of_day_are_other_content(ws: Workspace, tmp_path: Path) -> None:
    """A duration of 1 s and the time of day 00:00:01 both print `00:00:01` and were tagged
    'other' in the fingerprint: a CSV of times was "same content" as a duration version,
    and loading it gave the durations back."""
    first = wb.log_dataset(pd.DataFrame({"x": pd.to_timedelta(["1s", "1.5s"])}), "span")
    path = tmp_path / "times.csv"
    path.write_text('x\n"00:00:01"\n"00:00:01.5"\n')
    again = datasets.register(ws, path, "span")
    assert again.created and again.version.fingerprint != first.fingerprint, again.message
