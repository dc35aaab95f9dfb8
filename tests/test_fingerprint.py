"""The dataset fingerprint, recomputed in pure Python from its written definition
(store/snapshots.py): if a DuckDB upgrade changed how values print or hash, this fails."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from decimal import Decimal

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.store import snapshots
from workbench.store.snapshots import Scratch

MASK = (1 << 64) - 1


def reference_fingerprint(frame: pd.DataFrame, families: dict[str, str]) -> str:
    s_hi = s_lo = 0
    for row in frame.itertuples(index=False):
        fields = []
        for name, value in zip(frame.columns, row, strict=True):
            fields.append(_canonical(value, families[name]))
        m = int.from_bytes(hashlib.md5("\x1f".join(fields).encode()).digest(), "little")
        s_hi, s_lo = (s_hi + (m >> 64)) & MASK, (s_lo + (m & MASK)) & MASK
    schema = "\x1f".join(f"{name}\x1e{families[name]}" for name in frame.columns)
    text = "\n".join(["wbfp1", schema, str(len(frame)), str(s_hi), str(s_lo)])
    return hashlib.sha256(text.encode()).hexdigest()


def _canonical(value: object, family: str) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return "\x1e"  # NULL
    if isinstance(value, float) and math.isnan(value):
        return "\x1e"  # pandas NaN reaches DuckDB as NULL
    if family == "decimal":  # exact, plain notation, no trailing fractional zeros
        d = value.copy_abs() if value.is_zero() else value
        text = format(d, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    if family == "timestamp":  # UTC wall clock, fraction to nanoseconds, zeros trimmed
        ts = pd.Timestamp(value)
        fraction = f"{ts.microsecond * 1000 + ts.nanosecond:09d}".rstrip("0")
        return ts.strftime("%Y-%m-%d %H:%M:%S") + (f".{fraction}" if fraction else "")
    if family == "float":
        return repr(float(value) + 0.0)
    if family == "boolean":
        return "true" if value else "false"
    if family == "string":
        return f"{len(value)}:{value}"
    return str(value)


def store_fingerprint(frame: pd.DataFrame) -> tuple[str, dict[str, str]]:
    with Scratch() as s:
        snapshots.load_frame(s, frame, label="frame")
        columns = snapshots.normalize(s, "frame")
        return snapshots.snapshot_of(s, columns).fingerprint, {c.name: c.family for c in columns}


floats = st.floats(allow_nan=False, width=64) | st.none()
decimals = (
    st.decimals(
        min_value=-(10**20), max_value=10**20, places=3, allow_nan=False, allow_infinity=False
    )
    | st.none()
)
# nanosecond timestamps in the range datetime64[ns] holds (1677-09-22 to 2262-04-11), less
# its two ends: DuckDB reads -(2**63 - 1) and 2**63 - 1 as -infinity and infinity
nanos = st.integers(-(2**63) + 2, 2**63 - 2).map(lambda n: pd.Timestamp(n, unit="ns")) | st.none()
texts = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(-(2**62), 2**62) | st.none(), floats, texts | st.none(), st.booleans()
        ),
        min_size=1,
        max_size=30,
    )
)
def test_fingerprint_matches_the_python_definition(rows) -> None:
    frame = pd.DataFrame(rows, columns=["i", "f", "s", "b"])
    frame = frame.astype({"i": "Int64", "f": "float64", "s": "object", "b": "bool"})
    fingerprint, families = store_fingerprint(frame)
    assert families == {"i": "integer", "f": "float", "s": "string", "b": "boolean"}
    assert fingerprint == reference_fingerprint(frame, families)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), texts), min_size=1, max_size=20), st.randoms())
def test_fingerprint_ignores_row_order(rows, rnd) -> None:
    frame = pd.DataFrame(rows, columns=["k", "v"]).astype({"v": "object"})
    shuffled = frame.sample(frac=1.0, random_state=rnd.randint(0, 1000)).reset_index(drop=True)
    assert store_fingerprint(frame)[0] == store_fingerprint(shuffled)[0]


def test_negative_zero_is_zero_and_special_floats_are_stable() -> None:
    a = pd.DataFrame({"x": [0.0, float("inf"), -float("inf"), 1e-5, 1e16]})
    b = pd.DataFrame({"x": [-0.0, float("inf"), -float("inf"), 1e-5, 1e16]})
    assert store_fingerprint(a)[0] == store_fingerprint(b)[0]
    assert store_fingerprint(a)[0] == reference_fingerprint(a, {"x": "float"})


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(decimals, nanos), min_size=1, max_size=30))
def test_decimals_and_nanosecond_timestamps_match_the_python_definition(rows) -> None:
    """Decimals are fingerprinted exactly (tag ``decimal``) and timestamps to the
    nanosecond (a whole microsecond prints as before)."""
    frame = pd.DataFrame(rows, columns=["d", "t"]).astype({"d": "object", "t": "datetime64[ns]"})
    if frame["d"].isna().all():
        frame["d"] = pd.Series([Decimal("0.001")] * len(frame), dtype=object)
    fingerprint, families = store_fingerprint(frame)
    assert families == {"d": "float", "t": "timestamp"}
    assert fingerprint == reference_fingerprint(frame, {"d": "decimal", "t": "timestamp"})


def test_decimal_scale_does_not_count_but_the_last_digit_does() -> None:
    def fp(values: list[str]) -> str:
        return store_fingerprint(pd.DataFrame({"x": [Decimal(v) for v in values]}))[0]

    assert fp(["1.5", "100"]) == fp(["1.500", "100.000"])  # DECIMAL(4,1) vs DECIMAL(6,3)
    assert fp(["12345678901234567.891"]) != fp(["12345678901234567.892"])
    # A decimal is not the float with the same printed value (it loads as Decimal).
    assert fp(["1.5"]) != store_fingerprint(pd.DataFrame({"x": [1.5]}))[0]


def test_one_nanosecond_apart_is_other_content() -> None:
    a = pd.DataFrame({"t": [pd.Timestamp("2024-05-01 12:00:00.123456789")]})
    b = pd.DataFrame({"t": [pd.Timestamp("2024-05-01 12:00:00.123456790")]})
    assert store_fingerprint(a)[0] != store_fingerprint(b)[0]
    assert store_fingerprint(a)[0] == reference_fingerprint(a, {"t": "timestamp"})


# Fingerprints computed by the release before exact decimals and nanoseconds (7c24b7a): the
# definition must not move for any other type, or an unchanged file would become a new
# version.
GOLDEN_FRAME = "e68a5ccbc8bd2059e190ab0aea267c75dad9ed4ed10fc449dc3379188fa9160a"
GOLDEN_CSV = "ea49b5aa82d1d14e63b92f558e8f4e4b08aa96061b4fa8f6a0be5d2eecadcc66"


def test_fingerprints_of_other_types_did_not_change(tmp_path) -> None:
    stamps = pd.Series(
        pd.to_datetime(
            ["2024-01-01 00:00:00.123456", "1960-05-05 00:00:00.0", None, "2024-02-29 23:59:59.0"],
            format="ISO8601",
        )
    )
    frame = pd.DataFrame(
        {
            "i": pd.Series([2**63 - 1, -(2**63), None, 0], dtype="Int64"),
            "u": pd.Series([2**64 - 1, 0, 5, 7], dtype="uint64"),
            "f": [1.5, float("nan"), float("inf"), -float("inf")],
            "s": ["a", "Ünï", None, ""],
            "b": [True, False, True, False],
            "d": [dt.date(2024, 1, 1), dt.date(1969, 12, 31), None, dt.date(2000, 2, 29)],
            "t_us": stamps.astype("datetime64[us]"),
            "t_ns": stamps.astype("datetime64[ns]"),  # whole microseconds: as before
            "t_tz": stamps.astype("datetime64[ns]").dt.tz_localize("Europe/Paris"),
        }
    )
    assert store_fingerprint(frame)[0] == GOLDEN_FRAME
    path = tmp_path / "golden.csv"
    path.write_text(
        "id,x,s,flag,day,at,n\n1,1.5,a,true,2024-01-01,2024-01-01 10:00:00.5,nan\n"
        '-9223372036854775808,-inf,"b, c",False,1969-12-31,1999-12-31 23:59:59,2\n'
        "9223372036854775807,,,TRUE,,,\n"
    )
    with Scratch() as s:
        snapshots.load_csv(s, path, label="golden.csv")
        columns = snapshots.normalize(s, "golden.csv")
        assert snapshots.snapshot_of(s, columns).fingerprint == GOLDEN_CSV
