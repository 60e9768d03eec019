"""Live contexts: sandboxes whose state persists between executions, captured into and restored from snapshots.

A live context is an interpreter session (:mod:`engine.sessions`) in a checkpointable
sandbox: for Python and JavaScript the interpreter's variables, imports and open files
persist between executions; for Go and Rust the files and built artefacts do. A context
holds its memory in the node's budget for as long as it lives.

A snapshot of a context is two trees in the content-addressed :class:`SnapshotStore`: the
CRIU checkpoint (processes, memory, and the tmpfs contents of ``/workspace`` and ``/tmp``)
and a copy of the workspace files, read from the host, that branch merges work on. The
snapshot's checksum covers both trees and what a restore depends on; a restore verifies
every byte it uses before CRIU sees it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from engine import checkpoints
from engine.cgroup import CgroupPaths, cgroup_of, read_usage
from engine.docker import DockerClient
from engine.egress import ensure_egress
from engine.errors import CheckpointFailed, EngineError, SandboxFailure, SnapshotCorrupted
from engine.exec_process import kill_strays
from engine.executor import Executor, Reservation
from engine.models import Outcome, Phase, Program, Resources, SandboxPolicy, Usage
from engine.runner import OutputListener, PhaseListener
from engine.sandbox import remove_quietly
from engine.sessions import InterpreterSession, SessionDead, SessionResult, session_config
from engine.snapshot_store import SnapshotStore
from engine.tree_manifest import StoredTree
from engine.workspace import WorkspaceTree, read_workspace, write_workspace

log = logging.getLogger(__name__)

RESTORE_NAME = "restore"
"""The checkpoint folder name a restored container starts from (one per container)."""


@dataclass(frozen=True)
class CapturedState:
    """What a snapshot of a live context consists of, as the store holds it."""

    language: str
    image_id: str
    resources: Resources
    checkpoint_tree: str
    workspace_tree: str
    size_bytes: int

    @property
    def checksum(self) -> str:
        """``sha256:`` over both trees' checksums and everything a restore depends on."""
        return state_checksum(self.language, self.image_id, self.resources, self.checkpoint_tree, self.workspace_tree)


@dataclass(frozen=True)
class PausedState:
    """A context checkpointed with its sandbox stopped, kept in a snapshot store until it resumes."""

    language: str
    image_id: str
    resources: Resources
    workspace_mb: int | None
    checkpoint_tree: str
    size_bytes: int
    network: str | None = None
    """The Docker network it was on (and resumes on); None: none."""


def state_checksum(
    language: str, image_id: str, resources: Resources, checkpoint_tree: str, workspace_tree: str
) -> str:
    """The checksum of a snapshot; the tree checksums are Merkle roots of their content."""
    document = {
        "language": language,
        "image_id": image_id,
        "resources": asdict(resources),
        "checkpoint_tree": checkpoint_tree,
        "workspace_tree": workspace_tree,
    }
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    return "sha256:" + hashlib.sha256(canonical).hexdigest()


class LiveContext:
    """One running session sandbox; executions and captures are served one at a time."""

    def __init__(
        self,
        session: InterpreterSession,
        *,
        resources: Resources,
        image_id: str,
        cgroup: CgroupPaths,
        reservation: Reservation,
        output_limit: int,
        workspace_mb: int | None = None,
        network: str | None = None,
    ) -> None:
        self.session = session
        self.network = network
        """The Docker network it is on (the firewalled egress bridge); None: no network but loopback."""
        self.workspace_mb = workspace_mb
        """Size of its ``/workspace`` tmpfs; None: the node policy's."""
        self.output_limit = output_limit
        self.language = session.language
        self.resources = resources
        self.image_id = image_id
        self._cgroup = cgroup
        self._reservation = reservation
        self.busy = asyncio.Lock()
        """Held by whatever uses the sandbox (an execution, a capture, a pause): one at a time."""
        self.last_used = time.monotonic()

    @property
    def container_id(self) -> str:
        return self.session.container_id

    @property
    def alive(self) -> bool:
        return self.session.alive

    async def execute(
        self,
        program: Program,
        *,
        build_timeout_ms: int,
        on_output: OutputListener | None = None,
        on_phase: PhaseListener | None = None,
    ) -> Outcome:
        """Run ``program`` in the context's state; a session that dies doing so is reported, not raised.

        Raises:
            SessionDead: the context was already dead.
        """
        async with self.busy:
            self.last_used = time.monotonic()
            if not self.alive:
                raise SessionDead(f"context {self.container_id[:12]} is stopped: its interpreter died earlier")
            before = read_usage(self._cgroup)
            try:
                result = await self.session.execute(
                    program.code,
                    files=program.files,
                    env=program.env,
                    timeout_ms=program.resources.timeout_ms,
                    build_timeout_ms=build_timeout_ms,
                    on_output=on_output,
                    on_phase=on_phase,
                    output_limit=self.output_limit,
                )
            except SessionDead:  # died during this run: reported in the outcome
                result = SessionResult(
                    exit_code=None, stdout=b"", stderr=b"", truncated=False, duration_ms=0, timed_out=False
                )
            usage = _usage_between(before, read_usage(self._cgroup))
            if not self.alive and not usage.oom_kills and await self._was_oom_killed():
                # The kernel killed the interpreter itself; its cgroup (and the count there) went with it.
                usage = replace(usage, oom_kills=1)
            self.last_used = time.monotonic()
            return _outcome(result, usage, program, self.image_id, alive=self.alive)

    async def _was_oom_killed(self) -> bool:
        try:
            state = await self.session.docker.inspect_container(self.container_id)
        except EngineError:
            return False
        return bool(state.get("State", {}).get("OOMKilled"))

    async def close(self) -> None:
        """Remove the sandbox and give its memory back; safe to call twice."""
        await self.session.close()
        self._reservation.release()


class ContextEngine:
    """Starts, captures and restores live contexts on the executor's Docker engine and budget."""

    def __init__(self, executor: Executor, store: SnapshotStore, *, max_workspace_bytes: int) -> None:
        self.executor = executor
        self.docker: DockerClient = executor.docker
        self.store = store
        self.max_workspace_bytes = max_workspace_bytes

    def _policy(self, workspace_mb: int | None) -> SandboxPolicy:
        policy = self.executor.config.policy
        return policy if workspace_mb is None else replace(policy, workspace_mb=workspace_mb)

    def _config(
        self, language: str, image: str, resources: Resources, workspace_mb: int | None, network: str | None
    ) -> dict[str, Any]:
        config = self.executor.config
        return session_config(
            language=language,
            image=image,
            resources=resources,
            policy=self._policy(workspace_mb),
            node_id=config.node_id,
            agent_dir=config.agent_dir,
            network=network,
        )

    async def start(
        self, language: str, resources: Resources, *, workspace_mb: int | None = None, egress: bool = False
    ) -> LiveContext:
        """A fresh context on the language's current runtime image.

        Args:
            workspace_mb: size of its ``/workspace`` tmpfs (memory-backed); None: the node policy's.
            egress: join the firewalled egress bridge (:mod:`engine.egress`), created on demand; False: no network.

        Raises:
            CapacityExceeded: the node's memory budget is used up.
            UnsupportedLanguage, ImageMissing: no runtime for ``language``.
            SandboxFailure: the sandbox did not come up.
        """
        image_id = self.executor.image_id(language)
        network = await ensure_egress(self.docker) if egress else None
        reservation = self.executor.reserve(resources)
        try:
            session = await InterpreterSession.start(
                self.docker,
                language=language,
                image=image_id,
                resources=resources,
                policy=self._policy(workspace_mb),
                node_id=self.executor.config.node_id,
                agent_dir=self.executor.config.agent_dir,
                network=network,
            )
        except BaseException:
            reservation.release()
            raise
        return await self._wrap(session, resources, image_id, reservation, workspace_mb, network)

    async def start_with_workspace(self, language: str, resources: Resources, workspace: WorkspaceTree) -> LiveContext:
        """A fresh context whose workspace holds ``workspace`` (e.g. the result of a merge)."""
        context = await self.start(language, resources)
        try:
            await write_workspace(self.docker, context.container_id, workspace)
        except BaseException:
            await context.close()
            raise
        return context

    async def capture(self, context: LiveContext) -> CapturedState:
        """Snapshot a context between executions; it keeps running.

        Raises:
            CheckpointFailed: CRIU could not dump it (the context is unharmed).
        """
        async with context.busy:
            workspace = await read_workspace(self.docker, context.container_id, max_bytes=self.max_workspace_bytes)
            checkpoint_tree = await self._dump(context, self.store, leave_running=True)
        workspace_tree = await asyncio.to_thread(self.store.ingest_workspace, workspace)
        return CapturedState(
            language=context.language,
            image_id=context.image_id,
            resources=context.resources,
            checkpoint_tree=checkpoint_tree.checksum,
            workspace_tree=workspace_tree.checksum,
            size_bytes=_stored_size(checkpoint_tree, workspace_tree),
        )

    async def pause(self, context: LiveContext, store: SnapshotStore) -> PausedState:
        """Checkpoint a context into ``store`` and remove its sandbox, giving its memory back.

        Raises:
            CheckpointFailed: CRIU could not dump it (the context is unharmed and keeps running).
        """
        async with context.busy:
            tree = await self._dump(context, store, leave_running=False)
            await context.close()
        return PausedState(
            language=context.language,
            image_id=context.image_id,
            resources=context.resources,
            workspace_mb=context.workspace_mb,
            checkpoint_tree=tree.checksum,
            size_bytes=tree.size_bytes,
            network=context.network,
        )

    async def resume(self, state: PausedState, store: SnapshotStore) -> LiveContext:
        """A new context continuing a paused one (verified against ``store`` as it is materialized).

        Raises:
            CapacityExceeded: the node's memory budget is used up.
            CheckpointFailed: CRIU could not restore it.
        """
        return await self._restore(
            state.language,
            state.image_id,
            state.resources,
            state.checkpoint_tree,
            store,
            state.workspace_mb,
            state.network,
        )

    async def _dump(self, context: LiveContext, store: SnapshotStore, *, leave_running: bool) -> StoredTree:
        await self._end_strays(context)
        checkpoint = await checkpoints.checkpoint(self.docker, context.container_id, leave_running=leave_running)
        try:
            return await asyncio.to_thread(store.ingest_directory, checkpoint.path, move=True)
        finally:
            await checkpoints.discard(self.docker, checkpoint)

    async def _end_strays(self, context: LiveContext) -> None:
        """End processes Docker exec left outside a restored sandbox's time namespace (they break the restore)."""
        try:
            state = await self.docker.inspect_container(context.container_id)
        except EngineError:
            return  # the dump reports the container's absence itself
        if state["State"].get("Pid"):
            killed = await asyncio.to_thread(kill_strays, int(state["State"]["Pid"]))
            if killed:
                log.info(
                    "context %s: ended %d exec'd process(es) before its checkpoint", context.container_id[:12], killed
                )

    async def restore(self, state: CapturedState, *, expected_checksum: str) -> LiveContext:
        """A new context continuing from a snapshot; every stored byte is verified first.

        Raises:
            SnapshotCorrupted: the stored content does not match ``expected_checksum``.
            CapacityExceeded: the node's memory budget is used up.
            CheckpointFailed: CRIU could not restore it.
        """
        if state.checksum != expected_checksum:
            raise SnapshotCorrupted(
                f"snapshot checksum mismatch: recorded {expected_checksum}, its parts hash to {state.checksum}"
            )
        await asyncio.to_thread(self.store.verify, state.workspace_tree)
        return await self._restore(state.language, state.image_id, state.resources, state.checkpoint_tree, self.store)

    async def _restore(
        self,
        language: str,
        image_id: str,
        resources: Resources,
        checkpoint_tree: str,
        store: SnapshotStore,
        workspace_mb: int | None = None,
        network: str | None = None,
    ) -> LiveContext:
        if network is not None:
            network = await ensure_egress(self.docker)
        reservation = self.executor.reserve(resources)
        try:
            container_id = await checkpoints.stage_restore(
                self.docker,
                RESTORE_NAME,
                _materializer(store, checkpoint_tree),
                config=self._config(language, image_id, resources, workspace_mb, network),
                name=f"faas-session-{language}-{uuid.uuid4().hex[:12]}",
            )
            await checkpoints.start_fork(self.docker, container_id, RESTORE_NAME)
            try:
                session = await InterpreterSession.adopt(self.docker, container_id, language)
            except BaseException:
                await remove_quietly(self.docker, container_id)
                raise
        except BaseException:
            reservation.release()
            raise
        return await self._wrap(session, resources, image_id, reservation, workspace_mb, network)

    async def _wrap(
        self,
        session: InterpreterSession,
        resources: Resources,
        image_id: str,
        reservation: Reservation,
        workspace_mb: int | None,
        network: str | None = None,
    ) -> LiveContext:
        try:
            state = await self.docker.inspect_container(session.container_id)
            cgroup = cgroup_of(int(state["State"]["Pid"]))
        except (EngineError, OSError) as exc:
            await session.close()
            reservation.release()
            raise SandboxFailure(f"session {session.container_id[:12]} vanished as it started: {exc}") from exc
        return LiveContext(
            session,
            resources=resources,
            image_id=image_id,
            cgroup=cgroup,
            reservation=reservation,
            output_limit=self.executor.config.policy.output_limit_bytes,
            workspace_mb=workspace_mb,
            network=network,
        )


def _materializer(store: SnapshotStore, tree: str) -> Callable[[Path], None]:
    return lambda target: store.materialize(tree, target)


def _stored_size(*trees: StoredTree) -> int:
    return sum(tree.size_bytes for tree in trees)


def _usage_between(before: Usage, after: Usage) -> Usage:
    return Usage(
        cpu_seconds=max(after.cpu_seconds - before.cpu_seconds, 0.0),
        memory_peak_bytes=after.memory_peak_bytes,
        oom_kills=max(after.oom_kills - before.oom_kills, 0),
    )


def _outcome(result: SessionResult, usage: Usage, program: Program, image_id: str, *, alive: bool) -> Outcome:
    phase: Phase = result.phase
    oom = usage.oom_kills > 0
    if result.timed_out:
        status, error = "timeout", f"the execution exceeded its {program.resources.timeout_ms} ms limit"
        if not alive:
            error += "; it ignored the interrupt and the context was stopped"
    elif oom:
        status = "failed"
        error = f"out of memory: the context exceeded its {program.resources.memory_mb} MiB limit and was stopped"
    elif not alive:
        status, error = "failed", "the context's interpreter died during this execution; the context was stopped"
    elif phase == "build" and result.exit_code != 0:
        status, error = "failed", "compilation failed"
    elif result.exit_code != 0:
        status, error = "failed", f"the program exited with code {result.exit_code}"
    else:
        status, error = "completed", None
    return Outcome(
        status=status,  # type: ignore[arg-type]
        exit_code=result.exit_code,
        stdout=result.stdout,
        stderr=result.stderr,
        truncated=result.truncated,
        oom_killed=oom,
        duration_ms=result.duration_ms,
        phase=phase,
        usage=usage,
        image_id=image_id,
        error=error,
    )


__all__ = ["CapturedState", "CheckpointFailed", "ContextEngine", "LiveContext", "PausedState", "state_checksum"]
