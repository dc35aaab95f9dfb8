"""The watched inbox folder: settled files become versions, partial ones wait, bad ones are
set aside with the reason, and the app's watcher does it live."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import make_frame
from workbench.datasets import inbox
from workbench.datasets import versions as datasets
from workbench.settings import Settings
from workbench.store.workspace import Workspace
from workbench.tracking.watcher import RunWatcher


def drop(ws: Workspace, dataset: str, filename: str, text: str, age: float = 60.0) -> Path:
    folder = ws.paths.inbox / dataset
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / filename
    path.write_text(text)
    old = time.time() - age
    os.utime(path, (old, old))
    return path


def test_a_settled_file_becomes_a_version_and_moves_to_done(ws: Workspace) -> None:
    path = drop(ws, "churn", "march.csv", make_frame(30).to_csv(index=False))
    [outcome] = inbox.scan(ws, settle=2.0)
    assert outcome.registration.created and outcome.registration.version.ref == "churn@v1"
    v = datasets.get_version(ws, "churn")
    assert (v.source, v.source_name) == ("inbox", "march.csv")
    assert not path.exists()
    assert [p.name.split("-", 1)[1] for p in (path.parent / ".done").iterdir()] == ["march.csv"]
    assert inbox.scan(ws, settle=2.0) == []  # never read twice


def test_fresh_temporary_and_stray_files_are_left_alone(ws: Workspace) -> None:
    fresh = drop(ws, "churn", "april.csv", "a\n1\n", age=0)
    drop(ws, "churn", "may.csv.part", "a\n1\n")
    drop(ws, "churn", ".hidden.csv", "a\n1\n")
    drop(ws, "churn", "~lock.csv", "a\n1\n")
    (ws.paths.inbox / "loose.csv").write_text("a\n1\n")
    assert inbox.scan(ws, settle=30.0) == []
    assert fresh.exists() and (ws.paths.inbox / "loose.csv").exists()
    old = time.time() - 60
    os.utime(fresh, (old, old))
    assert [o.path.name for o in inbox.scan(ws, settle=30.0)] == ["april.csv"]


def test_a_file_must_look_the_same_on_two_scans(ws: Workspace) -> None:
    path = drop(ws, "churn", "june.csv", "a\n1\n")
    seen: dict = {}
    assert inbox.scan(ws, settle=0.0, seen=seen) == []  # first look only records it
    with path.open("a") as fh:
        fh.write("2\n")  # still being written
    assert inbox.scan(ws, settle=0.0, seen=seen) == []
    [outcome] = inbox.scan(ws, settle=0.0, seen=seen)
    assert outcome.registration.version.n_rows == 2


def test_bad_files_and_bad_folder_names_are_set_aside_with_the_reason(ws: Workspace) -> None:
    drop(ws, "churn", "broken.csv", "a,b\n1,2\n3\n")
    drop(ws, "my data", "x.csv", "a\n1\n")
    outcomes = {o.dataset: o for o in inbox.scan(ws, settle=0.0)}
    assert "line 3 has 1 field but" in outcomes["churn"].error
    assert "Dataset name 'my data' is not allowed" in outcomes["my data"].error
    [rejected] = [
        p
        for p in (ws.paths.inbox / "churn" / ".rejected").iterdir()
        if not p.name.endswith(".error.txt")
    ]
    reason = rejected.with_name(rejected.name + ".error.txt").read_text()
    assert "line 3 has 1 field but" in reason
    assert datasets.list_datasets(ws) == []


def test_the_same_content_again_is_recognized(ws: Workspace) -> None:
    body = make_frame(10).to_csv(index=False)
    drop(ws, "churn", "a.csv", body)
    inbox.scan(ws, settle=0.0)
    drop(ws, "churn", "b.csv", body)
    [outcome] = inbox.scan(ws, settle=0.0)
    assert not outcome.registration.created
    assert "Same content as churn@v1" in outcome.registration.message


@pytest.mark.slow
def test_the_watcher_takes_a_copied_file_only_when_the_copy_is_done(ws: Workspace) -> None:
    settings = Settings(inbox_settle=1.0)
    watcher = RunWatcher(ws, settings, interval=0.2).start()
    try:
        target = ws.paths.inbox / "stream" / "rows.csv"
        target.parent.mkdir(parents=True)
        lines = make_frame(400).to_csv(index=False).splitlines(keepends=True)

        def slow_copy() -> None:  # 20 chunks, 0.15 s apart: a copy that takes 3 s
            with target.open("w") as fh:
                for i in range(0, len(lines), 20):
                    fh.writelines(lines[i : i + 20])
                    fh.flush()
                    time.sleep(0.15)

        writer = threading.Thread(target=slow_copy)
        writer.start()
        while writer.is_alive():
            assert datasets.list_datasets(ws) == [], "a partial file was taken"
            time.sleep(0.1)
        deadline = time.monotonic() + 15
        while not datasets.list_datasets(ws) and time.monotonic() < deadline:
            time.sleep(0.2)
        version = datasets.get_version(ws, "stream")
        assert version.n_rows == 400 and watcher.stats.dataset_versions == 1
    finally:
        watcher.stop()
