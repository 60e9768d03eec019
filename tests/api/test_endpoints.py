"""Exposed HTTP services and TCP port forwards of instances, on real Docker and CRIU."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.api.stateful import http_client, running_app, stateful_settings
from tests.conftest import KEY_A, KEY_B

pytestmark = pytest.mark.usefixtures("criu_ready")

SERVERS = r"""
import http.server, json, socket, threading

with open("/workspace/hello.txt", "w") as f:
    f.write("hello from inside\n")

class Handler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory="/workspace", **kwargs)

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        seen = {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body.decode()}
        answer = json.dumps(seen).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass

web = http.server.ThreadingHTTPServer(("127.0.0.1", 8000), Handler)
threading.Thread(target=web.serve_forever, daemon=True).start()

echo = socket.socket()
echo.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
echo.bind(("127.0.0.1", 9000))
echo.listen()

def repeat(conn):
    with conn:
        while data := conn.recv(4096):
            conn.sendall(data)

def accept():
    while True:
        threading.Thread(target=repeat, args=(echo.accept()[0],), daemon=True).start()

threading.Thread(target=accept, daemon=True).start()
"""


@pytest.fixture(scope="module")
async def endpoint_app(require_docker: None, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FastAPI]:
    async with running_app(stateful_settings(tmp_path_factory.mktemp("endpoint-node"))) as application:
        yield application


@pytest.fixture(scope="module")
async def api(endpoint_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(endpoint_app, KEY_A) as client:
        yield client


@pytest.fixture
async def instance(api: httpx.AsyncClient) -> AsyncIterator[str]:
    """A running instance serving /workspace over HTTP on 8000 and echoing TCP on 9000."""
    created = await api.post("/instances", json={"language": "python", "resources": {"memory_mb": 256}})
    assert created.status_code == 201, created.text
    instance_id: str = created.json()["instance_id"]
    ran = await api.post("/execute", json={"code": SERVERS, "language": "python", "instance_id": instance_id})
    assert ran.json()["status"] == "completed", ran.text
    yield instance_id
    await api.post(f"/instances/{instance_id}/stop")


async def expose(api: httpx.AsyncClient, instance_id: str, name: str = "web", port: int = 8000) -> dict[str, Any]:
    response = await api.post(f"/instances/{instance_id}/expose", json={"name": name, "port": port})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def echo(port: int, payload: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(payload)
        writer.write_eof()
        async with asyncio.timeout(10):
            return await reader.read()
    finally:
        writer.close()


async def test_an_exposed_service_answers_through_the_proxy(
    api: httpx.AsyncClient, endpoint_app: FastAPI, instance: str
) -> None:
    service = await expose(api, instance)
    token = service["url"].split("?token=")[1]
    assert service["url"] == f"http://node/api/v1/proxy/{instance}/web/?token={token}" and service["port"] == 8000
    relay = endpoint_app.state.node.endpoints.relays.socket_path(instance)
    assert relay is not None and relay.stat().st_mode & 0o777 == 0o600
    root = await api.get(f"/proxy/{instance}/web")
    assert root.status_code == 307 and root.headers["location"].endswith(f"/proxy/{instance}/web/")
    page = await api.get(f"/proxy/{instance}/web/hello.txt")
    assert page.status_code == 200 and page.text == "hello from inside\n"
    async with http_client(endpoint_app, None) as anonymous, http_client(endpoint_app, KEY_B) as other:
        assert (await anonymous.get(service["url"] + "&x=1")).status_code == 200  # a directory listing
        with_token = await anonymous.get(f"/proxy/{instance}/web/hello.txt", params={"token": token})
        assert with_token.text == "hello from inside\n"
        refused = await anonymous.get(f"/proxy/{instance}/web/hello.txt")
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "UNAUTHORIZED"
        assert (await anonymous.get(f"/proxy/{instance}/web/hello.txt", params={"token": "guess"})).status_code == 404
        assert (await other.get(f"/proxy/{instance}/web/hello.txt")).status_code == 404
        assert (await other.post(f"/instances/{instance}/expose", json={"name": "x", "port": 1})).status_code == 404
    posted = await api.post(
        f"/proxy/{instance}/web/form?a=1&token={token}", content=b"payload", headers={"X-Api-Key": KEY_A}
    )
    seen = posted.json()
    assert seen["path"] == "/form?a=1" and seen["body"] == "payload"
    assert not {"authorization", "x-api-key"} & set(seen["headers"]) and seen["headers"]["x-forwarded-prefix"]
    listed = (await api.get(f"/instances/{instance}")).json()
    assert listed["endpoints"] == {"http": {"web": service["url"]}}


async def test_expose_checks_names_and_unexpose_removes(api: httpx.AsyncClient, instance: str) -> None:
    await expose(api, instance)
    duplicate = await api.post(f"/instances/{instance}/expose", json={"name": "web", "port": 8001})
    assert duplicate.status_code == 409
    bad = await api.post(f"/instances/{instance}/expose", json={"name": "Web!", "port": 8000})
    assert bad.status_code == 400
    assert (await api.post(f"/instances/{instance}/expose", json={"name": "x", "port": 0})).status_code == 400
    nothing = await expose(api, instance, "closed", 8999)
    assert nothing["port"] == 8999
    assert (await api.get(f"/proxy/{instance}/closed/")).status_code == 502
    assert (await api.post(f"/instances/{instance}/unexpose", json={"name": "web"})).status_code == 204
    assert (await api.get(f"/proxy/{instance}/web/hello.txt")).status_code == 404
    assert (await api.post(f"/instances/{instance}/unexpose", json={"name": "web"})).status_code == 404
    assert (await api.get(f"/instances/{instance}")).json()["endpoints"] == {"http": {"closed": nothing["url"]}}


async def test_a_port_forward_relays_tcp_until_the_instance_stops(api: httpx.AsyncClient, instance: str) -> None:
    port = free_port()
    created = await api.post(f"/instances/{instance}/port-forward", json={"local_port": port, "remote_port": 9000})
    assert created.status_code == 201, created.text
    assert created.json() == {"local_port": port, "remote_port": 9000, "bind_address": "127.0.0.1"}
    assert await echo(port, b"\x00raw bytes\xff" * 1000) == b"\x00raw bytes\xff" * 1000
    again = await api.post(f"/instances/{instance}/port-forward", json={"local_port": port, "remote_port": 9000})
    assert again.status_code == 409
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        clash = await api.post(f"/instances/{instance}/port-forward", json={"local_port": busy, "remote_port": 9000})
        assert clash.status_code == 409
    listed = (await api.get(f"/instances/{instance}/port-forward")).json()
    assert listed == {"forwards": [created.json()]}
    await api.post(f"/instances/{instance}/stop")
    with pytest.raises(ConnectionRefusedError):
        await echo(port, b"gone?")
    assert (await api.get(f"/instances/{instance}/port-forward")).json() == {"forwards": []}


async def test_a_forward_can_be_removed(api: httpx.AsyncClient, instance: str) -> None:
    port = free_port()
    await api.post(f"/instances/{instance}/port-forward", json={"local_port": port, "remote_port": 9000})
    assert (await api.delete(f"/instances/{instance}/port-forward/{port}")).status_code == 204
    with pytest.raises(ConnectionRefusedError):
        await echo(port, b"gone?")
    assert (await api.delete(f"/instances/{instance}/port-forward/{port}")).status_code == 404


async def test_endpoints_survive_pause_and_resume(api: httpx.AsyncClient, instance: str) -> None:
    await expose(api, instance)
    port = free_port()
    await api.post(f"/instances/{instance}/port-forward", json={"local_port": port, "remote_port": 9000})
    assert await echo(port, b"before") == b"before"
    assert (await api.post(f"/instances/{instance}/pause")).json()["state"] == "paused"
    assert (await api.get(f"/proxy/{instance}/web/hello.txt")).status_code == 409
    with contextlib.suppress(ConnectionResetError):  # accepted, then closed at once
        assert await echo(port, b"while paused") == b""
    assert (await api.post(f"/instances/{instance}/resume")).json()["state"] == "running"
    assert (await api.get(f"/proxy/{instance}/web/hello.txt")).text == "hello from inside\n"
    assert await echo(port, b"after") == b"after"
    body = json.loads((await api.post(f"/proxy/{instance}/web/x", content=b"again")).text)
    assert body["body"] == "again"
