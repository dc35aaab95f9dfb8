"""The watched inbox: a file dropped into ``inbox/<dataset>/`` becomes a version of it.

A file is taken only once it has settled: unchanged in size and modification time for
``settle`` seconds (so a copy in progress is never read half-written), and not named like
a temporary file (``.*``, ``~*``, ``*.tmp``, ``*.part``, ``*.partial``, ``*.crdownload``,
``*.download``). After registration the file moves to ``inbox/<dataset>/.done/``; a file
that cannot be registered moves to ``.rejected/`` next to a ``.error.txt`` saying why.
Either way it is not read twice. Files directly in ``inbox/`` are left alone (they name no
dataset).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from workbench.datasets import versions as datasets
from workbench.store.errors import InvalidInput, WorkbenchError
from workbench.store.workspace import Workspace

log = logging.getLogger(__name__)

DONE, REJECTED = ".done", ".rejected"
_TEMP_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", ".download", ".swp")


@dataclass(frozen=True)
class InboxOutcome:
    """What became of one file in ``inbox/<dataset>/``: the file (``path``), the dataset
    it was registered into, and either the :class:`Registration` (a new version, or the
    same content found) or the ``error`` text saying why it was refused."""

    path: Path
    dataset: str
    registration: datasets.Registration | None
    error: str | None = None


def candidates(ws: Workspace) -> list[Path]:
    """Files in ``inbox/<dataset>/`` that could become versions (settled or not)."""
    root = ws.paths.inbox
    if not root.is_dir():
        return []
    out = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not _hidden(p.name)):
        out += sorted(f for f in folder.iterdir() if f.is_file() and not _temporary(f.name))
    return out


def scan(
    ws: Workspace,
    settle: float,
    *,
    seen: dict[Path, tuple[int, int]] | None = None,
    now: float | None = None,
) -> list[InboxOutcome]:
    """Register every settled inbox file; return what happened to each one taken.

    ``seen`` (kept by a long-running watcher between scans) maps a path to its last
    (size, mtime_ns); when given, a file must also look the same as at the previous scan.
    """
    now = time.time() if now is None else now
    outcomes = []
    for path in candidates(ws):
        try:
            st = path.stat()
        except FileNotFoundError:
            continue
        signature = (st.st_size, st.st_mtime_ns)
        previous = None if seen is None else seen.get(path)
        if seen is not None:
            seen[path] = signature
        settled = now - st.st_mtime >= settle and (seen is None or previous == signature)
        if not settled:
            continue
        outcomes.append(take(ws, path))
        if seen is not None:
            seen.pop(path, None)
    return outcomes


def take(ws: Workspace, path: Path) -> InboxOutcome:
    """Register one inbox file and move it out of the way."""
    name = path.parent.name
    try:
        result = datasets.register(
            ws,
            path,
            name,
            source_kind="inbox",
            source_name=path.name,
            message=f"from inbox/{name}/{path.name}",
        )
    except InvalidInput as exc:
        target = _move(path, REJECTED)
        target.with_name(target.name + ".error.txt").write_text(str(exc) + "\n")
        log.warning("inbox: rejected %s: %s", path, exc)
        return InboxOutcome(path, name, None, str(exc))
    except WorkbenchError as exc:  # busy database and the like: leave it for the next scan
        log.warning("inbox: %s not taken yet: %s", path, exc)
        return InboxOutcome(path, name, None, str(exc))
    _move(path, DONE)
    for note in result.notes:  # e.g. digits a float cannot hold; the CLI prints the message
        log.warning("inbox: %s: %s", path, note)
    if result.created:
        _monitor(ws, result.version)
    return InboxOutcome(path, name, result)


def _monitor(ws: Workspace, version) -> None:
    """Watch mode: a new version runs the monitors watching its dataset (drift check, and
    retraining when the rule fires). A failure is logged, never lost: it is recorded as a
    monitor event with the error."""
    from workbench.drift import monitoring

    try:
        monitoring.on_new_version(ws, version)
    except Exception:  # the file is registered either way; do not stall the inbox
        log.exception("inbox: monitoring %s failed", version.ref)


def _move(path: Path, folder: str) -> Path:
    target_dir = path.parent / folder
    target_dir.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    target = target_dir / f"{stamp}-{path.name}"
    path.replace(target)
    return target


def _hidden(name: str) -> bool:
    return name.startswith((".", "~"))


def _temporary(name: str) -> bool:
    return _hidden(name) or name.lower().endswith(_TEMP_SUFFIXES)
