"""Instances are hard-limited and isolated: no way to the node, its Docker engine or other instances;
another tenant gets 404 for everything about them. Real Docker and CRIU."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.api.stateful import call, http_client, running_app, stateful_settings
from tests.conftest import KEY_A, KEY_B

pytestmark = pytest.mark.usefixtures("criu_ready")

ECHO_SERVER = """
import socket, threading
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", 9000))
server.listen()
threading.Thread(target=lambda: [c.close() for c in iter(lambda: server.accept()[0], None)], daemon=True).start()
"""

PROBE = """
import os, socket
def reach(host, port):
    try:
        socket.create_connection((host, port), timeout=2).close()
        return "open"
    except OSError as e:
        return type(e).__name__
print(reach("127.0.0.1", 9000), reach("172.17.0.1", {api_port}), reach("10.0.2.2", 80), reach("1.1.1.1", 53))
print(os.path.exists("/var/run/docker.sock"), os.path.exists("/run/docker.sock"))
print(sorted(n for n in os.listdir("/sys/class/net")))
"""


@pytest.fixture(scope="module")
async def isolation_app(require_docker: None, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FastAPI]:
    async with running_app(stateful_settings(tmp_path_factory.mktemp("isolation-node"))) as application:
        yield application


@pytest.fixture(scope="module")
async def api(isolation_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(isolation_app, KEY_A) as client:
        yield client


async def start(api: httpx.AsyncClient, **resources: Any) -> str:
    body = await call(api, "POST", "/instances", 201, json={"language": "python", "resources": resources})
    instance_id: str = body["instance_id"]
    return instance_id


async def run(api: httpx.AsyncClient, instance_id: str, code: str) -> dict[str, Any]:
    return await call(api, "POST", "/execute", json={"instance_id": instance_id, "language": "python", "code": code})


async def test_cpu_memory_and_disk_are_hard_limits(api: httpx.AsyncClient) -> None:
    instance_id = await start(api, cpu_cores=0.5, memory_mb=256, disk_gb=0.25)
    # What the kernel enforces, read from inside: the cgroup's CPU quota and memory limit, the workspace size.
    limits = await run(
        api,
        instance_id,
        "import os\n"
        "q = int(open('/sys/fs/cgroup/cpu/cpu.cfs_quota_us').read())\n"
        "p = int(open('/sys/fs/cgroup/cpu/cpu.cfs_period_us').read())\n"
        "print(q / p, int(open('/sys/fs/cgroup/memory/memory.limit_in_bytes').read()) >> 20)\n"
        "s = os.statvfs('/workspace'); print(s.f_blocks * s.f_frsize >> 20)",
    )
    cpu, memory = limits["stdout"].splitlines()[0].split()
    assert float(cpu) == 0.5
    assert int(memory) == 256
    assert int(limits["stdout"].splitlines()[1]) == 256
    # Memory beyond the limit is not granted: the allocating run dies (OOM), it does not borrow from the node.
    hog = await run(api, instance_id, "x = bytearray(400 << 20); x[::4096] = b'x' * len(x[::4096]); print('got it')")
    assert hog["status"] == "failed" and hog["oom_killed"], hog
    assert "out of memory" in hog["error"]
    await api.post(f"/instances/{instance_id}/stop")


async def test_an_instance_reaches_neither_the_node_nor_docker_nor_other_instances(api: httpx.AsyncClient) -> None:
    server = await start(api, memory_mb=256)
    prober = await start(api, memory_mb=256)
    assert (await run(api, server, ECHO_SERVER))["status"] == "completed"
    probed = await run(api, prober, PROBE.format(api_port=8080))
    lines = probed["stdout"].splitlines()
    same_port_elsewhere, node_api, gateway, internet = lines[0].split()
    assert same_port_elsewhere == "ConnectionRefusedError"  # 9000 is the other instance's: not reachable
    assert node_api != "open" and gateway != "open" and internet != "open"
    assert lines[1] == "False False"  # no Docker socket inside
    assert lines[2] == "['lo']"  # no network interface but its own loopback
    assert (
        await run(api, server, "import socket; socket.create_connection(('127.0.0.1', 9000)).close(); print('own')")
    )["stdout"] == "own\n"
    for instance_id in (server, prober):
        await api.post(f"/instances/{instance_id}/stop")


async def test_another_tenant_gets_404_for_everything(api: httpx.AsyncClient, isolation_app: FastAPI) -> None:
    instance_id = await start(api, memory_mb=256)
    snapshot = await call(api, "POST", "/snapshots", 201, json={"instance_id": instance_id})
    base = f"/instances/{instance_id}"
    requests: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", base, None),
        ("GET", f"{base}/ssh", None),
        ("POST", f"{base}/expose", {"name": "web", "port": 8000}),
        ("POST", f"{base}/unexpose", {"name": "web"}),
        ("POST", f"{base}/port-forward", {"local_port": 23999, "remote_port": 9000}),
        ("GET", f"{base}/port-forward", None),
        ("DELETE", f"{base}/port-forward/23999", None),
        ("POST", f"{base}/copy", {"direction": "download", "local_path": "x", "remote_path": ""}),
        ("GET", f"{base}/files", None),
        ("POST", f"{base}/sync", {"local_dir": "x", "remote_dir": ""}),
        ("POST", "/execute", {"instance_id": instance_id, "language": "python", "code": "print(1)"}),
        ("POST", "/snapshots", {"instance_id": instance_id}),
        ("GET", f"/snapshots/{snapshot['snapshot_id']}", None),
        ("POST", f"/snapshots/{snapshot['snapshot_id']}/restore", None),
        ("POST", f"{base}/pause", None),
        ("POST", f"{base}/resume", None),
        ("POST", f"{base}/stop", None),
    ]
    async with http_client(isolation_app, KEY_B) as other:
        for method, path, body in requests:
            response = await other.request(method, path, json=body)
            assert response.status_code == 404, (method, path, response.text)
            assert response.json()["error"]["code"] == "NOT_FOUND"
    assert (await call(api, "GET", base))["state"] == "running"  # untouched by all of that
    await api.post(f"{base}/stop")
