"""Small display helpers."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd
import streamlit as st

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
