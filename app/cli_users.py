"""`workbench users ...`: team-mode accounts from the server's shell. Whoever runs the
command line on the server acts as an admin (it can read the workspace files anyway)."""

from __future__ import annotations

import argparse
import getpass
import sys

from app import auth
from app.workspace import open_workspace
from store.errors import InvalidInput
from store.users import ROLES


def add_commands(sub: argparse._SubParsersAction) -> None:
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


def _password_stdin(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--password-stdin", action="store_true",
                        help="read the password from standard input (for scripts)")  # fmt: skip


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass(f"Password for {args.name}: ")
    if getpass.getpass("Again: ") != first:
        raise InvalidInput("The two passwords differ; nothing was changed.")
    return first


def cmd_users_add(args: argparse.Namespace) -> int:
    user = auth.add_user(open_workspace(args.workspace), args.name, _password(args), args.role)
    print(f"added {user.name} ({user.role})")
    return 0


def cmd_users_list(args: argparse.Namespace) -> int:
    for u in auth.list_users(open_workspace(args.workspace)):
        state = "disabled" if u.disabled else "active"
        print(f"{u.name:<24} {u.role:<7} {state:<8} since {u.created_at:%Y-%m-%d} by "
              f"{u.created_by}")  # fmt: skip
    return 0


def cmd_users_set_role(args: argparse.Namespace) -> int:
    user = auth.set_role(open_workspace(args.workspace), args.name, args.role)
    print(f"{user.name} is now {user.role}")
    return 0


def cmd_users_disable(args: argparse.Namespace) -> int:
    user = auth.set_disabled(open_workspace(args.workspace), args.name, not args.enable)
    print(f"{user.name} is {'disabled' if user.disabled else 'enabled'}")
    return 0


def cmd_users_reset_password(args: argparse.Namespace) -> int:
    user = auth.reset_password(open_workspace(args.workspace), args.name, _password(args))
    print(f"new password set for {user.name}")
    return 0
