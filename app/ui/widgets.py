"""Small display helpers."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner_utils.exceptions import RerunException

from store.errors import WorkbenchError

# Material icons render everywhere (emoji need a colour-emoji font many Linux boxes lack).
STATUS_ICONS = {
    "running": ":blue[:material/play_circle:]",
    "finished": ":green[:material/check_circle:]",
    "failed": ":red[:material/error:]",
    "killed": ":orange[:material/cancel:]",
    "lost": ":gray[:material/help:]",
}


@contextmanager
def user_errors() -> Iterator[None]:
    """Show a WorkbenchError as a clear message; anything else is a bug and shows as one."""
    try:
        yield
    except WorkbenchError as exc:
        st.error(str(exc), icon=":material/error:")


@contextmanager
def flash_scope() -> Iterator[None]:
    """Around a page's body: the message an action leaves for the next run
    (``st.session_state["flash"]``, read with ``.get``) is forgotten when a run that shows
    it ends, not when it is read. A run interrupted by a newer one (Streamlit raises
    RerunException in it; under load a second rerun can arrive before the browser drew
    the first) keeps the message for the run that replaces it, so a confirmation such as
    "Promoted ... to champion." is never lost."""
    shown = st.session_state.get("flash")
    try:
        yield
    except RerunException:
        raise
    except BaseException:
        _forget(shown)
        raise
    _forget(shown)


def _forget(shown: object) -> None:
    if shown is not None and st.session_state.get("flash") is shown:
        del st.session_state["flash"]


def duration(seconds: float | None) -> str:
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return ""
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def display_runs(table: pd.DataFrame) -> pd.DataFrame:
    """The runs table as shown: duration readable, params and tags as text
    (a column may mix types, e.g. None and 8). Built in one go: a column assignment per
    param costs more than the rest of the page's script (measured with py-spy)."""
    columns: dict[str, object] = {}
    for col in table.columns:
        if col == "duration_s":
            columns["duration"] = [duration(s) for s in table[col].tolist()]
        elif col.startswith(("params.", "tags.")):
            columns[col] = [_text(v) for v in table[col].tolist()]
        else:
            columns[col] = table[col]
    first = ["name", "status", "experiment", "started_at", "duration", "user"]
    rest = [c for c in columns if c not in first and c != "run_id"]
    return pd.DataFrame({c: columns[c] for c in [*first, *rest, "run_id"]}, index=table.index)


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)
