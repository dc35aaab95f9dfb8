"""Serving tokens: credentials for ``workbench serve`` (``workbench.team.tokens``). One row per
token:
its id (public, the lookup key), the sha256 of its secret (never the secret), who made it,
when it was revoked, and how often it was used (updated in batches by the server)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from workbench.store.gateway import Tx


@dataclass(frozen=True)
class ServingToken:
    """A serving token as stored: ``token_id`` (8 hex digits, part of the token text),
    ``name`` (a label), ``created_at``/``revoked_at``/``last_used_at`` (naive UTC),
    ``uses`` (requests accepted with it, as of the server's last flush)."""

    token_id: str
    name: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None
    revoked_by: str
    last_used_at: datetime | None
    uses: int

    @property
    def active(self) -> bool:
        """Whether the token is still accepted (not revoked)."""
        return self.revoked_at is None


_COLS = "token_id, name, created_at, created_by, revoked_at, revoked_by, last_used_at, uses"


def insert(tx: Tx, token: ServingToken, secret_hash: str) -> None:
    """Add ``token`` with ``secret_hash`` (the sha256 hex of its secret, never the secret).
    A token id already stored fails on the primary key (the gateway reports AlreadyExists)."""
    tx.execute(
        f"INSERT INTO serving_tokens ({_COLS}, secret_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            token.token_id,
            token.name,
            token.created_at,
            token.created_by,
            token.revoked_at,
            token.revoked_by,
            token.last_used_at,
            token.uses,
            secret_hash,
        ],
    )


def all_tokens(tx: Tx) -> list[ServingToken]:
    """Every token, revoked ones included, oldest first."""
    rows = tx.records(f"SELECT {_COLS} FROM serving_tokens ORDER BY created_at, token_id")
    return [ServingToken(**r) for r in rows]


def active_by_name(tx: Tx, name: str) -> ServingToken | None:
    """The token labelled ``name`` that is not revoked, or None (the service keeps at most
    one active token per name)."""
    row = tx.record(
        f"SELECT {_COLS} FROM serving_tokens WHERE name = ? AND revoked_at IS NULL", [name]
    )
    return None if row is None else ServingToken(**row)


def active_hashes(tx: Tx) -> dict[str, tuple[str, str]]:
    """``{token_id: (secret_hash, name)}`` of the tokens not revoked."""
    rows = tx.fetchall(
        "SELECT token_id, secret_hash, name FROM serving_tokens WHERE revoked_at IS NULL"
    )
    return {token_id: (secret_hash, name) for token_id, secret_hash, name in rows}


def revoke(tx: Tx, token_id: str, when: datetime, by: str) -> None:
    """Mark the token revoked at ``when`` (naive UTC) by the actor ``by``. No error for an
    unknown id; revoking again overwrites the first revocation's time and actor."""
    tx.execute(
        "UPDATE serving_tokens SET revoked_at = ?, revoked_by = ? WHERE token_id = ?",
        [when, by, token_id],
    )


def count_uses(tx: Tx, token_id: str, uses: int, last_used_at: datetime) -> None:
    """Add ``uses`` (accepted requests since the server's last flush) to the token's count
    and set its last use to ``last_used_at`` (naive UTC). No error for an unknown id."""
    tx.execute(
        "UPDATE serving_tokens SET uses = uses + ?, last_used_at = ? WHERE token_id = ?",
        [uses, last_used_at, token_id],
    )
