"""Listening addresses for `workbench ui` and `workbench serve`: checked before anything is
announced, so a busy port, a name that does not resolve or an address this machine lacks
is one clear error (no URL printed for a server that never starts, no traceback)."""

from __future__ import annotations

import errno
import socket

from workbench.store.errors import InvalidInput

_HINTS = {
    errno.EADDRINUSE: "another program listens there; choose another --port",
    errno.EADDRNOTAVAIL: (
        "this machine has no such address; use 127.0.0.1 (this machine only) or 0.0.0.0 "
        "(every interface)"
    ),
    errno.EACCES: "ports below 1024 need privileges; choose one above 1023",
}


def url(host: str, port: int, path: str = "") -> str:
    """``http://HOST:PORT/path``, an IPv6 address in brackets (``http://[::1]:8600``)."""
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{shown}:{port}{path}"


def bind(host: str, port: int) -> socket.socket:
    """A TCP socket listening on ``host``:``port`` (the first address the name resolves
    to, with ``SO_REUSEADDR`` as servers set it; backlog 2048, uvicorn's default).

    Raises InvalidInput, saying what to change, for an empty host, a port outside 1 to
    65535, a name that does not resolve, or an address that cannot be bound (in use, not
    this machine's, a privileged port)."""
    if not host.strip():
        raise InvalidInput(
            "--host is empty; give an address such as 127.0.0.1 (this machine only) or "
            "0.0.0.0 (every interface)."
        )
    if not 1 <= port <= 65535:
        raise InvalidInput(f"--port {port} is not a TCP port; give one from 1 to 65535.")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except (socket.gaierror, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise InvalidInput(
            f"Cannot listen on {host!r}: the name does not resolve ({reason}); give an "
            "address such as 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)."
        ) from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        hint = _HINTS.get(exc.errno, "check --host and --port")
        raise InvalidInput(f"Cannot listen on {url(host, port)}: {exc.strerror}; {hint}.") from None
    return sock


def check_free(host: str, port: int) -> None:
    """Raise InvalidInput (as :func:`bind`) unless ``host``:``port`` can be listened on now;
    for a server that binds the address itself (Streamlit's)."""
    bind(host, port).close()
