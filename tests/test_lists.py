"""Nothing is cut off in silence (issue 14, item 8), beyond runs (tests/test_search.py):
drift reports, the run picker of the Models page, monitor events and the audit log. Every
door returns every item, or says "showing N of M" and how to see more.

Many rows are written in one transaction through the store (as an import would); the
first real item of each kind comes through the services."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import MAIN_SCRIPT, ROOT, make_frame, notes, open_tab
from workbench import sdk as wb
from workbench.drift import monitoring
from workbench.drift import report as reports
from workbench.registry import models as registry
from workbench.store import audit, drift_reports, runs_admin, tracking
from workbench.store import monitors as store_monitors
from workbench.store.entities import Run, utcnow
from workbench.store.errors import InvalidInput
from workbench.store.workspace import Workspace
from workbench.team import auth
from workbench.ui import nav
from workbench.workspaces import DEMO_MARKER

MAIN = MAIN_SCRIPT


def many_reports(ws: Workspace, n: int) -> None:
    """``n`` drift reports of churn@v2 against churn@v1: one through the service, the
    rest copies of it with their own ids, one second apart."""
    wb.log_dataset(make_frame(60, seed=1), "churn")
    wb.log_dataset(make_frame(60, seed=2, shift=1.0), "churn")
    first = reports.run_report(ws, "churn@v1", "churn@v2")

    def work(tx) -> None:
        for i in range(1, n):
            drift_reports.insert(
                tx,
                replace(
                    first,
                    report_id=uuid.uuid4().hex,
                    created_at=first.created_at + timedelta(seconds=i),
                ),
            )

    ws.store.write(work)


def model_runs(ws: Workspace, n: int) -> None:
    """``n`` finished runs that logged a model (the ``model.sha256`` tag the Models page
    picks registrable runs by)."""
    from workbench.tracking.experiments import create_run

    first, exp = create_run(ws, experiment="models", name="run-0", user="tester")
    start = utcnow()

    def work(tx) -> None:
        tracking.finish_run(tx, first.run_id, "finished", None, start)
        ids = [first.run_id]
        for i in range(1, n):
            when = start + timedelta(seconds=i)
            run_id = uuid.uuid4().hex
            tracking.insert_run(
                tx,
                Run(
                    run_id,
                    exp.experiment_id,
                    f"run-{i}",
                    "finished",
                    "sdk",
                    None,
                    "tester",
                    None,
                    None,
                    when,
                    when,
                    None,
                    "active",
                ),
            )
            ids.append(run_id)
        runs_admin.upsert_tags(tx, ids, "model.sha256", "0" * 64)

    ws.store.write(work)


def many_events(ws: Workspace, model: str, n: int) -> None:
    start = utcnow()

    def work(tx) -> None:
        for i in range(n):
            store_monitors.add_event(
                tx,
                store_monitors.MonitorEvent(
                    uuid.uuid4().hex,
                    model,
                    f"churn@v{i + 1}",
                    None,
                    False,
                    "none",
                    {},
                    start + timedelta(seconds=i),
                ),
            )

    ws.store.write(work)


# -- drift reports -------------------------------------------------------------------------


def test_every_report_is_listed_and_counted(ws: Workspace) -> None:
    many_reports(ws, 105)
    assert len(reports.list_reports(ws)) == 105  # was 100, in silence
    assert reports.count_reports(ws) == 105
    shown = reports.reports_listing(ws, 20)
    assert len(shown.items) == 20 and shown.total == 105
    assert shown.note("reports") == "showing 20 of 105 reports"
    assert reports.reports_listing(ws).note("reports") == ""
    newest = reports.list_reports(ws)
    assert [r.created_at for r in newest] == sorted((r.created_at for r in newest), reverse=True)
    with pytest.raises(InvalidInput, match="must be 0 or more"):
        reports.list_reports(ws, -1)


def test_drift_list_says_what_it_left_out(ws_path: Path, ws: Workspace) -> None:
    many_reports(ws, 25)
    env = {**os.environ, "WORKBENCH_WORKSPACE": str(ws_path)}

    def workbench(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "workbench.cli", "drift", "list", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=120,
        )

    default = workbench()
    assert default.returncode == 0, default.stderr
    assert len(default.stdout.splitlines()) == 20
    assert "showing 20 of 25 reports; --limit N shows more, --all shows every one" in (
        default.stderr
    )
    every = workbench("--all")
    assert every.returncode == 0, every.stderr
    assert len(every.stdout.splitlines()) == 25 and notes(every.stderr) == []


def test_drift_list_limit_options(ws: Workspace, capsys) -> None:
    from workbench.cli.main import main

    many_reports(ws, 25)
    assert main(["drift", "list", "--limit", "30"]) == 0
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 25 and notes(err) == []
    assert main(["drift", "list", "--limit", "0"]) == 0
    out, err = capsys.readouterr()
    assert out == "" and "showing 0 of 25 reports" in err
    assert main(["drift", "list", "--limit", "-1"]) == 1
    assert capsys.readouterr().err.startswith("error: --limit must be 0 or more")


def test_drift_page_offers_every_report_and_start_counts_them(ws: Workspace, monkeypatch) -> None:
    monkeypatch.setenv("WORKBENCH_WATCH", "0")
    many_reports(ws, 105)
    at = AppTest.from_file(MAIN, default_timeout=120).run()
    at.switch_page(f"../../../pages/{nav.DRIFT.file}").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    picker = next(s for s in at.selectbox if s.label == "Report")
    assert len(picker.options) == 105  # was 100

    (ws.root / DEMO_MARKER).touch()  # Start here shows its figures in the demo workspace
    at.switch_page(f"../../../pages/{nav.START.file}").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    figures = {m.label: m.value for m in at.metric}
    assert figures["drift reports"] == "105"  # was 100: the length of a capped list


# -- the Models page: its run picker and a model's monitor events --------------------------


def test_models_page_offers_every_run_and_every_monitor_event(ws: Workspace, monkeypatch) -> None:
    from tests.test_runner import binary_frame
    from workbench.training import runner
    from workbench.training.task import RunSpec

    monkeypatch.setenv("WORKBENCH_WATCH", "0")
    wb.log_dataset(binary_frame(120), "churn")
    launch = runner.launch(ws, RunSpec("churn", "churned", "dummy"), experiment="m", wait=True)
    registry.register_model(ws, launch.run_ids[0], "churn-clf")
    registry.set_alias(ws, "churn-clf", "champion", 1)
    model_runs(ws, 205)
    many_events(ws, "churn-clf", 60)

    assert len(registry.registrable_runs(ws)) == 206  # was 200, in silence
    assert len(monitoring.events(ws, "churn-clf")) == 60  # was 50
    assert monitoring.count_events(ws, "churn-clf") == 60 and monitoring.count_events(ws) == 60
    assert len(monitoring.events(ws, "churn-clf", 1)) == 1

    at = AppTest.from_file(MAIN, default_timeout=120).run()
    at.switch_page(f"../../../pages/{nav.MODELS.file}").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    next(t for t in at.toggle if t.label == "Register a model from a run").set_value(True).run()
    picker = next(s for s in at.selectbox if s.label == "Run")
    assert len(picker.options) == 206
    open_tab(at, "model-tabs-churn-clf", "Monitor")
    history = next(d.value for d in at.dataframe if "fired" in d.value.columns)
    assert len(history) == 60
    assert any(c.value.startswith("60 monitor check(s)") for c in at.caption)


# -- the audit log ----------------------------------------------------------------------


def test_audit_log_says_how_many_it_left_out(ws: Workspace, monkeypatch) -> None:
    monkeypatch.setenv("WORKBENCH_WATCH", "0")
    ws.store.write(
        lambda tx: audit.record_many(
            tx,
            [
                {"actor": "bulk", "action": "run.tag", "object_type": "run", "object_id": f"r{i}"}
                for i in range(5_010)
            ],
        )
    )
    total = ws.store.read(audit.count)
    assert total >= 5_010
    shown = auth.audit_log(ws)
    assert len(shown.items) == 5_000 and shown.total == total
    assert shown.note("events") == f"showing 5,000 of {total:,} events"
    assert len(auth.audit_log(ws, limit=None).items) == total
    assert auth.audit_log(ws, actor="nobody").total == 0
    assert auth.audit_log(ws, text="r500").total == 11  # r500, r5000-r5009

    at = AppTest.from_file(MAIN, default_timeout=120).run()
    at.switch_page(f"../../../pages/{nav.ADMIN.file}").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert len(at.dataframe[0].value) == 5_000
    assert any(c.value.startswith(f"showing 5,000 of {total:,} events") for c in at.caption), [
        c.value for c in at.caption
    ]  # was "5,000 event(s) ... at most 5,000 shown"


def test_home_recent_activity_says_it_is_the_latest_of_all(ws: Workspace, monkeypatch) -> None:
    monkeypatch.setenv("WORKBENCH_WATCH", "0")
    ws.store.write(
        lambda tx: audit.record_many(
            tx,
            [
                {"actor": "bulk", "action": "run.tag", "object_type": "run", "object_id": f"r{i}"}
                for i in range(25)
            ],
        )
    )
    total = ws.store.read(audit.count)
    at = AppTest.from_file(MAIN, default_timeout=120).run()  # Home is the default page
    assert not at.exception and not at.error, [e.value for e in at.error]
    # A markdown table (a data grid costs each browser a mount on every visit): 10 rows.
    activity = next(m.value for m in at.markdown if m.value.startswith("| when \\(UTC\\) |"))
    assert len(activity.splitlines()) == 2 + 10
    assert "run\\.tag" in activity
    assert not any("action" in d.value.columns for d in at.dataframe)
    assert any(c.value.startswith(f"The latest 10 of {total:,} events") for c in at.caption)


def test_every_list_command_says_none_on_an_empty_workspace(ws: Workspace, capsys) -> None:
    """A newcomer's find: `monitors list` and `drift list` printed nothing at all on an
    empty workspace, where the other lists print "(none)"."""
    from workbench.cli.main import main

    ws.store.close()
    for command in (
        ["datasets", "list"],
        ["models", "list"],
        ["drift", "list"],
        ["monitors", "list"],
        ["runs", "list"],
    ):
        assert main(["--workspace", str(ws.root), *command]) == 0, command
        out = capsys.readouterr().out
        assert out.strip().endswith("(none)"), (command, out)
