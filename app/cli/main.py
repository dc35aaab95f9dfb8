"""The ``workbench`` command line. Thin: parse, call one service, print.

A :class:`WorkbenchError` prints one line (``error: ...``) on stderr and exits 1.
"""

from __future__ import annotations

import argparse
import getpass
import math
import os
import secrets
import shlex
import signal
import sys
import tempfile
import threading
import time
import traceback
import warnings
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from workbench import files, network
from workbench.cli import admin as cli_admin
from workbench.cli import drift as cli_drift
from workbench.cli.terminal import say
from workbench.datasets import inbox
from workbench.datasets import versions as datasets
from workbench.settings import WORKSPACE_ENV, Settings, workspace_path
from workbench.store import jsontext, migrations
from workbench.store.entities import RUN_STATUSES, Condition
from workbench.store.errors import InvalidInput, WorkbenchError
from workbench.store.workspace import Workspace
from workbench.team import auth
from workbench.team.auth import current_user
from workbench.tracking import experiments, ingest
from workbench.validation import escape_invisible, visible_name
from workbench.workspaces import open_workspace

MAIN_SCRIPT = Path(__file__).resolve().parents[1] / "ui" / "entry" / "main.py"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every ``workbench`` command; each subcommand sets
    ``func`` to the ``cmd_*`` function that runs it."""
    parser = argparse.ArgumentParser(
        prog="workbench",
        description="MLOps Workbench: datasets, experiments, models and drift on your machine.",
    )
    parser.add_argument(
        "--workspace",
        metavar="PATH",
        help=f"workspace folder (default: ${WORKSPACE_ENV} or ./workspace)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ui = sub.add_parser("ui", help="start the web app (creates the workspace on first start)")
    ui.add_argument("--port", type=int, default=8501, help="port to serve on (default 8501)")
    ui.add_argument("--host", default="localhost", help="address to bind (default localhost)")
    ui.add_argument(
        "--team",
        action="store_true",
        help="team mode: every page needs a login (accounts: `workbench users add`)",
    )
    ui.set_defaults(func=cmd_ui)

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

    exps = sub.add_parser("experiments", help="list experiments").add_subparsers(
        dest="experiments_command", required=True, metavar="SUBCOMMAND"
    )
    exps.add_parser("list", help="list experiments with run counts").set_defaults(
        func=cmd_experiments_list
    )

    _dataset_commands(sub)

    _model_commands(sub)

    cli_drift.add_commands(sub)

    cli_admin.add_commands(sub)

    imp = sub.add_parser(
        "import-mlflow",
        help="import experiments, runs, params, metrics and "
        "tags from an MLflow SQLite tracking store",
    )
    imp.add_argument("uri", help="sqlite:///path/to/mlflow.db, or the file's path")
    imp.set_defaults(func=cmd_import_mlflow)

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


def _dataset_commands(sub: argparse._SubParsersAction) -> None:
    ds = sub.add_parser("datasets", help="dataset versions").add_subparsers(
        dest="datasets_command", required=True, metavar="SUBCOMMAND"
    )
    add = ds.add_parser("add", help="register a CSV or Parquet file as a new dataset version")
    add.add_argument("path", help="the CSV or Parquet file")
    add.add_argument("--name", required=True, help="dataset name, e.g. churn")
    add.add_argument("-m", "--message", default="", help="what changed in this version")
    add.add_argument(
        "--tag",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a tag for the version (repeatable)",
    )
    add.add_argument(
        "--encoding",
        default="utf-8",
        help="text encoding of a CSV "
        "(default utf-8; any Python codec, e.g. latin-1 or cp1252; a byte-order mark "
        "(UTF-8, UTF-16) is recognized by itself)",
    )
    add.set_defaults(func=cmd_datasets_add)
    ds.add_parser("list", help="list datasets with their latest version").set_defaults(
        func=cmd_datasets_list
    )
    versions = ds.add_parser("versions", help="list the versions of a dataset")
    versions.add_argument("name")
    versions.set_defaults(func=cmd_datasets_versions)
    show = ds.add_parser("show", help="a version's schema, profile and contract results")
    show.add_argument("ref", help="e.g. churn@v3, or churn for the latest")
    show.set_defaults(func=cmd_datasets_show)
    diff = ds.add_parser("diff", help="compare two versions (schema, rows, profiles)")
    diff.add_argument("reference", help="e.g. churn@v1")
    diff.add_argument("current", help="e.g. churn@v2")
    diff.add_argument("--key", help="key column to match rows by (default: the contract's)")
    diff.set_defaults(func=cmd_datasets_diff)
    export = ds.add_parser("export", help="write a version to a CSV or Parquet file")
    export.add_argument("ref", help="e.g. churn@v3")
    export.add_argument("target", help="output file; .csv or .parquet decides the format")
    export.add_argument("--force", action="store_true", help="replace an existing file")
    export.set_defaults(func=cmd_datasets_export)


def _model_commands(sub: argparse._SubParsersAction) -> None:
    models = sub.add_parser("models", help="the model registry").add_subparsers(
        dest="models_command", required=True, metavar="SUBCOMMAND"
    )
    models.add_parser("list", help="models with their versions and aliases").set_defaults(
        func=cmd_models_list
    )
    versions = models.add_parser("versions", help="a model's versions")
    versions.add_argument("name")
    versions.set_defaults(func=cmd_models_versions)
    reg = models.add_parser("register", help="register a finished run's model as a new version")
    reg.add_argument("run_id")
    reg.add_argument("name", help="model name, e.g. churn-classifier")
    reg.set_defaults(func=cmd_models_register)
    alias = models.add_parser(
        "alias", help="point an alias (champion, challenger ...) at a version"
    )
    alias.add_argument("name")
    alias.add_argument("alias")
    alias.add_argument("version", type=int)
    alias.add_argument("--reason", default="", help="recorded in the alias history")
    alias.add_argument(
        "--override",
        action="store_true",
        help="admin only: move champion although the promotion gate was not "
        "passed (needs --reason; recorded in the audit log)",
    )
    alias.set_defaults(func=cmd_models_alias)
    promote = models.add_parser(
        "promote", help="move champion to the challenger through the promotion gate (admin)"
    )
    promote.add_argument("name")
    promote.add_argument(
        "--dataset",
        required=True,
        metavar="REF",
        help="labelled dataset version both are scored on, e.g. churn@v4",
    )
    promote.add_argument("--target", required=True, metavar="COLUMN", help="the label column")
    promote.add_argument(
        "--margin",
        type=float,
        default=0.0,
        help="how much better the challenger must be (default 0)",
    )
    promote.add_argument(
        "--override",
        action="store_true",
        help="promote although the gate refuses (needs --reason; every "
        "waived check goes into the audit log)",
    )
    promote.add_argument("--reason", default="", help="why the gate may be overridden")
    promote.set_defaults(func=cmd_models_promote)
    rollback = models.add_parser("rollback", help="move an alias back to its previous version")
    rollback.add_argument("name")
    rollback.add_argument("alias")
    rollback.set_defaults(func=cmd_models_rollback)
    cmp = models.add_parser(
        "compare",
        help="champion versus challenger on labelled data and "
        "the promotion gate's checks (nothing is moved)",
    )
    cmp.add_argument("name")
    cmp.add_argument(
        "--dataset",
        help="a labelled version (default: the newest one neither model was trained on)",
    )
    cmp.add_argument("--target", help="the label column (default: the one the champion learned)")
    cmp.set_defaults(func=cmd_models_compare)
    export = models.add_parser(
        "export", help="write a version as a folder (model, signature, card, requirements)"
    )
    export.add_argument("ref", help="e.g. churn-classifier@champion or churn-classifier/3")
    export.add_argument("target", help="a new or empty folder")
    export.set_defaults(func=cmd_models_export)
    pred = sub.add_parser(
        "predict", help="score a dataset version; the predictions become a new dataset version"
    )
    pred.add_argument("model", help="e.g. churn-classifier@champion")
    pred.add_argument("dataset", help="e.g. churn@v4")
    pred.add_argument(
        "--output", help="dataset name for the predictions (default <dataset>-scored)"
    )
    pred.set_defaults(func=cmd_predict)
    serve = sub.add_parser("serve", help="score JSON rows over HTTP on localhost")
    serve.add_argument("model", help="e.g. churn-classifier@champion (resolved per request)")
    serve.add_argument("--port", type=int, default=8600)
    serve.add_argument("--host", default="127.0.0.1")
    serve.set_defaults(func=cmd_serve)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); returns the exit
    code. A WorkbenchError prints ``error: ...`` on stderr and returns 1, as does an OSError
    the services did not check first; Ctrl-C returns 130; a closed stdout pipe returns 1
    quietly; any other exception is a bug: one line with an error id, its traceback appended
    to ``$TMPDIR/workbench-errors-USER.log`` (printed too with WORKBENCH_DEBUG=1), and 1.
    Argument errors exit 2 from argparse."""
    args = build_parser().parse_args(argv)
    warnings.filterwarnings("ignore", category=auth.ClaimIgnored)  # say_who_acts says it
    try:
        name_the_workspace(args)
        say_who_acts(args)
        code = args.func(args) or 0
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit
        return code
    except BrokenPipeError:
        # the reader went away (`workbench ... | head`): stop quietly, as Unix tools do.
        # Python docs, "Note on SIGPIPE": point stdout at devnull so the exit flush is quiet.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except WorkbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a path the service did not check first: still one line
        where = f" {exc.filename}" if exc.filename else ""
        print(
            f"error: cannot use{where}: {exc.strerror or exc}. Check the path and its permissions.",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug: one line with an error id, the traceback kept aside
        error_id = secrets.token_hex(4)
        trace = "".join(traceback.format_exception(exc))
        where = _keep_traceback(error_id, trace)
        print(
            f"error: something went wrong (error id {error_id}); this is a bug in the "
            f"workbench ({type(exc).__name__}). {where}",
            file=sys.stderr,
        )
        if os.environ.get("WORKBENCH_DEBUG", "0") not in ("", "0"):
            print(trace, file=sys.stderr, end="")
        return 1


# Commands that name no workspace line: `ui` and `demo` print theirs, `restore` writes a new
# one it names, `drift files` and `drift rule` use none.
_OWN_WORKSPACE_LINE = {"cmd_ui", "cmd_demo", "cmd_restore", "cmd_drift_files", "cmd_drift_rule"}


def say_who_acts(args: argparse.Namespace) -> None:
    """On a team workspace, a name given by WORKBENCH_USER (or LOGNAME/USER) that is not the
    process's own account is only a claim: say on stderr who the command acts as instead
    (:func:`workbench.team.auth.shell_principal`)."""
    if not hasattr(args, "workspace") or args.func.__name__ in _OWN_WORKSPACE_LINE:
        return
    who = auth.shell_principal()
    if " (claims " not in who.name:
        return
    if not (workspace_path(args.workspace) / "meta.duckdb").is_file():
        return
    if not auth.is_team(open_workspace(args.workspace)):
        return
    print(
        f"note: the name {visible_name(current_user())} (from WORKBENCH_USER, LOGNAME or "
        "USER) proves no "
        f"login. On this team workspace the command line acts as an admin named {who.name} "
        "in the audit log (whoever can write the workspace folder can change anything in it).",
        file=sys.stderr,
    )


def name_the_workspace(args: argparse.Namespace) -> None:
    """In a terminal, say on stderr which workspace the command acts on, and why that one:
    a command typed in the install folder after `make run` would otherwise act on the demo
    in ./workspace without naming it. Not in scripts and pipes (stderr not a terminal):
    there stdout and stderr stay the command's own (one line per error), and a script
    names its --workspace."""
    if not hasattr(args, "workspace") or args.func.__name__ in _OWN_WORKSPACE_LINE:
        return
    if not sys.stderr.isatty():
        return
    root = workspace_path(args.workspace)
    if args.workspace is not None:
        why = "--workspace"
    elif os.environ.get(WORKSPACE_ENV):
        why = WORKSPACE_ENV
    elif (root / "meta.duckdb").is_file():
        why = "found from the current folder; --workspace names another"
    else:
        why = "new, in the current folder; --workspace names another"
    print(f"workspace: {root} ({why})", file=sys.stderr)


def _keep_traceback(error_id: str, trace: str) -> str:
    """Append the traceback of an unexpected error to the error log; say where it is."""
    try:
        path = Path(tempfile.gettempdir()) / f"workbench-errors-{getpass.getuser()}.log"
        with path.open("a", encoding="utf-8") as out:
            out.write(f"--- error id {error_id} at {time.strftime('%Y-%m-%dT%H:%M:%S%z')}\n")
            out.write(trace)
    except Exception:  # no temporary directory, or no user name (a bare container)
        return "Run it again with WORKBENCH_DEBUG=1 to see the traceback."
    return f"The traceback is in {path}; WORKBENCH_DEBUG=1 prints it here."


def streamlit_flags(args: argparse.Namespace) -> list[str]:
    """Streamlit's command-line flags for ``workbench ui`` (``args``: its parsed options)."""
    return [
        "--server.port",
        str(args.port),
        "--server.address",
        args.host,
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "minimal",
        # Measured (py-spy, bench_experiments): after every script run Streamlit walks all of
        # sys.modules to update its source watcher and runs a full gc.collect(2); with pandas,
        # plotly and scikit-learn loaded that held the "finished" message back ~0.3-0.5 s.
        # A user does not edit the app's source; developers run `streamlit run
        # app/ui/entry/main.py`.
        "--server.fileWatcherType",
        "none",
        "--runner.postScriptGC",
        "false",
        # Pages call st.* explicitly; magic re-parsed every page each time the last browser
        # tab reconnected (Streamlit clears its script cache then): ~50 ms per page load.
        "--runner.magicEnabled",
        "false",
        # An exception outside the pages' own handler (workbench.ui.widgets.user_errors) shows no
        # traceback: its type and a generic message alone, nothing at all in team mode; the
        # traceback goes to the server's output.
        "--client.showErrorDetails",
        "none" if Settings.from_env().team else "type",
        # Streamlit's own upload cap follows ours; the service gives the clear message.
        "--server.maxUploadSize",
        str(max(1, math.ceil(Settings.from_env().max_upload_mb))),
    ]


def cmd_ui(args: argparse.Namespace) -> int:
    """``workbench ui [--host H] [--port P] [--team]``: open (or create) the workspace,
    check the address is free (InvalidInput before any URL is printed), start the run and
    inbox watcher (unless WORKBENCH_WATCH=0) and serve the Streamlit app until it stops
    (Streamlit's command line then raises SystemExit with its exit code). A workspace with
    accounts turns team mode on."""
    ws = open_workspace(args.workspace)
    network.check_free(args.host, args.port)  # before the URL is printed (InvalidInput)
    print(f"Workspace: {ws.root}")
    print(f"Open {network.url(args.host, args.port)} in your browser (Ctrl-C stops the app).")
    sys.stdout.flush()
    os.environ[WORKSPACE_ENV] = str(ws.root)
    if not args.team and auth.is_team(ws):
        print("This workspace has user accounts, so team mode is on: every page asks for a login.")
    if args.team or auth.is_team(ws):
        os.environ["WORKBENCH_TEAM"] = "1"
        if not auth.has_admin(ws):
            where = shlex.quote(str(ws.root))
            print(
                f"Team mode and no admin yet: create one with `workbench --workspace {where} "
                "users add NAME --role admin`; the login page says so too."
            )
    if os.environ.get("WORKBENCH_WATCH", "1") != "0":
        # The watcher (run logs, the inbox, monitors) starts with the server, not with the
        # first page view, and in this process: it shares the workspace's open database with
        # the pages (one process holds DuckDB's file lock; a second one would contend for it).
        from workbench.tracking import watcher

        watcher.start_server_watcher(ws, Settings.from_env())
    flags = streamlit_flags(args)
    from workbench.ui.server import serve

    return serve(MAIN_SCRIPT, flags)


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
    _print_frame(page.table, args.format)
    if page.cut:  # on stderr, so CSV and JSON on stdout stay clean
        print(f"{page.note()}; --limit N shows more, --all shows every one", file=sys.stderr)
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
    _print_frame(frame, "table")
    return 0


def cmd_datasets_add(args: argparse.Namespace) -> int:
    """``workbench datasets add PATH --name NAME [-m MSG] [--tag K=V]...
    [--encoding E]``: register the CSV or Parquet file as a new version and print the outcome
    and each failed contract check; 0. InvalidInput for a ``--tag`` without ``=`` or a file
    the service refuses."""
    tags = {}
    for item in args.tag:
        key, sep, value = item.partition("=")
        if not sep:
            raise InvalidInput(f"--tag {item!r} must be KEY=VALUE.")
        tags[key] = value
    result = datasets.register(
        open_workspace(args.workspace),
        Path(args.path),
        args.name,
        message=args.message,
        tags=tags,
        source_kind="path",
        encoding=args.encoding,
    )
    say(result.message)
    for check in result.checks:
        if not check.passed:
            say(f"  failed {check.check}: {check.message}")
    return 0


def cmd_datasets_list(args: argparse.Namespace) -> int:
    """``workbench datasets list``: each dataset's name, latest version, number
    of versions, author and creation time, as a table; 0."""
    rows = [
        (d.name, d.latest_version, d.n_versions, d.created_by, d.created_at)
        for d in datasets.list_datasets(open_workspace(args.workspace))
    ]
    _print_frame(
        pd.DataFrame(rows, columns=["name", "latest", "versions", "created_by", "created_at"]),
        "table",
    )
    return 0


def cmd_datasets_versions(args: argparse.Namespace) -> int:
    """``workbench datasets versions NAME``: the dataset's versions (rows,
    columns, contract state, time, author, message) as a table; 0. NotFound for an unknown
    dataset."""
    rows = [
        (v.ref, v.n_rows, v.n_columns, _contract_word(v), v.created_at, v.created_by, v.message)
        for v in datasets.list_versions(open_workspace(args.workspace), args.name)
    ]
    columns = ["version", "rows", "columns", "contract", "created_at", "author", "message"]
    _print_frame(pd.DataFrame(rows, columns=columns), "table")
    return 0


def cmd_datasets_show(args: argparse.Namespace) -> int:
    """``workbench datasets show REF`` (``churn@v3``, or ``churn`` for the
    latest): the version's size, fingerprint and source, its column profile as a table, and
    each failed contract check; 0. NotFound for an unknown ref."""
    ws = open_workspace(args.workspace)
    v = datasets.get_version(ws, args.ref)
    say(
        f"{v.ref}: {datasets.counted(v.n_rows, 'row')} x "
        f"{datasets.counted(v.n_columns, 'column')}, "
        f"{v.size_bytes:,} bytes, "
        f"contract {_contract_word(v)}"
    )
    say(
        f"fingerprint {v.fingerprint}  created {v.created_at:%Y-%m-%d %H:%M} by "
        f"{v.created_by}  from {v.source} {v.source_name}"
    )
    table = datasets.profile_table(datasets.get_profile(ws, v), v.n_rows)
    _print_frame(table, "table")
    say(datasets.PROFILE_NOTE)
    for check in datasets.get_checks(ws, v)[1]:
        if not check.passed:
            examples = f" e.g. {', '.join(check.examples[:5])}" if check.examples else ""
            say(f"failed {check.check}: {check.message}{examples}")
    return 0


def cmd_datasets_diff(args: argparse.Namespace) -> int:
    """``workbench datasets diff REFERENCE CURRENT [--key COLUMN]``: row counts,
    column changes and the row differences (by key, or as multisets) of two versions; 0."""
    d = datasets.diff(open_workspace(args.workspace), args.reference, args.current, args.key)
    say(
        f"{d.reference.ref} -> {d.current.ref}: rows {d.reference.n_rows:,} -> {d.current.n_rows:,}"
    )
    for change in d.schema_changes:
        say(
            f"  column {change.column}: {change.change} ({change.reference_type} -> "
            f"{change.current_type})"
        )
    r = d.rows
    if r.mode == "key":
        say(
            f"  matched by {r.key}: {r.added:,} added, {r.removed:,} removed, "
            f"{r.changed:,} changed, {r.unchanged:,} unchanged"
        )
    else:
        say(f"  as multisets: {r.added:,} rows only in current, {r.removed:,} only in reference")
    if r.note:
        say(f"  note: {r.note}")
    return 0


def cmd_datasets_export(args: argparse.Namespace) -> int:
    """``workbench datasets export REF TARGET [--force]``: write the version
    to TARGET (.csv or .parquet decides the format; an existing file only with ``--force``),
    and for a CSV say what would not read back the same; 0. InvalidInput for a target that
    cannot be written (:func:`workbench.files.check_output_path`)."""
    ws = open_workspace(args.workspace)
    out = datasets.export(ws, args.ref, args.target, overwrite=args.force)
    say(f"wrote {out}")
    if out.suffix.lower() == ".csv":  # read back: what would not register as the same
        for note in datasets.csv_round_trip(ws, datasets.get_version(ws, args.ref), out):
            say(f"note: {note}")
    return 0


def _contract_word(v) -> str:
    if v.contract_passed is None:
        return "unchecked"
    return "passed" if v.contract_passed else f"FAILED ({v.n_failed_checks})"


def cmd_models_list(args: argparse.Namespace) -> int:
    """``workbench models list``: each model's latest version, aliases and author,
    as a table; 0."""
    from workbench.registry import models as registry

    models = registry.list_models(open_workspace(args.workspace))
    rows = [
        (
            m.name,
            m.latest_version,
            ", ".join(f"{a}=v{v}" for a, v in m.aliases.items()),
            m.created_by,
        )
        for m in models
    ]
    _print_frame(pd.DataFrame(rows, columns=["model", "latest", "aliases", "created_by"]), "table")
    return 0


def cmd_models_versions(args: argparse.Namespace) -> int:
    """``workbench models versions NAME``: the model's versions with aliases,
    source run, training dataset, time and hash, as a table; 0. NotFound for an unknown
    model."""
    from workbench.registry import models as registry

    rows = [
        (v.ref, ", ".join(v.aliases), v.run_id[:12], v.dataset_ref, v.created_at, v.sha256[:12])
        for v in registry.list_versions(open_workspace(args.workspace), args.name)
    ]
    columns = ["version", "aliases", "run", "dataset", "created_at", "sha256"]
    _print_frame(pd.DataFrame(rows, columns=columns), "table")
    return 0


def cmd_models_register(args: argparse.Namespace) -> int:
    """``workbench models register RUN_ID NAME``: register the run's model as
    the next version of NAME and print it; 0."""
    from workbench.registry import models as registry

    v = registry.register_model(open_workspace(args.workspace), args.run_id, args.name)
    print(f"registered {v.ref} from run {v.run_id} (sha256 {v.sha256[:12]})")
    return 0


def cmd_models_alias(args: argparse.Namespace) -> int:
    """``workbench models alias NAME ALIAS VERSION [--reason TEXT] [--override]``:
    point the alias at the version and print the move (with the version before); 0.
    PermissionDenied where the role does not allow it (champion needs an admin)."""
    from workbench.registry import models as registry

    before = registry.set_alias(
        open_workspace(args.workspace),
        args.name,
        args.alias,
        args.version,
        reason=args.reason,
        override=args.override,
    )
    was = f" (was v{before})" if before is not None else ""
    print(f"{args.name}@{args.alias} -> v{args.version}{was}")
    return 0


def cmd_models_promote(args: argparse.Namespace) -> int:
    """Print each check of the gate; exit 0 when champion moved, 1 when the gate refused."""
    from workbench.registry import promotion

    verdict = promotion.promote(
        open_workspace(args.workspace),
        args.name,
        args.dataset,
        args.target,
        config=promotion.GateConfig(margin=args.margin),
        override=args.override,
        reason=args.reason,
    )
    for name, ok, detail in verdict.checks:
        print(f"{'pass' if ok else 'FAIL'}  {name}: {detail}")
    if verdict.allowed:
        print(f"{args.name}@champion moved: the gate allows it.")
        return 0
    if verdict.overridden:
        print(f"{args.name}@champion moved by an override; the audit log lists the waived checks.")
        return 0
    print(
        f"error: the gate refuses; {args.name}@champion did not move. An admin may override "
        "with --override --reason TEXT.",
        file=sys.stderr,
    )
    return 1


def cmd_models_compare(args: argparse.Namespace) -> int:
    """Print the comparison and each gate check; exit 0 when the gate allows promotion, 3
    when it refuses (as ``drift report --fail-on-drift``), 1 on an error."""
    from workbench.registry import promotion

    ws = open_workspace(args.workspace)
    choice = promotion.evaluation_choice(ws, args.name, target=args.target)
    dataset, target = args.dataset or choice.default, args.target or choice.target
    if dataset is None or target is None:
        raise InvalidInput(
            choice.note
            or "Give --dataset and --target: the models' label "
            "column is not recorded (no launch spec)."
        )
    result = promotion.compare(ws, args.name, dataset, target)
    verdict = promotion.gate(result)
    print(
        f"{result.champion} (champion) against {result.challenger} (challenger) on "
        f"{result.dataset}, {result.n_rows:,} labelled rows"
        + (f"; {result.data_note}" if result.data_note else "")
    )
    for name, ok, detail in verdict.checks:
        print(f"  {'ok    ' if ok else 'REFUSE'} {name}: {detail}")
    print("gate: " + ("promotion allowed" if verdict.allowed else "promotion refused"))
    return 0 if verdict.allowed else 3


def cmd_models_rollback(args: argparse.Namespace) -> int:
    """``workbench models rollback NAME ALIAS``: move the alias back to its
    previous version and print it; 0."""
    from workbench.registry import models as registry

    version = registry.rollback(open_workspace(args.workspace), args.name, args.alias)
    print(f"{args.name}@{args.alias} rolled back to v{version}")
    return 0


def cmd_models_export(args: argparse.Namespace) -> int:
    """``workbench models export REF TARGET``: write the version as a folder
    (model, signature, card, requirements) into TARGET, new or empty, whose parent must
    exist; 0. InvalidInput for an empty TARGET, a file, or a missing parent folder."""
    from workbench.registry import models as registry

    target = files.given_path(args.target, "export folder")  # "" is not "." (the cwd)
    if target.exists() and not target.is_dir():
        raise InvalidInput(f"{target} is a file; a model exports into a new or empty folder.")
    if not target.exists():
        files.check_output_path(target)  # its parent folder must exist (not created)
    out = registry.export_version(open_workspace(args.workspace), args.ref, target)
    print(f"wrote {out}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    """``workbench predict MODEL DATASET [--output NAME]``: score the dataset version
    with the model; the predictions become a new dataset version (default name
    ``<dataset>-scored``), and the outcome is printed; 0."""
    from workbench.registry import models as registry

    result = registry.score(
        open_workspace(args.workspace), args.model, args.dataset, output=args.output
    )
    print(result.message)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """``workbench serve MODEL [--host H] [--port P]`` (default 127.0.0.1:8600): answer
    scoring requests over HTTP until stopped, behind a :class:`workbench.team.tokens.Gate`;
    announces the URL once the model loads, and warns on stderr when the address is
    reachable from other machines. 0 when stopped."""
    from workbench.registry import serving as serve
    from workbench.team import tokens
    from workbench.team.tokens import Gate

    ws = open_workspace(args.workspace)
    gate = Gate(ws, args.model)

    def announce() -> None:  # only once the model is known to load
        where = network.url(args.host, args.port, "/predict")
        print(f"Serving {args.model} on {where} (Ctrl-C stops)")
        if gate.required():
            none = "" if tokens.list_active(ws) else " None exists yet."
            print(
                f"Requests need a serving token ('Authorization: Bearer wbt_...').{none} "
                "`workbench tokens create NAME` makes one."
            )
        if not _loopback(args.host):
            if gate.required():
                risk = (
                    "requests need a token, but plain HTTP carries it in clear: put a "
                    "TLS proxy in front"
                )
            else:
                risk = (
                    "/predict asks for no credential: anyone who reaches this port can "
                    "score with the model (and read its predictions); create a serving "
                    "token (`workbench tokens create NAME`) to require one"
                )
            print(
                f"warning: {args.host} is reachable from other machines, and {risk} "
                "(docs/operations.md, 'Serving a model').",
                file=sys.stderr,
            )
        sys.stdout.flush()

    serve.serve(ws, args.model, args.host, args.port, announce=announce, gate=gate)
    return 0


def _loopback(host: str) -> bool:
    """Whether ``host`` (an address or a name) only listens on this machine."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # another host name: it may resolve beyond this machine
        return False


def cmd_import_mlflow(args: argparse.Namespace) -> int:
    """``workbench import-mlflow URI``: import experiments, runs, params,
    metrics and tags from an MLflow SQLite store (``sqlite:///path`` or a path) and print a
    summary; 0."""
    from workbench.tracking import mlflow_import

    report = mlflow_import.import_store(open_workspace(args.workspace), args.uri, current_user())
    print(report.summary())
    return 0


def cmd_db_status(args: argparse.Namespace) -> int:
    """``workbench db status``: the database path, schema version against the
    code's head, pending and applied migrations; 0, or 1 when the database is newer than the
    code. Upgrades nothing; InvalidInput when the workspace folder does not exist."""
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
    """``workbench db upgrade``: apply the pending migrations (an existing database is
    first copied into ``backups/``) and print each, or say there is nothing to do; 0.
    SchemaOutOfDate when the database is newer than the code or a step fails."""
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
        records = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
        print(jsontext.dumps(records, default=str, indent=1))  # NaN and NULL: null
    elif frame.empty:
        print("(none)")
    else:
        # A table is read in a terminal: a tag value or column name holding U+202E or a
        # newline would reorder or break its line (csv and json carry the text as it is).
        frame = frame.map(lambda v: escape_invisible(v) if isinstance(v, str) else v)
        frame.columns = [escape_invisible(str(c)) for c in frame.columns]
        with pd.option_context(
            "display.max_columns", 12, "display.width", 160, "display.max_colwidth", 40
        ):
            print(frame.to_string(index=False))


if __name__ == "__main__":
    sys.exit(main())
