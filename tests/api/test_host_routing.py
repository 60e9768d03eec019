"""Host-based URLs of exposed services (FAAS_PROXY_DOMAIN), on real Docker and CRIU."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI

from api.host_routing import service_host
from tests.api.stateful import call, http_client, running_app, stateful_settings
from tests.api.test_endpoints import SERVERS
from tests.conftest import KEY_A, KEY_B

pytestmark = pytest.mark.usefixtures("criu_ready")

DOMAIN = "faas.test"


@pytest.fixture(scope="module")
async def host_app(require_docker: None, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FastAPI]:
    settings = stateful_settings(
        tmp_path_factory.mktemp("host-node"), proxy_domain=DOMAIN, public_url="https://node.faas.test:8443"
    )
    async with running_app(settings) as application:
        yield application


def on_host(app: FastAPI, url: str, key: str | None = None) -> httpx.AsyncClient:
    parts = urlsplit(url)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url=f"{parts.scheme}://{parts.netloc}",
        headers={"Authorization": f"Bearer {key}"} if key else {},
        timeout=60,
    )


async def test_a_service_gets_a_host_of_its_own(host_app: FastAPI) -> None:
    async with http_client(host_app, KEY_A) as api:
        created = await call(
            api, "POST", "/instances", 201, json={"language": "python", "resources": {"memory_mb": 256}}
        )
        instance_id = created["instance_id"]
        await call(api, "POST", "/execute", json={"instance_id": instance_id, "language": "python", "code": SERVERS})
        await asyncio.sleep(0.5)
        exposed = await call(api, "POST", f"/instances/{instance_id}/expose", 201, json={"name": "web", "port": 8000})
        url = exposed["url"]
        assert url.startswith(f"https://{service_host('web', instance_id, DOMAIN)}:8443/?token=")
        token = url.rsplit("token=", 1)[1]
        async with on_host(host_app, url) as browser:
            page = await browser.get(f"/hello.txt?token={token}")
            assert page.status_code == 200 and page.text == "hello from inside\n"
            # Links the app built with the forwarded prefix land on the same service.
            prefixed = await browser.get(f"/api/v1/proxy/{instance_id}/web/hello.txt?token={token}")
            assert prefixed.text == "hello from inside\n"
            assert (await browser.get("/hello.txt")).status_code == 401
            assert (await browser.get("/hello.txt?token=wrong")).status_code == 404
        async with on_host(host_app, url, KEY_A) as owner:
            assert (await owner.get("/hello.txt")).text == "hello from inside\n"
        async with on_host(host_app, url, KEY_B) as stranger:
            assert (await stranger.get("/hello.txt")).status_code == 404
        # Hosts of the domain that are no service's, and other hosts, reach the API as usual.
        async with on_host(host_app, f"https://nothing.{DOMAIN}/", KEY_A) as other:
            assert (await other.get("/api/v1/health")).status_code == 200
        await call(api, "POST", f"/instances/{instance_id}/stop")
