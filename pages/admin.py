"""Admin: the audit log (filter, export), serving tokens for `workbench serve` and, in team
mode, the users and their roles."""

import datetime as dt

import pandas as pd
import streamlit as st

from workbench.settings import Settings
from workbench.team import auth
from workbench.team import tokens as auth_tokens
from workbench.team.auth import ROLES
from workbench.ui import data
from workbench.ui.widgets import flash_scope, user_errors

st.title("Admin")


def audit_log(ws) -> None:
    """The audit log panel: filters (who, object type, action prefix, text, since a
    date taken as midnight UTC), the matching events newest first (at most 5,000, with a note
    when more match) and a CSV export of what is shown. PermissionDenied (shown by the page's
    ``user_errors``) for a non-admin in team mode."""
    st.subheader("Audit log")
    facets = auth.audit_facets(ws)
    a, b, c, d, e = st.columns([2, 2, 2, 2, 2])
    actor = a.selectbox("Who", ["(anyone)", *facets["actor"]], key="audit-actor")
    kind = b.selectbox("Object", ["(any)", *facets["object_type"]], key="audit-object")
    action = c.text_input("Action starts with", placeholder="model.alias", key="audit-action")
    text = d.text_input("Text in object or detail", key="audit-text")
    since = e.date_input("Since", value=None, key="audit-since")
    shown = auth.audit_log(
        ws,
        actor=None if actor == "(anyone)" else actor,
        object_type=None if kind == "(any)" else kind,
        action=action.strip() or None,
        text=text.strip() or None,
        since=dt.datetime.combine(since, dt.time()) if since else None,
    )
    events = shown.items
    if shown.cut:
        st.caption(
            f"{shown.note('events')}, newest first (at most {len(events):,} are shown "
            "and exported; narrow the filters to see older ones)."
        )
    else:
        st.caption(f"{shown.total:,} event(s), newest first.")
    st.dataframe(
        events,
        hide_index=True,
        key="audit-table",
        height=480,
        column_config={"ts": st.column_config.DatetimeColumn("when (UTC)")},
    )
    st.download_button(
        "Export as CSV",
        events.to_csv(index=False).encode(),
        file_name="audit-log.csv",
        mime="text/csv",
        on_click="ignore",
        icon=":material/download:",
    )


def users_panel(ws) -> None:
    """The team-mode users panel: the accounts table, a form to add a user and one
    to change a user's role, password or enabled state (each through ``workbench.team.auth``,
    admins only; refusals shown by ``user_errors``)."""
    st.subheader("Users")
    users = auth.list_users(ws)
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "name": u.name,
                    "role": u.role,
                    "disabled": u.disabled,
                    "created": u.created_at,
                    "by": u.created_by,
                    "password changed": u.password_changed_at,
                }
                for u in users
            ]
        ),
        hide_index=True,
        key="users-table",
    )
    with st.form("add-user", clear_on_submit=True):
        st.markdown("**Add a user**")
        a, b, c = st.columns(3)
        name = a.text_input("User name")
        password = b.text_input(
            "Initial password", type="password", help=f"At least {auth.MIN_PASSWORD} characters."
        )
        role = c.selectbox("Role", ROLES)
        if st.form_submit_button("Add user", icon=":material/person_add:"):
            with user_errors():
                auth.add_user(ws, name, password, role)
                st.session_state["flash"] = f"Added {name.strip()} as {role}."
                st.rerun()
    if not users:
        return
    with st.form("change-user"):
        st.markdown("**Change a user**")
        a, b, c = st.columns(3)
        name = a.selectbox("User", [u.name for u in users])
        role = b.selectbox("Role", ["(keep)", *ROLES])
        password = c.text_input("New password (blank: keep)", type="password")
        disabled = st.radio("Account", ["(keep)", "enable", "disable"], horizontal=True)
        if st.form_submit_button("Apply", icon=":material/manage_accounts:"):
            with user_errors():
                if role != "(keep)":
                    auth.set_role(ws, name, role)
                if password:
                    auth.reset_password(ws, name, password)
                if disabled != "(keep)":
                    auth.set_disabled(ws, name, disabled == "disable")
                st.session_state["flash"] = f"Updated {name}."
                st.rerun()


def tokens_panel(ws) -> None:
    """The serving tokens panel: the tokens with their use, a form to create one
    (its text shown once, after the rerun) and one to revoke an active one, warning when the
    endpoint is then left open."""
    st.subheader("Serving tokens")
    st.caption(
        "Credentials for `workbench serve`: required on a team workspace and once a token "
        "exists. Only a hash is stored; a token's text is shown once."
    )
    if text := st.session_state.pop("new_token", None):
        st.success(
            "Copy this token now; it is not shown again. Clients send it as "
            "`Authorization: Bearer <token>`."
        )
        st.code(text, language=None)
    tokens = auth_tokens.list_tokens(ws)
    if tokens:
        rows = [
            {
                "name": t.name,
                "id": t.token_id,
                "state": "active" if t.active else "revoked",
                "uses": t.uses,
                "last used": t.last_used_at,
                "created": t.created_at,
                "by": t.created_by,
                "revoked": t.revoked_at,
            }
            for t in tokens
        ]
        st.dataframe(pd.DataFrame(rows), hide_index=True, key="tokens-table")
    a, b = st.columns(2)
    with a.form("create-token", clear_on_submit=True):
        name = st.text_input("New token's name", placeholder="billing-service")
        if st.form_submit_button("Create token", icon=":material/key:"):
            with user_errors():
                _, st.session_state["new_token"] = auth_tokens.create_token(ws, name)
                st.rerun()
    active = [t.name for t in tokens if t.active]
    if active:
        with b.form("revoke-token"):
            name = st.selectbox("Active token", active)
            if st.form_submit_button("Revoke", icon=":material/key_off:"):
                with user_errors():
                    auth_tokens.revoke_token(ws, name)
                    flash = f"Revoked {name}: refused from the next request."
                    if warning := auth_tokens.open_after_revoke(ws):
                        flash += f" {warning}"
                    st.session_state["flash"] = flash
                    st.rerun()


with user_errors(), flash_scope():
    ws = data.workspace()
    if flash := st.session_state.get("flash"):
        st.success(flash)
    if Settings.from_env().team:
        users_panel(ws)
    tokens_panel(ws)
    audit_log(ws)
