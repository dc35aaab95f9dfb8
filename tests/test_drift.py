"""Drift from stored profiles: agreement with scipy, the decision rule at 1M rows, shifted
columns found, and awkward columns handled."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from workbench import sdk as wb
from workbench.datasets import versions as datasets
from workbench.drift import stats as drift
from workbench.store.workspace import Workspace


def profiles(ws: Workspace, reference: pd.DataFrame, current: pd.DataFrame, name: str = "d"):
    a = wb.log_dataset(reference, name)
    b = wb.log_dataset(current, name)
    return datasets.get_profile(ws, a), datasets.get_profile(ws, b)


def by_column(results: list[drift.ColumnDrift]) -> dict[str, drift.ColumnDrift]:
    return {r.column: r for r in results}


def test_agreement_with_scipy(ws: Workspace) -> None:
    """Tolerance for the binned approximation: KS D within 0.01, W1 within 0.01 reference
    sd; Jensen-Shannon (base 2) and the chi-square p-value exact on the same counts."""
    rng = np.random.default_rng(1)
    n = 50_000
    ref = pd.DataFrame(
        {
            "x": rng.normal(0, 1, n),
            "y": rng.gamma(2, 3, n),
            "c": rng.choice(list("abc"), n, p=[0.5, 0.3, 0.2]),
        }
    )
    cur = pd.DataFrame(
        {
            "x": rng.normal(0.3, 1.2, n),
            "y": rng.gamma(2.2, 3, n),
            "c": rng.choice(list("abcd"), n, p=[0.4, 0.3, 0.2, 0.1]),
        }
    )
    res = by_column(drift.compare(*profiles(ws, ref, cur)))
    for col in ("x", "y"):
        ks = stats.ks_2samp(ref[col], cur[col]).statistic
        w1 = stats.wasserstein_distance(ref[col], cur[col]) / ref[col].std()
        assert res[col].stats["ks_d"] == pytest.approx(ks, abs=0.01)
        assert res[col].stats["wasserstein_std"] == pytest.approx(w1, abs=0.01)
    levels = ["a", "b", "c", "d"]
    ca = ref["c"].value_counts().reindex(levels, fill_value=0)
    cb = cur["c"].value_counts().reindex(levels, fill_value=0)
    js = jensenshannon(ca / ca.sum(), cb / cb.sum(), base=2)
    assert res["c"].stats["js_distance"] == pytest.approx(js, abs=1e-9)
    p = stats.chi2_contingency(np.vstack([ca, cb]), correction=False).pvalue
    assert res["c"].p_value == pytest.approx(p, rel=1e-9, abs=1e-300)
    assert res["c"].stats["unseen_share"] == pytest.approx(cb["d"] / cb.sum())


def test_method_selection_by_column_type(ws: Workspace) -> None:
    ref = pd.DataFrame(
        {
            "n": [1.0, 2.0, 3.0] * 10,
            "t": ["a", "b", "c"] * 10,
            "flag": [True, False, True] * 10,
            "k": [1, 2, 3] * 10,
        }
    )
    cur = ref.assign(k=["1", "2", "3"] * 10)  # retyped to text
    res = by_column(drift.compare(*profiles(ws, ref, cur)))
    assert res["n"].kind == "numeric" and res["n"].method == "KS + Welch t + Wasserstein/std + PSI"
    assert res["t"].kind == res["flag"].kind == "categorical"
    assert res["t"].method == "chi-square + share change + PSI + JS"
    assert res["k"].kind == "schema" and "type changed BIGINT -> VARCHAR" in res["k"].sentence


@pytest.mark.slow
def test_no_drift_between_two_samples_of_one_distribution_at_1m_rows(ws: Workspace) -> None:
    rng = np.random.default_rng(2)

    def sample(n: int) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "income": rng.lognormal(10, 0.5, n),
                "age": rng.integers(18, 90, n),
                "score": rng.normal(0, 1, n),
                "plan": rng.choice(["basic", "pro", "team"], n, p=[0.6, 0.3, 0.1]),
            }
        )

    results = drift.compare(*profiles(ws, sample(1_000_000), sample(1_000_000)))
    assert [r.verdict for r in results] == ["no drift"] * 4, [(r.column, r.stats) for r in results]


def test_shifted_columns_are_called_and_the_rest_are_not(ws: Workspace) -> None:
    rng = np.random.default_rng(3)
    n = 100_000

    def sample(shift: bool) -> pd.DataFrame:
        plan_p = [0.18, 0.45, 0.37] if shift else [0.30, 0.40, 0.30]
        return pd.DataFrame(
            {
                "income": rng.normal(47_500 if shift else 41_000, 12_000, n),
                "tenure": rng.exponential(24, n),
                "plan": rng.choice(["basic", "pro", "team"], n, p=plan_p),
                "region": rng.choice(["north", "south"], n),
                "tiny": rng.normal(0.03 if shift else 0.0, 1, n),  # real but negligible
            }
        )

    res = by_column(drift.compare(*profiles(ws, sample(False), sample(True))))
    assert res["income"].drifted and res["plan"].drifted
    assert "share of 'basic' 29.9% -> 18.2%" in res["plan"].sentence
    assert not res["tenure"].drifted and not res["region"].drifted
    tiny = res["tiny"]
    assert tiny.verdict == "no drift" and tiny.p_value < 0.01  # significant, not material


def test_small_samples_say_not_enough_evidence(ws: Workspace) -> None:
    rng = np.random.default_rng(4)
    ref = pd.DataFrame({"x": rng.normal(0, 1, 12)})
    cur = pd.DataFrame({"x": rng.normal(0.4, 1, 12)})
    [result] = drift.compare(*profiles(ws, ref, cur))
    assert result.verdict == "not enough evidence"


def test_awkward_columns_do_not_crash(ws: Workspace) -> None:
    ref = pd.DataFrame(
        {
            "const": [5.0] * 100,
            "nulls": [None] * 50 + list(np.arange(50.0)),
            "all_null": pd.Series([None] * 100, dtype="float64"),
            "gone": np.arange(100),
            "cat": ["a"] * 100,
            "when": pd.date_range("2024-01-01", periods=100),
        }
    )
    cur = pd.DataFrame(
        {
            "const": [5.0] * 100,
            "nulls": [None] * 90 + list(np.arange(10.0)),
            "all_null": pd.Series([None] * 100, dtype="float64"),
            "new": np.arange(100),
            "cat": ["a"] * 80 + ["z"] * 20,
            "when": pd.date_range("2024-06-01", periods=100),
        }
    )
    res = by_column(drift.compare(*profiles(ws, ref, cur)))
    assert res["const"].verdict == "no drift"
    assert res["nulls"].stats["null_rate_change"] == pytest.approx(0.4)
    assert res["nulls"].drifted and "nulls 50.0% -> 90.0%" in res["nulls"].sentence
    assert res["all_null"].verdict == "no drift"
    assert res["gone"].verdict == "removed" and res["new"].verdict == "added"
    assert res["cat"].drifted and "new value 'z' in 20.0% of rows" in res["cat"].sentence
    assert res["when"].drifted  # dates compare on a days axis
