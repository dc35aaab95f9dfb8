"""Team mode: accounts with argon2 hashes, logins, and roles enforced in the service layer
(every guarded verb refuses a viewer and audits it), plus the per-request work limits."""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import re
from datetime import timedelta

import pytest

from tests.conftest import ROOT
from tests.test_runner import binary_frame
from workbench import sdk as wb
from workbench.registry import models as registry
from workbench.store import audit
from workbench.store.errors import AlreadyExists, InvalidInput, NotFound, PermissionDenied
from workbench.store.workspace import Workspace
from workbench.team import auth
from workbench.team.auth import Principal, acting_as
from workbench.tracking import experiments
from workbench.training import runner
from workbench.training.runner import SweepSpec
from workbench.training.task import RunSpec

VIEWER, EDITOR, ADMIN = (
    Principal("vera", "viewer"),
    Principal("ed", "editor"),
    Principal("ada", "admin"),
)
PASSWORD = "correct horse battery"


def denied(ws: Workspace) -> list:
    return [e for e in ws.store.read(lambda tx: audit.recent(tx, 500)) if e.action == "auth.denied"]


def test_passwords_are_argon2_hashes_never_the_text(ws: Workspace) -> None:
    auth.add_user(ws, "ana", PASSWORD, "admin")
    stored = ws.store.read(lambda tx: tx.scalar("SELECT password_hash FROM users"))
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    auth.add_user(ws, "bo", PASSWORD, "viewer")  # the same password, another salt
    hashes = ws.store.read(
        lambda tx: [r[0] for r in tx.fetchall("SELECT password_hash FROM users")]
    )
    assert hashes[0] != hashes[1]
    ws.store.close()
    assert PASSWORD.encode() not in (ws.root / "meta.duckdb").read_bytes()
    events = ws.store.read(lambda tx: audit.recent(tx, 10))
    assert all(PASSWORD not in str(e.detail) for e in events)


def test_login_outcomes_are_audited_and_say_nothing_about_which_part_failed(ws: Workspace) -> None:
    auth.add_user(ws, "ana", PASSWORD, "editor")
    assert auth.login(ws, "ana", PASSWORD) == Principal("ana", "editor")
    messages = set()
    for name, password in (("ana", "wrong password"), ("nobody", PASSWORD), ("", "")):
        with pytest.raises(PermissionDenied) as info:
            auth.login(ws, name, password)
        messages.add(str(info.value))
    assert messages == {"Wrong user name or password, or the account is disabled."}
    auth.set_disabled(ws, "ana")
    with pytest.raises(PermissionDenied):
        auth.login(ws, "ana", PASSWORD)
    actions = [e.action for e in ws.store.read(lambda tx: audit.recent(tx, 20))]
    assert actions.count("auth.login") == 1 and actions.count("auth.login_failed") == 4


def test_account_rules(ws: Workspace) -> None:
    auth.add_user(ws, "ana", PASSWORD, "admin")
    with pytest.raises(AlreadyExists, match="User 'ana' exists"):
        auth.add_user(ws, "ana", PASSWORD)
    with pytest.raises(InvalidInput, match="at least 10 characters"):
        auth.add_user(ws, "bo", "short")
    with pytest.raises(InvalidInput, match="Unknown role 'root'"):
        auth.add_user(ws, "bo", PASSWORD, "root")
    for bad in ("", "a b", "x" * 65, "'; DROP TABLE users; --", "../../etc"):
        with pytest.raises(InvalidInput, match="User name"):
            auth.add_user(ws, bad, PASSWORD)
    with pytest.raises(InvalidInput, match="ana is the last active admin"):
        auth.set_role(ws, "ana", "viewer")
    with pytest.raises(InvalidInput, match="last active admin"):
        auth.set_disabled(ws, "ana")
    assert auth.list_users(ws)[0].role == "admin"  # the refused change left nothing behind
    with pytest.raises(NotFound, match="No user 'zed'"):
        auth.set_role(ws, "zed", "editor")
    auth.add_user(ws, "bo", PASSWORD, "viewer")
    auth.set_role(ws, "bo", "editor")
    [change] = [
        e for e in ws.store.read(lambda tx: audit.recent(tx, 5)) if e.action == "user.set_role"
    ]
    assert json.loads(change.detail) == {"before": {"role": "viewer"}, "after": {"role": "editor"}}
    auth.reset_password(ws, "bo", "another good one")
    assert auth.login(ws, "bo", "another good one").role == "editor"


def _dummy_args(fn) -> tuple[list, dict]:
    """Placeholders for a verb's arguments: the role check runs before any is used."""
    args, kwargs = [], {}
    params = list(inspect.signature(inspect.unwrap(fn)).parameters.values())[1:]  # after ws
    for p in params:
        if p.default is not inspect.Parameter.empty:
            continue
        value = "champion" if p.name == "alias" else "x"
        if p.kind is p.KEYWORD_ONLY:
            kwargs[p.name] = value
        else:
            args.append(value)
    return args, kwargs


def _verbs():
    """Every guarded verb, once every service module is imported (each registers its own)."""
    import pkgutil

    import workbench

    for info in pkgutil.walk_packages(workbench.__path__, "workbench."):
        if not info.name.startswith(("workbench.ui", "workbench.pages", "workbench.cli.__main__")):
            importlib.import_module(info.name)
    out = {}
    for verb in sorted(auth.VERBS):
        module, name = auth.VERB_FUNCTIONS[verb].rsplit(".", 1)
        out[verb] = getattr(importlib.import_module(module), name)
    return out


@pytest.mark.parametrize("verb", sorted(_verbs()))
def test_every_guarded_verb_refuses_a_viewer_and_audits_it(ws: Workspace, verb: str) -> None:
    fn = _verbs()[verb]
    args, kwargs = _dummy_args(fn)
    said = f"vera is a viewer; {auth.ACTIONS[verb]} ({verb}) needs the"
    with acting_as(VIEWER), pytest.raises(PermissionDenied, match=re.escape(said)):
        fn(ws, *args, **kwargs)
    [event] = denied(ws)
    assert (event.actor, event.object_id, json.loads(event.detail)["role"]) == (
        "vera",
        verb,
        "viewer",
    )


def test_editors_and_admins(ws: Workspace) -> None:
    wb.log_dataset(binary_frame(80), "churn")
    launch = runner.launch(ws, RunSpec("churn", "churned", "dummy"), experiment="e", wait=True)
    with acting_as(EDITOR):
        version = registry.register_model(ws, launch.run_ids[0], "clf")
        registry.set_alias(ws, "clf", "challenger", version.version)  # an editor may
        with pytest.raises(
            PermissionDenied,
            match=r"ed is an editor; moving an alias \(registry\.set_alias\) needs the admin role",
        ):
            registry.set_alias(ws, "clf", "champion", version.version)
        with pytest.raises(
            PermissionDenied,
            match=r"deleting trashed runs for good \(tracking\.purge_runs\) needs the admin",
        ):
            experiments.purge_runs(ws, launch.run_ids, "ed")
        experiments.trash_runs(ws, launch.run_ids, "ed")
    with acting_as(ADMIN):
        registry.set_alias(ws, "clf", "champion", version.version)
        assert experiments.purge_runs(ws, launch.run_ids, "ada") == 1
    moves = [
        e for e in ws.store.read(lambda tx: audit.recent(tx, 50)) if e.action == "model.alias.move"
    ]
    assert {e.actor for e in moves} == {"ed", "ada"}  # the acting user is the recorded author
    assert len(denied(ws)) == 2


# Functions that write without a guard of their own, and why.
UNGUARDED_WRITERS = {
    # anyone may try to log in; check audits a refusal; a login starts and ends its session;
    # a proxy's or identity provider's login is audited before the user has a role to check
    "app/team/auth.py": {"login", "check", "start_session", "end_session", "record_outside_login"},
    "app/tracking/ingest.py": {"reap_lost_runs"},  # the server marks dead runs lost
}


def test_every_writing_service_function_is_guarded_or_listed() -> None:
    """A public function in app/ that calls ``*.store.write`` must carry @requires, or be in
    UNGUARDED_WRITERS with its reason; a new writer cannot slip past the role check."""
    unguarded = {}
    for path in sorted((ROOT / "app").rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef) or node.name.startswith("_"):
                continue
            writes = any(
                isinstance(n, ast.Attribute)
                and n.attr == "write"
                and isinstance(n.value, ast.Attribute)
                and n.value.attr == "store"
                for n in ast.walk(node)
            )
            guarded = any(
                isinstance(d, ast.Call) and getattr(d.func, "id", "") == "requires"
                for d in node.decorator_list
            )
            if writes and not guarded:
                unguarded.setdefault(str(path.relative_to(ROOT)), set()).add(node.name)
    extra = {f: names - UNGUARDED_WRITERS.get(f, set()) for f, names in unguarded.items()}
    assert {f: n for f, n in extra.items() if n} == {}
    stale = {f: names - unguarded.get(f, set()) for f, names in UNGUARDED_WRITERS.items()}
    assert {f: n for f, n in stale.items() if n} == {}  # the list names only real writers


def test_sweep_size_is_limited(ws: Workspace, monkeypatch) -> None:
    wb.log_dataset(binary_frame(60), "churn")
    monkeypatch.setenv("WORKBENCH_MAX_TRIALS", "10")
    spec = RunSpec("churn", "churned", "random_forest")
    with pytest.raises(InvalidInput, match=r"trials must be 1 to 10 \(WORKBENCH_MAX_TRIALS\)"):
        runner.launch(
            ws,
            spec,
            experiment="e",
            sweep=SweepSpec("random", {"n_estimators": {"low": 5, "high": 50}}, trials=11),
        )
    grid = {"n_estimators": list(range(5, 105)), "max_depth": list(range(1, 101))}
    with pytest.raises(InvalidInput, match="The grid has 10,000 combinations; the limit is 10"):
        runner.launch(ws, spec, experiment="e", sweep=SweepSpec("grid", grid))
    assert experiments.search_runs(ws) == []  # nothing was started


def test_failed_logins_are_throttled_per_account_and_per_address(
    ws: Workspace, monkeypatch
) -> None:
    """Issue #16: 30 wrong passwords in 3.4 s, then the right one worked. After 5 failures
    for an account (or 20 from one address) within 15 minutes, every attempt is refused,
    the right password too, until the window has passed; each refusal is audited."""
    auth.add_user(ws, "ana", PASSWORD, "editor")
    auth.add_user(ws, "bo", PASSWORD, "viewer")
    for _ in range(30):
        with pytest.raises(PermissionDenied):
            auth.login(ws, "ana", "wrong password!", address="203.0.113.7")
    with pytest.raises(PermissionDenied, match="paused for this account"):
        auth.login(ws, "ana", PASSWORD, address="198.51.100.1")  # another address: the account
    actions = [e.action for e in ws.store.read(lambda tx: audit.recent(tx, 100))]
    assert actions.count("auth.login_failed") == 5  # the password was not even checked after
    assert actions.count("auth.login_throttled") == 26
    # from the attacking address, another account is paused too (25 failures from there)...
    with pytest.raises(PermissionDenied, match="Too many failed logins"):
        auth.login(ws, "bo", PASSWORD, address="203.0.113.7")
    # ...but not from elsewhere
    assert auth.login(ws, "bo", PASSWORD, address="198.51.100.1").name == "bo"
    # the message's advice works (a newcomer's find: it did not): an admin's password reset
    # lifts the account's pause; the attacking address stays paused, and says so
    auth.reset_password(ws, "ana", "a new long password")
    assert auth.login(ws, "ana", "a new long password", address="198.51.100.1").name == "ana"
    with pytest.raises(PermissionDenied, match="Too many failed logins from this address"):
        auth.login(ws, "ana", "a new long password", address="203.0.113.7")
    # once the window has passed (the clock 16 minutes on), the address may try again
    later = auth.utcnow() + auth.THROTTLE_WINDOW + timedelta(minutes=1)
    monkeypatch.setattr(auth, "utcnow", lambda: later)
    assert auth.login(ws, "ana", "a new long password", address="203.0.113.7").name == "ana"


def test_a_password_reset_ends_the_users_open_sessions(ws: Workspace, monkeypatch) -> None:
    """Issue #16: a reset left the user's open sessions logged in. The page checks the
    account on every run: a password changed after the session logged in ends it."""
    from streamlit.testing.v1 import AppTest

    from tests.test_pages import MAIN

    monkeypatch.setenv("WORKBENCH_TEAM", "1")
    monkeypatch.setenv("WORKBENCH_WATCH", "0")
    auth.add_user(ws, "ada", PASSWORD, "admin")
    auth.add_user(ws, "ed", PASSWORD, "editor")
    at = AppTest.from_file(MAIN, default_timeout=120).run()
    next(t for t in at.text_input if t.label == "User name").input("ed")
    next(t for t in at.text_input if t.label == "Password").input(PASSWORD)
    next(b for b in at.button if b.label == "Log in").click().run()
    assert any("Logged in as **ed**" in c.value for c in at.sidebar.caption)
    at.run()  # still logged in on the next run
    assert any("Logged in as **ed**" in c.value for c in at.sidebar.caption)
    with acting_as(Principal("ada", "admin")):
        auth.reset_password(ws, "ed", "a brand new password")
    at.run()
    assert [t.value for t in at.title] == ["Log in"]
    assert any("password of 'ed' was changed" in i.value for i in at.info)
    next(t for t in at.text_input if t.label == "User name").input("ed")
    next(t for t in at.text_input if t.label == "Password").input("a brand new password")
    next(b for b in at.button if b.label == "Log in").click().run()
    assert any("Logged in as **ed**" in c.value for c in at.sidebar.caption)


def test_login_sessions_resume_until_they_expire_end_or_the_password_changes(
    ws: Workspace,
) -> None:
    """The server side of a login that survives a reload (issue 16): the cookie's token
    resumes the session; an ended, expired or unknown one does not; a password reset or a
    disabled account ends it with a message; only the token's sha256 is stored."""
    auth.add_user(ws, "ada", "a long password", "admin")
    auth.add_user(ws, "ed", "a long password", "editor")
    token, began = auth.start_session(ws, "ed", hours=12, address="10.0.0.7")
    assert auth.resume_session(ws, token) == (auth.Principal("ed", "editor"), began)
    stored = ws.store.read(lambda tx: tx.fetchall("SELECT * FROM login_sessions"))
    assert token not in str(stored)
    for bad in (None, "", "x" * 30, token[:-1] + ("A" if token[-1] != "A" else "B"), 42):
        assert auth.resume_session(ws, bad) is None
    auth.end_session(ws, token)
    assert auth.resume_session(ws, token) is None
    brief, _ = auth.start_session(ws, "ed", hours=-1)  # expired at once
    assert auth.resume_session(ws, brief) is None
    token, _ = auth.start_session(ws, "ed", hours=12)
    auth.set_disabled(ws, "ed")  # ends the account's sessions: enabling it again does not
    assert auth.resume_session(ws, token) is None  # bring them back (a newcomer's find)
    auth.set_disabled(ws, "ed", False)
    assert auth.resume_session(ws, token) is None
    token, _ = auth.start_session(ws, "ed", hours=12)
    auth.reset_password(ws, "ed", "another long one")
    with pytest.raises(PermissionDenied, match="changed after this session"):
        auth.resume_session(ws, token)


def test_every_guarded_verb_is_named_in_words() -> None:
    """A refusal read "ed is an editor; registry.rollback needs the admin role": the verb's
    code name alone. Every guarded verb now has its words in ``auth.ACTIONS``."""
    verbs = _verbs()
    assert len(verbs) >= 30
    missing = sorted(set(verbs) - set(auth.ACTIONS))
    assert not missing, f"give these verbs their words in auth.ACTIONS: {missing}"
    assert not set(auth.ACTIONS) - set(verbs), "words for a verb that no longer exists"
