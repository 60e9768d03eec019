"""The Instance API: create, list, pause, resume, stop, ttl and idle stops, on real Docker and CRIU."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from service import Node
from tests.api.stateful import call, http_client, running_app, stateful_settings
from tests.conftest import KEY_A, KEY_B

pytestmark = pytest.mark.usefixtures("criu_ready")

BUDGET_MB = 2048
SMALL = {"memory_mb": 256}

UNIX_SERVER = """
import socket, threading
address = "/workspace/server.sock"
server = socket.socket(socket.AF_UNIX)
server.bind(address)
"""
TCP_SERVER = """
import socket, threading
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", 0))
address = server.getsockname()
"""
SERVE = """
server.listen()
hits = 0

def serve():
    global hits
    while True:
        conn, _ = server.accept()
        hits += 1
        conn.sendall(b"pong " + conn.recv(64) + b" " + str(hits).encode())
        conn.close()

threading.Thread(target=serve, daemon=True).start()
x = 41
"""

PING = """
with socket.socket(server.family) as c:
    c.settimeout(5)
    c.connect(address)
    c.sendall(b"hi")
    print(c.recv(64).decode(), x + 1)
"""


@pytest.fixture(scope="module")
async def instance_app(require_docker: None, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FastAPI]:
    """A node of its own with a small memory budget, so that filling it is cheap."""
    settings = stateful_settings(
        tmp_path_factory.mktemp("instance-node"), max_instances_per_tenant=50, memory_budget_mb=BUDGET_MB
    )
    async with running_app(settings) as application:
        yield application


@pytest.fixture(scope="module")
def node(instance_app: FastAPI) -> Node:
    result: Node = instance_app.state.node
    return result


@pytest.fixture(scope="module")
async def api(instance_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(instance_app, KEY_A) as client:
        yield client


@pytest.fixture(scope="module")
async def other_tenant(instance_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(instance_app, KEY_B) as client:
        yield client


async def create(api: httpx.AsyncClient, status: int = 201, **fields: Any) -> dict[str, Any]:
    fields.setdefault("language", "python")
    fields.setdefault("resources", SMALL)
    return await call(api, "POST", "/instances", status, json=fields)


async def run(api: httpx.AsyncClient, instance_id: str, code: str) -> str:
    body = await call(api, "POST", "/execute", json={"code": code, "language": "python", "instance_id": instance_id})
    assert body["status"] == "completed", body
    stdout: str = body["stdout"]
    return stdout


async def stop(api: httpx.AsyncClient, instance_id: str) -> dict[str, Any]:
    return await call(api, "POST", f"/instances/{instance_id}/stop")


def transitions(instance: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(event["from_state"], event["to_state"]) for event in instance["events"]]


async def test_an_instance_starts_runs_code_and_stops(api: httpx.AsyncClient) -> None:
    created = await create(api, resources={"cpu_cores": 0.5, "memory_mb": 256}, metadata={"name": "dev"})
    instance_id = created["instance_id"]
    assert instance_id.startswith("inst_") and created["state"] == "running" and created["endpoints"] == {}
    assert created["resources"] == {"cpu_cores": 0.5, "memory_mb": 256, "disk_gb": 0.25, "gpu_count": 0}
    assert created["metadata"] == {"name": "dev"} and created["auto_stop"] is True and created["expires_at"] is None
    assert await run(api, instance_id, "x = 6 * 7\nprint(x)") == "42\n"
    assert await run(api, instance_id, "print(x)") == "42\n"
    stopped = await stop(api, instance_id)
    assert stopped["state"] == "stopped" and stopped["stopped_reason"] == "stopped by request"
    assert (await stop(api, instance_id))["updated_at"] == stopped["updated_at"]  # idempotent
    assert transitions(stopped) == [(None, "starting"), ("starting", "running"), ("running", "stopped")]
    refused = await api.post("/execute", json={"code": "print(x)", "language": "python", "instance_id": instance_id})
    assert refused.status_code == 409 and refused.json()["error"]["details"]["state"] == "stopped"


async def test_an_instance_starts_from_a_snapshot(api: httpx.AsyncClient) -> None:
    source = (await create(api))["instance_id"]
    await run(api, source, "greeting = 'hello'")
    snapshot = await call(api, "POST", "/snapshots", 201, json={"instance_id": source})
    created = await create(api, snapshot_id=snapshot["snapshot_id"], language=None, resources=None)
    assert created["snapshot_id"] == snapshot["snapshot_id"] and created["language"] == "python"
    assert created["events"][0]["reason"] == f"created from snapshot {snapshot['snapshot_id']}"
    assert await run(api, created["instance_id"], "print(greeting)") == "hello\n"
    wrong = await create(api, 400, snapshot_id=snapshot["snapshot_id"], language="go", resources=None)
    assert "runs python" in wrong["error"]["message"]
    for instance_id in (source, created["instance_id"]):
        await stop(api, instance_id)


async def test_requests_are_checked(api: httpx.AsyncClient) -> None:
    gpu = await create(api, 507, resources={"gpu_count": 1})
    assert gpu["error"]["code"] == "INSUFFICIENT_RESOURCES" and "no GPUs" in gpu["error"]["message"]
    too_big = await create(api, 400, resources={"disk_gb": 1000})
    assert too_big["error"]["details"]["field"] == "resources.disk_gb"
    assert (await create(api, 400, language=None, resources=None))["error"]["code"] == "INVALID_REQUEST"
    missing = await create(api, 404, snapshot_id="snap_missing", language=None, resources=None)
    assert missing["error"]["code"] == "NOT_FOUND"
    assert (await call(api, "GET", "/instances?state=sleeping", 400))["error"]["details"]["field"] == "state"


async def test_disk_gb_is_the_hard_size_of_the_workspace(api: httpx.AsyncClient) -> None:
    created = await create(api, resources={"memory_mb": 512, "disk_gb": 0.1})
    assert created["resources"]["disk_gb"] == pytest.approx(103 / 1024)
    code = (
        "import errno\ntry:\n    with open('/workspace/big', 'wb') as f:\n"
        "        for _ in range(150):\n            f.write(bytes(1 << 20))\n            f.flush()\n"
        "    print('fits')\nexcept OSError as e:\n    print(e.errno == errno.ENOSPC)"
    )
    assert await run(api, created["instance_id"], code) == "True\n"
    await stop(api, created["instance_id"])


async def test_list_filters_by_state_and_pages(api: httpx.AsyncClient) -> None:
    first = (await create(api))["instance_id"]
    second = (await create(api))["instance_id"]
    body = await call(api, "POST", "/execute", json={"code": "y = 1", "language": "python", "mode": "persistent"})
    persistent = body["instance_id"]
    await stop(api, first)
    running = await call(api, "GET", "/instances?state=running")
    assert {second, persistent} <= {i["instance_id"] for i in running["instances"]}
    assert all(i["state"] == "running" for i in running["instances"]) and "events" not in running["instances"][0]
    stopped = await call(api, "GET", "/instances?state=stopped")
    assert first in {i["instance_id"] for i in stopped["instances"]}
    page = await call(api, "GET", "/instances?limit=1&offset=1")
    assert page["limit"] == 1 and page["offset"] == 1 and len(page["instances"]) == 1 and page["total"] >= 3
    newest = await call(api, "GET", "/instances?limit=2")
    assert [i["instance_id"] for i in newest["instances"]] == [persistent, second]
    assert (await call(api, "GET", "/instances?limit=0", 400))["error"]["details"]["field"] == "limit"
    for instance_id in (second, persistent):
        await stop(api, instance_id)


async def test_pause_frees_memory_and_resume_continues_processes_and_sockets(
    api: httpx.AsyncClient, node: Node
) -> None:
    big = await create(api, resources={"memory_mb": 1536})
    instance_id = big["instance_id"]
    await run(api, instance_id, UNIX_SERVER + SERVE)
    assert await run(api, instance_id, PING) == "pong hi 1 42\n"
    full = await create(api, 507, resources={"memory_mb": 1024})
    assert full["error"]["code"] == "INSUFFICIENT_RESOURCES"

    started = time.monotonic()
    paused = await call(api, "POST", f"/instances/{instance_id}/pause")
    pause_s = time.monotonic() - started
    assert paused["state"] == "paused" and transitions(paused)[-1] == ("running", "paused")
    assert (await call(api, "POST", f"/instances/{instance_id}/pause"))["state"] == "paused"  # idempotent
    refused = await api.post("/execute", json={"code": "print(x)", "language": "python", "instance_id": instance_id})
    error = refused.json()["error"]
    assert refused.status_code == 409 and "paused" in error["message"] and "resume" in error["message"]

    other = (await create(api, resources={"memory_mb": 1024}))["instance_id"]  # fits now
    blocked = await call(api, "POST", f"/instances/{instance_id}/resume", 507)
    assert blocked["error"]["code"] == "INSUFFICIENT_RESOURCES"
    assert (await call(api, "GET", f"/instances/{instance_id}"))["state"] == "paused"
    await stop(api, other)

    started = time.monotonic()
    resumed = await call(api, "POST", f"/instances/{instance_id}/resume")
    resume_s = time.monotonic() - started
    print(f"pause {pause_s * 1000:.0f} ms, resume {resume_s * 1000:.0f} ms")
    assert resumed["state"] == "running" and resumed["instance_id"] == instance_id
    assert transitions(resumed)[-1] == ("paused", "running")
    assert await run(api, instance_id, PING) == "pong hi 2 42\n"
    await stop(api, instance_id)
    assert node.instances.count((await node.api_keys.authenticate(KEY_A)).tenant_id) == 0


async def test_a_tcp_server_on_loopback_survives_pause_and_resume(api: httpx.AsyncClient) -> None:
    instance_id = (await create(api))["instance_id"]
    try:
        await run(api, instance_id, TCP_SERVER + SERVE)
        assert await run(api, instance_id, PING) == "pong hi 1 42\n"
        await call(api, "POST", f"/instances/{instance_id}/pause")
        await call(api, "POST", f"/instances/{instance_id}/resume")
        assert await run(api, instance_id, PING) == "pong hi 2 42\n"
    finally:
        await stop(api, instance_id)


async def test_a_paused_instance_can_be_stopped_and_a_stopped_one_not_paused(
    api: httpx.AsyncClient, node: Node
) -> None:
    instance_id = (await create(api))["instance_id"]
    await call(api, "POST", f"/instances/{instance_id}/pause")
    stopped = await stop(api, instance_id)
    assert transitions(stopped)[-2:] == [("running", "paused"), ("paused", "stopped")]
    assert list((node.instances.pause_store.root / "blobs").glob("*/*")) == []  # its pause state is freed
    for action in ("pause", "resume"):
        refused = await call(api, "POST", f"/instances/{instance_id}/{action}", 409)
        assert refused["error"]["details"]["state"] == "stopped"


async def test_ttl_stops_an_instance_and_auto_stop_false_is_never_idle_stopped(
    api: httpx.AsyncClient, node: Node
) -> None:
    created = await create(api, ttl=60, auto_stop=False)
    instance_id = created["instance_id"]
    tenant = (await node.api_keys.authenticate(KEY_A)).tenant_id
    instance = await node.instances.get(tenant, instance_id)
    instance.context.last_used -= node.settings.instance_idle_timeout_s + 1
    assert instance_id not in await node.instances.reap_idle()
    assert instance.expires_at is not None
    assert instance_id not in await node.instances.reap_expired(instance.expires_at - timedelta(seconds=1))
    assert await run(api, instance_id, "print('alive')") == "alive\n"
    assert instance_id in await node.instances.reap_expired(instance.expires_at)
    record = await call(api, "GET", f"/instances/{instance_id}")
    assert record["state"] == "stopped" and record["stopped_reason"] == "ttl expired"
    assert record["events"][-1]["reason"] == "ttl expired"


async def test_auto_stop_instances_are_stopped_when_idle(api: httpx.AsyncClient, node: Node) -> None:
    instance_id = (await create(api))["instance_id"]
    tenant = (await node.api_keys.authenticate(KEY_A)).tenant_id
    instance = await node.instances.get(tenant, instance_id)
    instance.context.last_used -= node.settings.instance_idle_timeout_s + 1
    assert instance_id in await node.instances.reap_idle()
    record = await call(api, "GET", f"/instances/{instance_id}")
    assert record["state"] == "stopped" and "idle" in record["stopped_reason"]


async def test_other_tenants_see_nothing(api: httpx.AsyncClient, other_tenant: httpx.AsyncClient) -> None:
    instance_id = (await create(api))["instance_id"]
    assert (await call(other_tenant, "GET", f"/instances/{instance_id}", 404))["error"]["code"] == "NOT_FOUND"
    for action in ("stop", "pause", "resume"):
        await call(other_tenant, "POST", f"/instances/{instance_id}/{action}", 404)
    listed = await call(other_tenant, "GET", "/instances")
    assert instance_id not in {i["instance_id"] for i in listed["instances"]}
    assert (await call(api, "GET", f"/instances/{instance_id}"))["state"] == "running"
    await stop(api, instance_id)
