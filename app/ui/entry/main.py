"""The Streamlit entrypoint: opens the workspace, starts live ingestion, routes the pages.

Run it with `workbench ui` (or `make run`); pages live in pages/
(installed as workbench.pages) and stay thin.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path

import streamlit as st

from workbench.settings import Settings
from workbench.store.errors import PermissionDenied
from workbench.team import auth
from workbench.tracking.watcher import server_watcher
from workbench.ui import data, nav, session  # session: the role checks find the browser user
from workbench.ui.login import login_form
from workbench.ui.widgets import user_errors

FAVICON = Path(__file__).resolve().parents[1] / "favicon.png"


def session_principal(ws, settings: Settings) -> auth.Principal | None:
    """The logged-in user as the users table says now, or None (never logged in, expired,
    disabled or removed)."""
    found = st.session_state.get(auth.SESSION_KEY)
    if found is None:
        found = _identity_from_outside(ws, settings)
    if found is None:
        found = _resumed(ws)
    if found is None:
        return None
    if time.time() - st.session_state.get("logged_in_at", 0) > settings.session_hours * 3600:
        st.session_state.pop(auth.SESSION_KEY, None)
        st.session_state["login_note"] = "Your session expired; log in again."
        return None
    began = datetime.fromtimestamp(st.session_state.get("logged_in_at", 0), UTC)
    try:
        token = st.session_state.get("session_token")
        if token is not None:  # a form login: still live? ("Log out" in another tab ends it)
            resumed = auth.resume_session(ws, token)
            if resumed is None:
                auth.principal_of(ws, found.name)  # disabled or gone: says so
                raise PermissionDenied(
                    "This login was ended (logged out in another tab, or expired); log in again."
                )
            fresh = resumed[0]
        else:
            fresh = auth.principal_of(ws, found.name, began.replace(tzinfo=None))
    except PermissionDenied as exc:
        st.session_state.pop(auth.SESSION_KEY, None)
        st.session_state.pop("session_token", None)
        st.session_state["login_note"] = str(exc)
        return None
    st.session_state[auth.SESSION_KEY] = fresh
    return fresh


def _identity_from_outside(ws, settings: Settings) -> auth.Principal | None:
    """A user named by a trusted proxy header, or by the identity provider of ``st.login``;
    either must have an account here (its role comes from the users table)."""
    name = None
    if settings.trusted_user_header:
        name = st.context.headers.get(settings.trusted_user_header)
    elif session.oidc_configured() and st.user.is_logged_in:
        name = st.user.get("email")
    if not name:
        return None
    try:
        principal = auth.principal_of(ws, name)
    except PermissionDenied:
        st.session_state["login_note"] = (
            f"{name} has no active account here; ask an admin to add it (`workbench users add`)."
        )
        return None
    via = "proxy header" if settings.trusted_user_header else "identity provider"
    auth.record_outside_login(ws, name, via, session.client_address())
    st.session_state[auth.SESSION_KEY] = principal
    st.session_state["logged_in_at"] = time.time()
    return principal


def _resumed(ws) -> auth.Principal | None:
    """The login this browser kept in its cookie (a reload, a new tab, a pasted link), if
    that session is still live (``auth.resume_session``)."""
    token = session.cookie_token()
    if token is None:
        return None
    try:
        resumed = auth.resume_session(ws, token)
    except PermissionDenied as exc:  # disabled, removed, or the password was reset
        st.session_state["login_note"] = str(exc)
        return None
    if resumed is None:
        return None
    principal, began = resumed
    st.session_state[auth.SESSION_KEY] = principal
    st.session_state["logged_in_at"] = began.replace(tzinfo=UTC).timestamp()
    st.session_state["session_token"] = token
    return principal


# A local file: a :material/...: page icon is fetched from a CDN, which fails offline.
st.set_page_config(page_title="MLOps Workbench", page_icon=str(FAVICON), layout="wide")

ws = None
with user_errors():
    ws = data.workspace()
if ws is None:
    st.info("Fix the workspace path (WORKBENCH_WORKSPACE or `workbench --workspace`), then reload.")
    st.stop()

# `workbench ui` started the watcher with the server; `streamlit run app/ui/entry/main.py` starts
# one on the first page view.
watcher = server_watcher()
if watcher is None and os.environ.get("WORKBENCH_WATCH", "1") != "0":
    watcher = data.start_watcher(str(ws.root))

settings = Settings.from_env()
if not settings.team and auth.is_team(ws):
    # The workspace has user accounts (made before this server started or while it runs):
    # every page needs a login, --team or not; an anonymous visitor must not reach Admin.
    os.environ["WORKBENCH_TEAM"] = "1"
    settings = Settings.from_env()
principal = None
if settings.team:
    principal = session_principal(ws, settings)
    if principal is None:
        # Every URL shows the login form, and keeps its path: after logging in, the page asked
        # for opens (the pages are registered, not run, so no "page not found" either).
        st.navigation([nav.page(spec) for spec in [*nav.PAGES, nav.ADMIN]], position="hidden")
        login_form(ws)
        st.stop()

with st.sidebar:
    if principal is not None:
        st.caption(f"Logged in as **{principal.name}** ({principal.role})")
        if settings.trusted_user_header:  # the proxy logged the user in: only it logs out
            st.caption("Signed in through your proxy's login: log out there.")
        elif session.oidc_configured() and st.user.is_logged_in:
            st.button("Log out", icon=":material/logout:", on_click=st.logout)
        elif st.button("Log out", icon=":material/logout:"):
            with user_errors():
                auth.end_session(ws, st.session_state.pop("session_token", None))
            st.session_state.pop(auth.SESSION_KEY, None)
            st.rerun()
        if hours := st.session_state.pop("cookie_to_set", None):
            session.remember(st.session_state["session_token"], hours)
    st.caption(f"Workspace `{ws.root}`")
    if watcher is not None:
        stats = watcher.stats
        if stats.last_error and stats.errors:
            st.caption(f"Live ingestion: {stats.errors} errors, last: {stats.last_error}")
        else:
            live = f" · {stats.points:,} points picked up live" if stats.points else ""
            st.caption(f"Live ingestion on{live}")

admin = principal is None or principal.role == "admin"  # single-user: the user is the admin
st.navigation([nav.page(spec) for spec in [*nav.PAGES, *([nav.ADMIN] if admin else [])]]).run()
