"""The Streamlit entrypoint: opens the workspace, starts live ingestion, routes the pages.

Run it with `workbench ui` (or `make run`); pages live in ../pages and stay thin.
"""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from app.ui import data, nav
from app.ui.widgets import user_errors

FAVICON = Path(__file__).with_name("ui") / "favicon.png"

# A local file: a :material/...: page icon is fetched from a CDN, which fails offline.
st.set_page_config(page_title="MLOps Workbench", page_icon=str(FAVICON), layout="wide")

ws = None
with user_errors():
    ws = data.workspace()
if ws is None:
    st.info("Fix the workspace path (WORKBENCH_WORKSPACE or `workbench --workspace`), then reload.")
    st.stop()

watcher = None
if os.environ.get("WORKBENCH_WATCH", "1") != "0":
    watcher = data.start_watcher(str(ws.root))

with st.sidebar:
    st.caption(f"Workspace `{ws.root}`")
    if watcher is not None:
        stats = watcher.stats
        if stats.last_error and stats.errors:
            st.caption(f"Live ingestion: {stats.errors} errors, last: {stats.last_error}")
        else:
            live = f" · {stats.points:,} points picked up live" if stats.points else ""
            st.caption(f"Live ingestion on{live}")

st.navigation([nav.page(spec) for spec in nav.PAGES]).run()
