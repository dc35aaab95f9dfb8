"""`workbench runs|experiments ...`, `workbench sync` and `workbench import-mlflow`: runs and
experiments from the command line."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

import pandas as pd

from workbench.cli.terminal import print_frame
from workbench.datasets import inbox
from workbench.settings import Settings
from workbench.store.entities import RUN_STATUSES, Condition
from workbench.store.errors import InvalidInput
from workbench.team.auth import current_user
from workbench.tracking import experiments, ingest
from workbench.workspaces import open_workspace


def add_commands(sub: argparse._SubParsersAction) -> None:
    """`workbench sync`, `runs list`, `experiments list` and `import-mlflow`."""
    sync = sub.add_parser(
        "sync",
        help="ingest run event logs, mark abandoned runs lost, and "
        "register settled files from the inbox folder",
    )
    sync.add_argument("--watch", action="store_true", help="keep watching until Ctrl-C")
    sync.set_defaults(func=cmd_sync)

    runs = sub.add_parser("runs", help="list runs").add_subparsers(
        dest="runs_command", required=True, metavar="SUBCOMMAND"
    )
    runs_list = runs.add_parser("list", help="list runs, newest first")
    runs_list.add_argument("--experiment", help="only this experiment (by name)")
    runs_list.add_argument("--status", choices=RUN_STATUSES)
    runs_list.add_argument(
        "--filter",
        metavar="FILTER",
        help='only runs matching it, e.g. "metrics.auc > 0.9 and params.seed = 7" (docs/sdk.md)',
    )
    shown = runs_list.add_mutually_exclusive_group()
    shown.add_argument(
        "--limit",
        type=int,
        default=50,
        metavar="N",
        help="at most N runs (default 50); stderr says when more match",
    )
    shown.add_argument("--all", action="store_true", help="every matching run")
    runs_list.add_argument("--format", choices=["table", "csv", "json"], default="table")
    runs_list.set_defaults(func=cmd_runs_list)
    best = runs.add_parser(
        "best", help="the best of some runs on each metric (the metric's direction decides)"
    )
    best.add_argument("run_ids", nargs="+", metavar="RUN_ID")
    best.add_argument("--format", choices=["table", "csv", "json"], default="table")
    best.set_defaults(func=cmd_runs_best)

    exps = sub.add_parser("experiments", help="list experiments").add_subparsers(
        dest="experiments_command", required=True, metavar="SUBCOMMAND"
    )
    exps.add_parser("list", help="list experiments with run counts").set_defaults(
        func=cmd_experiments_list
    )

    imp = sub.add_parser(
        "import-mlflow",
        help="import experiments, runs, params, metrics and "
        "tags from an MLflow SQLite tracking store",
    )
    imp.add_argument("uri", help="sqlite:///path/to/mlflow.db, or the file's path")
    imp.set_defaults(func=cmd_import_mlflow)


def cmd_sync(args: argparse.Namespace) -> int:
    """``workbench sync [--watch]``: ingest the runs' event logs, mark abandoned runs
    lost (after WORKBENCH_HEARTBEAT_TIMEOUT seconds) and register settled inbox files,
    printing what it did; 0. With ``--watch``, keep doing so (totals every 5 s) until Ctrl-C
    or SIGTERM, then ingest once more and return 0."""
    ws = open_workspace(args.workspace)
    timeout = Settings.from_env().heartbeat_timeout
    if not args.watch:
        result = ingest.sync(ws)
        lost = ingest.reap_lost_runs(ws, timeout)
        print(
            f"ingested {result.events} events ({result.points} metric points) from "
            f"{result.runs} runs; marked {len(lost)} runs lost"
        )
        for outcome in inbox.scan(ws, Settings.from_env().inbox_settle):
            where = f"inbox/{outcome.dataset}/{outcome.path.name}"
            if outcome.registration is not None:
                print(f"{where}: {outcome.registration.message}")
            else:
                print(f"{where}: not registered: {outcome.error}")
        return 0
    from workbench.tracking.watcher import RunWatcher

    # SIGTERM (kill, a service manager) stops as cleanly as Ctrl-C: the round in flight
    # finishes, then one last round ingests what was logged meanwhile; the exit is 0.
    terminated = threading.Event()
    signal.signal(signal.SIGTERM, lambda _signum, _frame: terminated.set())
    watcher = RunWatcher(ws).start()
    print(f"watching {ws.paths.runs} and {ws.paths.inbox} (Ctrl-C stops)", flush=True)
    ticks = 0
    try:
        while not terminated.wait(1):
            ticks += 1
            if ticks % 5 == 0:
                s = watcher.stats
                print(
                    f"events {s.events}  points {s.points}  lost {s.lost}  errors {s.errors}",
                    flush=True,
                )
    finally:
        watcher.stop()
        watcher.run_once(full=True)
        print(f"stopped; {watcher.stats.events} events ingested", flush=True)
    return 0


def cmd_runs_list(args: argparse.Namespace) -> int:
    """``workbench runs list [--experiment NAME] [--status S] [--filter F]
    [--limit N | --all] [--format table|csv|json]``: the matching runs, newest first, on
    stdout; when ``--limit`` (default 50) cut the list, a note on stderr. 0; NotFound for an
    unknown experiment, InvalidInput for a negative limit or a bad filter."""
    ws = open_workspace(args.workspace)
    ids = None
    if args.experiment:
        ids = [experiments.get_experiment_by_name(ws, args.experiment).experiment_id]
    conditions = [Condition("attributes", "status", "=", args.status)] if args.status else []
    if not args.all and args.limit < 0:
        raise InvalidInput(f"--limit must be 0 or more; got {args.limit}. --all shows every run.")
    page = experiments.runs_page(
        ws,
        experiment_ids=ids,
        conditions=conditions,
        limit=None if args.all else args.limit,
        query=args.filter,
    )
    print_frame(page.table, args.format)
    if page.cut:  # on stderr, so CSV and JSON on stdout stay clean
        print(f"{page.note()}; --limit N shows more, --all shows every one", file=sys.stderr)
    return 0


def cmd_runs_best(args: argparse.Namespace) -> int:
    """``workbench runs best RUN_ID ...``: per metric, the best run, its value and the
    metric's direction (``workbench.tracking.compare``, as the Experiments page and
    ``wb.best_runs`` decide it, ``declared`` when the runs' tag set it). An id that matches
    no run is NotFound; a direction tag the runs disagree on is said on stderr."""
    from dataclasses import asdict

    from workbench.tracking import compare

    best = compare.best_runs(open_workspace(args.workspace), args.run_ids)
    for b in best:
        if b.decided_by not in ("name", "declared"):
            print(f"{b.metric}: {b.decided_by}", file=sys.stderr)
    table = pd.DataFrame([asdict(b) for b in best])
    if not table.empty:
        table["direction"] = table.pop("higher_is_better").map({True: "higher", False: "lower"})
        table.loc[table["decided_by"] == "declared", "direction"] += " (declared)"
        table = table[["metric", "direction", "run_id", "value", "min", "max", "mean", "runs"]]
    print_frame(table, args.format)
    return 0


def cmd_experiments_list(args: argparse.Namespace) -> int:
    """``workbench experiments list``: each experiment's name, run counts
    (all, running, queued), last run time and id, as a table; 0."""
    ws = open_workspace(args.workspace)
    rows = [
        (
            s.experiment.name,
            s.run_count,
            s.running,
            s.queued,
            s.last_run_at,
            s.experiment.experiment_id,
        )
        for s in experiments.list_experiments(ws)
    ]
    columns = ["name", "runs", "running", "queued", "last_run_at", "id"]
    frame = pd.DataFrame(rows, columns=columns)
    print_frame(frame, "table")
    return 0


def cmd_import_mlflow(args: argparse.Namespace) -> int:
    """``workbench import-mlflow URI``: import experiments, runs, params,
    metrics and tags from an MLflow SQLite store (``sqlite:///path`` or a path) and print a
    summary; 0."""
    from workbench.tracking import mlflow_import

    report = mlflow_import.import_store(open_workspace(args.workspace), args.uri, current_user())
    print(report.summary())
    return 0
