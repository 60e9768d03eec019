"""Checkpoints of running sandboxes (CRIU dumps) and forks restored from them.

A checkpoint is the memory and process state of a container, dumped by CRIU into
``<DockerRootDir>/containers/<id>/checkpoints/<name>``, the folder Docker restores from.
Checkpointable sandboxes (:func:`engine.container_config.checkpointable_config`) have a
read-only root and keep everything they write on tmpfs (``/workspace``, ``/tmp``), whose
contents CRIU saves in the checkpoint too; their container layer never changes, so a
checkpoint alone is a full snapshot and a fork needs no ``docker commit``. A sandbox with
a writable root would also need its layer committed (:meth:`DockerClient.commit_container`)
and the fork created from that image.

A dump runs the daemon's own runc directly, with the command containerd's runc shim runs
for ``docker checkpoint create`` (:class:`engine.docker.Runc`), and lands straight in that
folder; Docker 20.10's API passes every dump as a tar through containerd's content store,
which takes several times as long. For a sandbox without a network CRIU also skips its
network lock (iptables rules in the sandbox's empty network namespace). Where the daemon's
runc cannot be driven (another OCI runtime such as runsc, a non-default exec root) the
dump goes through Docker's API; ``Checkpoint.dumped_by`` says which wrote it.

A fork is a new container created from the same config whose start, through Docker's API,
restores the checkpoint: Docker only restores from the container's own folder (it refuses
a custom checkpoint dir), so the checkpoint is copied there first. Each fork gets its own
copy, so forks of one checkpoint are independent of each other and of the original.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from engine.docker import DockerClient, Runc, daemon_runc
from engine.errors import CheckpointFailed, DockerAPIError, DockerNotFound, EngineError
from engine.sandbox import remove_quietly

log = logging.getLogger(__name__)
CONTENT_CONFLICT_RETRIES_S = (0.05, 0.2, 0.5)
"""Pauses before each retry of a restore that hit Docker's content upload conflict."""

NAME_PREFIX = "ckpt_"
_CRIU_LOG = re.compile(r"(?:path=|log file:)\s*(\S+\.log)")
_CRIU_ERROR = re.compile(r"Error \([^)]*\):\s*(.*)")
MAX_CRIU_ERRORS = 3
NSENTER_TIMEOUT_S = 10.0
NO_NETWORK_CRIU_OPTIONS = ("network-lock skip",)
"""CRIU options for dumping a sandbox whose network namespace holds only loopback: nothing to lock."""

DumpedBy = Literal["runc", "docker"]


@dataclass(frozen=True)
class Checkpoint:
    """A CRIU dump of one container's processes, stored in that container's folder."""

    name: str
    container_id: str
    path: Path
    size_bytes: int
    created_at: datetime
    dumped_by: DumpedBy
    """runc driven directly, or Docker's checkpoint API."""


def new_checkpoint_name() -> str:
    return NAME_PREFIX + uuid.uuid4().hex[:16]


def checkpoint_path(docker_root: str, container_id: str, name: str) -> Path:
    """Where the daemon keeps checkpoint ``name`` of a container (and where it restores from)."""
    return Path(docker_root) / "containers" / container_id / "checkpoints" / name


def criu_errors(log_text: str) -> list[str]:
    """The first distinct ``Error (...)`` lines of a CRIU log, without their prefixes."""
    found: list[str] = []
    for match in _CRIU_ERROR.finditer(log_text):
        message = match.group(1).strip()
        if message and message not in found:
            found.append(message)
    return found[:MAX_CRIU_ERRORS]


def failure_reason(message: str) -> str:
    """The useful part of a daemon's or runc's checkpoint/restore error: CRIU's own errors when its log is readable."""
    text = " ".join(message.split()).removesuffix(": unknown")
    match = _CRIU_LOG.search(text)
    if match is None:
        return text
    try:
        errors = criu_errors(Path(match.group(1)).read_text(errors="replace"))
    except OSError:
        return text
    if not errors:
        return text
    return f"CRIU: {'; '.join(errors)} (log: {match.group(1)})"


async def checkpoint(
    docker: DockerClient, container_id: str, *, leave_running: bool = True, direct: bool = True
) -> Checkpoint:
    """Dump a running container's processes and tmpfs contents.

    Args:
        leave_running: keep the container running afterwards (else CRIU stops it).
        direct: dump with the daemon's runc when it can be driven directly; False always uses Docker's API.

    Raises:
        CheckpointFailed: the container does not exist, is not running, or CRIU failed.
    """
    name = new_checkpoint_name()
    path = checkpoint_path(await docker.docker_root_dir(), container_id, name)
    target = await _direct_target(docker, container_id) if direct else None
    if target is None:
        await _dump_with_docker(docker, container_id, name, leave_running=leave_running)
    else:
        runc, criu_options = target
        await _dump_with_runc(docker, runc, container_id, path, leave_running=leave_running, criu_options=criu_options)
    return Checkpoint(
        name=name,
        container_id=container_id,
        path=path,
        size_bytes=await asyncio.to_thread(_tree_size, path),
        created_at=datetime.now(UTC),
        dumped_by="docker" if target is None else "runc",
    )


async def _direct_target(docker: DockerClient, container_id: str) -> tuple[Runc, tuple[str, ...]] | None:
    """The daemon's runc for a running container and the CRIU options for it; None to use Docker's API."""
    try:
        container = await docker.inspect_container(container_id)
    except DockerNotFound:
        return None  # Docker's API reports it in its own words, as it does for the two below
    if not container["State"]["Running"] or container["Config"].get("Tty"):
        return None
    host = container["HostConfig"]
    runc = daemon_runc(await docker.daemon_settings(), host.get("Runtime") or "")
    if isinstance(runc, Runc) and not await asyncio.to_thread(runc.runs, container_id, container["State"]["Pid"]):
        runc = f"runc keeps no state of the daemon's containers under {runc.root}"
    if isinstance(runc, str):
        _log_fallback(runc)
        return None
    return runc, NO_NETWORK_CRIU_OPTIONS if host.get("NetworkMode") == "none" else ()


@functools.cache
def _log_fallback(reason: str) -> None:
    """Say once per reason why dumps take the slower way."""
    log.info("checkpoints go through Docker's API: %s", reason)


async def _dump_with_docker(docker: DockerClient, container_id: str, name: str, *, leave_running: bool) -> None:
    try:
        await docker.create_checkpoint(container_id, name, leave_running=leave_running)
    except DockerAPIError as exc:
        await _delete_quietly(docker, container_id, name)
        raise CheckpointFailed(
            f"cannot checkpoint container {container_id[:12]}: {failure_reason(exc.message)}"
        ) from exc


async def _dump_with_runc(
    docker: DockerClient,
    runc: Runc,
    container_id: str,
    path: Path,
    *,
    leave_running: bool,
    criu_options: tuple[str, ...],
) -> None:
    """Dump into ``path`` with runc; on any failure the partial folder is deleted (through Docker, which knows it).

    CRIU works in a folder beside the container's checkpoints, removed after a dump and kept
    after a failed one for the log the error cites; it goes with the container.
    """
    work = path.parent.parent / f"criu-work-{path.name}"
    try:
        await asyncio.to_thread(_make_dump_dirs, path, work)
        await runc.checkpoint(
            container_id, image_path=path, work_path=work, leave_running=leave_running, criu_options=criu_options
        )
    except CheckpointFailed as exc:
        await _delete_quietly(docker, container_id, path.name)
        raise CheckpointFailed(f"cannot checkpoint container {container_id[:12]}: {failure_reason(str(exc))}") from exc
    except BaseException as exc:  # also on cancellation: never leave a partial checkpoint
        await _delete_quietly(docker, container_id, path.name)
        await asyncio.to_thread(shutil.rmtree, work, ignore_errors=True)
        if isinstance(exc, OSError):
            raise CheckpointFailed(f"cannot checkpoint container {container_id[:12]}: {exc}") from exc
        raise
    await asyncio.to_thread(shutil.rmtree, work, ignore_errors=True)


def _make_dump_dirs(path: Path, work: Path) -> None:
    """The checkpoint folder and CRIU's, private to root as Docker makes them (runc would make the first 0600)."""
    path.parent.mkdir(mode=0o700, exist_ok=True)
    path.mkdir(mode=0o700)
    work.mkdir(mode=0o700)


async def stage_fork(
    docker: DockerClient, checkpoint: Checkpoint, *, config: dict[str, Any], name: str | None = None
) -> str:
    """Create a container from ``config`` with a copy of the checkpoint in its folder, not started.

    Lets a caller attach to the fork before :func:`start_fork` restores it.
    """

    def copy(target: Path) -> None:
        shutil.copytree(checkpoint.path, target, symlinks=True)

    return await stage_restore(docker, checkpoint.name, copy, config=config, name=name)


async def stage_restore(
    docker: DockerClient,
    checkpoint_name: str,
    fill: Callable[[Path], None],
    *,
    config: dict[str, Any],
    name: str | None = None,
) -> str:
    """Create a container from ``config`` whose checkpoint folder ``checkpoint_name`` is written by ``fill``.

    ``fill`` runs in a worker thread and gets the folder, which does not exist yet. On any
    failure the new container is removed; an ``OSError`` of ``fill`` becomes :class:`CheckpointFailed`.
    """
    container_id = await docker.create_container(config, name=name)
    try:
        target = checkpoint_path(await docker.docker_root_dir(), container_id, checkpoint_name)
        await asyncio.to_thread(fill, target)
    except BaseException as exc:  # also on cancellation: never leak the new container
        await remove_quietly(docker, container_id)
        if isinstance(exc, OSError):
            raise CheckpointFailed(f"cannot copy checkpoint {checkpoint_name} into a new container: {exc}") from exc
        raise
    return container_id


async def start_fork(docker: DockerClient, container_id: str, checkpoint_name: str) -> None:
    """Restore a staged fork from its checkpoint folder ``checkpoint_name``; on failure the fork is removed."""
    try:
        await _start_from_checkpoint(docker, container_id, checkpoint_name)
    except BaseException as exc:
        # Read CRIU's log before removing the fork: it lives in the fork's runtime folder.
        reason = failure_reason(exc.message) if isinstance(exc, DockerAPIError) else ""
        await remove_quietly(docker, container_id)
        if isinstance(exc, DockerAPIError):
            raise CheckpointFailed(
                f"cannot restore checkpoint {checkpoint_name} into container {container_id[:12]}: {reason}"
            ) from exc
        raise
    try:
        await _redo_skipped_start_steps(docker, container_id)
    except BaseException:
        await remove_quietly(docker, container_id)
        raise
    # The restored processes no longer need the copy; the original checkpoint stays.
    await _delete_quietly(docker, container_id, checkpoint_name)


async def _start_from_checkpoint(docker: DockerClient, container_id: str, checkpoint_name: str) -> None:
    """Start from a checkpoint, again after Docker 20.10's spurious upload conflict.

    That daemon uploads the checkpoint into containerd's content store before restoring and
    sometimes fails with "commit failed: content sha256:…: already exists" (moby/moby#42900)
    when identical content was uploaded before or is being uploaded by another restore at the
    same moment; nothing has started then, so retrying is safe. Seen twice in a row under load.
    """
    for pause in CONTENT_CONFLICT_RETRIES_S:
        try:
            await docker.start_from_checkpoint(container_id, checkpoint_name)
            return
        except DockerAPIError as exc:
            if "already exists" not in exc.message:
                raise
        log.info("restore of %s hit Docker's content upload conflict; retrying", container_id[:12])
        await asyncio.sleep(pause)
    await docker.start_from_checkpoint(container_id, checkpoint_name)


async def _redo_skipped_start_steps(docker: DockerClient, container_id: str) -> None:
    """Redo what a normal start does and a CRIU restore skips (measured with runc 1.1 and CRIU 4.1.1).

    * Loopback: runc brings ``lo`` up in a container's new network namespace; a restored
      container gets its namespace with ``lo`` down, so a restored server on 127.0.0.1
      would be unreachable (ENETUNREACH) even to its own processes.
    * Read-only root: runc makes the root read-only at the end of a normal start; restored
      containers come back writable. Remounting from the host closes that within
      milliseconds; the kernel refuses (EBUSY) while a file on it is open for writing,
      and then the fork is removed rather than left writable.
    """
    state = await docker.inspect_container(container_id)
    pid = str(state["State"]["Pid"])
    network = str(state["HostConfig"].get("NetworkMode") or "")
    if network != "host" and not network.startswith("container:"):  # its own network namespace
        await _nsenter(container_id, ["--target", pid, "--net", "ip", "link", "set", "lo", "up"], "bring loopback up")
    if state["HostConfig"].get("ReadonlyRootfs"):
        await _nsenter(
            container_id, ["--target", pid, "--mount", "mount", "-o", "remount,bind,ro", "/"], "make its root read-only"
        )


async def _nsenter(container_id: str, arguments: list[str], what: str) -> None:
    process = await asyncio.create_subprocess_exec(
        "nsenter", *arguments, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    try:
        async with asyncio.timeout(NSENTER_TIMEOUT_S):
            _, stderr = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.wait()
        raise CheckpointFailed(f"fork {container_id[:12]}: could not {what} in time") from None
    if process.returncode != 0:
        raise CheckpointFailed(f"fork {container_id[:12]}: cannot {what}: {stderr.decode(errors='replace').strip()}")


async def fork(docker: DockerClient, checkpoint: Checkpoint, *, config: dict[str, Any], name: str | None = None) -> str:
    """A new running container continuing from ``checkpoint``; returns its id.

    ``config`` must describe the same sandbox as the checkpointed one (image, command,
    mounts, tmpfs): CRIU restores processes into it, not a different machine.

    Raises:
        CheckpointFailed: the checkpoint could not be copied or restored (the new container is removed).
    """
    container_id = await stage_fork(docker, checkpoint, config=config, name=name)
    await start_fork(docker, container_id, checkpoint.name)
    return container_id


async def discard(docker: DockerClient, checkpoint: Checkpoint) -> None:
    """Delete a checkpoint; a no-op when it, or its container, is already gone."""
    try:
        await docker.delete_checkpoint(checkpoint.container_id, checkpoint.name)
    except DockerNotFound:
        return
    except DockerAPIError as exc:
        if "does not exist" in exc.message:  # the daemon answers 500, not 404, for a missing checkpoint
            return
        raise CheckpointFailed(f"cannot delete checkpoint {checkpoint.name}: {exc.message}") from exc


def _tree_size(path: Path) -> int:
    return sum(entry.stat().st_size for entry in path.rglob("*") if entry.is_file() and not entry.is_symlink())


async def _delete_quietly(docker: DockerClient, container_id: str, name: str) -> None:
    try:
        await docker.delete_checkpoint(container_id, name)
    except EngineError as exc:
        log.debug("delete checkpoint %s of %s: %s", name, container_id[:12], exc)
