"""The ``workbench`` command line. Thin: parse, call one service, print.

A :class:`WorkbenchError` prints one line (``error: ...``) on stderr and exits 1.
"""

from __future__ import annotations

import argparse
import getpass
import os
import secrets
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Sequence
from pathlib import Path

from workbench.cli import admin as cli_admin
from workbench.cli import datasets as cli_datasets
from workbench.cli import drift as cli_drift
from workbench.cli import models as cli_models
from workbench.cli import tracking as cli_tracking
from workbench.cli import ui as cli_ui
from workbench.settings import WORKSPACE_ENV, workspace_path
from workbench.store.errors import WorkbenchError
from workbench.team import auth
from workbench.team.auth import current_user
from workbench.validation import visible_name
from workbench.workspaces import open_workspace


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
        help=f"workspace folder (default: ${WORKSPACE_ENV}, else the nearest workspace/ "
        "with a database in this folder or a parent, else ./workspace)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    cli_ui.add_commands(sub)
    cli_tracking.add_commands(sub)
    cli_datasets.add_commands(sub)
    cli_models.add_commands(sub)
    cli_drift.add_commands(sub)
    cli_admin.add_commands(sub)
    return parser


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


if __name__ == "__main__":
    sys.exit(main())
