"""A running sandbox's workspace files, read and written from the host.

Goes through ``/proc/<pid>/root``: the container's root as its first process sees it,
with the container's own mounts (the ``/workspace`` tmpfs). Nothing runs inside the
container. Its processes control that tree, so each step opens a single name relative
to an open directory with ``O_NOFOLLOW``. A symlink in the workspace is recorded or
refused, never followed: through ``/proc/<pid>/root`` an absolute symlink would resolve
against the *host's* root.
"""

from __future__ import annotations

import asyncio
import errno
import os
import stat
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Literal

from engine.container_config import WORKSPACE
from engine.docker import DockerClient
from engine.errors import TreeTooLarge, WorkspaceError

Kind = Literal["file", "symlink", "dir"]
DEFAULT_MODES: dict[Kind, int] = {"file": 0o644, "symlink": 0o777, "dir": 0o755}
PERMISSION_BITS = 0o777
"""Set-id and sticky bits are never kept: a tree must not create set-id files wherever it is written."""
MAX_DEPTH = 64
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass
class WorkspaceTree:
    """Workspace contents in memory, by relative POSIX path (``engine.merge`` merges ``files``)."""

    files: dict[str, bytes] = field(default_factory=dict)
    symlinks: dict[str, str] = field(default_factory=dict)
    """Path to target, as the link holds it; never resolved."""
    dirs: set[str] = field(default_factory=set)
    modes: dict[str, int] = field(default_factory=dict)
    """Permission bits of files and directories; an absent path has :data:`DEFAULT_MODES`."""

    def kinds(self) -> dict[str, Kind]:
        """Every path's kind, including the directories implied by deeper paths.

        Raises:
            WorkspaceError: a path is not relative and normalised, or has two kinds.
        """
        kinds: dict[str, Kind] = {}
        sources: tuple[tuple[Kind, Iterable[str]], ...] = (
            ("file", self.files),
            ("symlink", self.symlinks),
            ("dir", self.dirs),
        )
        for kind, paths in sources:
            for path in paths:
                _add_kind(kinds, check_path(path), kind)
        for path in list(kinds):
            parts = path.split("/")
            for end in range(1, len(parts)):
                _add_kind(kinds, "/".join(parts[:end]), "dir")
        return kinds

    def mode(self, path: str, kind: Kind) -> int:
        """Permission bits of ``path`` (always 0o777 for a symlink)."""
        if kind == "symlink":
            return DEFAULT_MODES["symlink"]
        return self.modes.get(path, DEFAULT_MODES[kind]) & PERMISSION_BITS


def is_normal_path(path: str) -> bool:
    """Whether ``path`` is relative, without NUL, and has no empty, ``.`` or ``..`` part."""
    parts = path.split("/")
    return not path.startswith("/") and "\0" not in path and all(part not in ("", ".", "..") for part in parts)


def check_path(path: str) -> str:
    """``path`` itself, if :func:`is_normal_path`; else :class:`WorkspaceError`."""
    if not is_normal_path(path):
        raise WorkspaceError(f"not a relative, normalised path: {path!r}")
    return path


def _add_kind(kinds: dict[str, Kind], path: str, kind: Kind) -> None:
    if kinds.setdefault(path, kind) != kind:
        raise WorkspaceError(f"{path!r} is both a {kinds[path]} and a {kind} (or a parent of one)")


async def read_workspace(
    docker: DockerClient, container_id: str, *, path: str = WORKSPACE, max_bytes: int
) -> WorkspaceTree:
    """Every directory, regular file and symlink under ``path`` in a running container.

    Sockets, FIFOs and devices are skipped; entries deleted while being read are left out.

    Args:
        max_bytes: bound on file contents, symlink targets and path names together.

    Raises:
        TreeTooLarge: the workspace holds more than ``max_bytes``.
        WorkspaceError: the container is not running, or ``path`` is not a directory.
    """
    async with _opened(docker, container_id, path) as (_, fd):
        return await asyncio.to_thread(_TreeReader(max_bytes).read, fd)


async def write_workspace(
    docker: DockerClient, container_id: str, tree: WorkspaceTree, *, path: str = WORKSPACE
) -> None:
    """Write ``tree`` into ``path`` of a running container, owned by the container's root.

    Existing directories are reused and existing files or symlinks at the tree's paths
    replaced; other entries stay.

    Raises:
        WorkspaceError: the container is not running, the tree is malformed, a directory
            of the tree is a symlink (or a file) in the container, or writing failed.
    """
    kinds = tree.kinds()
    async with _opened(docker, container_id, path) as (pid, fd):
        await asyncio.to_thread(_write_tree, fd, tree, kinds, pid)


async def _running_pid(docker: DockerClient, container_id: str) -> int:
    state = (await docker.inspect_container(container_id))["State"]
    pid = int(state.get("Pid") or 0)
    if not state.get("Running") or pid <= 0:
        raise WorkspaceError(f"container {container_id[:12]} is not running")
    return pid


@asynccontextmanager
async def _opened(docker: DockerClient, container_id: str, path: str) -> AsyncIterator[tuple[int, int]]:
    """The container's pid and an open directory fd of ``path`` inside it."""
    pid = await _running_pid(docker, container_id)
    fd = _open_in_root(pid, path)  # a few openat calls on procfs and tmpfs; inline, so a cancellation cannot leak it
    try:
        # The pid was read before the open: make sure it was still this container's then.
        if await _running_pid(docker, container_id) != pid:
            raise WorkspaceError(f"container {container_id[:12]} restarted while its workspace was opened")
        yield pid, fd
    finally:
        os.close(fd)


def _open_in_root(pid: int, path: str) -> int:
    parts = check_path(path.strip("/")).split("/")
    try:
        # The one link followed on purpose: /proc/<pid>/root is the container's root directory.
        fd = os.open(f"/proc/{pid}/root", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise WorkspaceError(f"cannot open the root of process {pid}: {exc}") from exc
    try:
        return _open_dirs(fd, parts, shown=path)
    finally:
        os.close(fd)


def _open_dirs(fd: int, parts: list[str], *, shown: str) -> int:
    """A new fd of directory ``parts`` under ``fd``, refusing to traverse any symlink."""
    current = os.dup(fd)
    try:
        for part in parts:
            child = os.open(part, _DIR_FLAGS, dir_fd=current)
            os.close(current)
            current = child
    except OSError as exc:
        os.close(current)
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise WorkspaceError(
                f"{shown} is not a directory (a symlink or a file): refusing to go through it"
            ) from exc
        raise WorkspaceError(f"cannot open {shown}: {exc}") from exc
    return current


def _root_ids(pid: int) -> tuple[int, int]:
    """The host uid and gid of the container's root (they differ under user-namespace remapping)."""
    ids = []
    for name in ("uid_map", "gid_map"):
        try:
            with open(f"/proc/{pid}/{name}") as mapping:
                rows = [line.split() for line in mapping]
        except OSError as exc:
            raise WorkspaceError(f"cannot read the {name} of process {pid}: {exc}") from exc
        ids.append(next((int(outside) for inside, outside, _ in rows if inside == "0"), -1))
    if -1 in ids:
        raise WorkspaceError(f"process {pid} has no root user to own the files")
    return ids[0], ids[1]


class _TreeReader:
    def __init__(self, max_bytes: int) -> None:
        self.tree = WorkspaceTree()
        self.max_bytes = max_bytes
        self.remaining = max_bytes

    def read(self, fd: int) -> WorkspaceTree:
        try:
            self._walk(fd, "", 0)
        except OSError as exc:
            raise WorkspaceError(f"cannot read the workspace: {exc}") from exc
        return self.tree

    def _spend(self, count: int, path: str) -> None:
        self.remaining -= count
        if self.remaining < 0:
            raise TreeTooLarge(
                f"the workspace holds more than {self.max_bytes} bytes (at {path})", limit=self.max_bytes
            )

    def _walk(self, dir_fd: int, prefix: str, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise WorkspaceError(f"the workspace nests directories deeper than {MAX_DEPTH} (at {prefix})")
        for name in sorted(os.listdir(dir_fd)):
            path = prefix + name
            self._spend(len(os.fsencode(path)), path)
            try:
                self._entry(dir_fd, name, path, depth)
            except FileNotFoundError:
                continue  # deleted since it was listed: not part of the tree

    def _entry(self, dir_fd: int, name: str, path: str, depth: int) -> None:
        info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        if stat.S_ISDIR(info.st_mode):
            self.tree.dirs.add(path)
            self.tree.modes[path] = stat.S_IMODE(info.st_mode) & PERMISSION_BITS
            child = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
            try:
                self._walk(child, path + "/", depth + 1)
            finally:
                os.close(child)
        elif stat.S_ISLNK(info.st_mode):
            target = os.readlink(name, dir_fd=dir_fd)
            self._spend(len(os.fsencode(target)), path)
            self.tree.symlinks[path] = target
        elif stat.S_ISREG(info.st_mode):
            self._read_file(dir_fd, name, path)

    def _read_file(self, dir_fd: int, name: str, path: str) -> None:
        # O_NONBLOCK: should the name have become a FIFO since its stat, opening it must not hang.
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
        with open(fd, "rb") as file:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                return
            content = file.read(self.remaining + 1)
        self._spend(len(content), path)
        self.tree.files[path] = content
        self.tree.modes[path] = stat.S_IMODE(info.st_mode) & PERMISSION_BITS


def _write_tree(workspace_fd: int, tree: WorkspaceTree, kinds: dict[str, Kind], pid: int) -> None:
    write_tree_at(workspace_fd, tree, kinds, _root_ids(pid))


def write_tree_at(workspace_fd: int, tree: WorkspaceTree, kinds: dict[str, Kind], owner: tuple[int, int]) -> None:
    """Write ``tree`` (with its :meth:`WorkspaceTree.kinds`) under an open directory, owned by ``owner``.

    Raises:
        WorkspaceError: a directory of the tree is a symlink or a file there, or writing failed.
    """
    # Parents sort before their children when paths are compared part by part.
    for path in sorted(kinds, key=lambda item: item.split("/")):
        parent_path, _, name = path.rpartition("/")
        parent = _open_dirs(workspace_fd, parent_path.split("/") if parent_path else [], shown=parent_path)
        try:
            _write_entry(parent, name, path, kinds[path], tree, owner)
        except OSError as exc:
            raise WorkspaceError(f"cannot write {path} into the workspace: {exc}") from exc
        finally:
            os.close(parent)


def _write_entry(parent: int, name: str, path: str, kind: Kind, tree: WorkspaceTree, owner: tuple[int, int]) -> None:
    uid, gid = owner
    mode = tree.mode(path, kind)
    if kind == "dir":
        with suppress(FileExistsError):  # an existing directory is reused; anything else is refused below
            os.mkdir(name, 0o700, dir_fd=parent)
        fd = _open_dirs(parent, [name], shown=path)
    else:
        _remove_non_directory(parent, name, path)
        if kind == "symlink":
            os.symlink(tree.symlinks[path], name, dir_fd=parent)
            os.chown(name, uid, gid, dir_fd=parent, follow_symlinks=False)
            return
        # O_EXCL: never writes through whatever a container process may have put here since.
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(name, flags, 0o600, dir_fd=parent)
    try:
        os.fchown(fd, uid, gid)
        os.fchmod(fd, mode)
        if kind == "file":
            with open(fd, "wb", closefd=False) as out:
                out.write(tree.files[path])
    finally:
        os.close(fd)


def _remove_non_directory(parent: int, name: str, path: str) -> None:
    try:
        info = os.stat(name, dir_fd=parent, follow_symlinks=False)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(info.st_mode):
        raise WorkspaceError(f"{path} is a directory in the workspace, not a file or symlink")
    os.unlink(name, dir_fd=parent)


# ---- single entries and deletions, for file copies and syncs ----------------------------------


async def read_workspace_entry(
    docker: DockerClient, container_id: str, relative: str, *, max_bytes: int
) -> WorkspaceTree:
    """The file or directory ``relative`` to ``/workspace`` of a running container (see :func:`read_entry_at`).

    Raises:
        TreeTooLarge: it holds more than ``max_bytes``.
        WorkspaceError: the container is not running, or the path is bad, missing, or crosses a symlink.
    """
    async with _opened(docker, container_id, WORKSPACE) as (_, fd):
        return await asyncio.to_thread(read_entry_at, fd, relative, max_bytes)


async def delete_workspace_files(docker: DockerClient, container_id: str, paths: Iterable[str]) -> None:
    """Unlink files and symlinks at ``paths`` in a container's ``/workspace`` (as :func:`delete_files_at`)."""
    wanted = list(paths)
    async with _opened(docker, container_id, WORKSPACE) as (_, fd):
        await asyncio.to_thread(delete_files_at, fd, wanted)


def open_dir_at(dir_fd: int, relative: str) -> int:
    """A new fd of directory ``relative`` (``""``: ``dir_fd`` itself) under ``dir_fd``, crossing no symlink.

    Raises:
        WorkspaceError: the path is not normalised, or a part of it is missing, a file or a symlink.
    """
    return _open_dirs(dir_fd, check_path(relative).split("/") if relative else [], shown=relative or ".")


def read_entry_at(dir_fd: int, relative: str, max_bytes: int) -> WorkspaceTree:
    """The file or directory ``relative`` to ``dir_fd`` (``""``: all of it), keyed by paths relative to ``dir_fd``.

    Symlinks inside a directory are recorded, never followed; ``relative`` itself (or a parent)
    being a symlink is refused.

    Raises:
        TreeTooLarge: it holds more than ``max_bytes``.
        WorkspaceError: the path is bad, missing, a symlink, or neither a file nor a directory.
    """
    reader = _TreeReader(max_bytes)
    if not relative:
        return reader.read(dir_fd)
    parent_path, _, name = check_path(relative).rpartition("/")
    parent = open_dir_at(dir_fd, parent_path)
    try:
        try:
            info = os.stat(name, dir_fd=parent, follow_symlinks=False)
        except FileNotFoundError as exc:
            raise WorkspaceError(f"{relative} does not exist") from exc
        if stat.S_ISLNK(info.st_mode):
            raise WorkspaceError(f"{relative} is a symlink: refusing to follow it")
        if stat.S_ISDIR(info.st_mode):
            reader.tree.dirs.add(relative)
            reader.tree.modes[relative] = stat.S_IMODE(info.st_mode) & PERMISSION_BITS
            child = _open_dirs(parent, [name], shown=relative)
            try:
                reader._walk(child, relative + "/", 1)
            finally:
                os.close(child)
        elif stat.S_ISREG(info.st_mode):
            reader._read_file(parent, name, relative)
        else:
            raise WorkspaceError(f"{relative} is neither a regular file nor a directory")
    except OSError as exc:
        raise WorkspaceError(f"cannot read {relative}: {exc}") from exc
    finally:
        os.close(parent)
    return reader.tree


def delete_files_at(dir_fd: int, paths: Iterable[str]) -> None:
    """Unlink the files and symlinks at ``paths`` under ``dir_fd``; missing ones are skipped, directories refused.

    Raises:
        WorkspaceError: a path is bad, crosses a symlink, or names a directory.
    """
    for path in paths:
        parent_path, _, name = check_path(path).rpartition("/")
        try:
            parent = open_dir_at(dir_fd, parent_path)
        except WorkspaceError:
            if _missing_parent(dir_fd, parent_path):
                continue
            raise
        try:
            _remove_non_directory(parent, name, path)
        except OSError as exc:
            raise WorkspaceError(f"cannot delete {path}: {exc}") from exc
        finally:
            os.close(parent)


def _missing_parent(dir_fd: int, parent_path: str) -> bool:
    current = os.dup(dir_fd)
    try:
        for part in parent_path.split("/"):
            try:
                child = os.open(part, _DIR_FLAGS, dir_fd=current)
            except FileNotFoundError:
                return True
            except OSError:
                return False
            os.close(current)
            current = child
        return False
    finally:
        os.close(current)
