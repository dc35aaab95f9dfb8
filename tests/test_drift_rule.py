"""The drift rule (``workbench.drift.stats``) on planted drifts and on samples of one distribution.

Profiles come from generated data through the real profiler (``store.profiles.profile``
on an in-memory scratch DuckDB, as ``workbench drift files`` does), so the rule is tested
on what registration stores. Every planted drift of issue #14 is found from 1,000 rows
per side; 25 pairs of same-distribution samples at 500, 1,000, 10,000 and 100,000 rows
give no drift at all.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from workbench.drift import stats as drift
from workbench.store import profiles, snapshots
from workbench.store.entities import ColumnProfile

LEVELS = [f"level{i}" for i in range(10)]


def profile_of(frame: pd.DataFrame) -> tuple[ColumnProfile, ...]:
    with snapshots.Scratch() as scratch:
        snapshots.load_frame(scratch, frame, label="the sample")
        return profiles.profile(scratch, snapshots.normalize(scratch, "the sample"))


def compare(reference: pd.DataFrame, current: pd.DataFrame, **kw) -> dict[str, drift.ColumnDrift]:
    results = drift.compare(profile_of(reference), profile_of(current), **kw)
    json.dumps([r.stats for r in results], allow_nan=False)  # every figure is JSON
    return {r.column: r for r in results}


def with_nan(values: np.ndarray) -> pd.Series:
    """A float column whose NaN stay NaN (pandas' float64 would read them as missing)."""
    return pd.Series(pa.array(values, from_pandas=False), dtype=pd.ArrowDtype(pa.float64()))


def normal(seed: int, n: int, shift: float = 0.0, scale: float = 1.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(shift, scale, n)


def ramp_shares() -> np.ndarray:
    p = np.linspace(1, 2, 10)  # 6.7 % to 13.3 %: the extremes 2:1
    return p / p.sum()


# ------------------------------------------------------------------ planted drifts


def test_a_mean_shift_of_0_3_sd_is_drift_at_1000_rows() -> None:
    """Issue #14: with KS alone (a quantile-sketch D) 2 of 5 such columns were 'not enough
    evidence'; Welch's t from mean, sd and count finds every one."""
    ref = pd.DataFrame({f"x{i}": normal(10 + i, 1000) for i in range(5)})
    cur = pd.DataFrame({f"x{i}": normal(20 + i, 1000, shift=0.3) for i in range(5)})
    res = compare(ref, cur)
    assert [r.verdict for r in res.values()].count("not enough evidence") == 0
    assert all(r.drifted for r in res.values()), {c: r.verdict for c, r in res.items()}
    assert all("(mean +0." in r.sentence for r in res.values())


def test_a_scale_change_is_drift_at_1000_rows() -> None:
    res = compare(
        pd.DataFrame({"x": normal(1, 1000)}), pd.DataFrame({"x": normal(2, 1000, scale=1.5)})
    )
    assert res["x"].drifted, res["x"]


def test_null_share_up_and_down_is_drift_both_ways() -> None:
    """Same values, nulls 0 % -> 50 % and back: both drift (they were 'not enough
    evidence' and 'no drift': the test looked at the non-null values only)."""
    values = normal(3, 1000)
    holed = pd.Series(values).mask(np.random.default_rng(4).random(1000) < 0.5)
    full, half = pd.DataFrame({"x": values}), pd.DataFrame({"x": holed})
    up, down = compare(full, half)["x"], compare(half, full)["x"]
    assert up.verdict == down.verdict == "major drift"
    share = holed.isna().mean()
    assert f"nulls 0% -> {share:.1%} of rows" in up.sentence
    assert f"nulls {share:.1%} -> 0% of rows" in down.sentence
    assert up.stats["null_rate_change"] == pytest.approx(share)
    # the same for a text column
    text = pd.Series(np.random.default_rng(5).choice(["a", "b"], 1000))
    up = compare(pd.DataFrame({"t": text}), pd.DataFrame({"t": text.mask(holed.isna())}))["t"]
    assert up.drifted and "nulls 0% -> " in up.sentence


@pytest.mark.parametrize("n", [1000, 5000])
def test_infinities_are_part_of_the_distribution(n: int) -> None:
    """Reference normal values; current the same with 30 % of rows +inf: drift (it was
    'no drift': the infinities were invisible)."""
    values = normal(6, n)
    cur = values.copy()
    cur[np.random.default_rng(7).random(n) < 0.3] = np.inf
    res = compare(pd.DataFrame({"x": values}), pd.DataFrame({"x": cur}))["x"]
    share = np.isinf(cur).mean()
    assert res.verdict == "major drift"
    assert f"+inf 0% -> {share:.1%} of rows" in res.sentence
    assert res.effect == pytest.approx(share)
    # NaN and -inf each count apart, and a drop is drift as well
    both = values.copy()
    both[:100], both[100:200] = np.nan, -np.inf
    res = compare(pd.DataFrame({"x": with_nan(both)}), pd.DataFrame({"x": values}))["x"]
    part = f"{100 / n:.1%} -> 0% of rows"
    assert res.drifted and f"NaN {part}" in res.sentence and f"-inf {part}" in res.sentence
    assert "nulls" not in res.sentence


def test_new_levels_are_drift_and_each_is_named_with_its_own_share() -> None:
    rng = np.random.default_rng(8)
    ref = pd.DataFrame({"c": rng.choice(list("ABC"), 1000)})
    cur = pd.DataFrame({"c": rng.choice(list("HIJ"), 1000, p=[0.502, 0.3, 0.198])})
    res = compare(ref, cur)["c"]
    h, i, j = ((cur["c"] == v).mean() for v in "HIJ")
    assert res.verdict == "major drift"
    assert f"new values 'H' {h:.1%}, 'I' {i:.1%}, 'J' {j:.1%} of rows" in res.sentence
    assert "100.0%" not in res.sentence  # the old sentence gave 'H' every new row
    # one new level at 5 %
    plain = rng.choice(list("ABC"), 1000)
    cur = pd.DataFrame({"c": np.where(rng.random(1000) < 0.05, "new", plain)})
    res = compare(ref, cur)["c"]
    share = (cur["c"] == "new").mean()
    assert res.drifted and f"new value 'new' in {share:.1%} of rows" in res.sentence


@pytest.mark.parametrize("n", [1000, 1_000_000])
def test_a_relative_change_of_level_shares_is_drift(n: int) -> None:
    """10 levels at 10 % each move to a ramp from 6.7 % to 13.3 %: no level moves 5
    points and PSI stays under 0.1 (it was 'no drift' at every size), but the extremes
    change by a third of their share."""
    rng = np.random.default_rng(9)
    ref = pd.DataFrame({"c": rng.choice(LEVELS, n)})
    cur = pd.DataFrame({"c": rng.choice(LEVELS, n, p=ramp_shares())})
    res = compare(ref, cur)["c"]
    assert res.verdict == "drift", res
    assert res.stats["largest_share_change"] < 0.05 and res.stats["psi"] < 0.1


def test_a_replaced_long_tail_is_drift() -> None:
    """Three common levels (70 %) and a tail of 60 levels of about 5 rows each; the current
    keeps the head and replaces the tail with 60 other levels. Each new level is too rare
    for the chi-square table, yet together they hold 30 % of the rows."""
    rng = np.random.default_rng(10)

    def sample(tail: str) -> pd.DataFrame:
        head = rng.choice(["a", "b", "c"], 700)
        rest = [f"{tail}{i}" for i in rng.integers(0, 60, 300)]
        return pd.DataFrame({"c": np.concatenate([head, rest])})

    res = compare(sample("old"), sample("new"))["c"]
    assert res.drifted, res
    assert res.stats["unseen_share"] > 0.25
    assert "new values 'new" in res.sentence and "30.0% in all" in res.sentence


def test_an_identifier_column_is_not_tested_and_says_why() -> None:
    """10,000 distinct ids, half replaced by new ones: a profile keeps the 1,000 most
    frequent values, so new ids cannot be told from old ones. Never 'not enough evidence'
    with a sentence calling an id of the reference new 'in 10% of rows'."""
    ids = np.array([f"id{i:05d}" for i in range(10_000)])
    cur = ids.copy()
    cur[np.random.default_rng(11).choice(10_000, 5_000, replace=False)] = [
        f"id{i:05d}" for i in range(10_000, 15_000)
    ]
    res = compare(pd.DataFrame({"id": ids}), pd.DataFrame({"id": cur}))["id"]
    assert res.verdict == "not tested"
    assert "identifier-like (10,000 distinct values in 10,000 rows" in res.sentence
    assert "new value '" not in res.sentence and "% of rows" not in res.sentence
    # a share rule measures the new ids through the hash samples (issue #14: "a verdict
    # the user can override"): half of them new is drift under share:0.05
    over = compare(
        pd.DataFrame({"id": ids}),
        pd.DataFrame({"id": cur}),
        overrides={"id": drift.Override("share", 0.05)},
    )["id"]
    assert over.verdict == "major drift" and "(override" in over.method
    assert over.effect == pytest.approx(0.5, abs=0.05)
    # and what the profile can see still counts: a value taking half the rows
    cur[:5000] = "H"
    res = compare(pd.DataFrame({"id": ids}), pd.DataFrame({"id": cur}))["id"]
    assert res.verdict == "major drift"
    assert "share of 'H' at most 0.01% -> 50.0%" in res.sentence


def test_levels_beyond_the_top_list_count_in_the_test_and_the_sentences() -> None:
    """2,000 levels: a profile lists 1,000. A level absent from the reference's list is not
    'new' when it can hide in the reference's other bucket: its share there is a bound."""
    rng = np.random.default_rng(12)
    names = np.array([f"v{i:04d}" for i in range(2000)])
    p = 1 / np.arange(1, 2001)
    ref = pd.DataFrame({"c": rng.choice(names, 50_000, p=p / p.sum())})
    cur = pd.DataFrame({"c": rng.choice(names, 50_000, p=p / p.sum())})
    res = compare(ref, cur)["c"]
    assert res.verdict == "no drift", res
    assert "new value" not in res.sentence
    assert res.stats["reference_levels_complete"] == 0.0


# ------------------------------------------------------------------ the sentences


def test_a_constant_reference_is_said_so_and_its_effect_is_finite() -> None:
    rng = np.random.default_rng(13)
    ref = pd.DataFrame({"year": [2007] * 500})
    cur = pd.DataFrame({"year": rng.choice([2007, 2009, 2011], 500)})
    res = compare(ref, cur)["year"]
    assert res.verdict == "major drift"
    assert "year: constant in the reference (2,007); current median" in res.sentence
    assert "sd" not in res.sentence
    assert np.isfinite(res.effect) and res.stats["wasserstein_std"] is None


def test_dates_and_timestamps_are_printed_as_such() -> None:
    ref = pd.DataFrame(
        {
            "day": pd.date_range("2013-01-01", periods=1000).date,
            "at": pd.date_range("2013-01-01", periods=1000, freq="h"),
        }
    )
    cur = pd.DataFrame(
        {
            "day": pd.date_range("2015-01-01", periods=1000).date,
            "at": pd.date_range("2015-01-01", periods=1000, freq="h"),
        }
    )
    res = compare(ref, cur)
    # the profile's quantiles are exact order statistics here, so no "≈"
    assert res["day"].sentence.startswith("day: median 2014-0")
    assert "-> 2016-0" in res["day"].sentence
    assert res["at"].sentence.startswith("at: median 2013-01-2")
    assert "-> 2015-01-2" in res["at"].sentence and ":00 " in res["at"].sentence


def test_the_same_values_in_another_type_are_no_drift() -> None:
    """Found by a newcomer: 7 against 7.0 was "major drift ... every row differs" (the exact
    extremes compared as text), and a day column against the same days as timestamps was
    "major drift 669.6" (days since 1970 against seconds). One axis, compared by value."""
    days = pd.date_range("2024-01-01", periods=1000, freq="h").floor("D")
    ref = pd.DataFrame({"qty": [7] * 1000, "n": np.arange(1000), "day": days})
    cur = pd.DataFrame({"qty": [7.0] * 1000, "n": np.arange(1000.0), "day": days.date})
    res = compare(ref, cur)
    assert [res[c].verdict for c in ("qty", "n", "day")] == ["no drift"] * 3, res
    assert "every row differs" not in res["qty"].sentence
    assert (
        res["day"].sentence == "day: median 2024-01-21 00:00:00 -> 2024-01-21 00:00:00 "
        "(mean -0.00 sd)"
    )
    moved = compare(ref, cur.assign(qty=7.5, day=(days + pd.Timedelta(days=30)).date))
    assert moved["qty"].verdict == "major drift" and "7.5" in moved["qty"].sentence
    assert moved["day"].verdict == "major drift"
    assert "-> 2024-02-20 00:00:00" in moved["day"].sentence


def test_a_number_turned_date_is_a_type_change_and_nulls_still_count() -> None:
    """Integers against dates were compared on one axis (days against the numbers). And a
    column all null in the reference (read as text) and filled now said only "type
    changed", so the report's verdict missed it; its null share is tested too."""
    n = 1000
    ref = pd.DataFrame({"when": np.arange(n), "score": pd.Series([None] * n, dtype=object)})
    cur = pd.DataFrame(
        {"when": pd.date_range("2024-01-01", periods=n).date, "score": np.linspace(0, 1, n)}
    )
    res = compare(ref, cur)
    assert res["when"].kind == "schema" and res["when"].verdict == "drift"
    assert res["when"].sentence.startswith("when: type changed BIGINT -> DATE")
    assert res["score"].verdict == "major drift", res["score"]
    assert (
        res["score"].sentence == "score: type changed VARCHAR -> DOUBLE; nulls 100.0% -> 0% of rows"
    )
    same = compare(ref, ref.assign(score=pd.Series(["x"] * n)))["when"]  # a filled text column
    assert same.verdict == "no drift"


# ------------------------------------------------------------------ no false alarms


SMALL = np.array([0.002, 0.003, 0.004, 0.005, 0.006, 0.008])
SMALL_SHARES = [*([(1 - SMALL.sum()) / 5] * 5), *SMALL]


def same_distribution(rng: np.random.Generator, n: int) -> pd.DataFrame:
    nan = rng.gamma(2.0, 1.0, n)
    nan[rng.random(n) < 0.03] = np.nan
    return pd.DataFrame(
        {
            "normal": rng.normal(0, 1, n),
            "skewed": rng.lognormal(0, 1, n),
            "integer": rng.integers(0, 20, n),
            "category": rng.choice(LEVELS, n, p=np.arange(1, 11) / 55),
            # five common levels and six small ones (0.2% to 0.8%): the small-level rule
            "small": rng.choice(
                [*LEVELS[:5], "s1", "s2", "s3", "s4", "s5", "s6"], n, p=SMALL_SHARES
            ),
            "with_nulls": pd.Series(rng.normal(50, 10, n)).mask(rng.random(n) < 0.05),
            "with_nan": with_nan(nan),
        }
    )


@pytest.mark.parametrize("n", [500, 1000, 10_000, 100_000])
def test_no_false_alarms_on_25_pairs_of_one_distribution(n: int) -> None:
    """No column of 25 same-distribution pairs drifts. 26 samples are profiled once each
    and paired in a chain (sample k against sample k + 1), so 100,000 rows x 25 pairs stays
    well under a minute. At 500 and 1,000 rows noise alone often reaches a material size:
    'not enough evidence' is the honest answer there; at 100,000 rows every column is
    'no drift'."""
    rng = np.random.default_rng(n)
    samples = [profile_of(same_distribution(rng, n)) for _ in range(26)]
    alarms, verdicts = [], []
    for k in range(25):
        results = drift.compare(samples[k], samples[k + 1])
        alarms += [(k, r.column, r.sentence) for r in results if r.drifted]
        verdicts += [r.verdict for r in results]
    assert alarms == []
    if n >= 100_000:
        assert set(verdicts) == {"no drift"}


def test_the_rule_text_is_generated_from_the_constants() -> None:
    assert f"q = {drift.Q_FDR:g}" in drift.RULE
    assert f"moves {drift.STATE_MATERIAL * 100:g} points, up or down" in drift.RULE


def test_the_rule_is_documented_once(capsys) -> None:
    """docs/guide/drift.md carries the generated text; the CLI prints it; nothing retypes
    the thresholds in prose."""
    from tests.conftest import ROOT
    from workbench.cli.main import main

    doc = (ROOT / "docs" / "guide" / "drift.md").read_text()
    section = doc.split("<!-- rule:start -->")[1].split("<!-- rule:end -->")[0]
    assert " ".join(section.split()) == " ".join(drift.RULE.split())
    assert main(["drift", "rule"]) == 0
    assert " ".join(capsys.readouterr().out.split()) == " ".join(drift.RULE.split())
    for path in ("app/drift/report.py", "pages/drift.py", "app/cli/drift.py"):
        assert "q = 0.01" not in (ROOT / path).read_text(), path


# ------------------------------------------------------------------ issue #14, second trial


def test_a_long_tail_replaced_beyond_the_top_levels_is_drift() -> None:
    """20 frequent levels, then 1,300 rare levels x 3 rows replaced by 1,300 others: both
    top-1,000 lists are cut off, yet the current's list holds 980 levels the reference's
    lacks while the reference has only 320 levels beyond its list, so at least 660 of them
    (1,980 rows, 44%) are proven new. The old rule said 'no drift'."""
    rng = np.random.default_rng(3)
    top = rng.choice([f"T{i}" for i in range(20)], 600)
    ref = np.concatenate([top, np.repeat([f"r{i}" for i in range(1300)], 3)])
    cur = np.concatenate([rng.permutation(top), np.repeat([f"q{i}" for i in range(1300)], 3)])
    r = compare(pd.DataFrame({"c": ref}), pd.DataFrame({"c": cur}))["c"]
    assert r.verdict == "major drift", r.sentence
    assert "at least 660 levels holding 44.0% of the current rows are new" in r.sentence
    assert r.stats["tail_unseen_share"] > 0.3
    assert r.effect == pytest.approx(r.stats["unseen_share"])  # the statistic that decided
    same = compare(pd.DataFrame({"c": ref}), pd.DataFrame({"c": rng.permutation(ref)}))["c"]
    assert same.verdict == "no drift", same.sentence


def test_a_share_rule_on_an_identifier_column_measures_its_new_values() -> None:
    """Issue #14 trials: cid=share:0.05 on 10,000 ids, half replaced, said 'no drift' while
    the sentence said the levels are not tested; then the rule did nothing. Now the rule
    measures the share of rows with ids the reference lacks (hash samples): half replaced
    is drift, the same ids reshuffled are 'no drift' (measured, not assumed)."""
    ids = [f"id{i:06d}" for i in range(10000)]
    cur = ids[:5000] + [f"nx{i:06d}" for i in range(5000)]
    ref_f, cur_f = pd.DataFrame({"cid": ids}), pd.DataFrame({"cid": cur})
    plain = compare(ref_f, cur_f)["cid"]
    assert plain.verdict == "not tested"
    assert "share:0.05" not in plain.sentence and "cid=ignore" in plain.sentence
    rule = {"cid": drift.Override("share", 0.05)}
    ruled = compare(ref_f, cur_f, overrides=rule)["cid"]
    assert ruled.verdict == "major drift", ruled.sentence
    assert "of the current rows hold values the reference lacks" in ruled.sentence
    same = compare(ref_f, pd.DataFrame({"cid": ids[::-1]}), overrides=rule)["cid"]
    assert same.verdict == "no drift" and same.effect == 0, same.sentence


def test_nothing_compared_is_never_no_drift(tmp_path, capsys) -> None:
    """Every column added or removed, or only identifier-like ones: the old dataset verdict
    was 'no drift ... 0 of 0 columns drifted'."""
    from workbench.cli.main import main
    from workbench.drift import report as reports

    renamed = drift.compare(
        profile_of(pd.DataFrame({"a": [1, 2, 3]})), profile_of(pd.DataFrame({"b": [1, 2, 3]}))
    )
    assert reports.dataset_verdict(renamed)[0] == "schema change"
    ids = pd.DataFrame({"cid": [f"id{i:06d}" for i in range(5000)]})
    other = pd.DataFrame({"cid": [f"nx{i:06d}" for i in range(5000)]})
    assert (
        reports.dataset_verdict(drift.compare(profile_of(ids), profile_of(other)))[0]
        == "nothing compared"
    )
    ref, cur = tmp_path / "ref.csv", tmp_path / "cur.csv"
    ref.write_text("a\n1\n2\n3\n")
    cur.write_text("b\n1\n2\n3\n")
    assert main(["--workspace", str(tmp_path / "ws"), "drift", "files", str(ref), str(cur)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("schema change:") and "no column compared" in out
    assert "0 of 0" not in out and "no drift" not in out.splitlines()[0]


def test_constant_columns_are_told_by_their_exact_values() -> None:
    """A constant 1e300 reference: 'constant in the reference', no overflow warning, a
    finite effect; an integer constant beyond 2**53 replaced by the next integer is major
    drift, printed exactly; timestamps 1 ns apart are not a constant."""
    import warnings

    big = 1717171717000000000
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning may reach users
        r = compare(
            pd.DataFrame({"x": [1e300] * 200}), pd.DataFrame({"x": [1e300] * 100 + [2e300] * 100})
        )["x"]
    assert r.drifted and "constant in the reference (1e+300)" in r.sentence, r.sentence
    assert 0 < r.effect <= 1 and "0" * 30 not in r.sentence
    r = compare(pd.DataFrame({"x": [big] * 200}), pd.DataFrame({"x": [big + 1] * 200}))["x"]
    assert r.verdict == "major drift", r.sentence
    assert f"share of '{big}' 100.0% -> 0%; new value '{big + 1}' in 100.0% of rows" in r.sentence
    # Issue #14 (second trial): half the rows changed was 'not enough evidence' (the DOUBLE
    # axis merges the two values, and the exact extremes prove only one row differs); the
    # column's exact value counts show how many.
    half = compare(
        pd.DataFrame({"x": [big] * 200}), pd.DataFrame({"x": [big] * 100 + [big + 1] * 100})
    )["x"]
    assert half.verdict == "major drift", half.sentence
    assert f"share of '{big}' 100.0% -> 50.0%" in half.sentence
    assert "1,717,171,717,000,000,000" not in half.sentence
    same = compare(
        pd.DataFrame({"x": [big] * 100 + [big + 1] * 100}),
        pd.DataFrame({"x": [big + 1] * 100 + [big] * 100}),
    )["x"]
    assert same.verdict == "no drift", same.sentence
    ts = pd.Series(pd.to_datetime(big + np.arange(60), unit="ns"))
    r = compare(pd.DataFrame({"t": ts}), pd.DataFrame({"t": ts}))["t"]
    assert "constant" not in r.sentence and r.verdict == "no drift"


def test_big_integers_are_not_printed_with_false_digits() -> None:
    """uint64 2**64-1 went through float64 and printed as 18,446,744,073,709,551,616."""
    top = 2**64 - 1
    ref = pd.read_csv(io.StringIO("u\n" + "\n".join(map(str, [top, top, top, 0, 7] * 40))))
    cur = pd.read_csv(io.StringIO("u\n" + "\n".join(map(str, [top, 0, 0, 0, 7] * 40))))
    assert str(ref["u"].dtype) == "uint64"
    r = compare(ref, cur)["u"]
    assert "18,446,744,073,709,551,616" not in r.sentence, r.sentence
    assert f"share of '{top}' 60.0% -> 20.0%" in r.sentence  # value counts: exact


def test_a_scale_change_names_the_sd() -> None:
    r = compare(
        pd.DataFrame({"v": normal(1, 1000)}), pd.DataFrame({"v": normal(2, 1000, scale=1.5)})
    )["v"]
    assert r.drifted and "sd " in r.sentence and "(x1.5" in r.sentence, r.sentence
    assert r.stats["sd_ratio"] == pytest.approx(1.5, abs=0.1)


# ------------------------------------------------------------------ beyond the top lists


def tail_pair(rng: np.random.Generator, tail_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """1,200 frequent levels x 5 rows (both top-1,000 lists hold the same 1,000 of them),
    then a tail of 2,000 levels x ``tail_rows`` rows that the current replaces with 2,000
    other levels: every replaced level lies beyond both lists."""
    head = np.repeat([f"H{i:04d}" for i in range(1200)], 5)
    ref = np.concatenate([head, np.repeat([f"r{i}" for i in range(2000)], tail_rows)])
    cur = np.concatenate(
        [rng.permutation(head), np.repeat([f"q{i}" for i in range(2000)], tail_rows)]
    )
    return ref, cur


def test_a_tail_replaced_beyond_both_top_lists_is_drift() -> None:
    """Issue #14 (second trial): a tail beyond both profiles' top-1,000 lists replaced by
    other levels was 'no drift' with a sentence saying those rows cannot be compared. The
    profiles' hash samples of their tails now show it: 4,000 of 10,000 current rows are in
    levels the reference lacks, where chance (no value is seen once) brings none."""
    ref, cur = tail_pair(np.random.default_rng(21), tail_rows=2)
    r = compare(pd.DataFrame({"c": ref}), pd.DataFrame({"c": cur}))["c"]
    assert r.verdict == "major drift", r.sentence
    assert r.stats["new_rows_estimate"] == pytest.approx(0.4, abs=0.04)
    assert r.stats["gone_rows_estimate"] == pytest.approx(0.4, abs=0.04)
    assert r.stats["new_rows_chance"] == 0.0
    assert "of the current rows are in levels the reference lacks" in r.sentence
    assert "levels beyond its top list sampled by hash" in r.sentence
    assert "cannot be compared" not in r.sentence
    same = compare(pd.DataFrame({"c": ref}), pd.DataFrame({"c": rng_perm(ref)}))["c"]
    assert same.verdict == "no drift", same.sentence
    assert "cannot be compared" not in same.sentence and same.stats["new_rows_estimate"] == 0


def rng_perm(values: np.ndarray) -> np.ndarray:
    return np.random.default_rng(5).permutation(values)


def test_a_replaced_tail_of_values_seen_once_is_not_enough_evidence() -> None:
    """Issue #14 (second trial, `longtail`): 20 frequent levels (6,000 rows) and 4,000
    values seen once, replaced by 4,000 other values seen once. A second sample of a
    distribution with that many rare values shows as many new ones by chance (Good-Turing:
    40% of the reference rows hold a value seen once), so no profile can tell the two
    apart: never 'no drift', and the sentence says why."""
    rng = np.random.default_rng(1)
    head = rng.choice([f"H{i}" for i in range(20)], 6000)
    ref = np.concatenate([head, [f"r{i}" for i in range(4000)]])
    cur = np.concatenate([rng.permutation(head), [f"q{i}" for i in range(4000)]])
    r = compare(pd.DataFrame({"c": ref}), pd.DataFrame({"c": cur}))["c"]
    assert r.verdict == "not enough evidence", r.sentence
    assert "40.0% of the current rows are values the reference lacks" in r.sentence
    assert "40.0% of the reference rows hold a value seen once" in r.sentence
    assert "cannot be told from sampling" in r.sentence
    same = compare(pd.DataFrame({"c": ref}), pd.DataFrame({"c": rng.permutation(ref)}))["c"]
    assert same.verdict == "no drift", same.sentence


@pytest.mark.parametrize("n", [10_000, 100_000])
def test_no_false_alarms_on_long_tailed_columns(n: int) -> None:
    """A Zipf-like column over 30,000 levels (both top lists cut off, thousands of levels
    in each tail, many seen once): 10 pairs of same-distribution samples, compared through
    the tail sketches. No drift; the estimated new share is near what chance predicts."""
    rng = np.random.default_rng(n + 7)
    levels = np.array([f"city{i}" for i in range(30_000)])
    p = 1 / np.arange(1, 30_001) ** 1.05
    p /= p.sum()
    samples = [profile_of(pd.DataFrame({"city": rng.choice(levels, n, p=p)})) for _ in range(11)]
    gaps = []
    for k in range(10):
        (r,) = drift.compare(samples[k], samples[k + 1])
        assert not r.drifted, r.sentence
        assert r.stats["new_rows_estimate"] is not None  # the sketches were used
        gaps.append(r.stats["new_rows_estimate"] - r.stats["new_rows_chance"])
    assert abs(float(np.mean(gaps))) < 0.02, gaps


def test_values_near_the_largest_double_never_break_a_report() -> None:
    """Issue #14 trial: a column of +-1e308 crashed the report with OverflowError (Welch's
    t scaled by 2**1024) and numpy overflow warnings (W1 on differences of 2e308)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        same = compare(
            pd.DataFrame({"b": [1e308, -1e308] * 100}),
            pd.DataFrame({"b": [1e308, -1e308] * 100 + [0.0]}),
        )["b"]
        moved = compare(
            pd.DataFrame({"b": [1.7e308, -1.7e308] * 100}),
            pd.DataFrame({"b": [1.7e308, 1.7e308] * 100}),
        )["b"]
    assert not same.drifted, same.sentence
    assert moved.verdict == "major drift" and 0 < moved.effect <= 1, moved


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ({"XX": 0.0}, {"XX": 0.008}),  # a new country in 0.8% of the rows
        ({"UK": 0.009}, {"UK": 0.0}),  # a country of 0.9% gone
        ({"R": 0.01}, {"R": 0.003}),  # 1% -> 0.3%
        ({"R": 0.003}, {"R": 0.009}),  # 0.3% -> 0.9%
    ],
)
def test_a_small_level_that_appears_vanishes_or_moves_threefold_is_drift(before, after) -> None:
    """Issue #14 trial: below 1 point a level's change was never material, so a new
    country in 8,000 of 1,000,000 rows was 'no drift' (and --fail-on-drift exited 0). Now
    a level multiplied or divided by 2 or more, holding at least 0.1% of the rows on one
    side, is tested on its own (Fisher, Bonferroni over the levels)."""
    rng = np.random.default_rng(len(str(before)))
    n, main = 200_000, ["DE", "FR", "IT", "ES", "NL"]

    def sample(extra: dict[str, float]) -> pd.DataFrame:
        ((level, share),) = extra.items()
        p = [(1 - share) / 5] * 5 + ([share] if share else [])
        return pd.DataFrame({"country": rng.choice(main + ([level] if share else []), n, p=p)})

    r = compare(sample(before), sample(after))["country"]
    assert r.drifted, r.sentence
    level = next(iter(before))
    assert f"share of {level!r}" in r.sentence


def test_a_constant_timestamp_moved_by_one_nanosecond_is_printed_to_the_nanosecond() -> None:
    """Issue #14 trial: the verdict was right, but both values printed as 00:00:00."""
    t = pd.Timestamp("2024-01-01")
    r = compare(
        pd.DataFrame({"t": [t] * 1000}), pd.DataFrame({"t": [t + pd.Timedelta(1, "ns")] * 1000})
    )["t"]
    assert r.verdict == "major drift"
    assert "current median 2024-01-01 00:00:00.000000001" in r.sentence, r.sentence
