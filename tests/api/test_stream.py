"""WebSocket streaming against a real server socket: API.md's protocol end to end."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import websockets
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from api import create_app
from service import Node
from tests.conftest import KEY_A, KEY_B, node_settings, run

StreamSocket = websockets.ClientConnection


@pytest.fixture(scope="session")
async def server_url(app: FastAPI) -> AsyncIterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 -- uvicorn exposes a flag, not an event
        await asyncio.sleep(0.02)
    yield f"127.0.0.1:{port}"
    server.should_exit = True
    await task


async def connect(server_url: str, path: str, key: str = KEY_A) -> StreamSocket:
    return await websockets.connect(f"ws://{server_url}/api/v1{path}", additional_headers={"X-API-Key": key})


async def start(client: httpx.AsyncClient, code: str, **fields: Any) -> str:
    response = await run(client, code, **{"async": True, **fields})
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "running"
    execution_id: str = body["execution_id"]
    return execution_id


async def collect(ws: StreamSocket, *, within_s: float = 30) -> list[tuple[float, dict[str, Any]]]:
    """(arrival time, event) until the final event."""
    events = []
    async with asyncio.timeout(within_s):
        while True:
            event = json.loads(await ws.recv())
            events.append((time.monotonic(), event))
            if event["type"] == "completed" or (event["type"] == "error" and event.get("final", True)):
                return events


def text_of(events: list[tuple[float, dict[str, Any]]], stream: str = "stdout") -> str:
    return "".join(e["data"] for _, e in events if e["type"] == "output" and e["stream"] == stream)


async def test_output_arrives_while_the_program_runs(client: httpx.AsyncClient, server_url: str) -> None:
    code = "import time, sys\nprint('first')\ntime.sleep(1.5)\nprint('second')\nsys.stderr.write('oops\\n')"
    execution_id = await start(client, code)
    async with await connect(server_url, f"/stream/{execution_id}") as ws:
        await ws.send(json.dumps({"type": "subscribe", "execution_id": execution_id}))
        events = await collect(ws)
    outputs = [(at, e) for at, e in events if e["type"] == "output"]
    first_at = next(at for at, e in outputs if "first" in e["data"])
    done_at, done = events[-1]
    assert done == {"type": "completed", "execution_id": execution_id, "exit_code": 0}
    assert done_at - first_at > 1.0  # 'first' was delivered before the program slept, not at the end
    assert text_of(events) == "first\nsecond\n" and text_of(events, "stderr") == "oops\n"
    assert any(e["type"] == "progress" and e["message"] == "running" for _, e in events)
    assert all(e["execution_id"] == execution_id for _, e in events)


async def test_late_subscribers_get_history_first_then_live(client: httpx.AsyncClient, server_url: str) -> None:
    execution_id = await start(client, "import time\nprint('early', flush=True)\ntime.sleep(1)\nprint('late')")
    await asyncio.sleep(0.6)
    running = await client.get(f"/api/v1/executions/{execution_id}")
    assert running.json()["status"] == "running"
    async with await connect(server_url, "/execute/stream") as ws:
        await ws.send(json.dumps({"type": "subscribe", "execution_id": execution_id}))
        events = await collect(ws)
    assert text_of(events) == "early\nlate\n"
    finished = await client.get(f"/api/v1/executions/{execution_id}")
    assert finished.json()["status"] == "completed" and finished.json()["stdout"] == "early\nlate\n"
    async with await connect(server_url, f"/stream/{execution_id}") as ws:  # long after the end: replay
        await ws.send(json.dumps({"type": "subscribe"}))
        replay = await collect(ws)
    assert text_of(replay) == "early\nlate\n" and replay[-1][1]["type"] == "completed"


async def test_input_reaches_the_running_program(client: httpx.AsyncClient, server_url: str) -> None:
    code = "name = input('name? ')\nprint('hello', name)\nprint('rest:', __import__('sys').stdin.read())"
    execution_id = await start(client, code, interactive=True)
    async with await connect(server_url, f"/stream/{execution_id}") as ws:
        await ws.send(json.dumps({"type": "subscribe", "execution_id": execution_id}))
        await ws.send(json.dumps({"type": "input", "execution_id": execution_id, "data": "ada\n"}))
        await ws.send(json.dumps({"type": "input", "execution_id": execution_id, "data": "more", "eof": True}))
        events = await collect(ws)
    assert text_of(events) == "name? hello ada\nrest: more\n"


async def test_resize_changes_the_terminal_of_a_tty_execution(client: httpx.AsyncClient, server_url: str) -> None:
    code = (
        "import os, sys\nprint(sys.stdout.isatty())\ninput()\n"
        "size = os.get_terminal_size()\nprint(size.columns, size.lines)"
    )
    execution_id = await start(client, code, tty=True)
    async with await connect(server_url, f"/stream/{execution_id}") as ws:
        await ws.send(json.dumps({"type": "subscribe", "execution_id": execution_id}))
        await ws.send(json.dumps({"type": "resize", "execution_id": execution_id, "cols": 120, "rows": 40}))
        await ws.send(json.dumps({"type": "input", "execution_id": execution_id, "data": "\n"}))
        events = await collect(ws)
    output = text_of(events).replace("\r", "")
    assert "True\n" in output and "120 40\n" in output
    assert text_of(events, "stderr") == ""


async def test_timeouts_end_the_stream_with_an_error(client: httpx.AsyncClient, server_url: str) -> None:
    code = "import time\nprint('tick', flush=True)\ntime.sleep(10)"
    execution_id = await start(client, code, resources={"timeout_ms": 1000})
    async with await connect(server_url, f"/stream/{execution_id}") as ws:
        await ws.send(json.dumps({"type": "subscribe", "execution_id": execution_id}))
        events = await collect(ws)
    assert text_of(events) == "tick\n"
    assert events[-1][1]["type"] == "error" and "time limit of 1000 ms" in events[-1][1]["error"]


async def test_unauthenticated_socket_is_closed_with_a_reason(server_url: str) -> None:
    async with await connect(server_url, "/stream/exec_x", key="wrong-key") as ws:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1008 and "invalid or revoked API key" in closed.value.rcvd.reason


async def test_key_in_query_parameter_and_tenant_isolation(client: httpx.AsyncClient, server_url: str) -> None:
    execution_id = await start(client, "print('private')")
    async with websockets.connect(f"ws://{server_url}/api/v1/stream/{execution_id}?api_key={KEY_B}") as ws:
        await ws.send(json.dumps({"type": "subscribe", "execution_id": execution_id}))
        event = json.loads(await ws.recv())
    assert event["type"] == "error" and "not found" in event["error"]
    async with websockets.connect(f"ws://{server_url}/api/v1/stream/{execution_id}?api_key={KEY_A}") as ws:
        await ws.send(json.dumps({"type": "subscribe", "execution_id": execution_id}))
        assert text_of(await collect(ws)) == "private\n"


async def test_bad_messages_get_error_events_and_the_socket_stays_usable(server_url: str) -> None:
    async with await connect(server_url, "/execute/stream") as ws:
        await ws.send("not json")
        assert "not valid JSON" in json.loads(await ws.recv())["error"]
        await ws.send(json.dumps({"type": "dance", "execution_id": "exec_x"}))
        assert "unknown message type" in json.loads(await ws.recv())["error"]
        await ws.send(json.dumps({"type": "subscribe"}))
        assert "execution_id is required" in json.loads(await ws.recv())["error"]
        await ws.send(json.dumps({"type": "input", "execution_id": "exec_nope", "data": "x"}))
        assert "not running" in json.loads(await ws.recv())["error"]


async def test_shutdown_stops_running_executions_and_tells_subscribers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, require_docker: None
) -> None:
    monkeypatch.setattr("service.executions.SHUTDOWN_GRACE_S", 0.5)
    application = create_app(node_settings(tmp_path, pool_sizes={"python": 1}))
    started_at = time.monotonic()
    async with LifespanManager(application, startup_timeout=120, shutdown_timeout=60):
        node: Node = application.state.node
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://node", headers={"X-API-Key": KEY_A}
        ) as http:
            execution_id = await start(http, "import time\nprint('long', flush=True)\ntime.sleep(100)",
                                       resources={"timeout_ms": 120_000})  # fmt: skip
        tenant_id = (await node.api_keys.authenticate(KEY_A)).tenant_id
        events = node.executions.events(tenant_id, execution_id)
        first = await anext(events)
        assert first["type"] in ("progress", "output")
        started_at = time.monotonic()
    assert time.monotonic() - started_at < 40  # not the 120 s time limit
    remaining = [event async for event in events]
    assert remaining[-1]["type"] == "error" and "shut down" in remaining[-1]["error"]


async def test_a_persistent_execution_streams_from_its_live_context(client: httpx.AsyncClient, server_url: str) -> None:
    code = "import time\ncount = 1\nprint('first', flush=True)\ntime.sleep(1.5)\nprint('second')"
    execution_id = await start(client, code, mode="persistent")
    async with await connect(server_url, f"/stream/{execution_id}") as ws:
        await ws.send(json.dumps({"type": "subscribe", "execution_id": execution_id}))
        events = await collect(ws)
    first_at = next(at for at, e in events if e["type"] == "output" and "first" in e["data"])
    done_at, done = events[-1]
    assert done == {"type": "completed", "execution_id": execution_id, "exit_code": 0}
    assert done_at - first_at > 1.0 and text_of(events) == "first\nsecond\n"
    record = (await client.get(f"/api/v1/executions/{execution_id}")).json()
    follow_up = await run(client, "print(count + 1)", instance_id=record["instance_id"])
    assert follow_up.json()["stdout"] == "2\n"
