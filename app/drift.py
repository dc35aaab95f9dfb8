"""Drift between a reference and a current dataset version, computed from their stored
profiles (``store.profiles``): no raw row is read, so a report over millions of rows
takes milliseconds once both versions are registered. The method follows
``../shared/design/drift-methods.md``.

Per numeric column (numbers, dates, timestamps), from the 1,001-point quantile functions:
KS D (largest gap between the two CDFs), Wasserstein-1 divided by the reference standard
deviation, PSI on reference deciles with explicit below-min and above-max bins, the mean
shift in reference standard deviations, and the share of current rows outside the
reference range. Per categorical column (text, booleans), from the value counts: the
largest change in a level's share (naming the level), PSI, the Jensen-Shannon distance
(base 2, so between 0 and 1), Cramér's V of the 2 x K table, the share of current rows in
levels the reference never had. Both: the change in the null rate.

A column drifts when the change is both *real* and *material*:

* real: a two-sample test on the profile: KS (asymptotic p from D and both sizes) for
  numbers, the chi-square test of the 2 x K contingency table for categories;
  Benjamini-Hochberg across the report's columns at q = 0.01;
* material: W1/std >= 0.1, PSI >= 0.1 or KS D >= 0.1 for numbers; largest share change
  >= 0.05, PSI >= 0.1 or unseen share >= 1 % for categories; or the null rate up by 2
  points. Major when PSI or W1/std >= 0.25 or a share change >= 0.10.

Material but not real (a few hundred rows) is "not enough evidence", never "no drift".
A trivial shift in a big sample is real but not material: no drift, and both numbers are
shown so the user sees why.

Per column, an :class:`Override` replaces the materiality rule with one statistic and its
threshold (``OVERRIDE_METHODS``): material when the statistic reaches the threshold, major
at 2.5 times it (the default rule's 0.1 / 0.25); the test of "real" stays. ``ignore``
leaves a column out of the verdict (an id, a timestamp of arrival).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from store.entities import ColumnProfile
from store.errors import InvalidInput

EPS = 1e-4
Q_FDR = 0.01
NUMERIC = ("integer", "float", "date", "timestamp")
MAJOR_FACTOR = 2.5

# method name -> the statistic it thresholds, per kind of column
OVERRIDE_METHODS: dict[str, dict[str, str]] = {
    "numeric": {"wasserstein": "wasserstein_std", "psi": "psi", "ks": "ks_d"},
    "categorical": {"share": "largest_share_change", "psi": "psi", "js": "js_distance"},
}


@dataclass(frozen=True)
class Override:
    """A column's own rule: ``method`` (see OVERRIDE_METHODS, or "ignore") at ``threshold``."""

    method: str
    threshold: float = 0.1


@dataclass(frozen=True)
class ColumnDrift:
    column: str
    kind: str  # numeric | categorical | schema
    verdict: str  # drift | major drift | no drift | not enough evidence | added | removed
    method: str
    effect: float  # the headline effect size (W1/std or largest share change)
    p_value: float | None
    n_reference: int
    n_current: int
    stats: dict[str, float] = field(default_factory=dict)
    sentence: str = ""

    @property
    def drifted(self) -> bool:
        return self.verdict in ("drift", "major drift")


def compare(reference: tuple[ColumnProfile, ...], current: tuple[ColumnProfile, ...],
            overrides: dict[str, Override] | None = None) -> list[ColumnDrift]:  # fmt: skip
    """One result per column, sorted by effect size; Benjamini-Hochberg across columns.
    Raises InvalidInput for an override naming no column, or a method or threshold that
    does not fit the column (the message lists what does)."""
    ref, cur = {p.name: p for p in reference}, {p.name: p for p in current}
    overrides = check_overrides(overrides or {}, ref, cur)
    out: list[ColumnDrift] = []
    tested: list[tuple[int, ColumnDrift, bool]] = []
    for name in [*ref, *(n for n in cur if n not in ref)]:
        if name not in cur:
            out.append(_schema(name, "removed", ref[name], None))
            continue
        if name not in ref:
            out.append(_schema(name, "added", None, cur[name]))
            continue
        a, b = ref[name], cur[name]
        if name in overrides and overrides[name].method == "ignore":
            out.append(ColumnDrift(name, "ignored", "ignored", "ignored (override)", 0.0, None,
                                   a.count + a.nulls, b.count + b.nulls,
                                   sentence=f"{name}: left out of the verdict"))  # fmt: skip
            continue
        if (a.family in NUMERIC) != (b.family in NUMERIC):
            text = f"{name}: type changed {a.dtype} -> {b.dtype}"
            out.append(
                ColumnDrift(
                    name,
                    "schema",
                    "drift",
                    "type change",
                    1.0,
                    None,
                    a.count + a.nulls,
                    b.count + b.nulls,
                    sentence=text,
                )
            )
            continue
        result, material = _numeric(a, b) if a.family in NUMERIC else _categorical(a, b)
        if name in overrides and OVERRIDE_METHODS[result.kind].get(overrides[name].method) \
                in result.stats:  # fmt: skip
            result, material = _overridden(result, overrides[name])
        tested.append((len(out), result, material))
        out.append(result)
    for index, result, _material in _benjamini_hochberg(tested):
        out[index] = result
    return sorted(out, key=lambda r: (not r.drifted, -r.effect))


def check_overrides(overrides: dict[str, Override], ref: dict[str, ColumnProfile],
                    cur: dict[str, ColumnProfile]) -> dict[str, Override]:  # fmt: skip
    for name, o in overrides.items():
        if name not in ref or name not in cur:
            raise InvalidInput(f"Override for column {name!r}: it is not in both versions "
                               f"(columns: {', '.join(sorted(set(ref) & set(cur)))}).")  # fmt: skip
        if o.method == "ignore":
            continue
        kind = "numeric" if ref[name].family in NUMERIC else "categorical"
        allowed = OVERRIDE_METHODS[kind]
        if o.method not in allowed:
            raise InvalidInput(f"Override for {name!r}: {o.method!r} is not a method for a "
                               f"{kind} column; use one of {', '.join(allowed)} or "
                               "ignore.")  # fmt: skip
        if not (isinstance(o.threshold, int | float) and math.isfinite(o.threshold)
                and o.threshold > 0):  # fmt: skip
            raise InvalidInput(f"Override for {name!r}: the threshold must be a number above "
                               f"0; got {o.threshold!r}.")  # fmt: skip
    return overrides


def _overridden(result: ColumnDrift, o: Override) -> tuple[ColumnDrift, bool]:
    value = result.stats[OVERRIDE_METHODS[result.kind][o.method]]
    verdict = "major drift" if value >= MAJOR_FACTOR * o.threshold else "drift"
    return ColumnDrift(result.column, result.kind, verdict, f"{o.method} >= {o.threshold:g} "
                       "(override)", value, result.p_value, result.n_reference,
                       result.n_current, result.stats | {"threshold": o.threshold},
                       result.sentence), value >= o.threshold  # fmt: skip


def _numeric(a: ColumnProfile, b: ColumnProfile) -> tuple[ColumnDrift, bool]:
    qa, qb = np.asarray(a.quantiles, float), np.asarray(b.quantiles, float)
    null_change = _null_rate(b) - _null_rate(a)
    if len(qa) < 2 or len(qb) < 2:  # an all-null side
        return _nulls_only(a, b, null_change), abs(null_change) >= 0.02
    p = np.linspace(0, 1, len(qa))
    grid = np.union1d(qa, qb)
    d = float(np.max(np.abs(_cdf(grid, qa, p) - _cdf(grid, qb, np.linspace(0, 1, len(qb))))))
    w1 = float(np.mean(np.abs(qa - np.interp(p, np.linspace(0, 1, len(qb)), qb))))
    std = a.std or 0.0
    w1_std = w1 / std if std > 0 else (0.0 if w1 == 0 else math.inf)
    psi = _psi_numeric(qa, qb)
    mean_shift = (b.mean - a.mean) / std if std > 0 and a.mean is not None and b.mean is not None \
        else 0.0  # fmt: skip
    pb_ = np.linspace(0, 1, len(qb))
    outside = float(_cdf_below(qa[0], qb, pb_) + 1 - _cdf(np.array([qa[-1]]), qb, pb_)[0])
    n, m = a.count, b.count
    p_value = float(stats.kstwobign.sf(d * math.sqrt(n * m / (n + m)))) if n and m else None
    material = w1_std >= 0.1 or psi >= 0.1 or d >= 0.1 or null_change >= 0.02
    major = psi >= 0.25 or w1_std >= 0.25
    sentence = (f"{a.name}: median {_fmt(a.quantile(0.5))} -> {_fmt(b.quantile(0.5))} "
                f"({mean_shift:+.2f} sd)")  # fmt: skip
    if outside >= 0.01:
        sentence += f"; {outside:.0%} of rows outside the reference range"
    if abs(null_change) >= 0.02:
        sentence += f"; nulls {_null_rate(a):.1%} -> {_null_rate(b):.1%}"
    result = ColumnDrift(a.name, "numeric", "major drift" if major else "drift",
                         "KS + Wasserstein/std + PSI", w1_std, p_value, n, m,
                         {"ks_d": d, "wasserstein": w1, "wasserstein_std": w1_std, "psi": psi,
                          "mean_shift_sd": mean_shift, "share_outside_range": outside,
                          "null_rate_change": null_change}, sentence)  # fmt: skip
    return result, material


def _categorical(a: ColumnProfile, b: ColumnProfile) -> tuple[ColumnDrift, bool]:
    levels = list(dict.fromkeys([*a.top_values, *b.top_values]))
    ca, cb = dict(zip(a.top_values, a.top_counts, strict=True)), dict(
        zip(b.top_values, b.top_counts, strict=True))  # fmt: skip
    ra = np.array([ca.get(v, 0) for v in levels] + [a.other_count], float)
    rb = np.array([cb.get(v, 0) for v in levels] + [b.other_count], float)
    null_change = _null_rate(b) - _null_rate(a)
    if ra.sum() == 0 or rb.sum() == 0:
        return _nulls_only(a, b, null_change), abs(null_change) >= 0.02
    sa, sb = ra / ra.sum(), rb / rb.sum()
    changes = sb - sa
    top = int(np.argmax(np.abs(changes[:-1]))) if len(levels) else 0
    largest = float(abs(changes[top])) if len(levels) else 0.0
    psi = float(np.sum((np.maximum(sb, EPS) - np.maximum(sa, EPS))
                       * np.log(np.maximum(sb, EPS) / np.maximum(sa, EPS))))  # fmt: skip
    js = float(_jensen_shannon(sa, sb))
    keep = (ra + rb) > 0
    table = np.vstack([ra[keep], rb[keep]])
    chi2, p_value = (0.0, 1.0)
    if table.shape[1] > 1:
        chi2, p_value, _, _ = stats.chi2_contingency(table, correction=False)
    cramers_v = math.sqrt(chi2 / table.sum()) if table.sum() else 0.0
    unseen = float(sum(sb[i] for i, v in enumerate(levels) if v not in ca))
    gone = [v for v in levels if v in ca and cb.get(v, 0) == 0]
    material = largest >= 0.05 or psi >= 0.1 or unseen >= 0.01 or null_change >= 0.02
    major = psi >= 0.25 or largest >= 0.10
    level = levels[top] if levels else ""
    sentence = f"{a.name}: share of {level!r} {sa[top]:.1%} -> {sb[top]:.1%}"
    new = [v for v in levels if v not in ca and cb.get(v, 0)]
    if new:
        sentence += f"; new value {new[0]!r} in {unseen:.1%} of rows"
    if gone:
        sentence += f"; {gone[0]!r} disappeared"
    result = ColumnDrift(a.name, "categorical", "major drift" if major else "drift",
                         "chi-square + share change + PSI + JS", largest, float(p_value),
                         int(ra.sum()), int(rb.sum()),
                         {"largest_share_change": largest, "psi": psi, "js_distance": js,
                          "cramers_v": cramers_v, "unseen_share": unseen,
                          "null_rate_change": null_change}, sentence)  # fmt: skip
    return result, material


def _benjamini_hochberg(tested: list[tuple[int, ColumnDrift, bool]]):
    """Final verdicts: drift only where real (BH at Q_FDR) and material."""
    ps = [(i, r.p_value if r.p_value is not None else 1.0) for i, r, _ in tested]
    order = sorted(range(len(ps)), key=lambda k: ps[k][1])
    m = len(ps)
    passed = set()
    for rank, k in enumerate(order, 1):
        if ps[k][1] <= Q_FDR * rank / m:
            passed = set(order[:rank])
    out = []
    for k, (index, result, material) in enumerate(tested):
        real = k in passed
        if material and real:
            verdict = result.verdict
        elif material:
            verdict = "not enough evidence"
        else:
            verdict = "no drift"
        out.append((index, _with(result, verdict), material))
    return out


def _with(result: ColumnDrift, verdict: str) -> ColumnDrift:
    return ColumnDrift(result.column, result.kind, verdict, result.method, result.effect,
                       result.p_value, result.n_reference, result.n_current, result.stats,
                       result.sentence)  # fmt: skip


def _schema(name: str, change: str, a: ColumnProfile | None, b: ColumnProfile | None
            ) -> ColumnDrift:  # fmt: skip
    p = a or b
    return ColumnDrift(name, "schema", change, "schema", 1.0, None,
                       (a.count + a.nulls) if a else 0, (b.count + b.nulls) if b else 0,
                       sentence=f"{name}: column {change} ({p.dtype})")  # fmt: skip


def _nulls_only(a: ColumnProfile, b: ColumnProfile, change: float) -> ColumnDrift:
    return ColumnDrift(a.name, "numeric" if a.family in NUMERIC else "categorical",
                       "drift" if abs(change) >= 0.02 else "no drift", "null rate", abs(change),
                       None, a.count + a.nulls, b.count + b.nulls, {"null_rate_change": change},
                       f"{a.name}: nulls {_null_rate(a):.1%} -> {_null_rate(b):.1%}")  # fmt: skip


def _cdf(x: np.ndarray, q: np.ndarray, p: np.ndarray) -> np.ndarray:
    """The CDF at ``x`` from a quantile function (right-continuous at ties)."""
    lo = np.searchsorted(q, x, side="right")
    return np.where(lo == 0, 0.0, np.where(lo >= len(q), 1.0, np.interp(x, q, p)))


def _cdf_below(x: float, q: np.ndarray, p: np.ndarray) -> float:
    """P(X < x): the left limit, so a constant column has nothing below its own value."""
    if x <= q[0]:
        return 0.0
    return float(_cdf(np.array([np.nextafter(x, -np.inf)]), q, p)[0])


def _psi_numeric(qa: np.ndarray, qb: np.ndarray) -> float:
    """PSI on the reference's deciles, with a bin below its minimum and one above its
    maximum (P(X < min), then P(X <= edge) at each inner edge)."""
    inner = np.unique(np.concatenate([qa[np.linspace(0, len(qa) - 1, 11).astype(int)[1:-1]],
                                      [qa[-1]]]))  # fmt: skip
    pa, pb = np.linspace(0, 1, len(qa)), np.linspace(0, 1, len(qb))
    fa = np.concatenate([[0.0, _cdf_below(qa[0], qa, pa)], _cdf(inner, qa, pa), [1.0]])
    fb = np.concatenate([[0.0, _cdf_below(qa[0], qb, pb)], _cdf(inner, qb, pb), [1.0]])
    sa, sb = np.maximum(np.diff(fa), EPS), np.maximum(np.diff(fb), EPS)
    return float(np.sum((sb - sa) * np.log(sb / sa)))


def _jensen_shannon(p: np.ndarray, q: np.ndarray) -> float:
    m = (p + q) / 2

    def kl(x, y):
        mask = x > 0
        return float(np.sum(x[mask] * np.log2(x[mask] / y[mask])))

    return math.sqrt(max(0.5 * kl(p, m) + 0.5 * kl(q, m), 0.0))


def _null_rate(p: ColumnProfile) -> float:
    total = p.count + p.nulls
    return p.nulls / total if total else 0.0


def _fmt(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"
