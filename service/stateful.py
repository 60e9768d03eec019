"""Executions in the stateful modes: persistent (in an instance), checkpointed and branched (snapshots)."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

from engine import EngineError, Outcome, Program, Resources
from engine.contexts import LiveContext
from engine.runner import OutputListener, PhaseListener
from service.branches import BranchService
from service.config import Settings
from service.engine_errors import translate_engine_error
from service.errors import InvalidRequest
from service.instances import Instance, InstanceService
from service.requests import ExecutionRequest, check_fixed_limits
from service.snapshots import SnapshotService
from store.models import SnapshotRow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StatefulResult:
    outcome: Outcome
    instance_id: str | None = None
    snapshot_id: str | None = None
    branch_id: str | None = None


@dataclass(frozen=True)
class Listeners:
    on_output: OutputListener | None = None
    on_phase: PhaseListener | None = None


class StatefulExecutions:
    """Runs a validated stateful request in a live context and captures or keeps that context."""

    def __init__(
        self,
        settings: Settings,
        instances: InstanceService,
        snapshots: SnapshotService,
        branches: BranchService,
    ) -> None:
        self.settings = settings
        self.instances = instances
        self.snapshots = snapshots
        self.branches = branches

    async def run(
        self, tenant_id: str, execution_id: str, request: ExecutionRequest, program: Program, listeners: Listeners
    ) -> StatefulResult:
        if request.mode == "persistent":
            return await self._persistent(tenant_id, request, program, listeners)
        if request.mode == "checkpointed":
            return await self._checkpointed(tenant_id, execution_id, request, program, listeners)
        return await self._branched(tenant_id, execution_id, request, program, listeners)

    async def _persistent(
        self, tenant_id: str, request: ExecutionRequest, program: Program, listeners: Listeners
    ) -> StatefulResult:
        if request.instance_id is not None:
            instance = await self.instances.get(tenant_id, request.instance_id)
            _check_fits(request, instance.language, instance.context.resources, f"instance {instance.instance_id}")
        elif request.snapshot_id is not None:
            self.instances.check_quota(tenant_id)
            snapshot = await self._snapshot(tenant_id, request)
            context = await self.snapshots.open_context(snapshot)
            instance = await self.instances.register(tenant_id, context, snapshot_id=snapshot.id)
        else:
            instance = await self._new_instance(tenant_id, program)
        outcome = await self._execute(instance.context, program, listeners)
        await self.instances.after_execution(instance)
        return StatefulResult(outcome, instance_id=instance.instance_id)

    async def _new_instance(self, tenant_id: str, program: Program) -> Instance:
        try:
            return await self.instances.create(tenant_id, program.language, program.resources)
        except EngineError as exc:
            raise translate_engine_error(exc) from exc

    async def _checkpointed(
        self, tenant_id: str, execution_id: str, request: ExecutionRequest, program: Program, listeners: Listeners
    ) -> StatefulResult:
        parent = await self._snapshot(tenant_id, request) if request.snapshot_id is not None else None
        context = await self._open(parent, program)
        try:
            outcome = await self._execute(context, program, listeners)
            if not context.alive:
                return StatefulResult(_without_snapshot(outcome, "its context died, so there is no state to save"))
            snapshot = await self.snapshots.capture(
                tenant_id,
                context,
                mode="checkpointed",
                parent_id=parent.id if parent is not None else None,
                execution_id=execution_id,
            )
        finally:
            await context.close()
        return StatefulResult(outcome, snapshot_id=snapshot.snapshot_id)

    async def _branched(
        self, tenant_id: str, execution_id: str, request: ExecutionRequest, program: Program, listeners: Listeners
    ) -> StatefulResult:
        if request.branch_id is not None:
            branch_id = (await self.branches.get(tenant_id, request.branch_id)).branch_id
        else:
            branch_id = (
                await self.branches.create(tenant_id, snapshot_id=request.snapshot_id, parent_branch=None)
            ).branch_id
        async with self.branches.commit_lock(branch_id):
            head = await self.snapshots.row(tenant_id, (await self.branches.get(tenant_id, branch_id)).head_snapshot_id)
            _check_fits(request, head.language, Resources(**head.resources), f"the head of branch {branch_id}")
            context = await self._open(head, program)
            try:
                outcome = await self._execute(context, program, listeners)
                if outcome.status != "completed" or not context.alive:
                    reason = f"the branch's head stays at {head.id} because the execution did not complete"
                    return StatefulResult(_without_snapshot(outcome, reason), branch_id=branch_id)
                snapshot = await self.snapshots.capture(
                    tenant_id,
                    context,
                    mode="branched",
                    parent_id=head.id,
                    execution_id=execution_id,
                    branch_id=branch_id,
                )
            finally:
                await context.close()
            await self.branches.advance(tenant_id, branch_id, from_head=head.id, to_head=snapshot.snapshot_id)
        return StatefulResult(outcome, snapshot_id=snapshot.snapshot_id, branch_id=branch_id)

    async def _snapshot(self, tenant_id: str, request: ExecutionRequest) -> SnapshotRow:
        assert request.snapshot_id is not None
        snapshot = await self.snapshots.row(tenant_id, request.snapshot_id)
        _check_fits(request, snapshot.language, Resources(**snapshot.resources), f"snapshot {snapshot.id}")
        return snapshot

    async def _open(self, snapshot: SnapshotRow | None, program: Program) -> LiveContext:
        """A context restored from ``snapshot`` (checked to fit the request), or a fresh one."""
        if snapshot is not None:
            return await self.snapshots.open_context(snapshot)
        try:
            return await self.snapshots.contexts.start(program.language, program.resources)
        except EngineError as exc:
            raise translate_engine_error(exc) from exc

    async def _execute(self, context: LiveContext, program: Program, listeners: Listeners) -> Outcome:
        program = dataclasses.replace(
            program,
            resources=dataclasses.replace(context.resources, timeout_ms=program.resources.timeout_ms),
        )
        try:
            return await context.execute(
                program,
                build_timeout_ms=self.settings.build_timeout_ms,
                on_output=listeners.on_output,
                on_phase=listeners.on_phase,
            )
        except EngineError as exc:
            raise translate_engine_error(exc) from exc


def _check_fits(request: ExecutionRequest, language: str, resources: Resources, what: str) -> None:
    """A request into an existing context must match its language and may not ask for other limits."""
    if request.language != language:
        raise InvalidRequest(
            f"{what} runs {language}, not {request.language}",
            details={"field": "language", "expected": language},
        )
    check_fixed_limits(request.resources.cpu_cores, request.resources.memory_mb, resources, what)


def _without_snapshot(outcome: Outcome, reason: str) -> Outcome:
    error = f"{outcome.error}; {reason}" if outcome.error else reason
    return dataclasses.replace(outcome, error=error)
