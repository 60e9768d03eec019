"""GET /usage and /usage/current: the caller's tenant's usage and credits."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import NodeDep, ReadPrincipalDep
from api.schemas import (
    CostsOut,
    CurrentUsageOut,
    ErrorOut,
    ExecutionsByModeOut,
    ExecutionUsageOut,
    NetworkUsageOut,
    StorageUsageOut,
    UsageReportOut,
)
from service import Node, Principal, UsageReport, parse_period

router = APIRouter(tags=["usage"])

ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorOut, "description": "Unparsable dates, or start after end"},
    401: {"model": ErrorOut, "description": "Invalid or missing API key"},
    403: {"model": ErrorOut, "description": "The API key lacks the read scope"},
}


async def rate_limit_remaining(node: Node, principal: Principal) -> int:
    """Requests the key may still make in its tightest window (minute or hour), without counting one."""
    return (await node.rate_limiter.peek(principal.key_id, node.limits_for(principal))).remaining


def active_executions(node: Node, principal: Principal) -> int:
    """The tenant's executions running now on this node."""
    return node.executions.live.running_count(principal.tenant_id)


def to_report_out(report: UsageReport) -> UsageReportOut:
    totals = report.executions
    return UsageReportOut(
        period_start=report.period.start,
        period_end=report.period.end,
        executions=ExecutionUsageOut(
            total_count=totals.total_count,
            successful_count=totals.successful_count,
            failed_count=totals.failed_count,
            cpu_seconds=totals.cpu_seconds,
            memory_gb_seconds=totals.memory_gb_seconds,
            by_mode=ExecutionsByModeOut(**totals.by_mode),
        ),
        storage=StorageUsageOut(snapshots_created=report.snapshots_created, total_gb_stored=report.total_gb_stored),
        network=NetworkUsageOut(ingress_gb=report.ingress_gb, egress_gb=report.egress_gb),
        costs=CostsOut(
            compute_cost=totals.compute_cost,
            storage_cost=report.storage_cost,
            network_cost=report.network_cost,
            total_cost=totals.total_cost + report.storage_cost + report.network_cost,
            credits_remaining=report.credits_remaining,
        ),
    )


@router.get("/usage", response_model=UsageReportOut, responses=ERRORS, summary="Usage over a period")
async def usage(
    node: NodeDep,
    principal: ReadPrincipalDep,
    start_date: Annotated[str | None, Query(description="ISO 8601 start (default: this month's first day)")] = None,
    end_date: Annotated[str | None, Query(description="ISO 8601 end, included (default: this month's end)")] = None,
) -> UsageReportOut:
    """The caller's tenant's executions, costs and credits for the period (UTC)."""
    period = parse_period(start_date, end_date, now=datetime.now(UTC))
    return to_report_out(await node.usage.report(principal.tenant_id, period))


@router.get("/usage/current", response_model=CurrentUsageOut, responses=ERRORS, summary="Current usage")
async def current_usage(node: NodeDep, principal: ReadPrincipalDep) -> CurrentUsageOut:
    """The caller's tenant's balance and activity now."""
    current = await node.usage.current(
        principal.tenant_id,
        rate_limit_remaining=await rate_limit_remaining(node, principal),
        active_executions=active_executions(node, principal),
        pending_charges=node.executions.pending_charges(principal.tenant_id),
    )
    return CurrentUsageOut(**asdict(current))
