"""Files the user names for output (a dataset export, a drift report's HTML, a backup
archive): one rule for every door that writes one. The target must be a regular file in an
existing, writable folder (never a device, a pipe or a dangling link), replaced only on
request, and written whole via a rename, with the mode the umask gives."""

from __future__ import annotations

import os
import shlex
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

from workbench.store.errors import InvalidInput


def given_path(target: Path | str, what: str = "target") -> Path:
    """``target`` as a path (``~`` expanded), or InvalidInput when it is empty: ``Path("")``
    is ``.``, the current folder, which is never what an empty argument meant."""
    if isinstance(target, str) and not target.strip():
        blank = " (only spaces)" if target else ""
        raise InvalidInput(f"The {what} given is empty{blank}; give a path.")
    return Path(target).expanduser()


def in_the_way(folder: Path) -> str | None:
    """What stops ``folder`` from being made or used, when a path on the way is the problem:
    "P is a file, not a folder" (or a device, a pipe, a link to nothing) for the nearest
    existing one of ``folder`` and its parents, or "P cannot be entered (permission
    denied)"; None when ``folder`` is a folder or ``mkdir -p`` could make it."""
    for path in (folder, *folder.parents):
        if not os.path.lexists(path):
            continue
        try:
            mode = path.stat().st_mode
        except OSError:
            return f"{path} is a symbolic link to nothing, not a folder"
        if not stat.S_ISDIR(mode):
            kind = "a file" if stat.S_ISREG(mode) else _file_kind(mode)
            return f"{path} is {kind}, not a folder"
        if path != folder and not os.access(path, os.X_OK):
            return f"{path} cannot be entered (permission denied)"
        return None
    return None


def check_output_path(
    target: Path | str, *, overwrite: bool = False, never_overwrite: str | None = None
) -> Path:
    """``target`` when a file may be written there, else InvalidInput: it must not be empty;
    its folder must exist (it is never created silently) and be writable; ``target`` must
    not be a folder, a dangling symbolic link, or anything but a regular file (a device such
    as /dev/null, a named pipe, a socket: replacing it with a file breaks the system,
    reading or writing a pipe can block for ever); an existing file is replaced only with
    ``overwrite``. ``never_overwrite``, for outputs that have no ``--force``, says why
    (e.g. "a backup never overwrites") in place of pointing to it."""
    target = given_path(target)
    folder = target.parent
    if not folder.is_dir():
        if (why := in_the_way(folder)) is not None:  # mkdir -p could not help
            raise InvalidInput(f"Cannot write {target}: {why}; choose another path.")
        raise InvalidInput(
            f"Cannot write {target}: the folder {folder} does not exist. Create it first "
            f"(mkdir -p {shlex.quote(str(folder))}) or choose another path."
        )
    if target.is_dir():
        example = target / ("out" + "".join(target.suffixes))  # dir.tar/ -> dir.tar/out.tar
        raise InvalidInput(f"{target} is a folder; give a file name, e.g. {example}.")
    if os.path.lexists(target):
        try:
            mode = target.stat().st_mode
        except OSError:
            raise InvalidInput(
                f"{target} is a symbolic link to nothing; remove it or choose another name."
            ) from None
        if not stat.S_ISREG(mode):
            raise InvalidInput(
                f"{target} is {_file_kind(mode)}, not a regular file; the workbench writes "
                "only regular files. Choose a file path."
            )
        if never_overwrite:
            raise InvalidInput(f"{target} exists; choose a new file name ({never_overwrite}).")
        if not overwrite:
            raise InvalidInput(
                f"{target} exists; choose another name, or overwrite it on purpose (--force)."
            )
    if not os.access(folder, os.W_OK):
        raise InvalidInput(
            f"Cannot write into {folder} (permission denied); choose another folder."
        )
    return target


def _file_kind(mode: int) -> str:
    kinds = [
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISSOCK, "a socket"),
    ]
    return next((name for test, name in kinds if test(mode)), "a special file")


def _read_umask() -> int:
    """The process's umask, from /proc (Linux 4.7+) where it can be read without setting
    it; elsewhere by setting and restoring it (at import, before the app's threads)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def umask() -> int:
    """The process's umask, read once at import."""
    return _UMASK


def write_output(target: Path, fill: Callable[[Path], None]) -> Path:
    """Write a user-named output file whole or not at all: ``fill(tmp)`` writes a temporary
    file beside ``target`` (checked by :func:`check_output_path` first), which then replaces
    ``target`` in one rename. The file's mode follows the umask, as a file the user made
    (``mkstemp`` alone makes it 0600)."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name[:50]}.", suffix=".tmp")
    os.close(fd)
    try:
        fill(Path(tmp))
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return target


def refuse_inside(root: Path, target: Path | str, doing: str = "write it") -> None:
    """InvalidInput if ``target`` lies in the workspace folder ``root`` (folders resolved,
    so a symbolic link or ``..`` on the way counts): there ``doctor --fix`` removes what no
    record names (an exported model in ``blobs/`` went as five orphans), a backup packs it,
    and it is lost with the workspace. ``doing`` completes the advice ("write the backup")."""
    root = Path(root).resolve()
    target = Path(target)
    where = target.parent.resolve() / target.name
    if where == root or root in where.parents:
        raise InvalidInput(
            f"{target} is inside the workspace ({root}); {doing} outside it: inside, doctor "
            "--fix could remove it as a stray file, the next backup would pack it, and it "
            "would be lost with the workspace."
        )
