"""The typed results of drift: one column's result (:class:`ColumnDrift`) and a stored
report (:class:`DriftReport`), each with ``to_json()`` / ``from_json()``. The store keeps
plain JSON (``workbench.store.drift_reports``); the service turns what it reads back into
these (``workbench.drift.report``), so pages, the CLI and the SDK read attributes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

from workbench.drift.config import DriftConfig

if TYPE_CHECKING:
    from workbench.drift.model_drift import ModelDrift

VERDICTS = (
    "drift",
    "major drift",
    "no drift",
    "not enough evidence",
    "not tested",
    "added",
    "removed",
    "ignored",
)
# verdicts no test decided: their effect and p-value are not shown (ColumnDrift.tested)
UNTESTED = ("not tested", "ignored")


@dataclass(frozen=True)
class ColumnDrift:
    """One column's result. ``verdict``: drift | major drift | no drift | not enough
    evidence | not tested (identifier-like) | added | removed | ignored. ``kind``: numeric
    | categorical | schema | ignored | label (set by ``workbench.drift.report``) |
    prediction (...) (``workbench.drift.model_drift``). ``effect``: the deciding aspect's
    effect size (W1/sd, else KS D, for numbers; the largest share change for levels; the
    largest null or non-finite share change), finite. ``p_value``: the smallest of the
    column's aspect p-values before Benjamini-Hochberg. ``n_reference`` / ``n_current``:
    rows on each side. ``stats``: every figure, finite or None. ``sentence``: what
    changed, in words."""

    column: str
    kind: str
    verdict: str
    method: str
    effect: float
    p_value: float | None
    n_reference: int
    n_current: int
    stats: dict[str, float | None] = field(default_factory=dict)
    sentence: str = ""

    @property
    def drifted(self) -> bool:
        """True when the verdict is "drift" or "major drift"."""
        return self.verdict in ("drift", "major drift")

    @property
    def tested(self) -> bool:
        """False when no test decided the verdict: "not tested" (an identifier-like column,
        whose top levels cannot show new values) and "ignored" (a rule left it out). Its
        ``effect`` and ``p_value`` then measure nothing a reader should weigh (an effect of 0
        and a p of 1 read as "no drift"), so every door shows them blank: see
        :attr:`shown_effect` and :attr:`shown_p_value`."""
        return self.verdict not in UNTESTED

    @property
    def shown_effect(self) -> float | None:
        """``effect`` as the Drift page, the CLI and the HTML export show it: None (blank,
        "—") for a column that was not tested (:attr:`tested`)."""
        return self.effect if self.tested else None

    @property
    def shown_p_value(self) -> float | None:
        """``p_value`` as the Drift page, the CLI and the HTML export show it: None (blank,
        "—") for a column that was not tested (:attr:`tested`), else the p-value (None
        when no test ran)."""
        return self.p_value if self.tested else None

    @property
    def shown_method(self) -> str | None:
        """``method`` as the doors show it: None (blank, "—") for a column that was not
        tested (:attr:`tested`): its method names tests that did not decide anything."""
        return self.method if self.tested else None

    @property
    def shown_column(self) -> str:
        """The column's name as the doors show it in the table of columns: the label of a
        report with a model is marked "(label)", as it is left out of the features'
        count and reported apart."""
        return f"{self.column} (label)" if self.kind == "label" else self.column

    def to_json(self) -> dict[str, Any]:
        """Plain JSON (a dict of str, numbers, None and the ``stats`` dict)."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ColumnDrift:
        """The result :meth:`to_json` wrote (keys it does not know are left out)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class DriftReport:
    """A stored drift report, typed: who made it when, the reference and current dataset
    versions (``name@vN``), the model version (``name/N``) when one scored both, the
    counts behind the dataset ``verdict`` (drift | no drift | not enough evidence |
    schema change | nothing compared), each column's result (drifted first), the model
    section (``workbench.drift.model_drift.ModelDrift``) and the configuration it ran
    with. ``config_recorded`` is False for a report made before configurations were
    stored (schema step 15): ``config`` is then today's default, which may differ from
    the rule it ran with."""

    report_id: str
    created_at: datetime
    created_by: str
    reference_ref: str
    current_ref: str
    model_ref: str | None
    n_columns: int
    n_drifted: int
    verdict: str
    results: tuple[ColumnDrift, ...]
    model: ModelDrift | None = None
    config: DriftConfig = field(default_factory=DriftConfig)
    config_recorded: bool = True

    @property
    def rule_note(self) -> str:
        """ "" when the rule shown is the one the report ran with; else what it is."""
        if self.config_recorded:
            return ""
        return "The rule was not recorded with this report; today's default is shown."

    def to_json(self) -> dict[str, Any]:
        """Plain JSON: ``created_at`` as ISO 8601, ``results`` as a list of
        :meth:`ColumnDrift.to_json`, ``model`` as ``ModelDrift.to_json()`` or None,
        ``config`` as ``DriftConfig.to_json()`` or None when it was not recorded."""
        return {
            "report_id": self.report_id,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "reference_ref": self.reference_ref,
            "current_ref": self.current_ref,
            "model_ref": self.model_ref,
            "n_columns": self.n_columns,
            "n_drifted": self.n_drifted,
            "verdict": self.verdict,
            "results": [r.to_json() for r in self.results],
            "model": None if self.model is None else self.model.to_json(),
            "config": self.config.to_json() if self.config_recorded else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DriftReport:
        """The report :meth:`to_json` wrote; ``created_at`` as a datetime or ISO text; a
        ``config`` of None reads as today's default with ``config_recorded`` False."""
        created = data["created_at"]
        if isinstance(created, str):
            created = datetime.fromisoformat(created)
        model = data.get("model")
        if model is not None:
            from workbench.drift.model_drift import ModelDrift

            model = ModelDrift.from_json(model)
        raw = data.get("config")
        return cls(
            report_id=data["report_id"],
            created_at=created,
            created_by=data["created_by"],
            reference_ref=data["reference_ref"],
            current_ref=data["current_ref"],
            model_ref=data.get("model_ref"),
            n_columns=int(data["n_columns"]),
            n_drifted=int(data["n_drifted"]),
            verdict=data["verdict"],
            results=tuple(ColumnDrift.from_json(r) for r in data.get("results") or ()),
            model=model,
            config=DriftConfig() if raw is None else DriftConfig.from_json(raw),
            config_recorded=raw is not None,
        )

    @property
    def label(self) -> ColumnDrift | None:
        """The label column's result in a report with a model (kind "label"), or None."""
        return next((r for r in self.results if r.kind == "label"), None)
