"""The connection gateway against real DuckDB files and real competing processes."""

from __future__ import annotations

import random
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import PYTHON, ROOT
from workbench.store.errors import AlreadyExists, Conflict, InvalidInput, StoreBusy
from workbench.store.gateway import Store

HOLDER = """
import duckdb, sys, time
con = duckdb.connect(sys.argv[1])
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def hold_lock(path: Path, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen(
        [PYTHON, "-c", HOLDER, str(path), str(seconds)], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    assert proc.stdout.readline().strip() == "locked"
    return proc


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "meta.duckdb", lock_timeout=5)
    s.write(lambda tx: tx.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)"))
    s.write(lambda tx: tx.execute("INSERT INTO t VALUES (1, 0)"))
    # Closed now, not after its 0.1 s linger: a lock holder started at once (an idle machine
    # starts Python and duckdb in less) met this process's lock and died, unlocked.
    s.close()
    return s


def test_waits_out_another_process_lock(store: Store) -> None:
    proc = hold_lock(store.path, 1.0)
    started = time.monotonic()
    store.write(lambda tx: tx.execute("UPDATE t SET v = 1"))
    waited = time.monotonic() - started
    proc.wait()
    assert waited > 0.5  # it really was locked out, and then got in
    assert store.read(lambda tx: tx.scalar("SELECT v FROM t")) == 1


def test_lock_held_past_deadline_is_one_clear_error(store: Store) -> None:
    proc = hold_lock(store.path, 4.0)
    short = Store(store.path, lock_timeout=0.5)
    with pytest.raises(StoreBusy, match=r"stayed locked by another process \(PID \d+\)"):
        short.read(lambda tx: tx.scalar("SELECT 1"))
    proc.wait()


def test_write_conflict_reruns_the_whole_unit(store: Store) -> None:
    """Two threads increment the same row 20 times each: every increment lands, none is
    silently rolled back."""
    barrier = threading.Barrier(2)

    def bump(tx) -> None:
        value = tx.scalar("SELECT v FROM t WHERE id = 1")
        time.sleep(0.002)
        tx.execute("UPDATE t SET v = ? WHERE id = 1", [value + 1])

    def worker() -> None:
        barrier.wait()
        for _ in range(20):
            store.write(bump)

    store.conflict_retries = 200
    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.read(lambda tx: tx.scalar("SELECT v FROM t")) == 40


def test_conflict_reported_when_retries_run_out(store: Store) -> None:
    store.conflict_retries = 1
    hold = threading.Event()
    done = threading.Event()

    def long_writer() -> None:
        def work(tx) -> None:
            tx.execute("UPDATE t SET v = 100 WHERE id = 1")
            hold.set()
            done.wait(5)

        store.write(work)

    t = threading.Thread(target=long_writer)
    t.start()
    hold.wait(5)
    try:
        with pytest.raises(Conflict, match="gave up after 1 attempts"):
            store.write(lambda tx: tx.execute("UPDATE t SET v = 5 WHERE id = 1"))
    finally:
        done.set()
        t.join()
    assert store.read(lambda tx: tx.scalar("SELECT v FROM t")) == 100


def test_swallowed_error_is_not_reported_as_committed(store: Store) -> None:
    def work(tx) -> None:
        tx.execute("INSERT INTO t VALUES (2, 2)")
        try:
            tx.execute("INSERT INTO t VALUES (1, 9)")  # duplicate key aborts the transaction
        except Exception:
            pass

    with pytest.raises(AlreadyExists, match="Duplicate key"):
        store.write(work)
    assert store.read(lambda tx: tx.fetchall("SELECT id FROM t ORDER BY id")) == [(1,)]


def test_not_a_duckdb_file(tmp_path: Path) -> None:
    bad = tmp_path / "meta.duckdb"
    bad.write_text("this is a text file, not a database\n" * 100)
    before = bad.read_bytes()
    with pytest.raises(InvalidInput, match="is not a DuckDB database"):
        Store(bad).read(lambda tx: tx.scalar("SELECT 1"))
    assert bad.read_bytes() == before


def test_generation_moves_on_write_not_on_read(store: Store) -> None:
    before = store.generation()
    store.read(lambda tx: tx.fetchall("SELECT * FROM t"))
    assert store.generation() == before
    time.sleep(0.01)
    store.write(lambda tx: tx.execute("UPDATE t SET v = v + 1"))
    assert store.generation() != before


def test_two_stores_on_one_file_share_its_instance(tmp_path: Path) -> None:
    """A process that opens a workspace twice (a launcher thread's trial does) has two
    stores on one file. Six threads across them insert frames and read, the instance
    closing after every unit: no unit may fail. Before the stores shared the instance, one
    store connecting while the other bound a registered frame failed with "Table Function
    with name python_arrow_scan does not exist" (10 to 34 units of 1,200)."""
    import pyarrow as pa

    stores = [Store(tmp_path / "meta.duckdb", linger=0), Store(tmp_path / "meta.duckdb", linger=0)]
    stores[0].write(lambda tx: tx.execute("CREATE TABLE t (a INTEGER, b DOUBLE)"))
    errors: list[str] = []

    def work(i: int) -> None:
        pause = random.Random(i)
        for _ in range(150):
            frame = pa.table({"a": list(range(50)), "b": [float(x) for x in range(50)]})
            try:
                stores[i % 2].write(lambda tx, f=frame: tx.insert_frame("t", f))
                stores[i % 2].read(lambda tx: tx.scalar("SELECT count(*) FROM t"))
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
            time.sleep(pause.uniform(0, 0.02))  # the instance closes and opens again

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [], errors[:3]
    assert stores[1].read(lambda tx: tx.scalar("SELECT count(*) FROM t")) == 6 * 150 * 50
