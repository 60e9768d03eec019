"""Files between the node's files root and instances' ``/workspace``: copies, tar transfers and syncs.

The host side is ``FAAS_FILES_ROOT``; the instance side is ``/workspace`` read and written from
the host (:mod:`engine.workspace`). On both sides paths are relative and normalised, and every
directory is opened one name at a time with ``O_NOFOLLOW``: no path leaves its root, even
through a symlink. Symlinks are not copied or synced (an archive ``PUT`` may carry links that
stay inside it). A sync remembers, per (instance, local path, remote path), the content hash of
every file as of its last run, to tell changed, deleted and conflicting files apart; that
memory lives in this process and is dropped when the instance stops.
"""

from __future__ import annotations

import asyncio
import fnmatch
import hashlib
import os
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from engine import EngineError
from engine.docker import DockerClient
from engine.errors import TreeTooLarge, WorkspaceError
from engine.workspace import (
    WorkspaceTree,
    delete_files_at,
    delete_workspace_files,
    is_normal_path,
    read_entry_at,
    read_workspace_entry,
    write_tree_at,
    write_workspace,
)
from engine.workspace_tar import tar_to_tree, tree_to_tar
from service.config import Settings
from service.engine_errors import translate_engine_error
from service.errors import Conflict, InvalidRequest, ServiceError
from service.instances import Instance, InstanceService

Direction = Literal["upload", "download"]
SyncKey = tuple[str, str, str]
T = TypeVar("T")


@dataclass(frozen=True)
class CopyResult:
    files: int
    bytes: int


@dataclass
class SyncPlan:
    """What a sync does, by path relative to the synced directories."""

    upload: list[str] = field(default_factory=list)
    download: list[str] = field(default_factory=list)
    delete_remote: list[str] = field(default_factory=list)
    delete_local: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    state: dict[str, str] = field(default_factory=dict)
    """Hashes of the files both sides hold once the plan is carried out: the next sync's base."""


def plan_sync(local: dict[str, str], remote: dict[str, str], base: dict[str, str], *, bidirectional: bool) -> SyncPlan:
    """Compare content hashes of both sides with those of the last sync (``base``; empty the first time)."""
    plan = SyncPlan()
    for path in sorted(set(local) | set(remote) | set(base)):
        here, there, before = local.get(path), remote.get(path), base.get(path)
        if here == there:
            if here is not None:
                plan.unchanged.append(path)
                plan.state[path] = here
        elif not bidirectional:
            _one_way(plan, path, here, there, before)
        elif there == before:
            _apply(plan, path, here, plan.upload, plan.delete_remote)
        elif here == before:
            _apply(plan, path, there, plan.download, plan.delete_local)
        else:  # changed on both sides since the last sync
            plan.conflicts.append(path)
            if before is not None:
                plan.state[path] = before
    return plan


def _one_way(plan: SyncPlan, path: str, here: str | None, there: str | None, before: str | None) -> None:
    if here is not None:
        plan.upload.append(path)
        plan.state[path] = here
    elif before is not None:  # deleted locally since the last sync
        plan.delete_remote.append(path)


def _apply(plan: SyncPlan, path: str, new: str | None, transfer: list[str], delete: list[str]) -> None:
    if new is None:
        delete.append(path)
    else:
        transfer.append(path)
        plan.state[path] = new


def is_excluded(path: str, patterns: Iterable[str]) -> bool:
    """Whether ``path`` or any of its parent directories (whole or by last name) matches a glob pattern."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: end + 1]) for end in range(len(parts))]
    return any(
        fnmatch.fnmatchcase(p, pattern) or fnmatch.fnmatchcase(p.rpartition("/")[2], pattern)
        for pattern in patterns
        for p in prefixes
    )


def relative_path(path: str, field_name: str) -> str:
    """``path`` normalised (``""`` for the root), or :class:`InvalidRequest` saying what is wrong with it."""
    cleaned = path.strip().rstrip("/")
    if cleaned in ("", "."):
        return ""
    if cleaned.startswith("/"):
        raise InvalidRequest(f"{field_name} must be relative, not absolute: {path!r}", details={"field": field_name})
    if not is_normal_path(cleaned.removeprefix("./")):
        raise InvalidRequest(
            f"{field_name} must not contain '..', empty or '.' parts: {path!r}", details={"field": field_name}
        )
    return cleaned.removeprefix("./")


def rebase(tree: WorkspaceTree, old: str, new: str, *, symlinks: bool = False) -> WorkspaceTree:
    """``tree``'s entries under ``old`` moved under ``new`` (``""``: the root); symlinks dropped unless asked."""

    def moved(path: str) -> str | None:
        if path == old:
            rest = ""
        elif not old or path.startswith(old + "/"):
            rest = path[len(old) + 1 :] if old else path
        else:
            return None
        return "/".join(part for part in (new, rest) if part)

    result = WorkspaceTree()
    for path, content in tree.files.items():
        target = moved(path)
        if not target:
            raise InvalidRequest("a file cannot be copied onto a root directory; name the destination file")
        result.files[target] = content
    for path in tree.dirs:
        target = moved(path)
        if target:
            result.dirs.add(target)
    if symlinks:
        result.symlinks = {t: link for p, link in tree.symlinks.items() if (t := moved(p))}
    result.modes = {t: mode for p, mode in tree.modes.items() if (t := moved(p))}
    return result


def _hashes(tree: WorkspaceTree, root: str, exclude: list[str]) -> dict[str, str]:
    prefix = root + "/" if root else ""
    hashes = {}
    for path, content in tree.files.items():
        relative = path[len(prefix) :]
        if not is_excluded(relative, exclude):
            hashes[relative] = hashlib.sha256(content).hexdigest()
    return hashes


def _subtree(tree: WorkspaceTree, root: str, paths: list[str]) -> WorkspaceTree:
    prefix = root + "/" if root else ""
    return WorkspaceTree(
        files={prefix + p: tree.files[prefix + p] for p in paths},
        modes={prefix + p: tree.modes[prefix + p] for p in paths if prefix + p in tree.modes},
    )


def _size(tree: WorkspaceTree) -> CopyResult:
    return CopyResult(len(tree.files), sum(len(content) for content in tree.files.values()))


@dataclass
class SyncResult:
    plan: SyncPlan
    bytes: int


class FileService:
    """Copies, tar transfers and syncs of the tenants' running instances; forgets syncs of stopped ones."""

    def __init__(self, settings: Settings, instances: InstanceService, docker: DockerClient) -> None:
        self.settings = settings
        self.instances = instances
        self._docker = docker
        self.root = settings.resolved_files_root
        self._synced: dict[SyncKey, dict[str, str]] = {}
        instances.hooks.append(self)

    async def copy(self, tenant_id: str, instance_id: str, direction: Direction, local: str, remote: str) -> CopyResult:
        """Copy a file or directory between the files root and the instance's ``/workspace``.

        Raises:
            InvalidRequest: a bad, missing or symlinked path, or more than the workspace holds.
            NotFound: no such instance; Conflict: it is paused or stopped.
        """
        local, remote = relative_path(local, "local_path"), relative_path(remote, "remote_path")
        async with self._running(tenant_id, instance_id) as (instance, limit):
            docker, container_id = self._docker, instance.context.container_id
            if direction == "upload":
                tree = rebase(await self._read_local(local, limit), local, remote)
                await write_workspace(docker, container_id, tree)
            else:
                tree = rebase(await read_workspace_entry(docker, container_id, remote, max_bytes=limit), remote, local)
                await self._write_local(tree)
        return _size(tree)

    async def download_tar(self, tenant_id: str, instance_id: str, path: str) -> bytes:
        """A tar of the file or directory ``path`` in the instance's ``/workspace`` (a directory: its content)."""
        remote = relative_path(path, "path")
        async with self._running(tenant_id, instance_id) as (instance, limit):
            tree = await read_workspace_entry(self._docker, instance.context.container_id, remote, max_bytes=limit)
        strip = remote if not remote or remote in tree.dirs else remote.rpartition("/")[0]
        return tree_to_tar(tree, strip=strip)

    async def upload_tar(self, tenant_id: str, instance_id: str, path: str, archive: bytes) -> CopyResult:
        """Extract a checked tar archive under ``path`` in the instance's ``/workspace`` (created if missing)."""
        remote = relative_path(path, "path")
        async with self._running(tenant_id, instance_id) as (instance, limit):
            tree = rebase(tar_to_tree(archive, max_bytes=limit), "", remote, symlinks=True)
            if remote:
                tree.dirs.add(remote)
            await write_workspace(self._docker, instance.context.container_id, tree)
        return _size(tree)

    async def sync(
        self, tenant_id: str, instance_id: str, local: str, remote: str, exclude: list[str], *, bidirectional: bool
    ) -> SyncResult:
        """Bring the instance's ``remote`` directory up to date with ``local`` (and back, if ``bidirectional``)."""
        local, remote = relative_path(local, "local_path"), relative_path(remote, "remote_path")
        key = (instance_id, local, remote)
        async with self._running(tenant_id, instance_id) as (instance, limit):
            docker, container_id = self._docker, instance.context.container_id
            await write_workspace(docker, container_id, _directory(remote))
            await self._write_local(_directory(local))
            here = await self._read_local(local, limit)
            there = await read_workspace_entry(docker, container_id, remote, max_bytes=limit)
            plan = plan_sync(
                _hashes(here, local, exclude),
                _hashes(there, remote, exclude),
                self._synced.get(key, {}),
                bidirectional=bidirectional,
            )
            up = rebase(_subtree(here, local, plan.upload), local, remote)
            down = rebase(_subtree(there, remote, plan.download), remote, local)
            await write_workspace(docker, container_id, up)
            await self._write_local(down)
            await delete_workspace_files(docker, container_id, [_join(remote, p) for p in plan.delete_remote])
            await self._at_root(delete_files_at, [_join(local, p) for p in plan.delete_local])
            self._synced[key] = plan.state
        return SyncResult(plan, _size(up).bytes + _size(down).bytes)

    # ---- instance lifecycle hooks -------------------------------------------------------------

    async def pausing(self, instance: Instance) -> None:
        pass

    async def running(self, instance: Instance) -> None:
        pass

    async def stopped(self, instance: Instance) -> None:
        for key in [key for key in self._synced if key[0] == instance.instance_id]:
            del self._synced[key]

    # ---- helpers ------------------------------------------------------------------------------

    @asynccontextmanager
    async def _running(self, tenant_id: str, instance_id: str) -> AsyncIterator[tuple[Instance, int]]:
        """The running instance and its workspace size in bytes, its lifecycle lock held (no pause meanwhile)."""
        instance = await self.instances.get(tenant_id, instance_id)
        async with instance.lifecycle:
            if instance.state != "running":
                raise Conflict(f"instance {instance_id} is {instance.state}", details={"state": instance.state})
            workspace_mb = instance.context.workspace_mb or self.settings.workspace_mb
            try:
                yield instance, workspace_mb * 1024 * 1024
            except TreeTooLarge as exc:
                raise InvalidRequest(str(exc), details={"limit_bytes": exc.limit}) from exc
            except WorkspaceError as exc:
                raise InvalidRequest(str(exc)) from exc
            except ServiceError:
                raise
            except EngineError as exc:
                raise translate_engine_error(exc) from exc
            instance.context.last_used = time.monotonic()  # file transfers keep an auto_stop instance alive

    async def _read_local(self, local: str, limit: int) -> WorkspaceTree:
        return await self._at_root(read_entry_at, local, limit)

    async def _write_local(self, tree: WorkspaceTree) -> None:
        kinds = tree.kinds()
        await self._at_root(write_tree_at, tree, kinds, (os.getuid(), os.getgid()))

    async def _at_root(self, function: Callable[..., T], *args: Any) -> T:
        """``function(root_fd, *args)`` in a thread, with a fresh fd of the files root (created if missing)."""

        def run() -> T:
            self.root.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                return function(fd, *args)
            finally:
                os.close(fd)

        return await asyncio.to_thread(run)


def _directory(path: str) -> WorkspaceTree:
    return WorkspaceTree(dirs={path} if path else set())


def _join(root: str, path: str) -> str:
    return f"{root}/{path}" if root else path
