"""Usage reports of one tenant (GET /usage and /usage/current)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from service.billing import BillingService
from service.config import Settings
from service.errors import InvalidRequest
from service.pricing import GIB
from service.requests import MODES
from store import Database
from store import snapshots as stored_snapshots
from store import usage as stored
from store.usage import ExecutionTotals

MONTH_SECONDS = 30 * 24 * 3600


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


def storage_cost(
    held: list[tuple[int, datetime, datetime | None]], period: Period, now: datetime, price_per_gb_month: float
) -> float:
    """What holding snapshots ``(size_bytes, created_at, deleted_at)`` cost within the period, up to ``now``."""
    end = min(period.end, now)
    gb_seconds = 0.0
    for size, created, deleted in held:
        stop = min(deleted, end) if deleted is not None else end
        seconds = (stop - max(created, period.start)).total_seconds()
        gb_seconds += size / GIB * max(seconds, 0.0)
    return round(gb_seconds / MONTH_SECONDS * price_per_gb_month, 8)


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

    def __init__(self, database: Database, billing: BillingService, settings: Settings) -> None:
        self.database = database
        self.billing = billing
        self.settings = settings

    async def report(self, tenant_id: str, period: Period, *, now: datetime | None = None) -> UsageReport:
        """Usage of the tenant's executions created within the period, and of its snapshot storage.

        ``total_gb_stored`` is what the tenant's snapshots hold now; ``storage_cost`` charges each
        snapshot's size for the part of the period it was held (GB-months of 30 days). Network is
        zero: sandboxes have no network.
        """
        now = now or datetime.now(UTC)
        async with self.database.session() as session:
            totals = await stored.execution_totals(session, tenant_id, period.start, period.end)
            created = await stored_snapshots.snapshots_created_between(session, tenant_id, period.start, period.end)
            held = await stored_snapshots.snapshots_held_during(session, tenant_id, period.start, period.end)
            used = await stored_snapshots.storage_used_bytes(session, tenant_id)
        by_mode = {mode: totals.by_mode.get(mode, 0) for mode in MODES}
        return UsageReport(
            period=period,
            executions=dataclasses.replace(totals, by_mode=by_mode),
            snapshots_created=created,
            total_gb_stored=round(used / GIB, 9),
            ingress_gb=0.0,
            egress_gb=0.0,
            storage_cost=storage_cost(held, period, now, self.settings.price_per_gb_month_stored),
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

        ``storage_used_bytes`` is what the tenant's snapshots hold in the snapshot store.
        """
        async with self.database.session() as session:
            used = await stored_snapshots.storage_used_bytes(session, tenant_id)
        return CurrentUsage(
            current_balance=await self.billing.balance(tenant_id),
            pending_charges=pending_charges,
            rate_limit_remaining=rate_limit_remaining,
            storage_used_bytes=used,
            active_executions=active_executions,
        )
