"""Usage reports of one tenant (GET /usage and /usage/current)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from service.billing import BillingService
from service.errors import InvalidRequest
from service.requests import MODES
from store import Database
from store import usage as stored
from store.usage import ExecutionTotals


@dataclass(frozen=True)
class Period:
    """From ``start`` to ``end``, both included, in UTC."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class UsageReport:
    period: Period
    executions: ExecutionTotals
    """``by_mode`` holds every mode of ``MODES``, 0 when none ran."""
    snapshots_created: int
    total_gb_stored: float
    ingress_gb: float
    egress_gb: float
    storage_cost: float
    network_cost: float
    credits_remaining: float


@dataclass(frozen=True)
class CurrentUsage:
    current_balance: float
    pending_charges: float
    rate_limit_remaining: int
    storage_used_bytes: int
    active_executions: int


def _parse_instant(text: str, name: str, *, end_of_day: bool) -> datetime:
    try:
        if len(text) == 10:  # a calendar date: the whole day
            day = date.fromisoformat(text)
            return datetime.combine(day, time.max if end_of_day else time.min, tzinfo=UTC)
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidRequest(f"{name} is not an ISO 8601 date or date-time: {text!r}", details={"field": name}) from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def month_of(now: datetime) -> Period:
    """The calendar month (UTC) that ``now`` falls in."""
    start = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    next_month = (start + timedelta(days=32)).replace(day=1)
    return Period(start=start, end=next_month - timedelta(microseconds=1))


def parse_period(start_date: str | None, end_date: str | None, *, now: datetime) -> Period:
    """The period of a usage query: given bounds (naive times are UTC; a bare end date includes that day),
    the current calendar month for missing ones.

    Raises:
        InvalidRequest: a bound is not ISO 8601, or the start is after the end.
    """
    default = month_of(now)
    start = _parse_instant(start_date, "start_date", end_of_day=False) if start_date else default.start
    end = _parse_instant(end_date, "end_date", end_of_day=True) if end_date else default.end
    if start > end:
        raise InvalidRequest(
            "start_date is after end_date",
            details={"start_date": start.isoformat(), "end_date": end.isoformat()},
        )
    return Period(start=start, end=end)


class UsageService:
    """Aggregates a tenant's executions and credits."""

    def __init__(self, database: Database, billing: BillingService) -> None:
        self.database = database
        self.billing = billing

    async def report(self, tenant_id: str, period: Period) -> UsageReport:
        """Usage of the tenant's executions created within the period.

        Storage and network are zero: snapshots do not exist yet (the artefact cache is the node's,
        not billed) and sandboxes have no network.
        """
        async with self.database.session() as session:
            totals = await stored.execution_totals(session, tenant_id, period.start, period.end)
        by_mode = {mode: totals.by_mode.get(mode, 0) for mode in MODES}
        return UsageReport(
            period=period,
            executions=dataclasses.replace(totals, by_mode=by_mode),
            snapshots_created=0,
            total_gb_stored=0.0,
            ingress_gb=0.0,
            egress_gb=0.0,
            storage_cost=0.0,
            network_cost=0.0,
            credits_remaining=await self.billing.balance(tenant_id),
        )

    async def current(
        self, tenant_id: str, *, rate_limit_remaining: int, active_executions: int, pending_charges: float
    ) -> CurrentUsage:
        """The tenant's balance now.

        Args:
            rate_limit_remaining: requests the caller's key may still make in its tighter window
                (minute or hour; from the rate limiter).
            active_executions: the tenant's executions running now (executions are recorded only
                when they finish, so the caller counts them).
            pending_charges: what those running executions cost so far (charged when they finish).

        ``storage_used_bytes`` is 0: the only stored data billed per tenant will be snapshots,
        which do not exist yet.
        """
        return CurrentUsage(
            current_balance=await self.billing.balance(tenant_id),
            pending_charges=pending_charges,
            rate_limit_remaining=rate_limit_remaining,
            storage_used_bytes=0,
            active_executions=active_executions,
        )
