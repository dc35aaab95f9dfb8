"""Issue #16, "no hang, no traceback": what cannot be a table is refused before a byte is
read, the upload limit counts what is read, and a long CSV field is read as pandas reads
it (or refused with the limit and what to do). Each fails on the code before the fix."""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import PYTHON, ROOT, subprocess_env
from tests.test_dataset_bad_input import state
from workbench import sdk as wb
from workbench.datasets import versions as datasets
from workbench.store import snapshots
from workbench.store.errors import InvalidInput
from workbench.store.workspace import Workspace


def cli(ws: Workspace, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """`workbench --workspace WS ARGS` in its own process; a hang fails on the timeout."""
    return subprocess.run(
        [PYTHON, "-m", "workbench.cli", "--workspace", str(ws.root), *args],
        cwd=ROOT,
        env=subprocess_env(ws.root),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_a_device_is_refused_before_it_is_read(ws: Workspace) -> None:
    """`datasets add /dev/zero` read forever (memory growing 8 MB/s, SIGTERM ignored)."""
    before = state(ws)
    done = cli(ws, "datasets", "add", "/dev/zero", "--name", "zeros")
    assert done.returncode == 1
    assert "/dev/zero is a device, not a regular file" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    with pytest.raises(InvalidInput, match="is a device, not a regular file"):
        wb.log_dataset("/dev/zero", "zeros")
    assert state(ws) == before


def test_a_named_pipe_is_refused_instead_of_waited_on(ws: Workspace, tmp_path: Path) -> None:
    """A FIFO blocked the command until something wrote into it."""
    fifo = tmp_path / "feed.csv"
    os.mkfifo(fifo)
    before = state(ws)
    done = cli(ws, "datasets", "add", str(fifo), "--name", "feed")
    assert done.returncode == 1
    assert "is a named pipe (FIFO), not a regular file" in done.stderr
    assert state(ws) == before


def test_the_upload_limit_counts_what_is_read(ws: Workspace, monkeypatch) -> None:
    """A stream longer than its declared size was spooled whole: the limit applied to the
    size the caller declared, not to what was read."""
    monkeypatch.setenv("WORKBENCH_MAX_UPLOAD_MB", "0.001")  # 1,048 bytes
    body = b"a,b\n" + b"1,2\n" * 1000  # 4,004 bytes, declared as 100
    before = state(ws)
    with pytest.raises(InvalidInput, match=r"big.csv is more than 1.0 KB; uploads are limited"):
        datasets.register_upload(ws, io.BytesIO(body), "big.csv", "churn", size=100)
    assert state(ws) == before


def test_a_long_csv_field_is_read_as_pandas_reads_it(
    ws: Workspace, tmp_path: Path, monkeypatch
) -> None:
    """One 5 MB field was refused with "CSV Error on Line: 1" (DuckDB's 2,000,000-byte
    line limit); pandas reads it. Past the workbench's own limit: a message naming it."""
    path = tmp_path / "notes.csv"
    frame = pd.DataFrame({"id": [1, 2], "note": ["x" * 5_000_000, "short"]})
    frame.to_csv(path, index=False)
    version = wb.log_dataset(path, "notes")
    back = datasets.load(ws, version.ref)
    assert back["note"].str.len().tolist() == [5_000_000, 5]
    assert back["id"].tolist() == [1, 2]
    monkeypatch.setattr(snapshots, "MAX_LINE_BYTES", 3 * 2**20)
    before = state(ws)
    with pytest.raises(
        InvalidInput,
        match=r"has a line of 5,000,003 bytes; .* up to 3 MiB\. "
        r"Save the table as Parquet",
    ):
        wb.log_dataset(path, "notes-again")
    assert state(ws) == before
