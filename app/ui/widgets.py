"""Small display helpers."""

from __future__ import annotations

import logging
import math
import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pandas as pd
import streamlit as st
from streamlit.errors import FragmentHandledException
from streamlit.runtime.scriptrunner_utils.exceptions import RerunException

from workbench.settings import Settings
from workbench.store.errors import WorkbenchError

log = logging.getLogger("workbench.ui")

# Material icons render everywhere (emoji need a colour-emoji font many Linux boxes lack).
STATUS_ICONS = {
    "queued": ":violet[:material/schedule:]",
    "running": ":blue[:material/play_circle:]",
    "finished": ":green[:material/check_circle:]",
    "failed": ":red[:material/error:]",
    "killed": ":orange[:material/cancel:]",
    "lost": ":gray[:material/help:]",
}


@contextmanager
def user_errors() -> Iterator[None]:
    """Show a WorkbenchError as a clear message. Any other exception is a bug: the user sees
    a short message with an error id (8 hex digits) and no traceback; the traceback goes to
    the server log (logger ``workbench.ui``, level ERROR) under the same id. In team mode the
    message names nothing of the server (no exception text, which may hold file paths).

    Streamlit's control flow passes through: ``st.stop``/``st.rerun`` raise BaseException
    subclasses, and FragmentHandledException means Streamlit has already shown the error."""
    try:
        yield
    except WorkbenchError as exc:  # it quotes what the user typed: shown as written
        st.error(markdown_text(exc), icon=":material/error:")
    except FragmentHandledException:
        raise
    except Exception as exc:
        st.error(markdown_text(unexpected_error_message(exc)), icon=":material/error:")


def unexpected_error_message(exc: BaseException) -> str:
    """Log ``exc`` with its traceback under a fresh error id and return the short message a
    user sees instead (no traceback; in team mode no exception text either)."""
    error_id = secrets.token_hex(4)
    log.error("error id %s: unexpected %s", error_id, type(exc).__name__, exc_info=exc)
    message = (
        f"Something went wrong (error id {error_id}). This is a bug in the workbench, "
        "not in what you did;"
    )
    try:
        team = Settings.from_env().team
    except Exception:  # a bad setting: say as little as team mode would
        team = True
    if team:
        return (
            f"{message} an admin finds the details in the server log under this id. "
            "Reload the page to go on."
        )
    detail = f"{type(exc).__name__}: {exc}"
    detail = detail if len(detail) <= 200 else detail[:199] + "…"
    return (
        f"{message} the traceback is in the server log (the terminal running "
        f"`workbench ui`) under this id. ({detail})"
    )


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


def lazy_tabs(panels: dict[str, Callable[[], None]], key: str) -> str:
    """Tabs that run only the open tab's panel: ``panels`` maps each tab label to a function
    drawing its content (inside ``user_errors``, so one failing panel does not blank the
    page). Returns the open tab's label.

    The tabs are keyed and stateful (``st.tabs(..., on_change="rerun")`` of Streamlit 1.67):
    the open tab survives reruns, also when a message above the tabs appears or goes (an
    unkeyed tab bar is redrawn with its first tab open), and switching tabs reruns the page,
    so a hidden tab costs nothing. The open tab is ``st.session_state[key]``; setting it
    before a run opens that tab (how AppTest, which cannot click a tab, opens one)."""
    tabs = st.tabs(list(panels), key=key, on_change="rerun")
    opened = next(label for label, tab in zip(panels, tabs, strict=True) if tab.open)
    with tabs[list(panels).index(opened)], user_errors():
        panels[opened]()
    return opened


# Every ASCII character that markdown (CommonMark, GitHub tables), Streamlit's own markup
# (``:red[...]``, ``:material/icon:``, emoji shortcodes) or its LaTeX (``$``) could read as
# markup. CommonMark lets a backslash escape any ASCII punctuation.
_MARKUP = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|~:$&=^\"'])")


def markdown_text(value: object) -> str:
    """``value`` as literal text inside ``st.markdown``: every markup character escaped with
    a backslash, line breaks turned into spaces. A run's param ``$x$`` or a tag
    ``:red[gone]`` is shown as written, never as LaTeX or coloured text."""
    return _MARKUP.sub(r"\\\1", " ".join(str(value).splitlines()))


def code_text(value: object) -> str:
    """``value`` as inline code in markdown (a name, a column): in backticks, or escaped
    text when it holds a backtick itself."""
    text = " ".join(str(value).splitlines())
    return f"`{text}`" if "`" not in text else markdown_text(text)


def markdown_table(columns: list[str], rows: list[tuple]) -> str:
    """A small table as markdown text for ``st.markdown`` (every cell escaped, see
    :func:`markdown_text`; None shows empty).

    Why not ``st.dataframe``: each data grid that appears on a click costs the browser
    about 0.15 to 0.2 s to mount (measured in chromium, `bench/bench_pages.py`), and a
    run's details held three; a markdown table costs about 0.01 s."""
    head = "| " + " | ".join(markdown_text(c) for c in columns) + " |"
    rule = "| " + " | ".join("---" for _ in columns) + " |"
    body = [
        "| " + " | ".join("" if v is None else markdown_text(v) for v in row) + " |" for row in rows
    ]
    return "\n".join([head, rule, *body])


def duration(seconds: float | None) -> str:
    """Seconds as a short text: ``"25 ms"`` under a second (a quick run read "0.0 s"),
    ``"12.3 s"`` under a minute, ``"4.5 min"`` under an hour, else ``"2.0 h"``; ``""`` for
    None or NaN."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return ""
    seconds = float(seconds)
    if seconds < 0.9995:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def utc_cell(ts) -> str:
    """A naive-UTC datetime for a markdown table cell, ``2026-11-30 21:23:34``, whose date
    a narrow column cannot break (its hyphens are non-breaking, U+2011): at most two lines,
    the date over the time."""
    return f"{ts:%Y-%m-%d}".replace("-", "\u2011") + f" {ts:%H:%M:%S}"


def short_cell(value: object, limit: int = 60, word: int = 16) -> str:
    """``value`` as one line of at most ``limit`` characters for a table cell, each word
    (a run of characters without a space) cut to ``word`` characters, cuts marked "…". A
    markdown table is as wide as its longest unbreakable words: a JSON detail with a
    32-digit report id pushed Home's activity past the page's right edge."""
    words = [w if len(w) <= word else w[: word - 1] + "…" for w in str(value).split()]
    text = " ".join(words)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def file_size(n_bytes: int) -> str:
    """Bytes as people read them, in binary units: "812 B", "20.8 KiB", "3.1 MiB"."""
    if n_bytes < 1024:
        return f"{n_bytes} B"
    units, size = ["KiB", "MiB", "GiB", "TiB"], n_bytes / 1024
    while size >= 1024 and len(units) > 1:
        size, units = size / 1024, units[1:]
    return f"{size:.1f} {units[0]}"


def display_runs(table: pd.DataFrame) -> pd.DataFrame:
    """The runs table as shown: duration readable, params and tags as text
    (a column may mix types, e.g. None and 8). ``kind`` (run, sweep, trial) follows the
    name when a sweep or a trial is among the runs, and is left out when every run is a
    plain run. Built in one go: a column assignment per param costs more than the rest of
    the page's script (measured with py-spy)."""
    columns: dict[str, object] = {}
    for col in table.columns:
        if col == "duration_s":
            columns["duration"] = [duration(s) for s in table[col].tolist()]
        elif col.startswith(("params.", "tags.")):
            columns[col] = [_text(v) for v in table[col].tolist()]
        elif col == "kind" and not (table[col] != "run").any():
            continue  # only plain runs: the column would say "run" on every row
        else:
            columns[col] = table[col]
    first = [
        c
        for c in ("name", "kind", "status", "experiment", "started_at", "duration", "user")
        if c in columns
    ]
    rest = [c for c in columns if c not in first and c != "run_id"]
    return pd.DataFrame({c: columns[c] for c in [*first, *rest, "run_id"]}, index=table.index)


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)
