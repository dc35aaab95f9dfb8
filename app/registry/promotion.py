"""Champion versus challenger on labelled data, and the promotion gate.

The comparison scores both versions on the same rows: the metric of each (accuracy for
classifiers, RMSE for regressors), per segment of a chosen column, the paired bootstrap
interval of the difference (challenger minus champion, the same resampled rows for both),
and for classifiers McNemar's exact test on the rows where exactly one of them is right.

The gate allows "promote" only when every configured check passes, and says which do not:
the rows compared are known to be unseen by both models (:data:`UNSEEN_CHECK`, always
applied: not a model's training rows, and neither model's training data unknown); the
challenger is better by at least ``margin``; the difference is significant (the 95 %
interval excludes 0, and McNemar p < ``alpha`` for classifiers); the data version passes
its contract; the signatures are compatible (callers of the champion keep working).

A comparison refuses (InvalidInput) what it cannot score honestly, with the sentences the
drift report and scoring use (``workbench.registry.signature``): a version without a model's
input columns, a label column that is not there or whose values are not the model's classes
(not numbers, for a regressor), and champion and challenger on the same version.

The gate holds at every door: ``registry.set_alias`` refuses to move an existing champion
to another version unless the gate passed (``promote`` hands it the verdict) or an admin
overrides it with a reason; the audit log then lists every waived check. A check left out
of the configuration (an unticked box) counts as waived when it fails.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy.stats import binomtest, bootstrap

from workbench.datasets import versions as datasets
from workbench.drift.stats import p_clause
from workbench.registry import models as registry
from workbench.registry import signature
from workbench.store.entities import DatasetVersion, ModelVersion
from workbench.store.errors import InvalidInput, NotFound
from workbench.store.workspace import Workspace
from workbench.team.auth import requires
from workbench.tracking.compare import higher_is_better
from workbench.training import evaluation


@dataclass(frozen=True)
class GateConfig:
    """Which checks :func:`gate` requires. ``margin``: the least gain the challenger must show,
    in the metric's unit (accuracy: a share, 0.01 is one point; RMSE: the label's unit), default
    0; ``require_significant``: the paired bootstrap 95 % interval of the difference excludes 0
    on the good side and, for classifiers, McNemar's exact p < ``alpha`` (default 0.05, the
    conventional level); ``require_contract``: the evaluation version passed its data contract;
    ``require_signature``: the challenger's input signature is compatible with the champion's
    (``workbench.registry.signature.compatible``). The check :data:`UNSEEN_CHECK` is always
    applied. Raises InvalidInput for a negative or non-finite ``margin`` and an ``alpha``
    outside (0, 1)."""

    margin: float = 0.0
    require_significant: bool = True
    require_contract: bool = True
    require_signature: bool = True
    alpha: float = 0.05

    def __post_init__(self) -> None:
        if not 0 <= _number(self.margin) < math.inf:
            raise InvalidInput(
                f"The margin must be a number of 0 or more (the least gain the challenger "
                f"must show, in the metric's unit); got {self.margin!r}."
            )
        if not 0 < _number(self.alpha) < 1:
            raise InvalidInput(
                f"The significance level alpha must be between 0 and 1 (e.g. 0.05); "
                f"got {self.alpha!r}."
            )


# The gate's first check, which no configuration turns off.
UNSEEN_CHECK = "evaluated on rows neither model was fitted on"


@dataclass(frozen=True)
class Comparison:
    """Champion versus challenger on one labelled dataset version (:func:`compare`).

    ``model``: the model name; ``champion`` / ``challenger``: their version refs (``name/N``);
    ``dataset``: the version compared on (``name@vN``); ``metric``: ``accuracy`` (classifier) or
    ``rmse`` (regressor); ``higher_is_better``: True for accuracy; ``champion_score`` /
    ``challenger_score``: the metric on the compared rows; ``interval``: the paired bootstrap 95
    % percentile interval of challenger - champion; ``mcnemar_p``: McNemar's exact (binomial)
    two-sided p on the rows exactly one model gets right (1.0 when there are none; None for a
    regressor); ``n_rows``: labelled rows compared; ``segments``: per level of the segment
    column, columns ``<segment>``, ``rows``, ``<metric> (champion)``, ``<metric> (challenger)``
    (empty without a segment); ``contract_passed``: the version's contract outcome (None:
    unchecked); ``signature_ok``: ``(compatible, why not)``; ``trained_on``,
    ``on_training_data``, ``data_note``: see the comment below; ``unknown_training``: the refs
    of the compared versions whose run recorded no input dataset (logged by hand without
    ``run.log_input``), so whether these rows are theirs is unknown; ``outside_labels`` /
    ``label_note``: how many labelled rows hold a value that is no class of the models
    (within the share ``signature.check_labels`` allows; scored as misses), and a sentence
    saying so (empty when none).
    """

    model: str
    champion: str  # version refs
    challenger: str
    dataset: str
    metric: str
    higher_is_better: bool
    champion_score: float
    challenger_score: float
    interval: tuple[float, float]  # of challenger - champion
    mcnemar_p: float | None
    n_rows: int
    segments: pd.DataFrame = field(default_factory=pd.DataFrame)
    contract_passed: bool | None = None
    signature_ok: tuple[bool, str] = (True, "")
    # What the dataset is to the two models (workbench.training.evaluation.evaluation_data): the
    # roles fitted on it, whether the comparison ran on their training rows, and a sentence
    # (which also says when a model's training data is unknown).
    trained_on: tuple[str, ...] = ()
    on_training_data: bool = False
    data_note: str = ""
    unknown_training: tuple[str, ...] = ()
    # Labelled rows whose label is no class the models predict (classifiers; few enough to
    # score, ``signature.OUTSIDE_SHARE``: each is a miss), and the sentence saying so.
    outside_labels: int = 0
    label_note: str = ""

    @property
    def rows_unseen(self) -> bool:
        """Whether the compared rows are known to be unseen by both models: not training rows
        of either, and both models' training data known (the gate's :data:`UNSEEN_CHECK`)."""
        return not self.on_training_data and not self.unknown_training

    @property
    def difference(self) -> float:
        """``challenger_score - champion_score`` in the metric's unit (positive is better only
        for a metric where higher is better; see :attr:`gain`)."""
        return self.challenger_score - self.champion_score

    @property
    def gain(self) -> float:
        """The improvement in the metric's good direction (positive: challenger better)."""
        return self.difference if self.higher_is_better else -self.difference


@dataclass(frozen=True)
class Verdict:
    """The gate's answer: ``allowed`` when every check passed; ``checks`` are (name, passed,
    detail); ``dataset`` the labelled version it was judged on. From :func:`promote`,
    ``overridden`` says an admin moved champion anyway (the failing checks waived)."""

    allowed: bool
    checks: tuple[tuple[str, bool, str], ...]
    dataset: str = ""
    overridden: bool = False

    @property
    def reasons(self) -> list[str]:
        """One ``"<check>: <detail>"`` line per failed check, in check order (empty when
        allowed)."""
        return [f"{name}: {detail}" for name, ok, detail in self.checks if not ok]

    @property
    def moved(self) -> bool:
        """Whether :func:`promote` moved champion (the gate allowed it, or an override)."""
        return self.allowed or self.overridden


def _number(value: object) -> float:
    """``value`` as a float; NaN for what is not a number (text, None)."""
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def full_config(config: GateConfig | None = None) -> GateConfig:
    """``config`` with nothing waived: every check required, the margin at least 0 and
    ``alpha`` at most the default 0.05. A check left out of ``config`` (an unticked box on
    the Models page) that fails under this config is a waiver, which only an admin's
    override with a reason may grant (:func:`promote`)."""
    config = config or GateConfig()
    return GateConfig(
        margin=max(config.margin, 0.0),
        require_significant=True,
        require_contract=True,
        require_signature=True,
        alpha=min(config.alpha, GateConfig.alpha),
    )


def compare(
    ws: Workspace,
    name: str,
    dataset_ref: str,
    target: str,
    *,
    segment: str | None = None,
    champion: str = "champion",
    challenger: str = "challenger",
    n_boot: int = 1000,
    seed: int = 0,
) -> Comparison:
    """Score ``name@champion`` and ``name@challenger`` (other aliases with ``champion`` /
    ``challenger``) on the labelled rows of dataset version ``dataset_ref``, label column
    ``target``. Only rows neither model was fitted on are used when the version trained one of
    them and its run kept a hold-out (``workbench.training.evaluation.evaluation_data``); rows
    with a missing label are dropped. ``segment``: a column to break the scores down by (missing
    values form their own level); ``n_boot``: paired bootstrap resamples (default 1,000,
    ``scipy.stats.bootstrap``, percentile method); ``seed``: their random seed. Returns a
    :class:`Comparison`. Raises NotFound (no such model, alias or version) and InvalidInput:
    both aliases on the same version (:func:`same_version`); the version lacks a model's
    input column (``signature.require_inputs``); no ``target`` column
    (``signature.require_label_column``; an empty name too); labels not of the kind of the models'
    classes, or more than ``signature.OUTSIDE_SHARE`` (1 %) of the rows outside them, or not
    numbers for regressors (``signature.check_labels``; fewer outside rows are scored as misses
    and counted in ``outside_labels``); no ``segment`` column; no labelled row. A model's
    training data is every version its run logged as a training input
    (:func:`evaluation_data`)."""
    champ_v = registry.get_version(ws, f"{name}@{champion}")
    chall_v = registry.get_version(ws, f"{name}@{challenger}")
    if champ_v.version == chall_v.version:
        raise InvalidInput(same_version(name, champ_v.version, champion, challenger))
    version = datasets.get_version(ws, dataset_ref)
    frame = datasets.load(ws, version.ref)
    advice = "compare on a version that has the model's inputs (and labels)."
    inputs = [
        signature.require_inputs(v.signature, frame.columns, v.ref, version.ref, advice)
        for v in (champ_v, chall_v)
    ]
    signature.require_label_column(target, {version.ref: frame.columns})
    seen = evaluation_data(ws, version, {"champion": champ_v, "challenger": chall_v})
    if seen.rows is not None:  # the rows no model fitted on this version saw (its hold-out)
        frame = frame.iloc[seen.rows[seen.rows < len(frame)]]
    frame = frame[frame[target].notna()].reset_index(drop=True)
    if frame.empty:
        raise InvalidInput(f"{version.ref} has no labelled rows in {target!r}.")
    outside = max(
        signature.check_labels(v.signature, frame[target], target, v.ref, version.ref)
        for v in (champ_v, chall_v)
    )
    unknown = tuple(v.ref for v in (champ_v, chall_v) if not registry.training_inputs(ws, v))
    note = _sentences(seen.note, _unknown_note(unknown))
    models = [registry.load_model(ws, v.ref) for v in (champ_v, chall_v)]
    preds = [m.predict(frame[cols]) for m, cols in zip(models, inputs, strict=True)]
    y = frame[target].to_numpy()
    kind = champ_v.signature["output"]["kind"]
    metric = "accuracy" if kind == "classification" else "rmse"
    higher, score = higher_is_better(metric), _scorer(kind)
    a, b = score(y, preds[0]), score(y, preds[1])
    interval = _paired_bootstrap(y, preds[0], preds[1], kind == "classification", n_boot, seed)
    mcnemar = None
    if kind == "classification":
        right_a, right_b = preds[0] == y, preds[1] == y
        only_a, only_b = int((right_a & ~right_b).sum()), int((~right_a & right_b).sum())
        mcnemar = (
            1.0
            if only_a + only_b == 0
            else float(binomtest(min(only_a, only_b), only_a + only_b, 0.5).pvalue)
        )
    segments = pd.DataFrame()
    if segment:
        if segment not in frame.columns:
            raise InvalidInput(f"{version.ref} has no column {segment!r} to segment by.")
        rows = []
        for level, idx in frame.groupby(segment, dropna=False).groups.items():
            idx = np.asarray(idx)
            rows.append(
                {
                    segment: level,
                    "rows": len(idx),
                    f"{metric} (champion)": score(y[idx], preds[0][idx]),
                    f"{metric} (challenger)": score(y[idx], preds[1][idx]),
                }
            )
        segments = pd.DataFrame(rows)
    return Comparison(
        name,
        champ_v.ref,
        chall_v.ref,
        version.ref,
        metric,
        higher,
        a,
        b,
        interval,
        mcnemar,
        len(frame),
        segments,
        version.contract_passed,
        signature.compatible(champ_v.signature, chall_v.signature),
        seen.trained_on,
        seen.training_data,
        note,
        unknown,
        outside,
        _sentences(_outside_note(outside, len(frame), target)),
    )


def same_version(
    name: str, version: int, champion: str = "champion", challenger: str = "challenger"
) -> str:
    """The sentence for champion and challenger on one version (after a promotion): both
    aliases of model ``name`` point at ``version``, so there is nothing to compare. The
    Models page shows it; :func:`compare` raises it as InvalidInput."""
    return (
        f"{name}@{champion} and {name}@{challenger} both point at v{version}: there is "
        "nothing to compare. Point challenger at another version (register a new one, or "
        "retrain) to compare it with the champion."
    )


def _sentences(*parts: str) -> str:
    """The non-empty ``parts`` as sentences, each ending with a full stop, joined by a space
    (a note of several reasons reads as several sentences; a part keeps its first letter,
    which may begin a model's name)."""
    out = []
    for part in (p.strip() for p in parts):
        if not part:
            continue
        out.append(part if part.endswith((".", "!", "?")) else part + ".")
    return " ".join(out)


def _outside_note(outside: int, rows: int, target: str) -> str:
    """What the comparison says of ``outside`` labelled rows (of ``rows``) whose label in
    ``target`` is no class the models predict (within ``signature.OUTSIDE_SHARE``: scored,
    each a miss); empty when there are none."""
    if not outside:
        return ""
    return (
        f"{outside:,} of the {rows:,} labelled rows hold a value in {target!r} that is no "
        "class the models predict; they are scored, each as a miss"
    )


def evaluation_data(
    ws: Workspace, dataset: DatasetVersion, models: dict[str, ModelVersion]
) -> evaluation.EvaluationData:
    """Which rows of ``dataset`` the ``models`` (role -> version) have not seen, as
    ``workbench.training.evaluation.evaluation_data`` says, counting every dataset version a
    model's run recorded as a training input (``registry.training_inputs``: a model fitted
    on two versions has two training versions, though registration keeps one). A model is
    fitted on ``dataset`` when one of those versions is ``dataset`` or has its content
    fingerprint. Its run's held-out rows count only for the version registration kept
    (the one a launched run trained and held rows out of); on another of its training
    versions, no row is unseen: ``training_data`` is True and ``note`` says so."""
    views: dict[str, ModelVersion] = {}
    trained: list[str] = []
    lacking: tuple[str, ModelVersion, tuple[str, ...]] | None = None
    for role, mv in models.items():
        refs = registry.training_inputs(ws, mv)
        if len(refs) <= 1:  # the version registration kept, if any: as lineage has it
            views[role] = mv
            trained += [role] if any(_same_data(ws, r, dataset) for r in refs) else []
            continue
        if not any(_same_data(ws, r, dataset) for r in refs):
            views[role] = replace(mv, dataset_ref=None)  # fitted on other versions only
            continue
        trained.append(role)
        views[role] = mv
        if mv.dataset_ref != dataset.ref and lacking is None:
            lacking = (role, mv, refs)
    if lacking is None:
        return evaluation.evaluation_data(ws, dataset, views)
    role, mv, refs = lacking
    return evaluation.EvaluationData(
        dataset.ref,
        tuple(trained),
        None,
        True,
        f"evaluated on training data: {dataset.ref} is the {role}'s training data "
        f"({mv.ref} was fitted on {', '.join(refs)}; its run kept no held-out rows of "
        f"{dataset.ref}). Choose a labelled version neither model was trained on.",
    )


def _same_data(ws: Workspace, ref: str, dataset: DatasetVersion) -> bool:
    """Whether training version ``ref`` is ``dataset``: the same ref, or the same content
    (fingerprint); False for a version purged since (its content is unknown)."""
    if ref == dataset.ref:
        return True
    try:
        return datasets.get_version(ws, ref).fingerprint == dataset.fingerprint
    except NotFound:
        return False


def _unknown_note(refs: tuple[str, ...]) -> str:
    """Why rows cannot be called unseen when the models ``refs`` record no training data
    (empty when ``refs`` is)."""
    if not refs:
        return ""
    if len(refs) == 1:
        whose, verb, runs = f"{refs[0]}'s training data is", "its run recorded", "version"
    else:
        whose = f"{' and '.join(refs)}'s training data are"
        verb, runs = "their runs recorded", "versions"
    return (
        f"{whose} unknown ({verb} no input dataset): cannot tell these rows are unseen; "
        f"log the training {runs} with run.log_input, or an admin may override"
    )


@dataclass(frozen=True)
class EvaluationChoice:
    """The labelled dataset versions a champion versus challenger comparison can use.

    ``candidates``: the versions (newest first) of the datasets either model was trained on
    (every dataset when neither records one) that have the models' inputs and labels in
    ``target``. ``default``: the newest such version neither model was trained on; else
    one whose held-out rows neither saw; else the newest candidate, with ``note`` saying
    plainly that it is training data (the gate then stays closed). None when no version
    has labels. ``target``: the label column of the champion's (else the challenger's)
    launched run, or None when neither records one."""

    candidates: tuple[str, ...]
    default: str | None
    target: str | None
    note: str = ""


def evaluation_choice(
    ws: Workspace,
    name: str,
    *,
    champion: str = "champion",
    challenger: str = "challenger",
    target: str | None = None,
) -> EvaluationChoice:
    """Where to compare ``name@champion`` with ``name@challenger`` by default (see
    :class:`EvaluationChoice`); lineage says which version trained which model."""
    models = {
        "champion": registry.get_version(ws, f"{name}@{champion}"),
        "challenger": registry.get_version(ws, f"{name}@{challenger}"),
    }
    target = target or next(
        filter(None, (registry.training_target(ws, m) for m in models.values())), None
    )
    inputs = {
        c["name"]
        for m in models.values()
        for c in m.signature.get("inputs", [])
        if isinstance(c, dict) and c.get("name")
    }
    names = {ref.split("@")[0] for m in models.values() for ref in registry.training_inputs(ws, m)}
    names = names or {d.name for d in datasets.list_datasets(ws)}
    labelled = []
    everything = datasets.list_all_versions(ws, predictions=False)  # one read, not one a dataset
    for dataset_name in sorted(names):
        for v in (v for v in everything if v.dataset_name == dataset_name):
            columns = {p.name: p for p in datasets.get_profile(ws, v)}
            if inputs - set(columns) or (
                target is not None and (target not in columns or columns[target].count == 0)
            ):
                continue
            labelled.append(v)
    labelled.sort(key=lambda v: (v.created_at, v.version), reverse=True)
    refs = tuple(v.ref for v in labelled)
    if not labelled:
        return EvaluationChoice(
            refs,
            None,
            target,
            "No dataset version has the models' inputs "
            f"and labels{f' in {target!r}' if target else ''}; register "
            "labelled data to compare them.",
        )
    seen = [(v, evaluation_data(ws, v, models)) for v in labelled]
    unseen = next((v for v, e in seen if not e.trained_on), None)
    if unseen is not None:
        return EvaluationChoice(refs, unseen.ref, target)
    held = next(((v, e) for v, e in seen if not e.training_data), None)
    if held is not None:
        return EvaluationChoice(refs, held[0].ref, target, held[1].note)
    whose = "; ".join(f"{v.ref} of the {' and '.join(e.trained_on)}" for v, e in seen)
    return EvaluationChoice(
        refs,
        labelled[0].ref,
        target,
        "Evaluated on training data: every labelled version is training "
        f"data of one of the models ({whose}), so the comparison is "
        "optimistic and the gate stays closed. Register labelled data "
        "neither model was trained on.",
    )


def gate(comparison: Comparison, config: GateConfig | None = None) -> Verdict:
    """The checks ``config`` asks for, each (name, passed, detail). The first check,
    :data:`UNSEEN_CHECK`, is not configurable: the rows compared are known to be unseen by
    both models. It fails on a model's training rows (a model scores its own training rows
    optimistically, so such a comparison says nothing about new data) and when a model's
    training data is unknown (its run recorded no input dataset: the rows may be its own)."""
    config = config or GateConfig()
    c = comparison
    checks = [
        (
            UNSEEN_CHECK,
            c.rows_unseen,
            c.data_note or f"{c.dataset} is training data of neither model",
        )
    ]
    checks += [
        (
            "better by the margin",
            c.gain >= config.margin,
            f"{c.metric} {c.champion_score:.4f} -> {c.challenger_score:.4f} "
            f"({'+' if c.gain >= 0 else ''}{c.gain:.4f}; margin {config.margin})",
        )
    ]
    if config.require_significant:
        lo, hi = c.interval
        gain_lo = lo if c.higher_is_better else -hi
        significant = gain_lo > 0 and (c.mcnemar_p is None or c.mcnemar_p < config.alpha)
        detail = f"95% interval of the difference [{lo:.4f}, {hi:.4f}]"
        if c.mcnemar_p is not None:
            detail += f", McNemar {p_clause(c.mcnemar_p)}"
        checks.append(("significant", significant, detail))
    if config.require_contract:
        checks.append(
            (
                "data passes its contract",
                c.contract_passed is True,
                f"{c.dataset} contract {'passed' if c.contract_passed else 'failed or unchecked'}",
            )
        )
    if config.require_signature:
        checks.append(("signature compatible", c.signature_ok[0], c.signature_ok[1]))
    return Verdict(all(ok for _, ok, _ in checks), tuple(checks), c.dataset)


@requires("admin")
def promote(
    ws: Workspace,
    name: str,
    dataset_ref: str,
    target: str,
    *,
    config: GateConfig | None = None,
    actor: str | None = None,
    segment: str | None = None,
    override: bool = False,
    reason: str = "",
) -> Verdict:
    """Move ``champion`` to the challenger's version if the gate allows it.

    The gate is judged with nothing waived (:func:`full_config`: a check ``config`` leaves
    out still counts when it fails). When it refuses, champion stays, unless an admin
    passes ``override=True`` and a ``reason``: champion moves, and the audit log records
    the override, the reason and every failing check as waived. Returns the verdict on
    ``dataset_ref``: ``allowed``, ``overridden``, or neither (nothing moved). Raises
    InvalidInput for an override without a reason, PermissionDenied below admin."""
    if override and not (reason or "").strip():
        raise InvalidInput(
            "Overriding the promotion gate needs a reason: say why the refused "
            "checks may be waived (it goes into the audit log)."
        )
    try:
        registry.get_version(ws, f"{name}@{registry.PROTECTED_ALIAS}")
    except NotFound:
        challenger = registry.get_version(ws, f"{name}@challenger")
        registry.set_alias(
            ws,
            name,
            registry.PROTECTED_ALIAS,
            challenger.version,
            actor=actor,
            reason=reason or "first champion",
            override=override,
        )
        return Verdict(True, (("no champion yet", True, "the challenger becomes champion"),))
    comparison = compare(ws, name, dataset_ref, target, segment=segment)
    verdict = gate(comparison, full_config(config))
    if not verdict.allowed and not override:
        return verdict
    version = int(comparison.challenger.rsplit("/", 1)[1])
    why = (
        f"promoted on {dataset_ref}: {_detail(verdict, 'better by the margin')}"
        if verdict.allowed
        else reason
    )
    registry.set_alias(
        ws,
        name,
        registry.PROTECTED_ALIAS,
        version,
        actor=actor,
        reason=why,
        override=override and not verdict.allowed,
        gate=verdict,
    )
    return verdict if verdict.allowed else replace(verdict, overridden=True)


def _detail(verdict: Verdict, name: str) -> str:
    return next((detail for check, _, detail in verdict.checks if check == name), "")


def _scorer(kind: str) -> Callable[[np.ndarray, np.ndarray], float]:
    """The comparison's score of (labels, predictions) for a model of output ``kind``:
    accuracy for a classifier, RMSE for a regressor (labels and predictions read as floats:
    exact decimals load as objects), both ``workbench.training.metrics`` (scikit-learn's,
    as the runs report them). Imported here, when a comparison scores, so that this
    module's metadata reads (:func:`evaluation_choice`) import no scikit-learn."""
    from workbench.training import metrics as scores

    if kind == "classification":
        return scores.accuracy
    return lambda y, pred: scores.rmse(np.asarray(y, float), np.asarray(pred, float))


def _paired_bootstrap(
    y: np.ndarray, pa: np.ndarray, pb: np.ndarray, classifier: bool, n_boot: int, seed: int
) -> tuple[float, float]:
    """The 95 % percentile interval of challenger minus champion (accuracy for a classifier,
    RMSE for a regressor) over ``n_boot`` resamples of the rows, each row resampled with both
    models' predictions (paired): ``scipy.stats.bootstrap(..., paired=True,
    method="percentile")`` on the per-row hits (or squared errors), vectorised in batches of
    100 resamples. ``y``, ``pa``, ``pb``: arrays of the same length n >= 1."""
    if classifier:  # accuracy is the mean of the hits
        a, b = (np.asarray(p == y, dtype=float) for p in (pa, pb))

        def change(a: np.ndarray, b: np.ndarray, axis: int) -> np.ndarray:
            return b.mean(axis=axis) - a.mean(axis=axis)
    else:  # RMSE is the root of the mean squared error (vectorised over the resamples:
        # workbench.training.metrics.rmse scores one sample at a time)
        y = np.asarray(y, dtype=float)
        a, b = ((np.asarray(p, dtype=float) - y) ** 2 for p in (pa, pb))

        def change(a: np.ndarray, b: np.ndarray, axis: int) -> np.ndarray:
            return np.sqrt(b.mean(axis=axis)) - np.sqrt(a.mean(axis=axis))

    if len(a) == 1:  # every resample is the one row: scipy needs two
        return (float(change(a, b, 0)),) * 2
    result = bootstrap(
        (a, b),
        change,
        paired=True,
        vectorized=True,
        n_resamples=n_boot,
        batch=100,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)
