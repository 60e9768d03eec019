"""Shared fixtures: a real node (real Docker engine, real database) behind the ASGI app."""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from hypothesis import settings as hypothesis_settings

from api import create_app
from provisioning import criu
from provisioning.docker_api import DockerEngine
from service import Node, Settings

# In CI, property tests draw the same examples every run: a failure is then a regression, never a lottery.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

KEY_A = "test-key-tenant-a"
KEY_B = "test-key-tenant-b"
POSTGRES_URL = os.environ.get("FAAS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def require_docker() -> None:
    with DockerEngine() as engine:
        if not engine.ping():
            pytest.fail("the Docker engine is not running: run `faas setup` (./run test does) before the tests")


@pytest.fixture(scope="session")
def criu_ready(require_docker: None) -> None:
    try:
        good, output = criu.check()
    except OSError as exc:
        pytest.fail(f"CRIU is not usable ({exc}): run `faas setup` to install CRIU 4.1+ before the tests")
    if not good:
        pytest.fail(f"`criu check` failed: {output.strip()[-500:]} -- run `faas setup`")


def node_settings(data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "api_keys": f"{KEY_A},{KEY_B}",
        "pool_sizes": {"python": 2, "javascript": 1, "go": 1, "rust": 1},
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session")
async def app(require_docker: None, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FastAPI]:
    application = create_app(node_settings(tmp_path_factory.mktemp("node")))
    async with LifespanManager(application, startup_timeout=120, shutdown_timeout=60):
        yield application


@pytest.fixture(scope="session")
def node(app: FastAPI) -> Node:
    result: Node = app.state.node
    return result


@pytest.fixture(scope="session")
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://node",
        headers={"Authorization": f"Bearer {KEY_A}"},
        timeout=120,
    ) as http:
        yield http


def b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


async def run(client: httpx.AsyncClient, code: str, language: str = "python", **fields: Any) -> httpx.Response:
    return await client.post("/api/v1/execute", json={"code": code, "language": language, **fields})


async def run_ok(client: httpx.AsyncClient, code: str, language: str = "python", **fields: Any) -> dict[str, Any]:
    response = await run(client, code, language, **fields)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
