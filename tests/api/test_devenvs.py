"""Development environments (Jupyter, VNC with noVNC, VSCode) of instances, on real Docker and CRIU."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import shutil
import struct
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect

from tests.api.stateful import http_client, running_app, stateful_settings
from tests.api.test_proxy_websocket import free_port, served
from tests.conftest import KEY_A

pytestmark = pytest.mark.usefixtures("criu_ready")

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"  # tests/artifacts, kept out of git


@pytest.fixture(scope="module")
async def dev_app(require_docker: None, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FastAPI]:
    async with running_app(stateful_settings(tmp_path_factory.mktemp("devenv-node"))) as application:
        yield application


@pytest.fixture(scope="module")
async def base_url(dev_app: FastAPI) -> AsyncIterator[str]:
    async with served(dev_app) as url:
        yield url


@pytest.fixture(scope="module")
async def api(dev_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(dev_app, KEY_A) as client:
        yield client


@pytest.fixture(scope="module")
async def instance(api: httpx.AsyncClient) -> AsyncIterator[str]:
    created = await api.post("/instances", json={"language": "python", "resources": {"memory_mb": 1024}})
    assert created.status_code == 201, created.text
    instance_id: str = created.json()["instance_id"]
    yield instance_id
    await api.post(f"/instances/{instance_id}/stop")


def on_server(url: str, base_url: str) -> str:
    """``url`` (as the ASGI test client's node answered it) on the real HTTP server."""
    return url.replace("http://node", base_url)


# ---- Jupyter ----------------------------------------------------------------------------------


async def run_cell(channels_url: str, code: str) -> str:
    """Run ``code`` through the kernel's WebSocket channel; its stdout."""
    session = uuid.uuid4().hex
    request = {
        "header": {
            "msg_id": uuid.uuid4().hex, "username": "test", "session": session,
            "msg_type": "execute_request", "version": "5.3",
        },
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {}, "allow_stdin": False},
    }  # fmt: skip
    output = ""
    async with connect(channels_url, max_size=None) as websocket:
        await websocket.send(json.dumps(request))
        async with asyncio.timeout(60):
            async for raw in websocket:
                message = json.loads(raw)
                if message.get("parent_header", {}).get("msg_id") != request["header"]["msg_id"]:
                    continue
                if message["msg_type"] == "stream":
                    output += message["content"]["text"]
                if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
                    return output
    raise AssertionError("the kernel never went idle")


@pytest.fixture(scope="module")
async def jupyter(api: httpx.AsyncClient, instance: str) -> dict[str, Any]:
    response = await api.post(f"/instances/{instance}/jupyter")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_jupyter_answers_its_api_and_runs_a_cell_through_a_kernel(
    api: httpx.AsyncClient, dev_app: FastAPI, base_url: str, instance: str, jupyter: dict[str, Any]
) -> None:
    token = jupyter["token"]
    assert jupyter["type"] == "jupyter" and len(token) >= 24 and "password" not in jupyter
    assert jupyter["url"] == f"http://node/api/v1/proxy/{instance}/jupyter/?token={token}"
    again = await api.post(f"/instances/{instance}/jupyter")
    assert again.json() == jupyter  # the same server, not a second one
    root = jupyter["url"].split("?")[0]
    async with http_client(dev_app, None) as anonymous:
        status = await anonymous.get(f"{root}api/status", params={"token": token})
        assert status.status_code == 200 and "started" in status.json(), status.text
        assert (await anonymous.get(f"{root}api/status")).status_code == 401
    async with http_client(dev_app, None) as browser:
        # A browser's page visit with ?token= gets a cookie: its next requests carry no token.
        visit = await browser.get(jupyter["url"], headers={"Sec-Fetch-Mode": "navigate"}, follow_redirects=True)
        assert visit.status_code == 200 and "Jupyter" in visit.text
        assert (await browser.get(f"{root}api/status")).status_code == 200
        kernel = await browser.post(f"{root}api/kernels", params={"token": token}, json={"name": "python3"})
        assert kernel.status_code == 201, kernel.text
    channels = on_server(f"{root}api/kernels/{kernel.json()['id']}/channels?token={token}", base_url)
    assert await run_cell(channels.replace("http://", "ws://"), "x = 41\nprint(1 + 1)") == "2\n"


async def test_jupyter_keeps_its_kernel_over_pause_and_resume(
    api: httpx.AsyncClient, dev_app: FastAPI, base_url: str, instance: str, jupyter: dict[str, Any]
) -> None:
    token, root = jupyter["token"], jupyter["url"].split("?")[0]
    async with http_client(dev_app, None) as anonymous:
        kernels = (await anonymous.get(f"{root}api/kernels", params={"token": token})).json()
        assert kernels, "the first test started a kernel"
        assert (await api.post(f"/instances/{instance}/pause")).json()["state"] == "paused"
        assert (await anonymous.get(f"{root}api/status", params={"token": token})).status_code == 409
        assert (await api.post(f"/instances/{instance}/resume")).json()["state"] == "running"
        status = await anonymous.get(f"{root}api/status", params={"token": token})
        assert status.status_code == 200, status.text
    channels = on_server(f"{root}api/kernels/{kernels[0]['id']}/channels?token={token}", base_url)
    assert await run_cell(channels.replace("http://", "ws://"), "print(x + 1)") == "42\n"  # the kernel's state
    assert (await api.post(f"/instances/{instance}/jupyter")).json() == jupyter


# ---- VNC --------------------------------------------------------------------------------------


def vnc_response(password: str, challenge: bytes) -> bytes:
    """VNC authentication: the challenge DES-encrypted with the password, each key byte's bits reversed."""
    key = bytes(int(f"{byte:08b}"[::-1], 2) for byte in password.encode()[:8].ljust(8, b"\0"))
    encryptor = Cipher(TripleDES(key * 3), modes.ECB()).encryptor()  # three equal keys: single DES
    return encryptor.update(challenge) + encryptor.finalize()


class RfbStream:
    """RFB bytes over websockify's binary WebSocket messages."""

    def __init__(self, websocket: ClientConnection) -> None:
        self.websocket = websocket
        self.buffer = b""

    async def read(self, n: int) -> bytes:
        async with asyncio.timeout(20):
            while len(self.buffer) < n:
                message = await self.websocket.recv()
                self.buffer += message if isinstance(message, bytes) else message.encode()
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data


async def rfb_handshake(url: str, password: str) -> tuple[int, int, int]:
    """Log in over RFB 3.8 with VNC authentication; the security result, and the screen's size if it passed."""
    async with connect(url, subprotocols=["binary"]) as websocket:  # type: ignore[list-item]
        rfb = RfbStream(websocket)
        assert await rfb.read(12) == b"RFB 003.008\n"
        await websocket.send(b"RFB 003.008\n")
        count = (await rfb.read(1))[0]
        assert 2 in await rfb.read(count)  # VNC authentication is offered
        await websocket.send(b"\x02")
        await websocket.send(vnc_response(password, await rfb.read(16)))
        (result,) = struct.unpack(">I", await rfb.read(4))
        if result != 0:
            return result, 0, 0
        await websocket.send(b"\x01")  # ClientInit: shared
        width, height = struct.unpack(">HH", await rfb.read(4))
        return result, width, height


@pytest.fixture(scope="module")
async def vnc(api: httpx.AsyncClient, instance: str) -> dict[str, Any]:
    response = await api.post(f"/instances/{instance}/vnc")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_vnc_completes_an_rfb_handshake_with_its_password(
    api: httpx.AsyncClient, base_url: str, instance: str, vnc: dict[str, Any]
) -> None:
    assert vnc["type"] == "vnc" and len(vnc["password"]) == 8 and "token" not in vnc
    url = urlsplit(vnc["url"])
    query = parse_qs(url.query)
    token = query["token"][0]
    assert url.path == f"/api/v1/proxy/{instance}/vnc/vnc.html" and query["path"] == [f"websockify?token={token}"]
    assert (await api.post(f"/instances/{instance}/vnc")).json() == vnc
    websockify = on_server(f"http://node{url.path.removesuffix('vnc.html')}websockify?token={token}", base_url)
    websockify = websockify.replace("http://", "ws://")
    assert await rfb_handshake(websockify, vnc["password"]) == (0, 1280, 800)
    assert (await rfb_handshake(websockify, "wrong!!!"))[0] == 1


async def chromium_screenshot(chromium: str, url: str, ready: str, path: Path, profile: Path) -> None:
    """Open ``url`` in a headless Chromium, wait until the JavaScript ``ready`` is true, save a PNG to ``path``.

    Driven over the DevTools protocol: a screenshot taken at load time would show noVNC still connecting.
    """
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1280,900",
        f"--remote-debugging-port={port}", f"--user-data-dir={profile}", "about:blank",
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        async with asyncio.timeout(90), httpx.AsyncClient() as http:
            while True:
                with contextlib.suppress(httpx.TransportError):
                    pages = (await http.get(f"http://127.0.0.1:{port}/json/list")).json()
                    if pages:
                        break
                await asyncio.sleep(0.2)
            async with connect(pages[0]["webSocketDebuggerUrl"], max_size=None) as devtools:
                calls = iter(range(1, 1_000_000))

                async def call(method: str, **params: Any) -> dict[str, Any]:
                    number = next(calls)
                    await devtools.send(json.dumps({"id": number, "method": method, "params": params}))
                    while True:
                        answer = json.loads(await devtools.recv())
                        if answer.get("id") == number:
                            result: dict[str, Any] = answer.get("result", {})
                            return result

                await call("Page.navigate", url=url)
                while not (await call("Runtime.evaluate", expression=ready))["result"].get("value"):  # noqa: ASYNC110
                    await asyncio.sleep(0.25)
                await asyncio.sleep(2)  # the first framebuffer updates
                shot = await call("Page.captureScreenshot", format="png")
                await asyncio.to_thread(path.write_bytes, base64.b64decode(shot["data"]))
    finally:
        process.kill()
        await process.wait()


async def test_a_headless_chromium_shows_the_novnc_desktop(base_url: str, vnc: dict[str, Any], tmp_path: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Chromium is not installed on this machine: apt-get install chromium")
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "novnc.png"
    screenshot.unlink(missing_ok=True)
    url = on_server(vnc["url"], base_url) + f"&password={vnc['password']}"
    connected = "document.documentElement.classList.contains('noVNC_connected')"
    await chromium_screenshot(chromium, url, connected, screenshot, tmp_path / "chromium")
    assert screenshot.read_bytes().startswith(b"\x89PNG") and screenshot.stat().st_size > 10_000


async def test_the_vnc_desktop_survives_pause_and_resume(
    api: httpx.AsyncClient, base_url: str, instance: str, vnc: dict[str, Any]
) -> None:
    assert (await api.post(f"/instances/{instance}/pause")).json()["state"] == "paused"
    assert (await api.post(f"/instances/{instance}/resume")).json()["state"] == "running"
    url = urlsplit(vnc["url"])
    token = parse_qs(url.query)["token"][0]
    websockify = on_server(f"http://node{url.path.removesuffix('vnc.html')}websockify?token={token}", base_url)
    result, width, _ = await rfb_handshake(websockify.replace("http://", "ws://"), vnc["password"])
    assert result == 0 and width == 1280  # noVNC may have resized the height to its window


# ---- other languages and VSCode ------------------------------------------------------------------


async def test_dev_environments_need_a_python_instance_and_vscode_is_unavailable(
    api: httpx.AsyncClient, instance: str
) -> None:
    created = await api.post("/instances", json={"language": "javascript", "resources": {"memory_mb": 256}})
    assert created.status_code == 201, created.text
    other = created.json()["instance_id"]
    try:
        for kind in ("jupyter", "vnc"):
            refused = await api.post(f"/instances/{other}/{kind}")
            assert refused.status_code == 400 and "python" in refused.json()["error"]["message"], refused.text
    finally:
        await api.post(f"/instances/{other}/stop")
    vscode = await api.post(f"/instances/{instance}/vscode")
    assert vscode.status_code == 400 and "not available" in vscode.json()["error"]["message"], vscode.text
    assert (await api.post("/instances/inst_nope/vscode")).status_code == 404
