"""The notebook and script API. No server needed; runs show up in the app, live.

```python
import workbench as wb

with wb.start_run(experiment="churn", name="rf-baseline") as run:
    run.log_params({"n_estimators": 200, "max_depth": 8})
    for step in range(50):
        run.log_metrics({"loss": 0.1, "auc": 0.9}, step=step)
    run.set_tags({"owner": "ana"})
    run.log_artifact("confusion.csv")
```

Names follow MLflow's. Each logging call validates its input first (a bad value raises
:class:`InvalidInput` and writes nothing), then appends one line to the run's event log
and returns; the database is updated in batches (every ``WORKBENCH_INGEST_INTERVAL``
seconds, at the end of the run, and by the app's watcher). An exception inside the
``with`` block ends the run as ``failed`` with the error text; Ctrl-C ends it ``killed``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import pandas as pd

from workbench.datasets import versions as datasets
from workbench.store.entities import DatasetVersion, RunDetail
from workbench.store.errors import InvalidInput
from workbench.tracking import compare, experiments
from workbench.tracking.fluent import (  # the fluent run logger, re-exported
    ActiveRun,
    active_run,
    end_run,
    log_artifact,
    log_metric,
    log_metrics,
    log_model,
    log_param,
    log_params,
    set_tag,
    set_tags,
    set_workspace,
    start_run,
    workspace,
)
from workbench.validation import (
    check_storable,
)

__all__ = [
    "ActiveRun",
    "active_run",
    "autolog",
    "best_runs",
    "end_run",
    "get_run",
    "infer_signature",
    "list_dataset_versions",
    "load_dataset",
    "load_model",
    "log_artifact",
    "log_dataset",
    "log_metric",
    "log_metrics",
    "log_model",
    "log_param",
    "log_params",
    "predict",
    "promote",
    "register_model",
    "search_runs",
    "set_alias",
    "set_tag",
    "set_tags",
    "set_workspace",
    "start_run",
    "workspace",
]


def infer_signature(model_input: Any, model_output: Any = None) -> dict[str, Any]:
    """The signature of a model's input data (MLflow's name and shape): column names,
    type families and dtypes of a DataFrame, or a positional signature for an array."""
    from workbench.registry import signature

    return signature.infer_signature(model_input, model_output)


def get_run(run_id: str) -> RunDetail:
    """Everything about run ``run_id`` in the current workspace (:func:`workspace`): the run, its
    experiment's name, params (as logged types), tags, metric summaries by key and artifacts
    (``workbench.store.entities.RunDetail``). Raises NotFound for an unknown id."""
    return experiments.get_run(workspace(), run_id)


def best_runs(run_ids: Sequence[str]) -> pd.DataFrame:
    """The best of the runs ``run_ids`` on each metric they logged, as the Experiments
    page's comparison shows it: one row per metric, columns ``metric``,
    ``higher_is_better`` (the metric's direction, one rule for the page, the CLI and the
    promotion gate: :func:`workbench.tracking.compare.higher_is_better`), ``run_id`` (the
    best run), ``value`` (its latest value), ``min``, ``max``, ``mean``, ``runs`` (how
    many of them logged a finite value) and ``decided_by`` (``name``, or ``declared`` when
    the runs' tag ``direction.<metric>`` set it; runs that disagree are warned about and the
    name rule decides). Raises InvalidInput for an empty list or a single string, NotFound
    naming ids that match no run."""
    best = compare.best_runs(workspace(), run_ids)
    for b in best:
        if b.decided_by not in ("name", "declared"):
            warnings.warn(f"{b.metric}: {b.decided_by}", stacklevel=2)
    columns = [f.name for f in fields(compare.MetricBest)]
    return pd.DataFrame([asdict(b) for b in best], columns=columns)


def search_runs(
    experiment: str | None = None,
    filter_string: str | None = None,
    *,
    max_results: int | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """The runs table (as on the Experiments page) as a DataFrame, newest first: every run
    of ``experiment`` (all experiments if None) matching ``filter_string`` (the filter
    language of :mod:`workbench.tracking.query`, e.g. ``"params.seed = 1152921504606846977"``).

    ``max_results`` (``limit`` is the same) keeps at most that many, as in MLflow's
    ``search_runs``; when it leaves runs out, a :class:`UserWarning` says how many. Param
    columns hold the logged Python values (ints stay exact). Raises :class:`InvalidInput`
    for a bad filter, :class:`NotFound` for an unknown experiment.
    """
    if filter_string is not None and not isinstance(filter_string, str):
        raise InvalidInput(
            f'filter_string must be a string such as "metrics.auc > 0.9"; got '
            f"{filter_string!r}. Pass the number of runs as max_results=."
        )
    if max_results is not None and limit is not None and max_results != limit:
        raise InvalidInput("Pass max_results or limit (the same thing), not both.")
    cap = max_results if max_results is not None else limit
    if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 0):
        raise InvalidInput(
            f"max_results must be a whole number from 0, or None for all; got {cap!r}."
        )
    ws = workspace()
    ids = None
    if experiment is not None:
        ids = [experiments.get_experiment_by_name(ws, experiment).experiment_id]
    page = experiments.runs_page(ws, experiment_ids=ids, limit=cap, query=filter_string)
    if page.cut:
        warnings.warn(
            f"search_runs: {page.note()} (max_results={cap}); pass "
            "max_results=None for all of them.",
            stacklevel=2,
        )
    return page.table


# -- datasets ----------------------------------------------------------------------------------


def log_dataset(
    data: pd.DataFrame | str | os.PathLike,
    name: str,
    *,
    message: str = "",
    tags: Mapping[str, Any] | None = None,
    encoding: str = "utf-8",
) -> DatasetVersion:
    """Register a DataFrame (or a CSV/Parquet path) as a version of dataset ``name``. A
    Series is logged as a one-column frame named by the series' name (else ``value``).

    Returns the new version, or the existing one when the same content is already there
    (a warning says which). A DataFrame's index that carries data (a DatetimeIndex, a named
    index, integers other than 0..n-1) is kept as leading column(s), as ``reset_index()``
    names them (an unnamed one with a warning); drop it first with
    ``df.reset_index(drop=True)`` if it is not data. Raises InvalidInput with what is wrong
    with the data.
    """
    if isinstance(data, pd.Series):  # one column, named by the series (else "value")
        column = "value" if data.name is None else str(data.name)
        check_storable(column, f"The Series name {column!r}")
        data = data.to_frame(name=column)
    if not isinstance(data, pd.DataFrame | str | os.PathLike):
        raise InvalidInput(
            f"log_dataset takes a DataFrame, a Series or a CSV/Parquet path; "
            f"got {type(data).__name__}. Make a frame first, e.g. "
            "pd.DataFrame(data)."
        )
    source = data if isinstance(data, pd.DataFrame) else Path(data)
    unnamed = isinstance(data, pd.DataFrame) and all(n is None for n in data.index.names)
    if unnamed and datasets.index_carries_data(data):  # a named index is plainly data: kept quietly
        warnings.warn(
            "The DataFrame's unnamed index is not the row numbers 0..n-1, so it is kept as "
            "a column (named as df.reset_index() names it, usually 'index'). If it is not "
            "data, log df.reset_index(drop=True) instead.",
            stacklevel=2,
        )
    result = datasets.register(
        workspace(),
        source,
        name,
        message=message,
        tags=tags,
        source_kind="sdk" if isinstance(data, pd.DataFrame) else "path",
        encoding=encoding,
    )
    if not result.created or result.notes:
        warnings.warn(result.message, stacklevel=2)
    return result.version


def load_dataset(ref: str, *, role: str | None = None) -> pd.DataFrame:
    """The rows of ``"churn@v3"`` (or ``"churn"`` for the latest) as a DataFrame, with the
    values exactly as registered (decimals as ``decimal.Decimal``, nanoseconds kept, NaN
    apart from NULL); see :func:`workbench.datasets.versions.load`. The frame's
    ``attrs["workbench_ref"]`` names the version read (``"churn@v3"``), so ``wb.autolog()``
    can record it as the training data of a model fitted on the frame (or on columns
    selected from it).

    Inside an active run (``with wb.start_run(...)``) the version is recorded as an input of
    the run (:meth:`ActiveRun.log_input`), so a model the run logs by hand has known
    training data. The rule: with ``role`` given (``"train"``, ``"eval"``, ...), the
    version is recorded in that role; without it, it is recorded as ``"train"`` when the run
    has no ``"train"`` input yet, and not recorded otherwise (the first dataset a run loads
    is taken as its training data: load it first, or name the roles). Outside a run nothing
    is recorded. Raises NotFound for an unknown version, InvalidInput for a bad reference,
    for a bad role, or for ``role`` given with no active run."""
    run = active_run()
    if role is not None and run is None:
        raise InvalidInput(
            f"load_dataset: role={role!r} records the version as an input of the active run, "
            "and no run is active; call it inside `with wb.start_run(...)`, or leave role out."
        )
    ws = workspace()
    version = datasets.get_version(ws, ref)
    frame = datasets.load(ws, version.ref)
    frame.attrs["workbench_ref"] = version.ref
    if run is not None and (role is not None or "train" not in run.input_roles):
        run.log_input(version, role if role is not None else "train")
    return frame


def list_dataset_versions(name: str) -> list[DatasetVersion]:
    """The versions of dataset ``name``, newest first."""
    return datasets.list_versions(workspace(), name)


def autolog(
    experiment: str = "autolog",
    *,
    eval_data: tuple[Any, Any] | None = None,
    log_models: bool = True,
    disable: bool = False,
) -> None:
    """Log every scikit-learn ``fit`` as a run: params, training score, metrics on
    ``eval_data`` (``(X_val, y_val)``), and the fitted model. ``disable=True`` stops it."""
    from workbench.tracking import autolog as _autolog

    if disable:
        _autolog.disable()
    else:
        _autolog.enable(experiment, eval_data, log_models)


# -- models ------------------------------------------------------------------------------------


def register_model(run_id: str, name: str, *, tags: Mapping[str, Any] | None = None):
    """Register the model a run logged (``model.joblib``) as the next version of ``name``."""
    from workbench.registry import models as registry

    return registry.register_model(workspace(), run_id, name, tags=dict(tags or {}))


def load_model(ref: str):
    """``"churn-classifier@champion"`` or ``"churn-classifier/3"``: the model, hash-checked;
    its ``predict`` enforces the signature."""
    from workbench.registry import models as registry

    return registry.load_model(workspace(), ref)


def set_alias(
    name: str, alias: str, version: int, *, reason: str = "", override: bool = False
) -> None:
    """Point ``alias`` at ``version`` (the move is kept with who, when and ``reason``).
    Moving an existing ``champion`` elsewhere skips the promotion gate: refused
    (InvalidInput) unless an admin passes ``override=True`` and a ``reason``; use
    :func:`promote` to go through the gate."""
    from workbench.registry import models as registry

    registry.set_alias(workspace(), name, alias, version, reason=reason, override=override)


def promote(
    name: str,
    dataset_ref: str,
    target: str,
    *,
    margin: float = 0.0,
    override: bool = False,
    reason: str = "",
):
    """Champion against challenger on ``dataset_ref``'s labels in ``target``, through the
    promotion gate: champion moves to the challenger only when every check passes (or an
    admin overrides it with a reason). Returns the ``Verdict``: ``.allowed``, ``.moved``,
    ``.checks`` and ``.reasons`` (the failing checks)."""
    from workbench.registry import promotion

    return promotion.promote(
        workspace(),
        name,
        dataset_ref,
        target,
        config=promotion.GateConfig(margin=margin),
        override=override,
        reason=reason,
    )


def predict(model_ref: str, dataset_ref: str, *, output: str | None = None) -> DatasetVersion:
    """Score a dataset version; the predictions become a new dataset version (lineage kept)."""
    from workbench.registry import models as registry

    return registry.score(workspace(), model_ref, dataset_ref, output=output).version
