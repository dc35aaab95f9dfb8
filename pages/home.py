"""Home: what is in the workspace, what ran lately, what changed."""

import streamlit as st

from workbench.ui import data, nav
from workbench.ui.widgets import (
    display_runs,
    markdown_table,
    short_cell,
    user_errors,
    utc_cell,
)
from workbench.workspaces import is_demo

st.title("Home")
if is_demo(data.workspace().root):
    with st.container(border=True):
        st.markdown(
            "This is the **demo workspace**: a churn model's January to April, "
            "seeded from `sample_data/`. The guided path walks through it."
        )
        st.page_link(nav.page(nav.START), label="Start here", icon=":material/flag:")


def open_run(run_id: str) -> None:
    """Show this run on the Experiments page (its selection is keyed by run id)."""
    st.session_state["selected_runs"] = [run_id]
    st.session_state["experiment"] = nav.ALL_EXPERIMENTS
    st.switch_page(nav.page(nav.EXPERIMENTS))


def _models() -> list[tuple[str, int | None, str, str]]:
    from workbench.drift import monitoring
    from workbench.registry import models as registry

    ws = data.workspace()
    out = []
    for m in registry.list_models(ws):
        badge = monitoring.status(ws, m.name)
        out.append((m.name, m.aliases.get("champion"), badge, monitoring.badge_color(badge)))
    return out


@st.fragment(run_every=5.0)
def overview() -> None:
    """The workspace's counts, recent runs, models and recent activity; refreshed every
    5 s."""
    with user_errors():
        ws = data.workspace()
        summary = data.summary(str(ws.root), data.generation())
        by_status = summary.runs_by_status

        cols = st.columns(5)
        cols[0].metric("Experiments", summary.experiments)
        cols[1].metric("Runs", summary.runs)
        queued = by_status.get("queued", 0)  # launched trials waiting for a worker
        cols[2].metric(
            "Running",
            by_status.get("running", 0),
            delta=f"{queued} queued" if queued else None,
            delta_color="off",
        )
        cols[3].metric("Finished", by_status.get("finished", 0))
        cols[4].metric("Failed or lost", summary.failed_or_lost)
        cols = st.columns([1, 1, 2, 1])  # the third label is long: a fifth of the row cut it
        cols[0].metric("Datasets", summary.datasets)
        cols[1].metric("Dataset versions", summary.dataset_versions)
        cols[2].metric("Versions breaking their contract", summary.flagged_versions)
        if summary.datasets:
            with cols[3]:
                st.page_link(
                    nav.page(nav.DATASETS), label="Open Datasets", icon=":material/arrow_forward:"
                )

        st.subheader("Recent runs")
        if summary.recent_runs.empty:
            st.info("No runs yet. Log one from a notebook or script; it shows up here live.")
            st.code(
                "import workbench as wb\n\n"
                'with wb.start_run(experiment="churn", name="rf-baseline") as run:\n'
                '    run.log_params({"n_estimators": 200, "max_depth": 8})\n'
                "    for step in range(50):\n"
                '        run.log_metrics({"loss": 1 / (step + 1)}, step=step)\n',
                language="python",
            )
        else:
            st.caption("Select a run to open it on the Experiments page.")
            recent = summary.recent_runs
            picked = st.dataframe(
                display_runs(recent),
                hide_index=True,
                column_config={"run_id": None},
                on_select="rerun",
                selection_mode="single-row",
                key="recent_runs",
            )
            if picked.selection.rows:
                open_run(recent["run_id"].iloc[picked.selection.rows[0]])
            st.page_link(
                nav.page(nav.EXPERIMENTS),
                label="All runs on the Experiments page",
                icon=":material/arrow_forward:",
            )

        models = _models()
        if models:
            st.subheader("Models")
            st.markdown(
                "  \n".join(
                    f"**{name}** · champion v{champion or '–'} · :{color}-badge[{badge}]"
                    for name, champion, badge, color in models
                )
            )

        st.subheader("Recent activity")
        events = summary.recent_activity
        if not events:
            st.caption("Nothing has happened yet.")
        else:
            if summary.activity_total > len(events):
                st.caption(
                    f"The latest {len(events):,} of {summary.activity_total:,} events; "
                    "the whole log is on the Admin page."
                )
            # A markdown table: a data grid costs each browser ~0.08 CPU-s to mount on every
            # visit (bench/bench_pages.py), and this one is read, never selected.
            st.markdown(
                markdown_table(
                    ["when (UTC)", "who", "action", "object", "id", "detail"],
                    [
                        (
                            utc_cell(e.ts),
                            e.actor,
                            e.action,
                            e.object_type,
                            short_cell(e.object_id, limit=16),
                            short_cell(e.detail),
                        )
                        for e in events
                    ],
                )
            )


overview()
