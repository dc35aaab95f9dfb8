"""Team mode in Debian's chromium: every page asks for a login, a viewer's mutating click is
refused by the service layer, logging out ends the session, and script in markdown is
inert."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.live import (
    IDLE,
    SHOTS,
    alias_form,
    app_server,
    browser,
    error_texts,
    open_page,
    open_tab,
    switch_on,
)
from tests.test_runner import binary_frame
from workbench import sdk as wb
from workbench.registry import models as registry
from workbench.store import audit
from workbench.store.workspace import Workspace
from workbench.team import auth
from workbench.training import runner
from workbench.training.task import RunSpec
from workbench.ui import nav

PASSWORD = "correct horse battery"
SCRIPT = (
    "# Churn model\n\n<script>window.__pwned = 1</script>\n\n"
    '<img src=x onerror="window.__pwned = 2">\n\n[link](javascript:window.__pwned=3)'
)


def log_in(page, name: str) -> None:
    page.get_by_label("User name").fill(name)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_text(f"Logged in as {name}").wait_for()
    page.wait_for_selector(IDLE)


@pytest.mark.browser
def test_team_mode_journey(ws: Workspace, tmp_path: Path) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    auth.add_user(ws, "ada", PASSWORD, "admin")
    auth.add_user(ws, "vera", PASSWORD, "viewer")
    wb.log_dataset(binary_frame(80), "churn")
    wb.log_dataset(binary_frame(90), "churn")
    launch = runner.launch(ws, RunSpec("churn", "churned", "dummy"), experiment="e", wait=True)
    version = registry.register_model(ws, launch.run_ids[0], "clf")
    registry.update_card(ws, version.ref, SCRIPT)
    paths = ["", *(s.file.removesuffix(".py") for s in [*nav.PAGES, nav.ADMIN] if not s.default)]
    console: list[str] = []
    with app_server(ws.root, tmp_path / "server.log", WORKBENCH_TEAM="1") as url, browser() as b:
        page = open_page(b, url, console)
        for path in paths:  # not logged in: every URL shows the login form and nothing else
            page.goto(f"{url}/{path}")
            page.wait_for_selector(IDLE)
            page.get_by_role("heading", name="Log in").wait_for()
            assert page.get_by_test_id("stSidebarNav").count() == 0, path
            assert page.get_by_test_id("stDataFrame").count() == 0, path
        page.screenshot(path=SHOTS / "team-login.png")
        page.get_by_label("User name").fill("vera")
        page.get_by_role("textbox", name="Password").fill("wrong password!")
        page.get_by_role("button", name="Log in").click()
        page.get_by_text("Wrong user name or password").wait_for()

        log_in(page, "vera")  # a viewer: no Admin page; a mutating click is refused
        nav_text = page.get_by_test_id("stSidebarNav").inner_text()
        assert "Drift" in nav_text and "Admin" not in nav_text
        page.get_by_test_id("stSidebarNav").get_by_text("Drift").click()
        page.get_by_role("heading", name="Drift").wait_for()
        switch_on(page, "New report")
        page.get_by_role("button", name="Run the report").click()
        page.get_by_text(
            "vera is a viewer; running a drift report (drift.run_report) needs the editor role"
        ).wait_for()
        page.screenshot(path=SHOTS / "team-viewer-refused.png")
        page.get_by_test_id("stSidebarNav").get_by_text("Models").click()
        page.get_by_role("heading", name="Churn model").wait_for()  # the card, as markdown
        page.wait_for_selector(IDLE)
        assert page.evaluate("window.__pwned") is None
        assert page.locator("[data-testid='stMain'] img[src='x']").count() == 0
        page.get_by_role("button", name="Log out").click()
        page.get_by_role("heading", name="Log in").wait_for()

        log_in(page, "ada")  # the admin sees the audit log with the refusal in it
        page.get_by_test_id("stSidebarNav").get_by_role("link", name="Admin").click()
        page.get_by_role("heading", name="Audit log").wait_for()
        page.wait_for_selector(IDLE)
        assert error_texts(page) == []
        page.screenshot(path=SHOTS / "team-admin.png", full_page=True)
    refused = [e for e in auth.list_users(ws) if e.name == "vera"]
    assert refused and refused[0].role == "viewer"
    events = ws.store.read(lambda tx: audit.recent(tx, 100))
    actions = [(e.actor, e.action) for e in events]
    assert ("vera", "auth.denied") in actions and ("vera", "auth.login_failed") in actions
    # A browser on this machine has an address too (Streamlit gives none for 127.0.0.1):
    # the per-address throttle counts its attempts (it counted none, so never paused them).
    logins = [json.loads(e.detail) for e in events if e.action.startswith("auth.login")]
    assert logins and {d.get("address") for d in logins} == {auth.LOOPBACK}, logins
    ours = [c for c in console if "404" not in c]
    assert ours == [], ours


@pytest.mark.browser
def test_a_trusted_proxy_header_logs_in_its_user(ws: Workspace, tmp_path: Path) -> None:
    """Behind a proxy that sets X-Forwarded-User: no password; the account must exist."""
    auth.add_user(ws, "ada", PASSWORD, "admin")
    auth.add_user(ws, "ed", PASSWORD, "editor")
    env = {"WORKBENCH_TEAM": "1", "WORKBENCH_TRUSTED_USER_HEADER": "X-Forwarded-User"}
    with app_server(ws.root, tmp_path / "server.log", **env) as url, browser() as b:
        proxied = b.new_context(extra_http_headers={"X-Forwarded-User": "ed"}).new_page()
        proxied.goto(f"{url}/datasets")
        proxied.get_by_text("Logged in as ed").wait_for()
        recent = ws.store.read(lambda tx: audit.recent(tx, 10))
        (login,) = [e for e in recent if e.action == "auth.login"]
        assert json.loads(login.detail) == {"via": "proxy header", "address": auth.LOOPBACK}
        proxied.get_by_role("heading", name="Datasets").wait_for()
        # the proxy logged ed in, so only the proxy can log ed out: no button that does nothing
        proxied.get_by_text("Signed in through your proxy's login: log out there.").wait_for()
        assert proxied.get_by_role("button", name="Log out").count() == 0
        stranger = b.new_context(extra_http_headers={"X-Forwarded-User": "mallory"}).new_page()
        stranger.goto(url)
        stranger.get_by_text("mallory has no active account here").wait_for()
        stranger.get_by_role("heading", name="Log in").wait_for()
        bare = b.new_page()  # no header: the login form
        bare.goto(url)
        bare.get_by_role("heading", name="Log in").wait_for()
        assert bare.get_by_test_id("stSidebarNav").count() == 0


@pytest.mark.browser
def test_the_gate_override_is_refused_for_an_editor(ws: Workspace, tmp_path: Path) -> None:
    """The promotion gate refuses the challenger: an editor sees that only an admin can
    override it and is refused moving champion by hand; an admin overrides with a reason."""
    from playwright.sync_api import expect

    from tests.test_pages import refused_models

    SHOTS.mkdir(parents=True, exist_ok=True)
    auth.add_user(ws, "ada", PASSWORD, "admin")
    auth.add_user(ws, "ed", PASSWORD, "editor")
    refused_models(ws)
    console: list[str] = []
    with app_server(ws.root, tmp_path / "server.log", WORKBENCH_TEAM="1") as url, browser() as b:
        page = open_page(b, url, console)
        page.set_default_timeout(180_000)  # champion vs challenger is slow on a busy machine
        log_in(page, "ed")
        page.get_by_test_id("stSidebarNav").get_by_text("Models").click()
        open_tab(page, "Champion vs challenger", page.get_by_text("only an admin can override it"))
        assert page.get_by_text("Override the gate", exact=True).count() == 0
        assert page.get_by_role("button", name="Override the gate and promote").is_disabled()
        form = alias_form(page)
        form.get_by_role("textbox", name="Alias").fill("champion")
        form.get_by_test_id("stSelectbox").click()
        page.keyboard.type("1")
        page.keyboard.press("Enter")
        form.get_by_role("button", name="Move alias").click()
        page.get_by_text("Only an admin can move churn-clf@champion").wait_for()
        open_tab(page, "Champion vs challenger", page.get_by_text("only an admin can override it"))
        page.screenshot(path=SHOTS / "models-gate-override-refused-editor.png", full_page=True)
        page.get_by_text("only an admin can override it").scroll_into_view_if_needed()
        page.screenshot(path=SHOTS / "models-gate-refused-editor-gate.png")
        assert registry.get_version(ws, "churn-clf@champion").version == 2
        page.get_by_role("button", name="Log out").click()

        log_in(page, "ada")
        page.get_by_test_id("stSidebarNav").get_by_text("Models").click()
        override = page.get_by_text("Override the gate", exact=True)
        open_tab(page, "Champion vs challenger", override)
        override.click()
        page.get_by_role("textbox", name="Reason for the override").fill("a drill")
        page.keyboard.press("Enter")
        page.wait_for_selector(IDLE)
        button = page.get_by_role("button", name="Override the gate and promote")
        expect(button).to_be_enabled(timeout=180_000)  # the rerun with the reason is done
        button.scroll_into_view_if_needed()
        page.screenshot(path=SHOTS / "models-gate-override-admin.png")
        button.click()
        page.get_by_text("Promoted churn-clf/1 to champion by override").wait_for()
        assert registry.get_version(ws, "churn-clf@champion").version == 1
        assert error_texts(page) == []
    ours = [c for c in console if "404" not in c]
    assert ours == [], ours


@pytest.mark.browser
def test_a_login_survives_a_reload_a_new_tab_and_ends_on_log_out_or_reset(
    ws: Workspace, tmp_path: Path
) -> None:
    """Issue 16: the session lived in the tab only, so a reload, a new tab or a pasted link
    logged the user out. It is kept server-side (a cookie holds its token) until it expires,
    the user logs out, or an admin resets the password."""
    auth.add_user(ws, "ada", PASSWORD, "admin")
    ws.store.close()
    with app_server(ws.root, tmp_path / "server.log", WORKBENCH_TEAM="1") as url, browser() as b:
        context = b.new_context(viewport={"width": 1400, "height": 1000})  # one browser
        page = context.new_page()
        page.goto(url)
        log_in(page, "ada")
        page.reload()
        page.wait_for_selector(IDLE)
        page.get_by_text("Logged in as ada").wait_for()  # old code: the login form
        tab = context.new_page()  # a pasted link in a new tab of the same browser
        tab.goto(f"{url}/models")
        tab.wait_for_selector(IDLE)
        tab.get_by_text("Logged in as ada").wait_for()
        assert tab.get_by_role("heading", name="Log in").count() == 0
        stranger = b.new_page()  # another browser's context (no cookie): the login form
        stranger.goto(url)
        stranger.get_by_role("heading", name="Log in").wait_for()

        auth.reset_password(ws, "ada", PASSWORD + "!")  # ends ada's open sessions
        ws.store.close()
        tab.reload()
        tab.get_by_role("heading", name="Log in").wait_for()
        tab.get_by_text("password of 'ada' was changed").wait_for()

        auth.reset_password(ws, "ada", PASSWORD)
        ws.store.close()
        log_in(tab, "ada")
        page.reload()  # the other tab takes up the new login from the cookie
        page.get_by_text("Logged in as ada").wait_for()
        tab.get_by_role("button", name="Log out").click()
        tab.get_by_role("heading", name="Log in").wait_for()
        # The other tab, not reloaded: its next click finds the login ended (a newcomer
        # found it still logged in, with the Log out button, after "Log out" here).
        page.get_by_test_id("stSidebarNav").get_by_text("Models").click()
        page.get_by_role("heading", name="Log in").wait_for()
        page.get_by_text("This login was ended").wait_for()
    events = auth.audit_events(ws)
    assert list(events[events["action"] == "auth.login"]["actor"]) == ["ada", "ada"]
