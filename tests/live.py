"""A real Streamlit server on a free port, and Debian's chromium through Playwright.

The server's output is kept and printed when a test using it fails.
"""

from __future__ import annotations

import os
import signal
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
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
# The journeys' screenshots: a test run writes them under tests/output/ (tests never modify
# tracked files); `make screenshots` runs the browser tests with WORKBENCH_SHOTS pointing at
# docs/screenshots/ to refresh the pictures the docs show.
SHOTS = Path(os.environ.get("WORKBENCH_SHOTS") or ROOT / "tests" / "output" / "screenshots")


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
def app_process(
    ws_path: Path, log_path: Path, **env: str
) -> Iterator[tuple[str, subprocess.Popen]]:
    """Like app_server, and the process too (for a test that kills it)."""
    port = free_port()
    log = log_path.open("w")
    proc = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "workbench.cli",
            "--workspace",
            str(ws_path),
            "ui",
            "--port",
            str(port),
            "--host",
            "127.0.0.1",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
        env=subprocess_env(ws_path, **env),
    )
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


@contextmanager
def make_run(clone: Path, log_path: Path, timeout: float = 900) -> Iterator[tuple[str, float]]:
    """The README's first command, `make run`, in ``clone`` on a free port, with an
    environment a newcomer's shell would have (no virtualenv, no WORKBENCH_* settings).
    Yields the URL once the server is healthy, and the seconds that took."""
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("WORKBENCH_", "VIRTUAL_ENV", "PYTHON"))
    }
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(str(ROOT))
    )
    log = log_path.open("w")
    started = time.monotonic()
    proc = subprocess.Popen(
        ["make", "run", f"PORT={port}"],
        cwd=clone,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://localhost:{port}"
    try:
        _wait_healthy(url, proc, log_path, timeout)
        yield url, time.monotonic() - started
    except BaseException:
        log.flush()
        print(f"--- make run output ({log_path}) ---\n{log_path.read_text()}")
        raise
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # make and the server it started
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
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
    from playwright.sync_api import expect, sync_playwright

    # Assertions wait for the state itself: on a busy 2-core host a page can take well over
    # Playwright's default 5 s to draw its charts (a plotly chart once took longer under
    # `under-load make test`); 30 s is the limit the locators' own waits use.
    expect.set_options(timeout=30_000)
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package.")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def open_page(b, url: str, console_errors: list[str] | None = None, height: int = 1000):
    page = b.new_page(viewport={"width": 1400, "height": height})
    if console_errors is not None:
        page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.goto(url)
    page.wait_for_selector(IDLE, timeout=60_000)
    return page


def error_texts(page) -> list[str]:
    """Texts of every error element Streamlit shows (st.error, exceptions)."""
    sel = "[data-testid='stException'], [data-testid='stAlertContentError']"
    return [e.inner_text() for e in page.query_selector_all(sel)]


def start_here_is_drawn(url: str) -> float:
    """Open the demo's Start here page in chromium: the seconds until its figures are drawn
    (four churn versions, three drift reports), with no error shown or logged."""
    from playwright.sync_api import expect

    started = time.monotonic()
    console: list[str] = []
    with browser() as b:
        page = open_page(b, f"{url}/start", console)
        page.get_by_role("heading", name="Start here").wait_for()
        page.get_by_text("The story.").wait_for()
        expect(page.get_by_test_id("stMetricValue").first).to_have_text("4")  # churn versions
        expect(page.get_by_test_id("stMetricValue").nth(1)).to_have_text("3")  # drift reports
        page.wait_for_selector(IDLE)
        assert error_texts(page) == []
    assert [c for c in console if "404" not in c] == []
    return time.monotonic() - started


# Texts the page draws cut off with an ellipsis (metric cards, widget labels, captions):
# an element styled `text-overflow: ellipsis` whose text is wider than its box. Select
# boxes' chosen values are left out (a long option is cut by design, its full text a click
# away).
CUT_OFF = """() => {
  const wide = e => {  // its text, as laid out, is wider than the box that clips it (by
    // a fraction of a pixel too: that shows the ellipsis as well)
    const range = document.createRange();
    range.selectNodeContents(e);
    return e.scrollWidth > e.clientWidth
      || range.getBoundingClientRect().width > e.getBoundingClientRect().width + 0.01;
  };
  return [...document.querySelectorAll("[data-testid='stMain'] *")]
    .filter(e => getComputedStyle(e).textOverflow === "ellipsis" && e.offsetParent !== null
                 && !e.closest("[data-baseweb='select']") && wide(e))
    .map(e => e.textContent.trim()).filter(t => t);
}"""


def cut_off_texts(page) -> list[str]:
    """Texts shown cut off (with an ellipsis) in the page's main area."""
    return page.evaluate(CUT_OFF)


# The page shows what it will show: its script idle, nothing stale, every visible chart
# drawn (plotly draws its SVG after the script has finished) and every visible grid laid out.
DRAWN = """() => {
  const app = document.querySelector("[data-testid='stApp']");
  if (!app || app.getAttribute("data-test-script-state") !== "notRunning") return false;
  if (document.querySelector("[data-stale='true'], [data-testid='stSkeleton']")) return false;
  for (const t of document.querySelectorAll("[data-testid='stMain'] [data-testid='stDataFrame']"))
    if (t.offsetParent !== null && t.getBoundingClientRect().height === 0) return false;
  for (const c of document.querySelectorAll("[data-testid='stMain'] [data-testid='stPlotlyChart']"))
    if (c.offsetParent !== null && !c.querySelector(".main-svg")) return false;
  return true;
}"""


def wait_drawn(page, timeout: float = 60) -> None:
    """Wait until the page is idle and drawn (:data:`DRAWN`), checked on every frame."""
    page.wait_for_function(DRAWN, polling="raf", timeout=timeout * 1000)


def switch_on(page, label: str) -> None:
    """Turn the toggle ``label`` on (nothing when it is on already): the pages keep forms
    such as "New report" behind a toggle, whose widgets the browser mounts only when shown."""
    from playwright.sync_api import expect

    page.wait_for_selector(IDLE)
    box = page.get_by_role("switch", name=label, exact=True)
    if not box.is_checked():
        page.get_by_text(label, exact=True).click()
    expect(box).to_be_checked()


def alias_form(page):
    """Open the Models page's "Move an alias" popover; returns its form (a locator)."""
    page.wait_for_selector(IDLE)
    form = page.get_by_test_id("stForm").filter(has_text="Move alias")
    if not form.is_visible():
        page.get_by_role("button", name="Move an alias").click()
    form.wait_for()
    return form


def tick_row(page, grid, row: int) -> None:
    """Tick row ``row`` (1-based) of the data grid ``grid`` (a locator of its
    ``stDataFrameResizable``): its checkbox sits at the left edge of the canvas, one
    35-pixel row per line below the header."""
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 15, box["y"] + 17 + 35 * row)


def open_tab(page, name: str, shows, timeout: float = 120) -> None:
    """Click the tab ``name`` and wait until ``shows`` (a locator inside it) is visible. A
    rerun still in flight from the previous click can redraw the tabs with the first one
    open; then the tab is clicked again, as a user would, until ``timeout`` seconds."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    deadline = time.monotonic() + timeout
    tab = page.get_by_role("tab", name=name)
    while True:
        page.wait_for_selector(IDLE, timeout=timeout * 1000)
        if tab.get_attribute("aria-selected") != "true":
            tab.click()
        try:
            shows.wait_for(timeout=5_000)  # one poll of the state, not a wait for a duration
            return
        except PlaywrightTimeout:
            if time.monotonic() > deadline:
                raise
