"""The router's page list as plain data; ``page()`` builds the st.Page objects at run time
(st.Page needs a running script), for st.navigation, st.page_link and st.switch_page."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

# pages/ is installed as workbench.pages (pyproject's package-dir): found where it is installed.
PAGES_DIR = Path(importlib.util.find_spec("workbench.pages").origin).parent


@dataclass(frozen=True)
class PageSpec:
    """One page of the router as plain data: its ``file`` in ``pages/``, the
    ``title`` and Material ``icon`` shown in the navigation, and whether it is the
    ``default`` page (the one ``/`` opens)."""

    file: str
    title: str
    icon: str
    default: bool = False

    @property
    def path(self) -> Path:
        """The page's file, in the installed ``workbench.pages`` folder."""
        return PAGES_DIR / self.file


START = PageSpec("start.py", "Start here", ":material/flag:")
HOME = PageSpec("home.py", "Home", ":material/home:", default=True)
DATASETS = PageSpec("datasets.py", "Datasets", ":material/dataset:")
EXPERIMENTS = PageSpec("experiments.py", "Experiments", ":material/science:")
MODELS = PageSpec("models.py", "Models", ":material/model_training:")
DRIFT = PageSpec("drift.py", "Drift", ":material/query_stats:")
ADMIN = PageSpec("admin.py", "Admin", ":material/admin_panel_settings:")

PAGES = [START, HOME, DATASETS, EXPERIMENTS, MODELS, DRIFT]

# The Experiments page's selector value meaning "no filter" (Home deep-links with it).
ALL_EXPERIMENTS = "All experiments"


def page(spec: PageSpec) -> st.Page:
    """The ``st.Page`` for ``spec``; only inside a running script (Streamlit needs one)."""
    return st.Page(spec.path, title=spec.title, icon=spec.icon, default=spec.default)


def take_query_param(name: str, state_key: str) -> None:
    """A deep link (``/datasets?dataset=churn``) picks the page's selection once. The
    parameter is then dropped from the URL, so a later choice in the page wins."""
    if name in st.query_params:
        st.session_state[state_key] = st.query_params[name]
        del st.query_params[name]
