"""The demo workspace: the churn story of ``sample_data/`` seeded through the same services a
user calls, so every page has something true to show.

1. January, February and March exports of ``churn`` (the first infers the contract), and
   three classic scikit-learn datasets.
2. Experiment ``churn``: a logistic-regression sweep and a random-forest sweep on January
   (20 runs), the best run registered as ``churn-classifier`` and made ``champion``.
3. Drift reports with the champion for February (nothing moves) and March (basic-plan
   usage falls, support calls rise).
4. A monitor on ``churn`` (auto-promotion on, performance-drop rule at 5 %), then April
   arrives through the inbox: the report flags it (the plan mix and price decide now, and
   the champion's accuracy drops), the champion's spec is retrained on April as
   ``challenger``, and the gate keeps ``champion`` where it is because April breaks the
   contract (a dozen rows with negative support calls). Every step is in the audit log.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from workbench.datasets import inbox
from workbench.datasets import versions as datasets
from workbench.drift import report as reports
from workbench.drift import stats as drift_rules
from workbench.drift.monitoring import set_monitor
from workbench.registry import models as registry
from workbench.settings import Settings
from workbench.store.entities import Run
from workbench.store.errors import InvalidInput
from workbench.store.workspace import Workspace
from workbench.tracking import experiments, ingest
from workbench.training import runner
from workbench.training.runner import SweepSpec
from workbench.training.task import RunSpec
from workbench.workspaces import DEMO_MARKER, forget, is_demo, open_workspace

# sample_data/ is installed as workbench.sample_data (pyproject's package-dir): found there
SAMPLE = Path(importlib.util.find_spec("workbench.sample_data").origin).parent
MODEL = "churn-classifier"
INTENDED_USE = (
    "Ranks this month's customers by their risk of leaving next month, so the retention team "
    "calls the riskiest first. Not for pricing decisions or for judging one customer: it "
    "learned from aggregate behaviour of one market and one price list."
)
FEATURES = (
    "tenure_months",
    "plan",
    "contract",
    "region",
    "monthly_charges",
    "usage_gb",
    "support_calls",
)
MONTHS = (
    ("2026-01", "January export"),
    ("2026-02", "February export"),
    ("2026-03", "March export: a cheaper competitor launched"),
)


# Start here's guided path: (page title, deep-link query parameters, step title, what to look
# at). It leads with what explains April: the contract failure, then the drift report. A
# diff of two monthly snapshots explains nothing (each month's export holds other
# customers, so every row is "added" or "removed").
GUIDED_STEPS: tuple[tuple[str, dict[str, str] | None, str, str], ...] = (
    (
        "Datasets",
        {"dataset": "churn"},
        "1. Why April is flagged: the contract",
        "`churn` has four monthly versions; April (v4) is flagged red. Open its **Contract** "
        "tab: 13 rows with `support_calls` outside the range the contract inferred from "
        "January break it, a dozen of them at -1 (a data-entry bug), and a version that "
        "breaks its contract cannot be promoted on.",
    ),
    (
        "Drift",
        {"current": "churn@v4", "reference": "churn@v1"},
        "2. What moved in April: the drift report",
        "April against January, with the champion: the plan mix tips towards basic, support "
        "calls rise, and the champion's balanced accuracy and ROC AUC fall, because price, not "
        "usage, now decides who leaves. February (nothing) and March (usage and support calls "
        "move) are there too; the history chart shows the champion degrading month by month.",
    ),
    (
        "Experiments",
        {"experiment": "churn"},
        "3. The experiments",
        "Two sweeps on January (20 runs): pick a few runs to compare parameters, metrics, "
        "curves and confusion matrices side by side. Launch a run of your own from the form.",
    ),
    (
        "Models",
        None,
        "4. The model",
        f"`{MODEL}`: the champion, the challenger retrained on April, the alias history, "
        "lineage back to the run and the data, and champion versus challenger through the "
        "gate: on March, which neither model saw, the challenger does worse than the "
        "champion (it learned April, where price decides), and on April (its own data) the "
        "gate holds because April breaks its contract.",
    ),
    (
        "Admin",
        None,
        "5. The trail",
        "The audit log: every registration, run, alias move, report and monitor decision, "
        "with who and when.",
    ),
)


def live_runs(ws: Workspace) -> list[Run]:
    """Runs of ``ws`` still logging: ``queued`` or ``running`` and not lost, i.e. their process is
    alive (same host) and their heartbeat is younger than ``WORKBENCH_HEARTBEAT_TIMEOUT``
    (the rule :func:`workbench.tracking.ingest.reap_lost_runs` applies)."""
    timeout = Settings.from_env().heartbeat_timeout
    return ingest.live_runs(ws, timeout)


def reset(root: Path | str, *, force: bool = False) -> None:
    """Remove a demo workspace (only one this module seeded: it carries the marker).

    Raises InvalidInput when ``root`` is not a demo workspace, or when a run in it is still
    logging (see :func:`live_runs`) and ``force`` is false: deleting it would lose the run's
    data while its notebook goes on reporting success."""
    root = Path(root)
    if not root.exists():
        return
    if not is_demo(root):
        raise InvalidInput(
            f"{root} is not a demo workspace (no {DEMO_MARKER} file); refusing to "
            "delete it. Seed the demo into another folder: --workspace."
        )
    if not force:
        live = live_runs(open_workspace(root))
        if live:
            names = ", ".join(f"{r.name} ({r.run_id[:8]})" for r in live[:5])
            raise InvalidInput(
                f"{len(live)} run{'s are' if len(live) > 1 else ' is'} still logging in "
                f"{root}: {names}. Resetting now deletes their data. End "
                f"{'them' if len(live) > 1 else 'it'} first (run.end(), or wait until "
                "the notebook finishes), or pass --force to delete anyway."
            )
    ws = open_workspace(root)
    forget(root)
    ws.store.close()
    # Moved aside first (one atomic rename): a run still writing (its heartbeat, with
    # --force) can no longer add files to the tree while it is being deleted, which made
    # rmtree fail with "Directory not empty".
    trash = root.with_name(f".{root.name}.deleting-{uuid.uuid4().hex[:8]}")
    os.replace(root, trash)
    shutil.rmtree(trash)


def seed(ws: Workspace, progress: Callable[[str], None] = print) -> dict[str, float]:
    """Seed the story of the module docstring into an empty workspace, marking it as a demo
    (``DEMO_MARKER``); ``progress`` receives each step's name as it starts. Returns the
    seconds each step took, by step name. InvalidInput when ``ws`` already has datasets or
    experiments."""
    if datasets.list_datasets(ws) or experiments.list_experiments(ws):
        raise InvalidInput(
            f"{ws.root} already has data; seed the demo into an empty "
            "workspace (workbench --workspace NEW demo)."
        )
    (ws.root / DEMO_MARKER).write_text(
        "seeded by `workbench demo`; `workbench demo --reset` deletes this workspace\n"
    )
    times: dict[str, float] = {}

    def step(name: str, fn: Callable[[], object]) -> object:
        progress(f"{name}…")
        started = time.perf_counter()
        out = fn()
        times[name] = time.perf_counter() - started
        return out

    def data() -> None:
        for month, message in MONTHS:
            datasets.register(
                ws,
                SAMPLE / "churn" / f"{month}.csv",
                "churn",
                message=message,
                tags={"month": month},
            )
        for path in sorted((SAMPLE / "classic").glob("*.csv")):
            datasets.register(ws, path, path.stem, message="shipped with scikit-learn")

    step("datasets: three months of churn, three classic datasets", data)

    def sweeps() -> str:
        base = RunSpec("churn@v1", "churned", "logistic", features=FEATURES, seed=7)
        logistic = runner.launch(
            ws,
            base,
            experiment="churn",
            name="logistic",
            wait=True,
            sweep=SweepSpec(
                "grid", {"C": [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0]}
            ),
        )
        forest = runner.launch(
            ws,
            RunSpec("churn@v1", "churned", "random_forest", features=FEATURES, seed=7),
            experiment="churn",
            name="random forest",
            wait=True,
            sweep=SweepSpec("grid", {"n_estimators": [40, 80], "max_depth": [3, 5, 8, 12, 16]}),
        )
        table = experiments.runs_table(ws, query="status = 'finished' and metrics.roc_auc >= 0")
        ids = set(logistic.run_ids) | set(forest.run_ids)
        best = table[table["run_id"].isin(ids)].sort_values("metrics.roc_auc").iloc[-1]
        return str(best["run_id"])

    best = step("experiment: 20 runs in two sweeps on January", sweeps)

    def model() -> None:
        version = registry.register_model(ws, best, MODEL, tags={"story": "demo"})
        card = registry.get_version(ws, version.ref).card.replace(
            "_Describe what the model is for and what it must not be used for._", INTENDED_USE
        )
        registry.update_card(ws, version.ref, card)
        registry.set_alias(
            ws, MODEL, "champion", version.version, reason="best ROC AUC of the January sweeps"
        )

    step("model: the best run registered and made champion", model)

    def drift() -> None:
        ignore_ids = {"customer_id": drift_rules.Override("ignore")}  # new ids every month
        for current in ("churn@v2", "churn@v3"):
            reports.run_report(ws, None, current, model=f"{MODEL}@champion", overrides=ignore_ids)

    step("drift: February and March against January, with the champion", drift)

    def loop() -> None:
        set_monitor(
            ws,
            MODEL,
            "churn",
            "churned",
            drift_share=0.25,
            auto_promote=True,
            max_performance_drop=0.05,
        )
        folder = ws.paths.inbox / "churn"
        folder.mkdir(parents=True, exist_ok=True)
        dropped = folder / "2026-04.csv"
        shutil.copy2(SAMPLE / "churn" / "2026-04.csv", dropped)
        old = time.time() - 60
        os.utime(dropped, (old, old))  # settled: the watcher would take it now
        inbox.scan(ws, settle=0.0)

    step("the loop: April arrives in the inbox, drift fires, a challenger is retrained", loop)
    return times
