"""Rate limits as API.md states them: headers, 429 with details and Retry-After, per-key limits,
concurrent executions, and one limit shared by two API processes through Redis."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from service import Node
from tests.cli.test_serve import Server
from tests.conftest import run

REDIS_URL = os.environ.get("FAAS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def away_from_a_minute_boundary(margin_s: float = 8.0) -> None:
    """Minute windows are aligned to the clock: keep a short test inside one window."""
    into_minute = time.time() % 60
    if into_minute > 60 - margin_s:
        time.sleep(60 - into_minute + 0.1)


async def keyed_client(client: httpx.AsyncClient, node: Node, **limits: int) -> httpx.AsyncClient:
    created = await node.api_keys.create_key("rate-limit test", **limits)  # type: ignore[arg-type]
    return httpx.AsyncClient(
        transport=client._transport, base_url="http://node", headers={"X-API-Key": created.key}, timeout=60
    )


async def test_every_authenticated_response_carries_the_limit_headers(client: httpx.AsyncClient) -> None:
    for response in (
        await client.get("/api/v1/usage/current"),
        await client.get("/api/v1/executions/exec_missing"),  # an error response too
        await run(client, "print(1)"),
    ):
        assert int(response.headers["X-RateLimit-Limit"]) in (100, 1000)
        assert 0 <= int(response.headers["X-RateLimit-Remaining"]) < 1000
        assert int(response.headers["X-RateLimit-Reset"]) > time.time()


async def test_over_the_limit_is_429_with_details_and_retry_after(client: httpx.AsyncClient, node: Node) -> None:
    away_from_a_minute_boundary()
    async with await keyed_client(client, node, requests_per_minute=3) as limited:
        statuses = [(await limited.get("/api/v1/usage/current")).status_code for _ in range(3)]
        refused = await limited.get("/api/v1/usage/current")
    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "RATE_LIMIT_EXCEEDED"
    assert error["details"]["limit"] == 3 and error["details"]["remaining"] == 0
    assert error["details"]["reset_at"].endswith("Z")
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    # another key is not affected
    assert (await client.get("/api/v1/usage/current")).status_code == 200


async def test_concurrent_executions_per_key_are_limited(client: httpx.AsyncClient, node: Node) -> None:
    async with await keyed_client(client, node, max_concurrent_executions=1) as limited:
        started = await limited.post(
            "/api/v1/execute",
            json={"code": "import time; time.sleep(2)", "language": "python", "async": True},
        )
        assert started.status_code == 202
        refused = await limited.post("/api/v1/execute", json={"code": "print(1)", "language": "python"})
        assert refused.status_code == 429
        assert "already running" in refused.json()["error"]["message"]
        assert refused.json()["error"]["details"]["active"] == 1
        # the slot comes back when the first execution ends (about 2 s)
        for _ in range(100):
            again = await limited.post("/api/v1/execute", json={"code": "print(1)", "language": "python"})
            if again.status_code != 429:
                break
            await asyncio.sleep(0.1)
        assert again.status_code == 200


@pytest.fixture
def shared_redis_servers(tmp_path: Path, require_docker: None) -> Iterator[list[Server]]:
    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis is not reachable at {REDIS_URL}: {exc}")
    shared = {
        "FAAS_API_KEYS": "shared-limit-key-0123456789",
        "FAAS_REDIS_URL": REDIS_URL,
        "FAAS_RATE_LIMIT_PER_MINUTE": "6",
        "FAAS_DATABASE_URL": f"sqlite:///{tmp_path / 'shared.sqlite3'}",
    }
    servers: list[Server] = []
    try:
        for name in ("one", "two"):
            (tmp_path / name).mkdir()
            servers.append(Server(tmp_path / name, shared))
        yield servers
    finally:
        for server in servers:
            server.stop()


def test_two_api_processes_share_one_limit_through_redis(shared_redis_servers: list[Server]) -> None:
    away_from_a_minute_boundary()
    headers = {"X-API-Key": "shared-limit-key-0123456789"}
    statuses = [
        httpx.get(f"{shared_redis_servers[i % 2].url}/usage/current", headers=headers, timeout=10).status_code
        for i in range(10)
    ]
    assert statuses.count(200) == 6 and statuses.count(429) == 4
    assert statuses[:6] == [200] * 6
