"""Execution service: validates, consults the result cache, runs on the engine, records."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import secrets
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table

from engine import (
    CapacityExceeded,
    EngineError,
    Executor,
    ImageMissing,
    Outcome,
    Program,
    Resources,
    UnsupportedLanguage,
)
from service.cache_keys import execution_cache_key
from service.config import Settings
from service.errors import ExecutionTimedOut, InsufficientResources, InternalError, InvalidRequest, NotFound
from service.pricing import execution_cost, memory_gb_seconds
from service.records import ExecutionRecord, output_text
from service.requests import (
    ExecutionRequest,
    check_code,
    check_env,
    check_language_and_mode,
    decode_files,
    resolve_resources,
)
from service.result_cache import ResultCache
from store import Database, ExecutionRow
from store import executions as stored

log = logging.getLogger(__name__)


EXECUTIONS = cast(Table, ExecutionRow.__table__)


def row_values(row: ExecutionRow) -> dict[str, Any]:
    return {column.key: getattr(row, column.key) for column in ExecutionRow.__table__.columns}


def new_execution_id() -> str:
    return "exec_" + secrets.token_hex(12)


def translate_engine_error(exc: EngineError) -> Exception:
    """The single table from engine errors to service errors."""
    if isinstance(exc, CapacityExceeded):
        return InsufficientResources(str(exc), details=exc.details)
    if isinstance(exc, UnsupportedLanguage):
        return InvalidRequest(str(exc), details={"field": "language"})
    if isinstance(exc, ImageMissing):
        return InternalError(str(exc), details={"reason": "runtime image missing"})
    return InternalError("the sandbox failed while running this execution; it was not charged")


class ExecutionService:
    """Runs executions for tenants and keeps their records."""

    def __init__(self, settings: Settings, database: Database, executor: Executor) -> None:
        self.settings = settings
        self.database = database
        self.executor = executor
        self._results = ResultCache()

    async def execute(self, tenant_id: str, request: ExecutionRequest) -> ExecutionRecord:
        """Run (or, in cached mode, look up) an execution.

        Raises:
            InvalidRequest: the request breaks a rule or a configured bound.
            InsufficientResources: the node cannot take the work now.
            ExecutionTimedOut: the program hit its time limit (the record is stored).
        """
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
            hit = await self._cache_hit(tenant_id, cache_key)
            if hit is not None:
                return hit
        created_at = datetime.now(UTC)
        try:
            outcome = await self.executor.execute(program)
        except EngineError as exc:
            log.warning("execution failed in the engine: %s", exc)
            raise translate_engine_error(exc) from exc
        record = await self._record(tenant_id, request.mode, program, outcome, cache_key, created_at)
        if record.status == "timeout":
            raise ExecutionTimedOut(
                f"execution exceeded its time limit of {resources.timeout_ms} ms and was killed",
                details={
                    "execution_id": record.execution_id,
                    "status": record.status,
                    "timeout_ms": resources.timeout_ms,
                    "duration_ms": record.duration_ms,
                    "stdout": record.stdout,
                    "stderr": record.stderr,
                    "truncated": record.truncated,
                },
            )
        return record

    async def get(self, tenant_id: str, execution_id: str) -> ExecutionRecord:
        async with self.database.session() as session:
            row = await stored.get_execution(session, tenant_id, execution_id)
        if row is None:
            raise NotFound(f"execution {execution_id!r} not found", details={"execution_id": execution_id})
        return ExecutionRecord.from_row(row)

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
        mode: str,
        program: Program,
        outcome: Outcome,
        cache_key: str | None,
        created_at: datetime,
    ) -> ExecutionRecord:
        gb_seconds = memory_gb_seconds(outcome.usage.memory_peak_bytes, outcome.duration_ms)
        cost = execution_cost(outcome.usage.cpu_seconds, gb_seconds, self.settings)
        row = ExecutionRow(
            id=new_execution_id(),
            tenant_id=tenant_id,
            language=program.language,
            mode=mode,
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
        )
        async with self.database.session() as session, session.begin():
            session.add(row)
        if row.cache_key is not None:
            self._results.put(tenant_id, row.cache_key, row_values(row))
        return ExecutionRecord.from_row(row)


__all__ = ["ExecutionService", "Resources", "new_execution_id"]
