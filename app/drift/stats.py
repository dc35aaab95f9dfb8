"""Drift between a reference and a current dataset version, computed from their stored
profiles (``store.profiles``): no raw row is read, so a report over millions of rows
takes milliseconds once both versions are registered. The method follows
``../shared/design/drift-methods.md``. Every threshold comes from the report's
:class:`workbench.drift.config.DriftConfig` (``cfg.<name>`` below; today's defaults there);
``config.rule()`` states the rule in words from those values, the one text the page, the
CLI and the HTML export show for a report, and :data:`RULE` is today's (the copy in
``docs/guide/drift.md``).

Each column is compared on two *aspects*, each with its own two-sample test:

* its values. Numbers, dates and timestamps (on their numeric axis: days, seconds), from
  the finite values' 1,001-point quantile functions and exact mean/sd/count: KS D,
  Wasserstein-1 over the reference sd, PSI on reference deciles with below-min and
  above-max bins, the mean shift in reference sds, the share outside the reference range;
  tested by KS (asymptotic p from D and both sizes) and Welch's t from mean, sd and count
  (``scipy.stats.ttest_ind_from_stats``; far more power against a location shift than a
  KS D read off a quantile sketch), the smaller p doubled (Bonferroni). Text and booleans,
  from the value counts (top 1,000 levels plus an "other" count): per-level share
  changes, absolute and relative, PSI, Jensen-Shannon distance (base 2), Cramér's V,
  the share of levels the reference lacks; tested by the chi-square test of the 2 x K
  table of the levels both profiles count exactly (Cochran: levels with fewer than 5
  expected rows pooled with the rest), plus Fisher's exact test of the levels only one
  side lists: against a complete list, all of them together against the rows whose value
  the other side has once (Good-Turing's estimate of what chance makes new); against a
  cut-off list, the largest one against the most the list's tail can hold of a level
  (Bonferroni over the candidates; valid whatever the hidden counts are).
* its missing and non-finite values: the shares of NULL, NaN, +inf and -inf among all
  rows; Fisher's exact test per share (state vs the rest), Bonferroni over the shares.

A column drifts when some aspect's change is *real* (its p-value passes
Benjamini-Hochberg across every test of the report at ``cfg.q_fdr``,
``scipy.stats.false_discovery_control``) and *material* (the
thresholds below). A material change that is not real is "not enough evidence", never
"no drift"; a real change too small to matter is "no drift", with both numbers shown.

Where a profile's level list is cut off (``other_count`` > 0), a level missing from the
list has a count between 0 and the list's smallest count: figures are bounds, and the
sentences say "at most". A text column with more levels than a profile keeps and fewer
than ``1 / cfg.identifier_ratio`` rows per distinct value is identifier-like: its levels
cannot be compared from the profiles (half the ids replaced by new ones leaves every
count the same), so unless something else moved its verdict is "not tested"; a share
rule (:class:`Override`) makes it tested by the share of current rows holding values the
reference lacks, estimated from the tail sketches; ``ignore`` leaves it out. One proof
reaches beyond cut-off lists: when one side's list holds more levels that the other's
list lacks than the other has levels beyond its list (exact distinct counts), the excess
levels are absent from the other side altogether, so at least their (smallest) rows are
new or gone; that share, less the most that values seen once could bring by chance,
counts as the unseen share (Fisher-tested).

An integer column reaching beyond 2**53 with at most ``TOP_LEVELS`` distinct values on both
sides is compared as levels (exact value counts) rather than on the DOUBLE axis. A numeric
column is constant when its exact extremes (``min_text``/``max_text``) are equal; a
constant replaced by another is major drift even where the DOUBLE axis rounds both to one
value (integers beyond 2**53, nanoseconds).

Per column, an :class:`Override` replaces the values aspect's materiality rule with one
statistic and its threshold (a method of ``workbench.drift.methods``): material when the
statistic reaches the threshold, major at ``cfg.major_factor`` times it; the tests of
"real" and the null and non-finite aspect stay. ``ignore`` leaves a column out of the verdict.

Every figure in a result is finite or None, so reports are standard JSON.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation

import numpy as np
from scipy import stats
from scipy.spatial.distance import jensenshannon

from workbench.drift import methods
from workbench.drift.config import DEFAULT, DriftConfig, Override
from workbench.drift.results import ColumnDrift
from workbench.store.entities import ColumnProfile
from workbench.store.errors import InvalidInput
from workbench.store.profiles import level_hash

__all__ = ["RULE", "ColumnDrift", "DriftConfig", "Override", "compare", "format_p", "p_clause"]

EPS = 1e-4  # share floor in PSI (an empty bin would make it infinite)
NUMERIC = ("integer", "float", "date", "timestamp")

# Today's defaults, by their old names (workbench.drift.config.DriftConfig holds them; a
# report applies its own configuration, stored with it).
Q_FDR = DEFAULT.q_fdr
NUMERIC_MATERIAL, NUMERIC_MAJOR = DEFAULT.numeric_material, DEFAULT.numeric_major
SHARE_MATERIAL, SHARE_MAJOR = DEFAULT.share_material, DEFAULT.share_major
RELATIVE_MATERIAL, RELATIVE_MIN_POINTS = DEFAULT.relative_material, DEFAULT.relative_min_points
PSI_MATERIAL, PSI_MAJOR = DEFAULT.psi_material, DEFAULT.psi_major
UNSEEN_MATERIAL = DEFAULT.unseen_material
FOLD_MATERIAL, FOLD_MIN_SHARE = DEFAULT.fold_material, DEFAULT.fold_min_share
FOLD_MIN_ROWS = DEFAULT.fold_min_rows
STATE_MATERIAL, STATE_MAJOR = DEFAULT.state_material, DEFAULT.state_major
MIN_EXPECTED = DEFAULT.min_expected
IDENTIFIER_RATIO = DEFAULT.identifier_ratio
DATASET_SHARE = DEFAULT.dataset_share
MAJOR_FACTOR = DEFAULT.major_factor

# method name -> the statistic it thresholds, per kind of column, as registered in
# workbench.drift.methods when this module was imported (read the registry for more)
OVERRIDE_METHODS: dict[str, dict[str, str]] = {
    kind: {name: methods.get(name).statistic for name in methods.names(kind)}
    for kind in methods.KINDS
}

# The rule in words with today's defaults: the text of docs/guide/drift.md. A report's own
# rule is ``report.config.rule()``.
RULE = DEFAULT.rule()

_STATES = (
    ("nulls", "nulls"),
    ("NaN", "nan_count"),
    ("+inf", "posinf_count"),
    ("-inf", "neginf_count"),
)


@dataclass
class _Aspect:
    """One tested aspect of a column: its p-value, whether the change is material / major,
    its effect size and the words for it."""

    name: str
    p_value: float | None
    material: bool
    major: bool
    effect: float
    text: str = ""
    real: bool = False


@dataclass
class _Draft:
    result: ColumnDrift
    aspects: list[_Aspect]
    identifier: bool = False
    profiles: tuple[ColumnProfile, ColumnProfile] | None = None  # (reference, current)


P_FLOOR = 1e-10  # below it a p-value says only "far beyond chance" (and floats underflow)


def format_p(value: float | None) -> str:
    """A p-value as people read it, the one format of every page, table, export and CLI
    line: "< 1e-10" below ``P_FLOOR`` (0 included: an underflowed p is not 0), scientific
    with two significant digits below 0.001 ("3.2e-8"), else two significant digits
    ("0.012", "0.98", "1"). None or NaN (no test ran): "". Never a 15-digit decimal."""
    if value is None or not math.isfinite(value):
        return ""
    if value < P_FLOOR:
        return f"< {P_FLOOR:g}"
    if value < 9.95e-4:  # (at and above it, two digits round to 0.001)
        mantissa, exponent = f"{value:.1e}".split("e")
        return f"{mantissa}e{int(exponent)}"
    return f"{value:.2g}"


def p_clause(value: float | None) -> str:
    """A p-value inside a sentence: "p = 0.012", "p = 3.2e-8" or "p < 1e-10" (``format_p``
    with its sign, never "p = < 1e-10"); "" when no test ran."""
    text = format_p(value)
    if not text:
        return ""
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def compare(
    reference: tuple[ColumnProfile, ...],
    current: tuple[ColumnProfile, ...],
    overrides: dict[str, Override] | None = None,
    *,
    config: DriftConfig | None = None,
) -> list[ColumnDrift]:
    """One result per column, drifted first, then by effect size; Benjamini-Hochberg across
    every aspect test of the report. ``config``: the thresholds and per-column rules
    (default: today's, ``DriftConfig()``); ``overrides``, when given, replace its
    per-column rules. Raises InvalidInput for an override naming no column, or a method or
    threshold that does not fit the column (the message lists what does)."""
    cfg = config or DEFAULT
    if overrides is not None:
        cfg = cfg.with_overrides(overrides)
    ref, cur = {p.name: p for p in reference}, {p.name: p for p in current}
    overrides = check_overrides(cfg.per_column, ref, cur)
    out: list[ColumnDrift | _Draft] = []
    for name in [*ref, *(n for n in cur if n not in ref)]:
        if name not in cur:
            out.append(_schema(name, "removed", ref[name], None))
            continue
        if name not in ref:
            out.append(_schema(name, "added", None, cur[name]))
            continue
        a, b = ref[name], cur[name]
        if name in overrides and overrides[name].method == "ignore":
            out.append(
                ColumnDrift(
                    name,
                    "ignored",
                    "ignored",
                    "ignored (override)",
                    0.0,
                    None,
                    _rows(a),
                    _rows(b),
                    sentence=f"{name}: left out of the verdict",
                )
            )
            continue
        if _axis(a) != _axis(b):  # numbers against text, or against dates
            out.append(_type_change(a, b, cfg))
            continue
        a, b = on_one_axis(a, b)
        draft = (
            _numeric(a, b, cfg)
            if a.family in NUMERIC and not _levels_exact(a, b)
            else _categorical(a, b, cfg)
        )
        if name in overrides:
            draft.profiles = (a, b)
            draft = _overridden(draft, overrides[name], cfg)
        out.append(draft)
    _benjamini_hochberg([x for d in out if isinstance(d, _Draft) for x in d.aspects], cfg.q_fdr)
    results = [_final(d) if isinstance(d, _Draft) else d for d in out]
    return sorted(results, key=lambda r: (not r.drifted, -(r.effect or 0.0)))


def check_overrides(
    overrides: dict[str, Override], ref: dict[str, ColumnProfile], cur: dict[str, ColumnProfile]
) -> dict[str, Override]:
    """``overrides`` when each names a column of both versions with a method of its kind
    (``workbench.drift.methods``) and a positive finite threshold; otherwise InvalidInput
    saying what fits."""
    for name, o in overrides.items():
        if name not in ref or name not in cur:
            raise InvalidInput(
                f"Rule for column {name!r}: it is not in both versions "
                f"(columns: {', '.join(sorted(set(ref) & set(cur)))})."
            )
        if o.method == methods.IGNORE:
            continue
        kind = "numeric" if ref[name].family in NUMERIC else "categorical"
        allowed = methods.names(kind)
        if o.method not in allowed:
            raise InvalidInput(
                f"Rule for column {name!r}: {o.method!r} is not a method for a "
                f"{kind} column; use one of {', '.join(allowed)} or "
                "ignore."
            )
        if not (
            isinstance(o.threshold, int | float) and math.isfinite(o.threshold) and o.threshold > 0
        ):
            raise InvalidInput(
                f"Rule for column {name!r}: the threshold must be a number above "
                f"0; got {o.threshold!r}."
            )
    return overrides


def _overridden(draft: _Draft, o: Override, cfg: DriftConfig) -> _Draft:
    """The values aspect judged by the override's method (``workbench.drift.methods``:
    its statistic of this column) at its threshold: material at it, major at
    ``cfg.major_factor`` times it."""
    r = draft.result
    kind = "numeric" if r.kind == "numeric" else "categorical"
    rule = methods.get(o.method) if o.method in methods.names(kind) else None
    values = next((x for x in draft.aspects if x.name in ("values", "levels")), None)
    if rule is None or values is None:
        return draft
    new_rows = r.stats.get("new_rows_estimate")
    if draft.identifier and o.method == "share" and new_rows is not None:
        return _identifier_rule(draft, o, new_rows, cfg)
    if draft.profiles is not None:
        value = rule.function(r.stats, *draft.profiles)
    else:
        value = r.stats.get(rule.statistic)
    if value is None:  # W1/sd of a constant reference: infinite when anything moved
        value = math.inf if (r.stats.get("ks_d") or 0) > 0 else 0.0
    values.material = value >= o.threshold
    values.major = value >= cfg.major_factor * o.threshold
    if math.isfinite(value):
        values.effect = value
    method = f"{o.method} >= {o.threshold:g} (override)"
    result = ColumnDrift(
        r.column,
        r.kind,
        r.verdict,
        method,
        r.effect,
        r.p_value,
        r.n_reference,
        r.n_current,
        r.stats | {"threshold": o.threshold},
        r.sentence,
    )
    # an identifier-like column stays "not tested" unless the rule finds a change: its top
    # levels cannot show new values
    return _Draft(result, draft.aspects, identifier=draft.identifier)


def _identifier_rule(draft: _Draft, o: Override, new_rows: float, cfg: DriftConfig) -> _Draft:
    """A share rule on an identifier-like column measures what its top levels cannot: the
    share of current rows holding values the reference lacks, from the tail sketches (an
    estimate; every sampled level is known present or absent, so one absent level proves
    new values exist: p = 0, else 1). Material at the threshold, major at
    ``cfg.major_factor`` times it; the user's rule makes the column tested, so below the
    threshold it is "no drift"."""
    r = draft.result
    levels = next(x for x in draft.aspects if x.name == "levels")
    levels.p_value = 0.0 if new_rows > 0 else 1.0
    levels.material = new_rows >= o.threshold
    levels.major = new_rows >= cfg.major_factor * o.threshold
    levels.effect = new_rows
    levels.text = (
        f"{r.column}: an estimated {_pct(new_rows)} of the current rows hold values "
        f"the reference lacks (hash samples of both; rule: new values in at least "
        f"{_pct(o.threshold)} of the rows)"
    )
    method = f"new values >= {o.threshold:g} (override, hash samples)"
    result = ColumnDrift(
        r.column,
        r.kind,
        r.verdict,
        method,
        new_rows,
        r.p_value,
        r.n_reference,
        r.n_current,
        r.stats | {"threshold": o.threshold},
        r.sentence,
    )
    return _Draft(result, draft.aspects, identifier=False)


# ---------------------------------------------------------------- numbers, dates, times


def _numeric(a: ColumnProfile, b: ColumnProfile, cfg: DriftConfig) -> _Draft:
    aspects = [x for x in [_states(a, b, cfg)] if x is not None]
    qa, qb = np.asarray(a.quantiles, float), np.asarray(b.quantiles, float)
    n, m = _finite(a), _finite(b)
    base = {"null_rate_change": _share(b, "nulls") - _share(a, "nulls")}
    base |= _state_stats(a, b)
    if len(qa) < 1 or len(qb) < 1 or not n or not m:  # a side without finite values
        result = ColumnDrift(
            a.name,
            "numeric",
            "no drift",
            "null and non-finite shares",
            0.0,
            None,
            _rows(a),
            _rows(b),
            base,
        )
        return _Draft(result, aspects)
    pa, pb = np.linspace(0, 1, len(qa)), np.linspace(0, 1, len(qb))
    grid = np.union1d(qa, qb)
    d = float(np.max(np.abs(_cdf(grid, qa, pa) - _cdf(grid, qb, pb))))
    # Distances on values divided by a power of two (below 2 in size), so that differences
    # of values near +-1.8e308 do not overflow; W1/sd and the mean shift are scale-free.
    unit = _unit(max(float(np.max(np.abs(qa))), float(np.max(np.abs(qb)))))
    ua, ub = qa / unit, qb / unit
    w1_units = (
        float(np.mean(np.abs(ua - np.interp(pa, pb, ub))))
        if len(qa) > 1
        else float(np.mean(np.abs(ub - ua[0])))
    )
    w1 = w1_units * unit  # may be beyond the largest double: shown empty
    std = a.std if a.std and a.std > 0 and math.isfinite(a.std) else 0.0
    w1_std = w1_units / (std / unit) if std > 0 else (0.0 if w1_units == 0 else None)
    psi = _psi_numeric(qa, qb)
    mean_shift = (
        (b.mean / unit - a.mean / unit) / (std / unit)
        if std > 0 and a.mean is not None and b.mean is not None
        else None
    )
    outside = float(_cdf_below(qa[0], qb, pb) + 1 - _cdf(np.array([qa[-1]]), qb, pb)[0])
    p_ks = float(stats.kstwobign.sf(d * math.sqrt(n * m / (n + m))))
    p_t = _welch(a, b, n, m)
    p_value = min(1.0, 2 * min(p_ks, p_t)) if p_t is not None else p_ks
    material = (
        (w1_std is None and d > 0)
        or (w1_std or 0) >= cfg.numeric_material
        or psi >= cfg.numeric_material
        or d >= cfg.numeric_material
    )
    major = (
        psi >= cfg.numeric_major or (w1_std is None and d > 0) or (w1_std or 0) >= cfg.numeric_major
    )
    effect = w1_std if w1_std is not None else d
    text = _median_text(a, b, mean_shift, std)
    if _constant(a) and d == 0 and not _same_extremes(a, b):
        # The exact extremes show values the reference lacks where the DOUBLE axis cannot
        # (integers beyond 2**53, nanoseconds): every current row when the current is a
        # different constant, else at least one row (Fisher, one row against none).
        moved = m if _constant(b) else 1
        p_value = float(
            stats.fisher_exact([[moved, m - moved], [0, n]], alternative="greater").pvalue
        )
        material = major = True
        effect = moved / m
        text += f"; current values {b.min_text} to {b.max_text}: " + (
            "every row differs"
            if _constant(b)
            else "some rows differ from it (the profile cannot tell how many)"
        )
    ratio = b.std / std if std > 0 and b.std is not None else None
    if ratio is not None and material and not (0.8 < ratio < 1.25):
        text += f"; sd {_num(std)} -> {_num(b.std)} (x{ratio:.2f})"
    if outside >= 0.01 and std > 0:
        text += f"; {_pct(outside)} of rows outside the reference range"
    aspects.insert(0, _Aspect("values", p_value, material, major, effect, text))
    figures = {
        "ks_d": d,
        "wasserstein": w1,
        "wasserstein_std": w1_std,
        "psi": psi,
        "mean_shift_sd": mean_shift,
        "share_outside_range": outside,
        "p_ks": p_ks,
        "p_welch": p_t,
        "sd_ratio": ratio,
    } | base
    result = ColumnDrift(
        a.name,
        "numeric",
        "no drift",
        "KS + Welch t + Wasserstein/std + PSI",
        effect,
        None,
        _rows(a),
        _rows(b),
        figures,
    )
    return _Draft(result, aspects)


def _axis(p: ColumnProfile) -> str:
    """The axis a column's values are compared on: "number" (integers and floats), "time"
    (dates and timestamps) or "text" (text and booleans). Two versions of a column on
    different axes are a type change; on one axis they are compared by value, so 7 and 7.0
    are the same value and so are the day 2024-02-22 and the timestamp at its midnight."""
    if p.family in ("integer", "float"):
        return "number"
    return "time" if p.family in ("date", "timestamp") else "text"


def on_one_axis(a: ColumnProfile, b: ColumnProfile) -> tuple[ColumnProfile, ColumnProfile]:
    """A date against a timestamp: the date's profile moved to the timestamp axis (days
    since 1970 become seconds, 86,400 a day), so that both sides are compared in seconds."""
    if {a.family, b.family} != {"date", "timestamp"}:
        return a, b
    return (_as_seconds(a), b) if a.family == "date" else (a, _as_seconds(b))


def _as_seconds(p: ColumnProfile) -> ColumnProfile:
    day = 86_400.0

    def scaled(x: float | None) -> float | None:
        return None if x is None else x * day

    return replace(
        p,
        family="timestamp",
        min_value=scaled(p.min_value),
        max_value=scaled(p.max_value),
        mean=scaled(p.mean),
        std=scaled(p.std),
        quantiles=tuple(q * day for q in p.quantiles),
        hist_edges=tuple(e * day for e in p.hist_edges),
        min_text=None if p.min_text is None else f"{p.min_text} 00:00:00",
        max_text=None if p.max_text is None else f"{p.max_text} 00:00:00",
    )


def _same_extremes(a: ColumnProfile, b: ColumnProfile) -> bool:
    """Whether the exact extremes (``min_text``/``max_text``) of two versions are the same
    values: as written for one type; as decimal numbers across integer and float (7 and
    7.0), where a text comparison would call every row different."""
    if a.family == b.family or not (_axis(a) == _axis(b) == "number"):
        return (a.min_text, a.max_text) == (b.min_text, b.max_text)
    try:
        return all(
            Decimal(x) == Decimal(y)
            for x, y in ((a.min_text, b.min_text), (a.max_text, b.max_text))
        )
    except (InvalidOperation, TypeError):  # an extreme the profile does not have
        return (a.min_value, a.max_value) == (b.min_value, b.max_value)


def _type_change(a: ColumnProfile, b: ColumnProfile, cfg: DriftConfig) -> _Draft:
    """A column whose values moved to another axis: drift by its schema, and its shares of
    nulls and non-finite values still tested (a column all null in the reference and filled
    now is major drift, whatever its type says)."""
    change = _Aspect(
        "type", None, True, False, 1.0, f"type changed {a.dtype} -> {b.dtype}", real=True
    )
    aspects = [x for x in [change, _states(a, b, cfg)] if x is not None]
    base = {"null_rate_change": _share(b, "nulls") - _share(a, "nulls")}
    result = ColumnDrift(
        a.name, "schema", "drift", "type change", 1.0, None, _rows(a), _rows(b), base
    )
    return _Draft(result, aspects)


def _levels_exact(a: ColumnProfile, b: ColumnProfile) -> bool:
    """Integer columns both profiled value by value (beyond 2**53, at most TOP_LEVELS
    values: ``store.profiles``): compared as levels, exactly, rather than on the DOUBLE
    axis, which merges neighbouring values there."""
    return all(p.family == "integer" and p.top_values and not p.other_count for p in (a, b))


def _unit(big: float) -> float:
    """The power of two 2**(e-1) where 2**(e-1) <= ``big`` < 2**e (1 for 0): values divided
    by it are below 2 in size, and their differences stay finite."""
    return math.ldexp(1.0, math.frexp(big)[1] - 1) if big > 0 and math.isfinite(big) else 1.0


def _welch(a: ColumnProfile, b: ColumnProfile, n: int, m: int) -> float | None:
    """Welch's two-sided t test from the finite values' mean, sd and count; None when a
    side has fewer than 2 values or lacks the statistics."""
    if n < 2 or m < 2 or None in (a.mean, b.mean, a.std, b.std):
        return None
    if a.std == 0 and b.std == 0:  # both constant: they differ or they do not
        return 0.0 if a.mean != b.mean else 1.0
    # t is scale-free: divide by a power of two so that no square overflows (1e300)
    big = max(abs(a.mean), abs(b.mean), a.std, b.std)
    k = _unit(big)
    with np.errstate(all="ignore"):
        p = stats.ttest_ind_from_stats(
            a.mean / k, a.std / k, n, b.mean / k, b.std / k, m, equal_var=False
        ).pvalue
    return float(p) if math.isfinite(p) else None


def _constant(p: ColumnProfile) -> bool:
    """One value on every non-null finite row, told by the exact extremes (``min_text`` /
    ``max_text``) where the profile has them: the DOUBLE axis merges integers beyond 2**53
    and timestamps 1 ns apart."""
    if p.min_text is not None and p.max_text is not None:
        return p.min_text == p.max_text
    return p.min_value is not None and p.min_value == p.max_value


def _median_text(a: ColumnProfile, b: ColumnProfile, shift: float | None, std: float) -> str:
    if _constant(a):
        text = f"{a.name}: constant in the reference ({_exact(a)})"
        return text + f"; current median {_median(b)}"
    text = f"{a.name}: median {_median(a)} -> {_median(b)}"
    return text + (f" (mean {shift:+.2f} sd)" if shift is not None else "")


def _median(p: ColumnProfile) -> str:
    """The median as the user reads the column, "≈" unless the profile says it is exact."""
    if _constant(p):
        return _exact(p)
    value = p.quantile(0.5)
    exact = getattr(p, "quantiles_exact", False) or p.min_value == p.max_value
    text = _value(value, p.family)
    return text if exact or text.startswith("≈") else "≈" + text


def _exact(p: ColumnProfile) -> str:
    """A constant column's value, exact: its ``min_text`` for numbers beyond 2**53 (a DOUBLE
    would round integers there), else as ``_value`` writes it (dates as dates)."""
    if (
        p.family in ("integer", "float")
        and p.min_text is not None
        and p.min_value is not None
        and abs(p.min_value) >= 2**53
    ):
        return p.min_text
    if p.family == "timestamp" and p.min_text and "." in p.min_text:
        return p.min_text  # its fraction of a second (to the nanosecond) as stored
    return _value(p.min_value, p.family)


def _num(x: float) -> str:
    """A figure such as an sd, three significant digits."""
    return f"{x:,.0f}" if 1000 <= abs(x) < 2**53 else f"{x:.3g}"


def _value(value: float | None, family: str) -> str:
    """A number on a column's numeric axis, written as the column's values are: dates as
    dates (the axis is days since 1970-01-01), timestamps as UTC timestamps (seconds)."""
    if value is None or not math.isfinite(value):
        return "?"
    try:
        if family == "date":
            return (date(1970, 1, 1) + timedelta(days=round(value))).isoformat()
        if family == "timestamp":
            t = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=round(value))
            return t.strftime("%Y-%m-%d %H:%M:%S")
    except OverflowError:  # beyond year 9999: the number is all we can print
        pass
    if abs(value) >= 2**53:  # beyond the integers a DOUBLE holds exactly: rounded
        return ("≈" if family == "integer" else "") + f"{value:.6g}"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


# ---------------------------------------------------------------- text and booleans


def _as_bools(p: ColumnProfile) -> ColumnProfile:
    """A boolean column's profile with its levels as pandas and a model's classes write them,
    True / False, not DuckDB's text of a BOOLEAN ('true' / 'false')."""
    shown = {"true": "True", "false": "False"}
    return replace(p, top_values=tuple(shown.get(v, v) for v in p.top_values))


def _categorical(a: ColumnProfile, b: ColumnProfile, cfg: DriftConfig) -> _Draft:
    if a.family == b.family == "boolean":  # levels as the data holds them (False, True)
        a, b = _as_bools(a), _as_bools(b)
    aspects = [x for x in [_states(a, b, cfg)] if x is not None]
    base = {"null_rate_change": _share(b, "nulls") - _share(a, "nulls")}
    na, nb = a.count, b.count
    identifier = _identifier(a, cfg) or _identifier(b, cfg)
    if not na or not nb:
        result = ColumnDrift(
            a.name, "categorical", "no drift", "null share", 0.0, None, _rows(a), _rows(b), base
        )
        return _Draft(result, aspects)
    la, lb = _Levels(a), _Levels(b)
    levels = list(dict.fromkeys([*a.top_values, *b.top_values]))
    # per level: reference and current count intervals (exact where a list holds it)
    ia = {v: la.interval(v) for v in levels}
    ib = {v: lb.interval(v) for v in levels}
    exact = [v for v in levels if ia[v][0] == ia[v][1] and ib[v][0] == ib[v][1]]
    xa = np.array([ia[v][0] for v in exact] + [na - sum(ia[v][0] for v in exact)], float)
    xb = np.array([ib[v][0] for v in exact] + [nb - sum(ib[v][0] for v in exact)], float)
    sa, sb = xa / na, xb / nb
    psi = float(
        np.sum(
            (np.maximum(sb, EPS) - np.maximum(sa, EPS))
            * np.log(np.maximum(sb, EPS) / np.maximum(sa, EPS))
        )
    )
    js = float(jensenshannon(sa, sb, base=2))
    chi2, p_chi2 = _chi_square(xa, xb, cfg.min_expected)
    cramers_v = math.sqrt(chi2 / (na + nb))
    # the least change in each level's share that the two profiles allow
    least = {
        v: max(0.0, ib[v][0] / nb - ia[v][1] / na, ia[v][0] / na - ib[v][1] / nb) for v in levels
    }
    top = max(levels, key=lambda v: (least[v], -levels.index(v))) if levels else None
    largest = least[top] if top is not None else 0.0
    relative = [
        v
        for v in levels
        if ia[v][1] > 0
        and least[v] >= cfg.relative_min_points
        and least[v] >= cfg.relative_material * ia[v][1] / na
    ]
    # Levels only one list holds. Against a complete list they are new (or gone): their
    # share is compared with what chance would show, the share of rows whose value the
    # other side has once (Good-Turing). Against a cut-off list they may hide in its tail
    # with at most ``cap`` rows each: the level most above that bound is tested (Fisher,
    # Bonferroni over the candidates), and only a level's least change counts as material.
    fresh = [v for v in b.top_values if v not in la.counts]
    fresh_rows = sum(lb.counts[v] for v in fresh)
    gone = [v for v in a.top_values if v not in lb.counts]
    unseen = (
        max(0.0, fresh_rows / nb - la.singletons / na)
        if la.complete
        else 0.0
        if b.other_count and a.singletons is not None and b.tail_hashes
        else None
    )
    tests = [p_chi2] if p_chi2 is not None else []
    if fresh:
        tests.append(_one_list(fresh, lb, la, nb, na))
    if gone:
        tests.append(_one_list(gone, la, lb, na, nb))
    # Beyond the cut-off lists: the other side's tail holds ``tail_levels`` levels (an
    # exact distinct count), so when more levels than that are missing from its list, the
    # rest are proven absent from it: new (or gone) levels, at least their rows.
    new_proof, gone_proof = _proven(fresh, lb, la), _proven(gone, la, lb)
    tail_unseen = tail_gone = 0.0
    if new_proof is not None:
        _, rows = new_proof
        chance = la.singletons + min(la.tail_levels, la.other)  # values seen once, at most
        tail_unseen = max(0.0, rows / nb - chance / na)
        unseen = max(unseen or 0.0, tail_unseen)
        tests.append(_fisher(rows, nb, chance, na))
    if gone_proof is not None:
        _, rows2 = gone_proof
        chance2 = lb.singletons + min(lb.tail_levels, lb.other)
        tail_gone = max(0.0, rows2 / na - chance2 / nb)
        tests.append(_fisher(rows2, na, chance2, nb))
    # The tail sketches: a hash sample of the levels beyond each top list, compared with
    # the other side's levels (new or gone rows, estimated, against chance).
    new_est, gone_est = _beyond(b, a), _beyond(a, b)
    sketch_new = max(0.0, new_est.excess) if new_est is not None else 0.0
    sketch_gone = max(0.0, gone_est.excess) if gone_est is not None else 0.0
    for est in (new_est, gone_est):
        if est is not None:
            tests.append(est.p)
    unseen = max(unseen, sketch_new) if unseen is not None or new_est is not None else None
    gone_share = max(tail_gone, sketch_gone)  # reference rows in levels the current lacks
    p_value = min(1.0, len(tests) * min(tests)) if tests else None
    material = (
        largest >= cfg.share_material
        or psi >= cfg.psi_material
        or bool(relative)
        or (unseen or 0.0) >= cfg.unseen_material
        or gone_share >= cfg.unseen_material
    )
    major = (
        psi >= cfg.psi_major
        or largest >= cfg.share_major
        or max(tail_unseen, gone_share, sketch_new) >= cfg.share_major
    )
    proven = max(tail_unseen, gone_share, sketch_new) >= cfg.unseen_material
    rare = None if identifier or material else _rare(a, new_est, la, fresh_rows / nb, cfg)
    headline = (
        top is not None
        and not (identifier and not material)
        and not (proven and largest < cfg.share_material and not relative)
    )
    text = f"{a.name}: " + (_share_text(top, ia, ib, na, nb) if headline else "").strip()
    if tail_unseen >= cfg.unseen_material:
        text += ("; " if headline else "") + (
            f"at least {new_proof[0]:,} levels holding {_pct(new_proof[1] / nb)} of the "
            f"current rows are new: the current's top list has {len(fresh):,} levels the "
            f"reference's lacks, and the reference has only {la.tail_levels:,} levels beyond "
            "its list"
        )
    if tail_gone >= cfg.unseen_material:
        text += ("; " if headline or tail_unseen >= cfg.unseen_material else "") + (
            f"at least {gone_proof[0]:,} levels holding {_pct(gone_proof[1] / na)} of the "
            f"reference rows are gone: the reference's top list has {len(gone):,} levels "
            f"the current's lacks, and the current has only {lb.tail_levels:,} beyond its "
            "list"
        )
    for est, side, other, seen in (
        (new_est, "current", "reference", sketch_new),
        (gone_est, "reference", "current", sketch_gone),
    ):
        # (new rows already proven above are not said twice)
        if (
            est is not None
            and seen >= cfg.unseen_material
            and (side == "reference" or tail_unseen < cfg.unseen_material)
        ):
            text = _then(text, _beyond_text(est, side, other))
    if relative and top not in relative and largest < cfg.share_material:  # a relative move decides
        v = max(relative, key=lambda x: least[x] * na / ia[x][1])
        text += "; " + _share_text(v, ia, ib, na, nb)
    grown = [v for v in fresh if least[v] >= cfg.relative_min_points]
    if (fresh and unseen) if la.complete else grown:
        text += "; " + _fresh_text(fresh if la.complete else grown, lb, la, na, nb, fresh_rows)
        if la.complete and la.singletons:
            text += (
                f" (chance would bring about {_pct(la.singletons / na)}: the share of "
                "reference rows whose value appears once)"
            )
    shrunk = gone if lb.complete else [v for v in gone if least[v] >= cfg.relative_min_points]
    if shrunk:
        text += "; " + _gone_text(shrunk, la, lb, na, nb)
    if identifier and not proven:
        text += ("; " if headline else "") + _identifier_text(a, b)
        if new_est is not None and gone_est is not None:
            text += (
                f"; the hash samples estimate that {_pct(new_est.share)} of the current "
                f"rows hold values the reference lacks and {_pct(gone_est.share)} of the "
                "reference rows values the current lacks"
            )
    elif not proven and new_est is not None and new_est.share >= cfg.unseen_material and not rare:
        text = _then(text, _beyond_text(new_est, "current", "reference"))
    elif (
        not proven
        and new_est is None
        and not la.complete
        and (fresh_rows + lb.other) / nb >= cfg.unseen_material
    ):  # profiles without sketches
        text = _then(
            text,
            (
                f"{_pct((fresh_rows + lb.other) / nb)} of the current rows are in levels outside "
                "the reference's top list or beyond the current's: they cannot be compared one "
                "by one (only in the tests' pooled rest)"
            ),
        )
    effect = largest
    if (unseen or 0.0) >= cfg.unseen_material or gone_share >= cfg.unseen_material:
        effect = max(largest, unseen or 0.0, gone_share)  # the statistic that decided
    aspects.insert(0, _Aspect("levels", p_value, material, major, effect, text))
    if rare is not None:
        aspects.insert(1, rare)
    fold = _fold(exact, ia, ib, na, nb, cfg, named=text)
    if fold is not None and not identifier:
        aspects.append(fold)
    figures = {
        "largest_share_change": largest,
        "psi": psi,
        "js_distance": js,
        "cramers_v": cramers_v,
        "unseen_share": unseen,
        "levels_relative_change": len(relative),
        "p_chi2": p_chi2,
        "tail_unseen_share": tail_unseen,
        "tail_gone_share": tail_gone,
        "new_rows_estimate": new_est.share if new_est else None,
        "new_rows_chance": new_est.chance if new_est else None,
        "gone_rows_estimate": gone_est.share if gone_est else None,
        "sketch_levels_sampled": new_est.sampled if new_est else None,
        "reference_levels_complete": float(la.complete),
        "current_levels_complete": float(lb.complete),
    } | base
    result = ColumnDrift(
        a.name,
        "categorical",
        "no drift",
        "chi-square + share change + PSI + JS",
        largest,
        None,
        _rows(a),
        _rows(b),
        figures,
    )
    return _Draft(result, aspects, identifier=identifier and not proven)


def _proven(levels: list[str], side: _Levels, other: _Levels) -> tuple[int, int] | None:
    """(k, rows): at least k of ``levels`` (listed by ``side``, not by ``other``'s cut-off
    list) are absent from ``other`` altogether, holding at least ``rows`` rows, because
    ``other``'s tail has only ``other.tail_levels`` levels (exact distinct count); the
    largest levels are assumed to hide there. None when nothing is proven."""
    if other.complete or other.tail_levels is None or len(levels) <= other.tail_levels:
        return None
    k = len(levels) - other.tail_levels
    return k, sum(sorted(side.counts[v] for v in levels)[:k])


@dataclass(frozen=True)
class _Beyond:
    """What the tail sketches show of one side's rows in levels the other side lacks.

    ``share``: estimated share of this side's rows in levels absent from the other side
    (levels its top list holds that are proven absent, exactly, plus its tail's rows times
    the ratio in the sample); ``sd``: the standard error of that estimate from sampling
    levels (0 when every tail level was sampled); ``chance``: the share of the other
    side's rows whose value it has once (Good-Turing: what a second sample of one
    distribution shows new); ``excess``: share less chance; ``p``: one-sided p-value of
    share > chance (normal approximation, the two samples' binomial noise added);
    ``sampled``/``levels``: tail levels sampled and the tail's levels in all."""

    share: float
    sd: float
    chance: float
    excess: float
    p: float
    sampled: int
    levels: int


def _beyond(x: ColumnProfile, y: ColumnProfile) -> _Beyond | None:
    """Compare ``x``'s levels beyond its top list with ``y`` through the tail sketches
    (``store.profiles``): ``x``'s sampled tail levels whose hash is at or below ``y``'s
    sketch threshold are a uniform sample of ``x``'s tail levels (Broder 1997), and for
    each of them ``y``'s top list and sketch say exactly whether ``y`` has the level. The
    share of ``x``'s tail rows in absent levels is estimated by the ratio estimator over
    the sample (Cochran, Sampling Techniques, 6.7: delta-method variance, finite
    population correction). None when a profile predates the sketches (schema step 12)
    or ``x``'s list is complete."""
    if (
        not x.other_count
        or x.singletons is None
        or y.singletons is None
        or not x.count
        or not y.count
        or not x.tail_hashes
        or not (x.distinct_exact and y.distinct_exact)
    ):
        return None
    y_top = {level_hash(v) for v in y.top_values}
    y_tail = set(y.tail_hashes)
    y_levels = y.distinct - len(y.top_values)
    if y.other_count and not y.tail_hashes:
        return None
    cut = y.other_count and len(y.tail_hashes) < y_levels  # y's tail is only sampled
    threshold = max(y.tail_hashes) if cut else 2**64
    # x's listed levels that y's list lacks: y has them or not, known exactly when y's
    # list is complete or the level's hash is within y's sketch; those are a uniform
    # sample of them all, so the rest are estimated by the same ratio
    listed_known, listed_unknown, unknown_levels = [], 0, 0
    for v, c in zip(x.top_values, x.top_counts, strict=True):
        h = level_hash(v)
        if h in y_top:
            continue
        if not y.other_count or h <= threshold:
            listed_known.append((c, h not in y_tail))
        else:
            listed_unknown += c
            unknown_levels += 1
    listed_ratio, listed_var = _ratio(listed_known, len(listed_known) + unknown_levels)
    top_absent = sum(c for c, gone in listed_known if gone) + listed_ratio * listed_unknown
    pairs = [
        (c, h not in y_top and h not in y_tail)
        for h, c in zip(x.tail_hashes, x.tail_counts, strict=True)
        if h <= threshold
    ]
    levels = x.distinct - len(x.top_values)
    if not pairs:
        return None
    ratio, variance = _ratio(pairs, levels)
    n = x.count
    share = min(1.0, (top_absent + ratio * x.other_count) / n)
    sd = math.sqrt(variance * x.other_count**2 + listed_var * listed_unknown**2) / n
    chance = y.singletons / y.count
    excess = share - chance
    noise = math.sqrt(sd**2 + share * (1 - share) / n + chance * (1 - chance) / y.count)
    p = float(stats.norm.sf(excess / noise)) if noise > 0 else (0.0 if excess > 0 else 1.0)
    return _Beyond(share, sd, chance, excess, p, len(pairs), levels)


def _ratio(pairs: list[tuple[int, bool]], population: int) -> tuple[float, float]:
    """(ratio, variance): the share of rows in absent levels among sampled levels
    ``pairs`` (rows, absent) drawn without replacement from ``population`` levels, and the
    ratio estimator's delta-method variance (Cochran, Sampling Techniques, 6.7); (0, 0)
    for no sample, variance 0 when every level was sampled."""
    if not pairs:
        return 0.0, 0.0
    counts = np.array([c for c, _ in pairs], float)
    absent = np.array([c if gone else 0 for c, gone in pairs], float)
    ratio = float(absent.sum() / counts.sum())
    m = len(pairs)
    if m >= population or m < 2:
        return ratio, 0.0
    resid = absent - ratio * counts
    spread = float(np.sum(resid**2) / (m - 1))
    return ratio, (1 - m / population) * spread / (m * float(counts.mean()) ** 2)


def _then(text: str, part: str) -> str:
    """A column's sentence with one more clause ("c: a" + "b" -> "c: a; b")."""
    return text.rstrip() + (" " if text.rstrip().endswith(":") else "; ") + part


def _beyond_text(est: _Beyond, side: str, other: str) -> str:
    """ "an estimated 40.1% (+-2.0 points) of the current rows are in levels the reference
    lacks (...); chance would bring about 0.1%"."""
    if est.sampled < est.levels:
        # a sample whose levels are all new (or all seen) has no spread to measure: no
        # interval is printed rather than a false "+-0.0"
        margin = f" (+-{1.96 * est.sd * 100:.1f} points)" if est.sd > 0 else ""
        how = (
            f"an estimated {_pct(est.share)}{margin} of the "
            f"{side} rows are in levels the {other} lacks ({est.sampled:,} of the "
            f"{side}'s {est.levels:,} levels beyond its top list sampled by hash)"
        )
    else:
        how = (
            f"{_pct(est.share)} of the {side} rows are in levels the {other} lacks (every "
            f"one of the {side}'s {est.levels:,} levels beyond its top list compared by "
            "hash)"
        )
    return how + f"; chance would bring about {_pct(est.chance)}"


def _fold(
    exact: list, ia: dict, ib: dict, na: int, nb: int, cfg: DriftConfig, named: str = ""
) -> _Aspect | None:
    """Small levels matter by the factor their share moves, not only by points: a country
    new in 0.8% of a million rows, or gone from 0.9%, or 0.3% -> 0.9%. Among the levels
    both profiles count exactly, those whose share is multiplied or divided by at least
    ``cfg.fold_material`` (new and gone levels too) and reach ``cfg.fold_min_share`` on one side
    are tested one by one (Fisher's exact test of the level against the rest of the rows),
    Bonferroni over every exactly counted level; the aspect is the most significant one
    (its sentence left empty when ``named``, the levels sentence, names the level already)."""
    best = None
    for v in exact:
        ca, cb = ia[v][0], ib[v][0]
        sa, sb = ca / na, cb / nb
        hi, lo = max(sa, sb), min(sa, sb)
        if (
            hi < cfg.fold_min_share
            or hi < cfg.fold_material * lo
            or max(ca, cb) < cfg.fold_min_rows
        ):
            continue
        p = float(stats.fisher_exact([[cb, nb - cb], [ca, na - ca]]).pvalue)
        if best is None or p < best[0]:
            best = (p, v, sa, sb)
    if best is None:
        return None
    p, v, sa, sb = best
    how = "new" if sa == 0 else "gone" if sb == 0 else f"x{sb / sa:.2g}"
    text = f"share of {v!r} {_pct(sa)} -> {_pct(sb)} ({how})"
    if repr(v) in named:  # the levels sentence names the level already
        text = ""
    return _Aspect("small level", min(1.0, len(exact) * p), True, False, abs(sb - sa), text)


def _rare(
    a: ColumnProfile, est: _Beyond | None, la: _Levels, fresh: float, cfg: DriftConfig
) -> _Aspect | None:
    """Rows in values the reference lacks, as many as chance explains, when both reach
    ``cfg.share_material``: where that many reference rows hold a value seen once, a change
    among the rare values (such a tail replaced by other values seen once) looks exactly
    like a second sample of one distribution, so the profiles cannot say "no drift" about
    those rows. A material aspect without a test: "not enough evidence"."""
    if est is not None:
        share, chance = est.share, est.chance
    elif la.complete:
        share, chance = fresh, la.singletons / a.count if a.count else 0.0
    else:
        return None
    hidden = min(share, chance)
    if hidden < cfg.share_material:
        return None
    text = (
        f"{_pct(share)} of the current rows are values the reference lacks, about what "
        f"chance brings when {_pct(chance)} of the reference rows hold a value seen "
        "once: a change among rare values this large cannot be told from sampling"
    )
    return _Aspect("rare levels", None, True, False, hidden, text)


class _Levels:
    """A profile's level counts: exact for listed levels, and for every level when the list
    is complete; otherwise an unlisted level has between 0 and ``cap`` rows."""

    def __init__(self, p: ColumnProfile) -> None:
        self.counts = dict(zip(p.top_values, p.top_counts, strict=True))
        self.complete = p.other_count == 0
        self.other = p.other_count
        self.cap = 0 if self.complete else min(min(p.top_counts, default=0), p.other_count)
        listed = len(p.top_values)
        self.tail_levels = max(p.distinct - listed, 0) if p.distinct_exact else None
        self.singletons = sum(1 for c in p.top_counts if c == 1)  # rows of values seen once

    def interval(self, level: str) -> tuple[int, int]:
        if level in self.counts:
            return self.counts[level], self.counts[level]
        return 0, self.cap

    def tail_bound(self, k: int) -> int:
        """The most rows ``k`` unlisted levels can hold together."""
        if self.complete:
            return 0
        if self.tail_levels is not None:
            k = min(k, self.tail_levels)
        return min(self.other, k * self.cap)


def _identifier(p: ColumnProfile, cfg: DriftConfig) -> bool:
    return p.other_count > 0 and p.count > 0 and p.distinct >= cfg.identifier_ratio * p.count


def _chi_square(xa: np.ndarray, xb: np.ndarray, min_expected: float) -> tuple[float, float | None]:
    """Pearson's chi-square of the 2 x K table, levels with fewer than min_expected expected
    rows (on the smaller side) pooled with the last column (the rest)."""
    total = xa + xb
    n, m = xa.sum(), xb.sum()
    small = total * min(n, m) / (n + m) < min_expected
    small[-1] = True  # the rest column collects the pooled levels
    keep = ~small
    ta = np.append(xa[keep], xa[small].sum())
    tb = np.append(xb[keep], xb[small].sum())
    if (ta[-1] + tb[-1]) * min(n, m) / (n + m) < min_expected and len(ta) > 2:
        i = int(np.argmin((ta + tb)[:-1]))  # a thin rest joins the smallest level
        ta[i] += ta[-1]
        tb[i] += tb[-1]
        ta, tb = ta[:-1], tb[:-1]
    nz = (ta + tb) > 0
    table = np.vstack([ta[nz], tb[nz]])
    if table.shape[1] < 2:
        return 0.0, None
    chi2, p, _, _ = stats.chi2_contingency(table, correction=False)
    return float(chi2), float(p)


def _one_list(levels: list[str], side: _Levels, other: _Levels, n: int, m: int) -> float:
    """p-value that the ``levels`` that only ``side``'s list holds (n rows) have more rows
    there than ``other`` (m rows) can hold: all of them together against the rows of
    values ``other`` has once when its list is complete; the largest one against the
    tail bound, Bonferroni over the candidates, when it is cut off."""
    if other.complete:
        return _fisher(sum(side.counts[v] for v in levels), n, other.singletons, m)
    biggest = max(side.counts[v] for v in levels)
    return min(1.0, len(levels) * _fisher(biggest, n, other.cap, m))


def _fisher(rows: int, n: int, bound: int, m: int) -> float:
    """One-sided Fisher exact p that ``rows`` of ``n`` exceed ``bound`` of ``m`` as shares.
    ``bound`` is the most the other side's profile allows (so the test is valid whatever
    the hidden count is) or, for levels new to a complete list, the rows of values seen
    once (Good-Turing's estimate of the share a second sample shows new by chance)."""
    table = [[rows, n - rows], [bound, m - bound]]
    return float(stats.fisher_exact(table, alternative="greater").pvalue)


def _share_text(v, ia, ib, na, nb) -> str:
    return f"share of {v!r} {_bounded(ia[v], na)} -> {_bounded(ib[v], nb)}"


def _bounded(interval: tuple[int, int], n: int) -> str:
    lo, hi = interval
    return _pct(lo / n) if lo == hi else f"at most {_pct(hi / n)}"


def _fresh_text(fresh, lb, la, na, nb, _rows_all=None) -> str:
    rows = sum(lb.counts[v] for v in fresh)
    named = ", ".join(f"{v!r} {_pct(lb.counts[v] / nb)}" for v in fresh[:3])
    more = f" and {len(fresh) - 3:,} more ({_pct(rows / nb)} in all)" if len(fresh) > 3 else ""
    if la.complete:
        if len(fresh) == 1 and lb.complete:
            return f"new value {fresh[0]!r} in {_pct(rows / nb)} of rows"
        text = f"new values {named}{more} of rows"
        return text + ("" if lb.complete else "; more may hide beyond the current's top list")
    return (
        f"values outside the reference's top list: {named}{more} of rows (each at most "
        f"{_pct(la.cap / na)} in the reference)"
    )


def _gone_text(gone, la, lb, na, nb) -> str:
    named = ", ".join(f"{v!r} (was {_pct(la.counts[v] / na)})" for v in gone[:3])
    more = f" and {len(gone) - 3:,} more" if len(gone) > 3 else ""
    if lb.complete:
        return f"disappeared: {named}{more}"
    return (
        f"missing from the current's top list: {named}{more} (each at most {_pct(lb.cap / nb)} now)"
    )


def _identifier_text(a: ColumnProfile, b: ColumnProfile) -> str:
    return (
        f"identifier-like ({a.distinct:,} distinct values in {a.count:,} rows, now "
        f"{b.distinct:,} in {b.count:,}): a profile keeps the {len(a.top_values):,} most "
        "frequent values, so new values cannot be told from old ones; the levels are not "
        f"tested (a rule {a.name}=ignore leaves the column out)"
    )


# ---------------------------------------------------------------- nulls and non-finite


def _states(a: ColumnProfile, b: ColumnProfile, cfg: DriftConfig) -> _Aspect | None:
    """The shares of NULL, NaN, +inf and -inf among all rows: Fisher's exact test of each
    present share (the state against every other row), Bonferroni over them."""
    na, nb = _rows(a), _rows(b)
    if not na or not nb:
        return None
    found = []
    for label, attr in _STATES:
        ka, kb = int(getattr(a, attr)), int(getattr(b, attr))
        if ka or kb:
            p = stats.fisher_exact([[kb, nb - kb], [ka, na - ka]]).pvalue
            found.append((label, ka / na, kb / nb, float(p)))
    if not found:
        return None
    p_value = min(1.0, len(found) * min(f[3] for f in found))
    change = max(abs(f[2] - f[1]) for f in found)
    moved = [f for f in found if abs(f[2] - f[1]) >= cfg.state_material] or [
        max(found, key=lambda f: abs(f[2] - f[1]))
    ]
    text = "; ".join(f"{label} {_pct(sa)} -> {_pct(sb)} of rows" for label, sa, sb, _ in moved)
    return _Aspect(
        "missing", p_value, change >= cfg.state_material, change >= cfg.state_major, change, text
    )


def _state_stats(a: ColumnProfile, b: ColumnProfile) -> dict[str, float]:
    out = {}
    for label, attr in _STATES[1:]:
        if getattr(a, attr) or getattr(b, attr):
            key = {"NaN": "nan", "+inf": "posinf", "-inf": "neginf"}[label]
            out[f"{key}_rate_change"] = _share(b, attr) - _share(a, attr)
    return out


# ---------------------------------------------------------------- the verdict


def _benjamini_hochberg(aspects: list[_Aspect], q: float) -> None:
    """Mark each aspect ``real`` when its p-value passes Benjamini-Hochberg at false
    discovery rate ``q`` among all tested aspects of the report (Benjamini and Hochberg
    1995, by ``scipy.stats.false_discovery_control``: real when the adjusted p-value is at
    most ``q``)."""
    tested = [x for x in aspects if x.p_value is not None]
    if not tested:
        return
    # a NaN p-value (no test could say) counts as 1: it passes nowhere, and NaN would
    # spread through the step-up's running minimum
    ps = [x.p_value if math.isfinite(x.p_value) else 1.0 for x in tested]
    adjusted = stats.false_discovery_control(np.clip(ps, 0.0, 1.0), method="bh")
    for x, p in zip(tested, adjusted, strict=True):
        x.real = bool(p <= q)


def _final(draft: _Draft) -> ColumnDrift:
    r = draft.result
    found = [x for x in draft.aspects if x.material and x.real]
    material = [x for x in draft.aspects if x.material]
    if found:
        verdict = "major drift" if any(x.major for x in found) else "drift"
    elif material:
        verdict = "not enough evidence"
    elif draft.identifier:
        verdict = "not tested"
    else:
        verdict = "no drift"
    main = next((x for x in draft.aspects if x.name in ("values", "levels")), None)
    effect = max(
        (x.effect for x in found),
        default=main.effect if main else (max((x.effect for x in draft.aspects), default=0.0)),
    )
    parts = [
        x.text
        for x in draft.aspects
        if x.text and (x.name != "missing" or x.material or main is None)
    ]
    sentence = "; ".join(parts) if main is not None else f"{r.column}: " + "; ".join(parts)
    if not parts:
        sentence = f"{r.column}: no values on one side" if main is None else sentence
    ps = [x.p_value for x in draft.aspects if x.p_value is not None]
    figures = dict(r.stats)
    for x in draft.aspects:
        figures[f"p_{x.name}"] = x.p_value
    method = r.method + (
        " + null/non-finite shares (Fisher)"
        if any(x.name == "missing" for x in draft.aspects)
        else ""
    )
    return ColumnDrift(
        r.column,
        r.kind,
        verdict,
        method,
        _safe(effect),
        min(ps, default=None),
        r.n_reference,
        r.n_current,
        {k: _safe(v) for k, v in figures.items()},
        sentence,
    )


def _schema(
    name: str, change: str, a: ColumnProfile | None, b: ColumnProfile | None
) -> ColumnDrift:
    p = a or b
    return ColumnDrift(
        name,
        "schema",
        change,
        "schema",
        1.0,
        None,
        _rows(a) if a else 0,
        _rows(b) if b else 0,
        sentence=f"{name}: column {change} ({p.dtype})",
    )


# ---------------------------------------------------------------- helpers


def _cdf(x: np.ndarray, q: np.ndarray, p: np.ndarray) -> np.ndarray:
    """The CDF at ``x`` from a quantile function (right-continuous at ties)."""
    if len(q) == 1:
        return np.where(x >= q[0], 1.0, 0.0)
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
    inner = np.unique(
        np.concatenate([qa[np.linspace(0, len(qa) - 1, 11).astype(int)[1:-1]], [qa[-1]]])
    )
    pa, pb = np.linspace(0, 1, len(qa)), np.linspace(0, 1, len(qb))
    fa = np.concatenate([[0.0, _cdf_below(qa[0], qa, pa)], _cdf(inner, qa, pa), [1.0]])
    fb = np.concatenate([[0.0, _cdf_below(qa[0], qb, pb)], _cdf(inner, qb, pb), [1.0]])
    sa, sb = np.maximum(np.diff(fa), EPS), np.maximum(np.diff(fb), EPS)
    return float(np.sum((sb - sa) * np.log(sb / sa)))


def _rows(p: ColumnProfile) -> int:
    return p.count + p.nulls


def _finite(p: ColumnProfile) -> int:
    """Non-null values on the numeric axis (NaN and infinities left out)."""
    return max(p.count - p.non_finite, 0)


def _share(p: ColumnProfile, attr: str) -> float:
    total = _rows(p)
    return getattr(p, attr) / total if total else 0.0


def _null_rate(p: ColumnProfile) -> float:
    return _share(p, "nulls")


def _pct(x: float) -> str:
    """A share as a percentage: "0%" only when it is zero, small ones with two digits."""
    if x == 0:
        return "0%"
    if abs(x) < 0.001:
        return f"{x * 100:.2g}%"
    return f"{x:.1%}"


def _safe(value: float | None) -> float | None:
    """Finite float or None (JSON has no NaN or Infinity)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None
