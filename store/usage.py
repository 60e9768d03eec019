"""Usage of one tenant over a period, aggregated in SQL (SQLite and PostgreSQL alike)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import ExecutionRow


@dataclass(frozen=True)
class ExecutionTotals:
    total_count: int
    successful_count: int
    failed_count: int
    cpu_seconds: float
    memory_gb_seconds: float
    compute_cost: float
    total_cost: float
    by_mode: dict[str, int]


def _in_period(tenant_id: str, start: datetime, end: datetime) -> list[ColumnElement[bool]]:
    """Executions of the tenant created in [start, end], both ends included."""
    return [ExecutionRow.tenant_id == tenant_id, ExecutionRow.created_at >= start, ExecutionRow.created_at <= end]


def _count_where(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


async def execution_totals(session: AsyncSession, tenant_id: str, start: datetime, end: datetime) -> ExecutionTotals:
    where = _in_period(tenant_id, start, end)
    totals = (
        await session.execute(
            select(
                func.count(),
                _count_where(ExecutionRow.status == "completed"),
                _count_where(ExecutionRow.status.in_(("failed", "timeout"))),
                func.coalesce(func.sum(ExecutionRow.cpu_seconds), 0.0),
                func.coalesce(func.sum(ExecutionRow.memory_gb_seconds), 0.0),
                func.coalesce(func.sum(ExecutionRow.cost_compute), 0.0),
                func.coalesce(func.sum(ExecutionRow.cost_total), 0.0),
            ).where(*where)
        )
    ).one()
    modes = await session.execute(select(ExecutionRow.mode, func.count()).where(*where).group_by(ExecutionRow.mode))
    return ExecutionTotals(
        total_count=int(totals[0]),
        successful_count=int(totals[1]),
        failed_count=int(totals[2]),
        cpu_seconds=float(totals[3]),
        memory_gb_seconds=float(totals[4]),
        compute_cost=float(totals[5]),
        total_cost=float(totals[6]),
        by_mode={str(mode): int(count) for mode, count in modes.all()},
    )
