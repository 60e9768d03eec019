"""A localnet with the FaaS service bootstrapped, and operator nodes as real processes (``faas operator``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from substrateinterface import Keypair, SubstrateInterface

from blueprint import render_blueprint
from operator_node import load_or_create_role_key

FAAS = str(Path(sys.executable).parent / "faas")


def free_port() -> int:
    from localnet import free_port as localnet_free_port

    return localnet_free_port()


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


def submit(substrate: SubstrateInterface, who: Keypair, function: str, params: dict[str, Any]) -> list[Any]:
    call = substrate.compose_call("Services", function, params)
    extrinsic = substrate.create_signed_extrinsic(call=call, keypair=who)
    receipt = substrate.submit_extrinsic(extrinsic, wait_for_inclusion=True)
    assert receipt.is_success, receipt.error_message
    return list(receipt.triggered_events)


def event(events: list[Any], name: str) -> dict[str, Any]:
    for item in events:
        value = item.value
        if value["module_id"] == "Services" and value["event_id"] == name:
            attributes: dict[str, Any] = value["attributes"]
            return attributes
    raise AssertionError(f"no Services.{name} in {events}")


def bootstrap(url: str, operators: list[tuple[Keypair, bytes, str]], owner: Keypair) -> Service:
    """The blueprint, each operator registered (account, role key, REST address), one service they all run."""
    substrate = SubstrateInterface(url=url)
    try:
        events = submit(substrate, owner, "create_blueprint", {"blueprint": render_blueprint()})
        blueprint_id = int(event(events, "BlueprintCreated")["blueprint_id"])
        for account, role_key, rpc_address in operators:
            preferences = {"key": "0x" + role_key.hex(), "rpc_address": rpc_address}
            submit(
                substrate,
                account,
                "register",
                {"blueprint_id": blueprint_id, "preferences": preferences, "registration_args": [], "value": 0},
            )
        request = {
            "evm_origin": None,
            "blueprint_id": blueprint_id,
            "permitted_callers": [],
            "operators": [account.ss58_address for account, _, _ in operators],
            "request_args": [],
            "asset_security_requirements": [],
            "ttl": 0,
            "payment_asset": {"Custom": 0},
            "value": 0,
            "membership_model": {"Fixed": {"min_operators": len(operators)}},
        }
        request_id = int(event(submit(substrate, owner, "request", request), "ServiceRequested")["request_id"])
        service_id = None
        for account, _, _ in operators:
            approved = submit(substrate, account, "approve", {"request_id": request_id, "security_commitments": []})
            for item in approved:
                if item.value["event_id"] == "ServiceInitiated":
                    service_id = int(item.value["attributes"]["service_id"])
        assert service_id is not None
        return Service(url, blueprint_id, service_id)
    finally:
        substrate.close()


def results_for(url: str, service_id: int, call_id: int) -> list[dict[str, Any]]:
    """Every ``JobResultSubmitted`` for the call in the chain's blocks so far (duplicates included)."""
    substrate = SubstrateInterface(url=url)
    try:
        head = substrate.get_block_number(substrate.get_chain_head())
        found = []
        for number in range(head + 1):
            block_hash = substrate.get_block_hash(number)
            for item in substrate.get_events(block_hash):
                value = item.value
                if value["module_id"] == "Services" and value["event_id"] == "JobResultSubmitted":
                    attributes = value["attributes"]
                    if (int(attributes["service_id"]), int(attributes["call_id"])) == (service_id, call_id):
                        found.append({**attributes, "block": number})
        return found
    finally:
        substrate.close()
