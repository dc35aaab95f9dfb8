"""Prediction drift and performance drift of a registered model between two dataset versions.

Both versions are scored with the model: all rows, or a uniform sample of
``WORKBENCH_MAX_SCORE_ROWS`` (200,000 by default; the same rows for the same seed) when a
version is bigger, since scoring needs the rows in memory where the column statistics do
not.

* Prediction drift: the predictions are profiled and compared like columns
  (``workbench.drift.stats``: the same tests, effect sizes and rule). A classifier's prediction is a
  category; a binary classifier adds the probability of its second class as a number; a
  regressor's prediction is a number.
* Performance drift, when both versions have the label column: the model's metric on each
  (accuracy for classifiers, RMSE for regressors: the promotion gate's metrics, by
  ``sklearn.metrics``), each with a bootstrap 95 % interval, and the interval of the
  change (current minus reference, resampling each side independently, ``N_BOOT`` times:
  ``scipy.stats.bootstrap`` over (label, prediction) pairs, percentile intervals; for
  accuracy the hits of a resample are drawn from their exact Binomial law instead).
  "degraded" when the interval of the change lies wholly on the bad side (real) and the
  drop is at least ``PERF_MATERIAL`` of the reference score (material); "improved" the
  other way round; a material drop whose interval reaches 0 is "not enough evidence";
  otherwise "no change". Both numbers are the report's (``DriftConfig.n_boot``,
  ``.perf_material``).
* No side is scored on rows the model was fitted on (``workbench.training.evaluation``):
  when a version is the model's training data, its score comes from the held-out
  predictions the training run kept (the hold-out, or the out-of-fold predictions of
  k-fold cross-validation). A model whose run kept none (logged by hand) gets "not
  enough evidence" instead of "degraded" or "improved" there, with a note saying why:
  its score on its own training rows is optimistic (a random forest regressor scored
  RMSE 340 on them against 563 on its hold-out), so the drop from it measures
  overfitting, not drift.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from workbench.datasets import versions as datasets
from workbench.drift import stats as drift
from workbench.drift.config import DEFAULT, DriftConfig
from workbench.drift.results import ColumnDrift
from workbench.registry import models as registry
from workbench.registry import promotion, signature
from workbench.settings import Settings
from workbench.store import profiles, snapshots
from workbench.store.entities import ColumnProfile, DatasetVersion, ModelVersion
from workbench.store.workspace import Workspace
from workbench.tracking.compare import higher_is_better
from workbench.training import evaluation

N_BOOT = DEFAULT.n_boot  # today's defaults (DriftConfig.n_boot, .perf_material)
PERF_MATERIAL = DEFAULT.perf_material


@dataclass(frozen=True)
class PerformanceDrift:
    """A model's performance on the reference and on the current version, and the verdict
    (:func:`performance_drift`; fields also commented below).

    ``metric``: ``accuracy`` (classifier) or ``rmse`` (regressor); ``higher_is_better``: True for
    accuracy; ``reference`` / ``current``: the metric on each side (accuracy a share 0..1, RMSE
    in the label's unit); ``reference_interval`` / ``current_interval``: their bootstrap 95 %
    percentile intervals; ``change_interval``: the 95 % interval of current - reference;
    ``drop_share``: the loss in the good direction as a share of the reference (0.1: 10 % worse;
    negative: better; infinite when the reference is 0); ``verdict``: degraded | improved | no
    change | not enough evidence; ``n_reference`` / ``n_current``: labelled rows scored on each
    side.
    """

    metric: str
    higher_is_better: bool
    reference: float
    current: float
    reference_interval: tuple[float, float]
    current_interval: tuple[float, float]
    change_interval: tuple[float, float]  # of current - reference
    drop_share: float  # the loss in the metric's good direction, as a share of the reference
    # (infinite when the reference scored 0; stored as JSON null)
    verdict: str  # degraded | improved | no change | not enough evidence
    n_reference: int
    n_current: int
    # Where each side's score comes from: "all labelled rows", or the training run's
    # held-out predictions (workbench.training.evaluation.HeldOut.description).
    reference_source: str = "all labelled rows"
    current_source: str = "all labelled rows"
    # A binary classifier's view beyond accuracy (None otherwise): the positive class (the
    # second), its share among the labels on each side (the base rate: accuracy moves with
    # it even when the model ranks as well as before), and the threshold-free ROC AUC of
    # the positive-class probability on each side (None where a side has one class only).
    positive: str | None = None
    base_rate_reference: float | None = None
    base_rate_current: float | None = None
    auc_reference: float | None = None
    auc_current: float | None = None

    @property
    def sentence(self) -> str:
        """The result in one line, e.g. ``"accuracy 0.9100 -> 0.8700 (change 95% interval
        [-0.0500, -0.0300]; drop 4.4% of the reference)"``, plus where a side's score comes from
        when not all labelled rows, and a binary classifier's ROC AUC and base rates."""
        lo, hi = self.change_interval
        return (
            f"{self.metric} {self.reference:.4f} -> {self.current:.4f} "
            f"(change 95% interval [{lo:+.4f}, {hi:+.4f}]; "
            f"{'drop' if self.drop_share >= 0 else 'gain'} "
            f"{abs(self.drop_share):.1%} of the reference)"
            + "".join(
                f"; {side} from {source}"
                for side, source in (
                    ("reference", self.reference_source),
                    ("current", self.current_source),
                )
                if source != "all labelled rows"
            )
            + self._binary_text()
        )

    def _binary_text(self) -> str:
        out = ""
        if self.auc_reference is not None and self.auc_current is not None:
            out += f"; ROC AUC {self.auc_reference:.3f} -> {self.auc_current:.3f}"
        if self.base_rate_reference is not None and self.base_rate_current is not None:
            out += (
                f"; share of {self.positive!r} {self.base_rate_reference:.1%} -> "
                f"{self.base_rate_current:.1%}"
            )
        return out


@dataclass(frozen=True)
class ModelDrift:
    """The model section of a drift report (:func:`model_drift`).

    ``model_ref``: the model version scored (``name/N``); ``target``: the label column, or None
    when unknown; ``predictions``: one :class:`ColumnDrift` per prediction column (the predicted
    class or value, and a binary classifier's ``proba_<second class>``), tested like data columns
    (``workbench.drift.stats``); ``profiles``: ``{prediction column: (reference profile, current
    profile)}`` for the charts; ``performance``: the :class:`PerformanceDrift`, None when either
    side lacks labels; ``note``: why performance is missing or its verdict was held back ('' when
    nothing to say).
    """

    model_ref: str
    target: str | None
    predictions: list[ColumnDrift]
    profiles: dict[str, tuple[ColumnProfile, ColumnProfile]] = field(default_factory=dict)
    performance: PerformanceDrift | None = None
    note: str = ""

    @property
    def verdict(self) -> str:
        """``"performance degraded"`` when the performance verdict is degraded, else
        ``"predictions drift"`` when a prediction column drifted, else ``"stable"``."""
        if self.performance is not None and self.performance.verdict == "degraded":
            return "performance degraded"
        if any(p.drifted for p in self.predictions):
            return "predictions drift"
        return "stable"

    def to_json(self) -> dict[str, Any]:
        """Plain JSON: the fields by name, predictions as ``ColumnDrift.to_json()``, each profile
        pair as two dicts of the profile's fields, performance as a dict (an infinite
        ``drop_share`` becomes null when stored: ``workbench.store.drift_reports.to_json``)."""
        return {
            "model_ref": self.model_ref,
            "target": self.target,
            "note": self.note,
            "predictions": [p.to_json() for p in self.predictions],
            "profiles": {k: [asdict(a), asdict(b)] for k, (a, b) in self.profiles.items()},
            "performance": asdict(self.performance) if self.performance else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModelDrift:
        """The section :meth:`to_json` wrote. A null ``drop_share`` (the reference scored 0) is
        read back as +inf or -inf from the sign of the change, 0.0 when nothing changed. Raises
        KeyError without ``model_ref``."""
        perf = data.get("performance")
        if perf and perf.get("drop_share") is None:  # JSON's null: the reference scored 0
            loss = perf["current"] - perf["reference"]
            perf = perf | {
                "drop_share": math.copysign(math.inf, -loss if perf["higher_is_better"] else loss)
                if loss
                else 0.0
            }
        return cls(
            data["model_ref"],
            data.get("target"),
            [ColumnDrift.from_json(p) for p in data.get("predictions", [])],
            {
                k: (ColumnProfile(**a), ColumnProfile(**b))
                for k, (a, b) in data.get("profiles", {}).items()
            },
            PerformanceDrift(**perf) if perf else None,
            data.get("note", ""),
        )


def model_drift(
    ws: Workspace,
    model_ref: str,
    reference_ref: str,
    current_ref: str,
    target: str | None = None,
    *,
    seed: int = 0,
    config: DriftConfig | None = None,
) -> ModelDrift:
    """Score both versions with ``model_ref`` and compare. ``target`` defaults to the label
    column of the run that trained the model. ``config``: the report's thresholds (its
    per-column rules are for the data's columns, not the predictions), ``n_boot`` and
    ``perf_material`` (default: today's). Raises InvalidInput when a version lacks one of
    the model's input columns (``signature.require_inputs``), when a ``target`` given is a
    column of neither version (``signature.require_label_column``; the model's own label
    missing from a version leaves performance out, with a note), and when a version's values
    in the label column are not what the model predicts (``signature.check_labels``)."""
    cfg = (config or DEFAULT).with_overrides({})
    model = registry.load_model(ws, model_ref)
    classifier = model.signature["output"]["kind"] == "classification"
    classes = model.signature["output"].get("classes") or []
    positive = (f"proba_{classes[1]}", classes[1]) if classifier and len(classes) == 2 else None
    given = target is not None
    if given:
        signature.require_label_name(target)
    target = target or registry.training_target(ws, registry.get_version(ws, model_ref))
    frames, versions, sample = [], [], Settings.from_env().max_score_rows
    for ref in (reference_ref, current_ref):
        version = datasets.get_version(ws, ref)
        versions.append(version)
        frame = snapshots.read_sample(datasets.snapshot_path(ws, version), sample, seed)
        inputs = signature.require_inputs(
            model.signature,
            frame.columns,
            model.ref,
            version.ref,
            "compare versions that have the model's inputs, or run the report without the model.",
        )
        frames.append(frame)
    if given:
        signature.require_label_column(
            target, {v.ref: f.columns for v, f in zip(versions, frames, strict=True)}
        )
    for version, frame in zip(versions, frames, strict=True):
        if target is not None and target in frame.columns:
            signature.check_labels(model.signature, frame[target], target, model.ref, version.ref)
    scored = [_scored(model, f[inputs], classifier) for f in frames]
    ref_prof, cur_prof = (
        _profile(s, label, classifier)
        for s, label in zip(scored, ("reference", "current"), strict=True)
    )
    predictions = [_as_prediction(r) for r in drift.compare(ref_prof, cur_prof, config=cfg)]
    pairs = {a.name: (a, b) for a, b in zip(ref_prof, cur_prof, strict=True)}
    performance, note = None, ""
    if target is None:
        note = "The model's label column is unknown (no launch spec); give it to see performance."
    elif any(target not in f.columns for f in frames):
        note = f"Performance needs the label column {target!r} in both versions."
    else:
        labelled = [f[target].notna().to_numpy() for f in frames]
        if not all(mask.any() for mask in labelled):
            note = f"Performance needs labelled rows in {target!r} on both sides."
        else:
            sides = [
                (
                    # the labelled rows' values in their own type: a boolean label with
                    # nulls is read as objects, which scikit-learn's metrics call "unknown"
                    f[target][m].infer_objects().to_numpy(),
                    s["prediction"].to_numpy()[m],
                    s[positive[0]].to_numpy()[m] if positive and positive[0] in s.columns else None,
                )
                for f, s, m in zip(frames, scored, labelled, strict=True)
            ]
            performance, note = _unseen_performance(
                ws,
                registry.get_version(ws, model.ref),
                versions,
                target,
                sides,
                classifier,
                seed,
                positive,
                cfg,
            )
    return ModelDrift(model.ref, target, predictions, pairs, performance, note)


def _unseen_performance(
    ws: Workspace,
    model: ModelVersion,
    versions: list[DatasetVersion],
    target: str,
    sides: list[tuple],
    classifier: bool,
    seed: int,
    positive: tuple[str, Any] | None = None,
    cfg: DriftConfig = DEFAULT,
) -> tuple[PerformanceDrift, str]:
    """Performance drift where no side is scored on rows the model was fitted on: a side
    that is the model's training version takes the run's held-out predictions instead (the
    hold-out, or out-of-fold predictions). Without them, the verdict is "not enough
    evidence" and the note says why: a model's score on its own training rows is
    optimistic, so a drop measured from it is not a degradation. Returns (drift, note)."""
    # every training input of the model's run counts (a model fitted on two versions)
    trained = [promotion.evaluation_data(ws, v, {"model": model}).trained_on for v in versions]
    if not any(trained):
        note = (
            ""
            if model.dataset_ref
            else f"{model.ref} records no training dataset, so whether the reference holds the "
            "rows it was fitted on is unknown; if it does, its score there is "
            "optimistic."
        )
        return _drift(sides, classifier, seed, positive, cfg), note
    held = evaluation.heldout(ws, model)
    sources = ["all labelled rows", "all labelled rows"]
    missing = []
    for i, (version, fitted) in enumerate(zip(versions, trained, strict=True)):
        if not fitted:
            continue
        if held is not None and held.dataset_ref == version.ref and held.target == target:
            frame = held.frame[held.frame["label"].notna()]
            sides[i] = (
                frame["label"].to_numpy(),
                frame["prediction"].to_numpy(),
                frame[positive[0]].to_numpy()
                if positive and positive[0] in frame.columns
                else None,
            )
            sources[i] = held.description
        else:
            missing.append(version.ref)
    result = _drift(sides, classifier, seed, positive, cfg)
    result = replace(result, reference_source=sources[0], current_source=sources[1])
    if not missing:  # the sentence names the held-out source
        return result, ""
    if held is None:
        why = (
            "its run kept no held-out predictions (a model logged by hand, or trained "
            "before they were kept)"
        )
        then = ", or retrain it from the app to keep its hold-out."
    else:  # the same rows registered again (another name or version): the hold-out is of
        # the version the run trained on, whose row positions this one need not share
        why = (
            f"the held-out predictions its run kept are rows of {held.dataset_ref} "
            f"({held.target!r}), not of {' or '.join(missing)}"
        )
        then = f", or {held.dataset_ref} itself, whose hold-out is used."
    note = (
        f"{' and '.join(missing)} {'holds' if len(missing) == 1 else 'hold'} the data "
        f"{model.ref} was fitted on, and {why}: its score there is optimistic, so no "
        "degradation is claimed against it. Compare versions the model was not trained "
        f"on{then}"
    )
    if result.verdict in ("degraded", "improved"):
        result = replace(result, verdict="not enough evidence")
    return result, note


def _drift(
    sides: list[tuple],
    classifier: bool,
    seed: int,
    positive: tuple[str, Any] | None,
    cfg: DriftConfig = DEFAULT,
) -> PerformanceDrift:
    """:func:`performance_drift` of (labels, predictions, positive-class scores or None)
    per side, plus for a binary classifier (``positive``: its probability column and the
    second class) the base rate and ROC AUC of each side (scikit-learn's
    ``roc_auc_score``)."""
    result = performance_drift(
        *[side[:2] for side in sides],
        classifier=classifier,
        seed=seed,
        n_boot=cfg.n_boot,
        material=cfg.perf_material,
    )
    if positive is None:
        return result
    from sklearn import metrics as skm  # scikit-learn's import: only when a model is involved

    cls = positive[1]
    rates, aucs = [], []
    for y, _, score in sides:
        hits = np.asarray(y) == cls  # labels read back with nulls may be floats: 1.0 == 1
        rates.append(float(hits.mean()))
        ok = score is not None and hits.any() and not hits.all()
        if ok:
            score = np.asarray(score, dtype=float)
            ok = bool(np.isfinite(score).all())
        aucs.append(float(skm.roc_auc_score(hits, score)) if ok else None)
    return replace(
        result,
        positive=f"{cls}",
        base_rate_reference=rates[0],
        base_rate_current=rates[1],
        auc_reference=aucs[0],
        auc_current=aucs[1],
    )


def performance_drift(
    reference: tuple[np.ndarray, np.ndarray],
    current: tuple[np.ndarray, np.ndarray],
    *,
    classifier: bool,
    n_boot: int = N_BOOT,
    seed: int = 0,
    material: float = PERF_MATERIAL,
) -> PerformanceDrift:
    """The metric on (labels, predictions) of each side (accuracy or RMSE,
    ``sklearn.metrics``), ``n_boot`` bootstrap resamples of each side (independently;
    ``scipy.stats.bootstrap`` over (label, prediction) pairs for RMSE, the exact Binomial
    law of a resample's hits for accuracy), 95 % percentile intervals of each score and of
    the change, and a verdict: "degraded" when the drop is at least ``material`` of the
    reference score and the change's interval lies on the bad side, "not enough evidence"
    when it does not, "improved" the other way round, else "no change"."""
    metric = "accuracy" if classifier else "rmse"
    higher = higher_is_better(metric)
    score = _accuracy if classifier else _rmse
    rng = np.random.default_rng(seed)
    boots, scores = [], []
    for y, pred in (reference, current):
        y, pred = _comparable(y, pred, classifier)
        n = len(y)
        scores.append(float(score(y, pred)))
        if classifier:  # the hits in a resample of n rows are Binomial(n, accuracy): exact
            boots.append(rng.binomial(n, scores[-1], n_boot) / n)
        elif n < 2:  # one pair: every resample is that pair
            boots.append(np.full(n_boot, scores[-1]))
        else:
            found = stats.bootstrap(
                (y, pred),
                _rmse,
                paired=True,
                vectorized=True,
                n_resamples=n_boot,
                batch=max(1, 2_000_000 // n),  # a batch of resamples holds 2M pairs at most
                method="percentile",
                random_state=rng,
            )
            boots.append(found.bootstrap_distribution)
    ref_score, cur_score = scores
    change = boots[1] - boots[0]
    lo, hi = (float(v) for v in np.percentile(change, [2.5, 97.5]))
    loss = (ref_score - cur_score) if higher else (cur_score - ref_score)
    drop_share = loss / abs(ref_score) if ref_score else (0.0 if loss == 0 else np.inf)
    worse_for_sure = hi < 0 if higher else lo > 0
    better_for_sure = lo > 0 if higher else hi < 0
    if drop_share >= material:
        verdict = "degraded" if worse_for_sure else "not enough evidence"
    elif -drop_share >= material and better_for_sure:
        verdict = "improved"
    else:
        verdict = "no change"
    return PerformanceDrift(
        metric,
        higher,
        ref_score,
        cur_score,
        _interval(boots[0]),
        _interval(boots[1]),
        (lo, hi),
        float(drop_share),
        verdict,
        len(reference[0]),
        len(current[0]),
    )


def _scored(model: Any, frame: pd.DataFrame, classifier: bool) -> pd.DataFrame:
    out = registry.predict_frame(model, frame)
    if classifier:  # a binary classifier's second-class probability; a multiclass one: none
        proba = [c for c in out.columns if c.startswith("proba_")]
        out = out.drop(columns=proba[:-1] if len(proba) == 2 else proba)
    return out.reset_index(drop=True)


def _profile(frame: pd.DataFrame, label: str, classifier: bool) -> tuple[ColumnProfile, ...]:
    if classifier:  # a class is a category, even when the classes are 0 and 1
        frame = frame.assign(prediction=frame["prediction"].astype(str))
    with snapshots.Scratch() as scratch:
        snapshots.load_frame(scratch, frame, label=f"the {label} predictions")
        return profiles.profile(scratch, snapshots.normalize(scratch, label))


def _as_prediction(result: ColumnDrift) -> ColumnDrift:
    return ColumnDrift(
        result.column,
        f"prediction ({result.kind})",
        result.verdict,
        result.method,
        result.effect,
        result.p_value,
        result.n_reference,
        result.n_current,
        result.stats,
        result.sentence,
    )


def _comparable(y: np.ndarray, pred: np.ndarray, classifier: bool) -> tuple[np.ndarray, ...]:
    if classifier:  # labels read back with nulls may be floats (1.0 == 1 holds)
        return np.asarray(y), np.asarray(pred)
    return np.asarray(y, float), np.asarray(pred, float)


def _accuracy(y: np.ndarray, pred: np.ndarray) -> float:
    """The share of rows whose prediction is the label (``sklearn.metrics.accuracy_score``)."""
    from workbench.training import metrics  # scikit-learn: only when a model is scored

    return metrics.accuracy(y, pred)


def _rmse(y: np.ndarray, pred: np.ndarray, axis: int = -1) -> np.ndarray:
    """Root mean squared error along ``axis`` (``sklearn.metrics.root_mean_squared_error``,
    one value per resample when ``scipy.stats.bootstrap`` stacks them): an array of the
    other axes' shape, 0-d for one sample."""
    from sklearn.metrics import root_mean_squared_error  # only when a model is scored

    y, pred = np.moveaxis(y, axis, -1), np.moveaxis(pred, axis, -1)
    n = y.shape[-1]
    # one output per resample: sklearn's columns
    flat = root_mean_squared_error(
        y.reshape(-1, n).T, pred.reshape(-1, n).T, multioutput="raw_values"
    )
    return np.asarray(flat).reshape(y.shape[:-1])


def _interval(values: np.ndarray) -> tuple[float, float]:
    lo, hi = np.percentile(values, [2.5, 97.5])
    return float(lo), float(hi)
