"""Instances with ``network: egress`` reach the outside world but not the node, its other bridges or each
other; ``none`` stays loopback only; nodes without FAAS_INSTANCE_EGRESS refuse egress. Real Docker, iptables, CRIU.

"Outside" is a TCP server in a network namespace of the test's own, joined to the host by a veth
pair with public (TEST-NET-3) addresses, so the test needs no internet.
"""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from engine.docker import DockerClient
from engine.egress import EGRESS_BRIDGE, EGRESS_NETWORK, chain_rules, jump_rules, network_body, remove_egress
from service.errors import InvalidRequest
from service.instance_records import RequestedInstance, instance_options
from tests.api.stateful import call, http_client, running_app, stateful_settings
from tests.conftest import KEY_A

pytestmark = pytest.mark.usefixtures("criu_ready")

OUTSIDE_HOST = "203.0.113.1"
OUTSIDE_SERVER = "203.0.113.2"
OUTSIDE_PORT = 9100
HOST_PORT = 9101

SERVE = """
import socket, sys
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen()
while True:
    connection, _ = server.accept()
    connection.sendall(sys.argv[3].encode())
    connection.close()
"""

INSTANCE_SERVER = """
import socket, threading
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("0.0.0.0", 9000))
server.listen()
threading.Thread(target=lambda: [c.close() for c in iter(lambda: server.accept()[0], None)], daemon=True).start()
print(socket.gethostbyname(socket.gethostname()))
"""

REACH = """
import socket
def reach(host, port):
    try:
        with socket.create_connection((host, port), timeout=2) as c:
            return c.recv(64).decode() or "open"
    except OSError as e:
        return type(e).__name__
print(" ".join(reach(h, p) for h, p in {targets!r}))
"""

GATEWAY = "print(open('/proc/net/route').read().split('\\n')[1].split()[2])"


def _run(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True)


@pytest.fixture(scope="module")
def outside() -> Iterator[None]:
    """A server at OUTSIDE_SERVER:OUTSIDE_PORT in its own namespace, routed from the host through a veth."""
    suffix = secrets.token_hex(3)
    namespace, host_end, inner_end = f"faas-egt-{suffix}", f"fegh{suffix}", f"fegn{suffix}"
    _run("ip", "netns", "add", namespace)
    server: subprocess.Popen[bytes] | None = None
    try:
        _run("ip", "link", "add", host_end, "type", "veth", "peer", "name", inner_end, "netns", namespace)
        _run("ip", "addr", "add", f"{OUTSIDE_HOST}/30", "dev", host_end)
        _run("ip", "link", "set", host_end, "up")
        _run("ip", "-n", namespace, "addr", "add", f"{OUTSIDE_SERVER}/30", "dev", inner_end)
        _run("ip", "-n", namespace, "link", "set", inner_end, "up")
        _run("ip", "-n", namespace, "link", "set", "lo", "up")
        serve = [sys.executable, "-c", SERVE, OUTSIDE_SERVER, str(OUTSIDE_PORT), "outside"]
        server = subprocess.Popen(["ip", "netns", "exec", namespace, *serve])
        yield
    finally:
        if server is not None:
            server.kill()
            server.wait()
        subprocess.run(["ip", "netns", "delete", namespace], check=False)  # takes the veth pair with it


@pytest.fixture(scope="module")
def host_listener() -> Iterator[None]:
    """A server on every host address, standing in for the node's API and anything else on the host."""
    server = subprocess.Popen([sys.executable, "-c", SERVE, "0.0.0.0", str(HOST_PORT), "host"])
    try:
        yield
    finally:
        server.kill()
        server.wait()


@pytest.fixture(scope="module")
async def egress_app(
    require_docker: None, outside: None, host_listener: None, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[FastAPI]:
    settings = stateful_settings(tmp_path_factory.mktemp("egress-node"), instance_egress=True)
    try:
        async with running_app(settings) as application:
            yield application
    finally:
        docker = DockerClient()
        try:
            await remove_egress(docker)
        finally:
            await docker.close()


@pytest.fixture(scope="module")
async def api(egress_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(egress_app, KEY_A) as client:
        yield client


async def start(api: httpx.AsyncClient, network: str) -> str:
    body = await call(
        api, "POST", "/instances", 201, json={"language": "python", "network": network, "resources": {"memory_mb": 256}}
    )
    assert body["network"] == network
    instance_id: str = body["instance_id"]
    return instance_id


async def run(api: httpx.AsyncClient, instance_id: str, code: str) -> str:
    body = await call(api, "POST", "/execute", json={"instance_id": instance_id, "language": "python", "code": code})
    assert body["status"] == "completed", body
    stdout: str = body["stdout"]
    return stdout.strip()


async def reach(api: httpx.AsyncClient, instance_id: str, *targets: tuple[str, int]) -> list[str]:
    return (await run(api, instance_id, REACH.format(targets=list(targets)))).split()


async def test_egress_reaches_outside_but_not_the_node_nor_other_instances(api: httpx.AsyncClient) -> None:
    prober, other = await start(api, "egress"), await start(api, "egress")
    try:
        other_ip = await run(api, other, INSTANCE_SERVER)
        gateway = await run(api, prober, GATEWAY)
        gateway_ip = ".".join(str(int(gateway[i : i + 2], 16)) for i in (6, 4, 2, 0))
        outside_server, host_on_gateway, api_port, outside_host, docker0, other_instance = await reach(
            api,
            prober,
            (OUTSIDE_SERVER, OUTSIDE_PORT),
            (gateway_ip, HOST_PORT),
            (gateway_ip, 8080),
            (OUTSIDE_HOST, HOST_PORT),  # the host's own address on the outside link
            ("172.17.0.1", HOST_PORT),  # the default bridge's gateway, another host address
            (other_ip, 9000),
        )
        assert outside_server == "outside"
        assert "host" not in (host_on_gateway, outside_host, docker0)
        for refused in (host_on_gateway, api_port, outside_host, docker0, other_instance):
            assert refused == "TimeoutError"  # dropped by the firewall, not even refused
        # The other instance's server is up: it reaches itself on that address.
        assert (await reach(api, other, (other_ip, 9000))) == ["open"]
        assert (await run(api, prober, "import os; print(sorted(os.listdir('/sys/class/net')))")) == "['eth0', 'lo']"
        listed = await call(api, "GET", "/instances", params={"state": "running"})
        assert {i["instance_id"]: i["network"] for i in listed["instances"]}[prober] == "egress"
    finally:
        for instance_id in (prober, other):
            await api.post(f"/instances/{instance_id}/stop")


async def test_a_none_instance_still_has_only_loopback(api: httpx.AsyncClient) -> None:
    instance_id = await start(api, "none")
    try:
        assert (await run(api, instance_id, "import os; print(sorted(os.listdir('/sys/class/net')))")) == "['lo']"
        assert await reach(api, instance_id, (OUTSIDE_SERVER, OUTSIDE_PORT)) == ["OSError"]
        assert (await call(api, "GET", f"/instances/{instance_id}"))["network"] == "none"
    finally:
        await api.post(f"/instances/{instance_id}/stop")


async def test_the_firewall_and_network_are_in_place(egress_app: FastAPI, api: httpx.AsyncClient) -> None:
    instance_id = await start(api, "egress")
    await api.post(f"/instances/{instance_id}/stop")
    listed = await asyncio.create_subprocess_exec("iptables", "-S", stdout=asyncio.subprocess.PIPE)
    rules = (await listed.communicate())[0].decode()
    assert "-A INPUT -i faas-egress0 -j FAAS-EGRESS-IN" in rules
    assert "-A DOCKER-USER -i faas-egress0 -j FAAS-EGRESS-FWD" in rules
    docker = DockerClient()
    try:
        network = await docker.inspect_network(EGRESS_NETWORK)
    finally:
        await docker.close()
    assert network["Options"]["com.docker.network.bridge.enable_icc"] == "false"


async def test_egress_instance_pauses_and_resumes_with_its_network(api: httpx.AsyncClient) -> None:
    instance_id = await start(api, "egress")
    try:
        await run(api, instance_id, INSTANCE_SERVER)
        assert (await call(api, "POST", f"/instances/{instance_id}/pause"))["state"] == "paused"
        resumed = await call(api, "POST", f"/instances/{instance_id}/resume")
        assert resumed["state"] == "running" and resumed["network"] == "egress"
        # The same listening server answers, and the outside is reachable again from the new sandbox.
        assert await reach(api, instance_id, ("127.0.0.1", 9000), (OUTSIDE_SERVER, OUTSIDE_PORT)) == ["open", "outside"]
        assert await reach(api, instance_id, (OUTSIDE_HOST, HOST_PORT)) == ["TimeoutError"]
    finally:
        await api.post(f"/instances/{instance_id}/stop")


async def test_snapshots_of_egress_instances_are_refused(api: httpx.AsyncClient) -> None:
    # Their checkpoint does not restore into a sandbox without the network (CRIU fails), so none is taken.
    egress, plain = await start(api, "egress"), await start(api, "none")
    try:
        await run(api, egress, "x = 41")
        refused = await api.post("/snapshots", json={"instance_id": egress})
        assert refused.status_code == 409, refused.text
        error = refused.json()["error"]
        assert error["code"] == "CONFLICT"
        assert "instances with network access cannot be checkpointed" in error["message"]
        assert await run(api, egress, "print(x + 1)") == "42"  # unharmed
        snapshot = await call(api, "POST", "/snapshots", 201, json={"instance_id": plain})
        from_snapshot = await api.post("/instances", json={"snapshot_id": snapshot["snapshot_id"], "network": "egress"})
        assert from_snapshot.status_code == 400 and from_snapshot.json()["error"]["details"]["field"] == "network"
    finally:
        for instance_id in (egress, plain):
            await api.post(f"/instances/{instance_id}/stop")


async def test_a_node_without_egress_refuses_it(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/instances", json={"language": "python", "network": "egress"})
    assert response.status_code == 400, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == "INVALID_REQUEST" and "egress is disabled on this node" in error["message"]
    assert error["details"]["field"] == "network"


async def test_pausing_an_egress_instance_with_an_open_connection_is_refused(api: httpx.AsyncClient) -> None:
    instance_id = await start(api, "egress")
    try:
        await run(
            api, instance_id, f"import socket; s = socket.create_connection(({OUTSIDE_SERVER!r}, {OUTSIDE_PORT}))"
        )
        refused = await api.post(f"/instances/{instance_id}/pause")
        assert refused.status_code == 409, refused.text
        error = refused.json()["error"]
        assert error["code"] == "CONFLICT" and "cannot be checkpointed on this node" in error["message"]
        assert (await call(api, "GET", f"/instances/{instance_id}"))["state"] == "running"
        await run(api, instance_id, "s.close()")  # without the connection it pauses
        assert (await call(api, "POST", f"/instances/{instance_id}/pause"))["state"] == "paused"
        assert (await call(api, "POST", f"/instances/{instance_id}/resume"))["state"] == "running"
    finally:
        await api.post(f"/instances/{instance_id}/stop")


def test_egress_network_and_rules_are_what_the_isolation_relies_on(tmp_path: Path) -> None:
    options = network_body()["Options"]
    assert options["com.docker.network.bridge.enable_icc"] == "false"
    assert options["com.docker.network.bridge.name"] == EGRESS_BRIDGE
    dropped = {spec[spec.index("-d") + 1] for _, spec in chain_rules() if "-d" in spec}
    assert {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "127.0.0.0/8"} <= dropped
    assert chain_rules()[-len(dropped) - 1][1][-2:] == ["-j", "DROP"]  # everything else to the host is dropped
    assert all(spec[spec.index("-i") + 1] == EGRESS_BRIDGE for _, spec in jump_rules())
    settings = stateful_settings(tmp_path)
    with pytest.raises(InvalidRequest, match="egress is disabled"):
        instance_options(RequestedInstance("python", network="egress"), None, settings)
    with pytest.raises(InvalidRequest, match="unknown network"):
        instance_options(RequestedInstance("python", network="host"), None, settings)
    egress_node = stateful_settings(tmp_path, instance_egress=True)
    assert instance_options(RequestedInstance("python", network="egress"), None, egress_node).network == "egress"
