"""`faas serve` as a user starts it: a real process, a real port."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

FAAS = str(Path(sys.executable).parent / "faas")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    def __init__(self, data_dir: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.log = data_dir / f"serve-{self.port}.log"
        full_env = {**os.environ, "FAAS_POOL_SIZES": '{"python": 1}', **env}
        if "FAAS_API_KEYS" not in env:
            full_env.pop("FAAS_API_KEYS", None)
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [FAAS, "serve", "--port", str(self.port), "--data-dir", str(data_dir)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=full_env,
            )
        self.url = f"http://127.0.0.1:{self.port}/api/v1"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"faas serve exited: {self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        self.process.kill()
        self.process.wait()
        pytest.fail(f"faas serve did not come up: {self.log.read_text()}")

    def output(self) -> str:
        return self.log.read_text()

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise


@pytest.fixture
def servers(require_docker: None) -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        if server.process.poll() is None:
            server.stop()


def test_first_start_creates_a_key_once_and_it_works(tmp_path: Path, servers: list[Server]) -> None:
    first = Server(tmp_path, {})
    servers.append(first)
    keys = re.findall(r"faas_[A-Za-z0-9_-]{40,}", first.output())
    assert len(keys) == 1
    response = httpx.post(
        f"{first.url}/execute",
        json={"code": "print('served')", "language": "python"},
        headers={"Authorization": f"Bearer {keys[0]}"},
        timeout=60,
    )
    assert response.status_code == 200 and response.json()["stdout"] == "served\n"
    first.stop()
    assert first.process.returncode == 0
    second = Server(tmp_path, {})
    servers.append(second)
    assert not re.findall(r"faas_[A-Za-z0-9_-]{40,}", second.output())
    stored = httpx.get(
        f"{second.url}/executions/{response.json()['execution_id']}",
        headers={"X-API-Key": keys[0]},
        timeout=10,
    )
    assert stored.json()["stdout"] == "served\n"


def test_keys_from_the_environment_are_used_and_nothing_is_generated(tmp_path: Path, servers: list[Server]) -> None:
    server = Server(tmp_path, {"FAAS_API_KEYS": "env-key-one, env-key-two"})
    servers.append(server)
    assert "created one" not in server.output()
    for key in ("env-key-one", "env-key-two"):
        response = httpx.post(
            f"{server.url}/execute",
            json={"code": "print(2)", "language": "python"},
            headers={"X-API-Key": key},
            timeout=60,
        )
        assert response.status_code == 200
    assert httpx.post(f"{server.url}/execute", json={}, headers={"X-API-Key": "nope"}).status_code == 401
