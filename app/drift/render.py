"""Drawing drift: the overlaid distributions of a column, a model's drift history, and the
HTML export's page (jinja2 templates in ``templates/``, autoescaped, plotly.js inlined so the
file opens offline). Pure functions of profiles and typed reports: no store access.
Figures carry their own template and colours (see ``TEMPLATE``)."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

from workbench.drift import stats as drift
from workbench.drift.results import DriftReport
from workbench.store.entities import ColumnProfile

TEMPLATES = Path(__file__).parent / "templates"  # jinja2 templates of the HTML export
# Figures carry their own template and colours: importing Streamlit makes its theme the
# process-wide default (plotly.io.templates.default = "streamlit"), whose colours are
# placeholders (#000001...) that only Streamlit's browser code replaces, so a figure built
# in the app and exported as HTML came out near-black. Colour-blind-safe pair (Tableau 10).
TEMPLATE = "plotly_white"
REFERENCE_COLOR = "#4c78a8"  # blue
CURRENT_COLOR = "#f58518"  # orange
# room for tick labels and axis titles (automargin grows it when labels are longer)
MARGIN = {"t": 40, "b": 60, "l": 70, "r": 20}


def _readable(fig: go.Figure) -> go.Figure:
    """``fig`` with an explicit template and margins that fit its axis titles."""
    fig.update_layout(template=TEMPLATE, margin=MARGIN)
    fig.update_xaxes(automargin=True, title_standoff=8)
    fig.update_yaxes(automargin=True, title_standoff=8)
    return fig


def distribution_figure(ref: ColumnProfile, cur: ColumnProfile) -> go.Figure:
    """Reference and current overlaid: for numbers, dates and timestamps, the share of rows
    in each of 30 bins spanning both sides' range (each side's mass read off its quantile
    function; a date against a timestamp on the timestamp axis, ``drift.on_one_axis``), so
    a current lying outside the reference's range is drawn where it is; dates on a date
    axis. Level shares for categories (a boolean's levels as True / False, :func:`level_text`).
    Reference in blue, current in orange, on an explicit template (the same in the app, in
    an HTML export and from plain Python)."""
    import numpy as np

    fig = go.Figure()
    ref, cur = drift.on_one_axis(ref, cur)
    if ref.is_numeric and cur.is_numeric and ref.quantiles and cur.quantiles:
        lo = min(ref.quantiles[0], cur.quantiles[0])
        hi = max(ref.quantiles[-1], cur.quantiles[-1])
        if not hi > lo:  # one value on both sides: one bin around it
            lo, hi = lo - 0.5, hi + 0.5
        # halves first: (lo + hi) stays finite for values near +-1.8e308
        edges = lo + (np.linspace(0, 1, 31) * (hi / 2 - lo / 2)) * 2
        centers = edges[:-1] / 2 + edges[1:] / 2

        def shares(p: ColumnProfile) -> np.ndarray:
            q = np.asarray(p.quantiles, float)
            probs = np.linspace(0, 1, len(q))
            cdf = np.interp(edges, q, probs, left=0.0, right=1.0)
            cdf[0], cdf[-1] = 0.0, 1.0  # the edges span every value of both sides
            return np.diff(cdf)

        x = _axis_values(ref.family, centers)
        fig.add_bar(x=x, y=shares(ref), name="reference", opacity=0.6, marker_color=REFERENCE_COLOR)
        fig.add_bar(x=x, y=shares(cur), name="current", opacity=0.6, marker_color=CURRENT_COLOR)
        fig.update_layout(barmode="overlay", yaxis_title="share of rows")
    else:
        levels = list(dict.fromkeys([*ref.top_values[:20], *cur.top_values[:20]]))
        booleans = ref.family == cur.family == "boolean"
        # plotly reads <b>, <i>, <a> in text
        shown = [html.escape(level_text(v) if booleans else v) for v in levels]
        ra = dict(zip(ref.top_values, ref.top_counts, strict=True))
        rb = dict(zip(cur.top_values, cur.top_counts, strict=True))
        ta, tb = max(ref.count, 1), max(cur.count, 1)
        fig.add_bar(
            x=shown,
            y=[ra.get(v, 0) / ta for v in levels],
            name="reference",
            marker_color=REFERENCE_COLOR,
        )
        fig.add_bar(
            x=shown,
            y=[rb.get(v, 0) / tb for v in levels],
            name="current",
            marker_color=CURRENT_COLOR,
        )
        fig.update_layout(barmode="group", yaxis_title="share of rows")
    fig.update_layout(height=340, title=html.escape(ref.name), xaxis_title=html.escape(ref.name))
    return _readable(fig)


BOOLEAN_LEVELS = {"true": "True", "false": "False"}


def level_text(level: str) -> str:
    """A boolean column's level as the data holds it: ``True`` / ``False`` (as pandas, the
    model's classes and the performance line write them), not the profile's text of a
    BOOLEAN (``'true'`` / ``'false'``, DuckDB's cast); other text unchanged."""
    return BOOLEAN_LEVELS.get(level, level)


def _axis_values(family: str, values) -> list:
    """Bin centres on a column's axis as a chart shows them: dates and timestamps as
    datetimes (the axis is days since 1970-01-01, or seconds), numbers as they are."""
    import pandas as pd

    try:
        if family == "date":
            return [pd.Timestamp("1970-01-01") + pd.Timedelta(days=float(v)) for v in values]
        if family == "timestamp":
            return [pd.Timestamp(float(v), unit="s") for v in values]
    except (OverflowError, ValueError):  # beyond pandas' years 1677 to 2262: the numbers
        pass
    return [float(v) for v in values]


def figure_html(ref: ColumnProfile, cur: ColumnProfile) -> str:
    """One column's overlaid distributions as a plotly ``<div>`` (no plotly.js inside)."""
    return pio.to_html(distribution_figure(ref, cur), full_html=False, include_plotlyjs=False)


def page(report: DriftReport, figures: list[str], summary: str) -> str:
    """The export's page (one HTML document, str) from ``templates/report.html.j2``
    (jinja2, autoescaped): the ``summary`` line (``workbench.drift.report.summary``), the
    table, then ``figures`` (one plotly ``<div>`` each, from :func:`figure_html`). The
    rule is the report's own (``report.config.rule()``), noted when it was not recorded."""
    import jinja2  # only an export needs it

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters |= {
        "g4": lambda x: f"{x:.4g}",
        "f4": lambda x: f"{x:.4f}",
        "thousands": lambda x: f"{x:,}",
        "p": drift.format_p,
    }
    section = report.model
    return env.get_template("report.html.j2").render(
        report=report,
        summary=summary,
        plotly_js=get_plotlyjs(),
        figures=figures,
        section=section,
        label=report.label,
        model_rule=report.config.model_rule(),
        model_figures=[
            figure_html(ref, cur) for ref, cur in (section.profiles.values() if section else [])
        ],
    )


def history_figure(timeline: pd.DataFrame) -> go.Figure:
    """A model's drift over successive dataset versions (``history()``): the share of
    drifted columns as bars; the model's score on each version with its 95 % interval."""
    from plotly.subplots import make_subplots

    fig = make_subplots(specs=[[{"secondary_y": True}]])
    x = [
        f"{c} ({t:%m-%d %H:%M})"
        for c, t in zip(timeline["current"], timeline["created_at"], strict=True)
    ]
    fig.add_bar(
        x=x,
        y=timeline["drift_share"],
        name="share of columns drifted",
        opacity=0.5,
        marker_color="#7f9fbf",
    )
    scored = timeline["score"].notna()
    if scored.any():
        t = timeline[scored]
        fig.add_scatter(
            x=[v for v, keep in zip(x, scored, strict=True) if keep],
            y=t["score"],
            name=f"{t['metric'].iloc[0]} (95% interval)",
            mode="lines+markers",
            error_y={
                "type": "data",
                "symmetric": False,
                "array": t["score_hi"] - t["score"],
                "arrayminus": t["score"] - t["score_lo"],
            },
            secondary_y=True,
            line_color="#d6612b",
        )
        fig.add_scatter(
            x=[v for v, keep in zip(x, scored, strict=True) if keep],
            y=t["reference_score"],
            name="on the reference",
            mode="lines",
            line={"dash": "dash", "color": "#999"},
            secondary_y=True,
        )
        fig.update_yaxes(title_text=t["metric"].iloc[0], secondary_y=True)
    fig.update_yaxes(title_text="share drifted", range=[0, 1], secondary_y=False)
    fig.update_layout(
        height=360, legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0}
    )
    return _readable(fig)
