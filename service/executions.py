"""Execution service: validates, consults the result cache, runs on the engine, records."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import logging
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table

from engine import EngineError, Executor, Interaction, Program, ProgramNotRunning, Resources
from service.billing import BillingService
from service.cache_keys import execution_cache_key
from service.config import Settings
from service.engine_errors import translate_engine_error
from service.errors import (
    ExecutionTimedOut,
    InvalidRequest,
    NotFound,
    ServiceError,
)
from service.events import EventPublisher, PreparedExecution, replay_events, running_record
from service.live import Event, LiveExecution, LiveExecutions
from service.pricing import execution_cost, memory_gb_seconds
from service.records import ExecutionRecord, output_text
from service.requests import (
    STATEFUL_MODES,
    ExecutionRequest,
    check_code,
    check_env,
    check_language_and_mode,
    decode_files,
    resolve_resources,
)
from service.result_cache import ResultCache
from service.stateful import Listeners, StatefulExecutions, StatefulResult
from store import Database, ExecutionRow
from store import executions as stored

log = logging.getLogger(__name__)


EXECUTIONS = cast(Table, ExecutionRow.__table__)


SHUTDOWN_GRACE_S = 20.0
"""How long shutdown waits for running (async) executions before stopping them."""


def row_values(row: ExecutionRow) -> dict[str, Any]:
    return {column.key: getattr(row, column.key) for column in ExecutionRow.__table__.columns}


def new_execution_id() -> str:
    return "exec_" + secrets.token_hex(12)


class ExecutionService:
    """Runs executions for tenants and keeps their records."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        executor: Executor,
        billing: BillingService,
        stateful: StatefulExecutions,
    ) -> None:
        self.settings = settings
        self.database = database
        self.executor = executor
        self.billing = billing
        self.stateful = stateful
        self.live = LiveExecutions()
        self._results = ResultCache()
        self._background: set[asyncio.Task[None]] = set()

    async def execute(
        self, tenant_id: str, request: ExecutionRequest, *, known_balance: float | None = None
    ) -> ExecutionRecord:
        """Run (or, in cached mode, look up) an execution and wait for its result.

        Raises:
            InvalidRequest: the request breaks a rule or a configured bound.
            InsufficientResources: the node cannot take the work now.
            ExecutionTimedOut: the program hit its time limit (the record is stored).
        """
        prepared = self._prepare(request)
        await self.billing.ensure_can_pay(tenant_id, known_balance=known_balance)
        hit = await self._lookup_cached(tenant_id, prepared)
        if hit is not None:
            return hit
        record = await self._run(tenant_id, prepared, self.live.open(new_execution_id(), tenant_id))
        if record.status == "timeout":
            raise ExecutionTimedOut(
                f"execution exceeded its time limit of {prepared.program.resources.timeout_ms} ms and was killed",
                details={
                    "execution_id": record.execution_id,
                    "status": record.status,
                    "timeout_ms": prepared.program.resources.timeout_ms,
                    "duration_ms": record.duration_ms,
                    "stdout": record.stdout,
                    "stderr": record.stderr,
                    "truncated": record.truncated,
                    **{
                        name: value
                        for name, value in (
                            ("instance_id", record.instance_id),
                            ("snapshot_id", record.snapshot_id),
                            ("branch_id", record.branch_id),
                        )
                        if value is not None
                    },
                },
            )
        return record

    async def start(
        self,
        tenant_id: str,
        request: ExecutionRequest,
        *,
        guard: contextlib.AbstractAsyncContextManager[None] | None = None,
        known_balance: float | None = None,
    ) -> ExecutionRecord:
        """Start an execution without waiting: a ``running`` record now, events on ``live``.

        A cached hit comes back finished at once. Validation, payment and capacity errors are
        raised here; ``guard`` (e.g. a concurrency slot) is entered now and held until the run ends.
        """
        prepared = self._prepare(request)
        await self.billing.ensure_can_pay(tenant_id, known_balance=known_balance)
        hit = await self._lookup_cached(tenant_id, prepared)
        if hit is not None:
            return hit
        if request.instance_id is None:  # a run in an existing instance needs no new memory
            self._check_capacity(prepared.program.resources)
        held = contextlib.AsyncExitStack()
        if guard is not None:
            await held.enter_async_context(guard)
        live = self.live.open(new_execution_id(), tenant_id)
        live.running_record = running_record(live.execution_id, request, prepared.program.resources)
        task = asyncio.create_task(self._run_in_background(tenant_id, prepared, live, held))
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return live.running_record

    async def close(self) -> None:
        """Let executions started without waiting finish for a while, then stop the rest."""
        if not self._background:
            return
        _, unfinished = await asyncio.wait(self._background, timeout=SHUTDOWN_GRACE_S)
        for task in unfinished:
            task.cancel()
        if unfinished:
            log.warning("stopped %d running executions at shutdown", len(unfinished))
        await asyncio.gather(*unfinished, return_exceptions=True)

    def _prepare(self, request: ExecutionRequest) -> PreparedExecution:
        check_language_and_mode(request)
        check_code(request, self.settings)
        check_env(request.env_vars)
        resources = resolve_resources(request.resources, self.settings)
        files = decode_files(request, self.settings)
        program = Program(
            language=request.language,
            code=request.code,
            files=files,
            env=dict(request.env_vars),
            stdin=request.stdin.encode() if request.stdin is not None else None,
            resources=resources,
            stdin_open=request.interactive,
            tty=request.tty,
        )
        cache_key = None
        if request.mode == "cached":
            cache_key = execution_cache_key(
                language=program.language,
                code=program.code,
                files=files,
                env=program.env,
                stdin=request.stdin,
                resources=resources,
                image_id=self._image_id(program.language),
            )
        return PreparedExecution(mode=request.mode, program=program, cache_key=cache_key, request=request)

    async def _lookup_cached(self, tenant_id: str, prepared: PreparedExecution) -> ExecutionRecord | None:
        if prepared.cache_key is None:
            return None
        return await self._cache_hit(tenant_id, prepared.cache_key)

    def _check_capacity(self, resources: Resources) -> None:
        try:
            self.executor.check_capacity(resources)
        except EngineError as exc:
            raise translate_engine_error(exc) from exc

    async def _run_in_background(
        self, tenant_id: str, prepared: PreparedExecution, live: LiveExecution, held: contextlib.AsyncExitStack
    ) -> None:
        async with held:
            try:
                await self._run(tenant_id, prepared, live)
            except ServiceError as exc:
                log.warning("background execution %s failed: %s", live.execution_id, exc.message)

    async def _run(self, tenant_id: str, prepared: PreparedExecution, live: LiveExecution) -> ExecutionRecord:
        """Run on the engine while publishing events, record the outcome, publish the final event."""
        created_at = datetime.now(UTC)
        events = EventPublisher(live)
        try:
            result = await self._run_on_engine(tenant_id, prepared, live, events)
        except EngineError as exc:
            log.warning("execution failed in the engine: %s", exc)
            error = translate_engine_error(exc)
            live.publish({"type": "error", "error": str(error)})
            raise error from exc
        except ServiceError as exc:
            live.publish({"type": "error", "error": exc.message})
            raise
        except asyncio.CancelledError:
            live.publish({"type": "error", "error": "the node shut down while this execution ran; it was stopped"})
            raise
        record = await self._record(tenant_id, prepared, result, created_at, live.execution_id)
        events.finish(record)
        return record

    async def _run_on_engine(
        self, tenant_id: str, prepared: PreparedExecution, live: LiveExecution, events: EventPublisher
    ) -> StatefulResult:
        if prepared.mode in STATEFUL_MODES:
            listeners = Listeners(on_output=events.output, on_phase=events.phase)
            return await self.stateful.run(tenant_id, live.execution_id, prepared.request, prepared.program, listeners)
        outcome = await self.executor.execute(
            prepared.program, on_output=events.output, on_phase=events.phase, interaction=live.interaction
        )
        return StatefulResult(outcome)

    async def get(self, tenant_id: str, execution_id: str) -> ExecutionRecord:
        live = self.live.get(tenant_id, execution_id)
        if live is not None and not live.finished and live.running_record is not None:
            return live.running_record
        async with self.database.session() as session:
            row = await stored.get_execution(session, tenant_id, execution_id)
        if row is None:
            raise NotFound(f"execution {execution_id!r} not found", details={"execution_id": execution_id})
        return ExecutionRecord.from_row(row)

    async def events(self, tenant_id: str, execution_id: str) -> AsyncIterator[Event]:
        """The execution's stream events: live ones (history first), or a replay of a stored result.

        Raises:
            NotFound: no such execution for this tenant.
        """
        live = self.live.get(tenant_id, execution_id)
        if live is not None:
            async for event in live.events():
                yield event
            return
        record = await self.get(tenant_id, execution_id)
        for event in replay_events(record):
            yield event

    def pending_charges(self, tenant_id: str) -> float:
        """What the tenant's running executions have cost so far (charged when they finish)."""
        pending = 0.0
        for live in self.live.running(tenant_id):
            so_far = live.interaction.usage_so_far()
            if so_far is not None:
                usage, elapsed_ms = so_far
                gb_seconds = memory_gb_seconds(usage.memory_peak_bytes, elapsed_ms)
                pending += execution_cost(usage.cpu_seconds, gb_seconds, self.settings).total
        return round(pending, 8)

    async def send_input(self, tenant_id: str, execution_id: str, data: str, *, eof: bool = False) -> None:
        interaction = self._interaction(tenant_id, execution_id)
        try:
            if data:
                await interaction.send_input(data.encode())
            if eof:
                await interaction.close_input()
        except ProgramNotRunning:
            raise InvalidRequest(f"execution {execution_id!r} is not running") from None

    async def resize(self, tenant_id: str, execution_id: str, cols: int, rows: int) -> None:
        if not (1 <= cols <= 1000 and 1 <= rows <= 1000):
            raise InvalidRequest("cols and rows must be between 1 and 1000")
        try:
            await self._interaction(tenant_id, execution_id).resize(cols, rows)
        except ProgramNotRunning:
            raise InvalidRequest(f"execution {execution_id!r} is not running") from None

    def _interaction(self, tenant_id: str, execution_id: str) -> Interaction:
        live = self.live.get(tenant_id, execution_id)
        if live is None:
            raise NotFound(f"execution {execution_id!r} is not running on this node")
        return live.interaction

    def _image_id(self, language: str) -> str:
        try:
            return self.executor.image_id(language)
        except EngineError as exc:
            raise translate_engine_error(exc) from exc

    async def _cache_hit(self, tenant_id: str, cache_key: str) -> ExecutionRecord | None:
        original = self._results.get(tenant_id, cache_key)
        if original is None:
            async with self.database.session() as session:
                row = await stored.find_cached_result(session, tenant_id, cache_key)
            if row is None:
                return None
            original = row_values(row)
            self._results.put(tenant_id, cache_key, original)
        now = datetime.now(UTC)
        hit = {
            **original,
            "id": new_execution_id(),
            "cached": True,
            "cached_from": original["id"],
            "cpu_seconds": 0.0,
            "memory_gb_seconds": 0.0,
            "cost_compute": 0.0,
            "cost_total": 0.0,
            "created_at": now,
            "finished_at": now,
        }
        async with self.database.engine.begin() as connection:
            await connection.execute(EXECUTIONS.insert(), hit)
        return ExecutionRecord.from_row(ExecutionRow(**hit))

    async def _record(
        self,
        tenant_id: str,
        prepared: PreparedExecution,
        result: StatefulResult,
        created_at: datetime,
        execution_id: str,
    ) -> ExecutionRecord:
        outcome, program, cache_key = result.outcome, prepared.program, prepared.cache_key
        gb_seconds = memory_gb_seconds(outcome.usage.memory_peak_bytes, outcome.duration_ms)
        cost = execution_cost(outcome.usage.cpu_seconds, gb_seconds, self.settings)
        row = ExecutionRow(
            id=execution_id,
            tenant_id=tenant_id,
            language=program.language,
            mode=prepared.mode,
            status=outcome.status,
            exit_code=outcome.exit_code,
            stdout=output_text(outcome.stdout),
            stderr=output_text(outcome.stderr),
            truncated=outcome.truncated,
            oom_killed=outcome.oom_killed,
            duration_ms=outcome.duration_ms,
            cached=False,
            cache_key=cache_key if outcome.status != "timeout" else None,
            cached_from=None,
            build_cached=outcome.build_cached,
            cpu_seconds=outcome.usage.cpu_seconds,
            memory_peak_bytes=outcome.usage.memory_peak_bytes,
            memory_gb_seconds=gb_seconds,
            cost_compute=cost.compute,
            cost_total=cost.total,
            error=outcome.error,
            image_id=outcome.image_id,
            code_sha256=hashlib.sha256(program.code.encode()).hexdigest(),
            resources=dataclasses.asdict(program.resources),
            created_at=created_at,
            finished_at=datetime.now(UTC),
            instance_id=result.instance_id,
            snapshot_id=result.snapshot_id,
            branch_id=result.branch_id,
        )
        async with self.database.session() as session, session.begin():
            session.add(row)
            # the charge commits or rolls back with the record: no unbilled execution, no phantom charge
            await self.billing.charge_execution(session, tenant_id, row.id, row.cost_total)
        if row.cache_key is not None:
            self._results.put(tenant_id, row.cache_key, row_values(row))
        return ExecutionRecord.from_row(row)


__all__ = ["ExecutionService", "Resources", "new_execution_id"]
