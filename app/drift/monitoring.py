"""Monitoring and the retraining loop.

A monitor watches one model on one dataset: when a new version of the dataset arrives in
its inbox folder (watch mode: the app's watcher, or `workbench sync`), ``on_new_version``
runs a drift report of the new version against the champion's training data, with the
champion (prediction drift, and performance drift where the new version has labels).
When a rule fires (the report's verdict is "drift"; at least ``drift_share`` of the
columns drift; or, when set, the champion's metric is worse by more than
``max_performance_drop`` of its reference score, with the change's bootstrap interval
clear of 0), it retrains: the champion's own run spec on the new version, registered as
``challenger``, then champion versus challenger through the promotion gate on the rows of
the new version the challenger was not fitted on (its run's hold-out: judging it on its own
training rows would favour it every time). The promotion waits for a click unless the
monitor has ``auto_promote``; even then the gate refuses training data.
Every step is recorded: the drift report, the run, the model version, the alias moves
(audit log and alias history) and a monitor event linking them.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace

from workbench.drift import report as reports
from workbench.registry import models as registry
from workbench.store import audit, drift_reports
from workbench.store import monitors as store_monitors
from workbench.store.entities import DatasetVersion, utcnow
from workbench.store.errors import InvalidInput, NotFound, WorkbenchError
from workbench.store.monitors import Monitor, MonitorEvent
from workbench.store.workspace import Workspace
from workbench.team.auth import current_user, requires
from workbench.validation import check_dataset_name

log = logging.getLogger(__name__)


@requires("editor")
def set_monitor(
    ws: Workspace,
    model: str,
    dataset: str,
    target: str,
    *,
    drift_share: float = 0.25,
    auto_promote: bool = False,
    max_performance_drop: float | None = None,
    actor: str | None = None,
) -> Monitor:
    """Watch registered model ``model`` on dataset ``dataset`` (one monitor per model: an
    existing one is replaced), with ``target`` its label column. Rules: retrain when the report's
    verdict is "drift" or at least ``drift_share`` (a share in (0, 1], default 0.25) of the
    compared columns drift, or, when ``max_performance_drop`` is set (a share of the reference
    score in (0, 1), e.g. 0.05), when performance is "degraded" by more than that.
    ``auto_promote``: let the gate promote the retrained challenger without a click. ``actor``:
    recorded as its creator (default: the current user). Audited as ``monitor.set``; returns the
    stored :class:`Monitor`. Raises NotFound when the model has no ``champion`` alias,
    InvalidInput for a bad dataset name or share, PermissionDenied for a user below editor."""
    registry.get_version(ws, f"{model}@champion")  # a monitor needs a champion to guard
    dataset = check_dataset_name(dataset)
    if not 0 < drift_share <= 1:
        raise InvalidInput(f"drift_share must be in (0, 1]; got {drift_share}.")
    if max_performance_drop is not None and not 0 < max_performance_drop < 1:
        raise InvalidInput(
            "max_performance_drop is a share of the reference score in (0, 1), "
            f"e.g. 0.05 for 5 %; got {max_performance_drop}."
        )
    monitor = Monitor(
        model,
        dataset,
        target,
        float(drift_share),
        bool(auto_promote),
        utcnow(),
        actor or current_user(),
        max_performance_drop,
    )

    def work(tx) -> None:
        store_monitors.put(tx, monitor)
        audit.record(
            tx,
            actor=monitor.created_by,
            action="monitor.set",
            object_type="model",
            object_id=model,
            detail={
                "dataset": dataset,
                "target": target,
                "drift_share": drift_share,
                "max_performance_drop": max_performance_drop,
                "auto_promote": auto_promote,
            },
        )

    ws.store.write(work)
    return monitor


def monitors(ws: Workspace, dataset: str | None = None) -> list[Monitor]:
    """Every monitor (or those watching ``dataset``), by model name."""
    return ws.store.read(lambda tx: store_monitors.monitors(tx, dataset))


def events(ws: Workspace, model: str | None = None, limit: int | None = None) -> list[MonitorEvent]:
    """A model's (or every model's) monitor events, newest first: all of them, or the
    newest ``limit`` (:func:`count_events` says how many there are in all)."""
    return ws.store.read(lambda tx: store_monitors.events(tx, model, limit))


def count_events(ws: Workspace, model: str | None = None) -> int:
    """How many monitor events ``model`` (or every model) has."""
    return ws.store.read(lambda tx: store_monitors.count_events(tx, model))


def status(ws: Workspace, model: str) -> str:
    """A badge for the model: "unmonitored"; "ok" (no check yet, or the last one did not
    fire); after a retraining, what the aliases say now: "retrained and promoted" while
    champion points at the retrained version (promoted by the monitor, the gate or an
    override), "drift: challenger waiting" while only ``challenger`` does, "drift:
    challenger set aside" when neither does; else the last event's action ("error")."""
    if not any(m.model == model for m in monitors(ws)):
        return "unmonitored"
    last = events(ws, model, 1)
    if not last:
        return "ok"
    action, retrained = last[0].action, last[0].detail.get("challenger")
    if action not in ("retrained", "promoted") or not retrained:
        return {
            "none": "ok",
            "retrained": "drift: challenger waiting",
            "promoted": "retrained and promoted",
        }.get(action, action)
    if _points_at(ws, model, registry.PROTECTED_ALIAS) == retrained:
        return "retrained and promoted"
    if _points_at(ws, model, "challenger") == retrained:
        return "drift: challenger waiting"
    return "drift: challenger set aside"


# The colour of each badge where one is drawn (Streamlit's badge colours): calm for "ok",
# grey for no monitor, orange for anything that asks for a look.
BADGE_COLORS = {"ok": "green", "unmonitored": "gray"}


def badge_color(status_text: str) -> str:
    """The colour a :func:`status` badge is drawn in: green "ok", gray "unmonitored",
    orange anything else (drift, a waiting challenger, an error)."""
    return BADGE_COLORS.get(status_text, "orange")


def _points_at(ws: Workspace, model: str, alias: str) -> str | None:
    """The version ref ``model@alias`` names now, or None when the alias is not set."""
    try:
        return registry.get_version(ws, f"{model}@{alias}").ref
    except NotFound:
        return None


def on_new_version(ws: Workspace, version: DatasetVersion) -> list[MonitorEvent]:
    """Check every monitor watching this version's dataset (the watch-mode hook)."""
    out = []
    for monitor in monitors(ws, version.dataset_name):
        try:
            out.append(check(ws, monitor, version))
        except WorkbenchError as exc:
            log.warning("monitor %s on %s: %s", monitor.model, version.ref, exc)
            out.append(_record(ws, monitor, version.ref, None, False, "error", {"error": str(exc)}))
    return out


def check(ws: Workspace, monitor: Monitor, version: DatasetVersion) -> MonitorEvent:
    """Run ``monitor``'s rules on dataset version ``version`` and record the outcome as a
    :class:`MonitorEvent` (also audited as ``monitor.<action>``): a drift report of ``version``
    against the champion's training version, with the champion; when a rule fires,
    :func:`retrain` (action ``retrained`` or ``promoted``), else action ``none`` (also when the
    champion was trained on this very version: then no report is made). The event's ``detail``
    holds the verdict, drifted count and share, the performance figures when labelled, and the
    retraining's outcome. Raises NotFound when the model has no champion or the champion records
    no training dataset, and what the report and retraining raise (InvalidInput,
    PermissionDenied, StoreBusy); :func:`on_new_version` turns such errors into an ``error``
    event."""
    champion = registry.get_version(ws, f"{monitor.model}@champion")
    if champion.dataset_ref is None:
        raise NotFound(f"{champion.ref} records no training dataset; drift cannot be checked.")
    if champion.dataset_ref == version.ref:
        return _record(
            ws,
            monitor,
            version.ref,
            None,
            False,
            "none",
            {"reason": "the champion was trained on this version"},
        )
    report = reports.run_report(
        ws,
        champion.dataset_ref,
        version.ref,
        model=champion.ref,
        target=monitor.target,
        actor="monitor",
    )
    share = report.n_drifted / max(report.n_columns, 1)
    detail = {"verdict": report.verdict, "drifted": report.n_drifted, "share": share}
    fired = report.verdict == "drift" or share >= monitor.drift_share
    section = reports.model_section(report)
    perf = section.performance if section else None
    if perf is not None:
        detail |= {
            "metric": perf.metric,
            "reference_score": perf.reference,
            "current_score": perf.current,
            "performance_drop": perf.drop_share,
            "performance": perf.verdict,
        }
        if (
            monitor.max_performance_drop is not None
            and perf.verdict == "degraded"
            and perf.drop_share > monitor.max_performance_drop
        ):
            fired = True
            detail["rule"] = f"performance drop above {monitor.max_performance_drop:.0%}"
    if not fired:
        return _record(ws, monitor, version.ref, report.report_id, False, "none", detail)
    detail |= retrain(
        ws,
        monitor.model,
        version.ref,
        monitor.target,
        report.report_id,
        actor="monitor",
        auto_promote=monitor.auto_promote,
    )
    action = "promoted" if detail["promoted"] else "retrained"
    return _record(ws, monitor, version.ref, report.report_id, True, action, detail)


@requires("editor")
def retrain(
    ws: Workspace,
    model: str,
    dataset_ref: str,
    target: str,
    report_id: str | None,
    *,
    actor: str | None = None,
    auto_promote: bool = False,
) -> dict:
    """The champion's run spec on ``dataset_ref`` (with a hold-out: a k-fold spec becomes
    a hold-out of its ``test_size``), registered as ``challenger``, compared with the
    champion on the rows of that version the challenger was not fitted on (its run's
    hold-out) through the gate; promoted only when ``auto_promote`` and the gate allows it,
    never on either model's training data. Returns what happened, for the record."""
    # Retraining fits and scores models: scikit-learn is imported here, not with the module
    # (the Home page reads monitor badges through it, and a badge needs no estimator).
    from workbench.registry import promotion
    from workbench.training import runner

    actor = actor or current_user()
    champion = registry.get_version(ws, f"{model}@champion")
    spec = replace(runner.run_spec(ws, champion.run_id), dataset=dataset_ref)
    if spec.validation != "holdout":  # k-fold refits on every row: none would be left unseen
        spec = replace(spec, validation="holdout")
    launch = runner.launch(
        ws,
        spec,
        experiment=f"{model}-retraining",
        name=f"retrain on {dataset_ref}",
        user=actor,
        wait=True,
    )
    run = launch.run_ids[0]
    tags = {"retrained_on": dataset_ref} | ({"drift_report": report_id} if report_id else {})
    challenger = registry.register_model(ws, run, model, actor=actor, tags=tags)
    registry.set_alias(
        ws,
        model,
        "challenger",
        challenger.version,
        actor=actor,
        reason=f"retrained after drift on {dataset_ref}",
    )
    # On the new version the comparison keeps only the challenger's hold-out (the rows it
    # was not fitted on; promotion.compare), and the gate refuses training data outright.
    comparison = promotion.compare(ws, model, dataset_ref, target)
    verdict = promotion.gate(comparison)
    promoted = auto_promote and verdict.allowed and not comparison.on_training_data
    if promoted:
        registry.set_alias(
            ws,
            model,
            registry.PROTECTED_ALIAS,
            challenger.version,
            actor=actor,
            reason=f"auto-promoted after drift on {dataset_ref}",
            gate=verdict,
        )
    return {
        "run_id": run,
        "challenger": challenger.ref,
        "champion": champion.ref,
        "gate": verdict.allowed,
        "reasons": verdict.reasons,
        "promoted": promoted,
        "champion_score": comparison.champion_score,
        "challenger_score": comparison.challenger_score,
        "evaluated_on": comparison.data_note or comparison.dataset,
        "evaluation_rows": comparison.n_rows,
        "validation": spec.validation,
    }


def _record(
    ws: Workspace,
    monitor: Monitor,
    dataset_ref: str,
    report_id: str | None,
    fired: bool,
    action: str,
    detail: dict,
) -> MonitorEvent:
    detail = drift_reports.finite(detail)  # standard JSON: an unbounded drop is null
    event = MonitorEvent(
        uuid.uuid4().hex, monitor.model, dataset_ref, report_id, fired, action, detail, utcnow()
    )

    def work(tx) -> None:
        store_monitors.add_event(tx, event)
        audit.record(
            tx,
            actor="monitor",
            action=f"monitor.{action}",
            object_type="model",
            object_id=monitor.model,
            detail={"dataset": dataset_ref, "report": report_id, **detail},
        )

    ws.store.write(work)
    return event
