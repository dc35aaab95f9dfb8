"""Event-log ingestion: exactly-once, tolerant of torn and damaged lines, live, and the
reaper that marks abandoned runs lost."""

from __future__ import annotations

import os
import subprocess
import time

from tests.conftest import PYTHON, ROOT, subprocess_env
from workbench import sdk as wb
from workbench.settings import Settings
from workbench.store import ingestion
from workbench.store.workspace import Workspace
from workbench.tracking import experiments, ingest
from workbench.tracking.events import EVENTS_FILE
from workbench.tracking.watcher import RunWatcher


def points(ws: Workspace, run_id: str) -> list[tuple[str, int, float]]:
    h = experiments.metric_history(ws, [run_id])
    return list(zip(h["key"], h["step"], h["value"], strict=True))


def test_sync_twice_adds_nothing_the_second_time(ws: Workspace) -> None:
    run = wb.start_run(experiment="e")
    for step in range(100):
        run.log_metrics({"a": step, "b": -step}, step=step)
    first = ingest.sync(ws)
    assert (first.runs, first.points) == (1, 200)
    assert ingest.sync(ws).points == 0
    run.end()
    assert ingest.sync(ws).points == 0
    assert len(points(ws, run.run_id)) == 200


def test_rewound_cursor_does_not_duplicate(ws: Workspace) -> None:
    """If the byte offset were lost (say, restored from an older backup), the sequence
    numbers still keep every event from being applied twice."""
    with wb.start_run(experiment="e") as run:
        for step in range(10):
            run.log_metric("m", step, step=step)
    ws.store.write(
        lambda tx: tx.execute(
            "UPDATE run_ingest SET byte_offset = 0 WHERE run_id = ?", [run.run_id]
        )
    )
    assert ingest.sync(ws).points == 0
    assert len(points(ws, run.run_id)) == 10


def test_torn_last_line_waits_and_damaged_line_is_skipped(ws: Workspace) -> None:
    run = wb.start_run(experiment="e")
    run.log_metric("m", 1.0, step=0)
    log = ws.paths.run_dir(run.run_id) / EVENTS_FILE
    with log.open("ab") as fh:
        fh.write(b'{"seq": 2, "ts": 1, "type": "metrics", "step": 1, "values": {"m": 2.0}}\n')
        fh.write(b"this line is damaged\n")
        fh.write(b'{"seq": 3, "ts": 1, "type": "metrics", "step": 2, "values": {"m": "x"}}\n')
        fh.write(b'{"seq": 4, "ts": 1, "type": "metr')  # a writer killed mid-line
    ingest.sync(ws)
    assert points(ws, run.run_id) == [("m", 0, 1.0), ("m", 1, 2.0)]
    state = ws.store.read(lambda tx: ingestion.get_ingest_state(tx, run.run_id))
    assert state.last_seq == 3 and state.byte_offset < log.stat().st_size


KILLED_WRITER = """
import os, signal
import workbench as wb
run = wb.start_run(experiment="e", name="doomed")
run.log_metric("m", 1.0)
print(run.run_id, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_run_of_a_dead_process_is_marked_lost(ws: Workspace) -> None:
    out = subprocess.run(
        [PYTHON, "-c", KILLED_WRITER],
        capture_output=True,
        text=True,
        env=subprocess_env(ws.root),
        cwd=ROOT,
    )
    run_id = out.stdout.strip()
    assert wb.get_run(run_id).run.status == "running"
    assert ingest.reap_lost_runs(ws, heartbeat_timeout=3600) == [run_id]
    detail = wb.get_run(run_id)
    assert detail.run.status == "lost" and "ended without ending the run" in detail.run.error
    assert detail.metrics["m"].last_value == 1.0  # its logged points were ingested first
    assert ingest.reap_lost_runs(ws, heartbeat_timeout=3600) == []


def test_run_with_stale_heartbeat_is_marked_lost(ws: Workspace) -> None:
    run = wb.start_run(experiment="e")
    run._stop.set()  # silence this run's heartbeat thread, as a hung process would
    run._beat.join()
    heartbeat = ws.paths.run_dir(run.run_id) / "heartbeat"
    old = time.time() - 120
    os.utime(heartbeat, (old, old))
    assert ingest.reap_lost_runs(ws, heartbeat_timeout=600) == []
    assert ingest.reap_lost_runs(ws, heartbeat_timeout=60) == [run.run_id]
    assert "No heartbeat for 120 s" in wb.get_run(run.run_id).run.error
    run.end()  # the late end does not resurrect the run
    assert wb.get_run(run.run_id).run.status == "lost"


def test_watcher_ingests_a_live_run(ws: Workspace) -> None:
    watcher = RunWatcher(ws, Settings(), interval=0.1).start()
    try:
        run = wb.start_run(experiment="live")
        run.log_metric("m", 1.0, step=0)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not points(ws, run.run_id):
            time.sleep(0.1)
        assert points(ws, run.run_id) == [("m", 0, 1.0)]
        assert wb.get_run(run.run_id).run.status == "running"
        run.end()
    finally:
        watcher.stop()
    assert watcher.stats.errors == 0


def test_a_sync_with_nothing_new_leaves_the_generation_alone(ws: Workspace) -> None:
    """The pages' caches are keyed on the generation; an idle watcher round must not
    invalidate them."""
    with wb.start_run(experiment="e") as run:
        run.log_metric("m", 1.0)
    ws.store.close()  # fold the WAL in now, so the comparison sees only the sync
    before = ws.store.generation()
    assert ingest.sync(ws).events == 0
    assert ingest.reap_lost_runs(ws, heartbeat_timeout=60) == []
    ws.store.close()
    assert ws.store.generation() == before
