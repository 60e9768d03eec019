"""A localnet with the FaaS service bootstrapped, and operator nodes as real processes (``faas operator``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from substrateinterface import Keypair

from blueprint import render_blueprint
from chain import ChainClient, JobResultEvent, ServicesClient
from localnet import OperatorRegistration, bootstrap_service, free_port
from operator_node import load_or_create_role_key

FAAS = str(Path(sys.executable).parent / "faas")
ALICE = Keypair.create_from_uri("//Alice")


@dataclass
class Service:
    url: str
    blueprint_id: int
    service_id: int


class OperatorProcess:
    """``faas operator`` on its own data dir and port; killable, restartable."""

    def __init__(self, chain_url: str, data_dir: Path, *, seed: str = "//Alice", port: int | None = None) -> None:
        self.chain_url = chain_url
        self.data_dir = data_dir
        self.seed = seed
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log = data_dir / "operator.log"

    @property
    def role_key(self) -> bytes:
        return load_or_create_role_key(self.data_dir).public_key_65

    def start(self) -> OperatorProcess:
        env = {**os.environ, "FAAS_POOL_SIZES": '{"python": 1}', "FAAS_API_KEYS": "faas_test_operator_key_0000000000"}
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [FAAS, "operator", "--chain", self.chain_url, "--data-dir", str(self.data_dir),
                 "--port", str(self.port), "--seed", self.seed],
                stdout=log, stderr=subprocess.STDOUT, env=env,
            )  # fmt: skip
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"faas operator exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.2)
        self.kill()
        pytest.fail(f"faas operator did not come up: {self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs (a crash)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()

    def job(self, service_id: int, call_id: int) -> httpx.Response:
        return httpx.get(f"{self.url}/api/v1/jobs/{service_id}/{call_id}", timeout=10)


def bootstrap(url: str, operators: list[tuple[Keypair, OperatorProcess]]) -> Service:
    """The blueprint, each operator (account, node) registered with its node's role key and REST address,
    and one service they all run, requested by Alice."""
    registrations = [OperatorRegistration(account, node.role_key, node.url) for account, node in operators]
    blueprint_id, service_id = bootstrap_service(url, render_blueprint(), registrations, owner=ALICE)
    return Service(url, blueprint_id, service_id)


def results_for(url: str, service_id: int, call_id: int) -> list[JobResultEvent]:
    """Every ``JobResultSubmitted`` for the call in the chain's blocks so far (duplicates included)."""
    with ChainClient(url) as chain:
        services = ServicesClient(chain)
        head = chain.run(lambda substrate: int(substrate.get_block_number(substrate.get_chain_head())))
        return [
            result
            for number in range(head + 1)
            for result in services.job_results_in(number)
            if (result.service_id, result.call_id) == (service_id, call_id)
        ]
