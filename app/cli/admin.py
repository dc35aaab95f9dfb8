"""`workbench users|tokens ...`, `workbench backup|restore|doctor`: administration from the
server's shell. Whoever runs the command line on the server acts as an admin (they can read
the workspace files anyway)."""

from __future__ import annotations

import argparse
import getpass
import sys
import time

from workbench import workspaces
from workbench.settings import workspace_path
from workbench.store.errors import InvalidInput
from workbench.team import auth, backup, tokens
from workbench.team.auth import ROLES
from workbench.workspaces import open_workspace


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add the ``users``, ``tokens``, ``backup``, ``restore``, ``doctor`` and
    ``demo`` subcommands to ``sub`` (the main parser's subparsers), each with its ``cmd_*``
    function as ``func``."""
    users = sub.add_parser("users", help="team-mode accounts and roles").add_subparsers(
        dest="users_command", required=True, metavar="SUBCOMMAND"
    )
    add = users.add_parser("add", help="create an account (asks for its password)")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, default="viewer", help="default viewer")
    _password_stdin(add)
    add.set_defaults(func=cmd_users_add)
    users.add_parser("list", help="accounts, roles, and which are disabled").set_defaults(
        func=cmd_users_list
    )
    role = users.add_parser("set-role", help="change an account's role")
    role.add_argument("name")
    role.add_argument("role", choices=ROLES)
    role.set_defaults(func=cmd_users_set_role)
    off = users.add_parser("disable", help="disable an account (its sessions end at once)")
    off.add_argument("name")
    off.add_argument("--enable", action="store_true", help="enable it again instead")
    off.set_defaults(func=cmd_users_disable)
    reset = users.add_parser("reset-password", help="set a new password (asks for it)")
    reset.add_argument("name")
    _password_stdin(reset)
    reset.set_defaults(func=cmd_users_reset_password)

    tokens = sub.add_parser("tokens", help="serving tokens for `workbench serve`").add_subparsers(
        dest="tokens_command", required=True, metavar="SUBCOMMAND"
    )
    make = tokens.add_parser("create", help="make a token (admins; its text is shown once)")
    make.add_argument("name", help="a label: who or what uses it, e.g. billing-service")
    make.set_defaults(func=cmd_tokens_create)
    tokens.add_parser("list", help="tokens, active and revoked, with their use").set_defaults(
        func=cmd_tokens_list
    )
    revoke = tokens.add_parser("revoke", help="revoke a token (refused from the next request)")
    revoke.add_argument("name")
    revoke.set_defaults(func=cmd_tokens_revoke)

    bak = sub.add_parser(
        "backup",
        help="write one consistent archive of the database, the "
        "blobs and the run logs (safe while the app runs)",
    )
    bak.add_argument(
        "target", help="a new file outside the workspace: .tar, or .tar.gz to compress"
    )
    bak.set_defaults(func=cmd_backup)
    res = sub.add_parser(
        "restore",
        help="unpack a backup into an empty workspace folder, check it, and report as doctor does",
    )
    res.add_argument("archive")
    res.add_argument("target", help="the new workspace folder (new or empty)")
    res.set_defaults(func=cmd_restore)
    doc = sub.add_parser(
        "doctor",
        help="check that every blob the database names exists and matches its sha256; list orphans",
    )
    doc.add_argument(
        "--fix",
        action="store_true",
        help=f"remove orphans older than "
        f"{backup.ORPHAN_GRACE / 60:.0f} minutes, and what killed backups and "
        "restores left",
    )
    doc.add_argument(
        "--quick", action="store_true", help="check that blobs exist, without re-hashing them"
    )
    doc.set_defaults(func=cmd_doctor)

    demo = sub.add_parser(
        "demo",
        help="seed the churn story of sample_data/ into an empty "
        "workspace (datasets, sweeps, a champion, drift, the loop)",
    )
    demo.add_argument(
        "--reset",
        action="store_true",
        help="delete a demo workspace first (only one `workbench demo` seeded)",
    )
    demo.add_argument(
        "--force",
        action="store_true",
        help="with --reset: delete the workspace "
        "even while a run in it is still logging (its data is lost)",
    )
    demo.set_defaults(func=cmd_demo)

    db = sub.add_parser("db", help="the workspace database").add_subparsers(
        dest="db_command", required=True, metavar="SUBCOMMAND"
    )
    db.add_parser("status", help="schema version and pending migrations").set_defaults(
        func=cmd_db_status
    )
    db.add_parser("upgrade", help="back up, then migrate the schema to head").set_defaults(
        func=cmd_db_upgrade
    )


def _password_stdin(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from standard input (for scripts)",
    )


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    try:
        first = getpass.getpass(f"Password for {args.name}: ")
        again = getpass.getpass("Again: ")
    except EOFError:  # no terminal to type in, or its input ended
        raise InvalidInput(
            "No password was given (the input ended). Type it at the prompt, or pipe it in "
            "with --password-stdin; nothing was changed."
        ) from None
    if again != first:
        raise InvalidInput("The two passwords differ; nothing was changed.")
    return first


def cmd_users_add(args: argparse.Namespace) -> int:
    """``workbench users add NAME [--role R] [--password-stdin]``: create the account
    (the password asked twice at the prompt, or read as one line from stdin); 0.
    InvalidInput for a bad name, role or password, or prompts that differ; AlreadyExists for
    a taken name."""
    ws = open_workspace(args.workspace)
    user = auth.add_user(ws, args.name, _password(args), args.role)
    print(f"added {user.name} ({user.role}) to the workspace {ws.root}")
    return 0


def cmd_users_list(args: argparse.Namespace) -> int:
    """``workbench users list``: each account's name, role, state and who made it
    when (or that the workspace has none, so is single-user); 0."""
    ws = open_workspace(args.workspace)
    users = auth.list_users(ws)
    if not users:
        print(
            f"No accounts in the workspace {ws.root}: it is a single-user workspace. "
            "`workbench users add NAME --role admin` makes it a team one."
        )
    for u in users:
        state = "disabled" if u.disabled else "active"
        print(
            f"{u.name:<24} {u.role:<7} {state:<8} since {u.created_at:%Y-%m-%d} by {u.created_by}"
        )
    return 0


def cmd_users_set_role(args: argparse.Namespace) -> int:
    """``workbench users set-role NAME ROLE``: change the account's role; 0.
    NotFound for no such user; InvalidInput when it would leave no active admin."""
    user = auth.set_role(open_workspace(args.workspace), args.name, args.role)
    print(f"{user.name} is now {user.role}")
    return 0


def cmd_users_disable(args: argparse.Namespace) -> int:
    """``workbench users disable NAME [--enable]``: disable the account (its open
    sessions end at once) or enable it again; 0. NotFound for no such user; InvalidInput for
    the last active admin."""
    user = auth.set_disabled(open_workspace(args.workspace), args.name, not args.enable)
    print(f"{user.name} is {'disabled' if user.disabled else 'enabled'}")
    return 0


def cmd_users_reset_password(args: argparse.Namespace) -> int:
    """``workbench users reset-password NAME [--password-stdin]``: set a new
    password (asked as for ``users add``), which ends the account's sessions; 0. NotFound
    for no such user; InvalidInput for a short password."""
    user = auth.reset_password(open_workspace(args.workspace), args.name, _password(args))
    print(f"new password set for {user.name}")
    return 0


def cmd_tokens_create(args: argparse.Namespace) -> int:
    """``workbench tokens create NAME``: make a serving token and print its text,
    the only time it is shown; 0. InvalidInput for a bad name; AlreadyExists when an active
    token has that name."""
    ws = open_workspace(args.workspace)
    token, text = tokens.create_token(ws, args.name)
    print(
        f"created serving token {token.name} ({token.token_id}) in the workspace {ws.root}. "
        "Its text, shown only now:"
    )
    print(text)
    print(
        "Clients send it as 'Authorization: Bearer <token>'. Keep it secret; revoke it with "
        f"`workbench tokens revoke {token.name}`."
    )
    return 0


def cmd_tokens_list(args: argparse.Namespace) -> int:
    """``workbench tokens list``: one line per token, active and revoked, with its
    use (:func:`workbench.team.tokens.describe`); 0."""
    found = tokens.list_tokens(open_workspace(args.workspace))
    if not found:
        print("no serving tokens; `workbench tokens create NAME` makes one")
    for token in found:
        print(tokens.describe(token))
    return 0


def cmd_tokens_revoke(args: argparse.Namespace) -> int:
    """``workbench tokens revoke NAME``: revoke the active token of that name
    (servers refuse it from their next request); warns on stderr when the endpoint then needs
    no token at all. 0; NotFound when no active token has that name."""
    ws = open_workspace(args.workspace)
    token = tokens.revoke_token(ws, args.name)
    print(f"revoked {token.name} ({token.token_id}); servers refuse it from the next request")
    if warning := tokens.open_after_revoke(ws):
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    """``workbench backup TARGET``: write a ``.tar`` or ``.tar.gz`` archive of the
    workspace (safe while the app runs) and print what it holds, warning about blobs the
    database names but that are missing; 0. InvalidInput for a target that exists, lies in
    the workspace or has another suffix."""
    r = backup.backup(open_workspace(args.workspace), args.target)
    print(
        f"wrote {r.path}: schema v{r.schema_version}, {r.blobs:,} blobs, "
        f"{r.bytes / 1e6:,.1f} MB before packing"
    )
    for sha in r.missing:
        print(f"  warning: blob {sha} is named by the database but missing; run doctor")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    """``workbench restore ARCHIVE TARGET``: unpack a backup into TARGET (new or
    empty) and print doctor's report of it; 0 when clean, 2 when the report found problems.
    InvalidInput (TARGET left as it was) for a missing or unreadable archive or a TARGET that
    is not empty."""
    report = backup.restore(args.archive, args.target)
    print(f"restored into {args.target}")
    for line in report.lines():
        print(f"  {line}")
    return 0 if report.clean else 2


def cmd_doctor(args: argparse.Namespace) -> int:
    """``workbench doctor [--fix] [--quick]``: check that every blob the database names
    exists (and, without ``--quick``, still matches its sha256) and list orphans; ``--fix``
    removes orphans and leftovers older than ``ORPHAN_GRACE``. Prints the report; 0 when
    clean, 2 otherwise."""
    report = backup.doctor(open_workspace(args.workspace), fix=args.fix, verify=not args.quick)
    for line in report.lines():
        print(line)
    return 0 if report.clean else 2


def cmd_demo(args: argparse.Namespace) -> int:
    """``workbench demo [--reset [--force]]``: seed the churn story into an empty
    workspace (``--reset`` first deletes a demo workspace, see :func:`workbench.demo.reset`),
    printing each step; 0. InvalidInput for a workspace that already has data, or a reset of
    a folder that is not a demo or (without ``--force``) has a run still logging."""
    from workbench import demo

    root = workspace_path(args.workspace)
    if args.reset:
        demo.reset(root, force=args.force)
    started = time.perf_counter()
    ws = open_workspace(str(root))
    demo.seed(ws, progress=lambda step: print(f"  {step}", flush=True))
    print(f"demo seeded in {time.perf_counter() - started:.0f} s: {ws.root}")
    return 0


def cmd_db_status(args: argparse.Namespace) -> int:
    """``workbench db status``: the database path, schema version against the
    code's head, pending and applied migrations; 0, or 1 when the database is newer than the
    code. Upgrades nothing; InvalidInput when the workspace folder does not exist."""
    st = workspaces.schema_status(args.workspace)
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
    applied = workspaces.upgrade_schema(args.workspace)
    if not applied:
        print(f"already at schema version {workspaces.SCHEMA_HEAD}; nothing to do")
    for step in applied:
        print(f"applied {step.version}: {step.name}")
    return 0
