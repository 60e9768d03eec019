"""Content-addressed storage of snapshot trees: CRIU checkpoint folders and workspace files.

Layout under the store's root::

    blobs/<hex[:2]>/<hex>   one read-only blob per distinct content (a file's bytes, a
                            symlink's target, a tree manifest), named by its sha256
    tmp/                    blobs being written, renamed into ``blobs/`` once complete
    lock                    flock: ingests hold it shared, garbage collection exclusive

A tree is a manifest of entries (relative POSIX path to kind, digest, size, mode),
serialised canonically and stored as a blob; its sha256 is the tree's checksum, a Merkle
root covering every byte of the tree. Every read verifies what it reads.

Garbage collection is safe against concurrent ingests: an ingest touches every blob it
references (new or deduplicated) while holding the lock shared, so a collection, which
holds it exclusively, never sees an ingest half done; and it spares blobs touched less
than ``gc_grace_s`` ago, which gives an ingest's caller that long to record the new
tree as live. The store is synchronous: async callers wrap it in ``asyncio.to_thread``.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import io
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from engine.errors import SnapshotCorrupted, SnapshotError, TreeTooLarge
from engine.tree_manifest import (
    PREFIX,
    StoredTree,
    TreeEntry,
    decode_manifest,
    digest_of,
    encode_manifest,
    stored_tree,
)
from engine.workspace import DEFAULT_MODES, PERMISSION_BITS, Kind, WorkspaceTree

BLOB_MODE = 0o444
BUFFER_SIZE = 1 << 20
DEFAULT_GC_GRACE_S = 3600.0


def _copy_hashing(source: io.FileIO, target: BinaryIO) -> tuple[str, int]:
    """Copy ``source`` to ``target`` in one read pass; the sha256 hex and size of what was copied."""
    hasher = hashlib.sha256()
    buffer = bytearray(BUFFER_SIZE)
    view = memoryview(buffer)
    size = 0
    while count := source.readinto(buffer):
        hasher.update(view[:count])
        target.write(view[:count])
        size += count
    return hasher.hexdigest(), size


def _open_nofollow(path: str, flags: int) -> int:
    return os.open(path, flags | os.O_NOFOLLOW)


class SnapshotStore:
    """Trees stored by content under ``root`` (created if missing, private to this user)."""

    def __init__(self, root: Path, *, gc_grace_s: float = DEFAULT_GC_GRACE_S) -> None:
        self.root = root
        self.gc_grace_s = gc_grace_s
        self._blobs = root / "blobs"
        self._tmp = root / "tmp"
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._blobs.mkdir(exist_ok=True)
        self._tmp.mkdir(exist_ok=True)

    # ---- ingest ------------------------------------------------------------------------

    def ingest_directory(self, source: Path, *, move: bool) -> StoredTree:
        """Store every directory, regular file and symlink under ``source`` (never following links).

        Args:
            move: take the files out of ``source`` (renamed when on this filesystem, else
                copied and deleted), leaving it empty; otherwise copy them.

        Raises:
            SnapshotError: ``source`` holds a socket, FIFO or device (checked before anything moves).
        """
        listing = _scan(source)
        # Across filesystems a copy reads each file once; hashing first and then failing to rename would read it twice.
        rename = move and source.stat().st_dev == self._tmp.stat().st_dev
        entries: dict[str, TreeEntry] = {}
        with self._locked(fcntl.LOCK_SH):
            for path, info in listing:
                entries[path] = self._ingest_entry(source / path, info, move=move, rename=rename)
            if move:
                for path, info in reversed(listing):  # children before their parents
                    if stat.S_ISDIR(info.st_mode):
                        (source / path).rmdir()
            return self._store_manifest(entries)

    def ingest_workspace(self, tree: WorkspaceTree) -> StoredTree:
        """Store a tree held in memory.

        Raises:
            WorkspaceError: a path is not relative and normalised, or has two kinds.
        """
        entries: dict[str, TreeEntry] = {}
        with self._locked(fcntl.LOCK_SH):
            for path, kind in tree.kinds().items():
                mode = tree.mode(path, kind)
                if kind == "dir":
                    entries[path] = TreeEntry("dir", None, 0, mode)
                    continue
                content = tree.files[path] if kind == "file" else os.fsencode(tree.symlinks[path])
                entries[path] = TreeEntry(kind, self._put_bytes(content), len(content), mode)
            return self._store_manifest(entries)

    def _ingest_entry(self, path: Path, info: os.stat_result, *, move: bool, rename: bool) -> TreeEntry:
        mode = stat.S_IMODE(info.st_mode) & PERMISSION_BITS
        if stat.S_ISDIR(info.st_mode):
            return TreeEntry("dir", None, 0, mode)
        if stat.S_ISLNK(info.st_mode):
            target = os.readlink(os.fsencode(path))
            if move:
                path.unlink()
            return TreeEntry("symlink", self._put_bytes(target), len(target), DEFAULT_MODES["symlink"])
        # A file with other hard links is copied: a blob must not share its inode with a writable name.
        renamed = rename and info.st_nlink == 1
        digest, size = self._rename_file(path) if renamed else self._copy_file(path)
        if move and not renamed:
            path.unlink()
        return TreeEntry("file", digest, size, mode)

    def _copy_file(self, path: Path) -> tuple[str, int]:
        fd, temp = tempfile.mkstemp(dir=self._tmp)
        try:
            with open(path, "rb", buffering=0, opener=_open_nofollow) as source, open(fd, "wb") as target:
                digest, size = _copy_hashing(source, target)
        except BaseException:
            os.unlink(temp)
            raise
        self._publish(temp, digest)
        return digest, size

    def _rename_file(self, path: Path) -> tuple[str, int]:
        with open(path, "rb", buffering=0, opener=_open_nofollow) as source:
            digest = hashlib.file_digest(source, "sha256").hexdigest()
            size = os.fstat(source.fileno()).st_size
        try:
            self._publish(str(path), digest)
        except OSError as exc:
            if exc.errno != errno.EXDEV:  # EXDEV: two mounts of one filesystem
                raise
            self._copy_file(path)
            path.unlink()
        return digest, size

    def _put_bytes(self, content: bytes) -> str:
        digest = hashlib.sha256(content).hexdigest()
        fd, temp = tempfile.mkstemp(dir=self._tmp)
        with open(fd, "wb") as target:
            target.write(content)
        self._publish(temp, digest)
        return digest

    def _publish(self, complete: str, digest: str) -> None:
        """Give a complete file its blob name (dropping it if the blob exists) and touch the blob."""
        blob = self._blob(digest)
        if blob.exists():
            os.unlink(complete)
        else:
            blob.parent.mkdir(exist_ok=True)
            os.chmod(complete, BLOB_MODE)
            os.rename(complete, blob)  # atomic: a blob's name only ever holds its whole content
        os.utime(blob)

    def _store_manifest(self, entries: Mapping[str, TreeEntry]) -> StoredTree:
        manifest = encode_manifest(entries)
        return stored_tree(PREFIX + self._put_bytes(manifest), manifest, dict(entries))

    # ---- read --------------------------------------------------------------------------

    def tree(self, checksum: str) -> StoredTree:
        """The tree with this checksum, its manifest verified.

        Raises:
            SnapshotCorrupted: the manifest is missing, fails its checksum, or is not a manifest.
        """
        manifest = self._read_blob(digest_of(checksum), f"tree {checksum}")
        try:
            entries = decode_manifest(manifest)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise SnapshotCorrupted(f"tree {checksum} is not a valid tree manifest: {exc}") from exc
        return stored_tree(checksum, manifest, entries)

    def stored_size(self, checksum: str) -> int:
        """Bytes stored for a tree: its manifest and each distinct blob once."""
        return self.tree(checksum).size_bytes

    def verify(self, checksum: str) -> StoredTree:
        """The tree, after checking every blob of it against its digest.

        Raises:
            SnapshotCorrupted: a blob is missing or its content does not match.
        """
        stored = self.tree(checksum)
        for path, entry in stored.entries.items():
            if entry.digest is not None:
                with self._open_blob(entry.digest, path) as blob:
                    actual = hashlib.file_digest(blob, "sha256").hexdigest()
                _check(path, entry.digest, actual)
        return stored

    def read_files(self, checksum: str, *, max_bytes: int) -> dict[str, bytes]:
        """The contents of a tree's regular files, each verified.

        Raises:
            TreeTooLarge: they add up to more than ``max_bytes``.
            SnapshotCorrupted: a blob is missing or its content does not match.
        """
        return self._contents(self.tree(checksum), "file", max_bytes=max_bytes)

    def load_workspace(self, checksum: str, *, max_bytes: int) -> WorkspaceTree:
        """A stored tree back in memory, every content verified (the inverse of :meth:`ingest_workspace`).

        Raises:
            TreeTooLarge: its files add up to more than ``max_bytes``.
            SnapshotCorrupted: a blob is missing or its content does not match.
        """
        stored = self.tree(checksum)
        links = self._contents(stored, "symlink", max_bytes=None)
        return WorkspaceTree(
            files=self._contents(stored, "file", max_bytes=max_bytes),
            symlinks={path: os.fsdecode(target) for path, target in links.items()},
            dirs={path for path, entry in stored.entries.items() if entry.kind == "dir"},
            modes={path: entry.mode for path, entry in stored.entries.items() if entry.kind != "symlink"},
        )

    def _contents(self, stored: StoredTree, kind: Kind, *, max_bytes: int | None) -> dict[str, bytes]:
        chosen = [
            (path, entry.digest, entry.size)
            for path, entry in stored.entries.items()
            if entry.kind == kind and entry.digest is not None
        ]
        total = sum(size for _, _, size in chosen)
        if max_bytes is not None and total > max_bytes:
            raise TreeTooLarge(
                f"tree {stored.checksum} holds {total} bytes of files, more than {max_bytes}", limit=max_bytes
            )
        return {path: self._read_blob(digest, path) for path, digest, _ in chosen}

    def materialize(self, checksum: str, target: Path) -> None:
        """Recreate a tree at ``target`` (created, with missing parents), verifying every byte as it is copied.

        Raises:
            SnapshotCorrupted: a blob is missing or does not match (``target`` is then removed).
            FileExistsError: ``target`` exists.
            OSError: writing failed (``target`` is then removed).
        """
        stored = self.tree(checksum)
        target.mkdir(parents=True)
        try:
            for path, entry in sorted(stored.entries.items()):  # a parent sorts before its children
                self._materialize_entry(target / path, path, entry)
            for path, entry in sorted(stored.entries.items(), reverse=True):
                if entry.kind == "dir":  # last: a read-only directory must still receive its entries
                    os.chmod(target / path, entry.mode)
        except BaseException:
            shutil.rmtree(target, ignore_errors=True)
            raise

    def _materialize_entry(self, destination: Path, path: str, entry: TreeEntry) -> None:
        if entry.digest is None:
            destination.mkdir(mode=0o700)
        elif entry.kind == "symlink":
            destination.symlink_to(os.fsdecode(self._read_blob(entry.digest, path)))
        else:
            with self._open_blob(entry.digest, path) as blob, open(destination, "xb") as copy:
                actual, _ = _copy_hashing(blob, copy)
            _check(path, entry.digest, actual)
            os.chmod(destination, entry.mode)

    def _blob(self, digest: str) -> Path:
        return self._blobs / digest[:2] / digest

    @contextmanager
    def _open_blob(self, digest: str, path: str) -> Iterator[io.FileIO]:
        try:
            blob = open(self._blob(digest), "rb", buffering=0)  # noqa: SIM115 -- closed below
        except FileNotFoundError:
            raise SnapshotCorrupted(f"{path}: blob {PREFIX}{digest} is missing from the store") from None
        with blob:
            yield blob

    def _read_blob(self, digest: str, path: str) -> bytes:
        with self._open_blob(digest, path) as blob:
            content = blob.read()
        _check(path, digest, hashlib.sha256(content).hexdigest())
        return content

    # ---- garbage collection ----------------------------------------------------------------

    def collect_garbage(self, live: Iterable[str]) -> int:
        """Delete every blob no ``live`` tree reaches (sparing recent ones); the bytes freed.

        Raises:
            SnapshotCorrupted: a live tree's manifest is unreadable; then nothing is deleted,
                since that tree's blobs cannot be told apart.
        """
        with self._locked(fcntl.LOCK_EX):
            keep: set[str] = set()
            for checksum in live:
                stored = self.tree(checksum)
                keep.add(digest_of(checksum))
                keep.update(entry.digest for entry in stored.entries.values() if entry.digest is not None)
            cutoff = time.time() - self.gc_grace_s
            freed = 0
            for blob in self._blobs.glob("*/*"):
                info = blob.lstat()
                if blob.name not in keep and info.st_mtime <= cutoff:
                    blob.unlink()
                    freed += info.st_size
            for leftover in self._tmp.iterdir():  # no ingest runs now: these are from crashed ones
                freed += leftover.lstat().st_size
                leftover.unlink()
            return freed

    @contextmanager
    def _locked(self, operation: int) -> Iterator[None]:
        fd = os.open(self.root / "lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, operation)
            yield
        finally:
            os.close(fd)  # releases the lock


def _check(path: str, expected: str, actual: str) -> None:
    if actual != expected:
        raise SnapshotCorrupted(f"{path}: content does not match: expected {PREFIX}{expected}, found {PREFIX}{actual}")


def _scan(source: Path) -> list[tuple[str, os.stat_result]]:
    """Every entry under ``source`` (relative path, lstat), parents before children.

    Raises:
        SnapshotError: ``source`` is not a directory or holds a socket, FIFO or device.
    """
    if not source.is_dir() or source.is_symlink():
        raise SnapshotError(f"cannot store {source}: not a directory")
    listing: list[tuple[str, os.stat_result]] = []
    pending = [""]
    while pending:
        prefix = pending.pop()
        with os.scandir(source / prefix) as scan:
            children = [(prefix + entry.name, entry.stat(follow_symlinks=False)) for entry in scan]
        for path, info in children:
            if not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode) or stat.S_ISLNK(info.st_mode)):
                raise SnapshotError(f"cannot store {source / path}: not a regular file, directory or symlink")
            listing.append((path, info))
            if stat.S_ISDIR(info.st_mode):
                pending.append(path + "/")
    return listing
