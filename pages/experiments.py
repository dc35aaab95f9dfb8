"""Experiments: launch runs and sweeps, watch them live, filter, sort and page the runs
table, act on selected runs, and compare them."""

import hashlib

import streamlit as st

from workbench.store.errors import NotFound, WorkbenchError
from workbench.team.auth import current_user
from workbench.tracking import experiments
from workbench.ui import compare, data, nav
from workbench.ui.widgets import (
    STATUS_ICONS,
    duration,
    file_size,
    flash_scope,
    lazy_tabs,
    markdown_table,
    markdown_text,
    user_errors,
)

PAGE_SIZES = (50, 200, 1000)  # 50 by default: a page is drawn in the browser at once
SORTABLE = ["started_at", "name", "status"]

st.title("Experiments")


def _runner():
    """workbench.training.runner imports scikit-learn (about 3 s the first time): only when
    needed."""
    from workbench.training import runner

    return runner


def run_details(root: str, gen: tuple, run_id: str, trash_view: bool) -> None:
    """One ticked run: its actions (in the popover beside the table), its name and facts,
    then tabs of which only the open one is drawn: Overview (metrics, params, tags as text),
    Curves (what was logged per step), Evaluation (its charts), Artifacts. A tick must
    answer within 300 ms, and each grid or chart that appears costs the browser 0.15 to
    0.25 s (`bench/bench_pages.py`)."""
    detail = data.run_detail(root, gen, run_id)
    run = detail.run
    with st.popover("Act on 1 selected run", icon=":material/checklist:"):
        _bulk_actions([run_id], trash_view)
        if not trash_view:
            st.divider()
            run_actions(detail)
    st.subheader(f"{STATUS_ICONS.get(run.status, '')} {markdown_text(run.name)}")
    # until a queued run starts, started_at is when it was queued
    when = "queued" if run.status == "queued" else "started"
    st.caption(
        f"Experiment **{markdown_text(detail.experiment_name)}** · {when} "
        f"{run.started_at:%Y-%m-%d %H:%M:%S} UTC by {markdown_text(run.created_by)} · "
        f"{duration(run.duration_s)} · id `{run.run_id}`"
    )
    if run.error:
        st.warning(f"This run {run.status}: {run.error}", icon=":material/report:")
    ws = data.workspace()
    panels = {"Overview": lambda: run_overview(detail)}
    history = compare.charts.stepped(data.curves(root, gen, (run_id,), None, None))
    if not history.empty:  # curves only for what was logged per step (folds, stages, epochs)
        names = {run.run_id: run.name}
        panels["Curves"] = lambda: st.plotly_chart(
            compare.charts.metric_curves(history, names), key=f"curves-{run_id}"
        )
    evaluation = data.evaluations(root, gen, (run_id,)).get(run_id)
    if evaluation:
        panels["Evaluation"] = lambda: evaluation_panel(run_id, evaluation)
    if detail.artifacts:
        panels["Artifacts"] = lambda: artifacts_panel(ws, detail)
    if len(panels) == 1:
        run_overview(detail)
    else:  # the open tab stays open while other runs are ticked (Overview if they lack it)
        lazy_tabs(panels, key="run-tabs")


def run_actions(detail) -> None:
    """What one run allows: cancel it while it is queued or runs, launch it again (a run
    launched from this page: same spec, same seed), register its model once it finished."""
    run = detail.run
    ws = data.workspace()
    if run.status in ("queued", "running") and st.button(
        "Cancel the run", icon=":material/stop_circle:", key=f"cancel-{run.run_id}"
    ):
        with user_errors():
            _runner().cancel(ws, run.run_id)
            st.toast(
                "Cancel requested: the run stops at its next fold or stage (queued, it "
                "never starts)."
            )
    if experiments.can_run_again(run) and st.button(
        "Run again", icon=":material/replay:", key=f"again-{run.run_id}"
    ):
        with user_errors():
            again = _runner().run_again(ws, run.run_id)
            st.toast(f"Launched {len(again.run_ids)} run: same spec, same seed.")
    if any(a.path == "model.joblib" for a in detail.artifacts) and run.status == "finished":
        left, right = st.columns([3, 1], vertical_alignment="bottom")
        model_name = left.text_input(
            "Register its model as", key=f"regname-{run.run_id}", placeholder="churn-classifier"
        )
        if right.button("Register", key=f"register-{run.run_id}", icon=":material/add_box:"):
            from workbench.registry import models as registry

            with user_errors():
                version = registry.register_model(ws, run.run_id, model_name.strip())
                st.toast(f"Registered {version.ref}; see it on the Models page.")


def artifacts_panel(ws, detail) -> None:
    """The run's artifacts, each to download (read from the blob store and verified)."""
    run = detail.run
    for art in detail.artifacts:
        st.download_button(
            f"{art.path} · {file_size(art.size_bytes)}",
            data=lambda sha=art.sha256: ws.blobs.verified_path(sha).read_bytes(),
            file_name=art.path.rsplit("/", 1)[-1],
            key=f"artifact-{run.run_id}-{art.path}",
            icon=":material/download:",
            on_click="ignore",
        )


def run_overview(detail) -> None:
    """A run's metrics (latest, min, max; 6 significant digits) as a text table, and its
    params and tags as lists that wrap."""
    if detail.metrics:
        st.markdown("**Metrics** (latest, min and max over finite values; 6 significant digits)")
        rows = [
            (
                m.key,
                _number(m.last_value),
                m.last_step,
                _number(m.min_value),
                _number(m.max_value),
                m.n_points,
            )
            for m in detail.metrics.values()
        ]
        st.markdown(markdown_table(["metric", "latest", "step", "min", "max", "points"], rows))
    left, right = st.columns(2)
    left.markdown("**Params**")
    left.markdown(
        _pairs({k: repr(v) if isinstance(v, str) else str(v) for k, v in detail.params.items()})
    )
    right.markdown("**Tags**")
    right.markdown(_pairs(detail.tags))


def _pairs(values: dict) -> str:
    """Keys and values as markdown lines (``key``: value), wrapping in a narrow column."""
    if not values:
        return "none"
    return "  \n".join(
        f"`{k}`: {markdown_text(v)}" if "`" not in k else f"{markdown_text(k)}: {markdown_text(v)}"
        for k, v in values.items()
    )


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


def evaluation_panel(run_id: str, evaluation: dict) -> None:
    cols = st.columns(2)
    with cols[0]:
        compare.evaluation_charts(
            {k: v for k, v in evaluation.items() if k in ("confusion_matrix", "residuals")},
            key=f"ev-{run_id}-a",
        )
    with cols[1]:
        compare.evaluation_charts(
            {k: v for k, v in evaluation.items() if k in ("roc", "pr", "feature_importances")},
            key=f"ev-{run_id}-b",
        )


def live_status(root: str, gen: tuple, sweeps: tuple[tuple[str, str], ...]) -> None:
    """Running sweeps on this page (run id, name): trials ended out of all, and a cancel
    button."""
    for run_id, name in sweeps:
        # every trial (no limit), so the counts are of the whole sweep
        kids = data.runs_table(root, gen, None, None, f"parent_run_id = '{run_id}'")
        done = int((~kids["status"].isin(["queued", "running"])).sum()) if not kids.empty else 0
        total = len(kids)
        with st.status(f"{name}: {done} of {total} trials ended", state="running"):
            st.progress(done / max(total, 1))
            counts = kids["status"].value_counts().to_dict() if total else {}
            st.caption(" · ".join(f"{STATUS_ICONS.get(k, '')} {v} {k}" for k, v in counts.items()))
            if st.button(
                "Cancel the sweep", key=f"cancel-sweep-{run_id}", icon=":material/stop_circle:"
            ):
                with user_errors():
                    n = _runner().cancel(data.workspace(), run_id)
                    st.toast(f"Cancel requested for {n} run(s).")


def bulk_actions(selected: list[str], trash_view: bool) -> None:
    """Tag, trash, restore or purge the selected runs: in a popover, whose widgets the browser
    mounts only when it is opened (a tick stays quick)."""
    n = len(selected)
    with st.popover(f"Act on {n} selected run{'' if n == 1 else 's'}", icon=":material/checklist:"):
        _bulk_actions(selected, trash_view)


def _bulk_actions(selected: list[str], trash_view: bool) -> None:
    ws = data.workspace()
    user = current_user()
    # inputs on one row, buttons on the next: five abreast, "Trash" was cut to "Tr…"
    left, right = st.columns(2)
    key = left.text_input("Tag key", key="bulk-tag-key", placeholder="tag key")
    value = right.text_input("Tag value", key="bulk-tag-value", placeholder="value")
    cols = st.columns(3)
    with user_errors():
        if cols[0].button("Tag", key="bulk-tag", icon=":material/sell:"):
            n = experiments.tag_runs(ws, selected, key.strip(), value, user)
            st.toast(markdown_text(f"Tagged {n} run(s) {key}={value}."))
        if not trash_view and cols[1].button("Trash", key="bulk-trash", icon=":material/delete:"):
            n = experiments.trash_runs(ws, selected, user)
            st.session_state["selected_runs"] = []
            st.toast(f"Moved {n} run(s) to the trash; restore them from the trash view.")
        if trash_view and cols[1].button(
            "Restore", key="bulk-restore", icon=":material/restore_from_trash:"
        ):
            n = experiments.restore_runs(ws, selected, user)
            st.session_state["selected_runs"] = []
            st.toast(f"Restored {n} run(s).")
        if trash_view and cols[2].button(
            "Purge", key="bulk-purge", type="primary", icon=":material/delete_forever:"
        ):
            n = experiments.purge_runs(ws, selected, user)
            st.session_state["selected_runs"] = []
            st.toast(f"Purged {n} run(s) and their artifacts for good.")


def runs_view(root: str, experiment_ids: tuple[str, ...] | None) -> None:
    with user_errors():
        _runs_view(root, experiment_ids)


def _runs_view(root: str, experiment_ids: tuple[str, ...] | None) -> None:
    gen = data.generation()
    query = st.session_state.get("runs_query", "").strip()
    lifecycle = "deleted" if st.session_state.get("trash_view") else "active"
    size = st.session_state.get("page_size", PAGE_SIZES[0])
    page = st.session_state.get("runs_page", 1)
    sort, descending = st.session_state.get("sort", ("started_at", True))
    order = ((_sort_field(sort), sort.split(".", 1)[-1], descending),)
    total = data.count_runs(root, gen, experiment_ids, query, lifecycle)
    pages = max((total + size - 1) // size, 1)
    page = min(page, pages)
    shown = tuple(st.session_state.get("shown_columns") or ())
    grid = data.runs_grid(
        root, gen, experiment_ids, size, query, order, (page - 1) * size, lifecycle, shown
    )
    ids = list(grid.run_ids)
    first = (page - 1) * size
    st.caption(
        f"{total:,} run{'' if total == 1 else 's'}"
        + (
            f" · showing {first + 1:,}-{first + len(ids):,} · page {page} of {pages}"
            if pages > 1
            else ""
        )
        + (f" · {_live_counts(grid)}, refreshing live" if grid.n_running or grid.n_queued else "")
        + " · select runs: one shows its details, several are compared"
    )
    live_status(root, gen, grid.running_sweeps)
    if not ids:
        st.info(
            "No runs match."
            if query or lifecycle == "deleted"
            else "No runs in this experiment yet. Launch one above, or log one from a notebook."
        )
        return
    # Selection is positional in st.dataframe, so a run arriving on top would shift it to
    # another run. Key the widget by the run list and carry the selected run ids over.
    remembered = set(st.session_state.get("selected_runs", ()))
    keep_rows = [i for i, run_id in enumerate(ids) if run_id in remembered]
    event = st.dataframe(
        grid.arrow,
        hide_index=True,
        on_select="rerun",
        selection_mode="multi-row",
        key=f"runs-{hashlib.sha1(''.join(ids).encode()).hexdigest()[:12]}",
        selection_default={"selection": {"rows": keep_rows}},
        column_config={"run_id": st.column_config.TextColumn("run id")},
    )
    selected = [ids[i] for i in event.selection.rows if i < len(ids)]
    st.session_state["selected_runs"] = selected
    if not selected:
        return
    if len(selected) == 1:
        try:
            run_details(root, gen, selected[0], lifecycle == "deleted")
        except NotFound:
            st.session_state["selected_runs"] = []
    else:
        bulk_actions(selected, lifecycle == "deleted")
        table = data.runs_table(root, gen, experiment_ids, size, query, order, first, lifecycle)
        compare.compare_view(table, selected)


def _live_counts(grid: data.RunsGrid) -> str:
    counts = [(grid.n_running, "running"), (grid.n_queued, "queued")]
    return ", ".join(f"{n} {what}" for n, what in counts if n)


def _sort_field(sort: str) -> str:
    return sort.split(".", 1)[0] if "." in sort else "attributes"


def controls(root: str, experiment_ids: tuple[str, ...] | None) -> None:
    """Filter, sort, columns and paging (outside the live fragment, so typing is not reset)."""
    gen = data.generation()
    st.text_input(
        "Filter",
        key="runs_query",
        placeholder="metrics.auc > 0.9 and params.max_depth = 8 and tags.owner = 'ana'",
        help="MLflow filter strings, plus OR, parentheses, IS NULL and IN, e.g. "
        "(params.estimator = 'svm' or metrics.f1_macro >= 0.8) and status = 'finished'",
    )
    keys = data.known_keys(root, gen, experiment_ids)
    columns = (
        [f"metrics.{k}" for k in keys["metrics"]]
        + [f"params.{k}" for k in keys["params"]]
        + [f"tags.{k}" for k in keys["tags"]]
    )
    # Few widgets: each one costs the browser time to mount (the page-idle benchmark).
    a, c, t = st.columns([2, 3, 1])
    a.selectbox(
        "Sort by",
        [(c, desc) for c in SORTABLE + columns for desc in (True, False)],
        key="sort",
        format_func=lambda o: f"{o[0]} {'↓' if o[1] else '↑'}",
    )
    c.multiselect(
        "Columns (default: metrics, tags, params that differ)", columns, key="shown_columns"
    )
    t.toggle("Trash", key="trash_view", help="Show runs in the trash (restore or purge them).")
    lifecycle = "deleted" if st.session_state.get("trash_view") else "active"
    query = st.session_state.get("runs_query", "").strip()
    try:
        total = data.count_runs(root, gen, experiment_ids, query, lifecycle)
    except WorkbenchError:
        total = 0  # the runs view shows the filter's error
    if total > PAGE_SIZES[0]:
        d, e, _ = st.columns([1, 1, 4])
        d.selectbox("Per page", PAGE_SIZES, index=0, key="page_size")
        e.number_input("Page", 1, 100_000, 1, key="runs_page")


with user_errors(), flash_scope():
    ws = data.workspace()
    root = str(ws.root)
    if flash := st.session_state.get("flash"):
        st.success(flash)
    summaries = data.experiment_list(root, data.generation())
    by_name = {s.experiment.name: s for s in summaries}
    nav.take_query_param("experiment", "pending_experiment")
    if (pending := st.session_state.pop("pending_experiment", None)) in by_name:
        st.session_state["experiment"] = pending
    choice = st.selectbox("Experiment", [nav.ALL_EXPERIMENTS, *by_name], key="experiment")
    ids = None if choice == nav.ALL_EXPERIMENTS else (by_name[choice].experiment.experiment_id,)
    # A toggle, not an expander: a collapsed expander still builds (and ships) every widget.
    if st.session_state.pop("pending_launch_close", False):
        st.session_state["launch_open"] = False
    if st.toggle("Launch a run or a sweep", value=not summaries, key="launch_open"):
        with st.container(border=True):
            from workbench.ui.launch import launch_form  # scikit-learn, on first use only

            launch_form(choice if choice != nav.ALL_EXPERIMENTS else "Default")
    if not summaries:
        st.info(
            "No experiments yet. Launch a run above, or `wb.start_run(experiment=...)` in "
            "a notebook creates one."
        )
        st.stop()
    controls(root, ids)
    live = any(s.running or s.queued for s in summaries)
    # The fragment reruns on a timer so new runs and points appear while the page is open;
    # reads are cached on the store generation, so an idle tick does not open the database.
    st.fragment(run_every=2.0 if live else 5.0)(runs_view)(root, ids)
