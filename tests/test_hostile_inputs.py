"""No page shows an exception box, whatever is typed into it (#15): every page of a seeded
workspace gets hostile text in every text field, then every form is submitted. An input the
workbench cannot use gets a clear message
(every form is submitted with the first two); an unexpected error (a bug) shows an error id and
no traceback, and its traceback goes to the server log."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, make_run, open_tab, subprocess_env
from tests.test_pages import refused_models, run_page
from workbench.cli import main as cli
from workbench.cli import ui as cli_ui
from workbench.store.errors import InvalidInput
from workbench.store.workspace import Workspace
from workbench.tracking import query
from workbench.ui import nav

NESTED = "(" * 400 + "metrics.auc > 0.5" + ")" * 400
HOSTILE = [
    NESTED,
    "'; DROP TABLE runs; --",
    "params.x = ",
    "x" * 6000,
    "ümlaut 数据 🚀 \u202e\u0000",
    "",
    "metrics.auc > 0.5 or (tags.owner = 'a''b' and ((",
]
# Every form and button is submitted with these (each click reruns the whole page: all of
# them times every string took over 5 minutes on the Models page).
SUBMITTED = HOSTILE[:2]
# Buttons that start work in the background or leave the page: the walk fills forms, it does
# not launch training runs or log out.
SKIPPED_BUTTONS = {"Launch run", "Launch sweep", "Log out"}
ERROR_ID = re.compile(r"error id ([0-9a-f]{8})")


@pytest.fixture
def seeded(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """A small workspace with a dataset, runs with params/metrics/tags and two models."""
    monkeypatch.setenv("WORKBENCH_WATCH", "0")
    refused_models(ws)
    make_run(
        experiment="churn",
        name="rf",
        params={"depth": 3},
        metrics={"auc": [0.5, 0.8]},
        tags={"owner": "ana"},
    )
    return ws


def _no_box(at: AppTest, where: str) -> None:
    assert not at.exception, (where, [e.value for e in at.exception])
    for e in at.error:
        assert "Traceback" not in e.value and 'File "' not in e.value, (where, e.value)
        assert "Something went wrong" not in e.value, (where, e.value)  # a bug, not a message


def _fill(at: AppTest, text: str) -> None:
    for box in [*at.text_input, *at.text_area]:
        if not box.disabled:
            box.input(text)


@pytest.mark.parametrize("page", [*nav.PAGES, nav.ADMIN], ids=lambda p: p.title)
def test_hostile_text_in_every_field_of_every_page(seeded: Workspace, page) -> None:
    at = run_page(page)
    _no_box(at, page.title)
    _walk(at, page.title)


def test_hostile_text_on_the_admin_page_of_a_team_instance(seeded, monkeypatch) -> None:
    """Team mode, logged in as an admin: the user forms (add, role, password, disable) get
    the same hostile text, passwords included."""
    from tests.test_pages import MAIN
    from workbench.team import auth

    monkeypatch.setenv("WORKBENCH_TEAM", "1")
    auth.add_user(seeded, "ada", "correct horse battery", "admin")
    auth.add_user(seeded, "ed", "correct horse battery", "editor")
    at = AppTest.from_file(MAIN, default_timeout=120).run()
    next(t for t in at.text_input if t.label == "User name").input("ada")
    next(t for t in at.text_input if t.label == "Password").input("correct horse battery")
    next(b for b in at.button if b.label == "Log in").click().run()
    at.switch_page(f"../../../pages/{nav.ADMIN.file}").run()
    assert at.title[0].value == "Admin" and "Users" in [h.value for h in at.subheader]
    _no_box(at, "Admin (team)")
    _walk(at, "Admin (team)")


# The pages' lazy tabs (only the open tab is drawn): the walk opens each in turn.
TAB_KEYS = {"Models": "model-tabs-churn-clf", "Datasets": "version-tabs-churn"}


def _walk(at: AppTest, title: str) -> None:
    """Every hostile string in every text field; every button with the first two. On a page
    with lazy tabs, in every tab: the fields and buttons outside the tabs are walked with the
    first tab open, then each other tab's own."""
    key = TAB_KEYS.get(title)
    labels = [t.label for t in at.tabs] if key else [None]
    assert not key or len(labels) > 1, f"{title}: no tabs found under {key}"
    for i, label in enumerate(labels):
        if label is not None:
            open_tab(at, key, label)
            assert at.session_state[key] == label
        _walk_open(at, f"{title} [{label}]" if label else title, None if i == 0 else i)


def _walk_open(at: AppTest, title: str, tab: int | None) -> None:
    """_walk with what is open; ``tab``: click only the buttons of this tab (by index)."""
    for text in HOSTILE:
        where = f"{title}, {text[:30]!r}"
        _fill(at, text)
        at.run()
        _no_box(at, where)
        if text not in SUBMITTED:
            continue
        scope = at if tab is None else at.tabs[tab]
        labels = [b.label for b in scope.button if b.label not in SKIPPED_BUTTONS]
        for label in labels:
            scope = at if tab is None else at.tabs[tab]
            button = next((b for b in scope.button if b.label == label), None)
            if button is None or button.disabled:
                continue
            _fill(at, text)
            button.click().run()
            _no_box(at, f"{where}, {label!r}")


def test_a_filter_of_400_nested_parentheses_says_how_deep_is_allowed(seeded) -> None:
    at = run_page(nav.EXPERIMENTS)
    next(t for t in at.text_input if t.label == "Filter").input(NESTED).run()
    _no_box(at, "filter")
    assert any("deeper than 50 levels" in e.value for e in at.error), [e.value for e in at.error]


@pytest.mark.parametrize("depth", [51, 400, 5000])
def test_deep_nesting_is_invalid_input(depth: int) -> None:
    text = "(" * depth + "metrics.auc > 0.5" + ")" * depth
    if len(text) > 5000:
        with pytest.raises(InvalidInput, match="longer than 5,000"):
            query.parse(text)
        return
    with pytest.raises(InvalidInput, match="deeper than 50 levels"):
        query.parse(text)


def test_fifty_levels_still_parse() -> None:
    tree = query.parse("(" * 50 + "metrics.auc > 0.5" + ")" * 50)
    assert query.conditions(tree)[0].key == "auc"


def test_cli_filter_of_400_parentheses_is_one_line(ws_path: Path, ws: Workspace) -> None:
    make_run(experiment="churn", metrics={"auc": [0.8]})
    out = subprocess.run(
        [sys.executable, "-m", "workbench.cli", "runs", "list", "--filter", NESTED],
        capture_output=True,
        text=True,
        env=subprocess_env(ws_path),
        cwd=ROOT,
        timeout=120,
    )
    assert out.returncode == 1, out
    assert "Traceback" not in out.stderr and "deeper than 50 levels" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr


def _crashing_page() -> None:
    from pathlib import Path

    import streamlit as st

    from workbench.ui.widgets import user_errors

    with user_errors():
        st.write("before")
        Path("/nonexistent/secret/path.csv").read_text()  # a bug: an OSError naming a path
    with user_errors():
        st.stop()
    st.write("never shown: st.stop passes through")


def test_an_unexpected_error_shows_an_id_and_logs_the_traceback(monkeypatch, caplog) -> None:
    monkeypatch.delenv("WORKBENCH_TEAM", raising=False)
    with caplog.at_level(logging.ERROR, logger="workbench.ui"):
        at = AppTest.from_function(_crashing_page, default_timeout=120).run()
    assert not at.exception
    assert [m.value for m in at.markdown] == ["before"]  # st.stop was not swallowed
    (message,) = [e.value for e in at.error]
    error_id = ERROR_ID.search(message).group(1)
    assert "Traceback" not in message and "FileNotFoundError" in message
    logged = [r for r in caplog.records if error_id in r.getMessage()]
    assert logged and logged[0].exc_info is not None
    assert "_crashing_page" in caplog.text and "Traceback" in caplog.text


def test_team_mode_shows_no_exception_text(monkeypatch, caplog) -> None:
    monkeypatch.setenv("WORKBENCH_TEAM", "1")
    with caplog.at_level(logging.ERROR, logger="workbench.ui"):
        at = AppTest.from_function(_crashing_page, default_timeout=120).run()
    assert not at.exception
    (message,) = [e.value for e in at.error]
    assert ERROR_ID.search(message) and "/" not in message.replace("error id", "")
    assert "secret" not in message and "FileNotFoundError" not in message
    assert "/nonexistent/secret/path.csv" in caplog.text


def test_streamlit_itself_shows_no_traceback(monkeypatch) -> None:
    """An exception outside the pages' handler: Streamlit's box shows no traceback."""
    args = cli.build_parser().parse_args(["ui"])
    monkeypatch.delenv("WORKBENCH_TEAM", raising=False)
    flags = cli_ui.streamlit_flags(args)
    assert flags[flags.index("--client.showErrorDetails") + 1] == "type"
    monkeypatch.setenv("WORKBENCH_TEAM", "1")
    flags = cli_ui.streamlit_flags(args)
    assert flags[flags.index("--client.showErrorDetails") + 1] == "none"


CRASHING_CLI = """
import sys
from workbench.cli import main as cli, tracking
def broken(args):
    raise KeyError("a bug")
tracking.cmd_runs_list = broken
sys.exit(cli.main(["runs", "list"]))
"""


def test_cli_unexpected_error_is_one_line_with_an_id(ws_path: Path, ws, tmp_path) -> None:
    env = subprocess_env(ws_path, TMPDIR=str(tmp_path))
    out = subprocess.run(
        [sys.executable, "-c", CRASHING_CLI],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert out.returncode == 1, out
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1
    error_id = ERROR_ID.search(out.stderr).group(1)
    (log,) = tmp_path.glob("workbench-errors-*.log")
    text = log.read_text()
    assert f"error id {error_id}" in text and "KeyError: 'a bug'" in text and "broken" in text
    debug = subprocess.run(
        [sys.executable, "-c", CRASHING_CLI],
        capture_output=True,
        text=True,
        env={**env, "WORKBENCH_DEBUG": "1"},
        cwd=ROOT,
        timeout=120,
    )
    assert "Traceback" in debug.stderr and debug.returncode == 1
