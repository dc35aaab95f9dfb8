"""Team-mode accounts: one row per user with a salted argon2id hash (never the password),
a role, and whether the account is disabled. The hashing itself lives in ``workbench.team.auth``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from workbench.store.gateway import Tx

ROLES = ("viewer", "editor", "admin")


@dataclass(frozen=True)
class User:
    name: str
    role: str
    disabled: bool
    created_at: datetime
    created_by: str
    password_changed_at: datetime


_COLS = "name, role, disabled, created_at, created_by, password_changed_at"


def get(tx: Tx, name: str) -> User | None:
    row = tx.fetchone(f"SELECT {_COLS} FROM users WHERE name = ?", [name])
    return None if row is None else User(*row)


def password_hash(tx: Tx, name: str) -> str | None:
    row = tx.fetchone("SELECT password_hash FROM users WHERE name = ? AND NOT disabled", [name])
    return None if row is None else row[0]


def all_users(tx: Tx) -> list[User]:
    return [User(*r) for r in tx.fetchall(f"SELECT {_COLS} FROM users ORDER BY name")]


def insert(tx: Tx, user: User, hashed: str) -> None:
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
    sets = ", ".join(f"{k} = ?" for k in values)
    tx.execute(f"UPDATE users SET {sets} WHERE name = ?", [*values.values(), name])


def count(tx: Tx) -> int:
    """How many accounts exist, disabled ones included."""
    return int(tx.scalar("SELECT count(*) FROM users"))


def admins(tx: Tx) -> int:
    return int(tx.scalar("SELECT count(*) FROM users WHERE role = 'admin' AND NOT disabled"))
