"""What the launch form starts with: the dataset version, the target and the features.

The rules (the launch form shows them; ``docs/guide`` and the README describe the form):

- **Dataset**: the version the experiment's newest run logged as its training input
  (``run.log_input``, which every launched run and autolog record); when the experiment has
  no run with a logged input still registered, the newest registered version.
- **Identifier-like columns** (never the target, unticked among the features, with the
  reason shown): a text or integer column with one distinct value per row
  (``distinct == count``, at least 2 rows), or a text column with more than
  :data:`KEY_SHARE` distinct values per row and over :data:`KEY_LEVELS` levels (a
  high-cardinality key such as an e-mail or an order number). A model fitted on such a
  column memorises rows; it does not generalise.
- **Target**: the first column named like a label (:data:`LABEL_NAMES`, case-insensitive)
  that is a plausible label; else the last plausible label; else the last column. A column
  is a plausible label when it is not identifier-like, not a date, timestamp or year (a
  year is a column named ``year``/``*_year`` or an integer column whose values all lie in
  1900..2100), has at least 2 distinct values, and, when it would be a classification
  target (see :func:`task_of`), has at most :data:`MAX_CLASSES` of them.
- **Features**: every other column but the identifier-like ones.
- **Task** (:func:`task_for`, the one rule: the form's default, and what the runner does
  with a spec that names no task, through ``workbench.training.task.detect_task``):
  :data:`TASK_RULE`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from workbench.store import runs_admin
from workbench.store.entities import ColumnProfile, DatasetVersion
from workbench.store.errors import NotFound
from workbench.store.gateway import Tx
from workbench.store.workspace import Workspace
from workbench.tracking import experiments

#: Column names taken for a label first (lower case; the usual names in public tables).
LABEL_NAMES = (
    "target",
    "label",
    "labels",
    "y",
    "class",
    "churn",
    "churned",
    "outcome",
    "response",
    "species",
    "survived",
    "default",
    "diagnosis",
    "is_fraud",
)
#: A text column with more distinct values per row than this share ...
KEY_SHARE = 0.5
#: ... and more levels than this is a high-cardinality key.
KEY_LEVELS = 50
#: A classification target with more classes than this is not proposed as a label.
MAX_CLASSES = 50
#: Runs of the experiment looked at (newest first) for the last dataset used.
RUNS_LOOKED_AT = 50
#: An integer target with at most this many distinct values is a classification target
#: (class codes such as 0/1 or ratings 1..5); with more, a count or an amount: regression.
MAX_INTEGER_CLASSES = 20
#: The task rule as the launch form states it.
TASK_RULE = (
    "regression for a float column, or an integer column with more than "
    f"{MAX_INTEGER_CLASSES} distinct values; classification otherwise (text, booleans, "
    f"dates, and integers with at most {MAX_INTEGER_CLASSES} distinct values)"
)


@dataclass(frozen=True)
class ColumnDefaults:
    """The form's starting target and features for one dataset version.

    ``target``: a column name; ``features``: the columns ticked at first, in table order;
    ``left_out``: {column: why it starts unticked} for the identifier-like columns."""

    target: str
    features: tuple[str, ...]
    left_out: dict[str, str] = field(default_factory=dict)

    def note(self) -> str:
        """One sentence naming the columns left out and why ("" when none)."""
        if not self.left_out:
            return ""
        parts = "; ".join(f"`{c}` ({why})" for c, why in self.left_out.items())
        return (
            f"Left out as identifier-like: {parts}. A model fitted on a row key "
            "memorises rows instead of learning; tick them to use them anyway."
        )


def task_for(family: str, distinct: int) -> str:
    """``"classification"`` or ``"regression"`` for a target column of type ``family`` (a
    profile's family: integer, float, boolean, string, date, timestamp or other; exact
    decimals count as float) with ``distinct`` distinct non-null values, by
    :data:`TASK_RULE`: only numbers are regressed, and integers only past
    :data:`MAX_INTEGER_CLASSES` levels. The one task rule: :func:`task_of` applies it to a
    stored profile (the launch form), ``workbench.training.task.detect_task`` to the
    loaded column (the runner)."""
    if family == "float" or (family == "integer" and distinct > MAX_INTEGER_CLASSES):
        return "regression"
    return "classification"


def task_of(profile: ColumnProfile) -> str:
    """The task target column ``profile`` suggests: :func:`task_for` of its family and
    distinct count (the launch form's default task)."""
    return task_for(profile.family, profile.distinct)


def identifier_reason(p: ColumnProfile) -> str | None:
    """Why column ``p`` looks like a row identifier or key, or None when it does not."""
    if p.family in ("string", "integer") and p.count >= 2 and p.distinct >= p.count:
        return "unique per row"
    if p.family == "string" and p.distinct > KEY_SHARE * p.count and p.distinct > KEY_LEVELS:
        return f"{p.distinct:,} distinct values in {p.count:,} rows"
    return None


def _is_year(p: ColumnProfile) -> bool:
    name = p.name.lower()
    if name in ("year", "yr") or name.endswith("_year"):
        return True
    return (
        p.family == "integer"
        and p.min_value is not None
        and p.max_value is not None
        and p.min_value >= 1900
        and p.max_value <= 2100
    )


def is_plausible_label(p: ColumnProfile) -> bool:
    """Whether column ``p`` makes a sensible default target (rule in the module docstring)."""
    if identifier_reason(p) or p.family in ("date", "timestamp") or _is_year(p):
        return False
    if p.distinct < 2:
        return False
    return task_of(p) == "regression" or p.distinct <= MAX_CLASSES


def column_defaults(profile: Sequence[ColumnProfile]) -> ColumnDefaults:
    """The default target and features for a dataset version's profile (columns in table
    order). Any non-empty profile gets an answer; an empty one raises ValueError (a
    registered version always has a column)."""
    if not profile:
        raise ValueError("a dataset version has at least one column")
    plausible = [p for p in profile if is_plausible_label(p)]
    named = [p for p in plausible if p.name.lower() in LABEL_NAMES]
    if named:
        target = named[0].name
    elif plausible:
        target = plausible[-1].name
    else:
        target = profile[-1].name
    return column_defaults_for(profile, target)


def column_defaults_for(profile: Sequence[ColumnProfile], target: str) -> ColumnDefaults:
    """The default features once ``target`` is chosen: every other column but the
    identifier-like ones (``left_out`` says why each of those is left out)."""
    left_out = {p.name: why for p in profile if p.name != target and (why := identifier_reason(p))}
    features = tuple(p.name for p in profile if p.name != target and p.name not in left_out)
    return ColumnDefaults(target, features, left_out)


def last_dataset(ws: Workspace, experiment: str) -> str | None:
    """The dataset version (``name@vN``) the newest run of ``experiment`` that logged a
    training input used (role ``"train"``, else its only input); None when the experiment
    does not exist or none of its newest :data:`RUNS_LOOKED_AT` runs logged one."""
    try:
        exp = experiments.get_experiment_by_name(ws, experiment)
    except NotFound:
        return None
    runs = experiments.search_runs(ws, experiment_ids=[exp.experiment_id], limit=RUNS_LOOKED_AT)

    def work(tx: Tx) -> str | None:
        for run in runs:  # newest first
            ref = _train_input(runs_admin.run_records(tx, run.run_id, "input"))
            if ref is not None:
                return ref
        return None

    return ws.store.read(work)


def _train_input(records: dict) -> str | None:
    inputs = {name: data for (_, name), data in records.items()}
    data = inputs.get("train") or (next(iter(inputs.values())) if len(inputs) == 1 else None)
    if not isinstance(data, dict) or not data.get("dataset") or data.get("version") is None:
        return None
    return f"{data['dataset']}@v{int(data['version'])}"


def default_dataset(
    ws: Workspace, experiment: str, versions: Sequence[DatasetVersion]
) -> str | None:
    """The version the form starts on, among ``versions`` (the registered ones): the one
    the experiment used last (:func:`last_dataset`) if still registered, else the newest
    registered; None when ``versions`` is empty."""
    if not versions:
        return None
    refs = {v.ref for v in versions}
    last = last_dataset(ws, experiment)
    if last in refs:
        return last
    return max(versions, key=lambda v: (v.created_at, v.version)).ref
