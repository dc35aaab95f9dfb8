"""The per-column drift methods a rule can name (``COLUMN=METHOD[:THRESHOLD]``): a registry
with one entry per method, so adding a method is one :func:`register` call.

A method replaces a column's materiality rule with one statistic and its threshold
(``workbench.drift.stats``: material at the threshold, major at
``DriftConfig.major_factor`` times it; the tests of "real" stay). Its ``function`` reads
the statistic from the column's figures (``ColumnDrift.stats``, computed from the two
profiles by ``workbench.drift.stats``) and may use the profiles themselves; it returns a
float, or None when the statistic is undefined (for example W1/sd of a constant
reference). :class:`workbench.drift.config.DriftConfig` accepts only names registered
here (or ``ignore``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from workbench.store.entities import ColumnProfile
from workbench.store.errors import InvalidInput

KINDS = ("numeric", "categorical")  # numbers, dates, timestamps | text, booleans (levels)
IGNORE = "ignore"  # not a method: leaves the column out of the verdict

Statistic = Callable[[Mapping[str, float | None], ColumnProfile, ColumnProfile], float | None]


@dataclass(frozen=True)
class Method:
    """One per-column drift method.

    ``name``: what a rule writes (``income=psi:0.2``); ``kinds``: the column kinds it
    applies to (``KINDS``); ``statistic``: the key of ``ColumnDrift.stats`` it thresholds
    (recorded beside the result); ``function(figures, reference, current)``: the
    statistic's value for one column, a float or None; ``default_threshold``: the
    threshold when a rule gives none; ``source``: where the statistic and the threshold
    come from; ``upper``: the statistic's largest value (1 for a share, KS D or the
    Jensen-Shannon distance; None when unbounded), so a threshold at or above it, which
    could never be reached, is refused; ``unit``: what the number measures, for help
    texts."""

    name: str
    kinds: tuple[str, ...]
    statistic: str
    function: Statistic
    default_threshold: float
    source: str
    upper: float | None = None
    unit: str = ""


_REGISTRY: dict[str, Method] = {}


def register(method: Method) -> Method:
    """Add ``method`` to the registry and return it. Raises InvalidInput when the name is
    taken (or is ``ignore``) or a kind is not one of ``KINDS``."""
    if method.name in _REGISTRY or method.name == IGNORE:
        raise InvalidInput(
            f"A drift method named {method.name!r} is registered already; pick another name."
        )
    unknown = [k for k in method.kinds if k not in KINDS]
    if unknown or not method.kinds:
        raise InvalidInput(
            f"Drift method {method.name!r}: kinds must be some of {', '.join(KINDS)}; "
            f"got {list(method.kinds)!r}."
        )
    _REGISTRY[method.name] = method
    return method


def unregister(name: str) -> Method:
    """Remove the method called ``name`` and return it (a plugin's or a test's own);
    InvalidInput when there is none. Reports stored with it keep their results, but a new
    report naming it is refused."""
    found = get(name)
    del _REGISTRY[name]
    return found


def get(name: str) -> Method:
    """The method called ``name``; InvalidInput naming every registered one otherwise."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise InvalidInput(
            f"{name!r} is not a drift method; use one of {', '.join(_REGISTRY)} or {IGNORE}."
        ) from None


def names(kind: str | None = None) -> list[str]:
    """Registered method names in registration order, those for ``kind`` only if given."""
    return [m.name for m in _REGISTRY.values() if kind is None or kind in m.kinds]


def _figure(key: str) -> Statistic:
    def read(figures: Mapping[str, float | None], _a: ColumnProfile, _b: ColumnProfile):
        return figures.get(key)

    read.__doc__ = f"The column's ``{key}`` figure (``workbench.drift.stats``)."
    return read


# The order is the order messages list them in: numeric wasserstein, psi, ks; categorical
# share, psi, js.
register(
    Method(
        "wasserstein",
        ("numeric",),
        "wasserstein_std",
        _figure("wasserstein_std"),
        0.1,
        "Wasserstein-1 distance over the reference sd, from the quantile functions (within "
        "0.01 sd of scipy.stats.wasserstein_distance on the rows: tests/test_drift.py); 0.1 "
        "as in Evidently's default and drift-methods.md",
        upper=None,
        unit="a distance in reference standard deviations",
    )
)
register(
    Method(
        "share",
        ("categorical",),
        "largest_share_change",
        _figure("largest_share_change"),
        0.1,
        "the largest change in any level's share (absolute); drift-methods.md",
        upper=1.0,
        unit="a share of rows from 0 to 1, 0.05 being 5 points",
    )
)
register(
    Method(
        "psi",
        ("numeric", "categorical"),
        "psi",
        _figure("psi"),
        0.1,
        "Population Stability Index on reference deciles (numbers) or levels; 0.1 and 0.25 "
        "are the usual material and major bounds (Siddiqi, Credit Risk Scorecards, 2006)",
        upper=None,
        unit="an index from 0 up, 0.1 moderate and 0.25 large",
    )
)
register(
    Method(
        "ks",
        ("numeric",),
        "ks_d",
        _figure("ks_d"),
        0.1,
        "Kolmogorov-Smirnov D (the largest CDF gap, as scipy.stats.ks_2samp); drift-methods.md",
        upper=1.0,
        unit="the largest CDF gap, from 0 to 1",
    )
)
register(
    Method(
        "js",
        ("categorical",),
        "js_distance",
        _figure("js_distance"),
        0.1,
        "Jensen-Shannon distance, base 2 (scipy.spatial.distance.jensenshannon); 0.1 as in "
        "Evidently's default",
        upper=1.0,
        unit="a distance from 0 to 1",
    )
)
