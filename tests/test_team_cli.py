"""Issue 16: on a team workspace the command line and notebooks proved no login, yet acted
as whoever WORKBENCH_USER named: a viewer's name moved the champion, and the audit log named
the viewer. They act as the admin they are (they can write the workspace folder), named
``shell:LOGIN`` in the audit log, the claim shown as such; real processes here."""

from __future__ import annotations

import subprocess

import pandas as pd
import pytest

from tests.conftest import PYTHON, ROOT, subprocess_env
from tests.test_serving_tokens import ws_model  # noqa: F401 (a fixture)
from workbench.store.errors import InvalidInput
from workbench.store.workspace import Workspace
from workbench.team import auth
from workbench.tracking import experiments

LOGIN = auth.os_account()


def _cli(ws: Workspace, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess:
    ws.store.close()
    return subprocess.run(
        [PYTHON, "-m", "workbench.cli", "--workspace", str(ws.root), *args],
        input=stdin,
        cwd=ROOT,
        env=subprocess_env(ws.root, **env),
        capture_output=True,
        text=True,
        timeout=300,
    )


def _actors(ws: Workspace, action: str) -> list[str]:
    events: pd.DataFrame = auth.audit_events(ws)
    return list(events[events["action"] == action]["actor"])


def test_a_claimed_name_is_not_an_identity_on_a_team_workspace(ws_model: Workspace) -> None:  # noqa: F811
    ws = ws_model
    auth.add_user(ws, "ada", "a long password", "admin")
    auth.add_user(ws, "vic", "a long password", "viewer")
    done = _cli(ws, "models", "alias", "churn-clf", "champion", "1", WORKBENCH_USER="vic")
    assert done.returncode == 0, done.stderr
    assert "the name vic (from WORKBENCH_USER, LOGNAME or USER) proves no login" in done.stderr
    assert f"shell:{LOGIN} (claims vic)" in done.stderr
    assert _actors(ws, "model.alias.move") == [f"shell:{LOGIN} (claims vic)"]
    assert "vic" not in set(auth.audit_events(ws)["actor"])
    assert "ClaimIgnored" not in done.stderr  # the command line says it once, in its words
    # a notebook: the run's author is the shell, with the claim beside it, and a warning
    # says so once (the notebook has no stderr note of the command line's)
    notebook = (
        "import workbench as wb\n"
        "with wb.start_run('nb') as r:\n    print(r.run_id)\n"
        "with wb.start_run('nb'):\n    pass\n"
    )
    ws.store.close()
    env = subprocess_env(ws.root, WORKBENCH_USER="vic")
    done = subprocess.run(
        [PYTHON, "-c", notebook], cwd=ROOT, env=env, text=True, capture_output=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    run = experiments.get_run(ws, done.stdout.strip()).run
    assert run.created_by == f"shell:{LOGIN} (claims vic)"
    assert done.stderr.count("ClaimIgnored: the name vic (from WORKBENCH_USER") == 1, done.stderr
    assert f"acts as an admin named shell:{LOGIN} (claims vic)" in done.stderr
    # no claim: the login itself, no note
    me = {"WORKBENCH_USER": LOGIN, "USER": LOGIN, "LOGNAME": LOGIN}
    done = _cli(ws, "models", "alias", "churn-clf", "staging", "1", **me)
    assert done.returncode == 0 and "note:" not in done.stderr, done.stderr
    assert _actors(ws, "model.alias.move")[0] == f"shell:{LOGIN}"
    # LOGNAME and USER are claims too (a newcomer set them to an admin's name): the
    # account comes from the user database by uid
    spoof = {"WORKBENCH_USER": "", "USER": "ada", "LOGNAME": "ada"}
    done = _cli(ws, "models", "alias", "churn-clf", "staging", "1", **spoof)
    assert done.returncode == 0 and "the name ada" in done.stderr, done.stderr
    assert _actors(ws, "model.alias.move")[0] == f"shell:{LOGIN} (claims ada)"
    # a claim that would forge a line or reverse the text (a newcomer's find) is written out
    forged = {"WORKBENCH_USER": "evil\u202eadmin\n[forged line]"}
    done = _cli(ws, "models", "alias", "churn-clf", "staging", "1", **forged)
    assert done.returncode == 0, done.stderr
    escaped = "evil\\u202eadmin\\u000a[forged line]"
    assert _actors(ws, "model.alias.move")[0] == f"shell:{LOGIN} (claims {escaped})"
    assert "\u202e" not in done.stderr and "\n[forged line]" not in done.stderr
    assert f"the name {escaped} (from" in done.stderr


def test_a_single_user_workspace_keeps_the_name_it_is_given(ws_model: Workspace) -> None:  # noqa: F811
    """No accounts: nothing to impersonate; WORKBENCH_USER names the author, as before."""
    done = _cli(ws_model, "models", "alias", "churn-clf", "champion", "1", WORKBENCH_USER="vic")
    assert done.returncode == 0 and "note:" not in done.stderr, done.stderr
    assert _actors(ws_model, "model.alias.move") == ["vic"]


def test_account_names_cannot_pose_as_the_workbench_or_its_first_author(ws: Workspace) -> None:
    """The audit log's own actors (the monitor's retraining, refused anonymous requests, the
    workbench's upkeep) are not account names: a person named ``monitor`` logging in sat
    beside the automation's alias moves, indistinguishable. And the first account, added
    from a shell, is recorded as the shell's principal like every later one (it said "by
    root", so an account named root looked like its author)."""
    empty = _cli(ws, "users", "list")
    assert empty.returncode == 0 and "No accounts" in empty.stdout, empty.stdout
    for name in ("monitor", "Anonymous", "workbench"):
        with pytest.raises(InvalidInput, match=f"{name!r} is reserved"):
            auth.add_user(ws, name, "a-long-password", "viewer")
    for name in ("\u3164", "ad\u3164a", "a\ud800"):  # shows blank, or cannot be stored
        with pytest.raises(InvalidInput, match="use 1 to 64 letters"):
            auth.add_user(ws, name, "a-long-password", "viewer")
    for name, says in (
        (".", "only dots"),
        ("..", "only dots"),
        ("\uff41da", "write it as 'ada'"),
        ("ada\u0301", "use 1 to 64 letters"),
    ):  # fullwidth a; a + combining acute
        with pytest.raises(InvalidInput, match=says):
            auth.add_user(ws, name, "a-long-password", "viewer")
    assert auth.list_users(ws) == []
    first = _cli(
        ws, "users", "add", "ada", "--role", "admin", "--password-stdin", stdin="a-long-password\n"
    )
    assert first.returncode == 0, first.stderr
    (ada,) = auth.list_users(ws)
    assert ada.created_by.startswith(f"shell:{LOGIN}")  # (and the name it claims, if any)
