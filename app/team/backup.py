"""Backup, restore and doctor.

A backup is one tar archive (``.tar``, or ``.tar.gz`` to compress): ``manifest.json``,
``meta.duckdb``, every blob the database names (``blobs/ab/abcdef...``) and the run event
logs (``runs/``). It is consistent while the app runs: under ``Store.exclusive`` (other
processes locked out, this process's other units of work waiting) the database is
checkpointed and copied and each referenced blob is hard-linked into a staging folder,
which takes milliseconds per blob whatever its size; the slow part, writing the archive,
happens after the lock is released. Blobs are immutable and content-addressed, so a link
taken under the lock is the content the copied database names, even if a purge removes the
original a moment later. The archive is written to a temporary name and renamed.

``restore`` unpacks an archive into an empty workspace folder (refusing members that
would land outside it), checks every blob against its name and the database file against
the manifest, and only then moves the workspace into place; a failed restore leaves
nothing behind. It unpacks into a hidden staging folder beside the target whose name
holds its process (``.NAME.restoring-PID-START-XXXXXXXX``): one that a killed restore left
(a full copy of the workspace) is removed by the next restore into that folder, or by
``doctor --fix`` on the workspace there, and never while its process lives.

``doctor`` checks that every blob the database names exists and has the sha256 of its
name, and lists orphans (blob files nothing names) and stale temporary files (left by a
killed process), and what killed backups and restores left. ``fix`` removes the latter,
and orphans and stale files older than ``ORPHAN_GRACE``: a registration adopts its blob
just before its row commits, so a fresh unnamed blob may be one in flight, and is reported
apart without making the workspace unclean.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import stat
import tarfile
import time
import uuid
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from workbench import files
from workbench.store import audit, maintenance
from workbench.store.blobs import file_sha256
from workbench.store.entities import utcnow
from workbench.store.errors import InvalidInput, WorkbenchError
from workbench.store.workspace import Workspace
from workbench.team.auth import current_user, requires
from workbench.tracking.ingest import pid_alive

FORMAT = 1
ORPHAN_GRACE = 600.0  # seconds


@dataclass(frozen=True)
class BackupReport:
    """What :func:`backup` wrote: ``path`` (the archive, absolute); ``blobs`` (blob files
    packed); ``bytes`` (the staged files' total size in bytes before packing and compression:
    database copy, blobs, run logs); ``schema_version`` (the database's schema step); ``missing``
    (sha256 of blobs the database names but the blob store lacked; they are not in the archive,
    and the manifest lists them)."""

    path: Path
    blobs: int
    bytes: int
    schema_version: int
    missing: tuple[str, ...] = ()


@dataclass
class DoctorReport:
    """What :func:`doctor` found (and, with ``fix``, removed) in a workspace.

    ``referenced``: blobs the database names; ``missing``: ``(sha256, where it is named)`` of
    named blobs with no file; ``corrupt``: sha256 of blob files whose content no longer hashes to
    their name; ``orphans``: blob files nothing names, older than ``ORPHAN_GRACE`` (600 s);
    ``recent_orphans``: younger ones, left alone (maybe a registration in flight; they do not
    make the workspace unclean); ``stale_tmp``: half-written temporary files of a killed process;
    ``live_backups`` / ``dead_backups``: staging folders of running / killed backups;
    ``live_restores`` / ``dead_restores``: the same for restores into this folder; ``removed``,
    ``removed_backups``, ``removed_restores``: how many of each ``fix`` removed.
    """

    referenced: int = 0
    missing: list[tuple[str, str]] = field(default_factory=list)  # (sha256, where named)
    corrupt: list[str] = field(default_factory=list)
    orphans: list[Path] = field(default_factory=list)
    recent_orphans: list[Path] = field(default_factory=list)  # left alone: maybe in flight
    stale_tmp: list[Path] = field(default_factory=list)  # half-written by a killed process
    live_backups: list[Path] = field(default_factory=list)  # staging of a running backup
    dead_backups: list[Path] = field(default_factory=list)  # staging of a killed backup
    live_restores: list[Path] = field(default_factory=list)  # a running restore's, beside it
    dead_restores: list[Path] = field(default_factory=list)  # a killed restore's, beside it
    removed: int = 0
    removed_backups: int = 0
    removed_restores: int = 0

    @property
    def clean(self) -> bool:
        """True when nothing is missing, corrupt, orphaned (past the grace period), stale, or
        left by a killed backup or restore. Young orphans and running backups or restores do not
        count."""
        return not (
            self.missing
            or self.corrupt
            or self.orphans
            or self.stale_tmp
            or self.dead_backups
            or self.dead_restores
        )

    def lines(self) -> list[str]:
        """The report as text lines for the CLI, one finding per line (``MISSING ...``, ``CORRUPT
        ...``, ``orphan ...``), then what was removed, and last ``clean`` or ``NOT clean``."""
        out = [f"{self.referenced:,} blobs named by the database"]
        out += [f"MISSING {sha} (named by {where})" for sha, where in self.missing]
        out += [f"CORRUPT {sha}: its content no longer has this sha256" for sha in self.corrupt]
        out += [f"orphan {p}" for p in self.orphans]
        out += [f"stale temporary file {p}" for p in self.stale_tmp]
        if self.recent_orphans:
            out.append(
                f"{len(self.recent_orphans)} unnamed blob(s) younger than "
                f"{ORPHAN_GRACE / 60:.0f} min left alone (maybe being registered)"
            )
        for p in self.dead_backups:
            out.append(f"left by a killed backup: {p} (a copy of the database among it)")
            if (partial := _partial_of(p)) is not None and partial.exists():
                out.append(f"left by a killed backup: its unfinished archive {partial}")
        if self.live_backups:
            out.append(
                f"{len(self.live_backups)} backup(s) running: their staging folders are left alone"
            )
        for p in self.dead_restores:
            out.append(f"left by a killed restore: {p} (a full copy of a workspace)")
        if self.live_restores:
            out.append(
                f"{len(self.live_restores)} restore(s) into this folder running: their staging "
                "folders are left alone"
            )
        if self.removed:
            out.append(f"removed {self.removed} orphan(s)")
        if self.removed_backups:
            out.append(f"removed what {self.removed_backups} killed backup(s) left")
        if self.removed_restores:
            out.append(f"removed what {self.removed_restores} killed restore(s) left")
        out.append("clean" if self.clean else "NOT clean")
        return out


@requires("admin")
def backup(ws: Workspace, target: Path | str) -> BackupReport:
    """Write ``target`` (``.tar`` or ``.tar.gz``): see the module's docstring. Before it
    reports success it reads the archive's member list back and compares it, file by file
    and size by size, with what it meant to write; a difference removes the archive and
    raises. A backup killed midway leaves a staging folder (and a hidden partial archive
    beside the target) that names its process: the next backup or ``doctor --fix``
    removes them once that process is gone, and nothing removes them while it lives.
    ``target`` follows :func:`workbench.files.check_output_path` (a new regular file in an
    existing folder; never over anything, a dangling link included) and lies outside the
    workspace. Raises InvalidInput (target), WorkbenchError (archive not as meant)."""
    target = files.given_path(target, "backup target").absolute()
    if not target.name.endswith((".tar", ".tar.gz")):
        raise InvalidInput(f"{target.name}: name the archive .tar (or .tar.gz to compress).")
    files.check_output_path(target, never_overwrite="a backup never overwrites")
    files.refuse_inside(ws.root, target, "write the backup")
    remove_dead_backups(ws)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    staging = ws.blobs.tmp_dir / f"{STAGING_PREFIX}{uuid.uuid4().hex}"  # same filesystem
    staging.mkdir(parents=True)
    owner = {"pid": os.getpid(), "started": _process_start(os.getpid()), "partial": str(partial)}
    (staging / OWNER_FILE).write_text(json.dumps(owner))
    try:
        with ws.store.exclusive() as tx:
            maintenance.checkpoint(tx)
            shutil.copy2(ws.paths.db, staging / "meta.duckdb")
            version = maintenance.schema_version(tx)
            named = maintenance.referenced_blobs(tx)
            missing = []
            for sha in sorted(named):
                source = ws.blobs.path_for(sha)
                link = staging / "blobs" / source.relative_to(ws.paths.blobs)
                link.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.link(source, link)
                except FileNotFoundError:
                    missing.append(sha)
            if ws.paths.runs.is_dir():
                shutil.copytree(ws.paths.runs, staging / "runs")
        # Packing takes seconds to minutes and needs no database: let the file go now, not
        # after the linger (a backup stopped or slowed while packing held it).
        ws.store.close()
        size = sum(p.stat().st_size for p in staging.rglob("*") if p.is_file())
        manifest = {
            "format": FORMAT,
            "created_at": utcnow().isoformat(),
            "created_by": current_user(),
            "schema_version": version,
            "db_sha256": file_sha256(staging / "meta.duckdb"),
            "blobs": len(named) - len(missing),
            "missing": missing,
        }
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2))
        try:
            with tarfile.open(partial, "w:gz" if target.name.endswith(".gz") else "w") as tar:
                for name in ("manifest.json", "meta.duckdb", "blobs", "runs"):
                    if (staging / name).exists():
                        tar.add(staging / name, arcname=name)
            _verify_archive(partial, staging)
            _place(partial, target)
        finally:
            partial.unlink(missing_ok=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    ws.store.write(
        lambda tx: audit.record(
            tx,
            actor=current_user(),
            action="workspace.backup",
            object_type="workspace",
            object_id=str(ws.root),
            detail={"archive": str(target), "bytes": size, "missing": missing},
        )
    )
    return BackupReport(target, len(named) - len(missing), size, version, tuple(missing))


def _place(partial: Path, target: Path) -> None:
    """Give the finished archive its name, never over anything that appeared there while it
    was written (a file, a link, a dangling one): a hard link fails if the name is taken;
    where the filesystem has none, a rename after one more look."""
    taken = InvalidInput(
        f"{target} appeared while the backup was written; it was left as it is and the "
        "backup was not kept. Run it again with a new file name (a backup never overwrites)."
    )
    try:
        os.link(partial, target)
    except FileExistsError:
        raise taken from None
    except OSError:  # no hard links here (EPERM, ENOTSUP, ...)
        if os.path.lexists(target):
            raise taken from None
        os.replace(partial, target)


# A backup's staging folder in blobs/tmp/ holds OWNER_FILE: the process writing it (its
# PID and start time, so a reused PID is not taken for it) and its partial archive.
STAGING_PREFIX = "backup-"
OWNER_FILE = "owner.json"


def _verify_archive(archive: Path, staging: Path) -> None:
    """Raise WorkbenchError unless ``archive`` holds every file of ``staging`` (but its
    owner file) under the same name with the same size, and nothing else."""
    meant = {
        str(p.relative_to(staging)): p.stat().st_size
        for p in staging.rglob("*")
        if p.is_file() and p.name != OWNER_FILE
    }
    with tarfile.open(archive) as tar:
        written = {m.name: m.size for m in tar.getmembers() if m.isfile()}
    if written != meant:
        lost = sorted(set(meant) - set(written))
        changed = sorted(k for k in set(meant) & set(written) if meant[k] != written[k])
        raise WorkbenchError(
            f"The backup archive does not hold what it was meant to ({len(lost)} file(s) "
            f"missing, e.g. {lost[:3]}; {len(changed)} of another size); it was not kept. "
            "Something removed or changed files while it was written: run the backup again."
        )


def _process_start(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (/proc/PID/stat, field 22), or
    None where /proc is not there."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return int(fh.read().rsplit(b")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def _owner_alive(folder: Path) -> bool:
    """Whether the process that owns a backup staging folder still runs (a folder without
    a readable owner file counts as alive while younger than ORPHAN_GRACE: it may be being
    made)."""
    try:
        owner = json.loads((folder / OWNER_FILE).read_text())
    except (OSError, ValueError):
        return _young(folder)
    pid = owner.get("pid")
    return isinstance(pid, int) and _alive(pid, owner.get("started"))


def _alive(pid: int, started: int | None) -> bool:
    """Whether process ``pid`` runs and is the one that started at ``started`` (clock
    ticks since boot; None where that was not known)."""
    return pid_alive(pid) and started in (None, _process_start(pid))


def _young(folder: Path) -> bool:
    """Whether ``folder`` changed within ORPHAN_GRACE (a folder gone counts as old)."""
    try:
        return time.time() - folder.stat().st_mtime < ORPHAN_GRACE
    except OSError:
        return False


def backup_folders(ws: Workspace) -> tuple[list[Path], list[Path]]:
    """(live, dead) backup staging folders in ``blobs/tmp/``."""
    live, dead = [], []
    if ws.blobs.tmp_dir.is_dir():
        for folder in sorted(ws.blobs.tmp_dir.glob(f"{STAGING_PREFIX}*")):
            if folder.is_dir():
                (live if _owner_alive(folder) else dead).append(folder)
    return live, dead


def _partial_of(folder: Path) -> Path | None:
    """The unfinished archive a backup staging folder's owner file names (a hidden
    ``.NAME.PID.partial`` beside the target), or None."""
    try:
        partial = json.loads((folder / OWNER_FILE).read_text()).get("partial")
    except (OSError, ValueError):
        return None
    return Path(partial) if isinstance(partial, str) and partial.endswith(".partial") else None


def remove_dead_backups(ws: Workspace) -> int:
    """Remove what backups killed midway left: their staging folders (a copy of the
    database among them) and their partial archives. Returns how many folders."""
    _, dead = backup_folders(ws)
    for folder in dead:
        if (partial := _partial_of(folder)) is not None:
            partial.unlink(missing_ok=True)
        shutil.rmtree(folder, ignore_errors=True)
    return len(dead)


# A restore unpacks beside its target, into ".NAME" + RESTORE_MARK + "PID-START-XXXXXXXX"
# (START: the process's start time, "x" where unknown). Earlier versions named it
# ".NAME.restoring-XXXXXXXX", without its process: such a folder is taken as dead once
# older than ORPHAN_GRACE.
RESTORE_MARK = ".restoring-"


def _restore_staging(root: Path) -> Path:
    """A new staging folder's path for a restore into ``root`` by this process."""
    started = _process_start(os.getpid())
    owner = f"{os.getpid()}-{'x' if started is None else started}"
    return root.parent / f".{root.name}{RESTORE_MARK}{owner}-{uuid.uuid4().hex[:8]}"


def restore_folders(root: Path) -> tuple[list[Path], list[Path]]:
    """(live, dead) staging folders of restores into ``root``, beside it: dead when the
    process its name holds has ended (or, named the old way, once older than
    ORPHAN_GRACE)."""
    name = re.compile(
        rf"\.{re.escape(root.name)}{re.escape(RESTORE_MARK)}(?:(\d+)-(\d+|x)-)?[0-9a-f]{{8}}"
    )
    live, dead = [], []
    try:
        entries = sorted(root.parent.iterdir())
    except OSError:
        return live, dead
    for folder in entries:
        if not (found := name.fullmatch(folder.name)) or folder.is_symlink() or not folder.is_dir():
            continue
        pid, started = found.groups()
        if pid is None:
            alive = _young(folder)
        else:
            alive = _alive(int(pid), None if started == "x" else int(started))
        (live if alive else dead).append(folder)
    return live, dead


def remove_dead_restores(root: Path) -> int:
    """Remove the staging folders that restores into ``root`` killed midway left beside it
    (each a full copy of a workspace). Returns how many."""
    _, dead = restore_folders(root)
    for folder in dead:
        shutil.rmtree(folder, ignore_errors=True)
    return len(dead)


def restore(archive: Path | str, root: Path | str) -> DoctorReport:
    """Unpack ``archive`` into the empty (or new) folder ``root``; returns doctor's report
    of the restored workspace. Raises InvalidInput, leaving ``root`` as it was. Removes
    first what restores into ``root`` killed midway left (:func:`remove_dead_restores`)."""
    archive = files.given_path(archive, "archive path").absolute()
    root = files.given_path(root, "restore target").absolute()
    if not archive.exists():
        raise InvalidInput(f"No backup archive at {archive}.")
    if not archive.is_file():
        what = "a folder" if archive.is_dir() else "not a regular file (a device or a pipe)"
        raise InvalidInput(
            f"{archive} is {what}, not a backup archive; give the .tar or .tar.gz file that "
            "`workbench backup` wrote."
        )
    try:
        is_tar = tarfile.is_tarfile(archive)
    except OSError as exc:
        raise InvalidInput(f"Cannot read {archive} ({exc.strerror}).") from None
    if not is_tar:
        raise InvalidInput(
            f"not a workbench backup: {archive.name} is not a tar archive; give "
            "the .tar or .tar.gz file that `workbench backup` wrote."
        )
    if os.path.lexists(root) and not root.exists():
        raise InvalidInput(
            f"{root} is a symbolic link to nothing; restore into a new or empty folder."
        )
    if root.exists() and not root.is_dir():
        raise InvalidInput(f"{root} is a file; restore into a new or empty folder.")
    if root.exists() and any(root.iterdir()):
        raise InvalidInput(f"{root} is not empty; restore into a new or empty folder.")
    unpacked = _restore_staging(root)
    try:
        root.parent.mkdir(parents=True, exist_ok=True)
        cleared = remove_dead_restores(root)
        unpacked.mkdir(mode=0o700)  # named for its process before anything is in it; private
    except OSError as exc:
        why = files.in_the_way(root.parent) or f"cannot write into {root.parent} ({exc.strerror})"
        raise InvalidInput(f"Cannot restore into {root}: {why}; choose another folder.") from None
    try:
        try:
            with tarfile.open(archive) as tar:
                tar.extractall(unpacked, filter="data")  # no absolute paths, no "..", no links out
        except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:  # EOFError: cut off
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise InvalidInput(
                f"not a workbench backup: {archive.name} could not be unpacked ({first})."
            ) from exc
        manifest = _manifest(unpacked, archive)
        if file_sha256(unpacked / "meta.duckdb") != manifest["db_sha256"]:
            raise InvalidInput(
                f"{archive.name}: meta.duckdb does not match its manifest; the archive is damaged."
            )
        for blob in (unpacked / "blobs").rglob("*") if (unpacked / "blobs").is_dir() else ():
            if blob.is_file() and file_sha256(blob) != blob.name:
                raise InvalidInput(f"{archive.name}: blob {blob.name[:12]}... is damaged.")
        (unpacked / "manifest.json").unlink()
        _move_into_place(unpacked, root)
    finally:
        shutil.rmtree(unpacked, ignore_errors=True)
    ws = Workspace.open(root)
    try:
        report = doctor(ws)
    finally:
        ws.store.close()
    report.removed_restores = cleared
    return report


def _move_into_place(unpacked: Path, root: Path) -> None:
    """Rename ``unpacked`` to ``root`` (missing, or an empty folder whose mode it takes),
    in one step; InvalidInput, ``root`` untouched, if ``root`` filled up meanwhile."""
    try:
        mode = stat.S_IMODE(root.stat().st_mode)
    except OSError:
        mode = 0o777 & ~files.umask()  # as mkdir would make it
    unpacked.chmod(mode)
    try:
        os.replace(unpacked, root)  # rename(2) replaces an empty folder, not a full one
    except OSError as exc:
        if exc.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
            raise InvalidInput(
                f"{root} is no longer empty: something wrote into it while the archive was "
                "unpacked (another restore?). Nothing was moved into it; restore into a new "
                "or empty folder."
            ) from None
        raise InvalidInput(
            f"Cannot move the restored workspace into {root} ({exc.strerror}); nothing was changed."
        ) from None


def _manifest(folder: Path, archive: Path) -> dict:
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError) as exc:
        raise InvalidInput(
            f"{archive.name} has no readable manifest.json; is it a workbench backup?"
        ) from exc
    if manifest.get("format") != FORMAT or not (folder / "meta.duckdb").is_file():
        raise InvalidInput(f"{archive.name} is not a workbench backup of format {FORMAT}.")
    return manifest


def doctor(ws: Workspace, *, fix: bool = False, verify: bool = True) -> DoctorReport:
    """Check blobs against the database (``verify``: re-hash each, not only look for it);
    ``fix`` removes orphans and stale temporary files older than ORPHAN_GRACE, and what
    killed backups left and killed restores into this workspace's folder left beside it."""
    report = DoctorReport()
    named = ws.store.read(maintenance.referenced_blobs)
    report.referenced = len(named)
    for sha, where in sorted(named.items()):
        path = ws.blobs.path_for(sha)
        if not path.is_file():
            report.missing.append((sha, where))
        elif verify and file_sha256(path) != sha:
            report.corrupt.append(sha)
    now = time.time()
    tmp = ws.blobs.tmp_dir
    live, dead = backup_folders(ws)
    report.live_backups, report.dead_backups = live, dead
    report.live_restores, report.dead_restores = restore_folders(ws.root)
    for path in sorted(ws.paths.blobs.rglob("*")):
        if any(folder in path.parents for folder in [*live, *dead]):
            continue  # a backup's staging: never touched while it runs; a dead one whole
        if not path.is_file() or path.name in named:
            continue
        old = now - path.stat().st_mtime >= ORPHAN_GRACE
        if tmp in path.parents:  # uploads and blobs being written
            if old:
                report.stale_tmp.append(path)
            continue
        (report.orphans if old else report.recent_orphans).append(path)
    if fix and (report.orphans or report.stale_tmp or report.dead_backups or report.dead_restores):
        _remove_orphans(ws, report)
    return report


@requires("admin")
def _remove_orphans(ws: Workspace, report: DoctorReport) -> None:
    for path in [*report.orphans, *report.stale_tmp]:
        path.unlink(missing_ok=True)
    report.removed = len(report.orphans) + len(report.stale_tmp)
    report.removed_backups = remove_dead_backups(ws)
    report.removed_restores = remove_dead_restores(ws.root)
    report.orphans, report.stale_tmp, report.dead_backups, report.dead_restores = [], [], [], []
    detail = {
        "removed": report.removed,
        "removed_backups": report.removed_backups,
        "removed_restores": report.removed_restores,
    }
    ws.store.write(
        lambda tx: audit.record(
            tx,
            actor=current_user(),
            action="workspace.doctor.fix",
            object_type="workspace",
            object_id=str(ws.root),
            detail=detail,
        )
    )
