"""`workbench ui`: the web app, served from this process."""

from __future__ import annotations

import argparse
import math
import os
import shlex
import sys
from pathlib import Path

from workbench import network
from workbench.settings import WORKSPACE_ENV, Settings
from workbench.team import auth
from workbench.workspaces import open_workspace

MAIN_SCRIPT = Path(__file__).resolve().parents[1] / "ui" / "entry" / "main.py"


def add_commands(sub: argparse._SubParsersAction) -> None:
    """`workbench ui`."""
    ui = sub.add_parser("ui", help="start the web app (creates the workspace on first start)")
    ui.add_argument("--port", type=int, default=8501, help="port to serve on (default 8501)")
    ui.add_argument("--host", default="localhost", help="address to bind (default localhost)")
    ui.add_argument(
        "--team",
        action="store_true",
        help="team mode: every page needs a login (accounts: `workbench users add`)",
    )
    ui.set_defaults(func=cmd_ui)


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
