"""Credits: every tenant holds a balance; each finished execution is debited from it.

Balances change only together with a ``credit_ledger`` row (opening balance, execution charge),
in the same transaction, so the ledger always explains the balance. An execution is charged
after it ran, so one execution may take a balance below zero; from then on the tenant gets
``PaymentRequired`` before anything runs.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from service.errors import PaymentRequired
from store import Database
from store import billing as stored


class BillingService:
    """Reads and debits tenants' credits."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def balance(self, tenant_id: str) -> float:
        """The tenant's credits (0 for an unknown tenant)."""
        async with self.database.session() as session:
            return await stored.balance(session, tenant_id) or 0.0

    async def ensure_can_pay(self, tenant_id: str, *, known_balance: float | None = None) -> None:
        """Raises PaymentRequired when the tenant's balance is at or below zero.

        ``known_balance``: a balance the caller read moments ago in the same request (skips a read).
        """
        balance = known_balance if known_balance is not None else await self.balance(tenant_id)
        if balance <= 0:
            raise PaymentRequired(
                f"insufficient balance: {balance:.8f} credits remaining; add credits to run code",
                details={"credits_remaining": balance},
            )

    @staticmethod
    async def charge_execution(session: AsyncSession, tenant_id: str, execution_id: str, amount: float) -> float:
        """Debit an execution's cost inside the caller's transaction (the one recording it); returns the balance."""
        return await stored.debit_execution(session, tenant_id, execution_id, amount)
