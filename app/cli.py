"""The ``workbench`` command line. Thin: parse, call one service, print.

A :class:`WorkbenchError` prints one line (``error: ...``) on stderr and exits 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from app import experiments, ingest
from app.settings import WORKSPACE_ENV, Settings, workspace_path
from app.workspace import open_workspace
from store import migrations
from store.entities import Condition
from store.errors import WorkbenchError
from store.workspace import Workspace

MAIN_SCRIPT = Path(__file__).with_name("main.py")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="workbench",
        description="MLOps Workbench: datasets, experiments, models and drift on your machine.",
    )
    parser.add_argument(
        "--workspace", metavar="PATH",
        help=f"workspace folder (default: ${WORKSPACE_ENV} or ./workspace)",
    )  # fmt: skip
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ui = sub.add_parser("ui", help="start the web app (creates the workspace on first start)")
    ui.add_argument("--port", type=int, default=8501, help="port to serve on (default 8501)")
    ui.add_argument("--host", default="localhost", help="address to bind (default localhost)")
    ui.set_defaults(func=cmd_ui)

    sync = sub.add_parser("sync", help="ingest run event logs and mark abandoned runs lost")
    sync.add_argument("--watch", action="store_true", help="keep watching until Ctrl-C")
    sync.set_defaults(func=cmd_sync)

    runs = sub.add_parser("runs", help="list runs").add_subparsers(
        dest="runs_command", required=True, metavar="SUBCOMMAND"
    )
    runs_list = runs.add_parser("list", help="list runs, newest first")
    runs_list.add_argument("--experiment", help="only this experiment (by name)")
    runs_list.add_argument("--status", choices=["running", "finished", "failed", "killed", "lost"])
    runs_list.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    runs_list.add_argument("--format", choices=["table", "csv", "json"], default="table")
    runs_list.set_defaults(func=cmd_runs_list)

    exps = sub.add_parser("experiments", help="list experiments").add_subparsers(
        dest="experiments_command", required=True, metavar="SUBCOMMAND"
    )
    exps.add_parser("list", help="list experiments with run counts").set_defaults(
        func=cmd_experiments_list
    )

    db = sub.add_parser("db", help="the workspace database").add_subparsers(
        dest="db_command", required=True, metavar="SUBCOMMAND"
    )
    db.add_parser("status", help="schema version and pending migrations").set_defaults(
        func=cmd_db_status
    )
    db.add_parser("upgrade", help="back up, then migrate the schema to head").set_defaults(
        func=cmd_db_upgrade
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except WorkbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def cmd_ui(args: argparse.Namespace) -> int:
    ws = open_workspace(args.workspace)
    print(f"Workspace: {ws.root}")
    print(f"Open http://{args.host}:{args.port} in your browser (Ctrl-C stops the app).")
    sys.stdout.flush()
    env = {**os.environ, WORKSPACE_ENV: str(ws.root)}
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(MAIN_SCRIPT),
        "--server.port", str(args.port), "--server.address", args.host,
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "minimal",
    ]  # fmt: skip
    # Replace this process: stopping `workbench ui` (Ctrl-C, SIGTERM) stops the server itself,
    # with no orphaned child left holding the port.
    os.execve(sys.executable, cmd, env)
    return 0  # not reached


def cmd_sync(args: argparse.Namespace) -> int:
    ws = open_workspace(args.workspace)
    timeout = Settings.from_env().heartbeat_timeout
    if not args.watch:
        result = ingest.sync(ws)
        lost = ingest.reap_lost_runs(ws, timeout)
        print(f"ingested {result.events} events ({result.points} metric points) from "
              f"{result.runs} runs; marked {len(lost)} runs lost")  # fmt: skip
        return 0
    from app.watcher import RunWatcher

    watcher = RunWatcher(ws).start()
    print(f"watching {ws.paths.runs} (Ctrl-C stops)")
    try:
        while True:
            time.sleep(5)
            s = watcher.stats
            print(f"events {s.events}  points {s.points}  lost {s.lost}  errors {s.errors}")
    finally:
        watcher.stop()


def cmd_runs_list(args: argparse.Namespace) -> int:
    ws = open_workspace(args.workspace)
    ids = None
    if args.experiment:
        ids = [experiments.get_experiment_by_name(ws, args.experiment).experiment_id]
    conditions = [Condition("attributes", "status", "=", args.status)] if args.status else []
    table = experiments.runs_table(ws, experiment_ids=ids, conditions=conditions,
                                   limit=args.limit)  # fmt: skip
    _print_frame(table, args.format)
    return 0


def cmd_experiments_list(args: argparse.Namespace) -> int:
    ws = open_workspace(args.workspace)
    rows = [
        (s.experiment.name, s.run_count, s.running, s.last_run_at, s.experiment.experiment_id)
        for s in experiments.list_experiments(ws)
    ]
    frame = pd.DataFrame(rows, columns=["name", "runs", "running", "last_run_at", "id"])
    _print_frame(frame, "table")
    return 0


def cmd_db_status(args: argparse.Namespace) -> int:
    ws = Workspace.open(workspace_path(args.workspace), create=False, upgrade=False)
    st = migrations.status(ws.store)
    print(f"database: {st.path}")
    print(f"schema version: {st.version} (code head: {st.head}, pending: {st.pending})")
    for version, name, applied_at in st.applied:
        print(f"  {version:>3}  {applied_at:%Y-%m-%d %H:%M:%S}  {name}")
    if st.version > st.head:
        print("the database is newer than this workbench: upgrade the package")
        return 1
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    ws = Workspace.open(workspace_path(args.workspace), upgrade=False)
    applied = migrations.upgrade(ws.store, backup_dir=ws.paths.backups)
    if not applied:
        print(f"already at schema version {migrations.HEAD}; nothing to do")
    for step in applied:
        print(f"applied {step.version}: {step.name}")
    return 0


def _print_frame(frame: pd.DataFrame, fmt: str) -> None:
    if fmt == "csv":
        frame.to_csv(sys.stdout, index=False)
    elif fmt == "json":
        print(json.dumps(frame.to_dict(orient="records"), default=str, indent=1))
    elif frame.empty:
        print("(none)")
    else:
        with pd.option_context("display.max_columns", 12, "display.width", 160,
                               "display.max_colwidth", 40):  # fmt: skip
            print(frame.to_string(index=False))


if __name__ == "__main__":
    sys.exit(main())
