"""Team mode in AppTest: the first start without an admin, login, expiry, a disabled
account's open session, and the users commands of the CLI."""

from __future__ import annotations

import io
import time

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import open_tab, plain
from tests.test_pages import MAIN
from workbench.cli.main import main
from workbench.store.workspace import Workspace
from workbench.team import auth
from workbench.ui import nav

PASSWORD = "correct horse battery"


@pytest.fixture
def team(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.setenv("WORKBENCH_WATCH", "0")
    monkeypatch.setenv("WORKBENCH_TEAM", "1")
    return ws


def start() -> AppTest:
    return AppTest.from_file(MAIN, default_timeout=120).run()


def test_first_start_says_how_to_create_the_admin(team: Workspace) -> None:
    at = start()
    assert at.title[0].value == "Log in"
    assert "no admin yet" in at.warning[0].value
    assert at.code[0].value == (
        f"workbench --workspace {team.root} users add YOUR_NAME --role admin"
    )  # names the workspace: typed elsewhere, it would make a new one there
    assert not at.text_input  # no form to grab the first admin from the web


def test_a_workspace_with_accounts_asks_for_a_login_without_team_mode(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A newcomer's find: `workbench ui` without --team on a workspace with accounts asked
    nobody to log in, and an anonymous visitor used the Admin page (made a serving token,
    audited as the shell's admin). Accounts mean team mode, however the server started."""
    monkeypatch.setenv("WORKBENCH_WATCH", "0")
    monkeypatch.setenv("WORKBENCH_TEAM", "0")  # restored after the test (the app sets it)
    at = start()
    assert at.title[0].value == "Home"  # no accounts: single-user, no login
    auth.add_user(ws, "ada", PASSWORD, "admin")  # an account appears while the server runs
    at.run()
    assert at.title[0].value == "Log in"
    at.switch_page(f"../../../pages/{nav.ADMIN.file}").run()
    assert at.title[0].value == "Log in" and [b.label for b in at.button] == ["Log in"]


def test_login_expiry_and_a_disabled_account(team: Workspace, monkeypatch) -> None:
    auth.add_user(team, "ada", PASSWORD, "admin")
    auth.add_user(team, "ed", PASSWORD, "editor")
    at = start()
    at.text_input[0].input("ed")
    at.text_input[1].input(PASSWORD)
    at.button[0].click().run()
    assert any("Logged in as **ed** (editor)" in c.value for c in at.sidebar.caption)
    assert at.title[0].value == "Home"
    auth.set_disabled(team, "ed")  # an admin disables ed while the session is open
    at.run()
    assert at.title[0].value == "Log in"
    assert "disabled or gone" in at.info[0].value
    auth.set_disabled(team, "ed", False)
    at.text_input[0].input("ed")
    at.text_input[1].input(PASSWORD)
    at.button[0].click().run()
    assert at.title[0].value == "Home"
    at.session_state["logged_in_at"] = time.time() - 13 * 3600  # past the 12 hours
    at.run()
    assert at.title[0].value == "Log in" and "expired" in at.info[0].value


def test_users_commands(ws: Workspace, monkeypatch, capsys) -> None:
    base = ["--workspace", str(ws.root)]
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main([*base, "users", "add", "ada", "--role", "admin", "--password-stdin"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main([*base, "users", "add", "bo", "--password-stdin"]) == 1
    assert "at least 10 characters" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main([*base, "users", "add", "bo", "--password-stdin"]) == 0
    assert main([*base, "users", "set-role", "bo", "editor"]) == 0
    assert main([*base, "users", "disable", "bo"]) == 0
    assert main([*base, "users", "list"]) == 0
    out = capsys.readouterr().out
    assert "bo is now editor" in out and "bo is disabled" in out
    assert f"added bo (viewer) to the workspace {ws.root}" in out  # typed elsewhere, it
    # would make a workspace there: the output says which one it changed
    assert [line.split()[:3] for line in out.splitlines()[-2:]] == [
        ["ada", "admin", "active"],
        ["bo", "editor", "disabled"],
    ]
    assert main([*base, "users", "set-role", "ada", "viewer"]) == 1
    assert "last active admin" in capsys.readouterr().err


def test_an_editor_is_refused_the_gate_override_on_the_models_page(team: Workspace) -> None:
    from tests.test_pages import move_alias, refused_models
    from workbench.registry import models as registry

    auth.add_user(team, "ada", PASSWORD, "admin")
    auth.add_user(team, "ed", PASSWORD, "editor")
    refused_models(team)
    at = start()
    at.text_input[0].input("ed")
    at.text_input[1].input(PASSWORD)
    at.button[0].click().run()
    at.switch_page("../../../pages/models.py").run()
    open_tab(at, "model-tabs-churn-clf", "Champion vs challenger")
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert not [c for c in at.checkbox if "Override" in c.label]  # no override for an editor
    assert any(
        "The gate refuses this promotion, and only an admin can override it" in w.value
        for w in at.warning
    )
    assert any("Moving champion needs an admin" in c.value for c in at.caption)
    promote = next(b for b in at.button if b.key == "promote")
    assert promote.disabled and promote.help == "Promoting needs an admin."
    move_alias(at, "champion", 1, reason="I think it is better")
    errors = [plain(e.value) for e in at.error]
    assert any("Only an admin can move churn-clf@champion" in e for e in errors), errors
    assert registry.get_version(team, "churn-clf@champion").version == 2
    denied = auth.audit_events(team, action="auth.denied")
    assert denied["object_id"].tolist() == ["registry.set_alias"]
