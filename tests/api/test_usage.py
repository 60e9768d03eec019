"""GET /usage and /usage/current, and credits: charged per execution, refused at zero."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from service import Node
from store import ExecutionRow
from tests.api.test_errors import assert_envelope
from tests.conftest import run

MODES = {"ephemeral", "cached", "checkpointed", "branched", "persistent"}


async def tenant_client(client: httpx.AsyncClient, node: Node, **options: Any) -> AsyncIterator[httpx.AsyncClient]:
    created = await node.api_keys.create_key("usage test", **options)
    async with httpx.AsyncClient(
        transport=client._transport, base_url="http://node", headers={"X-API-Key": created.key}, timeout=120
    ) as http:
        yield http


@pytest.fixture
async def fresh(client: httpx.AsyncClient, node: Node) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a brand-new tenant with the default credits."""
    async for http in tenant_client(client, node):
        yield http


@pytest.fixture
async def broke(client: httpx.AsyncClient, node: Node) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a brand-new tenant without credits."""
    async for http in tenant_client(client, node, credits=0.0):
        yield http


async def usage(http: httpx.AsyncClient, **params: str) -> dict[str, Any]:
    response = await http.get("/api/v1/usage", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_usage_totals_match_the_executions_and_credits_drop_by_their_cost(fresh: httpx.AsyncClient) -> None:
    before = (await fresh.get("/api/v1/usage/current")).json()["current_balance"]
    assert before == 100.0
    runs = [
        await run(fresh, "print(sum(range(10**6)))"),
        await run(fresh, "raise SystemExit(3)"),
        await run(fresh, "while True: pass", resources={"timeout_ms": 1000}),
        await run(fresh, "print('cache me')", mode="cached"),
        await run(fresh, "print('cache me')", mode="cached"),
    ]
    assert [response.status_code for response in runs] == [200, 200, 408, 200, 200]
    finished = [response.json() for response in runs if response.status_code == 200]
    timed_out = (await fresh.get(f"/api/v1/executions/{runs[2].json()['error']['details']['execution_id']}")).json()
    records = [*finished, timed_out]
    assert [record["status"] for record in records] == ["completed", "failed", "completed", "completed", "timeout"]
    assert records[3]["cached"] and records[3]["cost"]["total"] == 0.0

    body = await usage(fresh)
    executions = body["executions"]
    assert (executions["total_count"], executions["successful_count"], executions["failed_count"]) == (5, 3, 2)
    assert executions["by_mode"] == {"ephemeral": 3, "cached": 2, "checkpointed": 0, "branched": 0, "persistent": 0}
    assert executions["cpu_seconds"] == pytest.approx(sum(record["usage"]["cpu_seconds"] for record in records))
    assert timed_out["usage"]["cpu_seconds"] > 0.2  # the busy loop burnt CPU until it was killed
    total_cost = sum(record["cost"]["total"] for record in records)
    assert body["costs"]["total_cost"] == pytest.approx(total_cost) and total_cost > 0
    assert body["costs"]["compute_cost"] == pytest.approx(total_cost)
    assert body["costs"]["credits_remaining"] == pytest.approx(before - total_cost, abs=1e-12)
    current = (await fresh.get("/api/v1/usage/current")).json()
    assert current["current_balance"] == pytest.approx(before - total_cost, abs=1e-12)


async def test_usage_has_every_field_of_the_spec_as_numbers(fresh: httpx.AsyncClient) -> None:
    body = await usage(fresh)
    assert set(body) == {"period_start", "period_end", "executions", "storage", "network", "costs"}
    assert set(body["executions"]) == {
        "total_count",
        "successful_count",
        "failed_count",
        "cpu_seconds",
        "memory_gb_seconds",
        "by_mode",
    }
    assert set(body["executions"]["by_mode"]) == MODES
    assert body["storage"] == {"snapshots_created": 0, "total_gb_stored": 0}
    assert body["network"] == {"ingress_gb": 0, "egress_gb": 0}
    assert set(body["costs"]) == {"compute_cost", "storage_cost", "network_cost", "total_cost", "credits_remaining"}
    numbers = [*body["storage"].values(), *body["network"].values(), *body["costs"].values()]
    assert all(isinstance(value, int | float) for value in numbers)
    now = datetime.now(UTC)
    start, end = datetime.fromisoformat(body["period_start"]), datetime.fromisoformat(body["period_end"])
    assert start == now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    assert start < now < end and (end + timedelta(microseconds=1)).day == 1

    current = (await fresh.get("/api/v1/usage/current")).json()
    assert current == {
        "current_balance": 100.0,
        "pending_charges": 0.0,
        "rate_limit_remaining": current["rate_limit_remaining"],
        "storage_used_bytes": 0,
        "active_executions": 0,
    }
    assert isinstance(current["rate_limit_remaining"], int) and current["rate_limit_remaining"] > 0


async def test_date_filters_select_the_executions_of_the_period(fresh: httpx.AsyncClient) -> None:
    response = await run(fresh, "print(1)")
    created = datetime.fromisoformat(response.json()["created_at"])
    day = created.date().isoformat()
    assert (await usage(fresh, start_date=day, end_date=day))["executions"]["total_count"] == 1
    later = (created + timedelta(seconds=1)).isoformat()
    assert (await usage(fresh, start_date=later))["executions"]["total_count"] == 0
    earlier = (created - timedelta(seconds=1)).isoformat().replace("+00:00", "Z")
    assert (await usage(fresh, end_date=earlier))["executions"]["total_count"] == 0
    last_year = await usage(fresh, start_date="2020-01-01", end_date="2020-12-31T23:59:59Z")
    assert last_year["executions"]["total_count"] == 0
    assert last_year["period_start"].startswith("2020-01-01T00:00:00")


@pytest.mark.parametrize(
    "params",
    [{"start_date": "yesterday"}, {"end_date": "2024-13-01"}, {"start_date": "2024-02-01", "end_date": "2024-01-01"}],
)
async def test_bad_periods_are_invalid_request(fresh: httpx.AsyncClient, params: dict[str, str]) -> None:
    assert_envelope(await fresh.get("/api/v1/usage", params=params), 400, "INVALID_REQUEST")


async def test_a_tenant_without_credits_is_refused_before_anything_runs(
    broke: httpx.AsyncClient, node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox_runs: list[object] = []
    real_execute = node.executor.execute

    async def spy(*args: Any, **kwargs: Any) -> Any:
        sandbox_runs.append(args)
        return await real_execute(*args, **kwargs)

    monkeypatch.setattr(node.executor, "execute", spy)
    for mode in ("ephemeral", "cached"):
        response = await run(broke, "print('should not run')", mode=mode)
        error = assert_envelope(response, 402, "PAYMENT_REQUIRED")
        assert error["details"]["credits_remaining"] == 0
    assert sandbox_runs == []
    tenant = (await node.api_keys.authenticate(broke.headers["X-API-Key"])).tenant_id
    async with node.database.session() as session:
        count = await session.scalar(
            select(func.count()).select_from(ExecutionRow).where(ExecutionRow.tenant_id == tenant)
        )
    assert count == 0
    assert (await usage(broke))["executions"]["total_count"] == 0
    assert (await broke.get("/api/v1/usage/current")).json()["current_balance"] == 0


async def test_usage_is_per_tenant(fresh: httpx.AsyncClient, client: httpx.AsyncClient) -> None:
    await run(client, "print('tenant a')")
    assert (await usage(fresh))["executions"]["total_count"] == 0


async def test_running_executions_show_as_pending_charges_until_charged(fresh: httpx.AsyncClient) -> None:
    code = "import time\nend = time.time() + 1.5\nwhile time.time() < end:\n    pass\nprint('done')"
    started = await run(fresh, code, **{"async": True})
    assert started.status_code == 202
    await asyncio.sleep(0.8)  # the program is burning CPU now
    during = (await fresh.get("/api/v1/usage/current")).json()
    assert during["active_executions"] == 1
    assert during["pending_charges"] > 0
    assert during["current_balance"] == 100.0  # not charged yet
    for _ in range(100):
        record = (await fresh.get(f"/api/v1/executions/{started.json()['execution_id']}")).json()
        if record["status"] != "running":
            break
        await asyncio.sleep(0.1)
    after = (await fresh.get("/api/v1/usage/current")).json()
    assert (after["active_executions"], after["pending_charges"]) == (0, 0.0)
    assert after["current_balance"] == pytest.approx(100.0 - record["cost"]["total"], abs=1e-12)
    assert record["cost"]["total"] >= during["pending_charges"]
