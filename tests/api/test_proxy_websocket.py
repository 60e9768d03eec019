"""WebSockets through the proxy to a server inside an instance, on real Docker and a real HTTP server."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.api.stateful import http_client, running_app, stateful_settings
from tests.conftest import KEY_A, KEY_B

pytestmark = pytest.mark.usefixtures("require_docker")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[str]:
    """Serve ``app`` (its lifespan already running) over real TCP; yields ``http://127.0.0.1:PORT``.

    WebSocket clients and browsers need a socket, which httpx's ASGI transport does not give.
    """
    config = uvicorn.Config(
        app, host="127.0.0.1", port=free_port(), lifespan="off", log_level="warning", ws="websockets-sansio"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(30):
            while not server.started:  # noqa: ASYNC110 (uvicorn offers no event)
                await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        await task


# A WebSocket echo server in the standard library only: it first sends the path it was asked
# for, then echoes every text or binary message, and answers a close with a close.
ECHO_SERVER = r"""
import base64, hashlib, socket, struct, threading

def read_exact(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data

def frame(opcode, payload):
    head = bytes([0x80 | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([n])
    elif n < 65536:
        head += bytes([126]) + struct.pack(">H", n)
    else:
        head += bytes([127]) + struct.pack(">Q", n)
    return head + payload

def serve(conn):
    with conn:
        request = b""
        while b"\r\n\r\n" not in request:
            request += conn.recv(4096)
        lines = request.decode().split("\r\n")
        path = lines[0].split(" ")[1]
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        key = headers["sec-websocket-key"] + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
        accept = base64.b64encode(hashlib.sha1(key.encode()).digest())
        conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n")
        conn.sendall(b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        conn.sendall(frame(1, path.encode()))
        try:
            while True:
                first, second = read_exact(conn, 2)
                n = second & 0x7F
                if n == 126:
                    n = struct.unpack(">H", read_exact(conn, 2))[0]
                elif n == 127:
                    n = struct.unpack(">Q", read_exact(conn, 8))[0]
                mask = read_exact(conn, 4)
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(read_exact(conn, n)))
                opcode = first & 0x0F
                if opcode == 8:
                    conn.sendall(frame(8, payload[:2]))
                    return
                if opcode in (1, 2):
                    conn.sendall(frame(opcode, payload))
        except EOFError:
            return

listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", 8765))
listener.listen()

def accept():
    while True:
        threading.Thread(target=serve, args=(listener.accept()[0],), daemon=True).start()

threading.Thread(target=accept, daemon=True).start()
"""


@pytest.fixture(scope="module")
async def ws_app(require_docker: None, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FastAPI]:
    async with running_app(stateful_settings(tmp_path_factory.mktemp("websocket-node"))) as application:
        yield application


@pytest.fixture(scope="module")
async def base_url(ws_app: FastAPI) -> AsyncIterator[str]:
    async with served(ws_app) as url:
        yield url


@pytest.fixture(scope="module")
async def api(ws_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(ws_app, KEY_A) as client:
        yield client


@pytest.fixture(scope="module")
async def echo_service(api: httpx.AsyncClient) -> AsyncIterator[tuple[str, str]]:
    """An instance whose WebSocket echo server on 8765 is exposed as ``ws``; its id and the service token."""
    created = await api.post("/instances", json={"language": "python", "resources": {"memory_mb": 256}})
    assert created.status_code == 201, created.text
    instance_id: str = created.json()["instance_id"]
    ran = await api.post("/execute", json={"code": ECHO_SERVER, "language": "python", "instance_id": instance_id})
    assert ran.json()["status"] == "completed", ran.text
    exposed = await api.post(f"/instances/{instance_id}/expose", json={"name": "ws", "port": 8765})
    assert exposed.status_code == 201, exposed.text
    yield instance_id, exposed.json()["url"].split("?token=")[1]
    await api.post(f"/instances/{instance_id}/stop")


def ws_url(base_url: str, instance_id: str, rest: str) -> str:
    return base_url.replace("http://", "ws://") + f"/api/v1/proxy/{instance_id}/ws/{rest}"


async def test_a_websocket_is_bridged_with_an_api_key(base_url: str, echo_service: tuple[str, str]) -> None:
    instance_id, _ = echo_service
    url = ws_url(base_url, instance_id, "chat?room=1")
    async with connect(url, additional_headers={"Authorization": f"Bearer {KEY_A}"}) as websocket:
        assert await websocket.recv() == "/chat?room=1"  # the path inside, without the proxy's prefix
        await websocket.send("hello")
        assert await websocket.recv() == "hello"
        await websocket.send(b"\x00\x01binary" * 10_000)
        assert await websocket.recv() == b"\x00\x01binary" * 10_000


async def test_a_websocket_is_bridged_with_the_service_token(base_url: str, echo_service: tuple[str, str]) -> None:
    instance_id, token = echo_service
    async with connect(ws_url(base_url, instance_id, f"x?token={token}&a=b")) as websocket:
        assert await websocket.recv() == "/x?a=b"  # the token does not reach the instance
        await websocket.send("with a token")
        assert await websocket.recv() == "with a token"


async def test_a_websocket_without_credentials_is_refused(base_url: str, echo_service: tuple[str, str]) -> None:
    instance_id, _ = echo_service
    with pytest.raises(InvalidStatus) as anonymous:
        async with connect(ws_url(base_url, instance_id, "x")):
            pass
    assert anonymous.value.response.status_code == 401
    with pytest.raises(InvalidStatus) as wrong_token:
        async with connect(ws_url(base_url, instance_id, "x?token=nope")):
            pass
    assert wrong_token.value.response.status_code == 404
    with pytest.raises(InvalidStatus) as other_tenant:
        async with connect(ws_url(base_url, instance_id, "x"), additional_headers={"X-API-Key": KEY_B}):
            pass
    assert other_tenant.value.response.status_code == 404
