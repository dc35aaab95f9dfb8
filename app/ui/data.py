"""Cached reads for pages.

Every cache is keyed on the store's generation (file mtimes and sizes, changed by every
commit and by nothing else), so a rerun that changes nothing does not reopen the database,
and any write anywhere, by any process, is seen on the next rerun.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from workbench.datasets import versions as datasets
from workbench.settings import Settings
from workbench.store.entities import (
    CheckResult,
    ColumnProfile,
    Dataset,
    DatasetVersion,
    ExperimentSummary,
    OrderBy,
    RunDetail,
)
from workbench.store.workspace import Workspace
from workbench.tracking import experiments
from workbench.tracking.watcher import RunWatcher
from workbench.workspaces import open_workspace

if TYPE_CHECKING:
    import pyarrow as pa

    from workbench.registry.promotion import Comparison


def workspace() -> Workspace:
    """The workspace this server process serves (``workbench.workspaces.open_workspace`` with no
    path: the configured one). Raises InvalidInput or SchemaOutOfDate as that does."""
    return open_workspace()


def generation() -> tuple:
    """The workspace store's generation: a token (the database and WAL files' mtimes and sizes)
    that changes on every commit by any process. Pass it to the cached reads below so they
    re-read after a write, and only then."""
    return workspace().store.generation()


@st.cache_resource(show_spinner=False)
def start_watcher(root: str) -> RunWatcher:
    """One watcher per server process and workspace: live ingestion of run logs."""
    return RunWatcher(open_workspace(root), Settings.from_env()).start()


@st.cache_data(max_entries=16, show_spinner="Comparing champion and challenger…")
def comparison(
    root: str, gen: tuple, name: str, dataset: str, target: str, segment: str | None
) -> Comparison:
    """Champion versus challenger on ``dataset`` (``workbench.registry.promotion.compare``: both
    models scored, 1,000 paired bootstrap resamples), computed once per state of the store: the
    page reran it on every click (a margin typed, a box ticked) for several seconds."""
    from workbench.registry import (
        promotion,  # scikit-learn and the registry: only the Models page needs them
    )

    return promotion.compare(open_workspace(root), name, dataset, target, segment=segment)


@st.cache_data(max_entries=32, show_spinner=False)
def summary(root: str, gen: tuple) -> experiments.WorkspaceSummary:
    """The Home page's counts and recent items (``experiments.workspace_summary``). ``root``: the
    workspace path; ``gen``: the store generation (:func:`generation`), a cache key only."""
    return experiments.workspace_summary(open_workspace(root))


@st.cache_data(max_entries=32, show_spinner=False)
def experiment_list(root: str, gen: tuple) -> list[ExperimentSummary]:
    """Active experiments with their active-run counts, latest run first
    (``experiments.list_experiments``). ``root``: the workspace path; ``gen``: the store
    generation (:func:`generation`), a cache key only."""
    return experiments.list_experiments(open_workspace(root))


@st.cache_data(max_entries=64, show_spinner=False)
def runs_table(
    root: str,
    gen: tuple,
    experiment_ids: tuple[str, ...] | None,
    limit: int,
    query: str = "",
    order: tuple = (),
    offset: int = 0,
    lifecycle: str = "active",
) -> pd.DataFrame:
    """One page of runs as a DataFrame (``experiments.runs_table``: attribute columns, then
    ``params.<key>``, ``metrics.<key>`` and ``tags.<key>``), for ``experiment_ids`` (None: every
    experiment). ``query``: a search filter (``metrics.auc > 0.9``; '' for none); ``order``:
    ``(field, key, descending)`` triples, turned into ``OrderBy``; ``limit`` rows after
    ``offset``; ``lifecycle``: ``active`` or ``deleted`` (the trash). Raises InvalidInput for a
    query that does not parse. ``root``: the workspace path; ``gen``: the store generation
    (:func:`generation`), a cache key only."""
    order_by = [OrderBy(f, k, d) for f, k, d in order]
    return experiments.runs_table(
        open_workspace(root),
        experiment_ids=experiment_ids,
        limit=limit,
        query=query or None,
        order_by=order_by,
        offset=offset,
        lifecycle=lifecycle,
    )


@st.cache_data(max_entries=64, show_spinner=False)
def count_runs(
    root: str,
    gen: tuple,
    experiment_ids: tuple[str, ...] | None,
    query: str = "",
    lifecycle: str = "active",
) -> int:
    """How many runs :func:`runs_table` would show without a limit (``experiments.count_runs``).
    Raises InvalidInput for a bad ``query``. ``root``: the workspace path; ``gen``: the store
    generation (:func:`generation`), a cache key only."""
    return experiments.count_runs(
        open_workspace(root),
        experiment_ids=experiment_ids,
        query=query or None,
        lifecycle=lifecycle,
    )


@st.cache_data(max_entries=64, show_spinner=False)
def curves(
    root: str,
    gen: tuple,
    run_ids: tuple[str, ...],
    keys: tuple[str, ...] | None,
    steps: tuple[int, int] | None,
) -> pd.DataFrame:
    """Metric histories for charts, at most about 200 points per run and key (each step bucket
    keeps its lowest and highest point; ``experiments.curves``), only ``keys`` when given, only
    steps within ``steps`` (inclusive) when given. ``root``: the workspace path; ``gen``: the
    store generation (:func:`generation`), a cache key only."""
    return experiments.curves(open_workspace(root), run_ids, keys, steps=steps)


@st.cache_data(max_entries=64, show_spinner=False)
def evaluations(root: str, gen: tuple, run_ids: tuple[str, ...]) -> dict[str, dict]:
    """``{run_id: evaluation data}`` (confusion matrix, curves, importances) of those runs that
    were launched and evaluated (``experiments.evaluations``). ``root``: the workspace path;
    ``gen``: the store generation (:func:`generation`), a cache key only."""
    return experiments.evaluations(open_workspace(root), run_ids)


@st.cache_data(max_entries=64, show_spinner=False)
def run_detail(root: str, gen: tuple, run_id: str) -> RunDetail:
    """Everything about one run (``experiments.get_run``). Raises NotFound. ``root``: the
    workspace path; ``gen``: the store generation (:func:`generation`), a cache key only."""
    return experiments.get_run(open_workspace(root), run_id)


@st.cache_data(max_entries=64, show_spinner=False)
def metric_history(root: str, gen: tuple, run_ids: tuple[str, ...]) -> pd.DataFrame:
    """Every logged point of the runs' metrics: columns ``run_id``, ``key``, ``step``, ``ts_ms``
    (ms since the epoch), ``value`` (``experiments.metric_history``). ``root``: the workspace
    path; ``gen``: the store generation (:func:`generation`), a cache key only."""
    return experiments.metric_history(open_workspace(root), run_ids)


@st.cache_data(max_entries=32, show_spinner=False)
def dataset_list(root: str, gen: tuple) -> list[Dataset]:
    """The active datasets by name (``datasets.list_datasets``). ``root``: the workspace path;
    ``gen``: the store generation (:func:`generation`), a cache key only."""
    return datasets.list_datasets(open_workspace(root))


@st.cache_data(max_entries=64, show_spinner=False)
def dataset_versions(root: str, gen: tuple, name: str) -> list[DatasetVersion]:
    """Versions of dataset ``name``, newest first (``datasets.list_versions``). Raises NotFound.
    ``root``: the workspace path; ``gen``: the store generation (:func:`generation`), a cache key
    only."""
    return datasets.list_versions(open_workspace(root), name)


@st.cache_data(max_entries=64, show_spinner=False)
def dataset_profile(root: str, gen: tuple, version: DatasetVersion) -> tuple[ColumnProfile, ...]:
    """The version's column profiles in column order (``datasets.get_profile``). ``root``: the
    workspace path; ``gen``: the store generation (:func:`generation`), a cache key only."""
    return datasets.get_profile(open_workspace(root), version)


@st.cache_data(max_entries=64, show_spinner=False)
def dataset_checks(
    root: str, gen: tuple, version: DatasetVersion
) -> tuple[int | None, list[CheckResult]]:
    """``(contract revision, check results)`` of the version's newest contract check, or ``(None,
    [])`` when never checked (``datasets.get_checks``). ``root``: the workspace path; ``gen``:
    the store generation (:func:`generation`), a cache key only."""
    return datasets.get_checks(open_workspace(root), version)


@st.cache_data(max_entries=64, show_spinner=False)
def dataset_preview(root: str, version: DatasetVersion, page: int, size: int) -> pd.DataFrame:
    """Rows ``page * size`` to ``page * size + size - 1`` (page from 0) of the version, in stored
    order, with its own columns (``datasets.preview``). No generation in the key: versions are
    immutable."""
    # Versions are immutable: a page never changes, so no generation in the key.
    return datasets.preview(open_workspace(root), version, page, size)


@st.cache_data(max_entries=16, show_spinner=False)
def dataset_diff(root: str, reference: str, current: str, key: str | None) -> datasets.DatasetDiff:
    """How ``current`` differs from ``reference`` (two dataset version references such as
    ``churn@v3``), rows matched on ``key`` (None: the contract's key column; ``datasets.diff``).
    Raises NotFound for an unknown version. Not keyed on the generation: versions are immutable."""
    return datasets.diff(open_workspace(root), reference, current, key)


@st.cache_data(max_entries=32, show_spinner=False)
def known_keys(
    root: str, gen: tuple, experiment_ids: tuple[str, ...] | None
) -> dict[str, list[str]]:
    """``{"metrics": [...], "params": [...], "tags": [...]}``: the keys the runs of
    ``experiment_ids`` (None: all) have, sorted (``experiments.known_keys``). ``root``: the
    workspace path; ``gen``: the store generation (:func:`generation`), a cache key only."""
    return experiments.known_keys(open_workspace(root), experiment_ids)


# -- the Models page: every read it makes, once per state of the store (it made about 90
# queries per rerun, one list of versions per dataset among them) -------------------------


@st.cache_data(max_entries=32, show_spinner=False)
def models(root: str, gen: tuple) -> list:
    """Every registered model (``workbench.store.entities.Model``) by name
    (``registry.list_models``). ``root``: the workspace path; ``gen``: the store generation
    (:func:`generation`), a cache key only."""
    from workbench.registry import models as registry

    return registry.list_models(open_workspace(root))


@st.cache_data(max_entries=64, show_spinner=False)
def model_versions(root: str, gen: tuple, name: str) -> list:
    """The versions (``ModelVersion``) of model ``name``, newest first
    (``registry.list_versions``). Raises NotFound or InvalidInput. ``root``: the workspace path;
    ``gen``: the store generation (:func:`generation`), a cache key only."""
    from workbench.registry import models as registry

    return registry.list_versions(open_workspace(root), name)


@st.cache_data(max_entries=64, show_spinner=False)
def alias_history(root: str, gen: tuple, name: str) -> list:
    """Every move (``AliasEvent``) of model ``name``'s aliases, newest first
    (``registry.alias_history``). Raises NotFound. ``root``: the workspace path; ``gen``: the
    store generation (:func:`generation`), a cache key only."""
    from workbench.registry import models as registry

    return registry.alias_history(open_workspace(root), name)


@st.cache_data(max_entries=64, show_spinner=False)
def lineage(root: str, gen: tuple, name: str) -> tuple[list[str], list[tuple[str, str]]]:
    """``(nodes, edges)`` from training dataset versions through runs and model versions to
    prediction dataset versions, for model ``name`` (``registry.lineage``). ``root``: the
    workspace path; ``gen``: the store generation (:func:`generation`), a cache key only."""
    from workbench.registry import models as registry

    return registry.lineage(open_workspace(root), name)


@st.cache_data(max_entries=32, show_spinner=False)
def registrable_runs(root: str, gen: tuple) -> list[tuple[str, str]]:
    """``(run id, label)`` of the finished runs that logged a model, newest first
    (``registry.registrable_runs``). ``root``: the workspace path; ``gen``: the store generation
    (:func:`generation`), a cache key only."""
    from workbench.registry import models as registry

    return registry.registrable_runs(open_workspace(root))


@st.cache_data(max_entries=64, show_spinner=False)
def monitor_status(root: str, gen: tuple, name: str) -> str:
    """The monitor badge text for model ``name`` ("unmonitored", "ok", ...;
    ``workbench.drift.monitoring.status``). ``root``: the workspace path; ``gen``: the store
    generation (:func:`generation`), a cache key only."""
    from workbench.drift import monitoring

    return monitoring.status(open_workspace(root), name)


@st.cache_data(max_entries=32, show_spinner=False)
def monitors(root: str, gen: tuple) -> list:
    """Every drift monitor (``monitoring.Monitor``), by model name (``monitoring.monitors``).
    ``root``: the workspace path; ``gen``: the store generation (:func:`generation`), a cache key
    only."""
    from workbench.drift import monitoring

    return monitoring.monitors(open_workspace(root))


@st.cache_data(max_entries=64, show_spinner=False)
def monitor_events(root: str, gen: tuple, name: str) -> list:
    """Model ``name``'s monitor events (``monitoring.MonitorEvent``), newest first
    (``monitoring.events``). ``root``: the workspace path; ``gen``: the store generation
    (:func:`generation`), a cache key only."""
    from workbench.drift import monitoring

    return monitoring.events(open_workspace(root), name)


@st.cache_data(max_entries=64, show_spinner=False)
def evaluation_choice(root: str, gen: tuple, name: str):
    """``workbench.registry.promotion.evaluation_choice``: the labelled versions and the default
    one."""
    from workbench.registry import promotion

    return promotion.evaluation_choice(open_workspace(root), name)


@st.cache_data(max_entries=32, show_spinner=False)
def version_refs(root: str, gen: tuple, *, predictions: bool = True) -> list[str]:
    """Every dataset version's reference (dataset by dataset, newest first), with or without
    the versions scoring wrote (source "prediction")."""
    return [v.ref for v in all_dataset_versions(root, gen, predictions=predictions)]


@st.cache_data(max_entries=32, show_spinner=False)
def all_dataset_versions(
    root: str, gen: tuple, *, predictions: bool = True
) -> list[DatasetVersion]:
    """Every version of every dataset in one read (``datasets.list_all_versions``)."""
    return datasets.list_all_versions(open_workspace(root), predictions=predictions)


@st.cache_resource(max_entries=64, show_spinner=False)
def runs_grid(
    root: str,
    gen: tuple,
    experiment_ids: tuple[str, ...] | None,
    limit: int,
    query: str,
    order: tuple,
    offset: int,
    lifecycle: str,
    shown: tuple[str, ...],
) -> RunsGrid:
    """The Experiments page's runs table as drawn (``workbench.ui.widgets.display_runs``; the
    columns in ``shown``, or by default every metric and tag and the params that differ
    between the runs shown), converted to Arrow once per generation: the conversion and the
    display formatting were 30 to 60 ms of every rerun of the runs view, which reruns on
    each tick of a run. Kept as one shared object (cache_resource); nothing mutates it."""
    import pyarrow as pa

    from workbench.ui.widgets import display_runs

    table = runs_table(root, gen, experiment_ids, limit, query, order, offset, lifecycle)
    if table.empty:
        return RunsGrid(pa.table({}), (), 0, ())
    view = display_runs(table)
    if shown:
        keep = [
            c
            for c in view.columns
            if c in shown or not c.startswith(("params.", "metrics.", "tags."))
        ]
        view = view[keep]
    elif len(view) > 1:  # by default, params that are the same in every run shown add nothing
        params = [c for c in view.columns if c.startswith("params.")]
        counts = view[params].nunique()
        view = view.drop(columns=counts.index[counts <= 1])
    running = table[table["status"] == "running"] if not table.empty else table
    sweeps = running[running["kind"] == "sweep"]  # the stored kind, never the run's name
    return RunsGrid(
        arrow=pa.Table.from_pandas(view, preserve_index=False),
        run_ids=tuple(table["run_id"].tolist()),
        n_running=len(running),
        running_sweeps=tuple(zip(sweeps["run_id"].tolist(), sweeps["name"].tolist(), strict=True)),
        n_queued=int((table["status"] == "queued").sum()),
    )


@dataclass(frozen=True)
class RunsGrid:
    """One page of the runs table, ready to draw: ``arrow`` (one row per run, in order),
    ``run_ids`` (the same order), how many are running, the running sweeps' (run id,
    name), and how many are queued (launched trials waiting for a worker)."""

    arrow: pa.Table
    run_ids: tuple[str, ...]
    n_running: int
    running_sweeps: tuple[tuple[str, str], ...]
    n_queued: int = 0


# -- figures: built once (plotly's template and validation took about 0.2 s of each Drift
# page rerun). Kept as objects (cache_resource: a pickled figure is validated again when
# it is read back); st.plotly_chart only reads them. A figure is a pure function of what
# it draws. ------------------------------------------------------------------------------


@st.cache_resource(max_entries=256, show_spinner=False)
def distribution_figure(reference: ColumnProfile, current: ColumnProfile):
    """``workbench.drift.render.distribution_figure``, built once per pair of profiles."""
    from workbench.drift import render  # plotly: only when a figure is drawn

    return render.distribution_figure(reference, current)


@st.cache_resource(max_entries=32, show_spinner=False)
def history_figure(timeline: pd.DataFrame):
    """``workbench.drift.render.history_figure``, built once per timeline."""
    from workbench.drift import render

    return render.history_figure(timeline)


# -- the Drift page ----------------------------------------------------------------------------


@st.cache_data(max_entries=256, show_spinner=False)
def dataset_version(root: str, gen: tuple, ref: str) -> DatasetVersion:
    """The dataset version ``ref`` names (``churn@v3``; ``churn``: the latest;
    ``datasets.get_version``). Raises NotFound. ``root``: the workspace path; ``gen``: the store
    generation (:func:`generation`), a cache key only."""
    return datasets.get_version(open_workspace(root), ref)


@st.cache_data(max_entries=32, show_spinner=False)
def newest_version_ref(root: str, gen: tuple) -> str:
    """The reference of the dataset version registered last."""
    return datasets.recent_versions(open_workspace(root), 1)[0].ref


@st.cache_data(max_entries=32, show_spinner=False)
def drift_reports(root: str, gen: tuple) -> list:
    """Every stored drift report (``workbench.drift.results.DriftReport``), newest first
    (``report.list_reports``). ``root``: the workspace path; ``gen``: the store generation
    (:func:`generation`), a cache key only."""
    from workbench.drift import report as reports

    return reports.list_reports(open_workspace(root))


@st.cache_data(max_entries=32, show_spinner=False)
def drift_history(root: str, gen: tuple, model: str) -> pd.DataFrame:
    """Model ``model``'s drift over time, one row per report made with any of its versions,
    oldest first (``report.history``). Columns: ``created_at``, ``report_id``, ``current``,
    ``reference``, ``model_version``, ``verdict``, ``drift_share`` (0..1), ``prediction_effect``,
    ``model_verdict``, ``metric``, ``score``, ``score_lo``, ``score_hi``, ``reference_score``
    (NaN without labels). No columns at all when there is no such report. ``root``: the workspace
    path; ``gen``: the store generation (:func:`generation`), a cache key only."""
    from workbench.drift import report as reports

    return reports.history(open_workspace(root), model)


@st.cache_data(max_entries=64, show_spinner=False)
def champion_version(root: str, gen: tuple, name: str):
    """The version the ``champion`` alias of model ``name`` points at (``registry.get_version``).
    Raises NotFound when there is no such model or alias. ``root``: the workspace path; ``gen``:
    the store generation (:func:`generation`), a cache key only."""
    from workbench.registry import models as registry

    return registry.get_version(open_workspace(root), f"{name}@champion")
