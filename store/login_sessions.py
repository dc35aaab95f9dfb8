"""Browser login sessions of team mode (``workbench.team.auth``): one row per login through the
form,
keyed by the sha256 of the random token the browser keeps in its ``wb_session`` cookie
(never the token itself), with when it began, when it expires and when it was ended."""

from __future__ import annotations

from datetime import datetime

from workbench.store.gateway import Tx


def insert(
    tx: Tx,
    session_hash: str,
    user_name: str,
    created_at: datetime,
    expires_at: datetime,
    address: str | None,
) -> None:
    """Record a new session: ``session_hash`` the sha256 hex of the cookie token,
    ``created_at``/``expires_at`` naive UTC, ``address`` the client's (None if unknown)."""
    tx.execute(
        "INSERT INTO login_sessions (session_hash, user_name, created_at, expires_at, address) "
        "VALUES (?, ?, ?, ?, ?)",
        [session_hash, user_name, created_at, expires_at, address],
    )


def live(tx: Tx, session_hash: str, now: datetime) -> tuple[str, datetime] | None:
    """``(user name, created_at)`` of the session if it exists, has not ended and has not
    expired at ``now``; else None."""
    row = tx.record(
        "SELECT user_name, created_at FROM login_sessions WHERE session_hash = ? "
        "AND ended_at IS NULL AND expires_at > ?",
        [session_hash, now],
    )
    return None if row is None else (row["user_name"], row["created_at"])


def end(tx: Tx, session_hash: str, when: datetime) -> None:
    """End the session at ``when`` (naive UTC), if it is open; nothing for an unknown or
    already ended one."""
    tx.execute(
        "UPDATE login_sessions SET ended_at = ? WHERE session_hash = ? AND ended_at IS NULL",
        [when, session_hash],
    )


def end_for_user(tx: Tx, user_name: str, when: datetime) -> None:
    """End every open session of ``user_name`` (its account was disabled)."""
    tx.execute(
        "UPDATE login_sessions SET ended_at = ? WHERE user_name = ? AND ended_at IS NULL",
        [when, user_name],
    )


def forget_expired(tx: Tx, before: datetime) -> None:
    """Delete sessions that expired or ended before ``before`` (kept a while for audits)."""
    tx.execute("DELETE FROM login_sessions WHERE expires_at < ? OR ended_at < ?", [before, before])
