"""A real Streamlit server on a free port, and Debian's chromium through Playwright.

The server's output is kept and printed when a test using it fails.
"""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import PYTHON, ROOT, subprocess_env

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def app_server(ws_path: Path, log_path: Path, **env: str) -> Iterator[str]:
    """Start `workbench ui` on a free port; yield its URL; stop it."""
    with app_process(ws_path, log_path, **env) as (url, _proc):
        yield url


@contextmanager
def app_process(ws_path: Path, log_path: Path, **env: str
                ) -> Iterator[tuple[str, subprocess.Popen]]:  # fmt: skip
    """Like app_server, and the process too (for a test that kills it)."""
    port = free_port()
    log = log_path.open("w")
    proc = subprocess.Popen(
        [PYTHON, "-m", "app.cli", "--workspace", str(ws_path), "ui", "--port", str(port),
         "--host", "127.0.0.1"],
        stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=subprocess_env(ws_path, **env),
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log_path)
        yield url, proc
    except BaseException:
        log.flush()
        print(f"--- server output ({log_path}) ---\n{log_path.read_text()}")  # shown on failure
        raise
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _wait_healthy(url: str, proc: subprocess.Popen, log_path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited with {proc.returncode}:\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.read().decode().strip() == "ok":
                    return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(f"server not healthy after {timeout} s:\n{log_path.read_text()}")


@contextmanager
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package.")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def open_page(b, url: str, console_errors: list[str] | None = None):
    page = b.new_page(viewport={"width": 1400, "height": 1000})
    if console_errors is not None:
        page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.goto(url)
    page.wait_for_selector(IDLE, timeout=60_000)
    return page


def error_texts(page) -> list[str]:
    """Texts of every error element Streamlit shows (st.error, exceptions)."""
    sel = "[data-testid='stException'], [data-testid='stAlertContentError']"
    return [e.inner_text() for e in page.query_selector_all(sel)]
