"""The localnet driven by @polkadot/api, as a Tangle developer would: connect, query, subscribe, sign, call a job.

pytest owns the services: a localnet, the service bootstrapped on it and a real ``faas operator`` (Docker)
answering its jobs; the Node tests in ``tests/localnet/polkadot-js`` get their endpoints as environment
variables. Every JSON-RPC request polkadot.js sends is recorded, and each must be one the localnet serves.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from substrateinterface import Keypair, SubstrateInterface

from localnet import running_localnet
from localnet.testing import RunningLocalnet
from tests.node_tests import run_node_tests
from tests.operator_node.harness import OperatorProcess, Service, bootstrap

pytestmark = pytest.mark.slow

PACKAGE = Path("tests/localnet/polkadot-js")
# The operator signs its results as Bob, so the Node tests can sign as //Alice without sharing her nonces.
OPERATOR = Keypair.create_from_uri("//Bob")


@pytest.fixture(scope="module")
def chain() -> Iterator[RunningLocalnet]:
    with running_localnet(block_time=0.5, finality_lag=2) as localnet:
        yield localnet


@pytest.fixture(scope="module")
def operator(chain: RunningLocalnet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    node = OperatorProcess(chain.url, tmp_path_factory.mktemp("pjs") / "operator", seed="//Bob")
    node.data_dir.mkdir(parents=True, exist_ok=True)
    yield node
    node.stop()


@pytest.fixture(scope="module")
def service(require_docker: None, chain: RunningLocalnet, operator: OperatorProcess) -> Service:
    service = bootstrap(chain.url, [(OPERATOR, operator)])
    operator.start()
    return service


def _served(url: str) -> set[str]:
    substrate = SubstrateInterface(url=url)
    try:
        return set(substrate.rpc_request("rpc_methods", [])["result"]["methods"])
    finally:
        substrate.close()


def test_polkadot_js_against_the_localnet(
    chain: RunningLocalnet, operator: OperatorProcess, service: Service, tmp_path: Path
) -> None:
    rpc_log = tmp_path / "rpc.log"
    env = {
        "LOCALNET_URL": chain.url,
        "GENESIS_HASH": chain.genesis_hash,
        "SERVICE_ID": str(service.service_id),
        "BLUEPRINT_ID": str(service.blueprint_id),
        "OPERATOR_ACCOUNT": OPERATOR.ss58_address,
        "OPERATOR_URL": operator.url,
        "RPC_LOG": str(rpc_log),
    }
    # One file at a time: they sign as the same dev account, and a real node orders one account's nonces.
    run_node_tests(PACKAGE, env, node_args=["--test-concurrency=1"])
    requests = Counter(rpc_log.read_text().split("\n")[:-1])
    print("JSON-RPC requests polkadot.js sent:", json.dumps(dict(sorted(requests.items())), indent=1))
    methods = {line.split(" ")[0] for line in requests}
    assert methods <= _served(chain.url) | {"foo_bar"}, "polkadot.js sent a method the localnet does not list"
    assert "state_call TransactionPaymentApi_query_info" in requests
