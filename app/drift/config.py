"""A drift report's configuration: the thresholds of the decision rule and the per-column
rules, validated once, stored with each report (``drift_reports.config``, schema step 15)
and rendered as the rule text the page, ``workbench drift rule`` and the HTML export show.

The defaults are the rule of ``../shared/design/drift-methods.md`` as the workbench applies
it (``workbench.drift.stats`` says how each threshold is used); :meth:`DriftConfig.rule`
states it in words from the values, so the text a reader sees is the rule the report ran
with. :func:`parse_rules` is the one reader of per-column rule text
(``COLUMN=METHOD[:THRESHOLD]``), for the page and the CLI alike.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from workbench.drift import methods
from workbench.store.errors import InvalidInput
from workbench.store.profiles import SKETCH_SIZE, TOP_LEVELS

RULE_SYNTAX = "COLUMN=METHOD[:THRESHOLD]"
CONFIG_VERSION = 1  # the layout of DriftConfig.to_json()


@dataclass(frozen=True)
class Override:
    """A column's own rule: ``method`` (a name in ``workbench.drift.methods``, or
    ``ignore``) at ``threshold`` (material at it, major at ``DriftConfig.major_factor``
    times it; the method's own scale: W1/sd, PSI, KS D, a share or a JS distance)."""

    method: str
    threshold: float = 0.1

    def describe(self, major_factor: float) -> str:
        """ "psi >= 0.2 (major at 0.5)", "ks >= 0.5 (major never: ks is at most 1)", or
        "left out (ignore)"."""
        if self.method == methods.IGNORE:
            return "left out (ignore)"
        major = major_factor * self.threshold
        upper = methods.get(self.method).upper if self.method in methods.names() else None
        if upper is not None and major > upper:
            return (
                f"{self.method} >= {self.threshold:g} "
                f"(major never: {self.method} is at most {upper:g})"
            )
        return f"{self.method} >= {self.threshold:g} (major at {major:g})"


# name -> (type, low, high, low inclusive, high inclusive, what the value is)
_Bound = tuple[type, float, float, bool, bool]
_BOUNDS: dict[str, _Bound] = {
    "q_fdr": (float, 0.0, 1.0, False, False),
    "numeric_material": (float, 0.0, math.inf, False, False),
    "numeric_major": (float, 0.0, math.inf, False, False),
    "share_material": (float, 0.0, 1.0, False, True),
    "share_major": (float, 0.0, 1.0, False, True),
    "relative_material": (float, 0.0, math.inf, False, False),
    "relative_min_points": (float, 0.0, 1.0, False, True),
    "psi_material": (float, 0.0, math.inf, False, False),
    "psi_major": (float, 0.0, math.inf, False, False),
    "unseen_material": (float, 0.0, 1.0, False, True),
    "fold_material": (float, 1.0, math.inf, False, False),
    "fold_min_share": (float, 0.0, 1.0, False, True),
    "fold_min_rows": (int, 1, math.inf, True, False),
    "state_material": (float, 0.0, 1.0, False, True),
    "state_major": (float, 0.0, 1.0, False, True),
    "min_expected": (float, 0.0, math.inf, False, False),
    "identifier_ratio": (float, 0.0, 1.0, False, True),
    "dataset_share": (float, 0.0, 1.0, False, True),
    "major_factor": (float, 1.0, math.inf, True, False),
    "perf_material": (float, 0.0, math.inf, False, False),
    "n_boot": (int, 100, 1_000_000, True, True),
}
# a major threshold is at least its material one
_ORDER = (
    ("numeric_material", "numeric_major"),
    ("share_material", "share_major"),
    ("psi_material", "psi_major"),
    ("state_material", "state_major"),
)


@dataclass(frozen=True)
class DriftConfig:
    """Every number the drift rule uses, with today's defaults, and the per-column rules.

    Shares are fractions of rows (0.05 is 5 points). Sources: drift-methods.md for the
    materiality bounds (W1/sd, PSI and KS D 0.1, major 0.25; a level's share 5 points,
    major 10; null rate 2 points; unseen levels 1%), Benjamini and Hochberg (1995) for
    ``q_fdr``, Cochran (1954) for ``min_expected``; the others are the workbench's own
    (``workbench.drift.stats`` documents each).

    * ``q_fdr``: Benjamini-Hochberg false discovery rate across a report's tests.
    * ``numeric_material`` / ``numeric_major``: W1 over the reference sd, PSI, KS D.
    * ``share_material`` / ``share_major``: a level's share, absolute change.
    * ``relative_material`` with ``relative_min_points``: a level's share change relative
      to its reference share, when also at least that absolute change.
    * ``psi_material`` / ``psi_major``: PSI of levels.
    * ``unseen_material``: share of current rows in levels the reference lacks.
    * ``fold_material``, ``fold_min_share``, ``fold_min_rows``: a small level whose share
      is multiplied or divided by the factor, holding that share and that many rows.
    * ``state_material`` / ``state_major``: share of NULL, NaN, +inf or -inf.
    * ``min_expected``: expected rows below which a chi-square cell is pooled.
    * ``identifier_ratio``: distinct values per row from which a cut-off column is an id.
    * ``dataset_share``: the dataset drifts when this share of compared columns drift.
    * ``major_factor``: a per-column rule's threshold times this is major drift.
    * ``perf_material``, ``n_boot``: a model's performance drop (share of the reference
      score) that matters, and the bootstrap resamples of its interval.
    * ``overrides``: per column, an :class:`Override`; given as a mapping or pairs, kept
      as a tuple of (column, Override) pairs in the order given (:attr:`per_column` is
      the dict).

    Raises InvalidInput naming the parameter, its range and the value given."""

    q_fdr: float = 0.01
    numeric_material: float = 0.1
    numeric_major: float = 0.25
    share_material: float = 0.05
    share_major: float = 0.10
    relative_material: float = 0.25
    relative_min_points: float = 0.01
    psi_material: float = 0.1
    psi_major: float = 0.25
    unseen_material: float = 0.01
    fold_material: float = 2.0
    fold_min_share: float = 0.001
    fold_min_rows: int = 20
    state_material: float = 0.02
    state_major: float = 0.10
    min_expected: float = 5.0
    identifier_ratio: float = 0.5
    dataset_share: float = 0.25
    major_factor: float = 2.5
    perf_material: float = 0.03
    n_boot: int = 500
    overrides: tuple[tuple[str, Override], ...] = field(default=())

    def __post_init__(self) -> None:
        for name, bound in _BOUNDS.items():
            object.__setattr__(self, name, _checked(name, getattr(self, name), bound))
        for low, high in _ORDER:
            if getattr(self, high) < getattr(self, low):
                raise InvalidInput(
                    f"The {high!r} parameter of DriftConfig must be at least {low!r} "
                    f"({getattr(self, low):g}); got {getattr(self, high):g}. Raise it, or "
                    f"lower {low!r}."
                )
        object.__setattr__(self, "overrides", _checked_overrides(self.overrides))

    @property
    def per_column(self) -> dict[str, Override]:
        """The per-column rules as a dict (a copy): column -> Override."""
        return dict(self.overrides)

    def with_overrides(self, overrides: Mapping[str, Override] | None) -> DriftConfig:
        """This configuration with ``overrides`` as its per-column rules (validated)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return DriftConfig(**(values | {"overrides": tuple((overrides or {}).items())}))

    # ------------------------------------------------------------------ JSON

    def to_json(self) -> dict[str, Any]:
        """Plain JSON: every threshold, and ``overrides`` as {column: {method, threshold}}
        (per-column rules in the order given); ``version`` is the layout's."""
        out: dict[str, Any] = {"version": CONFIG_VERSION}
        out |= {name: getattr(self, name) for name in _BOUNDS}
        out["overrides"] = {
            c: {"method": o.method, "threshold": o.threshold} for c, o in self.overrides
        }
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DriftConfig:
        """The configuration :meth:`to_json` wrote; a missing threshold takes today's
        default. Raises InvalidInput for an unknown key or a value out of range."""
        if not isinstance(data, Mapping):
            raise InvalidInput(
                f"A drift configuration is a JSON object; got {type(data).__name__}."
            )
        unknown = sorted(set(data) - set(_BOUNDS) - {"version", "overrides"})
        if unknown:
            raise InvalidInput(
                f"Unknown drift configuration key(s) {', '.join(map(repr, unknown))}; use "
                f"{', '.join(_BOUNDS)} or overrides."
            )
        raw = data.get("overrides") or {}
        if not isinstance(raw, Mapping):
            raise InvalidInput(
                "The drift configuration's overrides are {column: {method, threshold}}; "
                f"got {raw!r}."
            )
        overrides = tuple(
            (c, Override(o.get("method", ""), o.get("threshold", 0.1)))
            if isinstance(o, Mapping)
            else (c, Override(str(o)))
            for c, o in raw.items()
        )
        return cls(**{k: data[k] for k in _BOUNDS if k in data}, overrides=overrides)

    # ------------------------------------------------------------------ words

    def rule(self) -> str:
        """The decision rule in words, generated from these values (with today's defaults
        it is ``workbench.drift.stats.RULE``, the text of ``docs/guide/drift.md``), then
        the per-column rules, if any."""
        text = _RULE.format(
            c=self,
            share_material_pts=_pts(self.share_material),
            relative_min_pts=_pts(self.relative_min_points),
            state_material_pts=_pts(self.state_material),
            share_major_pts=_pts(self.share_major),
            state_major_pts=_pts(self.state_major),
            top_levels=TOP_LEVELS,
            sketch_size=SKETCH_SIZE,
        )
        if self.overrides:
            text += " Per-column rules: " + "; ".join(
                f"{c}: {o.describe(self.major_factor)}" for c, o in self.overrides
            )
            text += (
                " (a rule replaces the column's materiality with its statistic; the test of "
                "real and the null and non-finite shares stay)."
            )
        return text

    def model_rule(self) -> str:
        """The model performance verdict in words (``workbench.drift.model_drift``)."""
        return (
            "Degraded when the bootstrap interval of the change excludes 0 and the drop is "
            f"at least {self.perf_material:.0%} of the reference score ({self.n_boot:,} "
            "resamples a side)."
        )

    def rules_help(self) -> str:
        """How a per-column rule is written, for a form or ``--help``: methods by kind."""

        def listed(kind: str) -> str:
            return "; ".join(
                f"{m.name}, {m.unit}" if m.unit else m.name
                for m in map(methods.get, methods.names(kind))
            )

        return (
            f"One rule per line, {RULE_SYNTAX}. Numbers: {listed('numeric')}. Categories: "
            f"{listed('categorical')}. {methods.IGNORE} leaves a column out. Material at the "
            f"threshold, major at {self.major_factor:g}x it; the test of real stays."
        )


def parse_rules(texts: Iterable[str]) -> dict[str, Override]:
    """Per-column rules from text, the one parser of the page and the CLI: each
    ``COLUMN=METHOD[:THRESHOLD]`` (``income=psi:0.2``, ``customer_id=ignore``; the
    threshold defaults to the method's, ``workbench.drift.methods``); blank lines are
    skipped. Returns column -> Override in the order given. Raises InvalidInput for a
    malformed rule, an unknown method, a threshold that is not a number above 0, or a
    column given twice."""
    out: dict[str, Override] = {}
    for text in texts:
        if not text.strip():
            continue
        column, sep, rest = text.partition("=")
        column, rest = column.strip(), rest.strip()
        if not sep or not column or not rest:
            raise InvalidInput(
                f"Rule {text!r}: write {RULE_SYNTAX}, e.g. income=psi:0.2 or customer_id=ignore."
            )
        name, _, threshold = rest.partition(":")
        name, threshold = name.strip(), threshold.strip()
        if name == methods.IGNORE and threshold:
            raise InvalidInput(
                f"Rule {text!r}: {methods.IGNORE} takes no threshold (the column is left out "
                f"of the verdict); write {column}={methods.IGNORE}."
            )
        try:
            value = float(threshold) if threshold else None
        except ValueError:
            raise InvalidInput(
                f"Rule {text!r}: the threshold {threshold!r} is not a number; write a number "
                "above 0, e.g. income=psi:0.2."
            ) from None
        if value is None:
            known = name == methods.IGNORE or name not in methods.names()
            value = 0.1 if known else methods.get(name).default_threshold
        problem = _override_problem(Override(name, value))
        if problem:
            raise InvalidInput(f"Rule {text!r}: {problem}")
        if column in out:
            raise InvalidInput(
                f"Rule {text!r}: column {column!r} has a rule already; give one rule a column."
            )
        out[column] = Override(name, value)
    return out


def _checked(name: str, value: Any, bound: _Bound) -> float | int:
    kind, lo, hi, lo_in, hi_in = bound
    ok_type = isinstance(value, int | float) and not isinstance(value, bool)
    if kind is int:
        ok_type = ok_type and float(value).is_integer()
    ok = ok_type and math.isfinite(value)
    if ok:
        ok = (value >= lo if lo_in else value > lo) and (value <= hi if hi_in else value < hi)
    if not ok:
        interval = f"{'[' if lo_in else '('}{lo:g}, {hi:g}{']' if hi_in else ')'}"
        default = next(f.default for f in fields(DriftConfig) if f.name == name)
        article = "an int" if kind is int else "a float"
        raise InvalidInput(
            f"The {name!r} parameter of DriftConfig must be {article} in the range "
            f"{interval}; got {value!r}. Give a value in that range, or leave it "
            f"out for today's default ({default:g})."
        )
    return int(value) if kind is int else float(value)


def _checked_overrides(given: Any) -> tuple[tuple[str, Override], ...]:
    pairs = list(given.items()) if isinstance(given, Mapping) else list(given or ())
    out, seen = [], set()
    for pair in pairs:
        column, override = pair
        if not isinstance(column, str) or not column:
            raise InvalidInput(f"A per-column rule names a column by its name; got {column!r}.")
        if not isinstance(override, Override):
            raise InvalidInput(
                f"Override for {column!r}: give a workbench.drift.Override(method, threshold); "
                f"got {override!r}."
            )
        if column in seen:
            raise InvalidInput(f"Override for {column!r} given twice; give one rule a column.")
        seen.add(column)
        out.append((column, _check_override(column, override)))
    return tuple(out)


def _check_override(column: str, o: Override) -> Override:
    """``o`` (its threshold a float) when its method is registered (or ``ignore``) and its
    threshold a finite number above 0; InvalidInput saying what fits otherwise. Whether
    the method fits the column's kind is checked against the profiles
    (``stats.check_overrides``)."""
    problem = _override_problem(o)
    if problem:
        raise InvalidInput(f"Rule for column {column!r}: {problem}")
    return o if o.method == methods.IGNORE else Override(o.method, float(o.threshold))


def _override_problem(o: Override) -> str:
    """What is wrong with ``o`` and what to do, or "" (the one wording of the config, the
    page and the CLI)."""
    if o.method == methods.IGNORE:
        return ""
    if o.method not in methods.names():
        return (
            f"{o.method!r} is not a drift method; use one of {', '.join(methods.names())} "
            f"or {methods.IGNORE}."
        )
    t = o.threshold
    if isinstance(t, bool) or not (isinstance(t, int | float) and math.isfinite(t) and t > 0):
        return f"the threshold must be a number above 0; got {t!r}."
    method = methods.get(o.method)
    if method.upper is not None and t > method.upper:
        return (
            f"{o.method} is {method.unit}, so a threshold of {t:g} can never be reached and "
            f"the column could never drift; give one of at most {method.upper:g}, e.g. "
            f"{o.method}:{method.default_threshold:g}."
        )
    return ""


def _pts(share: float) -> str:
    """A share as points of percentage, as the rule writes it (0.05 -> "5")."""
    return f"{share * 100:g}"


_RULE = (
    "A column drifts when a change in it is both real and material. Each column is compared "
    "on two aspects, from the profiles stored at registration (no raw rows are read). "
    "(1) Its values. Numbers, dates and timestamps (finite values): tested by KS and "
    "Welch's t (the smaller p-value doubled); material when Wasserstein-1 over the "
    "reference sd, PSI on reference deciles or KS D is at least {c.numeric_material:g}. "
    "Text and booleans (levels): tested by the chi-square test of the 2 x K table of "
    "levels (fewer than {c.min_expected:g} expected rows pooled); material when a level's "
    "share moves at least {share_material_pts} points, or by {c.relative_material:.0%} "
    "of its reference share and at least {relative_min_pts} point, when PSI "
    "reaches {c.psi_material:g}, or when levels the reference lacks hold "
    "{c.unseen_material:.0%} of the rows more than chance would bring (the share of "
    "reference rows whose value appears once); levels only one side has are also tested "
    "by Fisher's exact test. A small level counts by the factor its share moves: "
    "multiplied or divided by {c.fold_material:g} (new and gone levels too) while it holds "
    "at least {c.fold_min_share:.1%} of the rows (and {c.fold_min_rows} rows) on one side, "
    "tested level by level "
    "(Fisher's exact test, Bonferroni over the levels). (2) Its missing and non-finite "
    "values: the shares of nulls, NaN, +inf and -inf, each tested by Fisher's exact "
    "test; material when a share moves {state_material_pts} points, up or down. "
    "Real: the test's p-value passes Benjamini-Hochberg across all of the report's tests "
    "at q = {c.q_fdr:g}. Major drift: PSI or Wasserstein/sd at least {c.numeric_major:g}, a "
    "level's share moving {share_major_pts} points, or a null or non-finite share "
    "moving {state_major_pts} points. A material change without enough evidence is "
    "'not enough evidence', never 'no drift'; a real change too small to matter is 'no "
    "drift' (both figures are shown). A profile keeps a column's {top_levels:,} most frequent "
    "levels: a level beyond them has a count between 0 and the smallest kept one, so "
    "figures about it are bounds ('at most'); when one side's list holds more levels the "
    "other's lacks than the other has levels beyond its list (exact distinct counts), the "
    "excess is proven new (or gone) and counts like new values. Beyond the list, a "
    "profile keeps a hash sample of up to {sketch_size:,} of the other levels (those with "
    "the smallest MD5 hashes, with their counts): for the levels both samples cover, it "
    "is known whether the other side has them at all, so the share of rows in levels the "
    "other side lacks is estimated, and beyond what chance would bring counts as new (or "
    "gone) values, tested against chance (normal approximation). When at least "
    "{c.share_material:.0%} of the current rows are in values the reference lacks and the "
    "reference has as large a share of rows whose value appears once, a change among rare "
    "values cannot be told from a new sample: 'not enough evidence'. "
    "A text column with more levels than that and at least {c.identifier_ratio:g} distinct "
    "values per row is identifier-like: unless such a proof applies, new values cannot be "
    "told from old ones, so its levels are 'not tested' (COLUMN=ignore leaves it out; a "
    "rule COLUMN=share:T makes it tested: drift when the hash samples show values the "
    "reference lacks in at least T of the current rows); its nulls still are. An integer "
    "column beyond 2^53 with at most that many distinct values is profiled value by "
    "value and compared as levels, exactly (the numeric axis would merge "
    "neighbouring values). A numeric column is constant when its exact smallest and "
    "largest values are equal; a constant replaced by another is major drift even where "
    "the numeric axis (doubles) cannot tell the values apart. Medians marked with ≈ are "
    "read off an approximate quantile function or rounded (integers beyond 2^53). A "
    "column is compared by value across types on one axis: integers with floats (7 and "
    "7.0 are one value), dates with timestamps (in seconds); numbers, dates and text "
    "against each other are a type change, which is drift, and whose null and non-finite "
    "shares are still tested. The "
    "dataset drifts when a column drifts majorly or at least {c.dataset_share:.0%} of the "
    "compared columns drift; otherwise a removed column makes it 'schema change', and with "
    "no column compared it is 'schema change' or 'nothing compared', never 'no drift'."
)

# Today's rule (a report made without a configuration runs with it).
DEFAULT = DriftConfig()
