"""The browser session's principal, for the services' role checks (``workbench.team.auth``).

Read from ``st.session_state`` at each call, not kept per thread: fragment reruns run on
other threads than the full run that logged the user in."""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

from workbench.settings import Settings
from workbench.team import auth


def principal() -> auth.Principal | None:
    """The principal of the current browser session: the one a login stored in
    ``st.session_state``; in team mode before a login ``Principal("anonymous", "none")``;
    None outside a page run (the CLI, a notebook, the server's own threads) and in
    single-user mode with no login. Installed as ``auth``'s session lookup at import."""
    if get_script_run_ctx(suppress_warning=True) is None:
        return None  # not a page run: the CLI, a notebook, the server's own threads
    found = st.session_state.get(auth.SESSION_KEY)
    if isinstance(found, auth.Principal):
        return found
    return auth.Principal("anonymous", "none") if Settings.from_env().team else None


def client_address() -> str | None:
    """The browser's address, for the login throttle and the audit log: Streamlit's
    ``st.context.ip_address``, which is None for a connection from 127.0.0.1 or ::1; such a
    connection (a browser on this machine, or a reverse proxy on it) is ``auth.LOOPBACK``,
    so that attempts through it are counted and audited like any other address. None when
    no HTTP request is behind the run (AppTest)."""
    try:
        address = st.context.ip_address
        served = bool(st.context.headers)
    except Exception:  # no browser request behind this run
        return None
    if isinstance(address, str) and address:
        return address
    return auth.LOOPBACK if served else None


def oidc_configured() -> bool:
    """True when ``.streamlit/secrets.toml`` has an ``[auth]`` section for ``st.login``."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all: Streamlit raises its own not-found error
        return False


def cookie_token() -> str | None:
    """The login-session token the browser sent with this session's first request (its
    ``wb_session`` cookie), or None."""
    try:
        token = st.context.cookies.get(auth.SESSION_COOKIE)
    except Exception:  # no browser request behind this run (AppTest)
        return None
    return token if isinstance(token, str) and token else None


def remember(token: str, hours: float) -> None:
    """Have the browser keep ``token`` in the ``wb_session`` cookie for ``hours``: a reload,
    a new tab or a pasted link then resumes the login (``auth.resume_session``). Set by a
    script, so not HttpOnly; SameSite=Strict, and Secure when the page came over HTTPS."""
    seconds = max(int(hours * 3600), 60)
    st.html(
        "<script>document.cookie = "
        f"'{auth.SESSION_COOKIE}={token}; Max-Age={seconds}; Path=/; SameSite=Strict' + "
        "(location.protocol === 'https:' ? '; Secure' : '');</script>",
        unsafe_allow_javascript=True,
    )


def forget() -> None:
    """Have the browser drop the ``wb_session`` cookie (the session is ended server-side
    first, so a cookie that lingers resumes nothing)."""
    st.html(
        f"<script>document.cookie = '{auth.SESSION_COOKIE}=; Max-Age=0; Path=/; "
        "SameSite=Strict';</script>",
        unsafe_allow_javascript=True,
    )


def session_token() -> str | None:
    """This browser session's login-session token (a form login), or None."""
    if get_script_run_ctx(suppress_warning=True) is None:
        return None
    token = st.session_state.get("session_token")
    return token if isinstance(token, str) else None


auth.use_session_lookup(principal, session_token)
