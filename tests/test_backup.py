"""Backup while a sweep runs, restore into an empty folder, doctor; and every way a
restore can be handed something bad."""

from __future__ import annotations

import io
import os
import signal
import stat
import subprocess
import tarfile
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import PYTHON, ROOT, subprocess_env
from tests.test_runner import binary_frame
from workbench import sdk as wb
from workbench.datasets import versions as datasets
from workbench.registry import models as registry
from workbench.store.entities import UNENDED_STATUSES as UNENDED
from workbench.store.errors import InvalidInput
from workbench.store.workspace import Workspace
from workbench.team import backup
from workbench.tracking import experiments
from workbench.training import runner
from workbench.training.runner import SweepSpec
from workbench.training.task import RunSpec


def counts(ws: Workspace) -> dict[str, int]:
    tables = (
        "runs",
        "metrics",
        "params",
        "dataset_versions",
        "model_versions",
        "artifacts",
        "audit_events",
    )
    return ws.store.read(lambda tx: {t: tx.scalar(f"SELECT count(*) FROM {t}") for t in tables})


def test_a_backup_taken_during_a_sweep_restores_clean(ws: Workspace, tmp_path: Path) -> None:
    wb.log_dataset(binary_frame(200), "churn")
    first = runner.launch(ws, RunSpec("churn", "churned", "logistic"), experiment="e", wait=True)
    registry.register_model(ws, first.run_ids[0], "clf")
    grid = SweepSpec("grid", {"n_estimators": [5, 10, 20, 40, 60, 80]})
    sweep = runner.launch(
        ws, RunSpec("churn", "churned", "random_forest"), experiment="e", sweep=grid
    )
    time.sleep(0.5)  # trials are running: runs, params and metrics being written
    archive = tmp_path / "ws.tar.gz"
    report = backup.backup(ws, archive)
    during = any(experiments.get_run(ws, r).run.status in UNENDED for r in sweep.run_ids)
    runner.join()
    assert report.blobs >= 2 and report.missing == () and archive.stat().st_size > 0
    # The restore runs in another process, as an administrator would run it.
    target = tmp_path / "restored"
    out = subprocess.run(
        [PYTHON, "-m", "workbench.cli", "restore", str(archive), str(target)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=subprocess_env(tmp_path / "unused"),
    )
    assert out.returncode == 0, out.stderr + out.stdout
    assert "clean" in out.stdout.splitlines()[-1]
    restored = Workspace.open(target)
    assert backup.doctor(restored).clean
    got, now = counts(restored), counts(ws)
    assert got["dataset_versions"] == now["dataset_versions"] == 1
    assert got["model_versions"] == 1 and got["runs"] == now["runs"] == 8  # parent + 6 + 1
    assert 0 < got["metrics"] <= now["metrics"]
    assert registry.load_model(restored, "clf/1").ref == "clf/1"  # the blob, hash-checked
    assert datasets.load(restored, "churn@v1").shape == (200, binary_frame(200).shape[1])
    assert (target / "runs").is_dir()  # event logs travel too: nothing acknowledged is lost
    assert during or got["metrics"] == now["metrics"]  # a fast machine may finish first


def test_backup_refuses_to_overwrite_or_guess(ws: Workspace, tmp_path: Path) -> None:
    (tmp_path / "old.tar").write_bytes(b"keep me")
    with pytest.raises(InvalidInput, match="exists; choose a new file name"):
        backup.backup(ws, tmp_path / "old.tar")
    assert (tmp_path / "old.tar").read_bytes() == b"keep me"
    with pytest.raises(InvalidInput, match=r"name the archive \.tar"):
        backup.backup(ws, tmp_path / "b.zip")
    with pytest.raises(InvalidInput, match="does not exist"):
        backup.backup(ws, tmp_path / "nope" / "b.tar")


def test_doctor_finds_missing_corrupt_and_orphan_blobs(ws: Workspace) -> None:
    wb.log_dataset(binary_frame(50), "a")
    wb.log_dataset(binary_frame(60), "b")
    assert backup.doctor(ws).clean
    a, b = (datasets.get_version(ws, n).blob_sha256 for n in ("a", "b"))
    ws.blobs.path_for(a).unlink()
    path_b = ws.blobs.path_for(b)
    path_b.write_bytes(path_b.read_bytes() + b"!")
    orphan = ws.blobs.put_bytes(b"nobody names me")
    report = backup.doctor(ws)
    assert report.missing == [(a, "dataset_versions")] and report.corrupt == [b]
    assert report.orphans == [] and len(report.recent_orphans) == 1  # too young to judge
    old = time.time() - 2 * backup.ORPHAN_GRACE
    import os

    os.utime(ws.blobs.path_for(orphan.sha256), (old, old))
    report = backup.doctor(ws, fix=True)
    assert report.removed == 1 and not ws.blobs.exists(orphan.sha256)
    assert not report.clean and "NOT clean" in report.lines()[-1]


def _archive(tmp_path: Path, members: dict[str, bytes]) -> Path:
    path = tmp_path / "made.tar"
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_restore_refuses_bad_archives_and_leaves_nothing(ws: Workspace, tmp_path: Path) -> None:
    wb.log_dataset(binary_frame(40), "a")
    good = tmp_path / "good.tar"
    backup.backup(ws, good)
    target = tmp_path / "new-ws"
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "file.txt").write_text("mine")
    with pytest.raises(InvalidInput, match="is not empty"):
        backup.restore(good, busy)
    assert [p.name for p in busy.iterdir()] == ["file.txt"]
    with pytest.raises(InvalidInput, match="No backup archive"):
        backup.restore(tmp_path / "missing.tar", target)
    cases = {
        "traversal": {"../evil.txt": b"x", "manifest.json": b"{}"},
        "absolute": {"/tmp/evil-abs.txt": b"x"},
        "no manifest": {"meta.duckdb": b"x"},
        "not a backup": {"manifest.json": b'{"format": 99}'},
    }
    for label, members in cases.items():
        with pytest.raises(InvalidInput):
            backup.restore(_archive(tmp_path, members), target)
        assert not target.exists(), label
    assert not (tmp_path / "evil.txt").exists() and not Path("/tmp/evil-abs.txt").exists()
    # A damaged blob inside a real backup: found before anything is moved into place.
    with tarfile.open(good) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
    blob = next(n for n in members if n.startswith("blobs/"))
    members[blob] = members[blob][:-1] + b"?"
    with pytest.raises(InvalidInput, match="is damaged"):
        backup.restore(_archive(tmp_path, members), target)
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".new-ws")] == []
    # A newcomer's finds: a .tar.gz cut off in transfer ended in "this is a bug" (EOFError),
    # a named pipe was called "a folder".
    packed = tmp_path / "good.tar.gz"
    backup.backup(ws, packed)
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(packed.read_bytes()[: packed.stat().st_size // 2])
    with pytest.raises(InvalidInput, match="could not be unpacked"):
        backup.restore(cut, target)
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".new-ws")] == []
    pipe = tmp_path / "pipe.tar"
    os.mkfifo(pipe)
    with pytest.raises(InvalidInput, match="is not a regular file"):
        backup.restore(pipe, target)


def test_backup_blocks_writers_only_for_the_copy(ws: Workspace, tmp_path: Path) -> None:
    """Writers in this process wait for the exclusive section, then go on."""
    wb.log_dataset(binary_frame(40), "a")
    done = []

    def writer() -> None:
        for i in range(20):
            wb.log_dataset(binary_frame(30 + i), "w")
        done.append(True)

    thread = threading.Thread(target=writer)
    thread.start()
    backup.backup(ws, tmp_path / "b.tar")
    thread.join(60)
    assert done and len(datasets.list_versions(ws, "w")) == 20
    assert backup.doctor(ws).clean


def _slow_to_back_up(ws: Workspace, tmp_path: Path) -> list[str]:
    """A workspace whose compressed backup takes a second or more: 48 MB of random bytes
    (gzip cannot shrink them) as an artifact, and five runs whose event logs are an hour
    old (a staging copy keeps its files' times: doctor took the copies for stale temporary
    files)."""
    big = tmp_path / "weights.bin"
    with big.open("wb") as out:
        for _ in range(48):
            out.write(os.urandom(1 << 20))
    run_ids = []
    for i in range(5):
        with wb.start_run(experiment="e", name=f"r{i}") as run:
            run.log_metric("loss", 1.0 / (i + 1))
            if i == 0:
                run.log_artifact(big)
        run_ids.append(run.run_id)
    hour_ago = time.time() - 3600
    for path in ws.paths.runs.rglob("*"):
        os.utime(path, (hour_ago, hour_ago))
    big.unlink()
    return run_ids


def doctor_cli(ws: Workspace, *flags: str) -> subprocess.CompletedProcess:
    """`workbench doctor FLAGS` on ``ws``, in its own process."""
    return subprocess.run(
        [PYTHON, "-m", "workbench.cli", "doctor", *flags],
        cwd=ROOT,
        env=subprocess_env(ws.root),
        capture_output=True,
        text=True,
        timeout=300,
    )


def _start_backup(ws: Workspace, target: Path) -> subprocess.Popen:
    """`workbench backup TARGET` in its own process, stopped (SIGSTOP) as soon as it has
    written the first bytes of its archive: a live backup in the middle of its work, for
    as long as the test needs (SIGCONT lets it go on)."""
    proc = subprocess.Popen(
        [PYTHON, "-m", "workbench.cli", "backup", str(target)],
        cwd=ROOT,
        env=subprocess_env(ws.root),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 300
    while not any(p.stat().st_size > 0 for p in target.parent.glob(f".{target.name}*.partial")):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the backup never started writing its archive"
        time.sleep(0.01)  # polling the state: the partial archive has bytes
    proc.send_signal(signal.SIGSTOP)
    return proc


def test_doctor_fix_during_a_backup_removes_nothing_it_uses(ws: Workspace, tmp_path: Path) -> None:
    """Issue #16: `doctor --fix` 1 to 2 s into a backup deleted its staging copies of 23
    runs' event logs (46 files), and the backup still said it succeeded."""
    run_ids = _slow_to_back_up(ws, tmp_path)
    archive = tmp_path / "ws.tar.gz"
    proc = _start_backup(ws, archive)
    report = doctor_cli(ws, "--fix")
    assert "1 backup(s) running: their staging folders are left alone" in report.stdout
    proc.send_signal(signal.SIGCONT)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    for run_id in run_ids:
        assert any(n.startswith(f"runs/{run_id}/") for n in names), run_id
    assert not list(ws.blobs.tmp_dir.glob("backup-*"))


def test_a_killed_backup_leaves_nothing_after_the_next_doctor_fix(
    ws: Workspace, tmp_path: Path
) -> None:
    """Issue #16: kill -9 of a backup left `.T.tar.gz.partial` beside T and a staging
    folder of 120 files (a full copy of the database among them) that doctor kept."""
    _slow_to_back_up(ws, tmp_path)
    archive = tmp_path / "ws.tar.gz"
    proc = _start_backup(ws, archive)
    proc.kill()
    proc.communicate()
    assert list(ws.blobs.tmp_dir.glob("backup-*"))  # what the kill left
    assert list(tmp_path.glob(".ws.tar.gz.*.partial"))
    report = doctor_cli(ws)
    assert report.returncode == 2 and "left by a killed backup" in report.stdout
    [partial] = tmp_path.glob(".ws.tar.gz.*.partial")  # named before --fix deletes it
    assert f"its unfinished archive {partial}" in report.stdout, report.stdout
    fixed = doctor_cli(ws, "--fix")
    assert "removed what 1 killed backup(s) left" in fixed.stdout, fixed.stdout
    assert not list(ws.blobs.tmp_dir.glob("backup-*"))
    assert not list(tmp_path.glob(".ws.tar.gz*"))
    assert not archive.exists()
    assert backup.doctor(ws).clean


def _restore_cli(archive: Path, target: Path, ws: Workspace) -> subprocess.CompletedProcess:
    """`workbench restore ARCHIVE TARGET` in its own process."""
    return subprocess.run(
        [PYTHON, "-m", "workbench.cli", "restore", str(archive), str(target)],
        cwd=ROOT,
        env=subprocess_env(ws.root),
        capture_output=True,
        text=True,
        timeout=300,
    )


def _restore_staging(target: Path) -> list[Path]:
    """The hidden staging folders of restores into ``target``, beside it."""
    return sorted(target.parent.glob(f".{target.name}.restoring-*"))


def _start_restore(archive: Path, target: Path, ws: Workspace) -> subprocess.Popen:
    """`workbench restore ARCHIVE TARGET` in its own process, stopped (SIGSTOP) as soon as
    its staging folder holds the first bytes of the database: a live restore in the middle
    of its work (48 MB of blob still to unpack and hash), for as long as the test needs."""
    proc = subprocess.Popen(
        [PYTHON, "-m", "workbench.cli", "restore", str(archive), str(target)],
        cwd=ROOT,
        env=subprocess_env(ws.root),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def unpacking() -> bool:
        for folder in _restore_staging(target):
            try:
                if (folder / "meta.duckdb").stat().st_size > 0:
                    return True
            except FileNotFoundError:
                pass
        return False

    deadline = time.monotonic() + 300
    while not unpacking():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the restore never started unpacking"
        time.sleep(0.005)  # polling the state: the staging folder has a database
    proc.send_signal(signal.SIGSTOP)
    assert _restore_staging(target) and not target.exists(), "stopped too late: it finished"
    return proc


def test_a_killed_restore_leaves_nothing_after_the_next_restore_or_doctor_fix(
    ws: Workspace, tmp_path: Path
) -> None:
    """A newcomer's find: kill -9 of `restore A T` left `.T.restoring-5c5dcdd6` beside T (a
    full copy of the workspace, password hashes and all); the next restore into T and
    `doctor --fix` on it both said clean and kept it."""
    _slow_to_back_up(ws, tmp_path)
    archive = tmp_path / "ws.tar"
    backup.backup(ws, archive)
    target = tmp_path / "restored"
    proc = _start_restore(archive, target, ws)
    proc.kill()
    proc.communicate()
    [left] = _restore_staging(target)
    assert (left / "meta.duckdb").exists()
    mode = stat.S_IMODE(left.stat().st_mode)
    done = _restore_cli(archive, target, ws)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "removed what 1 killed restore(s) left" in done.stdout, done.stdout
    assert _restore_staging(target) == [] and (target / "meta.duckdb").is_file()
    assert mode == 0o700  # while it lay there, only its owner could read the copy
    # Killed again, into a folder where a workspace is then made: doctor finds it, --fix
    # removes it.
    other = tmp_path / "other"
    proc = _start_restore(archive, other, ws)
    proc.kill()
    proc.communicate()
    [left] = _restore_staging(other)
    cli = [PYTHON, "-m", "workbench.cli", "--workspace", str(other), "doctor"]
    run = dict(cwd=ROOT, env=subprocess_env(other), capture_output=True, text=True, timeout=300)
    found = subprocess.run(cli, **run)
    assert found.returncode == 2 and f"left by a killed restore: {left}" in found.stdout
    fixed = subprocess.run([*cli, "--fix"], **run)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "removed what 1 killed restore(s) left" in fixed.stdout, fixed.stdout
    assert _restore_staging(other) == []


def test_a_restore_never_removes_what_a_running_restore_uses(ws: Workspace, tmp_path: Path) -> None:
    """Two restores into one folder: the second leaves the first's staging alone while its
    process lives; the first then finds the folder filled and says so, keeping nothing."""
    _slow_to_back_up(ws, tmp_path)
    archive = tmp_path / "ws.tar"
    backup.backup(ws, archive)
    target = tmp_path / "restored"
    proc = _start_restore(archive, target, ws)
    try:
        [first] = _restore_staging(target)
        report = backup.restore(archive, target)
        assert report.clean and first.is_dir() and (first / "meta.duckdb").is_file()
        assert "1 restore(s) into this folder running" in "\n".join(report.lines())
        restored = Workspace.open(target)
        fixed = backup.doctor(restored, fix=True)
        assert fixed.clean and fixed.removed_restores == 0 and first.is_dir()
    finally:
        proc.send_signal(signal.SIGCONT)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 1 and "Traceback" not in err, err
    assert f"error: {target} is no longer empty" in err, err
    assert _restore_staging(target) == []
    assert backup.doctor(restored).clean
    restored.store.close()


def test_what_an_older_restore_left_goes_once_it_is_old(ws: Workspace, tmp_path: Path) -> None:
    """Before restores named their process, the staging folder was `.T.restoring-XXXXXXXX`:
    one older than ORPHAN_GRACE is a dead restore's; a younger one may be running."""
    wb.log_dataset(binary_frame(40), "a")
    archive = tmp_path / "ws.tar"
    backup.backup(ws, archive)
    target = tmp_path / "restored"
    old, young = (
        tmp_path / ".restored.restoring-5c5dcdd6",
        tmp_path / ".restored.restoring-0a1b2c3d",
    )
    others = [tmp_path / ".restored-2.restoring-5c5dcdd6", tmp_path / ".restored.restoring-5c5d"]
    for folder in [old, young, *others]:
        folder.mkdir()
        (folder / "meta.duckdb").write_bytes(b"a copy")
    hours_ago = time.time() - 2 * backup.ORPHAN_GRACE
    for folder in [old, *others]:
        os.utime(folder, (hours_ago, hours_ago))
    report = backup.restore(archive, target)
    assert report.removed_restores == 1 and not old.exists()
    assert young.is_dir() and all(f.is_dir() for f in others)  # not this target's, or alive
    lines = report.lines()
    assert report.clean and "1 restore(s) into this folder running: their staging" in lines[-3]
    assert lines[-2:] == ["removed what 1 killed restore(s) left", "clean"]
    os.utime(young, (hours_ago, hours_ago))
    restored = Workspace.open(target)
    found = backup.doctor(restored)
    assert not found.clean and found.dead_restores == [young]
    assert f"left by a killed restore: {young} (a full copy of a workspace)" in found.lines()
    fixed = backup.doctor(restored, fix=True)
    assert fixed.clean and fixed.removed_restores == 1 and not young.exists()
    assert all(f.is_dir() for f in others)
    restored.store.close()


def test_the_backup_target_follows_the_output_file_rule(ws: Workspace, tmp_path: Path) -> None:
    """A newcomer's finds: `backup DANGLING-LINK` replaced the link with the archive, and
    `backup WORKSPACE/inner.tar` was accepted. A backup target is a new regular file, as
    every user-named output file (app/files.py), and lies outside the workspace."""
    wb.log_dataset(binary_frame(40), "a")
    dangling = tmp_path / "dl.tar"
    dangling.symlink_to(tmp_path / "none.tar")
    device = tmp_path / "null.tar"
    device.symlink_to(os.devnull)
    pipe = tmp_path / "pipe.tar"
    os.mkfifo(pipe)
    in_the_way = tmp_path / "xf"
    in_the_way.write_text("a file")
    alias = tmp_path / "alias"  # another name for the workspace's folder
    alias.symlink_to(ws.root)
    folder_tar = tmp_path / "dir.tar"
    folder_tar.mkdir()
    before = sorted(p.relative_to(ws.root) for p in ws.root.rglob("*"))
    refused = [
        (dangling, "is a symbolic link to nothing"),
        (device, "is a character device"),
        (pipe, "is a named pipe"),
        (in_the_way / "sub" / "b.tar", f"{in_the_way} is a file, not a folder"),
        ("", "backup target given is empty"),
        (ws.root / "inner.tar", "is inside the workspace"),
        (ws.root / "runs" / "inner.tar.gz", "is inside the workspace"),
        (alias / "inner.tar", "is inside the workspace"),
        # a folder: the example it gives is one a backup takes (it said dir.tar/out)
        (folder_tar, f"is a folder; give a file name, e.g. {folder_tar / 'out.tar'}\\."),
    ]
    for target, says in refused:
        with pytest.raises(InvalidInput, match=says) as caught:
            backup.backup(ws, target)
        assert "mkdir -p" not in str(caught.value), target
    assert dangling.is_symlink() and not dangling.exists() and stat.S_ISFIFO(pipe.lstat().st_mode)
    assert in_the_way.read_text() == "a file"
    assert sorted(p.relative_to(ws.root) for p in ws.root.rglob("*")) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")] == []
    ws.store.close()
    done = subprocess.run(
        [PYTHON, "-m", "workbench.cli", "backup", str(dangling)],
        cwd=ROOT,
        env=subprocess_env(ws.root),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert f"error: {dangling} is a symbolic link to nothing" in done.stderr, done.stderr
    assert dangling.is_symlink()


def test_a_backup_never_overwrites_what_appears_while_it_packs(
    ws: Workspace, tmp_path: Path
) -> None:
    """The target is checked before the copy, and packing takes seconds to minutes: a file
    (or a link) made at the target meanwhile is kept, and the archive is not."""
    _slow_to_back_up(ws, tmp_path)
    archive = tmp_path / "ws.tar.gz"
    proc = _start_backup(ws, archive)
    try:
        archive.symlink_to(tmp_path / "nowhere.tar.gz")  # dangling: a rename would replace it
    finally:
        proc.send_signal(signal.SIGCONT)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 1 and "Traceback" not in err, err
    assert f"error: {archive} appeared while the backup was written" in err, err
    assert archive.is_symlink() and not (tmp_path / "nowhere.tar.gz").exists()
    assert not list(tmp_path.glob(".ws.tar.gz*")) and not list(ws.blobs.tmp_dir.glob("backup-*"))
