"""Tenant balances and the credit ledger that explains every change to them."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import CreditLedgerRow, TenantRow


def add_entry(
    session: AsyncSession,
    *,
    tenant_id: str,
    reason: str,
    amount: float,
    balance_after: float,
    execution_id: str | None = None,
) -> None:
    session.add(
        CreditLedgerRow(
            tenant_id=tenant_id,
            execution_id=execution_id,
            reason=reason,
            amount=amount,
            balance_after=balance_after,
            created_at=datetime.now(UTC),
        )
    )


async def balance(session: AsyncSession, tenant_id: str) -> float | None:
    """The tenant's credits, or None for an unknown tenant."""
    value = await session.scalar(select(TenantRow.credits).where(TenantRow.id == tenant_id))
    return None if value is None else float(value)


async def debit_execution(session: AsyncSession, tenant_id: str, execution_id: str, amount: float) -> float:
    """Take an execution's cost from its tenant, in the caller's transaction; returns the new balance.

    The decrement happens in SQL (``credits = credits - amount``), so concurrent charges never
    lose an update: PostgreSQL locks the row, SQLite serialises writers.
    """
    new_balance = await session.scalar(
        update(TenantRow)
        .where(TenantRow.id == tenant_id)
        .values(credits=TenantRow.credits - amount)
        .returning(TenantRow.credits)
    )
    assert new_balance is not None, f"unknown tenant {tenant_id}"
    add_entry(
        session,
        tenant_id=tenant_id,
        reason="execution",
        amount=-amount,
        balance_after=float(new_balance),
        execution_id=execution_id,
    )
    return float(new_balance)


async def ledger(session: AsyncSession, tenant_id: str) -> list[CreditLedgerRow]:
    return list(
        await session.scalars(
            select(CreditLedgerRow).where(CreditLedgerRow.tenant_id == tenant_id).order_by(CreditLedgerRow.id)
        )
    )
