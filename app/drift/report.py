"""Drift reports: run one (reference vs current dataset version), store it, list them,
and export one as a self-contained HTML file (plotly inlined, no CDN: it opens offline).

The dataset verdict: "drift" when any column drifts majorly or at least
``SHARE_THRESHOLD`` of the compared columns drift; "no drift" otherwise, or "not enough
evidence" when columns moved materially but the samples are too small to tell; "schema
change" when no column was compared and some were added or removed, "nothing compared"
when no column was compared at all (only ignored or identifier-like ones). The whole
rule, in words, is rendered from the configuration each report stores
(``report.config.rule()``, :class:`workbench.drift.config.DriftConfig`): the page, the
export and ``workbench drift rule --report ID`` show the rule the report ran with.

Reports come back typed (:class:`workbench.drift.results.DriftReport`): the store keeps
plain JSON, and :func:`from_stored` turns its rows back into reports.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from workbench import files
from workbench.datasets import versions as datasets
from workbench.drift import stats as drift
from workbench.drift.config import DEFAULT, DriftConfig
from workbench.drift.results import ColumnDrift, DriftReport
from workbench.listing import Listing, check_limit
from workbench.store import audit
from workbench.store import drift_reports as q
from workbench.store.drift_reports import StoredReport
from workbench.store.entities import utcnow
from workbench.store.errors import InvalidInput, NotFound
from workbench.store.workspace import Workspace
from workbench.team.auth import current_user, requires

SHARE_THRESHOLD = DEFAULT.dataset_share  # today's; a report uses its config's dataset_share


@requires("editor")
def run_report(
    ws: Workspace,
    reference: str | None,
    current: str,
    *,
    model: str | None = None,
    target: str | None = None,
    overrides: Mapping[str, drift.Override] | None = None,
    config: DriftConfig | None = None,
    actor: str | None = None,
) -> DriftReport:
    """Compare two dataset versions from their profiles and store the report with the
    configuration it ran with; returns it as read back (typed).

    With ``model`` (a version or alias ref), also score both versions with it: prediction
    drift, and performance drift where both have the label column (``target``, by default
    the one the model learned). ``reference`` may then be None: the model's training data.
    ``config``: thresholds and per-column rules (default: today's, ``DriftConfig()``);
    ``overrides``: per column, its own method and threshold (``workbench.drift.Override``),
    replacing the config's per-column rules. Raises InvalidInput (a bad pair of versions,
    rule or label) and NotFound (a version or model); nothing is stored then."""
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
    cfg = config or DEFAULT
    if overrides is not None:
        cfg = cfg.with_overrides(overrides)
    ref_v, cur_v = datasets.get_version(ws, reference), datasets.get_version(ws, current)
    if ref_v.ref == cur_v.ref:
        raise InvalidInput(f"Reference and current are both {ref_v.ref}; pick two versions.")
    results = drift.compare(
        datasets.get_profile(ws, ref_v), datasets.get_profile(ws, cur_v), config=cfg
    )
    scored = None
    if model is not None:
        from workbench.drift import model_drift  # scikit-learn: only for a report with a model

        scored = model_drift.model_drift(ws, model, ref_v.ref, cur_v.ref, target, config=cfg)
        # the label is not a feature: its drift is reported apart, beside the model's
        results = [
            replace(r, kind="label")
            if r.column == scored.target and r.kind in ("numeric", "categorical")
            else r
            for r in results
        ]
    verdict, drifted, compared = dataset_verdict(results, cfg)
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
        [r.to_json() for r in results],
        scored.to_json() if scored else None,
        cfg.to_json(),
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
    # as the store gives it back (JSON's lists where Python had tuples): equal to a read
    return from_stored(replace(report, **{k: _json(getattr(report, k)) for k in _JSON_PARTS}))


_JSON_PARTS = ("results", "model", "config")


def _json(value):
    return None if value is None else json.loads(q.to_json(value))


def from_stored(stored: StoredReport) -> DriftReport:
    """The typed report of a stored row (``workbench.store.drift_reports``): results as
    ``ColumnDrift``, the model section as ``ModelDrift``, the configuration as
    ``DriftConfig`` (today's default with ``config_recorded`` False when the row predates
    stored configurations)."""
    return DriftReport.from_json(
        {
            "report_id": stored.report_id,
            "created_at": stored.created_at,
            "created_by": stored.created_by,
            "reference_ref": stored.reference_ref,
            "current_ref": stored.current_ref,
            "model_ref": stored.model_ref,
            "n_columns": stored.n_columns,
            "n_drifted": stored.n_drifted,
            "verdict": stored.verdict,
            "results": stored.results,
            "model": stored.model,
            "config": stored.config,
        }
    )


def dataset_verdict(
    results: Sequence[ColumnDrift], config: DriftConfig | None = None
) -> tuple[str, list, list]:
    """(verdict, drifted columns, compared columns): "drift" when a column drifts majorly
    or ``SHARE_THRESHOLD`` of the compared ones drift; schema changes other than a type
    change, ignored columns and identifier-like ones ("not tested") are not compared. With no
    compared column the verdict is "schema change" (some added or removed) or "nothing
    compared", never "no drift"; a removed column makes it "schema change" unless the data
    drifts. The label column of a report with a model (kind "label")
    is left out: label drift is reported apart (:func:`label_drift`). ``config``: whose
    ``dataset_share`` applies (default: today's)."""
    share = (config or DEFAULT).dataset_share
    results = [r for r in results if r.kind != "label"]
    compared = [
        r
        for r in results
        if (r.kind not in ("schema", "ignored") or r.verdict == "drift")
        and r.verdict != "not tested"
    ]
    drifted = [r for r in results if r.drifted]
    if any(r.verdict == "major drift" for r in results) or (
        compared and len(drifted) / len(compared) >= share
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


def gate_failures(
    verdict: str, results: Sequence[ColumnDrift], degraded: bool = False
) -> list[str]:
    """Why a drift gate (``--fail-on-drift``) fails, as short reasons; empty when it
    passes. It fails on "drift", on a column the reference has and the current lacks (a
    model or a job reading it would break: every peer's schema check fails there), and on
    a ``degraded`` model. An added column passes (nothing that read the reference misses
    it)."""
    reasons = []
    if verdict == "drift":
        reasons.append("the data drifts")
    removed = [r.column for r in results if r.verdict == "removed"]
    if removed:
        reasons.append(f"{len(removed)} column(s) removed: {', '.join(removed[:5])}")
    if degraded:
        reasons.append("the model's performance degraded")
    return reasons


def label_drift(report: DriftReport) -> ColumnDrift | None:
    """The label column's drift result in a report with a model (kind "label"), or None:
    reported apart from the features' drift, beside the model's."""
    return report.label


def summary(n_drifted: int, n_compared: int) -> str:
    """The count behind a dataset verdict, as the page, the CLI and the export print it:
    "2 of 5 columns drifted", or "no column compared (...)" when none was."""
    if n_compared == 0:
        return "no column compared (every column was added, removed, ignored or not tested)"
    return f"{n_drifted:,} of {n_compared:,} columns drifted"


def model_section(report: DriftReport):
    """The report's model part (``workbench.drift.model_drift.ModelDrift``), or None."""
    return report.model


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


def list_reports(ws: Workspace, limit: int | None = None) -> list[DriftReport]:
    """Stored drift reports, newest first: every one, or the newest ``limit``
    (:func:`reports_listing` also says how many there are in all)."""
    rows = ws.store.read(lambda tx: q.recent(tx, check_limit(limit, "limit")))
    return [from_stored(r) for r in rows]


def count_reports(ws: Workspace) -> int:
    """How many drift reports are stored."""
    return ws.store.read(q.count)


def reports_listing(ws: Workspace, limit: int | None = None) -> Listing[DriftReport]:
    """The newest ``limit`` reports (None: all) with the number stored, read together so
    the two agree; ``.note("reports")`` is "showing 20 of 1,005 reports" when cut."""
    limit = check_limit(limit, "limit")
    rows, total = ws.store.read(lambda tx: (q.recent(tx, limit), q.count(tx)))
    return Listing([from_stored(r) for r in rows], total)


def get_report(ws: Workspace, report_id: str) -> DriftReport:
    """The report ``report_id``, typed; NotFound when there is none."""
    found = ws.store.read(lambda tx: q.get(tx, report_id))
    if found is None:
        raise NotFound(f"Drift report {report_id} not found.")
    return from_stored(found)


def export_html(
    ws: Workspace, report_id: str, target: Path | str, *, overwrite: bool = False
) -> Path:
    """One self-contained HTML file: summary, the table, and every drifted column's
    distributions, with plotly's JavaScript inlined. ``target`` must be a new regular file
    (or an existing one with ``overwrite``), in an existing folder; else InvalidInput
    (:func:`workbench.files.check_output_path`). Written whole or not at all."""
    from workbench.drift import render  # plotly: only an export draws

    target = files.check_output_path(target, overwrite=overwrite)
    files.refuse_inside(ws.root, target, "export")
    report = get_report(ws, report_id)
    ref_p = {
        p.name: p for p in datasets.get_profile(ws, datasets.get_version(ws, report.reference_ref))
    }
    cur_p = {
        p.name: p for p in datasets.get_profile(ws, datasets.get_version(ws, report.current_ref))
    }
    figures = [
        render.figure_html(ref_p[r.column], cur_p[r.column])
        for r in report.results
        if r.drifted and r.column in ref_p and r.column in cur_p
    ]
    page = render.page(report, figures, summary(report.n_drifted, report.n_columns))
    return files.write_output(target, lambda tmp: tmp.write_text(page, encoding="utf-8"))


def compare_files(
    reference: Path | str,
    current: Path | str,
    overrides: Mapping[str, drift.Override] | None = None,
    *,
    config: DriftConfig | None = None,
    encoding: str = "utf-8",
) -> list[ColumnDrift]:
    """Drift between two CSV or Parquet files without registering them: each is read and
    profiled in a scratch DuckDB (the same one pass as registration, minus the snapshot
    and the fingerprint), then compared. For a quick look, or files you will not keep.
    ``encoding``: the CSV files' text encoding, as for registration (a byte-order mark
    decides)."""
    from workbench.store import profiles, snapshots

    def profile_of(path: Path) -> tuple:
        # Streaming aggregates over a view need little memory; cap DuckDB's buffers.
        with snapshots.Scratch(memory_limit_mb=192) as scratch:
            label = path.name
            snapshots.readable_file(path)  # missing, a folder, unreadable: say so
            if path.suffix.lower() in datasets.PARQUET_SUFFIXES:
                snapshots.load_parquet(scratch, path, label=label, materialize=False)
            elif path.suffix.lower() in datasets.CSV_SUFFIXES:
                snapshots.load_csv(scratch, path, label=label, encoding=encoding)
            else:
                raise InvalidInput(f"{label}: use a .csv or .parquet file.")
            return profiles.profile(scratch, snapshots.normalize(scratch, label))

    return drift.compare(
        profile_of(Path(reference)), profile_of(Path(current)), overrides, config=config
    )
