"""Stored instances and the history of their states."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import InstanceEventRow, InstanceRow


async def get_instance(session: AsyncSession, tenant_id: str, instance_id: str) -> InstanceRow | None:
    return await session.scalar(
        select(InstanceRow).where(InstanceRow.id == instance_id, InstanceRow.tenant_id == tenant_id)
    )


async def list_instances(
    session: AsyncSession, tenant_id: str, *, state: str | None, limit: int, offset: int
) -> tuple[Sequence[InstanceRow], int]:
    """A page of the tenant's instances, newest first, and how many match in all."""
    where = [InstanceRow.tenant_id == tenant_id]
    if state is not None:
        where.append(InstanceRow.state == state)
    total = await session.scalar(select(func.count()).select_from(InstanceRow).where(*where))
    rows = await session.scalars(
        select(InstanceRow)
        .where(*where)
        .order_by(InstanceRow.created_at.desc(), InstanceRow.id)
        .limit(limit)
        .offset(offset)
    )
    return rows.all(), int(total or 0)


async def add_instance(session: AsyncSession, row: InstanceRow, *, reason: str) -> None:
    """Record a new instance and its first event."""
    session.add(row)
    await session.flush()
    session.add(
        InstanceEventRow(instance_id=row.id, from_state=None, to_state=row.state, reason=reason, at=row.created_at)
    )


async def transition(
    session: AsyncSession,
    instance_id: str,
    *,
    from_state: str,
    to_state: str,
    reason: str,
    at: datetime,
    **values: Any,
) -> None:
    """Move an instance to ``to_state`` (setting ``values`` too) and record the event."""
    await session.execute(
        update(InstanceRow).where(InstanceRow.id == instance_id).values(state=to_state, updated_at=at, **values)
    )
    session.add(
        InstanceEventRow(instance_id=instance_id, from_state=from_state, to_state=to_state, reason=reason, at=at)
    )


async def recent_events(session: AsyncSession, instance_id: str, *, limit: int) -> list[InstanceEventRow]:
    """The instance's last ``limit`` events, oldest first."""
    rows = await session.scalars(
        select(InstanceEventRow)
        .where(InstanceEventRow.instance_id == instance_id)
        .order_by(InstanceEventRow.id.desc())
        .limit(limit)
    )
    return list(reversed(rows.all()))


async def stop_instances_of_node(session: AsyncSession, node_id: str, *, reason: str, at: datetime) -> int:
    """Mark every instance this node recorded as not stopped stopped (its sandboxes are gone)."""
    rows = await session.execute(
        select(InstanceRow.id, InstanceRow.state).where(InstanceRow.node_id == node_id, InstanceRow.state != "stopped")
    )
    found = rows.all()
    for instance_id, state in found:
        await transition(
            session,
            instance_id,
            from_state=state,
            to_state="stopped",
            reason=reason,
            at=at,
            stopped_reason=reason,
            container_id=None,
        )
    return len(found)
