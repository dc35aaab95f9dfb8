"""Column profiles on the data people have: extreme numbers, constants, NaN and infinities,
all-missing columns, wide tables; exact figures, estimates marked; contracts that treat
non-finite values as the profile does. Real workspaces, data generated here."""

from __future__ import annotations

import math
import statistics
import sys
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench import sdk as wb
from workbench.cli.main import main
from workbench.datasets import contracts
from workbench.datasets import versions as datasets
from workbench.store import profiles
from workbench.store.entities import ColumnProfile
from workbench.store.snapshots import Scratch
from workbench.store.workspace import Workspace

BIG = sys.float_info.max


def write_csv(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


def by_name(version) -> dict[str, ColumnProfile]:
    ws = wb.workspace()
    return {p.name: p for p in datasets.get_profile(ws, version)}


def assert_sane(p: ColumnProfile) -> None:
    """What every profile of a numeric column must satisfy, whatever the values."""
    finite = p.count - p.non_finite
    assert sum(p.hist_counts) == finite
    assert len(p.hist_edges) == len(p.hist_counts) + 1 if p.hist_counts else not p.hist_edges
    assert all(b > a for a, b in zip(p.hist_edges, p.hist_edges[1:], strict=False))
    for v in (p.min_value, p.max_value, p.mean, p.std, *p.quantiles, *p.hist_edges):
        assert v is None or math.isfinite(v)
    if finite:
        assert p.quantiles_exact and len(p.quantiles) == profiles.QUANTILE_POINTS
        assert list(p.quantiles) == sorted(p.quantiles)
        assert p.quantiles[0] == p.min_value and p.quantiles[-1] == p.max_value
        assert p.min_value <= p.mean <= p.max_value
    assert p.distinct <= p.count


# -- item 2: the profiler never fails on valid data --------------------------------------------


def test_constant_epoch_nanoseconds_register_with_one_bin(ws: Workspace, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "ns.csv", "id,ts_ns", [f"{i},1717171717000000000" for i in range(50)]
    )
    v = wb.log_dataset(path, "ns")
    p = by_name(v)["ts_ns"]
    assert p.family == "integer" and p.min_text == p.max_text == "1717171717000000000"
    assert p.hist_counts == (50,) and p.hist_edges[0] < 1717171717000000000 < p.hist_edges[1]
    assert p.mean == 1717171717000000000.0 and p.std == 0.0
    assert p.distinct == 1 and p.distinct_exact and p.quantile(0.5) == 1.7171717170e18
    assert_sane(p)
    assert v.contract_passed is True


def test_constant_1e300_registers_with_one_bin(ws: Workspace, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "huge.csv", "id,x", [f"{i},1e300" for i in range(40)])
    v = wb.log_dataset(path, "huge")
    p = by_name(v)["x"]
    assert p.family == "float" and p.hist_counts == (40,)
    assert p.hist_edges[0] < 1e300 < p.hist_edges[1]
    assert p.mean == 1e300 and p.std == 0.0 and p.min_text == "1e+300"
    assert_sane(p)
    assert v.contract_passed is True
    # a second version of the same population passes; a wild value does not
    assert (
        wb.log_dataset(
            write_csv(tmp_path / "h2.csv", "id,x", ["0,1e300", "1,1e300"]), "huge"
        ).contract_passed
        is True
    )
    wild = wb.log_dataset(write_csv(tmp_path / "h3.csv", "id,x", ["0,1e300", "1,-5"]), "huge")
    assert wild.contract_passed is False


def exact_mean_std(values: list[float]) -> tuple[float, float | None]:
    """Mean and sample std in exact rational arithmetic (None: beyond the largest double)."""
    xs = [Fraction(v) for v in values]
    mean = sum(xs) / len(xs)
    var = sum((x - mean) ** 2 for x in xs) / (len(xs) - 1)
    # scaled when var itself exceeds a double
    std = math.sqrt(var) if var < 2**1000 else math.sqrt(var / 2**1100) * 2**550
    return float(mean), std if std <= BIG else None


@pytest.mark.parametrize(
    "values",
    [
        [1e308, -1e308],  # the plain sum overflows
        [BIG, -BIG],  # the std itself is beyond the largest double
        [BIG, BIG, BIG],
        [-BIG, BIG * 0.5],
        [5e-324, 0.0, 5e-324],  # subnormals
        [1.0, 2.0],  # two distinct values
    ],
)
def test_extreme_floats_profile_and_pass_their_own_contract(
    ws: Workspace, values: list[float]
) -> None:
    values = values * 3
    v = wb.log_dataset(pd.DataFrame({"x": values}), "extreme")
    p = by_name(v)["x"]
    assert_sane(p)
    mean, std = exact_mean_std(values)
    scale = max(abs(x) for x in values)
    assert p.mean == pytest.approx(mean, abs=1e-15 * scale)
    if std is None:
        assert p.std is None
    else:
        assert p.std == pytest.approx(std, rel=1e-12, abs=1e-15 * scale)
    assert p.min_value == min(values) and p.max_value == max(values)
    assert v.contract_passed is True, datasets.get_checks(ws, v)


def test_integers_at_the_int64_limits(ws: Workspace) -> None:
    lo, hi = -(2**63), 2**63 - 1
    frame = pd.DataFrame(
        {
            "a": np.array([lo, hi, hi - 1, lo + 1, 0, 0], dtype=np.int64),
            "b": np.array([hi, hi - 1] * 3, dtype=np.int64),
            "u": np.array([2**64 - 1, 0, 2**64 - 2], dtype=np.uint64).repeat(2),
        }
    )
    v = wb.log_dataset(frame, "limits")
    prof = by_name(v)
    assert (prof["a"].min_text, prof["a"].max_text) == (str(lo), str(hi))
    assert prof["a"].distinct == 5 and prof["b"].distinct == 2  # not merged as doubles
    assert (prof["u"].min_text, prof["u"].max_text) == ("0", str(2**64 - 1))
    assert prof["u"].distinct == 3
    for p in prof.values():
        assert_sane(p)
    assert v.contract_passed is True, datasets.get_checks(ws, v)


def test_extreme_types_in_duckdb_never_break_the_profile() -> None:
    """HUGEINT, UBIGINT, decimals, FLOAT, infinite and extreme dates and timestamps,
    all-NULL, all-NaN and all-inf columns: every column profiles, statistics finite."""
    with Scratch() as s:
        s.sql("""CREATE TABLE src AS SELECT * FROM (VALUES
            (170141183460469231731687303715884105727::HUGEINT, 18446744073709551615::UBIGINT,
             12345678901234567.891::DECIMAL(38,3), 3.4e38::FLOAT, DATE '0001-01-01',
             TIMESTAMP '0001-01-01 00:00:00', NULL::DOUBLE, 'nan'::DOUBLE, 'inf'::DOUBLE,
             DATE 'infinity', 'x'),
            (-170141183460469231731687303715884105727::HUGEINT, 0::UBIGINT,
             12345678901234567.892::DECIMAL(38,3), -3.4e38::FLOAT, DATE '9999-12-31',
             TIMESTAMP '294246-12-31 23:59:59', NULL, 'nan', '-inf', DATE '-infinity', NULL),
            (0, 1, NULL, 'nan'::FLOAT, NULL, TIMESTAMP 'infinity', NULL, 'nan', 'inf',
             DATE '2024-01-01', 'y')
        ) v(h, u, dec, f, d, ts, all_null, all_nan, all_inf, inf_dates, s)""")
        prof = {p.name: p for p in profiles.profile(s, s.columns())}
    for p in prof.values():
        if p.is_numeric:
            assert_sane(p)
    assert prof["h"].max_text == "170141183460469231731687303715884105727"
    assert prof["dec"].distinct == 2 and prof["dec"].min_text == "12345678901234567.891"
    assert prof["f"].nan_count == 1 and prof["f"].count == 3 and prof["f"].hist_counts
    assert (prof["d"].min_text, prof["d"].max_text) == ("0001-01-01", "9999-12-31")
    assert prof["ts"].posinf_count == 1 and prof["ts"].max_text == "294246-12-31 23:59:59"
    assert prof["all_null"].count == 0 and prof["all_null"].nulls == 3
    assert prof["all_null"].hist_counts == () and prof["all_null"].min_text is None
    assert prof["all_nan"].nan_count == 3 and prof["all_nan"].mean is None
    assert prof["all_nan"].min_text is None and prof["all_nan"].distinct == 1
    assert (prof["all_inf"].posinf_count, prof["all_inf"].neginf_count) == (2, 1)
    assert prof["inf_dates"].non_finite == 2 and prof["inf_dates"].min_text == "2024-01-01"
    assert prof["s"].top_values == ("x", "y") and prof["s"].nulls == 1


def test_all_missing_columns_register_and_pass(ws: Workspace, tmp_path: Path) -> None:
    rows = ["1,nan,inf,", "2,nan,-inf,", "3,nan,inf,"]
    v = wb.log_dataset(write_csv(tmp_path / "odd.csv", "id,all_nan,all_inf,empty", rows), "odd")
    prof = by_name(v)
    assert prof["all_nan"].nan_count == 3 and prof["all_nan"].quantiles == ()
    assert (prof["all_inf"].posinf_count, prof["all_inf"].neginf_count) == (2, 1)
    assert prof["empty"].nulls == 3
    assert v.contract_passed is True, datasets.get_checks(ws, v)


# -- item 3: non-finite values mean one thing everywhere ---------------------------------------


def test_non_finite_floats_profile_apart_and_pass_their_own_contract(
    ws: Workspace, tmp_path: Path, capsys
) -> None:
    path = write_csv(tmp_path / "nf.csv", "id,x", ["1,1.5", "2,nan", "3,inf", "4,-inf", "5,2.5"])
    v = wb.log_dataset(path, "nf")
    p = by_name(v)["x"]
    assert (p.min_text, p.max_text) == ("1.5", "2.5")
    assert (p.min_value, p.max_value, p.mean) == (1.5, 2.5, 2.0)
    assert (p.nan_count, p.posinf_count, p.neginf_count, p.nulls) == (1, 1, 1, 0)
    assert v.contract_passed is True, datasets.get_checks(ws, v)
    rule = next(r for r in datasets.get_contract(ws, "nf")[1]["columns"] if r["name"] == "x")
    assert rule["max_non_finite"] == pytest.approx(0.65)  # 3 of 5, plus the margin
    # the CLI shows the counts apart, and statistics over the finite values
    assert main(["datasets", "show", "nf@v1"]) == 0
    out = capsys.readouterr().out
    line = next(row for row in out.splitlines() if row.strip().startswith("x "))
    assert line.split()[2:9] == ["0", "(0%)", "1", "1", "1", "5", "1.5"], out


def test_non_finite_values_the_reference_lacked_fail_a_named_check(
    ws: Workspace, tmp_path: Path
) -> None:
    ref = wb.log_dataset(pd.DataFrame({"x": np.linspace(0, 1, 100)}), "clean")
    assert ref.contract_passed is True
    cur = pd.DataFrame({"x": np.linspace(0, 1, 100)})
    cur.loc[[3, 4], "x"] = np.inf
    cur.loc[5, "x"] = -np.inf
    path = tmp_path / "cur.csv"
    cur.assign(x=cur.x.astype(object).where(cur.index != 6, "nan")).to_csv(path, index=False)
    result = datasets.register(ws, path, "clean")
    failed = {c.check: c for c in result.checks if not c.passed}
    assert set(failed) == {"non_finite"}, failed  # not a range failure: inf is not in a range
    check = failed["non_finite"]
    assert check.failing == 4 and check.examples == ("NaN (1x)", "+inf (2x)", "-inf (1x)")
    assert "1 NaN, 2 +inf, 1 -inf" in check.message and "allows none" in check.message


def test_old_contracts_without_a_non_finite_rule_still_refuse_nan(ws: Workspace) -> None:
    wb.log_dataset(pd.DataFrame({"x": [0.5, 1.0, 2.0]}), "legacy")
    _, spec = datasets.get_contract(ws, "legacy")
    for rule in spec["columns"]:
        rule.pop("max_non_finite", None)  # as written before the rule existed
    datasets.save_contract(ws, "legacy", spec)
    v = wb.log_dataset(pd.DataFrame({"x": [0.5, float("inf")]}), "legacy")
    assert v.contract_passed is False
    failed = [c.check for c in datasets.get_checks(ws, v)[1] if not c.passed]
    assert failed == ["non_finite"]


def test_contract_bounds_are_parameters_not_sql_text(ws: Workspace) -> None:
    wb.log_dataset(
        pd.DataFrame({"x": [1.0, 2.0], "d": pd.to_datetime(["2024-01-01"] * 2)}), "bounds"
    )
    _, spec = datasets.get_contract(ws, "bounds")
    for rule in spec["columns"]:
        if rule["name"] == "x":
            rule["min"], rule["max"] = -1e308, 1.5
        if rule["name"] == "d":
            rule["min"] = "2024-01-02'; DROP TABLE src; --"
    with pytest.raises(datasets.InvalidInput, match="must be a timestamp written like"):
        datasets.save_contract(ws, "bounds", spec)
    spec["columns"][1]["min"] = "2024-01-02"
    datasets.save_contract(ws, "bounds", spec)
    checks = datasets.get_checks(ws, datasets.get_version(ws, "bounds"))[1]
    failed = {c.column: c for c in checks if not c.passed}
    assert failed["x"].examples == ("2.0",) and failed["d"].failing == 2


def test_inferred_bounds_never_overflow() -> None:
    def prof(lo: float, hi: float, family: str = "float") -> ColumnProfile:
        return ColumnProfile(
            0, "x", "DOUBLE", family, 2, 0, 0, 2, True, None, None, lo, hi, None, None
        )

    spec = contracts.infer([prof(-BIG, BIG), prof(BIG, BIG), prof(1e308, 1e308)])
    for rule in spec["columns"]:
        for bound in (rule["min"], rule["max"]):
            assert bound is None or math.isfinite(bound)
    assert spec["columns"][0]["min"] is None and spec["columns"][0]["max"] is None
    assert spec["columns"][2]["max"] == pytest.approx(1.25e308, rel=1e-3)


# -- item 11: exact where cheap, estimates marked ----------------------------------------------


def test_median_of_few_distinct_values_is_exact(ws: Workspace) -> None:
    # Like yrs_married in the Fair affairs data: a few levels, many rows each.
    levels = [0.5, 2.5, 6.0, 9.0, 13.0, 16.5, 23.0]
    weights = [370, 1000, 1000, 1100, 900, 800, 1196]
    values = np.repeat(levels, weights)
    np.random.default_rng(0).shuffle(values)
    v = wb.log_dataset(pd.DataFrame({"yrs_married": values}), "affairs")
    p = by_name(v)["yrs_married"]
    assert statistics.median(values) == 9.0
    assert p.quantile(0.5) == 9.0 and p.quantiles_exact
    assert p.quantile(0.25) == float(np.quantile(values, 0.25))
    assert p.distinct == 7 and p.distinct_exact
    table = datasets.describe(ws, "affairs")
    assert table.loc[0, "median"] == "9" and table.loc[0, "distinct"] == "7"


def test_distinct_counts_are_exact_and_never_above_the_rows(ws: Workspace) -> None:
    rng = np.random.default_rng(1)
    n = 53_940  # the size of seaborn's diamonds table
    frame = pd.DataFrame(
        {
            "price": rng.integers(300, 19_000, n),
            "carat": rng.normal(0.8, 0.4, n).round(2),
            "depth": rng.normal(61.7, 1.4, n),
            "cut": rng.choice(["Fair", "Good", "Ideal"], n),
        }
    )
    v = wb.log_dataset(frame, "diamonds")
    for p in by_name(v).values():
        assert p.distinct == frame[p.name].nunique() and p.distinct_exact
        assert p.distinct <= n


def test_estimates_are_marked_where_shown(ws: Workspace, monkeypatch, capsys) -> None:
    # Above EXACT_DISTINCT_ROWS, decimals get a HyperLogLog estimate: capped and marked.
    monkeypatch.setattr(profiles, "EXACT_DISTINCT_ROWS", 10)
    frame = pd.DataFrame({"amount": [f"{i}.5" for i in range(200)]})
    frame["amount"] = frame["amount"].map(Decimal)
    v = wb.log_dataset(frame, "money")
    p = by_name(v)["amount"]
    assert not p.distinct_exact and p.distinct <= 200
    assert datasets.describe(ws, "money").loc[0, "distinct"].startswith("≈")
    assert main(["datasets", "show", "money"]) == 0
    assert f"≈{p.distinct:,}" in capsys.readouterr().out
    # a t-digest median of a version profiled before schema step 11 is marked too
    old = ColumnProfile(
        0,
        "x",
        "DOUBLE",
        "float",
        3,
        0,
        0,
        3,
        True,
        "1",
        "3",
        1.0,
        3.0,
        2.0,
        1.0,
        quantiles=(1.0, 2.0, 3.0),
    )
    assert datasets.profile_table([old], 3).loc[0, "median"] == "≈2"


def test_a_fraction_is_never_shown_as_a_whole_number(ws: Workspace, capsys) -> None:
    """A mean and median of 599,999.5 were shown as 600,000 (6 significant digits), an
    exact-looking figure that is not the value; 6 digits stay where they show a fraction."""
    wb.log_dataset(pd.DataFrame({"x": [599_999, 600_000], "y": [1.23456789, 2.0]}), "half")
    row = datasets.describe(ws, "half").set_index("column")
    assert row.loc["x", "mean"] == row.loc["x", "median"] == "599,999.5"
    assert row.loc["y", "mean"] == "1.61728"  # rounded, and visibly a fraction
    assert main(["datasets", "show", "half"]) == 0
    out = capsys.readouterr().out
    assert "599,999.5" in out and "rounded to 6 significant digits" in out
    # a subnormal's shortest text, not its binary neighbourhood (9.99989e-321)
    wb.log_dataset(
        pd.DataFrame({"tiny": [1e-320, 1e-320], "big": [1234567.89, 1234567.89]}), "tiny"
    )
    row = datasets.describe(ws, "tiny").set_index("column")
    assert row.loc["tiny", "mean"] == "1e-320" and row.loc["big", "median"] == "1,234,567.89"
    # as many digits as show the fraction, not float noise (333,334.5333333333)
    wb.log_dataset(pd.DataFrame({"m": [1.1, 2.5, 1_000_000.0]}), "noise")
    assert datasets.describe(ws, "noise").loc[0, "mean"] == "333,334.5"


def test_dates_are_shown_as_dates(ws: Workspace) -> None:
    frame = pd.DataFrame(
        {
            "day": pd.to_datetime(["2013-01-01", "2014-06-01", "2015-01-01"]).date,
            "at": pd.to_datetime(["2013-01-01 10:00", "2014-06-01 00:00", "2015-01-01 00:00"]),
        }
    )
    wb.log_dataset(frame, "days")
    table = datasets.describe(ws, "days").set_index("column")
    assert table.loc["day", "median"] == "2014-06-01"
    assert table.loc["at", "median"] == "2014-06-01 00:00:00"


def test_the_page_shows_non_finite_counts_and_finite_extremes(
    ws: Workspace, tmp_path: Path, monkeypatch
) -> None:
    from tests.test_pages import run_page
    from workbench.ui import nav

    monkeypatch.setenv("WORKBENCH_WATCH", "0")
    path = write_csv(tmp_path / "nf.csv", "id,x", ["1,1.5", "2,nan", "3,inf", "4,-inf", "5,2.5"])
    wb.log_dataset(path, "nf")
    at = run_page(nav.DATASETS)
    assert not at.exception and not at.error
    profile = at.dataframe[1].value.set_index("column")
    assert profile.loc["x", ["NaN", "+inf", "-inf", "min", "max"]].tolist() == [
        "1",
        "1",
        "1",
        "1.5",
        "2.5",
    ]
    assert any("≈ marks an estimate" in c.value for c in at.caption)


# -- property: any valid table profiles, and passes the contract inferred from it --------------

finite_or_not = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(
    [BIG, -BIG, 5e-324, -0.0, 1e308, -1e308, 1717171717000000000.0]
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.integers(1, 25),
    floats=st.lists(finite_or_not, min_size=25, max_size=25),
    ints=st.lists(st.integers(-(2**63), 2**63 - 1), min_size=25, max_size=25),
    constant=st.sampled_from([0.0, 1e300, -BIG, 1717171717000000000.0]),
    null_every=st.integers(0, 4),
)
def test_any_table_profiles_and_passes_its_own_contract(
    rows: int, floats: list[float], ints: list[int], constant: float, null_every: int
) -> None:
    from workbench.store import contracts as contract_checks
    from workbench.store import snapshots

    f = pd.Series(floats[:rows], dtype="float64")
    i = pd.Series(ints[:rows], dtype="Int64")
    if null_every:
        i[:: null_every + 1] = pd.NA
    frame = pd.DataFrame(
        {"f": f, "i": i, "c": [constant] * rows, "t": pd.Series(["yes", "no", None] * 9)[:rows]}
    )
    with Scratch() as s:
        snapshots.load_frame(s, frame, label="frame")
        # CSV text keeps NaN apart from NULL (a DataFrame's NaN arrives as NULL)
        s.sql(
            "CREATE OR REPLACE TABLE src AS SELECT * REPLACE (CASE WHEN row_number() OVER () "
            "% 7 = 3 THEN CAST('nan' AS DOUBLE) ELSE f END AS f) FROM src"
        )
        columns = snapshots.normalize(s, "frame")
        prof = profiles.profile(s, columns)
        for p in prof:
            if p.is_numeric:
                assert_sane(p)
        spec = contracts.validate(contracts.infer(prof))
        results = contract_checks.check(s, columns, spec)
        assert contract_checks.check(s, columns, spec, profile=prof) == results
        failed = [c for c in results if not c.passed]
        # a stricter contract fails the same way with and without the profile's help
        for rule in spec["columns"]:
            rule |= {"nullable": False, "max_non_finite": 0.0, "allowed": ["yes"]}
            if rule["min"] is not None and rule["max"] is not None:
                rule["min"], rule["max"] = rule["min"] / 2 + rule["max"] / 2, rule["max"]
        strict = contract_checks.check(s, columns, spec)
        assert contract_checks.check(s, columns, spec, profile=prof) == strict
    assert not failed, failed


def test_the_editor_keeps_an_old_contracts_non_finite_rule() -> None:
    old = {
        "columns": [
            {
                "name": "x",
                "type": "float",
                "required": True,
                "nullable": False,
                "min": 0.0,
                "max": 1.0,
                "allowed": None,
            }
        ],
        "key": None,
        "allow_extra_columns": True,
        "min_rows": 1,
        "max_rows": None,
    }
    table = contracts.to_editor(old)
    assert table.loc[0, "max non-finite share"] == "0.0"
    back = contracts.from_editor(
        table, key=None, allow_extra_columns=True, min_rows=1, max_rows=None
    )
    assert back["columns"][0]["max_non_finite"] == 0.0
    table.loc[0, "max non-finite share"] = "2"
    with pytest.raises(contracts.InvalidInput, match="from 0 to 1"):
        contracts.from_editor(table, key=None, allow_extra_columns=True, min_rows=1, max_rows=None)


def test_a_constant_column_has_std_exactly_0(ws: Workspace, tmp_path: Path) -> None:
    """Issue #14 trial: `datasets show` printed std 256.642 for 1717171717000000000 on
    every row and 1.49e+284 for 1e300 on every row (deviations from an inexact mean)."""
    for value in ("1717171717000000000", "1e300", "-1e300", "0.1"):
        name = "c" + str(abs(hash(value)))
        path = write_csv(tmp_path / f"{name}.csv", "id,x", [f"{i},{value}" for i in range(30)])
        p = by_name(wb.log_dataset(path, name))["x"]
        assert p.std == 0.0 and p.mean == float(value), (value, p.std, p.mean)
    spread = profiles.describe_values(np.array([1e300, 2e300, 1e300, 2e300]))
    assert spread["std"] == pytest.approx(5.773502691896258e299)


# -- issue #14: levels beyond the top list ------------------------------------------------------


def test_the_tail_sketch_holds_the_levels_with_the_smallest_hashes(ws: Workspace) -> None:
    """A text column with 3,500 levels: the profile lists the 1,000 most frequent; of the
    2,500 beyond, the 1,024 with the smallest MD5-based hashes are kept with their exact
    counts; levels seen once are counted over every level. Checked against pandas and
    hashlib, through the store (registered, read back)."""
    import hashlib

    rng = np.random.default_rng(4)
    values = np.concatenate(
        [
            np.repeat([f"head{i}" for i in range(1000)], 4),
            [f"tail{i}" for i in rng.integers(0, 3000, 4000)],
        ]
    )
    frame = pd.DataFrame({"c": rng.permutation(values), "flag": ["yes", "no"] * 4000})
    found = by_name(wb.log_dataset(frame, "levels"))
    p = found["c"]
    counts = frame["c"].value_counts()
    assert p.singletons == int((counts == 1).sum())
    assert p.distinct == len(counts) and p.other_count == 8000 - sum(p.top_counts)
    tail = counts.drop(list(p.top_values))
    hashed = sorted(
        (int(hashlib.md5(v.encode()).hexdigest()[:16], 16), int(c)) for v, c in tail.items()
    )[: profiles.SKETCH_SIZE]
    assert list(p.tail_hashes) == [h for h, _ in hashed]
    assert list(p.tail_counts) == [c for _, c in hashed]
    assert profiles.level_hash("héllo") == int(hashlib.md5("héllo".encode()).hexdigest()[:16], 16)
    flag = found["flag"]  # a complete list needs no sample
    assert flag.singletons == 0 and flag.tail_hashes == () and flag.other_count == 0


def test_a_tail_replaced_is_found_through_the_registered_versions(ws: Workspace) -> None:
    """The drift report of two registered versions (the SDK, the store, the report) sees a
    tail replaced beyond both top lists: the sketches survive the round trip."""
    from workbench.drift import report as reports

    head = np.repeat([f"H{i:04d}" for i in range(1200)], 5)
    ref = np.concatenate([head, np.repeat([f"r{i}" for i in range(2000)], 2)])
    cur = np.concatenate([head, np.repeat([f"q{i}" for i in range(2000)], 2)])
    a = wb.log_dataset(pd.DataFrame({"c": ref}), "tail")
    b = wb.log_dataset(pd.DataFrame({"c": cur}), "tail")
    report = reports.run_report(wb.workspace(), a.ref, b.ref)
    (result,) = report.results
    assert result.verdict == "major drift", result.sentence
    assert "of the current rows are in levels the reference lacks" in result.sentence
