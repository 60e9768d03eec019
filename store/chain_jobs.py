"""Stored chain jobs of the operator node and its per-chain block cursor."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import ChainCursorRow, ChainJobRow

SUBMITTED = "submitted"


async def cursor(session: AsyncSession, chain_id: str) -> int | None:
    """The last finalized block whose job calls are recorded; None before the first."""
    row = await session.get(ChainCursorRow, chain_id)
    return row.block_number if row is not None else None


async def record_block(
    session: AsyncSession, chain_id: str, block_number: int, jobs: Sequence[ChainJobRow], *, at: datetime
) -> int:
    """Record a finalized block's job calls (ignoring ones already known) and move the cursor past it.

    Call within one transaction, so that the calls and the cursor move together. Returns how
    many calls were new.
    """
    new = 0
    for job in jobs:
        if await session.get(ChainJobRow, (chain_id, job.service_id, job.call_id)) is None:
            session.add(job)
            new += 1
    row = await session.get(ChainCursorRow, chain_id)
    if row is None:
        session.add(ChainCursorRow(chain_id=chain_id, block_number=block_number, updated_at=at))
    else:
        row.block_number = block_number
        row.updated_at = at
    return new


async def unfinished(session: AsyncSession, chain_id: str) -> Sequence[ChainJobRow]:
    """Jobs whose result is not yet on chain, oldest call first."""
    rows = await session.scalars(
        select(ChainJobRow)
        .where(ChainJobRow.chain_id == chain_id, ChainJobRow.state != SUBMITTED)
        .order_by(ChainJobRow.block_number, ChainJobRow.service_id, ChainJobRow.call_id)
    )
    return rows.all()


async def get_job(session: AsyncSession, chain_id: str, service_id: int, call_id: int) -> ChainJobRow | None:
    return await session.get(ChainJobRow, (chain_id, service_id, call_id))


async def find_job(session: AsyncSession, service_id: int, call_id: int) -> ChainJobRow | None:
    """The job with these ids on whichever chain this node serves (newest record first)."""
    return await session.scalar(
        select(ChainJobRow)
        .where(ChainJobRow.service_id == service_id, ChainJobRow.call_id == call_id)
        .order_by(ChainJobRow.updated_at.desc())
        .limit(1)
    )


async def update_job(session: AsyncSession, chain_id: str, service_id: int, call_id: int, **values: Any) -> None:
    await session.execute(
        update(ChainJobRow)
        .where(ChainJobRow.chain_id == chain_id, ChainJobRow.service_id == service_id, ChainJobRow.call_id == call_id)
        .values(**values)
    )
