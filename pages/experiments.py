"""Experiments: the runs table, live while runs execute; select runs to see their curves."""

import hashlib

import pandas as pd
import streamlit as st

from app.ui import charts, data, nav
from app.ui.widgets import STATUS_ICONS, display_runs, duration, user_errors

PAGE_SIZE = 1000

st.title("Experiments")


def run_details(root: str, gen: tuple, run_id: str) -> None:
    detail = data.run_detail(root, gen, run_id)
    run = detail.run
    st.subheader(f"{STATUS_ICONS.get(run.status, '')} {run.name}")
    st.caption(
        f"Experiment **{detail.experiment_name}** · started {run.started_at:%Y-%m-%d %H:%M:%S} "
        f"UTC by {run.created_by} · {duration(run.duration_s)} · id `{run.run_id}`"
    )
    if run.error:
        st.warning(f"This run {run.status}: {run.error}", icon=":material/report:")
    left, mid, right = st.columns(3)
    with left:
        st.markdown("**Params**")
        params = pd.DataFrame({"param": list(detail.params),
                               "value": [repr(v) if isinstance(v, str) else str(v)
                                         for v in detail.params.values()]})  # fmt: skip
        st.dataframe(params, hide_index=True)
    with mid:
        st.markdown("**Metrics** (latest, min, max over finite values)")
        metrics = pd.DataFrame(
            [(m.key, m.last_value, m.last_step, m.min_value, m.max_value, m.n_points)
             for m in detail.metrics.values()],
            columns=["metric", "latest", "step", "min", "max", "points"],
        )  # fmt: skip
        st.dataframe(metrics, hide_index=True)
    with right:
        st.markdown("**Tags**")
        st.dataframe(pd.DataFrame({"tag": list(detail.tags), "value": list(detail.tags.values())}),
                     hide_index=True)  # fmt: skip
        if detail.artifacts:
            st.markdown("**Artifacts**")
            ws = data.workspace()
            for art in detail.artifacts:
                st.download_button(
                    f"{art.path} ({art.size_bytes:,} bytes)",
                    data=lambda sha=art.sha256: ws.blobs.verified_path(sha).read_bytes(),
                    file_name=art.path.rsplit("/", 1)[-1],
                    key=f"artifact-{run.run_id}-{art.path}",
                    icon=":material/download:",
                )


def runs_view(root: str, experiment_ids: tuple[str, ...] | None) -> None:
    with user_errors():
        _runs_view(root, experiment_ids)


def _runs_view(root: str, experiment_ids: tuple[str, ...] | None) -> None:
    gen = data.generation()
    table = data.runs_table(root, gen, experiment_ids, PAGE_SIZE)
    running = int((table["status"] == "running").sum()) if not table.empty else 0
    shown = f"newest {PAGE_SIZE:,} runs" if len(table) == PAGE_SIZE else f"{len(table):,} runs"
    st.caption(
        shown
        + (f" · {running} running, refreshing live" if running else "")
        + " · select rows to see their metric curves"
    )
    if table.empty:
        st.info("No runs in this experiment yet.")
        return
    # Selection is positional in st.dataframe, so a run arriving on top would shift it to
    # another run. Key the widget by the run list and carry the selected run ids over.
    ids = table["run_id"].tolist()
    remembered = set(st.session_state.get("selected_runs", ()))
    keep = [i for i, run_id in enumerate(ids) if run_id in remembered]
    event = st.dataframe(
        display_runs(table), hide_index=True, on_select="rerun", selection_mode="multi-row",
        key=f"runs-{hashlib.sha1(''.join(ids).encode()).hexdigest()[:12]}",
        selection_default={"selection": {"rows": keep}},
        column_config={"run_id": st.column_config.TextColumn("run id")},
    )  # fmt: skip
    selected = [ids[i] for i in event.selection.rows if i < len(ids)]
    st.session_state["selected_runs"] = selected
    if not selected:
        return
    names = dict(zip(table["run_id"], table["name"], strict=True))
    history = data.metric_history(root, gen, tuple(selected))
    st.subheader("Metric curves")
    if history.empty:
        st.caption("The selected runs have logged no metrics yet.")
    else:
        st.plotly_chart(charts.metric_curves(history, names), key="curves")
    if len(selected) == 1:
        run_details(root, gen, selected[0])


with user_errors():
    ws = data.workspace()
    root = str(ws.root)
    summaries = data.experiment_list(root, data.generation())
    if not summaries:
        st.info("No experiments yet. `wb.start_run(experiment=...)` in a notebook creates one.")
        st.stop()
    by_name = {s.experiment.name: s for s in summaries}
    choice = st.selectbox("Experiment", [nav.ALL_EXPERIMENTS, *by_name], key="experiment")
    ids = None if choice == nav.ALL_EXPERIMENTS else (by_name[choice].experiment.experiment_id,)
    live = any(s.running for s in summaries)
    # The fragment reruns on a timer so new runs and points appear while the page is open;
    # reads are cached on the store generation, so an idle tick does not open the database.
    st.fragment(run_every=2.0 if live else 5.0)(runs_view)(root, ids)
