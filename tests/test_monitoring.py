"""The retraining loop end to end: a drifted version dropped into the inbox leads to a drift
report, a retrained challenger, a comparison, and (auto-promotion on) a moved alias, all
recorded in the audit log and linked."""

from __future__ import annotations

import os
import time

import numpy as np
import pandas as pd

from workbench import sdk as wb
from workbench.datasets import inbox
from workbench.drift import monitoring
from workbench.registry import models as registry
from workbench.store.workspace import Workspace
from workbench.tracking import experiments
from workbench.training import runner
from workbench.training.task import RunSpec


def month(n: int, seed: int, drifted: bool) -> pd.DataFrame:
    """March, or a drifted May: usage falls and the plan mix moves (within the contract),
    and what drives churn changes, so the champion's accuracy drops."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n)
    usage = rng.normal(420 if drifted else 500, 100 if drifted else 120, n)
    shares = [0.5, 0.3, 0.2] if drifted else [0.3, 0.4, 0.3]
    plan = rng.choice(["basic", "pro", "team"], n, p=shares)
    if drifted:
        churned = (usage < 380) | ((plan == "team") & (age > 45))
    else:
        churned = (usage < 420) & ((age > 60) | (plan == "basic"))
    return pd.DataFrame({"age": age, "usage": usage, "plan": plan, "churned": churned})


def test_the_loop_closes_from_the_inbox(ws: Workspace) -> None:
    wb.log_dataset(month(800, 1, False), "churn")
    launch = runner.launch(
        ws, RunSpec("churn", "churned", "logistic"), experiment="churn", wait=True
    )
    champion = registry.register_model(ws, launch.run_ids[0], "churn-clf")
    registry.set_alias(ws, "churn-clf", "champion", champion.version)
    monitoring.set_monitor(ws, "churn-clf", "churn", "churned", auto_promote=True)
    assert monitoring.status(ws, "churn-clf") == "ok"

    folder = ws.paths.inbox / "churn"
    folder.mkdir(parents=True)
    path = folder / "may.csv"
    month(800, 2, True).to_csv(path, index=False)
    old = time.time() - 60
    os.utime(path, (old, old))
    [outcome] = inbox.scan(ws, settle=1.0)
    assert outcome.registration.version.ref == "churn@v2"

    [event] = monitoring.events(ws, "churn-clf")
    assert event.fired and event.dataset_ref == "churn@v2" and event.report_id
    assert event.detail["challenger"] == "churn-clf/2"
    retrain = experiments.get_run(ws, event.detail["run_id"])
    assert retrain.params["dataset"] == "churn@v2" and retrain.run.status == "finished"
    new = registry.get_version(ws, "churn-clf/2")
    assert new.dataset_ref == "churn@v2" and new.tags["drift_report"] == event.report_id
    # The champion, fitted on March, scores May worse than the retrained challenger: the
    # gate allows it, and auto-promotion moves the alias.
    assert event.detail["challenger_score"] > event.detail["champion_score"], str(event.detail)
    assert event.detail["gate"] and event.action == "promoted", event.detail
    assert registry.get_version(ws, "churn-clf@champion").version == 2
    assert monitoring.status(ws, "churn-clf") == "retrained and promoted"
    actions = [e.action for e in experiments.workspace_summary(ws, recent=50).recent_activity]
    assert {"drift.report", "model.version.create", "model.alias.move"} <= set(actions)
    assert any(a.startswith("monitor.") for a in actions)
    history = registry.alias_history(ws, "churn-clf", "challenger")
    assert history[0].reason == "retrained after drift on churn@v2"


def test_no_drift_no_retraining(ws: Workspace) -> None:
    wb.log_dataset(month(800, 3, False), "churn")
    launch = runner.launch(ws, RunSpec("churn", "churned", "dummy"), experiment="churn", wait=True)
    registry.register_model(ws, launch.run_ids[0], "churn-clf")
    registry.set_alias(ws, "churn-clf", "champion", 1)
    monitoring.set_monitor(ws, "churn-clf", "churn", "churned")
    version = wb.log_dataset(month(800, 4, False), "churn")
    [event] = monitoring.on_new_version(ws, version)
    assert not event.fired and event.action == "none"
    assert [v.version for v in registry.list_versions(ws, "churn-clf")] == [1]


def test_the_badge_follows_the_alias(ws: Workspace) -> None:
    """A retrained challenger waits; once champion points at it (here moved by an admin's
    override, as with the Models page's Aliases form), the badge no longer says a
    challenger waits, and after a rollback it waits again."""
    wb.log_dataset(month(800, 1, False), "churn")
    launch = runner.launch(
        ws, RunSpec("churn", "churned", "logistic"), experiment="churn", wait=True
    )
    registry.register_model(ws, launch.run_ids[0], "churn-clf")
    registry.set_alias(ws, "churn-clf", "champion", 1)
    monitoring.set_monitor(ws, "churn-clf", "churn", "churned")  # auto-promotion off
    version = wb.log_dataset(month(800, 2, True), "churn")
    [event] = monitoring.on_new_version(ws, version)
    assert event.action == "retrained" and event.detail["challenger"] == "churn-clf/2"
    assert monitoring.status(ws, "churn-clf") == "drift: challenger waiting"
    registry.set_alias(ws, "churn-clf", "champion", 2, override=True, reason="May is here")
    assert registry.get_version(ws, "churn-clf@champion").version == 2
    assert monitoring.status(ws, "churn-clf") == "retrained and promoted"
    registry.rollback(ws, "churn-clf", "champion")
    assert monitoring.status(ws, "churn-clf") == "drift: challenger waiting"
    registry.set_alias(ws, "churn-clf", "challenger", 1)
    assert monitoring.status(ws, "churn-clf") == "drift: challenger set aside"
