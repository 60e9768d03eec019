"""Instances: a tenant's live contexts on this node, their lifecycle and records."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from engine import EngineError, Resources
from engine.contexts import ContextEngine, LiveContext
from service.config import Settings
from service.errors import Conflict, InvalidRequest, NotFound
from store import Database
from store import snapshots as stored
from store.models import InstanceRow

log = logging.getLogger(__name__)

REAP_INTERVAL_S = 30.0


def new_instance_id() -> str:
    return "inst_" + secrets.token_hex(12)


@dataclass
class Instance:
    """A running live context of one tenant."""

    instance_id: str
    tenant_id: str
    context: LiveContext
    head_snapshot_id: str | None
    """The newest snapshot of this instance's lineage: the one it was restored from, or its latest capture."""

    @property
    def language(self) -> str:
        return self.context.language


class InstanceService:
    """Registry of this node's live contexts; idle ones are stopped after ``instance_idle_timeout_s``."""

    def __init__(self, settings: Settings, database: Database, contexts: ContextEngine) -> None:
        self.settings = settings
        self.database = database
        self.contexts = contexts
        self._live: dict[str, Instance] = {}
        self._reaper: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Record that instances of an earlier run of this node are gone, and start the idle reaper."""
        async with self.database.session() as session, session.begin():
            stopped = await stored.stop_instances_of_node(
                session, self.settings.node_id, reason="the node restarted", at=datetime.now(UTC)
            )
        if stopped:
            log.info("marked %d instances of an earlier run stopped", stopped)
        self._reaper = asyncio.create_task(self._reap_idle_forever())

    async def close(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
        for instance in list(self._live.values()):
            await self.stop(instance, "the node shut down")

    def count(self, tenant_id: str) -> int:
        return sum(1 for instance in self._live.values() if instance.tenant_id == tenant_id)

    async def create(self, tenant_id: str, language: str, resources: Resources) -> Instance:
        """A fresh live context for the tenant.

        Raises:
            InvalidRequest: the tenant already runs its maximum of instances.
            EngineError: the engine could not start it (translated by the caller).
        """
        self.check_quota(tenant_id)
        context = await self.contexts.start(language, resources)
        return await self.register(tenant_id, context, snapshot_id=None)

    async def register(self, tenant_id: str, context: LiveContext, *, snapshot_id: str | None) -> Instance:
        """Make a started context (fresh or restored from ``snapshot_id``) one of the tenant's instances."""
        instance = Instance(new_instance_id(), tenant_id, context, head_snapshot_id=snapshot_id)
        now = datetime.now(UTC)
        row = InstanceRow(
            id=instance.instance_id,
            tenant_id=tenant_id,
            node_id=self.settings.node_id,
            language=context.language,
            state="running",
            container_id=context.container_id,
            snapshot_id=snapshot_id,
            resources=dataclasses.asdict(context.resources),
            stopped_reason=None,
            created_at=now,
            updated_at=now,
        )
        try:
            async with self.database.session() as session, session.begin():
                session.add(row)
        except BaseException:
            await context.close()
            raise
        self._live[instance.instance_id] = instance
        return instance

    def check_quota(self, tenant_id: str) -> None:
        """Raise InvalidRequest when the tenant may not start another instance now."""
        limit = self.settings.max_instances_per_tenant
        if self.count(tenant_id) >= limit:
            raise InvalidRequest(
                f"this account already runs {limit} instances, the most allowed; stop one first",
                details={"max_instances": limit},
            )

    async def get(self, tenant_id: str, instance_id: str) -> Instance:
        """The tenant's running instance.

        Raises:
            NotFound: no such instance for this tenant.
            Conflict: it exists but is stopped (the reason is in the message).
        """
        instance = self._live.get(instance_id)
        if instance is not None and instance.tenant_id == tenant_id:
            if instance.context.alive:
                return instance
            await self.stop(instance, "its interpreter died")
        async with self.database.session() as session:
            row = await stored.get_instance(session, tenant_id, instance_id)
        if row is None:
            raise NotFound(f"instance {instance_id!r} not found", details={"instance_id": instance_id})
        raise Conflict(
            f"instance {instance_id} is {row.state}: {row.stopped_reason or 'not on this node'}; "
            "restore a snapshot of it to continue",
            details={"instance_id": instance_id, "state": row.state, "reason": row.stopped_reason},
        )

    async def stop(self, instance: Instance, reason: str) -> None:
        """Remove the instance's sandbox and record why; safe to call twice."""
        if self._live.pop(instance.instance_id, None) is None:
            return
        try:
            await instance.context.close()
        except EngineError as exc:
            log.warning("stopping instance %s: %s", instance.instance_id, exc)
        async with self.database.session() as session, session.begin():
            await stored.set_instance_state(
                session,
                instance.instance_id,
                state="stopped",
                stopped_reason=reason,
                container_id=None,
                updated_at=datetime.now(UTC),
            )

    async def after_execution(self, instance: Instance) -> None:
        """Stop an instance whose context died while it ran something."""
        if not instance.context.alive:
            await self.stop(instance, "its interpreter died during an execution")

    async def reap_idle(self) -> list[str]:
        """Stop every instance idle for longer than the configured timeout; their ids."""
        cutoff = time.monotonic() - self.settings.instance_idle_timeout_s
        idle = [instance for instance in self._live.values() if instance.context.last_used < cutoff]
        for instance in idle:
            await self.stop(instance, f"idle for more than {self.settings.instance_idle_timeout_s:g} s")
        return [instance.instance_id for instance in idle]

    async def _reap_idle_forever(self) -> None:
        while True:
            await asyncio.sleep(min(REAP_INTERVAL_S, self.settings.instance_idle_timeout_s))
            try:
                await self.reap_idle()
            except Exception:  # the reaper must outlive one failed round
                log.exception("stopping idle instances failed")
