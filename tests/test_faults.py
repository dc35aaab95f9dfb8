"""Faults on a shared instance: the app server SIGKILLed while it ingests, a dataset
registration and alias moves SIGKILLed at random moments, and a disk that fills up. After
each: nothing acknowledged is lost, nothing names a missing blob, doctor is clean."""

from __future__ import annotations

import itertools
import random
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import PYTHON, ROOT, subprocess_env
from tests.live import alias_form, app_process
from tests.test_runner import binary_frame
from workbench import sdk as wb
from workbench.datasets import versions as datasets
from workbench.registry import models as registry
from workbench.store.workspace import Workspace
from workbench.team import backup
from workbench.tracking import experiments
from workbench.training import runner
from workbench.training.task import RunSpec

pytestmark = pytest.mark.slow

LOGGER = """
import os, sys, time
import workbench as wb
acks = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
for r in range(int(sys.argv[2])):
    run = wb.start_run(experiment="live", name=f"r{r}")
    for step in range(300):
        run.log_metrics({"m": step * 0.5}, step=step)
        os.write(acks, f"{run.run_id} {step}\\n".encode())
        time.sleep(0.003)
    run.end()
"""


def wait_for(predicate, timeout: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def assert_doctor_clean(ws: Workspace) -> None:
    ws.store.close()
    report = backup.doctor(ws)
    assert report.clean, report.lines()


def test_app_server_killed_while_ingesting_loses_nothing(ws: Workspace, tmp_path: Path) -> None:
    acks = tmp_path / "acks.txt"
    env = {"WORKBENCH_INGEST_INTERVAL": "0"}  # the logger leaves live ingestion to the server
    logger = subprocess.Popen(
        [PYTHON, "-c", LOGGER, str(acks), "3"], cwd=ROOT, env=subprocess_env(ws.root, **env)
    )
    with app_process(ws.root, tmp_path / "server1.log") as (url, server):
        wait_for(lambda: acks.exists() and acks.stat().st_size > 2000, what="the logger")
        # The server's watcher picks points up live; kill it while it does.
        wait_for(
            lambda: ws.store.read(lambda tx: tx.scalar("SELECT count(*) FROM metrics")) > 0,
            what="live ingestion",
        )
        time.sleep(random.Random(7).uniform(0.05, 0.4))
        server.send_signal(signal.SIGKILL)
        server.wait()
    logger.wait(120)
    assert logger.returncode == 0
    with (
        app_process(ws.root, tmp_path / "server2.log") as (url, _server),
        urllib.request.urlopen(f"{url}/_stcore/health", timeout=10) as resp,
    ):
        assert resp.read() == b"ok"
    sync = subprocess.run(
        [PYTHON, "-m", "workbench.cli", "sync"],
        cwd=ROOT,
        env=subprocess_env(ws.root),
        capture_output=True,
        text=True,
    )
    assert sync.returncode == 0, sync.stderr
    acked = {}
    for line in acks.read_text().splitlines():
        run_id, step = line.split()
        acked.setdefault(run_id, set()).add(int(step))
    history = experiments.metric_history(ws, list(acked))
    assert history.groupby(["run_id", "key", "step"]).size().max() == 1  # no duplicates
    got = set(zip(history["run_id"], history["step"], strict=True))
    assert {(r, s) for r, steps in acked.items() for s in steps} <= got
    assert {wb.get_run(r).run.status for r in acked} == {"finished"}
    assert_doctor_clean(ws)


REGISTER = """
import sys
from pathlib import Path
from workbench.datasets import versions as datasets
from workbench.workspaces import open_workspace
ws = open_workspace(None)
datasets.register(ws, Path(sys.argv[1]), "big")
print("registered", flush=True)
"""


def test_registration_killed_at_random_moments(ws: Workspace, tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    n = 400_000
    source = tmp_path / "big.csv"
    pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.integers(0, 1000, n),
            "c": rng.choice(["x", "y", "z"], n),
        }
    ).to_csv(source, index=False)
    pick = random.Random(11)
    finished = 0
    for _ in range(5):
        source.write_text(source.read_text() + "1.0,1,x\n")  # new content: a new version
        proc = subprocess.Popen(
            [PYTHON, "-c", REGISTER, str(source)],
            cwd=ROOT,
            env=subprocess_env(ws.root),
            stdout=subprocess.PIPE,
        )
        time.sleep(pick.uniform(0.8, 3.0))  # after the interpreter starts, during the work
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate()
        finished += out.startswith(b"registered")
        # Whatever happened, every version that exists is whole and loads.
        for version in datasets.list_versions(ws, "big") if datasets.list_datasets(ws) else []:
            assert datasets.load(ws, version.ref).shape[0] == version.n_rows
        assert_doctor_clean(ws)
    registered = len(datasets.list_versions(ws, "big")) if datasets.list_datasets(ws) else 0
    assert registered >= finished  # every acknowledged registration is there
    datasets.register(ws, source, "big")  # and the workspace takes the next one normally
    assert_doctor_clean(ws)


MOVER = """
import os, sys
from workbench.registry import models as registry
from workbench.workspaces import open_workspace
ws = open_workspace(None)
acks = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
for i in range(100000):
    version = 1 + i % 2
    registry.set_alias(ws, "clf", "champion", version, override=True, reason="fault drill")
    os.write(acks, f"{version}\\n".encode())
"""


def test_alias_moves_killed_at_random_moments(ws: Workspace, tmp_path: Path) -> None:
    wb.log_dataset(binary_frame(60), "churn")
    launch = runner.launch(ws, RunSpec("churn", "churned", "dummy"), experiment="e", wait=True)
    registry.register_model(ws, launch.run_ids[0], "clf")
    registry.register_model(ws, launch.run_ids[0], "clf")
    acks = tmp_path / "acks.txt"
    pick = random.Random(5)
    ws.store.close()
    for _ in range(6):
        size = acks.stat().st_size if acks.exists() else 0
        proc = subprocess.Popen(
            [PYTHON, "-c", MOVER, str(acks)], cwd=ROOT, env=subprocess_env(ws.root)
        )
        wait_for(lambda s=size: acks.exists() and acks.stat().st_size > s, what="alias moves")
        time.sleep(pick.uniform(0.0, 0.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    acked = [int(v) for v in acks.read_text().split()]
    history = list(reversed(registry.alias_history(ws, "clf", "champion")))  # oldest first
    assert len(history) >= len(acked)  # every acknowledged move is recorded
    for before, after in itertools.pairwise(history):
        assert after.from_version == before.to_version  # an unbroken chain
    assert registry.get_version(ws, "clf@champion").version == history[-1].to_version
    assert_doctor_clean(ws)


FILL = """
import resource, signal, sys
from pathlib import Path
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a full disk: writes fail, the process lives
limit = int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
from workbench.cli.main import main
sys.exit(main(["datasets", "add", sys.argv[1], "--name", "big"]))
"""


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_FSIZE stands in for a full disk")
def test_a_full_disk_fails_cleanly(ws: Workspace, tmp_path: Path) -> None:
    wb.log_dataset(binary_frame(50), "small")
    ws.store.close()
    rng = np.random.default_rng(4)
    n = 300_000
    source = tmp_path / "big.csv"
    pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)}).to_csv(source, index=False)
    before = (ws.root / "meta.duckdb").read_bytes()
    out = subprocess.run(
        [PYTHON, "-c", FILL, str(source), str(2_000_000)],
        cwd=ROOT,
        env=subprocess_env(ws.root),
        capture_output=True,
        text=True,
    )
    assert out.returncode == 1, out.stdout + out.stderr
    message = out.stderr.strip().splitlines()[-1]
    assert message.startswith(
        "error: The disk is full (or a file size limit was reached) "
        "while writing the dataset snapshot; nothing was kept."
    ), message
    assert [d.name for d in datasets.list_datasets(ws)] == ["small"]
    assert (ws.root / "meta.duckdb").read_bytes() == before or datasets.list_versions(ws, "small")
    assert_doctor_clean(ws)
    assert not any(ws.blobs.tmp_dir.rglob("*.parquet*")) if ws.blobs.tmp_dir.exists() else True


def test_app_server_killed_during_inbox_registrations(ws: Workspace, tmp_path: Path) -> None:
    """The server registers files dropped in its inbox; SIGKILL it mid-way, three times.
    A file is acknowledged once it moved to .done/: then its version is there and whole.
    A file still in the inbox is registered after the restart."""
    rng = np.random.default_rng(8)
    folder = ws.paths.inbox / "big"
    folder.mkdir(parents=True)
    env = {"WORKBENCH_INBOX_SETTLE": "0.2"}
    pick = random.Random(13)
    for i in range(3):
        frame = pd.DataFrame({"a": rng.normal(size=300_000), "k": rng.integers(0, 9, 300_000)})
        frame.to_csv(folder / f"part{i}.csv", index=False)
        with app_process(ws.root, tmp_path / f"server{i}.log", **env) as (_url, server):
            time.sleep(pick.uniform(1.0, 4.0))
            server.send_signal(signal.SIGKILL)
            server.wait()
        assert_doctor_clean(ws)
    with app_process(ws.root, tmp_path / "server-last.log", **env):  # picks up the rest
        wait_for(
            lambda: len(list((folder / ".done").glob("*.csv"))) == 3,
            timeout=180,
            what="every file registered",
        )
    versions = datasets.list_versions(ws, "big")
    assert len(versions) == 3 and {v.n_rows for v in versions} == {300_000}
    for v in versions:
        assert datasets.load(ws, v.ref).shape == (300_000, 2)
    assert_doctor_clean(ws)


def test_app_server_killed_during_alias_moves(ws: Workspace, tmp_path: Path) -> None:
    """Click "Move alias" on the Models page and SIGKILL the server right after, at random
    moments; after each restart the alias names a real version and its history is an
    unbroken chain."""
    from tests.live import IDLE, browser

    wb.log_dataset(binary_frame(60), "churn")
    launch = runner.launch(ws, RunSpec("churn", "churned", "dummy"), experiment="e", wait=True)
    for _ in range(3):
        registry.register_model(ws, launch.run_ids[0], "clf")
    registry.set_alias(ws, "clf", "champion", 1)
    ws.store.close()
    pick = random.Random(17)
    with browser() as b:
        for i in range(4):
            with app_process(ws.root, tmp_path / f"server{i}.log") as (url, server):
                page = b.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(f"{url}/models")
                page.wait_for_selector(IDLE, timeout=60_000)
                form = alias_form(page)
                form.get_by_role("textbox", name="Alias").fill("champion")
                form.get_by_test_id("stSelectbox").filter(has_text="Version").click()
                page.keyboard.type(str(2 + i % 2))
                page.keyboard.press("Enter")
                form.get_by_role("textbox", name="Reason").fill("fault drill")
                form.get_by_text("Override the promotion gate").click()  # champion is gated
                page.get_by_role("button", name="Move alias").click(no_wait_after=True)
                time.sleep(pick.uniform(0.0, 0.3))
                server.send_signal(signal.SIGKILL)
                server.wait()
                page.close()
            history = list(reversed(registry.alias_history(ws, "clf", "champion")))
            for before, after in itertools.pairwise(history):
                assert after.from_version == before.to_version
            current = registry.get_version(ws, "clf@champion").version
            assert current == history[-1].to_version and current in (1, 2, 3)
            ws.store.close()
    assert_doctor_clean(ws)
