"""API keys and the tenants they belong to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store import billing
from store.models import ApiKeyRow, TenantRow


@dataclass(frozen=True)
class NewKey:
    """What is stored for a new key (its hash, never the key)."""

    key_id: str
    name: str
    key_hash: str
    prefix: str
    scopes: list[str]
    requests_per_minute: int | None = None
    requests_per_hour: int | None = None
    max_concurrent_executions: int | None = None


async def find_active_key_with_credits(session: AsyncSession, key_hash: str) -> tuple[ApiKeyRow, float] | None:
    """The active key and its tenant's balance, in one query (the request path's only read)."""
    found = (
        await session.execute(
            select(ApiKeyRow, TenantRow.credits)
            .join(TenantRow, TenantRow.id == ApiKeyRow.tenant_id)
            .where(ApiKeyRow.key_hash == key_hash, ApiKeyRow.revoked_at.is_(None))
        )
    ).first()
    return None if found is None else (found[0], float(found[1]))


async def count_active_keys(session: AsyncSession) -> int:
    count = await session.scalar(select(func.count()).select_from(ApiKeyRow).where(ApiKeyRow.revoked_at.is_(None)))
    return int(count or 0)


async def get_tenant(session: AsyncSession, tenant_id: str) -> TenantRow | None:
    return await session.get(TenantRow, tenant_id)


async def add_tenant(session: AsyncSession, *, tenant_id: str, name: str, credits: float) -> TenantRow:
    """A tenant with an opening balance, recorded in the ledger."""
    now = datetime.now(UTC)
    tenant = TenantRow(id=tenant_id, name=name, created_at=now, credits=credits)
    session.add(tenant)
    await session.flush()
    billing.add_entry(session, tenant_id=tenant_id, reason="opening balance", amount=credits, balance_after=credits)
    return tenant


async def add_key(session: AsyncSession, tenant_id: str, key: NewKey) -> ApiKeyRow:
    row = ApiKeyRow(
        id=key.key_id,
        tenant_id=tenant_id,
        name=key.name,
        key_hash=key.key_hash,
        prefix=key.prefix,
        scopes=key.scopes,
        created_at=datetime.now(UTC),
        requests_per_minute=key.requests_per_minute,
        requests_per_hour=key.requests_per_hour,
        max_concurrent_executions=key.max_concurrent_executions,
    )
    session.add(row)
    await session.flush()
    return row


async def add_tenant_with_key(
    session: AsyncSession,
    *,
    tenant_id: str,
    key_id: str,
    name: str,
    key_hash: str,
    prefix: str,
    scopes: list[str],
    credits: float = 100.0,
) -> ApiKeyRow:
    await add_tenant(session, tenant_id=tenant_id, name=name, credits=credits)
    return await add_key(
        session, tenant_id, NewKey(key_id=key_id, name=name, key_hash=key_hash, prefix=prefix, scopes=scopes)
    )


async def list_keys(session: AsyncSession) -> list[tuple[ApiKeyRow, float]]:
    """Every key, revoked ones too, with its tenant's balance; oldest first."""
    rows = await session.execute(
        select(ApiKeyRow, TenantRow.credits)
        .join(TenantRow, TenantRow.id == ApiKeyRow.tenant_id)
        .order_by(ApiKeyRow.created_at, ApiKeyRow.id)
    )
    return [(key, float(credits)) for key, credits in rows.all()]


async def revoke_key(session: AsyncSession, key_id: str) -> bool:
    """Mark a key revoked (idempotent); False when no such key exists."""
    row = await session.get(ApiKeyRow, key_id)
    if row is None:
        return False
    await session.execute(
        update(ApiKeyRow)
        .where(ApiKeyRow.id == key_id, ApiKeyRow.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )
    return True
