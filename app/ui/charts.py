"""Plotly figures built from service results."""

from __future__ import annotations

import html
import itertools
import math

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from workbench.store.entities import ColumnProfile

PALETTE = px.colors.qualitative.Plotly


def stepped(history: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``history`` (run_id, key, step, value) whose key has at least two distinct
    steps in some run: a curve. A key logged once per run (a final score) is a value, shown
    in a table or a card, not an empty axis."""
    if history.empty:
        return history
    steps = history.groupby(["run_id", "key"])["step"].nunique()
    keys = set(steps[steps >= 2].index.get_level_values("key"))
    return history[history["key"].isin(keys)].reset_index(drop=True)


def metric_curves(history: pd.DataFrame, run_names: dict[str, str]) -> go.Figure:
    """One panel per metric key, one line per run, value against step. ``run_names`` maps a
    run id to its distinct label. A run with a single point of a key is drawn as a marker
    (a line through one point draws nothing); pass :func:`stepped` history to leave out keys
    that are single values in every run."""
    keys = sorted(history["key"].unique())
    cols = min(len(keys), 2) or 1
    rows = (len(keys) + cols - 1) // cols or 1
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=keys,
        horizontal_spacing=0.08,
        vertical_spacing=min(0.12, 0.5 / rows),
    )
    colors = {rid: PALETTE[i % len(PALETTE)] for i, rid in enumerate(history["run_id"].unique())}
    shown: set[str] = set()
    for i, key in enumerate(keys):
        part = history[history["key"] == key]
        for run_id, points in part.groupby("run_id", sort=False):
            fig.add_trace(
                go.Scatter(
                    x=points["step"],
                    y=points["value"],
                    mode="lines" if points["step"].nunique() > 1 else "markers",
                    name=html.escape(run_names.get(run_id, run_id[:8])),
                    legendgroup=run_id,
                    line={"color": colors[run_id]},
                    marker={"color": colors[run_id]},
                    showlegend=run_id not in shown,
                ),
                row=i // cols + 1,
                col=i % cols + 1,
            )
            shown.add(run_id)
    fig.update_layout(
        height=max(300, 260 * rows),
        margin={"t": 40, "b": 20, "l": 20, "r": 20},
        hovermode="x unified",
    )
    fig.update_xaxes(title_text="step")
    return fig


def column_distribution(profile: ColumnProfile) -> go.Figure:
    """A column's histogram (numbers, dates) or its most frequent values (text, booleans)."""
    if profile.is_numeric and profile.hist_counts:
        edges = list(profile.hist_edges)
        # halves first: (a + b) / 2 overflows for edges near +-1.8e308
        centers = [a / 2 + b / 2 for a, b in itertools.pairwise(edges)]
        widths = [b - a for a, b in itertools.pairwise(edges)]
        x = _axis_values(profile, centers)
        numeric = profile.family in ("integer", "float")
        width = widths if numeric and all(math.isfinite(w) for w in widths) else None
        fig = go.Figure(
            go.Bar(
                x=x,
                y=list(profile.hist_counts),
                width=width,
                marker_color=PALETTE[0],
                name=profile.name,
            )
        )
        fig.update_layout(bargap=0.02, xaxis_title=html.escape(profile.name), yaxis_title="rows")
    else:
        levels = list(profile.top_values[:30])
        counts = list(profile.top_counts[:30])
        if profile.other_count or len(profile.top_values) > 30:
            levels.append("(other)")
            counts.append(profile.other_count + sum(profile.top_counts[30:]))
        fig = go.Figure(
            go.Bar(
                x=counts,
                y=[html.escape(v) for v in levels],
                orientation="h",
                marker_color=PALETTE[0],
            )
        )
        fig.update_layout(yaxis={"autorange": "reversed"}, xaxis_title="rows")
    fig.update_layout(
        height=320,
        margin={"t": 30, "b": 20, "l": 20, "r": 20},
        title=html.escape(f"{profile.name} ({profile.dtype})"),
    )
    return fig


def _axis_values(profile: ColumnProfile, values: list[float]) -> list:
    try:
        if profile.family == "date":
            return [pd.Timestamp("1970-01-01") + pd.Timedelta(days=v) for v in values]
        if profile.family == "timestamp":
            return [pd.Timestamp(v, unit="s") for v in values]
    except (OverflowError, ValueError):  # beyond pandas' years 1677 to 2262: the axis numbers
        return values
    return values
