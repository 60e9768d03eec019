"""Helpers of the API tests that run a node of their own with live contexts (instances, snapshots,
endpoints, files): no warm pools, rate limits out of the way, clients under /api/v1."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from api import create_app
from service import Settings
from tests.conftest import node_settings

NO_POOLS = {"python": 0, "javascript": 0, "go": 0, "rust": 0}


def stateful_settings(data_dir: Path, **overrides: Any) -> Settings:
    """A node for many requests: its rate limits have tests of their own."""
    values: dict[str, Any] = {
        "pool_sizes": NO_POOLS,
        "rate_limit_per_minute": 10_000,
        "rate_limit_per_hour": 100_000,
        **overrides,
    }
    return node_settings(data_dir, **values)


@contextlib.asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with LifespanManager(application, startup_timeout=120, shutdown_timeout=60):
        yield application


def http_client(app: FastAPI, key: str | None) -> httpx.AsyncClient:
    """A client of ``app``'s /api/v1, authenticated with ``key`` (none when None)."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://node/api/v1",
        headers={"Authorization": f"Bearer {key}"} if key else {},
        timeout=120,
    )


async def call(api: httpx.AsyncClient, method: str, path: str, status: int = 200, **kwargs: Any) -> dict[str, Any]:
    """The JSON body of a request that must answer ``status``."""
    response = await api.request(method, path, **kwargs)
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body
