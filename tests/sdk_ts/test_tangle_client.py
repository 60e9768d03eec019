"""The TypeScript ``TangleFaaSClient`` end to end: a real localnet, a real ``faas operator`` process, real Docker.

pytest owns the services; ``sdk-ts/test/integration/tangle.test.ts`` drives them with @polkadot/api.
Three services of the same operator node: one registered honestly, one whose on-chain role key is another
key than the one the node signs with (so its signatures are forged as far as the chain knows), and one whose
REST address is a tampering proxy the node test runs on a port chosen here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from attestations import ReceiptSigner
from blueprint import render_blueprint
from localnet import OperatorRegistration, bootstrap_service, free_port, running_localnet
from tests.node_tests import run_node_tests
from tests.operator_node.harness import ALICE, OperatorProcess, bootstrap


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[str]:
    with running_localnet(block_time=0.25, finality_lag=1, base_path=tmp_path / "chain") as localnet:
        yield localnet.url


@pytest.fixture
def operator(require_docker: None, chain: str, tmp_path: Path) -> Iterator[OperatorProcess]:
    node = OperatorProcess(chain, tmp_path / "operator")
    yield node
    node.stop()


@pytest.mark.slow
def test_the_typescript_client_submits_waits_and_verifies(chain: str, operator: OperatorProcess) -> None:
    honest = bootstrap(chain, [(ALICE, operator)])
    forged_key = ReceiptSigner.generate().public_key_65  # registered, but the node signs with its own key
    _, forged_service = bootstrap_service(
        chain, render_blueprint(), [OperatorRegistration(ALICE, forged_key, operator.url)], owner=ALICE
    )
    proxy_port = free_port()
    registration = OperatorRegistration(ALICE, operator.role_key, f"http://127.0.0.1:{proxy_port}")
    _, tampered_service = bootstrap_service(chain, render_blueprint(), [registration], owner=ALICE)
    operator.start()
    env = {
        "LOCALNET_URL": chain,
        "BLUEPRINT_ID": str(honest.blueprint_id),
        "SERVICE_ID": str(honest.service_id),
        "FORGED_SERVICE_ID": str(forged_service),
        "TAMPERED_SERVICE_ID": str(tampered_service),
        "TAMPER_PROXY_PORT": str(proxy_port),
        "OPERATOR_URL": operator.url,
        "OPERATOR_ROLE_KEY": "0x" + operator.role_key.hex(),
        "OPERATOR_ACCOUNT": ALICE.ss58_address,
        "CALLER_SEED": "//Bob",
    }
    report = run_node_tests(Path("sdk-ts"), env, ["test/integration/tangle.test.ts"], node_args=["--import", "tsx"])
    assert re.search(r"\bpass 6\b", report) and re.search(r"\bfail 0\b", report), report  # all six cases ran
