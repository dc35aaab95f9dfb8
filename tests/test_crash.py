"""A logging process SIGKILLed at random moments loses nothing it acknowledged and
duplicates nothing; the database opens cleanly afterwards."""

from __future__ import annotations

import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import PYTHON, ROOT, subprocess_env
from workbench import sdk as wb
from workbench.store.workspace import Workspace
from workbench.tracking import experiments

# Logs like a training loop, ingesting into the database every 50 ms on its own (so kills
# land in the middle of database writes too), and acknowledges each returned call.
LOGGER = """
import os, sys, time
import workbench as wb
acks = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
for r in range(1000):
    run = wb.start_run(experiment="crash", name=f"r{r}")
    run.log_params({"r": r})
    for step in range(200):
        run.log_metrics({"m": step * 0.5, "n": -step}, step=step)
        os.write(acks, f"{run.run_id} {step}\\n".encode())
        time.sleep(0.002)  # a training step
    run.end()
"""

KILLS = 12


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_no_acknowledged_point(
    ws: Workspace, tmp_path: Path
) -> None:
    acks = tmp_path / "acks.txt"
    env = subprocess_env(
        ws.root, WORKBENCH_INGEST_INTERVAL="0.05", WORKBENCH_HEARTBEAT_INTERVAL="0.05"
    )
    rng = random.Random(20261123)
    for _ in range(KILLS):
        before = acks.stat().st_size if acks.exists() else 0
        proc = subprocess.Popen(
            [PYTHON, "-c", LOGGER, str(acks)], cwd=ROOT, env=env, stderr=subprocess.PIPE
        )
        # Kill at a random moment after the logger got going (not during interpreter start).
        deadline = time.monotonic() + 30
        while (acks.stat().st_size if acks.exists() else 0) == before:
            assert time.monotonic() < deadline and proc.poll() is None, "logger never started"
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 1.2))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()

    sync = subprocess.run(
        [PYTHON, "-m", "workbench.cli", "sync"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert sync.returncode == 0, sync.stderr

    acked: dict[str, set[int]] = {}
    for line in acks.read_text().splitlines():
        run_id, step = line.split()
        acked.setdefault(run_id, set()).add(int(step))
    assert len(acked) >= KILLS  # every process logged before it was killed

    history = experiments.metric_history(ws, list(acked))
    dupes = history.groupby(["run_id", "key", "step"]).size()
    assert dupes.max() == 1, dupes[dupes > 1]
    got = {
        (r, k, s)
        for r, k, s in zip(history["run_id"], history["key"], history["step"], strict=True)
    }
    missing = [
        (r, k, s)
        for r, steps in acked.items()
        for s in steps
        for k in ("m", "n")
        if (r, k, s) not in got
    ]
    assert not missing, missing[:10]
    # Every killed run was marked lost by the sync (its process is gone), none left running.
    statuses = {wb.get_run(r).run.status for r in acked}
    assert "running" not in statuses and "lost" in statuses
