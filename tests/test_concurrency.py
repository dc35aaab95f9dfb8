"""The app server, 4 logging processes and a polling reader at once: nobody sees a lock
error, and every logged point is in the database afterwards."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import OUTPUT, PYTHON, ROOT, subprocess_env
from tests.live import app_server, browser, error_texts, open_page
from workbench.store.workspace import Workspace
from workbench.tracking import experiments

WRITER = """
import sys, time
import workbench as wb
worker = int(sys.argv[1])
for r in range(5):
    with wb.start_run(experiment="load", name=f"w{worker}-r{r}") as run:
        run.log_params({"worker": worker, "r": r})
        for step in range(100):
            run.log_metrics({"a": step, "b": step * 0.5, "c": -step}, step=step)
            time.sleep(0.003)
print("done", flush=True)
"""

READER = """
import json, sys, time
from workbench.tracking import experiments
from workbench.workspaces import open_workspace
ws = open_workspace()
reads = errors = 0
messages, latencies = [], []
deadline = time.monotonic() + float(sys.argv[1])
while time.monotonic() < deadline:
    try:
        t = time.perf_counter()
        experiments.runs_table(ws, limit=100)
        latencies.append(time.perf_counter() - t)
        reads += 1
    except Exception as exc:
        errors += 1
        messages.append(f"{type(exc).__name__}: {exc}")
    time.sleep(0.02)
latencies.sort()
pct = {p: round(latencies[int(p / 100 * (len(latencies) - 1))] * 1000) for p in (50, 95)}
print(json.dumps({"reads": reads, "errors": errors, "messages": messages[:5],
                  "p50_ms": pct[50], "p95_ms": pct[95]}), flush=True)
"""

WRITERS, RUNS, STEPS, KEYS = 4, 5, 100, 3


@pytest.mark.slow
@pytest.mark.browser
def test_server_four_writers_and_a_reader(ws: Workspace, tmp_path: Path) -> None:
    env = subprocess_env(
        ws.root, WORKBENCH_INGEST_INTERVAL="0.2", WORKBENCH_HEARTBEAT_INTERVAL="0.1"
    )
    log = tmp_path / "server.log"
    with app_server(ws.root, log) as url, browser() as b:
        page = open_page(b, f"{url}/experiments")
        reader = subprocess.Popen(
            [PYTHON, "-c", READER, "12"],
            cwd=ROOT,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        writers = [
            subprocess.Popen(
                [PYTHON, "-c", WRITER, str(i)],
                cwd=ROOT,
                env=env,
                text=True,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for i in range(WRITERS)
        ]
        shown: list[str] = []
        while any(w.poll() is None for w in writers):
            page.reload()
            page.wait_for_selector(
                "[data-testid='stDataFrame'], [data-testid='stAlert']", timeout=30_000
            )
            shown += error_texts(page)
            time.sleep(1.5)  # a user rereading the page; faster only burns the shared cores
        outputs = [w.communicate() for w in writers]
        read_out, read_err = reader.communicate()
        assert reader.returncode == 0, read_err
        time.sleep(2)  # let the server's watcher catch up, then look once more
        page.reload()
        page.wait_for_selector("[data-testid='stDataFrame']", timeout=30_000)
        shown += error_texts(page)
        OUTPUT.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=OUTPUT / "concurrency-experiments.png", full_page=True)

    for w, (out, err) in zip(writers, outputs, strict=True):
        assert w.returncode == 0 and out.strip() == "done", err
        assert "could not be written" not in err, err  # the end-of-run ingest never gave up
    stats = json.loads(read_out)
    assert stats["errors"] == 0, stats["messages"]
    # Never starved: processes take turns at the file (store/turns.py), so the reader gets
    # its turn among the 4 writers and the server. Measured on a 2-core machine under two
    # CPU hogs, its 12 s make 10 to 15 reads (p50 wait 0.9 to 1.3 s); idle, about 150
    # (p50 13 ms). Before the queue it polled ahead of the others (319 reads under load)
    # while a busy process could keep everyone else out for 30 s (issue 16).
    assert stats["reads"] >= 6 and stats["p95_ms"] < 6000, stats
    print(f"reader under load: {stats}")
    assert shown == [], shown
    server_log = log.read_text()
    assert "Traceback" not in server_log and "StoreBusy" not in server_log, server_log

    table = experiments.runs_table(ws)
    assert len(table) == WRITERS * RUNS and set(table["status"]) == {"finished"}
    history = experiments.metric_history(ws, table["run_id"].tolist())
    assert len(history) == WRITERS * RUNS * STEPS * KEYS
    assert history.groupby(["run_id", "key", "step"]).size().max() == 1
