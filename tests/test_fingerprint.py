"""The dataset fingerprint, recomputed in pure Python from its written definition
(store/snapshots.py): if a DuckDB upgrade changed how values print or hash, this fails."""

from __future__ import annotations

import hashlib
import math

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from store import snapshots
from store.snapshots import Scratch

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
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "\x1e"  # NULL (pandas NaN reaches DuckDB as NULL)
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
texts = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(-(2**62), 2**62) | st.none(), floats, texts | st.none(),
                          st.booleans()), min_size=1, max_size=30))  # fmt: skip
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
