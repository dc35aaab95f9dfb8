"""Serving tokens (issue 16): on a team workspace `workbench serve` answers 401 without a
valid token (made by an admin, stored hashed, revocable), counts and audits the refusals and
the uses; a single-user workspace without tokens serves as before."""

from __future__ import annotations

import json
import signal
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from tests.conftest import MAIN_SCRIPT, PYTHON, ROOT, subprocess_env
from tests.live import free_port
from tests.test_registry import features
from tests.test_runner import binary_frame
from workbench import sdk as wb
from workbench.cli.main import main
from workbench.registry import models as registry
from workbench.store.errors import AlreadyExists, InvalidInput, NotFound, PermissionDenied
from workbench.store.workspace import Workspace
from workbench.team import auth, tokens
from workbench.training import runner
from workbench.training.task import RunSpec


@pytest.fixture
def ws_model(ws: Workspace) -> Workspace:
    """A workspace with one registered model, churn-clf/1 (a dummy classifier)."""
    wb.log_dataset(binary_frame(300), "churn")
    spec = RunSpec("churn", "churned", "dummy")
    launch = runner.launch(ws, spec, experiment="models", wait=True)
    wb.register_model(launch.run_ids[0], "churn-clf")
    return ws


def _call(
    url: str, token: str | None = None, body: object | None = None, scheme: str = "Bearer"
) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"{scheme} {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data, headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        assert exc.code != 401 or exc.headers["WWW-Authenticate"].startswith("Bearer")
        return exc.code, json.loads(exc.read())


def test_tokens_are_made_by_admins_stored_hashed_and_revocable(ws: Workspace) -> None:
    token, text = tokens.create_token(ws, "billing")
    assert text.startswith(f"wbt_{token.token_id}_") and len(text) == 4 + 8 + 1 + 43
    stored = ws.store.read(lambda tx: tx.fetchall("SELECT * FROM serving_tokens"))
    assert text.split("_", 2)[2] not in json.dumps(stored, default=str)  # only its hash
    with pytest.raises(AlreadyExists, match="revoke it first"):
        tokens.create_token(ws, "billing")
    with pytest.raises(InvalidInput, match="Token name"):
        tokens.create_token(ws, "a b")
    with auth.acting_as(auth.Principal("eve", "editor")), pytest.raises(PermissionDenied):
        tokens.create_token(ws, "mine")
    with auth.acting_as(auth.Principal("eve", "editor")), pytest.raises(PermissionDenied):
        tokens.revoke_token(ws, "billing")
    assert tokens.revoke_token(ws, "billing").token_id == token.token_id
    with pytest.raises(NotFound, match="tokens list"):
        tokens.revoke_token(ws, "billing")
    (listed,) = tokens.list_tokens(ws)
    assert listed.revoked_at is not None and not listed.active
    actions = set(auth.audit_events(ws)["action"])
    assert {"token.create", "token.revoke", "auth.denied"} <= actions
    tokens.create_token(ws, "billing")  # the name is free again once revoked


def test_a_team_workspace_serves_only_with_a_valid_token(ws_model: Workspace, capsys) -> None:
    ws = ws_model
    registry.set_alias(ws, "churn-clf", "champion", 1)
    auth.add_user(ws, "ada", "a long password", "admin")  # a team workspace now
    assert main(["--workspace", str(ws.root), "tokens", "create", "scorer"]) == 0
    text = capsys.readouterr().out.splitlines()[1]
    ws.store.close()
    port = free_port()
    command = ["serve", "churn-clf@champion", "--port", str(port)]
    proc = subprocess.Popen(
        [PYTHON, "-m", "workbench.cli", *command],
        cwd=ROOT,
        env=subprocess_env(ws.root),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().startswith("Serving churn-clf@champion")
        assert "need a serving token" in proc.stdout.readline()
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                status, health = _call(f"{url}/health")
                break
            except (ConnectionError, urllib.error.URLError):
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.05)
        assert status == 200 and health == {"status": "ok"}  # no model named to strangers
        rows = {"rows": json.loads(features(2).to_json(orient="records", date_format="iso"))}
        assert _call(f"{url}/predict", None, rows)[0] == 401
        status, body = _call(f"{url}/invocations", "wbt_0000_nope", rows)
        assert status == 401 and "not valid" in body["error"]
        wrong = text[:-1] + ("A" if text[-1] != "A" else "B")  # right id, wrong secret
        assert _call(f"{url}/predict", wrong, rows)[0] == 401
        # the right token under another scheme: told which one to use, not "not valid"
        status, body = _call(f"{url}/predict", text, rows, scheme="Basic")
        assert status == 401 and "does not use the Bearer scheme" in body["error"]
        assert text not in body["error"]
        status, body = _call(f"{url}/predict", text, rows)
        assert status == 200 and len(body["predictions"]) == 2, body
        assert _call(f"{url}/health", text) == (200, {"status": "ok", "model": "churn-clf/1"})
        tokens.revoke_token(ws, "scorer")
        ws.store.close()
        assert _call(f"{url}/predict", text, rows)[0] == 401  # revoked: the next request
    finally:
        proc.send_signal(signal.SIGINT)  # a graceful stop records what is left to count
        proc.communicate(timeout=60)
    events = auth.audit_events(ws)
    refused = events[events["action"] == "serve.refused"]["detail"].map(json.loads)
    assert sum(d["requests"] for d in refused) == 5
    assert {a for d in refused for a in d["addresses"]} == {"127.0.0.1"}
    used = events[events["action"] == "serve.predict"]
    assert set(used["actor"]) == {"token:scorer"}
    assert sum(json.loads(d)["requests"] for d in used["detail"]) == 1
    (listed,) = tokens.list_tokens(ws)
    assert listed.uses == 1 and listed.last_used_at is not None


def test_a_single_user_workspace_needs_a_token_once_one_exists(ws_model: Workspace) -> None:
    """No accounts and no tokens: served as before (a laptop on loopback). Creating a token
    says the owner wants one: from then on it is required."""
    from workbench.team.tokens import Gate

    ws = ws_model
    gate = Gate(ws, "churn-clf/1")
    assert gate.check(None, "127.0.0.1") == (True, None)
    _, text = tokens.create_token(ws, "notebook")
    assert gate.check(None, "127.0.0.1")[0] is False
    assert gate.check(f"Bearer {text}", "127.0.0.1") == (True, "notebook")
    assert gate.check(f"bearer   {text}", None) == (True, "notebook")
    assert gate.check(text, None)[0] is False  # no scheme
    gate.flush()
    assert tokens.list_tokens(ws)[0].uses == 2
    # revoking the last token opens the endpoint again: said, not silent (a newcomer)
    assert tokens.open_after_revoke(ws) is None
    tokens.revoke_token(ws, "notebook")
    assert "answers anyone" in tokens.open_after_revoke(ws)
    assert gate.check(None, "127.0.0.1") == (True, None)


def test_the_admin_page_creates_shows_once_and_revokes_tokens(ws: Workspace, monkeypatch) -> None:
    from streamlit.testing.v1 import AppTest

    from workbench.ui import nav

    MAIN = MAIN_SCRIPT

    monkeypatch.setenv("WORKBENCH_WATCH", "0")
    at = AppTest.from_file(MAIN, default_timeout=120).run()
    at.switch_page(f"../../../pages/{nav.ADMIN.file}").run()
    next(t for t in at.text_input if t.label == "New token's name").input("ci-runner")
    next(b for b in at.button if b.label == "Create token").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    (shown,) = [c.value for c in at.code if c.value.startswith("wbt_")]
    (token,) = tokens.list_tokens(ws)
    assert token.name == "ci-runner" and shown.startswith(f"wbt_{token.token_id}_")
    at.run()  # shown once: gone on the next rerun
    assert not [c.value for c in at.code if c.value.startswith("wbt_")]
    next(b for b in at.button if b.label == "Revoke").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert not tokens.list_tokens(ws)[0].active
    assert any("Revoked ci-runner" in s.value for s in at.success)


def test_an_address_that_cannot_be_listened_on_is_one_clear_error(ws_model: Workspace) -> None:
    """A newcomer's find: `serve --port 99999` printed uvicorn's traceback and "this is a
    bug"; a busy port, an address this machine lacks and an unknown name printed "Serving
    ... on http://..." and then uvicorn's error (exit 3); `ui` on a busy port printed the
    URL of another program's server first. Each is one `error:` line, exit 1, before any
    URL is printed; an IPv6 address is shown in brackets."""
    import socket

    ws_model.store.close()
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    cases = [
        (["serve", "churn-clf/1", "--port", "99999"], "--port 99999 is not a TCP port"),
        (["serve", "churn-clf/1", "--port", str(port)], "Address already in use"),
        (["serve", "churn-clf/1", "--host", "nosuchhost.invalid"], "the name does not resolve"),
        (["serve", "churn-clf/1", "--host", "192.0.2.1"], "this machine has no such address"),
        (["serve", "churn-clf/1", "--host", ""], "--host is empty"),
        (["ui", "--port", str(port)], "Address already in use"),
    ]
    try:
        for args, says in cases:
            done = subprocess.run(
                [PYTHON, "-m", "workbench.cli", "--workspace", str(ws_model.root), *args],
                cwd=ROOT,
                env=subprocess_env(ws_model.root, WORKBENCH_WATCH="0"),
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert done.returncode == 1, (args, done.stdout, done.stderr)
            assert done.stderr.startswith("error: ") and says in done.stderr, (args, done.stderr)
            assert "Traceback" not in done.stderr and "http://" not in done.stdout, args
    finally:
        busy.close()
    from workbench import network

    assert network.url("::", 8600, "/predict") == "http://[::]:8600/predict"
