"""Team-mode accounts: one row per user with a salted argon2id hash (never the password),
a role, and whether the account is disabled. The hashing itself lives in ``workbench.team.auth``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from workbench.store.gateway import Tx

ROLES = ("viewer", "editor", "admin")


@dataclass(frozen=True)
class User:
    """A team-mode account as stored (never its password hash): ``role`` one of
    :data:`ROLES`, ``disabled`` True when it may not log in, ``created_at`` and
    ``password_changed_at`` naive UTC, ``created_by`` the actor who added it."""

    name: str
    role: str
    disabled: bool
    created_at: datetime
    created_by: str
    password_changed_at: datetime


_COLS = "name, role, disabled, created_at, created_by, password_changed_at"


def get(tx: Tx, name: str) -> User | None:
    """The account ``name`` (disabled or not), or None when there is none."""
    row = tx.record(f"SELECT {_COLS} FROM users WHERE name = ?", [name])
    return None if row is None else User(**row)


def password_hash(tx: Tx, name: str) -> str | None:
    """The stored argon2id hash of the account ``name``; None when there is no such
    account or it is disabled (so a disabled account cannot log in)."""
    return tx.scalar("SELECT password_hash FROM users WHERE name = ? AND NOT disabled", [name])


def all_users(tx: Tx) -> list[User]:
    """Every account, disabled ones included, by name."""
    return [User(**r) for r in tx.records(f"SELECT {_COLS} FROM users ORDER BY name")]


def insert(tx: Tx, user: User, hashed: str) -> None:
    """Add the account ``user`` with the password hash ``hashed`` (made by
    ``workbench.team.auth``, never a password). The caller checks the name is free; a
    duplicate name fails on the primary key (the gateway reports AlreadyExists)."""
    tx.execute(
        f"INSERT INTO users ({_COLS}, password_hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            user.name,
            user.role,
            user.disabled,
            user.created_at,
            user.created_by,
            user.password_changed_at,
            hashed,
        ],
    )


def update(tx: Tx, name: str, **values: object) -> None:
    """Set columns of the account ``name`` (``role=``, ``disabled=``, ``password_hash=``,
    ``password_changed_at=``). The keyword names go into the SQL as column names: callers
    pass only these fixed names, never user input. No error when there is no such account."""
    sets = ", ".join(f"{k} = ?" for k in values)
    tx.execute(f"UPDATE users SET {sets} WHERE name = ?", [*values.values(), name])


def count(tx: Tx) -> int:
    """How many accounts exist, disabled ones included."""
    return int(tx.scalar("SELECT count(*) FROM users"))


def admins(tx: Tx) -> int:
    """How many accounts are admins and not disabled."""
    return int(tx.scalar("SELECT count(*) FROM users WHERE role = 'admin' AND NOT disabled"))
