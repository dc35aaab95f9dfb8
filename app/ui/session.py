"""The browser session's principal, for the services' role checks (``app.auth``).

Read from ``st.session_state`` at each call, not kept per thread: fragment reruns run on
other threads than the full run that logged the user in."""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

from app import auth
from app.settings import Settings


def principal() -> auth.Principal | None:
    if get_script_run_ctx(suppress_warning=True) is None:
        return None  # not a page run: the CLI, a notebook, the server's own threads
    found = st.session_state.get(auth.SESSION_KEY)
    if isinstance(found, auth.Principal):
        return found
    return auth.Principal("anonymous", "none") if Settings.from_env().team else None


def oidc_configured() -> bool:
    """True when ``.streamlit/secrets.toml`` has an ``[auth]`` section for ``st.login``."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all: Streamlit raises its own not-found error
        return False


auth.use_session_lookup(principal)
