"""Snapshots of live contexts: capture, list, restore into new instances, delete with their dependants' consent."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from engine import EngineError, Resources
from engine.contexts import CapturedState, ContextEngine, LiveContext
from service.engine_errors import translate_engine_error
from service.errors import Conflict, InvalidRequest, NotFound
from service.instances import Instance, InstanceService
from store import Database, ExecutionRow
from store import executions as stored_executions
from store import snapshots as stored
from store.models import SnapshotRow

log = logging.getLogger(__name__)

MAX_ANCESTRY = 10_000
SNAPSHOT_MODES = ("checkpointed", "branched", "merged")


def new_snapshot_id() -> str:
    return "snap_" + secrets.token_hex(12)


@dataclass(frozen=True)
class SnapshotRecord:
    snapshot_id: str
    mode: str
    language: str
    parent_id: str | None
    execution_id: str | None
    instance_id: str | None
    branch_id: str | None
    checksum: str
    size_bytes: int
    merged_from: list[str] | None
    metadata: dict[str, Any]
    created_at: datetime

    @classmethod
    def from_row(cls, row: SnapshotRow) -> SnapshotRecord:
        return cls(
            snapshot_id=row.id,
            mode=row.mode,
            language=row.language,
            parent_id=row.parent_id,
            execution_id=row.execution_id,
            instance_id=row.instance_id,
            branch_id=row.branch_id,
            checksum=row.checksum,
            size_bytes=row.size_bytes,
            merged_from=row.merged_from,
            metadata=dict(row.meta),
            created_at=row.created_at,
        )


@dataclass(frozen=True)
class SnapshotPage:
    snapshots: list[SnapshotRecord]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True)
class RestoredSnapshot:
    execution_id: str
    snapshot_id: str
    instance_id: str
    duration_ms: int
    status: str = "restored"


@dataclass(frozen=True)
class DeletedSnapshot:
    snapshot_id: str
    deleted_branches: list[str] = field(default_factory=list)
    reparented_children: list[str] = field(default_factory=list)


def captured_state(row: SnapshotRow) -> CapturedState:
    return CapturedState(
        language=row.language,
        image_id=row.image_id,
        resources=Resources(**row.resources),
        checkpoint_tree=row.checkpoint_tree,
        workspace_tree=row.workspace_tree,
        size_bytes=row.size_bytes,
    )


def check_page(limit: int, offset: int, *, max_limit: int = 100) -> None:
    if not 1 <= limit <= max_limit:
        raise InvalidRequest(f"limit must be between 1 and {max_limit}", details={"field": "limit"})
    if offset < 0:
        raise InvalidRequest("offset must not be negative", details={"field": "offset"})


class SnapshotService:
    """A tenant's snapshots; content lives in the context engine's snapshot store."""

    def __init__(self, database: Database, contexts: ContextEngine, instances: InstanceService) -> None:
        self.database = database
        self.contexts = contexts
        self.instances = instances
        self._gc_lock = asyncio.Lock()

    async def capture(
        self,
        tenant_id: str,
        context: LiveContext,
        *,
        mode: str,
        parent_id: str | None,
        execution_id: str | None = None,
        instance_id: str | None = None,
        branch_id: str | None = None,
        merged_from: Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> SnapshotRecord:
        """Snapshot a live context and record it (the context keeps running).

        Raises:
            Conflict: the context has network access: its checkpoint would not restore without that network.
        """
        if context.network is not None:
            # A checkpoint taken on the egress bridge fails to restore into a sandbox without a network
            # (CRIU 4.1.1, runc --empty-ns network), and snapshots do not record a network to restore onto.
            raise Conflict(
                "instances with network access cannot be checkpointed into snapshots on this node; "
                "start the instance with network none to snapshot it (pause and resume do work)",
                details={"reason": "network", "network": "egress"},
            )
        try:
            state = await self.contexts.capture(context)
        except EngineError as exc:
            raise translate_engine_error(exc) from exc
        row = SnapshotRow(
            id=new_snapshot_id(),
            tenant_id=tenant_id,
            mode=mode,
            language=state.language,
            parent_id=parent_id,
            execution_id=execution_id,
            instance_id=instance_id,
            branch_id=branch_id,
            checksum=state.checksum,
            checkpoint_tree=state.checkpoint_tree,
            workspace_tree=state.workspace_tree,
            size_bytes=state.size_bytes,
            image_id=state.image_id,
            resources=dataclasses.asdict(state.resources),
            merged_from=list(merged_from) if merged_from is not None else None,
            meta=dict(metadata or {}),
            created_at=datetime.now(UTC),
            deleted_at=None,
        )
        async with self.database.session() as session, session.begin():
            session.add(row)
        return SnapshotRecord.from_row(row)

    async def create(
        self,
        tenant_id: str,
        *,
        execution_id: str | None,
        instance_id: str | None,
        metadata: Mapping[str, Any] | None = None,
    ) -> SnapshotRecord:
        """Snapshot the live context of an instance, or of the persistent execution that ran in it.

        Raises:
            InvalidRequest: neither given, they disagree, or the execution kept no live context.
            NotFound: no such execution or instance for this tenant.
            Conflict: the instance is stopped.
        """
        instance = await self._instance_to_capture(tenant_id, execution_id, instance_id)
        parent_id = instance.head_snapshot_id
        if parent_id is not None:
            async with self.database.session() as session:
                if await stored.get_snapshot(session, tenant_id, parent_id) is None:
                    parent_id = None  # deleted since: the new snapshot starts a tree of its own
        record = await self.capture(
            tenant_id,
            instance.context,
            mode="checkpointed",
            parent_id=parent_id,
            execution_id=execution_id,
            instance_id=instance.instance_id,
            metadata=metadata,
        )
        instance.head_snapshot_id = record.snapshot_id
        return record

    async def _instance_to_capture(self, tenant_id: str, execution_id: str | None, instance_id: str | None) -> Instance:
        if execution_id is None and instance_id is None:
            raise InvalidRequest(
                "give the execution_id of a persistent execution or an instance_id to snapshot",
                details={"fields": ["execution_id", "instance_id"]},
            )
        if execution_id is not None:
            async with self.database.session() as session:
                execution = await stored_executions.get_execution(session, tenant_id, execution_id)
            if execution is None:
                raise NotFound(f"execution {execution_id!r} not found", details={"execution_id": execution_id})
            if execution.instance_id is None:
                raise InvalidRequest(_stateless_message(execution), details=_stateless_details(execution))
            if instance_id is not None and instance_id != execution.instance_id:
                raise InvalidRequest(
                    f"execution {execution_id} ran in instance {execution.instance_id}, not {instance_id}",
                    details={"execution_id": execution_id, "instance_id": execution.instance_id},
                )
            instance_id = execution.instance_id
        assert instance_id is not None
        return await self.instances.get(tenant_id, instance_id)

    async def get(self, tenant_id: str, snapshot_id: str) -> SnapshotRecord:
        return SnapshotRecord.from_row(await self.row(tenant_id, snapshot_id))

    async def row(self, tenant_id: str, snapshot_id: str) -> SnapshotRow:
        async with self.database.session() as session:
            row = await stored.get_snapshot(session, tenant_id, snapshot_id)
        if row is None:
            raise NotFound(f"snapshot {snapshot_id!r} not found", details={"snapshot_id": snapshot_id})
        return row

    async def page(
        self, tenant_id: str, *, mode: str | None, parent_id: str | None, limit: int, offset: int
    ) -> SnapshotPage:
        check_page(limit, offset)
        if mode is not None and mode not in SNAPSHOT_MODES:
            raise InvalidRequest(
                f"unknown snapshot mode {mode!r}; snapshots are {', '.join(SNAPSHOT_MODES)}",
                details={"field": "mode", "modes": list(SNAPSHOT_MODES)},
            )
        async with self.database.session() as session:
            rows, total = await stored.list_snapshots(
                session, tenant_id, mode=mode, parent_id=parent_id, limit=limit, offset=offset
            )
        return SnapshotPage([SnapshotRecord.from_row(row) for row in rows], total, limit, offset)

    async def open_context(self, row: SnapshotRow) -> LiveContext:
        """A new live context continuing from the snapshot, its content verified first."""
        try:
            return await self.contexts.restore(captured_state(row), expected_checksum=row.checksum)
        except EngineError as exc:
            raise translate_engine_error(exc) from exc

    async def restore(self, tenant_id: str, snapshot_id: str) -> RestoredSnapshot:
        """Restore a snapshot into a new instance, recorded as an execution with status ``restored``.

        Raises:
            NotFound: no such snapshot for this tenant.
            Conflict: its stored content is corrupted.
            InsufficientResources: the node cannot hold another live context now.
        """
        row = await self.row(tenant_id, snapshot_id)
        self.instances.check_quota(tenant_id)
        started = time.monotonic()
        created_at = datetime.now(UTC)
        context = await self.open_context(row)
        instance = await self.instances.register(tenant_id, context, snapshot_id=row.id)
        duration_ms = int((time.monotonic() - started) * 1000)
        execution_id = "exec_" + secrets.token_hex(12)
        async with self.database.session() as session, session.begin():
            session.add(_restore_row(execution_id, tenant_id, row, instance.instance_id, duration_ms, created_at))
        return RestoredSnapshot(execution_id, row.id, instance.instance_id, duration_ms)

    async def delete(self, tenant_id: str, snapshot_id: str, *, force: bool) -> DeletedSnapshot:
        """Delete a snapshot; refused while branches have it as their head or snapshots descend from it.

        With ``force``, those branches are deleted and the children are re-parented to this
        snapshot's parent. The content is freed once no other snapshot shares it.

        Raises:
            NotFound: no such snapshot for this tenant.
            Conflict: it has dependants and ``force`` is not set (they are in ``details``).
        """
        async with self.database.session() as session, session.begin():
            row = await stored.get_snapshot(session, tenant_id, snapshot_id)
            if row is None:
                raise NotFound(f"snapshot {snapshot_id!r} not found", details={"snapshot_id": snapshot_id})
            children = await stored.child_snapshot_ids(session, tenant_id, snapshot_id)
            branches = await stored.branches_needing(session, tenant_id, snapshot_id)
            if (children or branches) and not force:
                raise Conflict(
                    f"snapshot {snapshot_id} is still needed by {len(branches)} branches and "
                    f"{len(children)} child snapshots; delete those first or pass force=true",
                    details={"snapshot_id": snapshot_id, "branches": branches, "children": children},
                )
            await stored.delete_branches(session, branches)
            await stored.reparent_children(session, tenant_id, snapshot_id, row.parent_id)
            row.deleted_at = datetime.now(UTC)
        try:
            await self.collect_garbage()
        except EngineError as exc:  # the deletion stands; content is freed by a later collection
            log.error("snapshot store garbage collection failed: %s", exc)
        return DeletedSnapshot(snapshot_id, deleted_branches=branches, reparented_children=children)

    async def collect_garbage(self) -> int:
        """Free stored content no live snapshot needs any more; bytes freed."""
        async with self._gc_lock:
            async with self.database.session() as session:
                live = await stored.live_trees(session)
            return await asyncio.to_thread(self.contexts.store.collect_garbage, live)

    async def workspace_files(self, row: SnapshotRow) -> dict[str, bytes]:
        """The snapshot's workspace files, verified."""
        try:
            return await asyncio.to_thread(
                self.contexts.store.read_files, row.workspace_tree, max_bytes=self.contexts.max_workspace_bytes
            )
        except EngineError as exc:
            raise translate_engine_error(exc) from exc

    async def ancestry(self, tenant_id: str, snapshot_id: str) -> list[str]:
        async with self.database.session() as session:
            return await stored.ancestry(session, tenant_id, snapshot_id, limit=MAX_ANCESTRY)

    async def storage_used_bytes(self, tenant_id: str) -> int:
        async with self.database.session() as session:
            return await stored.storage_used_bytes(session, tenant_id)


def _stateless_message(execution: ExecutionRow) -> str:
    if execution.snapshot_id is not None:
        return (
            f"execution {execution.id} ran in mode {execution.mode} and already produced snapshot "
            f"{execution.snapshot_id}; restore it to get a live context to snapshot"
        )
    return (
        f"execution {execution.id} ran in mode {execution.mode}, which keeps no state to snapshot; "
        "snapshots can be taken of persistent executions and instances, and modes checkpointed "
        "and branched snapshot by themselves"
    )


def _stateless_details(execution: ExecutionRow) -> dict[str, Any]:
    return {
        "execution_id": execution.id,
        "mode": execution.mode,
        "snapshot_id": execution.snapshot_id,
        "snapshot_capable_modes": ["persistent", "checkpointed", "branched"],
    }


def _restore_row(
    execution_id: str, tenant_id: str, snapshot: SnapshotRow, instance_id: str, duration_ms: int, created_at: datetime
) -> ExecutionRow:
    return ExecutionRow(
        id=execution_id,
        tenant_id=tenant_id,
        language=snapshot.language,
        mode="persistent",
        status="restored",
        exit_code=None,
        stdout="",
        stderr="",
        truncated=False,
        oom_killed=False,
        duration_ms=duration_ms,
        cached=False,
        cache_key=None,
        cached_from=None,
        build_cached=False,
        cpu_seconds=0.0,
        memory_peak_bytes=0,
        memory_gb_seconds=0.0,
        cost_compute=0.0,
        cost_total=0.0,
        error=None,
        image_id=snapshot.image_id,
        code_sha256="",
        resources=dict(snapshot.resources),
        created_at=created_at,
        finished_at=datetime.now(UTC),
        instance_id=instance_id,
        snapshot_id=snapshot.id,
        branch_id=None,
    )
