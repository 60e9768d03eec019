"""API keys and the tenants they belong to."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import ApiKeyRow, TenantRow


async def find_active_key(session: AsyncSession, key_hash: str) -> ApiKeyRow | None:
    row = await session.scalar(select(ApiKeyRow).where(ApiKeyRow.key_hash == key_hash))
    if row is None or row.revoked_at is not None:
        return None
    return row


async def count_active_keys(session: AsyncSession) -> int:
    count = await session.scalar(select(func.count()).select_from(ApiKeyRow).where(ApiKeyRow.revoked_at.is_(None)))
    return int(count or 0)


async def add_tenant_with_key(
    session: AsyncSession, *, tenant_id: str, key_id: str, name: str, key_hash: str, prefix: str, scopes: list[str]
) -> ApiKeyRow:
    now = datetime.now(UTC)
    session.add(TenantRow(id=tenant_id, name=name, created_at=now))
    await session.flush()
    key = ApiKeyRow(
        id=key_id, tenant_id=tenant_id, name=name, key_hash=key_hash, prefix=prefix, scopes=scopes, created_at=now
    )
    session.add(key)
    return key
