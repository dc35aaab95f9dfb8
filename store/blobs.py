"""Content-addressed files: ``blobs/ab/abcdef...`` named by their sha256.

A blob is written to a temporary name, fsynced, renamed into place and its folder fsynced;
only then may a database row name it. A crash therefore leaves at most an orphan blob,
never a row that points at nothing. Reading checks the hash first, so a changed or
truncated file is refused before anything (joblib, Parquet) interprets it.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from workbench.store.errors import InvalidInput, NotFound, storage_full

_CHUNK = 1 << 20


@dataclass(frozen=True)
class BlobRef:
    """A stored blob: its sha256 (64 lowercase hex digits, also its name) and size."""

    sha256: str
    size_bytes: int


class BlobStore:
    """The content-addressed files under ``root`` (``root/ab/abcdef...``): written
    atomically and durably, read only after checking the hash (see the module docstring).
    Writes that run out of disk space raise StorageFull and keep nothing."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path_for(self, sha256: str) -> Path:
        """Where the blob ``sha256`` lives (whether or not it exists); InvalidInput when
        ``sha256`` is not 64 lowercase hex digits (so no name can reach outside ``root``)."""
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise InvalidInput(f"{sha256!r} is not a sha256 hex digest (64 characters 0-9a-f).")
        return self.root / sha256[:2] / sha256

    def put_file(self, source: Path | str) -> BlobRef:
        """Store a copy of the file at ``source``; returns its hash and size in bytes.
        InvalidInput when ``source`` is not an existing file."""
        source = Path(source)
        if not source.is_file():
            raise InvalidInput(f"{source} is not a file; pass the path of an existing file.")
        with source.open("rb") as fh:
            return self.put_stream(fh)

    @property
    def tmp_dir(self) -> Path:
        """Where files destined for :meth:`adopt` are written (same filesystem as blobs)."""
        return self.root / "tmp"

    def adopt(self, tmp_file: Path) -> BlobRef:
        """Move a finished file from :attr:`tmp_dir` into the store under its hash.

        The file is hashed, fsynced and renamed (no copy); it is gone from ``tmp_file``
        afterwards, whether it was adopted or already stored.
        """
        tmp_file = Path(tmp_file)
        try:
            ref = BlobRef(file_sha256(tmp_file), tmp_file.stat().st_size)
            final = self.path_for(ref.sha256)
            if final.exists():
                return ref
            with tmp_file.open("rb+") as fh:
                os.fsync(fh.fileno())
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp_file, final)
            _fsync_dir(final.parent)
            return ref
        finally:
            tmp_file.unlink(missing_ok=True)

    def remove(self, sha256: str) -> None:
        """Delete a blob (the caller has checked that no row names it)."""
        self.path_for(sha256).unlink(missing_ok=True)

    def put_bytes(self, data: bytes) -> BlobRef:
        """Store ``data``; returns its hash and size (as :meth:`put_stream`)."""
        import io

        return self.put_stream(io.BytesIO(data))

    def put_stream(self, stream: BinaryIO) -> BlobRef:
        """Store what a binary ``stream`` yields until its end, read and hashed in 1 MiB
        chunks into a temporary file that is fsynced and renamed into place; returns its
        hash and size in bytes. Content already stored is not written twice. StorageFull
        when the disk or a file size limit runs out (the temporary file is removed)."""
        tmp_dir = self.tmp_dir
        tmp_dir.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix="incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            ref = BlobRef(digest.hexdigest(), size)
            final = self.path_for(ref.sha256)
            if final.exists():
                os.unlink(tmp_name)  # same content already stored
                return ref
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp_name, final)
            _fsync_dir(final.parent)
            return ref
        except BaseException as exc:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
            if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
                raise storage_full("a file", self.root) from exc
            raise

    def verified_path(self, sha256: str) -> Path:
        """The blob's path after checking its content still hashes to ``sha256``: NotFound
        when the file is missing, InvalidInput when its content changed."""
        path = self.path_for(sha256)
        if not path.is_file():
            raise NotFound(
                f"Blob {sha256[:12]}… is missing from {self.root}; restore the workspace "
                "from a backup or re-log the artifact."
            )
        if file_sha256(path) != sha256:
            raise InvalidInput(
                f"Blob {sha256[:12]}… at {path} does not match its hash: the file was changed "
                "or damaged after it was stored. Refusing to read it; restore it from a backup."
            )
        return path

    def read_verified(self, sha256: str) -> bytes:
        """The blob's bytes, read once and checked against ``sha256`` before they are
        returned (one pass: no second read between the check and the use). NotFound /
        InvalidInput as :meth:`verified_path`."""
        path = self.path_for(sha256)
        if not path.is_file():
            self.verified_path(sha256)  # raises the NotFound with its hint
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != sha256:
            raise InvalidInput(
                f"Blob {sha256[:12]}… at {path} does not match its hash: the file was changed "
                "or damaged after it was stored. Refusing to read it; restore it from a backup."
            )
        return data

    def copy_out(self, sha256: str, target: Path) -> Path:
        """Copy the blob to ``target`` (a file path, overwritten) after checking its hash;
        returns ``target``. NotFound / InvalidInput as :meth:`verified_path`."""
        shutil.copyfile(self.verified_path(sha256), target)
        return target

    def exists(self, sha256: str) -> bool:
        """Whether the blob's file is present (its content is not checked)."""
        return self.path_for(sha256).is_file()


def file_sha256(path: Path) -> str:
    """The sha256 hex digest of the file at ``path``, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
