"""Which rows a model has not seen: the held-out predictions kept at training, and the
evaluation data a comparison may use.

A run launched from the app (a single run or a sweep's trial) keeps the predictions it made
on the rows its validation held out, as the artifact ``heldout_predictions.parquet`` (one
row per held-out row: its 0-based position in the dataset version, the label, the
prediction, the class probabilities) and an ``evaluation``/``heldout`` record naming the
version, the label column and how the predictions were made:

* ``holdout``: by the saved model, which was fitted on the other rows only; those rows are
  unseen by the model.
* ``out-of-fold``: each row by the model of the fold that left it out (k-fold cross
  validation); the saved model was then refitted on every row, so none is unseen by it,
  but the predictions still measure how the procedure does on new rows.

A model's score on the rows it was fitted on is optimistic (a random forest nearly
memorises them), so neither a drift report's reference performance nor a champion versus
challenger comparison may use those rows: ``workbench.drift.model_drift`` takes the reference score
from the held-out predictions, and :func:`evaluation_data` says which rows of a version a
set of models has not seen.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from workbench.datasets import versions as datasets
from workbench.store import runs_admin
from workbench.store.entities import DatasetVersion, ModelVersion
from workbench.store.errors import NotFound
from workbench.store.workspace import Workspace

HELDOUT_FILE = "heldout_predictions.parquet"


@dataclass(frozen=True)
class HeldOut:
    """A run's held-out predictions: ``frame`` has columns ``row``, ``label``,
    ``prediction`` (and ``proba_<class>`` for a classifier); ``kind`` is ``holdout`` or
    ``out-of-fold``; ``dataset_ref`` and ``target`` name the version and label column."""

    dataset_ref: str
    target: str
    kind: str
    frame: pd.DataFrame

    @property
    def model_saw_rows(self) -> bool:
        """True for out-of-fold predictions: the saved model was refitted on every row."""
        return self.kind != "holdout"

    @property
    def description(self) -> str:
        """A phrase for reports naming where the predictions come from and how many rows, e.g.
        "the run's hold-out (2,000 rows of churn@v3 the model was not fitted on)"."""
        n = len(self.frame)
        if self.kind == "holdout":
            return (
                f"the run's hold-out ({n:,} rows of {self.dataset_ref} the model was not fitted on)"
            )
        return (
            f"the run's out-of-fold predictions ({n:,} rows of {self.dataset_ref}, each "
            "predicted by a fold's model not fitted on it)"
        )


def keep_heldout(run: Any, frame: pd.DataFrame, *, kind: str, dataset: str, target: str) -> str:
    """Store ``frame`` (:func:`workbench.training.task.heldout_frame`) with ``run`` (an active
    run) as its held-out predictions; returns the artifact's sha256."""
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    sha = run.log_artifact_bytes(buffer.getvalue(), HELDOUT_FILE)
    run.log_record(
        "evaluation",
        "heldout",
        {
            "dataset": dataset,
            "target": target,
            "kind": kind,
            "rows": len(frame),
            "artifact": HELDOUT_FILE,
            "sha256": sha,
        },
    )
    return sha


def heldout(ws: Workspace, version: ModelVersion) -> HeldOut | None:
    """The held-out predictions kept by the run that trained ``version``, or None (a model
    logged by hand, or trained before they were kept). The file's hash is checked."""
    records = ws.store.read(lambda tx: runs_admin.run_records(tx, version.run_id, "evaluation"))
    meta = records.get(("evaluation", "heldout"))
    if not isinstance(meta, dict) or not meta.get("sha256"):
        return None
    frame = pd.read_parquet(io.BytesIO(ws.blobs.read_verified(meta["sha256"])))
    return HeldOut(str(meta["dataset"]), str(meta["target"]), str(meta["kind"]), frame)


@dataclass(frozen=True)
class EvaluationData:
    """What a dataset version is to the models compared on it.

    ``trained_on``: the roles (e.g. ``champion``) of the models fitted on this version.
    ``rows``: None to use every labelled row; else the 0-based positions of the rows none
    of those models saw (their runs' hold-outs; the intersection when several). When a
    model was fitted on the version and no row of it is unseen (k-fold refit on every row,
    a model logged by hand), ``training_data`` is True and ``note`` says so."""

    dataset: str
    trained_on: tuple[str, ...] = ()
    rows: np.ndarray | None = None
    training_data: bool = False
    note: str = ""


def evaluation_data(
    ws: Workspace, dataset: DatasetVersion, models: dict[str, ModelVersion]
) -> EvaluationData:
    """Which rows of ``dataset`` the ``models`` (role -> version) have not seen, by lineage:
    a model was fitted on ``dataset`` when its training version is ``dataset`` (or has the
    same content fingerprint)."""
    trained = [role for role, mv in models.items() if _trained_on(ws, mv, dataset)]
    if not trained:
        return EvaluationData(dataset.ref)
    rows: np.ndarray | None = None
    for role in trained:
        held = heldout(ws, models[role]) if models[role].dataset_ref == dataset.ref else None
        if held is None or held.model_saw_rows:
            why = (
                "its run kept no held-out rows"
                if held is None
                else "it was refitted on every row after cross-validation"
            )
            return EvaluationData(
                dataset.ref,
                tuple(trained),
                None,
                True,
                f"evaluated on training data: {dataset.ref} is the {role}'s "
                f"training data ({models[role].ref} was fitted on it; {why}). "
                "Choose a labelled version neither model was trained "
                "on.",
            )
        positions = held.frame["row"].to_numpy(dtype="int64")
        rows = positions if rows is None else np.intersect1d(rows, positions)
    rows = np.unique(rows) if rows is not None else rows
    roles = " and ".join(trained)
    if rows is None or len(rows) == 0:
        return EvaluationData(
            dataset.ref,
            tuple(trained),
            None,
            True,
            f"evaluated on training data: {dataset.ref} is training data of "
            f"the {roles} and no row of it was held out by "
            f"{'both' if len(trained) > 1 else 'it'}. Choose a labelled "
            "version neither model was trained on.",
        )
    return EvaluationData(
        dataset.ref,
        tuple(trained),
        rows,
        False,
        f"{dataset.ref} is the {roles}'s training data: compared on the "
        f"{len(rows):,} rows its run held out (not fitted on)",
    )


def _trained_on(ws: Workspace, model: ModelVersion, dataset: DatasetVersion) -> bool:
    if model.dataset_ref is None:
        return False
    if model.dataset_ref == dataset.ref:
        return True
    try:
        return datasets.get_version(ws, model.dataset_ref).fingerprint == dataset.fingerprint
    except NotFound:  # purged since: its ref still names it, the content is unknown
        return False
