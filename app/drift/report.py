"""Drift reports: run one (reference vs current dataset version), store it, list them,
and export one as a self-contained HTML file (plotly inlined, no CDN: it opens offline).

The dataset verdict: "drift" when any column drifts majorly or at least
``SHARE_THRESHOLD`` of the compared columns drift; "no drift" otherwise, or "not enough
evidence" when columns moved materially but the samples are too small to tell; "schema
change" when no column was compared and some were added or removed, "nothing compared"
when no column was compared at all (only ignored or identifier-like ones). The whole
rule, in words: ``workbench.drift.stats.RULE`` (shown on the page, in the export and by
``workbench drift rule``).
"""

from __future__ import annotations

import html
import uuid
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

from workbench import files
from workbench.datasets import versions as datasets
from workbench.drift import stats as drift
from workbench.listing import Listing, check_limit
from workbench.store import audit
from workbench.store import drift_reports as q
from workbench.store.drift_reports import StoredReport
from workbench.store.entities import ColumnProfile, utcnow
from workbench.store.errors import InvalidInput, NotFound
from workbench.store.workspace import Workspace
from workbench.team.auth import current_user, requires

SHARE_THRESHOLD = drift.DATASET_SHARE
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


@requires("editor")
def run_report(
    ws: Workspace,
    reference: str | None,
    current: str,
    *,
    model: str | None = None,
    target: str | None = None,
    overrides: dict[str, drift.Override] | None = None,
    actor: str | None = None,
) -> StoredReport:
    """Compare two dataset versions from their profiles and store the report.

    With ``model`` (a version or alias ref), also score both versions with it: prediction
    drift, and performance drift where both have the label column (``target``, by default
    the one the model learned). ``reference`` may then be None: the model's training data.
    ``overrides``: per column, its own method and threshold (``workbench.drift.stats.Override``)."""
    if target is not None and model is None:
        raise InvalidInput(
            f"A label column ({target!r}) is used only to score a model's "
            "performance; pick a model too (--model NAME@ALIAS), or leave the "
            "label out."
        )
    if reference is None:
        if model is None:
            raise InvalidInput(
                "Pick a reference version (or a model, to compare with the data it was trained on)."
            )
        from workbench.registry import models as registry

        reference = registry.get_version(ws, model).dataset_ref
        if reference is None:
            raise InvalidInput(f"{model} records no training dataset; pick a reference version.")
    ref_v, cur_v = datasets.get_version(ws, reference), datasets.get_version(ws, current)
    if ref_v.ref == cur_v.ref:
        raise InvalidInput(f"Reference and current are both {ref_v.ref}; pick two versions.")
    results = drift.compare(
        datasets.get_profile(ws, ref_v), datasets.get_profile(ws, cur_v), overrides
    )
    scored = None
    if model is not None:
        from workbench.drift import model_drift  # scikit-learn: only for a report with a model

        scored = model_drift.model_drift(ws, model, ref_v.ref, cur_v.ref, target)
        # the label is not a feature: its drift is reported apart, beside the model's
        results = [
            replace(r, kind="label")
            if r.column == scored.target and r.kind in ("numeric", "categorical")
            else r
            for r in results
        ]
    verdict, drifted, compared = dataset_verdict(results)
    report = StoredReport(
        uuid.uuid4().hex,
        utcnow(),
        actor or current_user(),
        ref_v.ref,
        cur_v.ref,
        scored.model_ref if scored else None,
        len(compared),
        len(drifted),
        verdict,
        [asdict(r) for r in results],
        scored.to_json() if scored else None,
    )

    def work(tx) -> None:
        q.insert(tx, report)
        detail = {
            "reference": ref_v.ref,
            "current": cur_v.ref,
            "verdict": verdict,
            "drifted": len(drifted),
        }
        if scored is not None:
            detail |= {"model": scored.model_ref, "model_verdict": scored.verdict}
        audit.record(
            tx,
            actor=report.created_by,
            action="drift.report",
            object_type="report",
            object_id=report.report_id,
            detail=detail,
        )

    ws.store.write(work)
    return report


def dataset_verdict(results: list[drift.ColumnDrift]) -> tuple[str, list, list]:
    """(verdict, drifted columns, compared columns): "drift" when a column drifts majorly
    or ``SHARE_THRESHOLD`` of the compared ones drift; schema changes other than a type
    change, ignored columns and identifier-like ones ("not tested") are not compared. With no
    compared column the verdict is "schema change" (some added or removed) or "nothing
    compared", never "no drift"; a removed column makes it "schema change" unless the data
    drifts. The label column of a report with a model (kind "label")
    is left out: label drift is reported apart (:func:`label_drift`)."""
    results = [r for r in results if r.kind != "label"]
    compared = [
        r
        for r in results
        if (r.kind not in ("schema", "ignored") or r.verdict == "drift")
        and r.verdict != "not tested"
    ]
    drifted = [r for r in results if r.drifted]
    if any(r.verdict == "major drift" for r in results) or (
        compared and len(drifted) / len(compared) >= SHARE_THRESHOLD
    ):
        return "drift", drifted, compared
    if any(r.verdict == "removed" for r in results):  # a reader of that column breaks
        return "schema change", drifted, compared
    if any(r.verdict == "not enough evidence" for r in results):
        return "not enough evidence", drifted, compared
    if not compared:  # nothing was compared: never "no drift"
        if any(r.verdict in ("added", "removed") for r in results):
            return "schema change", drifted, compared
        return "nothing compared", drifted, compared
    return "no drift", drifted, compared


def gate_failures(verdict: str, results: list[dict], degraded: bool = False) -> list[str]:
    """Why a drift gate (``--fail-on-drift``) fails, as short reasons; empty when it
    passes. It fails on "drift", on a column the reference has and the current lacks (a
    model or a job reading it would break: every peer's schema check fails there), and on
    a ``degraded`` model. ``results`` are columns as stored (dicts); an added column
    passes (nothing that read the reference misses it)."""
    reasons = []
    if verdict == "drift":
        reasons.append("the data drifts")
    removed = [r["column"] for r in results if r["verdict"] == "removed"]
    if removed:
        reasons.append(f"{len(removed)} column(s) removed: {', '.join(removed[:5])}")
    if degraded:
        reasons.append("the model's performance degraded")
    return reasons


def label_drift(report: StoredReport) -> dict | None:
    """The label column's drift result in a report with a model (a dict as stored, kind
    "label"), or None: reported apart from the features' drift, beside the model's."""
    return next((r for r in report.results if r["kind"] == "label"), None)


def summary(n_drifted: int, n_compared: int) -> str:
    """The count behind a dataset verdict, as the page, the CLI and the export print it:
    "2 of 5 columns drifted", or "no column compared (...)" when none was."""
    if n_compared == 0:
        return "no column compared (every column was added, removed, ignored or not tested)"
    return f"{n_drifted:,} of {n_compared:,} columns drifted"


def model_section(report: StoredReport):
    """The report's model part as ``workbench.drift.model_drift.ModelDrift``, or None."""
    if report.model is None:
        return None
    from workbench.drift.model_drift import ModelDrift

    return ModelDrift.from_json(report.model)


def history(ws: Workspace, model: str) -> pd.DataFrame:
    """A model's drift over time: one row per report made with any version of ``model``,
    oldest first: the current version, the share of drifted columns, the prediction drift
    effect and the performance with its interval (NaN without labels)."""
    rows = []
    for r in reversed(list_reports(ws)):
        if r.model_ref is None or r.model_ref.split("/")[0] != model:
            continue
        section = model_section(r)
        perf = section.performance if section else None
        preds = section.predictions if section else []
        rows.append(
            {
                "created_at": r.created_at,
                "report_id": r.report_id,
                "current": r.current_ref,
                "reference": r.reference_ref,
                "model_version": r.model_ref,
                "verdict": r.verdict,
                "drift_share": r.n_drifted / max(r.n_columns, 1),
                "prediction_effect": max((p.effect for p in preds), default=float("nan")),
                "model_verdict": section.verdict if section else "",
                "metric": perf.metric if perf else "",
                "score": perf.current if perf else np.nan,
                "score_lo": perf.current_interval[0] if perf else np.nan,
                "score_hi": perf.current_interval[1] if perf else np.nan,
                "reference_score": perf.reference if perf else np.nan,
            }
        )
    return pd.DataFrame(rows)


def list_reports(ws: Workspace, limit: int | None = None) -> list[StoredReport]:
    """Stored drift reports, newest first: every one, or the newest ``limit``
    (:func:`reports_listing` also says how many there are in all)."""
    return ws.store.read(lambda tx: q.recent(tx, check_limit(limit, "limit")))


def count_reports(ws: Workspace) -> int:
    """How many drift reports are stored."""
    return ws.store.read(q.count)


def reports_listing(ws: Workspace, limit: int | None = None) -> Listing[StoredReport]:
    """The newest ``limit`` reports (None: all) with the number stored, read together so
    the two agree; ``.note("reports")`` is "showing 20 of 1,005 reports" when cut."""
    limit = check_limit(limit, "limit")
    return ws.store.read(lambda tx: Listing(q.recent(tx, limit), q.count(tx)))


def get_report(ws: Workspace, report_id: str) -> StoredReport:
    found = ws.store.read(lambda tx: q.get(tx, report_id))
    if found is None:
        raise NotFound(f"Drift report {report_id} not found.")
    return found


def distribution_figure(ref: ColumnProfile, cur: ColumnProfile) -> go.Figure:
    """Reference and current overlaid: for numbers, dates and timestamps, the share of rows
    in each of 30 bins spanning both sides' range (each side's mass read off its quantile
    function; a date against a timestamp on the timestamp axis, ``drift.on_one_axis``), so
    a current lying outside the reference's range is drawn where it is; dates on a date
    axis. Level shares for categories. Reference in blue, current in orange, on an explicit
    template (the same in the app, in an HTML export and from plain Python)."""
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
        shown = [html.escape(v) for v in levels]  # plotly reads <b>, <i>, <a> in text
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


def export_html(
    ws: Workspace, report_id: str, target: Path | str, *, overwrite: bool = False
) -> Path:
    """One self-contained HTML file: summary, the table, and every drifted column's
    distributions, with plotly's JavaScript inlined. ``target`` must be a new regular file
    (or an existing one with ``overwrite``), in an existing folder; else InvalidInput
    (:func:`workbench.files.check_output_path`). Written whole or not at all."""
    target = files.check_output_path(target, overwrite=overwrite)
    files.refuse_inside(ws.root, target, "export")
    report = get_report(ws, report_id)
    ref_p = {
        p.name: p for p in datasets.get_profile(ws, datasets.get_version(ws, report.reference_ref))
    }
    cur_p = {
        p.name: p for p in datasets.get_profile(ws, datasets.get_version(ws, report.current_ref))
    }
    rows = "".join(
        f"<tr><td>{html.escape(r['column'])}</td><td>{html.escape(r['verdict'])}</td>"
        f"<td>{r['effect']:.4g}</td><td>{html.escape(r['method'])}</td>"
        f"<td>{html.escape(drift.format_p(r['p_value']))}</td>"
        f"<td>{r['n_reference']:,} / {r['n_current']:,}</td>"
        f"<td>{html.escape(r['sentence'])}</td></tr>"
        for r in report.results
    )
    figures = []
    for r in report.results:
        name = r["column"]
        if r["verdict"] in ("drift", "major drift") and name in ref_p and name in cur_p:
            fig = distribution_figure(ref_p[name], cur_p[name])
            figures.append(pio.to_html(fig, full_html=False, include_plotlyjs=False))
    figures.append(_model_html(model_section(report), label_drift(report)))
    page = f"""<!doctype html><html><head><meta charset="utf-8">
<title>Drift report {html.escape(report.current_ref)} vs {html.escape(report.reference_ref)}</title>
<script>{get_plotlyjs()}</script>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}</style></head><body>
<h1>Drift report</h1>
<p><b>{html.escape(report.verdict)}</b>: {summary(report.n_drifted, report.n_columns)}.
Reference <code>{html.escape(report.reference_ref)}</code>, current
<code>{html.escape(report.current_ref)}</code>, made {report.created_at:%Y-%m-%d %H:%M} UTC by
{html.escape(report.created_by)}.</p>
<p>{html.escape(drift.RULE)}</p>
<table><tr><th>column</th><th>verdict</th><th>effect</th><th>method</th><th>p</th>
<th>n (ref / cur)</th><th>what changed</th></tr>{rows}</table>
{"".join(figures)}
</body></html>"""
    return files.write_output(target, lambda tmp: tmp.write_text(page, encoding="utf-8"))


def _model_html(section, label: dict | None = None) -> str:
    if section is None:
        return ""
    esc = html.escape
    out = [f"<h2>Model <code>{esc(section.model_ref)}</code>: {esc(section.verdict)}</h2>"]
    if label is not None:
        out.append(
            f"<p>Label <code>{esc(label['column'])}</code> (apart from the features): "
            f"<b>{esc(label['verdict'])}</b>. {esc(label['sentence'])}</p>"
        )
    perf = section.performance
    if perf is not None:
        out.append(
            f"<p>Performance <b>{esc(perf.verdict)}</b>: {esc(perf.sentence)}. "
            f"95% intervals: reference [{perf.reference_interval[0]:.4f}, "
            f"{perf.reference_interval[1]:.4f}] on {perf.n_reference:,} rows, current "
            f"[{perf.current_interval[0]:.4f}, {perf.current_interval[1]:.4f}] on "
            f"{perf.n_current:,} rows.</p>"
        )
    if section.note:
        out.append(f"<p>{esc(section.note)}</p>")
    rows = "".join(
        f"<tr><td>{esc(p.column)}</td><td>{esc(p.verdict)}</td>"
        f"<td>{p.effect:.4g}</td><td>{esc(drift.format_p(p.p_value))}</td>"
        f"<td>{esc(p.sentence)}</td></tr>"
        for p in section.predictions
    )
    out.append(
        "<table><tr><th>prediction</th><th>verdict</th><th>effect</th><th>p</th>"
        f"<th>what changed</th></tr>{rows}</table>"
    )
    for ref, cur in section.profiles.values():
        out.append(
            pio.to_html(distribution_figure(ref, cur), full_html=False, include_plotlyjs=False)
        )
    return "".join(out)


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


def compare_files(
    reference: Path | str,
    current: Path | str,
    overrides: dict[str, drift.Override] | None = None,
    *,
    encoding: str = "utf-8",
) -> list:
    """Drift between two CSV or Parquet files without registering them: each is read and
    profiled in a scratch DuckDB (the same one pass as registration, minus the snapshot
    and the fingerprint), then compared. For a quick look, or files you will not keep.
    ``encoding``: the CSV files' text encoding, as for registration (a byte-order mark
    decides)."""
    from workbench.store import profiles, snapshots

    def profile_of(path: Path) -> tuple:
        with snapshots.Scratch() as scratch:
            # Streaming aggregates over a view need little memory; cap DuckDB's buffers.
            scratch.sql("SET memory_limit = '192MB'")
            label = path.name
            snapshots.readable_file(path)  # missing, a folder, unreadable: say so
            if path.suffix.lower() in datasets.PARQUET_SUFFIXES:
                snapshots.load_parquet(scratch, path, label=label, materialize=False)
            elif path.suffix.lower() in datasets.CSV_SUFFIXES:
                snapshots.load_csv(scratch, path, label=label, encoding=encoding)
            else:
                raise InvalidInput(f"{label}: use a .csv or .parquet file.")
            return profiles.profile(scratch, snapshots.normalize(scratch, label))

    return drift.compare(profile_of(Path(reference)), profile_of(Path(current)), overrides)
