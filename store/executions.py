"""Stored executions."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import ExecutionRow


async def get_execution(session: AsyncSession, tenant_id: str, execution_id: str) -> ExecutionRow | None:
    return await session.scalar(
        select(ExecutionRow).where(ExecutionRow.id == execution_id, ExecutionRow.tenant_id == tenant_id)
    )


async def find_cached_result(session: AsyncSession, tenant_id: str, cache_key: str) -> ExecutionRow | None:
    """The newest original (not itself a cache hit) finished run with this key."""
    return await session.scalar(
        select(ExecutionRow)
        .where(
            ExecutionRow.tenant_id == tenant_id,
            ExecutionRow.cache_key == cache_key,
            ExecutionRow.cached.is_(False),
            ExecutionRow.status.in_(("completed", "failed")),
        )
        .order_by(ExecutionRow.created_at.desc())
        .limit(1)
    )
