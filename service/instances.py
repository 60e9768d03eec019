"""Instances: a tenant's live contexts on this node, their lifecycle (run, pause, resume, stop) and records.

An instance is ``starting`` while its sandbox comes up, ``running`` while executions can use
it, ``paused`` while its CRIU checkpoint waits in the node's pause store (no sandbox, no
memory held) and ``stopped`` for good. Every transition is recorded with its reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from engine import CheckpointFailed, EngineError, Resources
from engine.contexts import ContextEngine, LiveContext, PausedState
from engine.snapshot_store import SnapshotStore
from service.config import Settings
from service.engine_errors import translate_engine_error
from service.errors import Conflict, InvalidRequest, NotFound
from service.instance_records import (
    InstanceOptions,
    InstancePage,
    InstanceRecord,
    RequestedInstance,
    instance_options,
    snapshot_resources,
)
from service.requests import RequestedResources, resolve_resources
from store import Database
from store import instances as stored
from store.models import InstanceRow, SnapshotRow

log = logging.getLogger(__name__)

REAP_INTERVAL_S = 30.0
INSTANCE_STATES = ("starting", "running", "paused", "stopped")
EVENTS_SHOWN = 20
"""How many of its latest state transitions an instance's record carries."""


def new_instance_id() -> str:
    return "inst_" + secrets.token_hex(12)


@dataclass
class Instance:
    """A live context of one tenant, running or paused."""

    instance_id: str
    tenant_id: str
    context: LiveContext
    """Its current context (closed while paused; a new one after each resume)."""
    head_snapshot_id: str | None
    """The newest snapshot of this instance's lineage: the one it was restored from, or its latest capture."""
    auto_stop: bool = True
    expires_at: datetime | None = None
    state: str = "running"
    paused: PausedState | None = None
    lifecycle: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Held while the instance pauses, resumes or stops."""

    @property
    def language(self) -> str:
        return self.context.language


ContextOpener = Callable[[], Awaitable[LiveContext]]


class InstanceHooks(Protocol):
    """Told of lifecycle changes, under the instance's lifecycle lock; must not raise."""

    async def pausing(self, instance: Instance) -> None:
        """Before its checkpoint is taken."""

    async def running(self, instance: Instance) -> None:
        """After a resume, or after a pause that failed (the old sandbox runs on)."""

    async def stopped(self, instance: Instance) -> None:
        """After its sandbox or pause state is gone."""


class InstanceService:
    """Registry of this node's instances; the reaper stops expired and (with ``auto_stop``) idle ones."""

    def __init__(
        self, settings: Settings, database: Database, contexts: ContextEngine, pause_store: SnapshotStore
    ) -> None:
        self.settings = settings
        self.database = database
        self.contexts = contexts
        self.pause_store = pause_store
        """Checkpoints of paused instances; only this service writes it, so it is collected without grace."""
        self._instances: dict[str, Instance] = {}
        self._pause_store_lock = asyncio.Lock()
        self._reaper: asyncio.Task[None] | None = None
        self.hooks: list[InstanceHooks] = []

    async def start(self) -> None:
        """Record that instances of an earlier run of this node are gone, free their pause states, start the reaper."""
        async with self.database.session() as session, session.begin():
            stopped = await stored.stop_instances_of_node(
                session, self.settings.node_id, reason="the node restarted", at=datetime.now(UTC)
            )
        if stopped:
            log.info("marked %d instances of an earlier run stopped", stopped)
        await self._collect_pause_garbage()
        self._reaper = asyncio.create_task(self._reap_forever())

    async def close(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
        for instance in list(self._instances.values()):
            await self.stop(instance, "the node shut down")

    def count(self, tenant_id: str) -> int:
        """The tenant's running and paused instances on this node."""
        return sum(1 for instance in self._instances.values() if instance.tenant_id == tenant_id)

    def check_quota(self, tenant_id: str) -> None:
        """Raise InvalidRequest when the tenant may not start another instance now."""
        limit = self.settings.max_instances_per_tenant
        if self.count(tenant_id) >= limit:
            raise InvalidRequest(
                f"this account already runs {limit} instances, the most allowed; stop one first",
                details={"max_instances": limit},
            )

    # ---- creation ----------------------------------------------------------------------------

    async def create(
        self, tenant_id: str, language: str, resources: Resources, options: InstanceOptions | None = None
    ) -> Instance:
        """A fresh live context for the tenant.

        Raises:
            InvalidRequest: the tenant already runs its maximum of instances.
            EngineError: the engine could not start it (translated by the caller).
        """
        self.check_quota(tenant_id)
        options = options or InstanceOptions()

        def open_context() -> Awaitable[LiveContext]:
            return self.contexts.start(
                language, resources, workspace_mb=options.workspace_mb, egress=options.network == "egress"
            )

        return await self._launch(tenant_id, language, resources, options, open_context, snapshot_id=None)

    async def create_requested(
        self,
        tenant_id: str,
        request: RequestedInstance,
        snapshot: SnapshotRow | None,
        open_snapshot: Callable[[SnapshotRow], Awaitable[LiveContext]],
    ) -> InstanceRecord:
        """Start an instance as ``POST /instances`` asks, fresh or from ``snapshot`` (opened with ``open_snapshot``).

        Raises:
            InvalidRequest: bad fields, or the tenant runs its maximum of instances.
            InsufficientResources: GPUs asked for, or the node's memory is used up.
        """
        options = instance_options(request, snapshot, self.settings)
        self.check_quota(tenant_id)
        if snapshot is None:
            assert request.language is not None
            resources = resolve_resources(RequestedResources(request.cpu_cores, request.memory_mb), self.settings)
            try:
                instance = await self.create(tenant_id, request.language, resources, options)
            except EngineError as exc:
                raise translate_engine_error(exc) from exc
        else:
            resources = snapshot_resources(request, snapshot)
            instance = await self._launch(
                tenant_id,
                snapshot.language,
                resources,
                options,
                lambda: open_snapshot(snapshot),
                snapshot_id=snapshot.id,
            )
        return await self.record(tenant_id, instance.instance_id)

    async def register(self, tenant_id: str, context: LiveContext, *, snapshot_id: str | None) -> Instance:
        """Make a started context (fresh or restored from ``snapshot_id``) one of the tenant's instances."""

        async def started() -> LiveContext:
            return context

        options = InstanceOptions(
            workspace_mb=context.workspace_mb, network="none" if context.network is None else "egress"
        )
        try:
            return await self._launch(
                tenant_id, context.language, context.resources, options, started, snapshot_id=snapshot_id
            )
        except BaseException:
            await context.close()
            raise

    async def _launch(
        self,
        tenant_id: str,
        language: str,
        resources: Resources,
        options: InstanceOptions,
        open_context: ContextOpener,
        *,
        snapshot_id: str | None,
    ) -> Instance:
        now = datetime.now(UTC)
        expires_at = now + timedelta(seconds=options.ttl_s) if options.ttl_s is not None else None
        row = InstanceRow(
            id=new_instance_id(),
            tenant_id=tenant_id,
            node_id=self.settings.node_id,
            language=language,
            state="starting",
            container_id=None,
            snapshot_id=snapshot_id,
            resources=dataclasses.asdict(resources),
            workspace_mb=options.workspace_mb or self.settings.workspace_mb,
            ttl_s=options.ttl_s,
            expires_at=expires_at,
            auto_stop=options.auto_stop,
            meta=dict(options.metadata),
            network=options.network,
            stopped_reason=None,
            created_at=now,
            updated_at=now,
        )
        reason = f"created from snapshot {snapshot_id}" if snapshot_id else "created"
        async with self.database.session() as session, session.begin():
            await stored.add_instance(session, row, reason=reason)
        try:
            context = await open_context()
        except Exception as exc:
            await self._record(row.id, "starting", "stopped", f"it did not start: {exc}", stopped_reason=str(exc))
            raise
        instance = Instance(row.id, tenant_id, context, snapshot_id, options.auto_stop, expires_at)
        try:
            await self._record(row.id, "starting", "running", "its sandbox started", container_id=context.container_id)
        except BaseException:
            await context.close()
            raise
        self._instances[row.id] = instance
        return instance

    # ---- lookup ------------------------------------------------------------------------------

    async def get(self, tenant_id: str, instance_id: str) -> Instance:
        """The tenant's running instance, to execute in or capture.

        Raises:
            NotFound: no such instance for this tenant.
            Conflict: it is paused or stopped (the message says which and why).
        """
        instance = self._instances.get(instance_id)
        if instance is not None and instance.tenant_id == tenant_id:
            if instance.state == "paused":
                raise Conflict(
                    f"instance {instance_id} is paused; resume it with POST /api/v1/instances/{instance_id}/resume",
                    details={"instance_id": instance_id, "state": "paused"},
                )
            if instance.context.alive:
                return instance
            await self.stop(instance, "its interpreter died")
        row = await self._row(tenant_id, instance_id)
        raise Conflict(
            f"instance {instance_id} is {row.state}: {row.stopped_reason or 'not on this node'}; "
            "restore a snapshot of it to continue",
            details={"instance_id": instance_id, "state": row.state, "reason": row.stopped_reason},
        )

    async def record(self, tenant_id: str, instance_id: str) -> InstanceRecord:
        """The instance with its last :data:`EVENTS_SHOWN` transitions.

        Raises:
            NotFound: no such instance for this tenant.
        """
        async with self.database.session() as session:
            row = await stored.get_instance(session, tenant_id, instance_id)
            if row is None:
                raise _not_found(instance_id)
            events = await stored.recent_events(session, instance_id, limit=EVENTS_SHOWN)
        return InstanceRecord.from_row(row, events)

    async def page(self, tenant_id: str, *, state: str | None, limit: int, offset: int) -> InstancePage:
        """A page of the tenant's instances (without events), newest first; the caller checks the bounds."""
        if state is not None and state not in INSTANCE_STATES:
            raise InvalidRequest(
                f"unknown instance state {state!r}; instances are {', '.join(INSTANCE_STATES)}",
                details={"field": "state", "states": list(INSTANCE_STATES)},
            )
        async with self.database.session() as session:
            rows, total = await stored.list_instances(session, tenant_id, state=state, limit=limit, offset=offset)
        return InstancePage([InstanceRecord.from_row(row, []) for row in rows], total, limit, offset)

    async def _row(self, tenant_id: str, instance_id: str) -> InstanceRow:
        async with self.database.session() as session:
            row = await stored.get_instance(session, tenant_id, instance_id)
        if row is None:
            raise _not_found(instance_id)
        return row

    # ---- lifecycle ---------------------------------------------------------------------------

    async def pause(self, tenant_id: str, instance_id: str) -> InstanceRecord:
        """Checkpoint a running instance and remove its sandbox; pausing a paused one changes nothing.

        Raises:
            NotFound: no such instance for this tenant.
            Conflict: it is stopped, or CRIU could not checkpoint it (it keeps running).
        """
        instance = await self._held(tenant_id, instance_id, "pause")
        async with instance.lifecycle:
            if instance.state == "running":
                instance.state = "paused"  # from now on executions are refused
                for hook in self.hooks:
                    await hook.pausing(instance)
                try:
                    async with self._pause_store_lock:
                        instance.paused = await self.contexts.pause(instance.context, self.pause_store)
                except EngineError as exc:
                    instance.state = "running"
                    for hook in self.hooks:
                        await hook.running(instance)
                    if isinstance(exc, CheckpointFailed) and instance.context.network is not None:
                        raise _networked_checkpoint_refused(instance_id, exc) from exc
                    if isinstance(exc, CheckpointFailed):  # the instance's state, not a failure of the node
                        raise Conflict(
                            f"instance {instance_id} could not be checkpointed and keeps running: {exc}",
                            details={"instance_id": instance_id, "reason": "checkpoint"},
                        ) from exc
                    raise translate_engine_error(exc) from exc
                await self._record(instance_id, "running", "paused", "paused by request", container_id=None)
        return await self.record(tenant_id, instance_id)

    async def resume(self, tenant_id: str, instance_id: str) -> InstanceRecord:
        """Restore a paused instance into a new sandbox under the same id; resuming a running one changes nothing.

        Raises:
            NotFound: no such instance for this tenant.
            Conflict: it is stopped.
            InsufficientResources: the node's memory budget cannot hold it now (it stays paused).
        """
        instance = await self._held(tenant_id, instance_id, "resume")
        async with instance.lifecycle:
            if instance.state == "paused" and instance.paused is not None:
                try:
                    instance.context = await self.contexts.resume(instance.paused, self.pause_store)
                except EngineError as exc:
                    raise translate_engine_error(exc) from exc
                instance.state, instance.paused = "running", None
                for hook in self.hooks:
                    await hook.running(instance)
                await self._record(
                    instance_id, "paused", "running", "resumed by request", container_id=instance.context.container_id
                )
                await self._collect_pause_garbage()
        return await self.record(tenant_id, instance_id)

    async def stop_by_request(self, tenant_id: str, instance_id: str) -> InstanceRecord:
        """Stop the tenant's instance (a stopped one stays as it is).

        Raises:
            NotFound: no such instance for this tenant.
        """
        instance = self._instances.get(instance_id)
        if instance is not None and instance.tenant_id == tenant_id:
            await self.stop(instance, "stopped by request")
        return await self.record(tenant_id, instance_id)

    async def stop(self, instance: Instance, reason: str) -> None:
        """Remove the instance's sandbox or pause state and record why; safe to call twice."""
        async with instance.lifecycle:
            if self._instances.get(instance.instance_id) is not instance:
                return
            del self._instances[instance.instance_id]
            from_state, instance.state = instance.state, "stopped"
            if instance.paused is not None:
                instance.paused = None
                await self._collect_pause_garbage()
            else:
                try:
                    await instance.context.close()
                except EngineError as exc:
                    log.warning("stopping instance %s: %s", instance.instance_id, exc)
            for hook in self.hooks:
                await hook.stopped(instance)
            await self._record(
                instance.instance_id, from_state, "stopped", reason, stopped_reason=reason, container_id=None
            )

    async def after_execution(self, instance: Instance) -> None:
        """Stop an instance whose context died while it ran something."""
        if instance.state == "running" and not instance.context.alive:
            await self.stop(instance, "its interpreter died during an execution")

    async def _held(self, tenant_id: str, instance_id: str, action: str) -> Instance:
        instance = self._instances.get(instance_id)
        if instance is not None and instance.tenant_id == tenant_id:
            return instance
        row = await self._row(tenant_id, instance_id)
        raise Conflict(
            f"cannot {action} instance {instance_id}: it is {row.state} ({row.stopped_reason or 'not on this node'})",
            details={"instance_id": instance_id, "state": row.state, "reason": row.stopped_reason},
        )

    async def _record(self, instance_id: str, from_state: str, to_state: str, reason: str, **values: Any) -> None:
        async with self.database.session() as session, session.begin():
            await stored.transition(
                session,
                instance_id,
                from_state=from_state,
                to_state=to_state,
                reason=reason,
                at=datetime.now(UTC),
                **values,
            )

    async def _collect_pause_garbage(self) -> None:
        async with self._pause_store_lock:
            live = [instance.paused.checkpoint_tree for instance in self._instances.values() if instance.paused]
            try:
                await asyncio.to_thread(self.pause_store.collect_garbage, live)
            except EngineError as exc:  # what is left is freed by a later collection
                log.error("freeing pause states failed: %s", exc)

    # ---- reaper ------------------------------------------------------------------------------

    async def reap_expired(self, now: datetime | None = None) -> list[str]:
        """Stop every instance whose ttl has passed (at ``now``, default the present); their ids."""
        at = now or datetime.now(UTC)
        expired = [i for i in self._instances.values() if i.expires_at is not None and i.expires_at <= at]
        for instance in expired:
            await self.stop(instance, "ttl expired")
        return [instance.instance_id for instance in expired]

    async def reap_idle(self) -> list[str]:
        """Stop every running ``auto_stop`` instance idle for longer than the configured timeout; their ids."""
        cutoff = time.monotonic() - self.settings.instance_idle_timeout_s
        idle = [
            instance
            for instance in self._instances.values()
            if instance.auto_stop and instance.state == "running" and instance.context.last_used < cutoff
        ]
        for instance in idle:
            await self.stop(instance, f"idle for more than {self.settings.instance_idle_timeout_s:g} s")
        return [instance.instance_id for instance in idle]

    async def _reap_forever(self) -> None:
        while True:
            await asyncio.sleep(min(REAP_INTERVAL_S, self.settings.instance_idle_timeout_s))
            try:
                await self.reap_expired()
                await self.reap_idle()
            except Exception:  # the reaper must outlive one failed round
                log.exception("stopping expired or idle instances failed")


def _networked_checkpoint_refused(instance_id: str, exc: CheckpointFailed) -> Conflict:
    # CRIU cannot dump connected TCP sockets without --tcp-established, and restoring them into a
    # new sandbox with another address would not work anyway; listening sockets are fine.
    return Conflict(
        f"instances with network access cannot be checkpointed on this node while they hold open network "
        f"connections; instance {instance_id} keeps running (close its connections and pause again): {exc}",
        details={"instance_id": instance_id, "reason": "network", "network": "egress"},
    )


def _not_found(instance_id: str) -> NotFound:
    return NotFound(f"instance {instance_id!r} not found", details={"instance_id": instance_id})
