"""Stored snapshots and branches."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import BranchRow, SnapshotRow


def _live_snapshot(tenant_id: str) -> list[ColumnElement[bool]]:
    return [SnapshotRow.tenant_id == tenant_id, SnapshotRow.deleted_at.is_(None)]


async def get_snapshot(session: AsyncSession, tenant_id: str, snapshot_id: str) -> SnapshotRow | None:
    return await session.scalar(select(SnapshotRow).where(SnapshotRow.id == snapshot_id, *_live_snapshot(tenant_id)))


async def list_snapshots(
    session: AsyncSession, tenant_id: str, *, mode: str | None, parent_id: str | None, limit: int, offset: int
) -> tuple[Sequence[SnapshotRow], int]:
    """A page of the tenant's snapshots, newest first, and how many match in all."""
    where = _live_snapshot(tenant_id)
    if mode is not None:
        where.append(SnapshotRow.mode == mode)
    if parent_id is not None:
        where.append(SnapshotRow.parent_id == parent_id)
    total = await session.scalar(select(func.count()).select_from(SnapshotRow).where(*where))
    rows = await session.scalars(
        select(SnapshotRow)
        .where(*where)
        .order_by(SnapshotRow.created_at.desc(), SnapshotRow.id)
        .limit(limit)
        .offset(offset)
    )
    return rows.all(), int(total or 0)


async def child_snapshot_ids(session: AsyncSession, tenant_id: str, snapshot_id: str) -> list[str]:
    rows = await session.scalars(
        select(SnapshotRow.id).where(SnapshotRow.parent_id == snapshot_id, *_live_snapshot(tenant_id))
    )
    return list(rows)


async def ancestry(session: AsyncSession, tenant_id: str, snapshot_id: str, *, limit: int) -> list[str]:
    """``snapshot_id`` and its live ancestors, nearest first (at most ``limit``).

    Deleting a snapshot re-parents its children, so a chain never runs through a deleted one.
    """
    rows = await session.execute(select(SnapshotRow.id, SnapshotRow.parent_id).where(*_live_snapshot(tenant_id)))
    parents: dict[str, str | None] = {row.id: row.parent_id for row in rows.all()}
    chain: list[str] = []
    current: str | None = snapshot_id
    while current is not None and current in parents and len(chain) < limit:
        chain.append(current)
        current = parents[current]
    return chain


async def reparent_children(session: AsyncSession, tenant_id: str, snapshot_id: str, new_parent: str | None) -> None:
    await session.execute(
        update(SnapshotRow)
        .where(SnapshotRow.tenant_id == tenant_id, SnapshotRow.parent_id == snapshot_id)
        .values(parent_id=new_parent)
    )


async def live_trees(session: AsyncSession) -> set[str]:
    """Checksums of every tree a live snapshot of any tenant still needs."""
    rows = await session.execute(
        select(SnapshotRow.checkpoint_tree, SnapshotRow.workspace_tree).where(SnapshotRow.deleted_at.is_(None))
    )
    return {tree for row in rows.all() for tree in row}


async def storage_used_bytes(session: AsyncSession, tenant_id: str) -> int:
    total = await session.scalar(select(func.sum(SnapshotRow.size_bytes)).where(*_live_snapshot(tenant_id)))
    return int(total or 0)


async def snapshots_held_during(
    session: AsyncSession, tenant_id: str, start: datetime, end: datetime
) -> list[tuple[int, datetime, datetime | None]]:
    """``(size_bytes, created_at, deleted_at)`` of every snapshot the tenant held at some time in the period."""
    rows = await session.execute(
        select(SnapshotRow.size_bytes, SnapshotRow.created_at, SnapshotRow.deleted_at).where(
            SnapshotRow.tenant_id == tenant_id,
            SnapshotRow.created_at <= end,
            (SnapshotRow.deleted_at.is_(None)) | (SnapshotRow.deleted_at >= start),
        )
    )
    return [(int(size), created, deleted) for size, created, deleted in rows.all()]


async def snapshots_created_between(session: AsyncSession, tenant_id: str, start: datetime, end: datetime) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(SnapshotRow)
        .where(SnapshotRow.tenant_id == tenant_id, SnapshotRow.created_at >= start, SnapshotRow.created_at <= end)
    )
    return int(count or 0)


async def get_branch(session: AsyncSession, tenant_id: str, branch_id: str) -> BranchRow | None:
    return await session.scalar(select(BranchRow).where(BranchRow.id == branch_id, BranchRow.tenant_id == tenant_id))


async def get_branches(session: AsyncSession, tenant_id: str, branch_ids: Sequence[str]) -> dict[str, BranchRow]:
    rows = await session.scalars(
        select(BranchRow).where(BranchRow.id.in_(list(branch_ids)), BranchRow.tenant_id == tenant_id)
    )
    return {row.id: row for row in rows}


async def list_branches(
    session: AsyncSession,
    tenant_id: str,
    *,
    snapshot_id: str | None,
    parent_branch: str | None,
    limit: int,
    offset: int,
) -> tuple[Sequence[BranchRow], int]:
    """A page of the tenant's branches, newest first; ``snapshot_id`` matches the base or the head."""
    where: list[ColumnElement[bool]] = [BranchRow.tenant_id == tenant_id]
    if snapshot_id is not None:
        where.append((BranchRow.snapshot_id == snapshot_id) | (BranchRow.head_snapshot_id == snapshot_id))
    if parent_branch is not None:
        where.append(BranchRow.parent_branch == parent_branch)
    total = await session.scalar(select(func.count()).select_from(BranchRow).where(*where))
    rows = await session.scalars(
        select(BranchRow).where(*where).order_by(BranchRow.created_at.desc(), BranchRow.id).limit(limit).offset(offset)
    )
    return rows.all(), int(total or 0)


async def branches_needing(session: AsyncSession, tenant_id: str, snapshot_id: str) -> list[str]:
    """Branches whose head is ``snapshot_id`` (they would lose their state without it)."""
    rows = await session.scalars(
        select(BranchRow.id).where(BranchRow.tenant_id == tenant_id, BranchRow.head_snapshot_id == snapshot_id)
    )
    return list(rows)


async def delete_branches(session: AsyncSession, branch_ids: Sequence[str]) -> None:
    for row in await session.scalars(select(BranchRow).where(BranchRow.id.in_(list(branch_ids)))):
        await session.delete(row)


async def advance_branch(
    session: AsyncSession, tenant_id: str, branch_id: str, *, from_head: str, to_head: str, at: datetime
) -> bool:
    """Move a branch's head if it is still ``from_head``; False when another commit moved it first."""
    result = await session.execute(
        update(BranchRow)
        .where(BranchRow.id == branch_id, BranchRow.tenant_id == tenant_id, BranchRow.head_snapshot_id == from_head)
        .values(head_snapshot_id=to_head, updated_at=at)
    )
    return bool(getattr(result, "rowcount", 0))
