"""Serving tokens: who may call ``workbench serve``'s scoring endpoint.

An admin creates a token (``workbench tokens create NAME``); its text is shown once::

    wbt_<token id: 8 hex digits>_<secret: 43 URL-safe characters, 256 random bits>

and only the sha256 of the secret is stored (a token is random, not a password a person
chose, so a fast hash is enough and keeps each request cheap: the same reasoning as
GitHub's and PyPI's API tokens). A client sends it as ``Authorization: Bearer <token>``.

When the endpoint asks for one: on a team workspace (one that has user accounts), and on
any workspace where an active token exists. Then ``/predict`` and ``/invocations``
answer HTTP 401 without a valid token; ``/health`` says only "ok". Revoking a token takes
effect on the next request (the server rereads the tokens whenever the database changes).
The server counts accepted and refused requests in memory and records them in batches
(:class:`Gate.flush`, every ``FLUSH_S`` seconds and at shutdown): the token's ``uses`` and
``last_used_at``, an audit event ``serve.predict`` per token (actor ``token:NAME``), and
``serve.refused`` (actor ``anonymous``) with the count and up to 10 client addresses. A
request writes nothing itself, so a flood of bad requests cannot fill the database or hold
its lock.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from dataclasses import dataclass, field

from workbench.store import audit, users
from workbench.store import tokens as q
from workbench.store.entities import utcnow
from workbench.store.errors import AlreadyExists, NotFound
from workbench.store.tokens import ServingToken
from workbench.store.workspace import Workspace
from workbench.team import auth
from workbench.team.auth import requires

PREFIX = "wbt_"
FLUSH_S = 10.0
_TEXT = re.compile(r"^wbt_([0-9a-f]{8})_([A-Za-z0-9_-]{43})$")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@requires("admin")
def create_token(ws: Workspace, name: str) -> tuple[ServingToken, str]:
    """A new serving token named ``name`` (a label: 1 to 64 letters, digits, '.', '_',
    '-', '@'; unique among active tokens). Returns the stored token and its text, which is
    not kept anywhere: show it once. Raises InvalidInput (name), AlreadyExists,
    PermissionDenied (not an admin). Audited as ``token.create``."""
    name = auth.check_account_name(name, "Token name")
    secret = secrets.token_urlsafe(32)
    token = ServingToken(
        token_id=secrets.token_hex(4),
        name=name,
        created_at=utcnow(),
        created_by=auth.current_user(),
        revoked_at=None,
        revoked_by="",
        last_used_at=None,
        uses=0,
    )

    def work(tx) -> None:
        if q.active_by_name(tx, name) is not None:
            raise AlreadyExists(
                f"A serving token named {name!r} exists; revoke it first "
                "(`workbench tokens revoke`) or choose another name."
            )
        q.insert(tx, token, _digest(secret))
        audit.record(
            tx,
            actor=token.created_by,
            action="token.create",
            object_type="serving_token",
            object_id=name,
            detail={"token_id": token.token_id},
        )

    ws.store.write(work)
    return token, f"{PREFIX}{token.token_id}_{secret}"


@requires("admin")
def revoke_token(ws: Workspace, name: str) -> ServingToken:
    """Revoke the active token named ``name``: a server refuses it from its next request.
    Raises NotFound, PermissionDenied. Audited as ``token.revoke``."""
    who = auth.current_user()

    def work(tx) -> ServingToken:
        token = q.active_by_name(tx, name)
        if token is None:
            raise NotFound(
                f"No active serving token named {name!r}; `workbench tokens list` shows them."
            )
        q.revoke(tx, token.token_id, utcnow(), who)
        audit.record(
            tx,
            actor=who,
            action="token.revoke",
            object_type="serving_token",
            object_id=name,
            detail={"token_id": token.token_id},
        )
        return token

    return ws.store.write(work)


def open_after_revoke(ws: Workspace) -> str | None:
    """What to tell whoever just revoked a token when the endpoint now needs none (a
    single-user workspace whose last active token is gone), else None."""

    def read(tx) -> bool:
        return not q.active_hashes(tx) and not users.all_users(tx)

    if not ws.store.read(read):
        return None
    return (
        "No active serving token is left, and this workspace has no user accounts: a "
        "running `workbench serve` now answers anyone who reaches its port. Create a new "
        "token (`workbench tokens create NAME`) to require one again; to replace a token, "
        "create the new one before revoking the old."
    )


def list_active(ws: Workspace) -> list[ServingToken]:
    """The serving tokens not revoked, oldest first."""
    return [t for t in list_tokens(ws) if t.active]


def list_tokens(ws: Workspace) -> list[ServingToken]:
    """Every serving token, revoked ones included, oldest first (never a secret)."""
    return ws.store.read(q.all_tokens)


@dataclass
class _Counts:
    accepted: dict[str, int] = field(default_factory=dict)  # token id -> requests
    refused: int = 0
    addresses: list[str] = field(default_factory=list)


class Gate:
    """The serving endpoint's check of ``Authorization`` headers on ``ws``.

    :meth:`check` is called per request: ``(True, token name)`` for a valid token (or when
    no token is required: ``(True, None)``), ``(False, reason)`` otherwise. The set of
    active tokens, and whether tokens are required, is reread when the database's
    generation changes (two ``stat`` calls per request otherwise). Thread-safe.
    """

    def __init__(self, ws: Workspace, model: str) -> None:
        self.ws = ws
        self.model = model
        self._lock = threading.Lock()
        self._seen: tuple | None = None
        self._required = False
        self._active: dict[str, tuple[str, str]] = {}
        self._counts = _Counts()
        self.refused_total = 0

    def required(self) -> bool:
        """Whether requests need a token (team workspace, or an active token exists)."""
        self._refresh()
        return self._required

    def _refresh(self) -> None:
        generation = self.ws.store.generation()
        if generation == self._seen:
            return

        def read(tx) -> tuple[bool, dict[str, tuple[str, str]]]:
            active = q.active_hashes(tx)
            return bool(active) or bool(users.all_users(tx)), active

        required, active = self.ws.store.read(read)
        with self._lock:
            self._required, self._active, self._seen = required, active, generation

    def _valid(self, header: str | None) -> tuple[str, str] | None:
        """``(token id, name)`` of the active token in ``header`` (``Bearer wbt_...``)."""
        scheme, _, text = (header or "").partition(" ")
        match = _TEXT.match(text.strip()) if scheme.lower() == "bearer" else None
        found = self._active.get(match.group(1)) if match else None
        if found is not None and hmac.compare_digest(found[0], _digest(match.group(2))):
            return match.group(1), found[1]
        return None

    def shows_model(self, header: str | None) -> bool:
        """Whether ``/health`` may name the model: no token required, or a valid one sent.
        Not counted: a health check is not a scoring request."""
        self._refresh()
        return not self._required or self._valid(header) is not None

    def check(self, header: str | None, address: str | None) -> tuple[bool, str | None]:
        """Whether a scoring request with this ``Authorization`` header may proceed, and
        the token's name (None when none is required) or why not. Counted."""
        self._refresh()
        if not self._required:
            return True, None
        valid = self._valid(header)
        if valid is not None:
            with self._lock:
                counts = self._counts.accepted
                counts[valid[0]] = counts.get(valid[0], 0) + 1
            return True, valid[1]
        with self._lock:
            self._counts.refused += 1
            self.refused_total += 1
            seen = self._counts.addresses
            if address and len(seen) < 10 and address not in seen:
                seen.append(address)
        if not header:
            return False, (
                "This endpoint needs a serving token: send 'Authorization: Bearer "
                "wbt_...'. An admin creates one with `workbench tokens create "
                "NAME`."
            )
        if header.strip().partition(" ")[0].lower() != "bearer":  # the token may be right
            return False, (  # (what was sent is not echoed: it may be the token itself)
                "The Authorization header does not use the Bearer scheme; a serving token "
                "goes as 'Authorization: Bearer wbt_...'."
            )
        return False, (
            "The serving token is not valid (unknown, revoked or mistyped). Ask "
            "an admin for a token (`workbench tokens list` shows the active ones)."
        )

    def flush(self) -> None:
        """Record the requests counted since the last flush (one transaction), then reset
        the counts. Errors propagate; the counts are kept for the next attempt then."""
        with self._lock:
            counts, self._counts = self._counts, _Counts()
        if not counts.accepted and not counts.refused:
            return
        now = utcnow()

        def work(tx) -> None:
            names = {t.token_id: t.name for t in q.all_tokens(tx)}
            for token_id, n in counts.accepted.items():
                q.count_uses(tx, token_id, n, now)
                audit.record(
                    tx,
                    actor=f"token:{names.get(token_id, token_id)}",
                    action="serve.predict",
                    object_type="model",
                    object_id=self.model,
                    detail={"requests": n, "token_id": token_id},
                )
            if counts.refused:
                audit.record(
                    tx,
                    actor="anonymous",
                    action="serve.refused",
                    object_type="model",
                    object_id=self.model,
                    detail={"requests": counts.refused, "addresses": counts.addresses[:10]},
                )

        try:
            self.ws.store.write(work)
        except BaseException:
            with self._lock:  # keep them for the next flush
                for token_id, n in counts.accepted.items():
                    self._counts.accepted[token_id] = self._counts.accepted.get(token_id, 0) + n
                self._counts.refused += counts.refused
            raise


def describe(token: ServingToken) -> str:
    """One line for ``workbench tokens list``."""
    state = "active" if token.active else f"revoked {token.revoked_at:%Y-%m-%d %H:%M}"
    times = "time" if token.uses == 1 else "times"
    used = (
        f"used {token.uses:,} {times}, last {token.last_used_at:%Y-%m-%d %H:%M}"
        if token.last_used_at
        else "never used"
    )
    return (
        f"{token.name:<24} {token.token_id}  {state:<24} {used}; made "
        f"{token.created_at:%Y-%m-%d} by {token.created_by}"
    )
