"""The router's page list, importable by pages for st.page_link / st.switch_page."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

PAGES_DIR = Path(__file__).resolve().parents[2] / "pages"

HOME = st.Page(PAGES_DIR / "home.py", title="Home", icon=":material/home:", default=True)
EXPERIMENTS = st.Page(PAGES_DIR / "experiments.py", title="Experiments",
                      icon=":material/science:")  # fmt: skip

PAGES = [HOME, EXPERIMENTS]
