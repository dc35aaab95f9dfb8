"""Who is acting, what their role allows, and team-mode accounts.

Single-user mode (the default): no login; whoever runs the process acts as an admin, named
by WORKBENCH_USER or the login name. Team mode (WORKBENCH_TEAM=1, `workbench ui --team`):
every page asks for a login, and each browser session acts as its user, with the role the
users table gives it now (a disabled account or a changed role takes effect on the next
click). Sessions expire after WORKBENCH_SESSION_HOURS.

Roles are enforced here, in the service layer, not by hiding buttons: every mutating
service verb is decorated with :func:`requires`, and a call by someone whose role is below
is refused with ``PermissionDenied`` and recorded in the audit log (``auth.denied``).

* viewer: reads everything;
* editor: registers data, launches runs, registers models, moves aliases other than
  champion, runs reports, sets monitors;
* admin: also moves ``champion``, promotes, rolls back, purges, deletes versions, manages
  users.

Who is acting, in order: :func:`acting_as` (tests), the Streamlit session's principal
when called from a page (fragments included: it is read from the session each time, not
from the thread), else the process itself as an admin (the CLI, notebooks, and the
server's background work such as the inbox and monitors): on a single-user workspace
named by WORKBENCH_USER or the login name; on a team workspace (one with accounts) named
by the operating system's account, ``shell:LOGIN``, because the process proves no login
and whoever can write the workspace folder can change anything in it anyway. There a
WORKBENCH_USER that differs is recorded as an unverified claim (``shell:LOGIN (claims
NAME)``), never taken as the identity (issue 16: a viewer's name moved the champion).

Passwords are hashed with argon2id (argon2-cffi; a salt per hash), never stored or logged.
"""

from __future__ import annotations

import functools
import getpass
import hashlib
import inspect
import os
import secrets
import unicodedata
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from workbench import settings
from workbench.listing import Listing, check_limit
from workbench.store import audit
from workbench.store import login_sessions as sessions
from workbench.store import users as q
from workbench.store.entities import utcnow
from workbench.store.errors import AlreadyExists, InvalidInput, NotFound, PermissionDenied
from workbench.store.users import ROLES, User
from workbench.store.workspace import Workspace
from workbench.validation import shows_blank, visible_name

if TYPE_CHECKING:
    import pandas as pd

RANK = {"none": -1, "viewer": 0, "editor": 1, "admin": 2}
MIN_PASSWORD = 10
SESSION_KEY = "workbench_principal"

# Every guarded verb: "module.function" -> the role it needs (or a rule of its arguments).
VERBS: dict[str, str | Callable[..., str]] = {}
VERB_FUNCTIONS: dict[str, str] = {}  # verb -> the function's dotted path

# What each guarded verb does, as a refusal says it ("ed is an editor; rolling back an alias
# needs the admin role (registry.rollback)"): the verb's name alone read like code.
# tests/test_auth.py checks that every guarded verb has its words here.
ACTIONS: dict[str, str] = {
    "datasets.recheck": "checking a version against the contract",
    "datasets.register": "registering a dataset version",
    "datasets.register_upload": "registering an uploaded dataset version",
    "datasets.save_contract": "saving a dataset contract",
    "drift.retrain": "retraining a model after drift",
    "drift.run_report": "running a drift report",
    "drift.set_monitor": "setting up a drift monitor",
    "registry.delete_version": "deleting a model version",
    "registry.promote": "promoting a challenger to champion",
    "registry.register_model": "registering a model version",
    "registry.remove_alias": "removing an alias",
    "registry.rollback": "rolling back an alias",
    "registry.score": "scoring a dataset with a model",
    "registry.set_alias": "moving an alias",
    "registry.update_card": "editing a model card",
    "team._remove_orphans": "removing orphaned files",
    "team.add_user": "adding a user",
    "team.audit_events": "reading the audit log",
    "team.audit_facets": "reading the audit log",
    "team.audit_log": "reading the audit log",
    "team.backup": "backing up the workspace",
    "team.create_token": "creating a serving token",
    "team.reset_password": "resetting a password",
    "team.revoke_token": "revoking a serving token",
    "team.set_disabled": "disabling or enabling an account",
    "team.set_role": "changing a role",
    "tracking.create_run": "creating a run",
    "tracking.import_store": "importing an MLflow store",
    "tracking.purge_runs": "deleting trashed runs for good",
    "tracking.restore_runs": "restoring runs from the trash",
    "tracking.tag_runs": "tagging runs",
    "tracking.trash_runs": "moving runs to the trash",
    "training.cancel": "cancelling a run",
    "training.launch": "launching a run or a sweep",
    "training.run_again": "running a run again",
}

_hasher = PasswordHasher()
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Principal:
    """Who acts (``name``, as the audit log records it) and with which role."""

    name: str
    role: str  # viewer | editor | admin | none (a team-mode session not logged in)


_acting: ContextVar[Principal | None] = ContextVar("workbench_acting", default=None)


@contextmanager
def acting_as(principal: Principal) -> Iterator[Principal]:
    """Within the block (this thread or task: a context variable), act as ``principal``,
    ahead of any browser session or the process's own identity. Yields ``principal``."""
    token = _acting.set(principal)
    try:
        yield principal
    finally:
        _acting.reset(token)


def current() -> Principal:
    """Who acts now, in the order of the module docstring: :func:`acting_as`, else the
    browser session's principal, else the process as an admin named by
    ``settings.current_user()``. Its role as recorded then; :func:`effective` reads the
    role from the users table now."""
    explicit = _acting.get()
    if explicit is not None:
        return explicit
    session = _session_principal()
    if session is not None:
        return session
    return Principal(settings.current_user(), "admin")


def current_user() -> str:
    """The name recorded as author of a change."""
    return current().name


def verb_name(module: str, function: str) -> str:
    """The name a guarded verb goes by in refusals and the audit log: its domain and its
    function (``workbench.registry.models.set_alias`` -> ``registry.set_alias``), or the
    module for a module at the package's top (``workbench.demo.seed`` -> ``demo.seed``)."""
    parts = module.split(".")
    return f"{parts[1] if len(parts) > 1 else parts[0]}.{function}"


def requires(role: str | Callable[..., str]) -> Callable[[F], F]:
    """Guard a service verb ``f(ws, ...)``: refuse (and audit) a principal below ``role``.
    ``role`` may be a function of the verb's other arguments (e.g. moving champion). The
    verb is named by :func:`verb_name`; two verbs of one name are a programming error
    (RuntimeError at import)."""

    def wrap(fn: F) -> F:
        verb = verb_name(fn.__module__, fn.__name__)
        where = f"{fn.__module__}.{fn.__qualname__}"
        if VERB_FUNCTIONS.setdefault(verb, where) != where:
            raise RuntimeError(f"two guarded verbs are named {verb}; rename one")
        VERBS[verb] = role
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def guarded(ws: Workspace, *args: Any, **kwargs: Any) -> Any:
            needed = role(*args, **kwargs) if callable(role) else role
            if _acting.get() is None and _session_principal() is None and is_team(ws):
                # The command line or a notebook on a team workspace: proves no login, so
                # it acts as the admin it is (it can write the workspace files), under
                # its true name, never as the name WORKBENCH_USER merely claims.
                with acting_as(shell_principal()) as who:
                    _say_the_claim_is_not_an_identity(who)
                    check(ws, needed, verb)
                    if "user" in signature.parameters:  # the verb's author argument too
                        bound = signature.bind(ws, *args, **kwargs)
                        bound.arguments["user"] = who.name
                        return fn(*bound.args, **bound.kwargs)
                    return fn(ws, *args, **kwargs)
            check(ws, needed, verb)
            return fn(ws, *args, **kwargs)

        return guarded  # type: ignore[return-value]

    return wrap


class ClaimIgnored(UserWarning):
    """Warned once per process when a notebook or script on a team workspace names someone
    else in WORKBENCH_USER (or LOGNAME/USER): it acts as the OS account, not as that name.
    The command line says the same in its own words and filters this warning out."""


_claims_said: set[str] = set()


def _say_the_claim_is_not_an_identity(who: Principal) -> None:
    if " (claims " not in who.name or who.name in _claims_said:
        return
    _claims_said.add(who.name)
    warnings.warn(
        ClaimIgnored(
            f"the name {visible_name(settings.current_user())} (from WORKBENCH_USER, LOGNAME "
            "or USER) proves no login: on this team workspace this process acts as an admin "
            f"named {who.name} in the audit log and as the author of what it writes (whoever "
            "can write the workspace folder can change anything in it)."
        ),
        stacklevel=4,
    )


_team_seen: dict[str, tuple[tuple, bool]] = {}


def is_team(ws: Workspace) -> bool:
    """Whether ``ws`` is a team workspace: it has at least one user account (read again
    only when the database's generation changes)."""
    generation = ws.store.generation()
    key = str(ws.paths.db)
    seen = _team_seen.get(key)
    if seen is not None and seen[0] == generation:
        return seen[1]
    team = ws.store.read(q.count) > 0
    _team_seen[key] = (generation, team)
    return team


def os_account() -> str:
    """The name of the account this process runs as, from the user database by its
    effective uid (``pwd``), not from ``LOGNAME``/``USER``, which anyone can set (as
    ``getpass.getuser`` reads them first); the uid as ``uid:N`` if it has no entry."""
    try:
        import pwd

        return pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError, OSError, AttributeError):  # no pwd (Windows), or no entry
        try:
            return f"uid:{os.geteuid()}"
        except AttributeError:
            return getpass.getuser()


def shell_principal() -> Principal:
    """Who a process with no login is on a team workspace: an admin (whoever can write the
    workspace folder can change anything in it) named by the operating system's account
    (:func:`os_account`), ``shell:LOGIN``; a different WORKBENCH_USER (or LOGNAME/USER) is
    shown as an unverified claim, ``shell:LOGIN (claims NAME)``, never taken as the
    identity."""
    login = os_account()
    claim = visible_name(settings.current_user())  # escaped: it must not forge a line
    name = f"shell:{login}" if claim == login else f"shell:{login} (claims {claim})"
    return Principal(name, "admin")


def effective(ws: Workspace) -> Principal:
    """The acting principal with its role now: a browser session's as the users table says
    (a disabled or deleted account: role "none"); otherwise :func:`current`."""
    who = current()
    if who is _session_principal() and who.role != "none":
        try:  # a browser session: its role as the users table says now
            token = _token_lookup()
            if token is None:
                return principal_of(ws, who.name)
            resumed = resume_session(ws, token)  # a form login: ended in another tab?
            return resumed[0] if resumed is not None else Principal(who.name, "none")
        except PermissionDenied:
            who = Principal(who.name, "none")
    return who


def allows(ws: Workspace, role: str) -> bool:
    """Whether the acting principal has at least ``role`` now. For pages, to show a clear
    refusal instead of a control that would fail; the services still check every call
    (:func:`requires`). In single-user mode it is always True: the process's user is an
    admin."""
    return RANK[effective(ws).role] >= RANK[role]


def _article(word: str) -> str:
    """'an' before a vowel sound (an editor, an admin), else 'a' (a viewer)."""
    return "an" if word[:1].lower() in "aeiou" else "a"


def check(ws: Workspace, needed: str, verb: str) -> None:
    """Refuse the acting principal (:func:`effective`) if its role ranks below ``needed``:
    audit ``auth.denied`` for ``verb`` ("module.function") and raise PermissionDenied ("Log
    in first" for a session not logged in). Returns None when allowed."""
    who = effective(ws)
    if RANK[who.role] >= RANK[needed]:
        return
    ws.store.write(
        lambda tx: audit.record(
            tx,
            actor=who.name,
            action="auth.denied",
            object_type="verb",
            object_id=verb,
            detail={"role": who.role, "needs": needed},
        )
    )
    action = f"{ACTIONS[verb]} ({verb})" if verb in ACTIONS else verb
    if who.role == "none":
        raise PermissionDenied(f"Log in first: {action} needs the {needed} role.")
    raise PermissionDenied(
        f"{who.name} is {_article(who.role)} {who.role}; {action} needs the {needed} role. "
        "Ask an admin to change your role."
    )


# -- accounts ---------------------------------------------------------------------------------


def check_role(role: str) -> str:
    """``role`` if it is one of ``ROLES`` (viewer, editor, admin); else InvalidInput."""
    if role not in ROLES:
        raise InvalidInput(f"Unknown role {role!r}; use one of {', '.join(ROLES)}.")
    return role


def check_password(password: str) -> str:
    """``password`` if it is a str of at least ``MIN_PASSWORD`` (10) characters; else
    InvalidInput. Length is the only rule (no required character classes)."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise InvalidInput(f"A password needs at least {MIN_PASSWORD} characters.")
    return password


# Actors the workbench itself records in the audit log (the monitor's retraining, a refused
# anonymous request, the workbench's own upkeep, an empty login name): no account may take
# one of these names. (A shell's actor, ``shell:LOGIN``, has a ':' no account name can hold.)
RESERVED_ACTORS = frozenset({"monitor", "anonymous", "workbench", "(empty)"})


def check_account_name(name: str, kind: str = "User name") -> str:
    """``name`` stripped, if it is 1 to 64 characters: letters, digits, '.',
    '_', '-', '@'; else InvalidInput naming ``kind``. For accounts and serving tokens."""
    name = (name or "").strip() if isinstance(name, str) else ""
    # (a filler such as U+3164 counts as a letter to str.isalnum, yet shows as nothing)
    allowed = all((c.isalnum() and not shows_blank(c)) or c in "._-@" for c in name)
    if not name or len(name) > 64 or not allowed:
        raise InvalidInput(f"{kind} {name!r}: use 1 to 64 letters, digits, '.', '_', '-' or '@'.")
    if (usual := unicodedata.normalize("NFKC", name)) != name:  # fullwidth letters, ligatures...
        raise InvalidInput(
            f"{kind} {name!r} has a character with a usual form: write it as {usual!r} "
            "(a look-alike of another name otherwise)."
        )
    if set(name) == {"."}:
        raise InvalidInput(f"{kind} {name!r} is only dots; use letters or digits too.")
    if name.casefold() in RESERVED_ACTORS:
        raise InvalidInput(
            f"{kind} {name!r} is reserved: the audit log names the workbench's own actions "
            "so, and an account of that name could not be told apart from them. Choose another."
        )
    return name


@requires("admin")
def add_user(ws: Workspace, name: str, password: str, role: str = "viewer") -> User:
    """Create the account ``name`` with ``role`` and ``password`` (stored only as its
    argon2id hash: argon2-cffi's defaults, RFC 9106's low-memory profile), audited as
    ``user.add``; returns it. The first account makes the workspace a team one.
    InvalidInput for a bad name (:func:`check_account_name`), role or password
    (:func:`check_password`); AlreadyExists for a taken name; PermissionDenied below admin."""
    name, role = check_account_name(name), check_role(role)
    hashed = _hasher.hash(check_password(password))
    now = utcnow()
    # From a shell, the author is the shell's principal, as on a team workspace: the first
    # account (which makes the workspace a team one) was recorded "by root", later ones "by
    # shell:root", and an account named root could not be told from the first author.
    outside = _acting.get() is None and _session_principal() is None
    user = User(
        name=name,
        role=role,
        disabled=False,
        created_at=now,
        created_by=shell_principal().name if outside else current_user(),
        password_changed_at=now,
    )

    def work(tx) -> None:
        if q.get(tx, name) is not None:
            raise AlreadyExists(f"User {name!r} exists; use set-role or reset-password.")
        q.insert(tx, user, hashed)
        audit.record(
            tx,
            actor=user.created_by,
            action="user.add",
            object_type="user",
            object_id=name,
            detail={"role": role},
        )

    ws.store.write(work)
    return user


@requires("admin")
def set_role(ws: Workspace, name: str, role: str) -> User:
    """Give the account ``name`` the role ``role`` (effective at its next click), audited
    with the role before and after; returns the account after. InvalidInput for an unknown
    role or when it would leave no active admin; NotFound for no such user;
    PermissionDenied below admin."""
    check_role(role)
    return _change(ws, name, "user.set_role", role=role)


@requires("admin")
def set_disabled(ws: Workspace, name: str, disabled: bool = True) -> User:
    """Disable (or enable again) the account ``name``. Disabling ends its open login
    sessions in the same transaction: enabling it later does not bring them back, the user
    logs in again. NotFound for no such user; InvalidInput for the last active admin."""
    action = "user.disable" if disabled else "user.enable"
    return _change(ws, name, action, end_sessions=disabled, disabled=disabled)


@requires("admin")
def reset_password(ws: Workspace, name: str, password: str) -> User:
    """Set a new password for ``name`` (hashed as in :func:`add_user`), audited without the
    password. The reset ends the account's open sessions (:func:`principal_of`) and lifts
    its login throttle (:func:`login`). InvalidInput for a short password; NotFound for no
    such user; PermissionDenied below admin."""
    hashed = _hasher.hash(check_password(password))
    return _change(
        ws, name, "user.reset_password", password_hash=hashed, password_changed_at=utcnow()
    )


def _change(
    ws: Workspace, name: str, action: str, end_sessions: bool = False, **values: Any
) -> User:
    def work(tx) -> User:
        before = q.get(tx, name)
        if before is None:
            raise NotFound(f"No user {name!r}; `workbench users list` shows who exists.")
        q.update(tx, name, **values)
        after = q.get(tx, name)
        if before.role == "admin" and not before.disabled and q.admins(tx) == 0:
            raise InvalidInput(f"{name} is the last active admin; make someone else admin first.")
        if end_sessions:
            sessions.end_for_user(tx, name, utcnow())
        shown = {k: v for k, v in values.items() if "password" not in k}
        audit.record(
            tx,
            actor=current_user(),
            action=action,
            object_type="user",
            object_id=name,
            detail={"before": {k: getattr(before, k) for k in shown}, "after": shown},
        )
        return after

    return ws.store.write(work)


def list_users(ws: Workspace) -> list[User]:
    """Every account, disabled ones included, by name."""
    return ws.store.read(q.all_users)


def has_admin(ws: Workspace) -> bool:
    """Whether at least one account is an admin and not disabled."""
    return ws.store.read(q.admins) > 0


@requires("admin")
def audit_events(
    ws: Workspace,
    *,
    actor: str | None = None,
    object_type: str | None = None,
    action: str | None = None,
    text: str | None = None,
    since=None,
    limit: int | None = 5000,
) -> pd.DataFrame:
    """The audit log, newest first, filtered (see :func:`store.audit.search`); at most
    ``limit`` events (None: all; :func:`audit_log` also says how many match); admins only
    in team mode, as the Admin page is."""
    return audit_log(
        ws, actor=actor, object_type=object_type, action=action, text=text, since=since, limit=limit
    ).items


@requires("admin")
def audit_log(
    ws: Workspace,
    *,
    actor: str | None = None,
    object_type: str | None = None,
    action: str | None = None,
    text: str | None = None,
    since=None,
    limit: int | None = 5000,
) -> Listing[pd.DataFrame]:
    """:func:`audit_events` with the number of matching events, counted in the same read:
    ``.items`` is the frame, ``.total`` the count, ``.note("events")`` says "showing 5,000
    of 12,345 events" when the limit left some out."""
    filters = {
        "actor": actor,
        "object_type": object_type,
        "action": action,
        "text": text,
        "since": since,
    }
    limit = check_limit(limit, "limit")
    return ws.store.read(
        lambda tx: Listing(audit.search(tx, **filters, limit=limit), audit.count(tx, **filters))
    )


@requires("admin")
def audit_facets(ws: Workspace) -> dict[str, list[str]]:
    """The actors and object types in the audit log, for the Admin page's filters."""
    return ws.store.read(audit.facets)


# The address of a connection from this machine (127.0.0.1 or ::1, for which Streamlit gives
# no address): a local browser, or a reverse proxy on this host (then every attempt through
# the proxy shares it, and so shares its per-address throttle).
LOOPBACK = "loopback"


def record_outside_login(ws: Workspace, name: str, via: str, address: str | None) -> None:
    """Audit a login made outside the login form (``via`` "proxy header" or "identity
    provider"), with the client ``address`` as the form's logins have it."""
    detail = {"via": via} | ({"address": address} if address else {})
    ws.store.write(
        lambda tx: audit.record(
            tx, actor=name, action="auth.login", object_type="user", object_id=name, detail=detail
        )
    )


# Failed logins allowed per account and per client address in a sliding window before
# further attempts are refused (the right password too) until the window has passed.
# OWASP's authentication cheat sheet: throttle by account and by source, and log it.
THROTTLE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20


def login(ws: Workspace, name: str, password: str, address: str | None = None) -> Principal:
    """The principal for a correct name and password of an active account; otherwise
    PermissionDenied with one message for every failure (no hint which part was wrong).
    After MAX_FAILURES_PER_ACCOUNT failed logins for the account, or
    MAX_FAILURES_PER_ADDRESS from the client ``address``, within THROTTLE_WINDOW, every
    attempt is refused, without checking the password, until the window has passed.
    Every outcome is audited (the address with it)."""
    name = (name or "").strip()
    address = address if isinstance(address, str) and address else None  # unknown: None
    detail = {"address": address} if address else None
    since = utcnow() - THROTTLE_WINDOW

    def count(tx) -> tuple[int, int]:
        user = q.get(tx, name) if name else None
        # a password reset by an admin lifts the account's pause (not the address's)
        mark = max(since, user.password_changed_at) if user is not None else since
        return (
            audit.failed_logins(tx, since=mark, name=name or "(empty)"),
            audit.failed_logins(tx, since=since, address=address),
        )

    failures = ws.store.read(count)
    if failures[0] >= MAX_FAILURES_PER_ACCOUNT or failures[1] >= MAX_FAILURES_PER_ADDRESS:
        throttled = {**(detail or {}), "failures": failures[0], "from_address": failures[1]}
        ws.store.write(
            lambda tx: audit.record(
                tx,
                actor=name or "(empty)",
                action="auth.login_throttled",
                object_type="user",
                object_id=name or "(empty)",
                detail=throttled,
            )
        )
        minutes = int(THROTTLE_WINDOW.total_seconds() // 60)
        if failures[0] >= MAX_FAILURES_PER_ACCOUNT:
            raise PermissionDenied(
                f"Too many failed logins in the last {minutes} minutes; logging in is paused "
                f"for this account. Try again in {minutes} minutes, or ask an admin to reset "
                "the password (that lifts the pause)."
            )
        raise PermissionDenied(
            f"Too many failed logins from this address in the last {minutes} minutes; "
            f"logging in from it is paused. Try again in {minutes} minutes."
        )
    hashed = ws.store.read(lambda tx: q.password_hash(tx, name)) if name else None
    ok = False
    if hashed is not None:
        try:
            ok = _hasher.verify(hashed, password or "")
        except (VerificationError, InvalidHashError):
            ok = False
    ws.store.write(
        lambda tx: audit.record(
            tx,
            actor=name or "(empty)",
            action="auth.login" if ok else "auth.login_failed",
            object_type="user",
            object_id=name or "(empty)",
            detail=detail,
        )
    )
    if not ok:
        raise PermissionDenied("Wrong user name or password, or the account is disabled.")
    return principal_of(ws, name)


def principal_of(ws: Workspace, name: str, logged_in_at: datetime | None = None) -> Principal:
    """The user's principal as the table says now; PermissionDenied when gone or disabled,
    or when the password was changed (reset by an admin) after ``logged_in_at`` (naive UTC,
    when the session logged in): a reset ends the user's open sessions."""
    user = ws.store.read(lambda tx: q.get(tx, name))
    if user is None or user.disabled:
        raise PermissionDenied(f"The account {name!r} is disabled or gone; log in again.")
    if logged_in_at is not None and user.password_changed_at > logged_in_at:
        raise PermissionDenied(
            f"The password of {name!r} was changed after this session logged in; log in "
            "again with the new one."
        )
    return Principal(user.name, user.role)


# -- login sessions that survive a reload ---------------------------------------------------
#
# A login through the form starts a server-side session: a random token (256 bits) the
# browser keeps in the ``wb_session`` cookie, stored here only as its sha256. A reload, a
# new tab or a pasted link sends the cookie; the session resumes until it expires
# (WORKBENCH_SESSION_HOURS after the login), is ended by "Log out", or its user is
# disabled, removed or has the password reset (``principal_of``).

SESSION_COOKIE = "wb_session"


def _session_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(
    ws: Workspace, name: str, hours: float, address: str | None = None
) -> tuple[str, datetime]:
    """A new login session for the account ``name`` (just logged in), valid for ``hours``:
    its token (for the cookie; not stored) and when it began (naive UTC)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    expires = now + timedelta(hours=hours)
    ws.store.write(
        lambda tx: sessions.insert(tx, _session_hash(token), name, now, expires, address)
    )
    return token, now


def resume_session(ws: Workspace, token: object) -> tuple[Principal, datetime] | None:
    """The principal and login time of the live session with this cookie ``token``; None
    for no token, an unknown, ended or expired one. PermissionDenied (with what happened)
    when its account was disabled or removed or its password reset since."""
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        return None
    found = ws.store.read(lambda tx: sessions.live(tx, _session_hash(token), utcnow()))
    if found is None:
        return None
    name, began = found
    return principal_of(ws, name, began), began


def end_session(ws: Workspace, token: object) -> None:
    """End the session with this cookie ``token`` ("Log out"); nothing for an unknown one."""
    if isinstance(token, str) and token:
        ws.store.write(lambda tx: sessions.end(tx, _session_hash(token), utcnow()))


# -- the browser session -------------------------------------------------------------------
#
# The UI installs how to find the current browser session's principal (app/ui/session.py);
# services stay free of Streamlit. The lookup returns None outside a page run, the
# session's principal, or Principal("anonymous", "none") in team mode before a login.

_session_lookup: Callable[[], Principal | None] = lambda: None  # noqa: E731
_token_lookup: Callable[[], str | None] = lambda: None  # noqa: E731


def use_session_lookup(
    lookup: Callable[[], Principal | None], token: Callable[[], str | None] | None = None
) -> None:
    """Install how to find the browser session's principal, and its login-session token
    (a form login's; None for a proxy or identity-provider login)."""
    global _session_lookup, _token_lookup
    _session_lookup = lookup
    if token is not None:
        _token_lookup = token


def _session_principal() -> Principal | None:
    return _session_lookup()
