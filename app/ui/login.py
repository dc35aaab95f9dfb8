"""Team mode: the login form, shown on every URL until a visitor logs in."""

import shlex
from datetime import UTC

import streamlit as st

from workbench.settings import Settings
from workbench.team import auth
from workbench.ui import session
from workbench.ui.widgets import user_errors


def login_form(ws) -> None:
    """Render the team-mode login page for the workspace ``ws``: with no admin
    yet, only the command that creates one; else the identity-provider button (when
    ``[auth]`` is configured) and the name/password form. A correct login
    (``auth.login``, throttled and audited there) starts a login session of
    WORKBENCH_SESSION_HOURS, stores the principal and token in ``st.session_state`` and
    reruns; a refused one shows its message (``user_errors``)."""
    st.title("Log in")
    if not auth.has_admin(ws):
        st.warning("This team instance has no admin yet. On the server, create one:")
        where = shlex.quote(str(ws.root))
        st.code(f"workbench --workspace {where} users add YOUR_NAME --role admin", language="bash")
        st.caption("It asks for a password (at least 10 characters); then reload this page.")
        return
    if note := st.session_state.pop("login_note", None):
        st.info(note)
    if session.cookie_token():  # a session that ended or expired: the browser drops it
        session.forget()
    if session.oidc_configured():
        st.button(
            "Log in with your identity provider",
            on_click=st.login,
            icon=":material/key:",
            type="primary",
        )
        st.caption("Or with a workbench account:")
    with st.form("login"):
        name = st.text_input("User name", autocomplete="username")
        password = st.text_input("Password", type="password", autocomplete="current-password")
        if st.form_submit_button("Log in", type="primary", icon=":material/login:"):
            with user_errors():
                address = session.client_address()
                principal = auth.login(ws, name, password, address=address)
                hours = Settings.from_env().session_hours
                token, began = auth.start_session(ws, principal.name, hours, address)
                st.session_state[auth.SESSION_KEY] = principal
                st.session_state["logged_in_at"] = began.replace(tzinfo=UTC).timestamp()
                st.session_state["session_token"] = token
                st.session_state["cookie_to_set"] = hours
                st.rerun()
