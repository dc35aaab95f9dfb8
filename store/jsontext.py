"""Standard JSON for everything the workbench writes (RFC 8259: no ``NaN``, ``Infinity``
or ``-Infinity`` tokens, which Python's ``json`` writes by default and most other readers
refuse).

Two policies, each for its own kind of file:

* :func:`dumps` for what people and other programs read (stored reports, audit details,
  contracts, model metadata, CLI output, REST answers): every non-finite float becomes
  ``null``. ``allow_nan=False`` proves none is left.
* :func:`dumps_exact` / :func:`loads_exact` for what the workbench reads back and must get
  back exactly (the run event log, where a diverged loss is a logged NaN): a non-finite
  float becomes ``{"$float": "NaN"}`` (or ``"Infinity"``, ``"-Infinity"``) and comes back
  as the float. Old lines with bare ``NaN`` tokens still parse.
"""

from __future__ import annotations

import json
import math
from typing import Any

_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_TAG = "$float"


def finite(value: Any) -> Any:
    """``value`` with every non-finite float (NaN, +-inf) replaced by None, numpy scalars
    by Python ones, tuples by lists: what standard JSON can hold."""
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        return finite(value.item())
    return value


def dumps(value: Any, **kwargs: Any) -> str:
    """``json.dumps`` of :func:`finite` ``(value)``: standard JSON, non-finite as null.
    Keyword arguments go to ``json.dumps`` (``default``, ``indent``, ``ensure_ascii`` ...)."""
    return json.dumps(finite(value), allow_nan=False, **kwargs)


def _tagged(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _tagged(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_tagged(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return {_TAG: "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")}
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        return _tagged(value.item())
    return value


def _untag(obj: dict) -> Any:
    if len(obj) == 1 and isinstance(obj.get(_TAG), str) and obj[_TAG] in _NON_FINITE:
        return _NON_FINITE[obj[_TAG]]
    return obj


def dumps_exact(value: Any, **kwargs: Any) -> str:
    """Standard JSON that keeps non-finite floats as ``{"$float": "NaN"}`` objects, so
    :func:`loads_exact` gives back the same floats."""
    return json.dumps(_tagged(value), allow_nan=False, **kwargs)


def loads_exact(text: str | bytes) -> Any:
    """The inverse of :func:`dumps_exact` (bare ``NaN``/``Infinity`` tokens of older files
    are accepted too). Raises ``ValueError`` on text that is not JSON."""
    return json.loads(text, object_hook=_untag)
