"""Shared fixtures: a real workspace (real DuckDB file) per test, and keyword factories."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit import config as st_config

from workbench import sdk as wb
from workbench.store.text import escape_unstorable
from workbench.store.workspace import Workspace
from workbench.workspaces import forget, open_workspace

ROOT = Path(__file__).resolve().parents[1]
# The Streamlit entry script (AppTest.from_file); its pages are at "../../../pages/<file>".
MAIN_SCRIPT = str(ROOT / "app" / "ui" / "entry" / "main.py")
# AppTest runs pages as `workbench ui` serves them: without Streamlit's magic, which
# re-parsed a page's source on every rerun (about 0.1 s of each Models page run here).
st_config.set_option("runner.magicEnabled", False)
OUTPUT = ROOT / "tests" / "output"


@pytest.fixture(autouse=True)
def _keep_main_module() -> Iterator[None]:
    """Put back ``sys.modules["__main__"]`` after each test. AppTest, like Streamlit's script
    runner, installs the page as ``__main__`` and never restores it; a later test in the same
    worker that starts processes by spawning (dask's LocalCluster) then re-ran that page
    script in each child, which failed ("Nanny failed to start", seen under load)."""
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main


@pytest.fixture
def ws_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh workspace folder, made the default for the SDK and the services."""
    path = tmp_path / "workspace"
    monkeypatch.setenv("WORKBENCH_WORKSPACE", str(path))
    monkeypatch.setenv("WORKBENCH_INGEST_INTERVAL", "0")
    monkeypatch.setenv("WORKBENCH_USER", "tester")
    wb.set_workspace(None)
    yield path
    while (run := wb.active_run()) is not None:
        run.end()
    forget(path)


@pytest.fixture(scope="session")
def empty_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, empty workspace folder, made once per test worker for :func:`ws` to copy
    (making the schema anew, 14 migrations, cost each test about 0.1 s of CPU: over a
    minute across the suite, on a machine that is short of CPU under load)."""
    path = tmp_path_factory.mktemp("template") / "workspace"
    Workspace.open(path).store.close()
    (path / "meta.duckdb.turns").unlink(missing_ok=True)
    assert sorted(p.name for p in path.iterdir()) == ["blobs", "inbox", "meta.duckdb", "runs"]
    return path


@pytest.fixture
def ws(ws_path: Path, empty_workspace: Path) -> Workspace:
    """A fresh, empty workspace (a copy of :func:`empty_workspace`), open and the default."""
    if not (ws_path / "meta.duckdb").exists():  # (a fixture before may have made the folder)
        shutil.copytree(empty_workspace, ws_path, dirs_exist_ok=True)
    return open_workspace(ws_path)


def make_run(
    *,
    experiment: str = "exp",
    name: str | None = None,
    params: Mapping | None = None,
    metrics: Mapping[str, list[float] | float] | None = None,
    tags: Mapping | None = None,
    fail: bool = False,
) -> str:
    """Log one run through the SDK; ``metrics`` maps a key to a value or a list of values
    (one per step). Returns the run id."""
    run = wb.start_run(experiment=experiment, name=name)
    if params:
        run.log_params(params)
    for key, values in (metrics or {}).items():
        values = values if isinstance(values, list) else [values]
        for step, value in enumerate(values):
            run.log_metric(key, value, step=step)
    if tags:
        run.set_tags(tags)
    run.end("failed" if fail else "finished", "made to fail" if fail else None)
    return run.run_id


def subprocess_env(ws_path: Path, **extra: str) -> dict[str, str]:
    """Environment for a child process using the same workspace and this checkout."""
    env = {**os.environ, "WORKBENCH_WORKSPACE": str(ws_path), "PYTHONPATH": str(ROOT)}
    env.update(extra)
    return env


PYTHON = sys.executable


def make_frame(rows: int = 100, *, seed: int = 0, shift: float = 0.0) -> pd.DataFrame:
    """A small mixed-type table: a unique id, numbers with some NULLs, a category, a flag,
    a date. ``shift`` moves the numbers (a drifted month)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "id": np.arange(1, rows + 1),
            "age": rng.integers(18, 80, rows),
            "income": rng.normal(40_000 + shift * 10_000, 8_000, rows).round(2),
            "plan": rng.choice(["basic", "pro", "team"], rows),
            "active": rng.random(rows) < 0.7,
            "signup": pd.to_datetime("2024-01-01")
            + pd.to_timedelta(rng.integers(0, 365, rows), "D"),
        }
    )
    frame.loc[frame.index[::10], "income"] = np.nan
    frame["signup"] = frame["signup"].dt.date
    return frame


def make_dataset_version(name: str = "churn", rows: int = 100, **kwargs):
    """Register ``make_frame(rows, **kwargs)`` through the SDK; returns the version."""
    return wb.log_dataset(make_frame(rows, **kwargs), name)


# Seconds each test file took in a measured `make test` (tests/durations.py writes it from
# the run's JUnit report); it only orders the files, so a stale figure costs a little time.
DURATIONS = Path(__file__).with_name("durations.json")


def open_tab(at, key: str, label: str):
    """Open the tab ``label`` of the lazy tabs keyed ``key`` (``workbench.ui.widgets.lazy_tabs``)
    and rerun the page: AppTest cannot click a tab, and a hidden lazy tab draws nothing."""
    at.session_state[key] = label
    return at.run()


def plain(markdown: str) -> str:
    """Markdown source with its backslash escapes undone: the text a page shows for a
    message escaped by ``workbench.ui.widgets.markdown_text`` (errors quote what users typed)."""
    return re.sub(r"\\(.)", r"\1", markdown)


def notes(stderr: str) -> list[str]:
    """What a command said on stderr besides the line naming its workspace."""
    return [line for line in stderr.splitlines() if not line.startswith("workspace: ")]


def select_row(at, key: str, row: int) -> None:
    """Select row ``row`` (0-based) of the data grid keyed ``key`` before the next run:
    AppTest cannot click a grid, and its selection is the widget's state."""
    at.session_state[key] = {"selection": {"rows": [row], "columns": [], "cells": []}}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest test files first. `make test` hands whole files to its workers in this order
    (``--dist loadfile --no-loadscope-reorder``), so the long ones start at once and the
    many short ones fill in around them, instead of a four-minute one starting last. A file
    not measured yet counts 30 s per browser or slow test and 1 s per other test."""
    measured = json.loads(DURATIONS.read_text()) if DURATIONS.exists() else {}
    cost: dict[str, float] = {}
    for item in items:
        name = item.path.name
        if name in measured:
            cost[name] = measured[name]
        else:
            slow = item.get_closest_marker("browser") or item.get_closest_marker("slow")
            cost[name] = cost.get(name, 0.0) + (30.0 if slow else 1.0)
    items.sort(key=lambda item: -cost[item.path.name])  # stable: a file keeps its order


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """A failure report with a lone surrogate in it (a DataFrame's repr shows its cells
    as they are) made pytest-xdist's worker crash ("strings must be utf-8 encodable") and
    end the whole run: such reports carry their text with each surrogate escaped."""
    outcome = yield
    report = outcome.get_result()
    if report.longrepr is not None and not isinstance(report.longrepr, tuple):
        text = str(report.longrepr)
        if escape_unstorable(text) != text:
            report.longrepr = escape_unstorable(text)
    report.sections = [(title, escape_unstorable(body)) for title, body in report.sections]
