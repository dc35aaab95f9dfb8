"""Comparing selected runs, and one run's evaluation charts."""

from __future__ import annotations

import math

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from workbench.tracking.compare import best_per_metric, metric_direction
from workbench.ui import charts, data
from workbench.ui.widgets import markdown_text

MAX_TRACES = 200
SIDE_BY_SIDE = 4
ZOOM_FROM = 200  # steps: wider histories are downsampled (store.history), so offer a zoom


def run_labels(table: pd.DataFrame) -> dict[str, str]:
    """A distinct label for each run id of ``table`` (columns ``run_id`` and ``name``): the
    run's name, with its short id added when another run in the table has the same name (a
    run launched twice, a Quickstart run again), or its full id if short ids collide too.
    Everything that shows several runs keys them by these labels, never by bare names."""
    ids = table["run_id"].astype(str).tolist()
    names = table["name"].map(_text).tolist() if "name" in table else [""] * len(ids)
    counts = pd.Series(names).value_counts()
    labels = {
        rid: f"{name} · {rid[:8]}" if counts[name] > 1 or not name else name
        for rid, name in zip(ids, names, strict=True)
    }
    if len(set(labels.values())) < len(labels):
        labels = {rid: f"{name} · {rid}" for rid, name in zip(ids, names, strict=True)}
    return labels


def _by_run(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` indexed by each run's distinct label (see :func:`run_labels`)."""
    labels = run_labels(table)
    return table.set_axis(pd.Index(table["run_id"].astype(str).map(labels), name="run"))


def param_diff(table: pd.DataFrame) -> pd.DataFrame:
    """Params whose values differ across the runs: one row per param, one column per run
    (labelled by :func:`run_labels`, so same-named runs stay apart)."""
    cols = [c for c in table.columns if c.startswith("params.")]
    differing = [c for c in cols if table[c].map(_text).nunique(dropna=False) > 1]
    out = _by_run(table)[differing].map(_text).T
    out.index = [c.removeprefix("params.") for c in out.index]
    return out


def metric_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per metric: the best run (its label, see :func:`run_labels`) and value, and the min,
    max and mean: ``workbench.tracking.compare.best_per_metric`` (which way is better is
    its rule) laid out as a table."""
    labels = run_labels(table)
    rows = [
        {
            "metric": best.metric,
            "better": "higher" if best.higher_is_better else "lower",
            "best run": labels[best.run_id],
            "best": best.value,
            "min": best.min,
            "max": best.max,
            "mean": best.mean,
            "runs": best.runs,
        }
        for best in best_per_metric(table)
    ]
    return pd.DataFrame(rows)


def direction_notes(table: pd.DataFrame) -> list[str]:
    """Why a metric's declared direction was set aside (runs that disagree), one line each."""
    return [
        f"{b.metric}: {b.decided_by}"
        for b in best_per_metric(table)
        if b.decided_by not in ("name", "declared")
    ]


def styled_metrics(table: pd.DataFrame) -> pd.io.formats.style.Styler:
    """Runs (by label, see :func:`run_labels`) x latest metrics, the best value of each
    metric highlighted (``workbench.tracking.compare.higher_is_better`` says which)."""
    cols = [c for c in table.columns if c.startswith("metrics.")]
    frame = _by_run(table)[cols].rename(columns=lambda c: c.removeprefix("metrics."))
    styler = frame.style.format(precision=4)
    for col in frame.columns:
        if metric_direction(table, col)[0]:
            styler = styler.highlight_max(subset=[col], color="#c7ecc9")
        else:
            styler = styler.highlight_min(subset=[col], color="#c7ecc9")
    return styler


def parallel_coordinates(table: pd.DataFrame, metric: str) -> tuple[go.Figure | None, int]:
    """A plotly parallel-coordinates figure of the runs in ``table`` (the runs table:
    ``params.<key>`` and ``metrics.<key>`` columns, one row per run) and how many runs it
    leaves out. Axes: each param with a numeric value (bools as 0/1, numeric text parsed) in
    at least two runs that differs between them, then ``metrics.<metric>``; lines coloured
    by that metric (Viridis). A run lacking a value on one of those axes is left out, never
    drawn at a made-up value. The figure is None when fewer than two axes or two runs
    qualify, or ``table`` has no ``metrics.<metric>`` column."""
    target = f"metrics.{metric}"
    if target not in table.columns:
        return None, len(table)
    columns = [c for c in table.columns if c.startswith("params.")] + [target]
    values = {c: pd.to_numeric(table[c].map(_number), errors="coerce") for c in columns}
    axes = [c for c in columns if values[c].notna().sum() >= 2 and values[c].nunique() > 1]
    if len(axes) < 2 or target not in axes:
        return None, 0
    complete = pd.concat([values[c] for c in axes], axis=1).notna().all(axis=1)
    if complete.sum() < 2:
        return None, int((~complete).sum())
    dims = [{"label": c.split(".", 1)[1], "values": values[c][complete]} for c in axes]
    fig = go.Figure(
        go.Parcoords(
            line={"color": values[target][complete], "colorscale": "Viridis", "showscale": True},
            dimensions=dims,
        )
    )
    fig.update_layout(height=380, margin={"t": 40, "b": 20, "l": 60, "r": 60})
    return fig, int((~complete).sum())


def logged_only(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` (runs table rows: ``params.<key>`` and ``metrics.<key>`` columns) without
    the param and metric columns none of its rows has a value in. The runs table of a page
    has a column for every key any run on it logged; the runs compared show only their own
    (a metric no selected run logged is not a row of "None")."""
    empty = [
        c
        for c in table.columns
        if c.startswith(("params.", "metrics.")) and not table[c].notna().any()
    ]
    return table.drop(columns=empty)


def scatter_points(table: pd.DataFrame, param: str, metric: str) -> pd.DataFrame:
    """The rows of ``table`` that have both ``params.<param>`` and ``metrics.<metric>``
    (the points a param-against-metric chart can draw), with the param as numbers when every
    one of those values reads as a number (bools as 0/1), so the axis is ordered by value;
    as text otherwise. Empty when no row has both (or a column is missing)."""
    x, y = f"params.{param}", f"metrics.{metric}"
    if x not in table.columns or y not in table.columns:
        return table.iloc[0:0]
    points = table[table[x].notna() & pd.to_numeric(table[y], errors="coerce").notna()]
    numbers = points[x].map(_number)
    if not points.empty and numbers.notna().all():
        points = points.assign(**{x: numbers.astype(float)})
    return points


def compare_view(table: pd.DataFrame, run_ids: list[str]) -> None:
    """The comparison of the selected runs (2 to 1,000), keyed by run id (two runs may share
    a name): the params that differ, each metric's best run, the runs x metrics table, a
    parallel-coordinates chart, one param against one metric, the curves and the evaluation
    charts. Only the params and metrics the selected runs logged are listed and offered
    (``table`` is the page's runs table, with columns for keys other runs logged); a chart
    with nothing to draw is replaced by a caption saying why."""
    root, gen = str(data.workspace().root), data.generation()
    chosen = logged_only(table[table["run_id"].isin(run_ids)].reset_index(drop=True))
    names = run_labels(chosen)
    chosen = chosen.assign(run=chosen["run_id"].map(names))
    st.subheader(f"Compare {len(chosen)} runs")
    diff = param_diff(chosen)
    left, right = st.columns(2)
    with left:
        st.markdown("**Params that differ**")
        if diff.empty:
            st.caption("All params are the same.")
        else:
            st.dataframe(diff, key="cmp-params")
    with right:
        st.markdown("**Metrics**: best of each highlighted")
        summary = metric_summary(chosen)
        if not summary.empty:
            st.dataframe(summary, hide_index=True, key="cmp-summary")
        for note in direction_notes(chosen):
            st.caption(note)
    if len(chosen) <= 50:
        st.dataframe(styled_metrics(chosen), key="cmp-metrics")
    metrics = [c.removeprefix("metrics.") for c in chosen.columns if c.startswith("metrics.")]
    if not metrics:
        return
    preferred = next((i for i, m in enumerate(metrics) if m in ("roc_auc", "accuracy", "r2")), 0)
    metric = st.selectbox("Metric", metrics, key="cmp-metric", index=preferred)
    fig, left_out = parallel_coordinates(chosen, metric)
    if fig is not None:
        st.plotly_chart(fig, key="cmp-parcoords")
    elif not left_out:
        st.caption(
            f"No parallel coordinates for {markdown_text(metric)}: they need it and a numeric "
            "param that "
            "both differ between at least two of these runs."
        )
    if left_out:
        st.caption(
            f"{left_out:,} of {len(chosen):,} runs lack a value on one of these axes and are "
            "not drawn."
        )
    params = [c.removeprefix("params.") for c in chosen.columns if c.startswith("params.")]
    if params:
        drawable = [p for p in params if not scatter_points(chosen, p, metric).empty]
        # first a param that differs and has points, then any with points, then the first
        start = next((p for p in drawable if p in diff.index), drawable[0] if drawable else None)
        x = st.selectbox(
            "Param against the metric",
            params,
            key=f"cmp-scatter-param-{metric}",  # another metric starts on a param it can draw
            index=params.index(start) if start is not None else 0,
        )
        points = scatter_points(chosen, x, metric)
        if points.empty:
            st.caption(
                f"No selected run logged both the param {markdown_text(x)} and the metric "
                f"{markdown_text(metric)}: "
                "nothing to draw. Pick another param or metric."
            )
        else:
            scatter = px.scatter(
                points, x=f"params.{x}", y=f"metrics.{metric}", hover_name="run", color="status"
            )
            scatter.update_layout(
                height=320,
                margin={"t": 20, "b": 20, "l": 20, "r": 20},
                xaxis_title=x,
                yaxis_title=metric,
            )
            st.plotly_chart(scatter, key="cmp-scatter")
            if len(points) < len(chosen):
                st.caption(
                    f"{len(chosen) - len(points):,} of {len(chosen):,} runs lack "
                    f"{markdown_text(x)} or {markdown_text(metric)} and are not drawn."
                )
    traced = run_ids[:MAX_TRACES]
    keys = (metric,) if len(traced) > 20 else None
    curves = charts.stepped(data.curves(root, gen, tuple(traced), keys, None))
    if curves.empty:
        st.caption(
            "No metric of these runs was logged at more than one step, so there are no "
            "curves: their values are in the tables above."
        )
    else:
        lo, hi = int(curves["step"].min()), int(curves["step"].max())
        if hi - lo > ZOOM_FROM:  # downsampled: a narrower range is refetched at full detail
            span = st.slider(
                "Steps (narrow to refetch at full detail)",
                lo,
                hi,
                (lo, hi),
                key=f"cmp-steps-{lo}-{hi}",
            )
            if span != (lo, hi):
                curves = charts.stepped(data.curves(root, gen, tuple(traced), keys, span))
        if len(run_ids) > MAX_TRACES:
            st.caption(f"Curves of the first {MAX_TRACES} selected runs.")
        st.plotly_chart(charts.metric_curves(curves, names), key="cmp-curves")
    evaluation_side_by_side(data.evaluations(root, gen, tuple(run_ids[:SIDE_BY_SIDE])), names)


def evaluation_side_by_side(evals: dict[str, dict], names: dict[str, str]) -> None:
    """Draw the stored evaluation charts (:func:`evaluation_charts`) of several runs in columns
    side by side. ``evals``: ``{run_id: evaluation data}`` as ``workbench.ui.data.evaluations``
    returns it; ``names``: ``{run_id: label}`` for the captions (the first 8 characters of the id
    when absent). Draws nothing for an empty ``evals``."""
    if not evals:
        return
    st.markdown("**Evaluation** (first runs selected)")
    cols = st.columns(len(evals))
    for col, (rid, ev) in zip(cols, evals.items(), strict=True):
        with col:
            st.caption(names.get(rid, rid[:8]))
            evaluation_charts(ev, key=f"cmp-{rid}")


def evaluation_charts(ev: dict, key: str) -> None:
    """Confusion matrix, ROC and PR curves, residuals and feature importances, as stored."""
    if "confusion_matrix" in ev:
        cm = ev["confusion_matrix"]
        fig = px.imshow(
            cm["matrix"],
            x=cm["labels"],
            y=cm["labels"],
            text_auto=True,
            color_continuous_scale="Blues",
            labels={"x": "predicted", "y": "actual", "color": "rows"},
        )
        fig.update_layout(
            height=300,
            margin={"t": 30, "b": 10, "l": 10, "r": 10},
            title="Confusion matrix",
            coloraxis_showscale=False,
        )
        st.plotly_chart(fig, key=f"{key}-cm")
    if "roc" in ev:
        roc, pr = ev["roc"], ev.get("pr", {})
        fig = go.Figure(go.Scatter(x=roc["fpr"], y=roc["tpr"], name="ROC", mode="lines"))
        if pr:
            fig.add_trace(go.Scatter(x=pr["recall"], y=pr["precision"], name="PR", mode="lines"))
        fig.add_trace(
            go.Scatter(
                x=[0, 1],
                y=[0, 1],
                mode="lines",
                name="chance",
                line={"dash": "dot", "color": "#999"},
            )
        )
        fig.update_layout(
            height=300,
            margin={"t": 30, "b": 10, "l": 10, "r": 10},
            title=f"ROC and PR (positive: {roc.get('positive', '')})",
            xaxis_title="FPR / recall",
            yaxis_title="TPR / precision",
        )
        st.plotly_chart(fig, key=f"{key}-roc")
    if "residuals" in ev:
        r = ev["residuals"]
        fig = px.scatter(
            x=r["y_true"],
            y=[p - t for p, t in zip(r["y_pred"], r["y_true"], strict=True)],
            labels={"x": "actual", "y": "predicted - actual"},
        )
        fig.update_layout(
            height=300, margin={"t": 30, "b": 10, "l": 10, "r": 10}, title="Residuals"
        )
        st.plotly_chart(fig, key=f"{key}-res")
    if ev.get("feature_importances"):
        imp = ev["feature_importances"]
        top = list(imp.items())[:15]
        fig = go.Figure(go.Bar(x=[v for _, v in top], y=[k for k, _ in top], orientation="h"))
        fig.update_layout(
            height=320,
            margin={"t": 30, "b": 10, "l": 10, "r": 10},
            title="Feature importances",
            yaxis={"autorange": "reversed"},
        )
        st.plotly_chart(fig, key=f"{key}-imp")


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None
