"""Plotly figures built from service results."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from plotly.subplots import make_subplots

PALETTE = px.colors.qualitative.Plotly


def metric_curves(history: pd.DataFrame, run_names: dict[str, str]) -> go.Figure:
    """One panel per metric key, one line per run, value against step."""
    keys = sorted(history["key"].unique())
    cols = min(len(keys), 2) or 1
    rows = (len(keys) + cols - 1) // cols or 1
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=keys, horizontal_spacing=0.08,
                        vertical_spacing=min(0.12, 0.5 / rows))  # fmt: skip
    colors = {rid: PALETTE[i % len(PALETTE)] for i, rid in enumerate(history["run_id"].unique())}
    shown: set[str] = set()
    for i, key in enumerate(keys):
        part = history[history["key"] == key]
        for run_id, points in part.groupby("run_id", sort=False):
            fig.add_trace(
                go.Scatter(x=points["step"], y=points["value"], mode="lines",
                           name=run_names.get(run_id, run_id[:8]), legendgroup=run_id,
                           line={"color": colors[run_id]}, showlegend=run_id not in shown),
                row=i // cols + 1, col=i % cols + 1,
            )  # fmt: skip
            shown.add(run_id)
    fig.update_layout(height=max(300, 260 * rows), margin={"t": 40, "b": 20, "l": 20, "r": 20},
                      hovermode="x unified")  # fmt: skip
    fig.update_xaxes(title_text="step")
    return fig
