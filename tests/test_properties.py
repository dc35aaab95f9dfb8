"""Property-based tests (Hypothesis) over the frames users really bring: integers near the
int64 limits, decimals, NaN and infinities, nulls, constant columns, time-zone-aware
timestamps, booleans written as text, unicode and SQL-keyword column names.

For every generated frame, through the same services the SDK, the CLI and the pages call:
register it (as a DataFrame and as a Parquet file), read its profile, check it against
its own inferred contract, compare it with itself for drift, load it back, and score it
with a model trained on it. The only exception allowed anywhere is ``InvalidInput`` with
a message; the loaded frame equals the input under the rule in docs/types.md; drift
against itself is "no drift"; its own contract passes.
"""

from __future__ import annotations

import math
import uuid
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.datasets import versions as datasets
from workbench.drift import report as reports
from workbench.drift import stats as drift
from workbench.registry import models as registry
from workbench.store.errors import InvalidInput
from workbench.store.workspace import Workspace
from workbench.tracking import experiments
from workbench.training import runner
from workbench.training.task import RunSpec

pytestmark = pytest.mark.slow

INT64 = (-(2**63), 2**63 - 1)
NAMES = [
    "select",
    "from",
    "order",
    "GROUP",
    "drop table x",
    "ünïcødé ✓",
    "a b",
    'q"uote',
    "it's",
    "数据",
    "null",
    "1st",
]
OFFSETS = ["+01:00", "-05:30", "+00:00", "+14:00", "-12:00"]


def _ints(n: int) -> st.SearchStrategy:
    value = st.one_of(st.integers(*INT64), st.sampled_from([INT64[0], INT64[1], 2**53 + 1, 0]))
    return st.lists(st.one_of(st.none(), value), min_size=n, max_size=n)


def _floats(n: int) -> st.SearchStrategy:
    special = st.sampled_from([math.nan, math.inf, -math.inf, 1e300, -1e300, 5e-324, -0.0])
    return st.lists(
        st.one_of(st.floats(allow_nan=False, allow_infinity=False), special), min_size=n, max_size=n
    )


def _decimals(n: int) -> st.SearchStrategy:
    value = st.decimals(
        min_value=Decimal("-99999999999999999999999999999999.999"),
        max_value=Decimal("99999999999999999999999999999999.999"),
        places=3,
        allow_nan=False,
        allow_infinity=False,
    )
    return st.lists(st.one_of(st.none(), value), min_size=n, max_size=n)


@st.composite
def _timestamps(draw, n: int) -> pd.Series:
    seconds = draw(
        st.lists(st.one_of(st.none(), st.integers(0, 4_000_000_000)), min_size=n, max_size=n)
    )
    offset = draw(st.sampled_from(OFFSETS))
    utc = pd.to_datetime([s if s is None else s * 10**9 for s in seconds], utc=True)
    return pd.Series(utc).dt.tz_convert(f"UTC{offset}" if offset != "+00:00" else "UTC")


@st.composite
def frames(draw) -> pd.DataFrame:
    """A frame of 1 to 5 generated columns plus a finite numeric ``target``."""
    n = draw(st.integers(2, 30))
    kinds = draw(
        st.lists(
            st.sampled_from(
                ["int", "float", "decimal", "constant", "timestamp", "bool_text", "text", "bool"]
            ),
            min_size=1,
            max_size=5,
        )
    )
    names = draw(
        st.lists(
            st.one_of(
                st.sampled_from(NAMES),
                st.text(
                    st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]),
                    min_size=1,
                    max_size=12,
                ),
            ),
            min_size=len(kinds),
            max_size=len(kinds),
            unique_by=lambda s: s.strip().lower(),
        )
    )
    data: dict[str, object] = {}
    for kind, name in zip(kinds, names, strict=True):
        name = name.strip() or "blank"
        if name.lower() == "target" or name.lower() in {k.lower() for k in data}:
            continue
        if kind == "int":
            data[name] = pd.array(draw(_ints(n)), dtype="Int64")
        elif kind == "float":
            data[name] = np.array(draw(_floats(n)), dtype="float64")
        elif kind == "decimal":
            data[name] = pd.Series(draw(_decimals(n)), dtype=object)
        elif kind == "constant":
            value = draw(st.sampled_from([1717171717000000000, 1e300, -7, 0.5]))
            data[name] = [value] * n
        elif kind == "timestamp":
            data[name] = draw(_timestamps(n)).to_numpy()
        elif kind == "bool_text":
            pair = draw(st.sampled_from([("Yes", "No"), ("yes", "no"), ("Y", "N"), ("T", "F")]))
            data[name] = pd.array(
                draw(st.lists(st.sampled_from(pair), min_size=n, max_size=n)), dtype="str"
            )
        elif kind == "text":
            text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=8)
            values = draw(st.lists(st.one_of(st.none(), text), min_size=n, max_size=n))
            data[name] = pd.Series(values, dtype=object)
        else:
            values = draw(st.lists(st.one_of(st.none(), st.booleans()), min_size=n, max_size=n))
            data[name] = pd.array(values, dtype="boolean")
    data["target"] = np.array(draw(st.lists(st.floats(-1e6, 1e6), min_size=n, max_size=n)))
    return pd.DataFrame(data)


# -- the documented rule: what a loaded frame holds (docs/types.md) ---------------------------


def _cell(value: object) -> object:
    """A cell as a comparable Python value: NULL as None, NaN as the string 'nan',
    time-zone-aware timestamps as naive UTC, numpy scalars as Python ones."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp | np.datetime64):
        ts = pd.Timestamp(value)
        return (ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo else ts).as_unit("ns")
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, float) and value == 0.0:
        return 0.0  # -0.0 and 0.0 are one value
    return value


def _column(series: pd.Series) -> list[object]:
    """NaN is a value only in a float column; elsewhere (pandas' ``str`` dtype marks a
    missing text with NaN) every missing marker is NULL."""
    floats = pd.api.types.is_float_dtype(series.dtype)
    missing = series.isna().tolist() if not floats else [False] * len(series)
    return [
        None if gone else _cell(v)
        for v, gone in zip(series.astype(object).tolist(), missing, strict=True)
    ]


def assert_same_rows(expected: pd.DataFrame, loaded: pd.DataFrame) -> None:
    assert list(loaded.columns) == list(expected.columns)
    for name in expected.columns:
        want, got = _column(expected[name]), _column(loaded[name])
        assert got == want, f"column {name!r}: loaded {got[:5]} != registered {want[:5]}"


# -- the property -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    from workbench.workspaces import open_workspace

    return open_workspace(tmp_path_factory.mktemp("props") / "workspace")


def _clear(exc: InvalidInput) -> None:
    text = str(exc)
    assert len(text) > 20 and "Traceback" not in text and "Error:" not in text, text


def _register(ws: Workspace, frame: pd.DataFrame, door: str, folder: Path):
    name = f"p{uuid.uuid4().hex[:10]}"
    if door == "parquet":
        path = folder / f"{name}.parquet"
        frame.to_parquet(path, index=False)
        return datasets.register(ws, path, name).version
    return datasets.register(ws, frame, name).version


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(frame=frames(), door=st.sampled_from(["frame", "parquet"]))
def test_any_frame_registers_profiles_checks_drifts_loads(
    workspace: Workspace, tmp_path_factory: pytest.TempPathFactory, frame, door
) -> None:
    try:
        version = _register(workspace, frame, door, tmp_path_factory.mktemp("src"))
    except InvalidInput as exc:
        _clear(exc)
        return
    profile = datasets.get_profile(workspace, version)
    assert [p.name for p in profile] == list(frame.columns)
    assert version.contract_passed is not False, datasets.get_checks(workspace, version)
    assert all(c.passed for c in datasets.recheck(workspace, version.ref))
    results = drift.compare(profile, profile)
    verdicts = {r.column: r.verdict for r in results}
    # an identifier-like column is "not tested" (its profile cannot tell new values from
    # old), never drift; the dataset's verdict is "no drift"
    assert set(verdicts.values()) <= {"no drift", "not tested"}, verdicts
    assert reports.dataset_verdict(results)[0] == "no drift"
    assert_same_rows(frame, datasets.load(workspace, version.ref))


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(frame=frames())
def test_a_model_trained_on_any_frame_scores_it(workspace: Workspace, frame) -> None:
    try:
        version = datasets.register(workspace, frame, f"s{uuid.uuid4().hex[:10]}").version
    except InvalidInput as exc:
        _clear(exc)
        return
    launch = runner.launch(
        workspace,
        RunSpec(version.ref, "target", "ridge", seed=0),
        experiment="properties",
        wait=True,
        workers=1,
    )
    run = experiments.get_run(workspace, launch.run_ids[0]).run
    assert run.status == "finished", run.error
    name = f"m{uuid.uuid4().hex[:10]}"
    registry.register_model(workspace, run.run_id, name)
    scored = registry.score(workspace, f"{name}/1", version.ref).version
    assert scored.n_rows == version.n_rows
    model = registry.load_model(workspace, f"{name}/1")
    loaded = datasets.load(workspace, version.ref)
    predictions = registry.predict_frame(model, loaded.drop(columns="target"))
    assert len(predictions) == len(frame)
