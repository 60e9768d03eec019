"""TangleFaaSClient end to end on a localnet, with the operator emulated (real signed results, real REST)."""

from __future__ import annotations

import threading

import pytest

from chain import load_keypair
from faas_sdk.tangle import TangleError, TangleFaaSClient, VerificationError
from tests.chain.conftest import CALLER_SEED


def operate(deployment, call_id: int, code: str, stdout: str) -> None:
    deployment.answer(deployment.find_call(call_id), code, stdout)


def run_operator_later(deployment, call_id: int, code: str, stdout: str) -> threading.Thread:
    thread = threading.Thread(target=operate, args=(deployment, call_id, code, stdout))
    thread.start()
    return thread


@pytest.fixture
def client(deployment):
    with TangleFaaSClient(deployment.net.url, blueprint_id=deployment.blueprint_id, seed=CALLER_SEED) as tangle:
        yield tangle


def test_submit_and_wait_returns_the_verified_result(deployment, client):
    assert client.service_id == deployment.service_id
    call_id = client.submit_job(code="print('Verified execution')", language="python")
    operator = run_operator_later(deployment, call_id, "print('Verified execution')", "Verified execution\n")
    result = client.wait_for_result(call_id, timeout=60)
    operator.join()
    assert result.stdout == "Verified execution\n"
    assert result.exit_code == 0 and result.status == "completed"
    assert result.call_id == call_id and result.reference == f"exec_{call_id}"
    assert result.operator == load_keypair(deployment.operator_seed).ss58_address
    assert result.receipt.operator_key == deployment.signer.public_key_65


def test_tampered_stdout_is_refused(deployment, client):
    call_id = client.submit_job(code="print(1)", language="python")
    operate(deployment, call_id, "print(1)", "1\n")
    deployment.endpoint.jobs[f"/api/v1/jobs/{deployment.service_id}/{call_id}"]["output"]["stdout"] = "2\n"
    with pytest.raises(VerificationError) as caught:
        client.wait_for_result(call_id, timeout=60)
    assert any("stdout hash mismatch" in reason for reason in caught.value.reasons)
    assert caught.value.code == "VERIFICATION_FAILED"


def test_forged_signature_is_refused(deployment, client):
    from attestations import ReceiptSigner

    call_id = client.submit_job(code="print(1)", language="python")
    real_signer = deployment.signer
    deployment.signer = ReceiptSigner.generate()  # a key the chain never registered for this operator
    try:
        operate(deployment, call_id, "print(1)", "1\n")
    finally:
        deployment.signer = real_signer
    with pytest.raises(VerificationError) as caught:
        client.wait_for_result(call_id, timeout=60)
    assert any("does not recover to the registered key" in reason for reason in caught.value.reasons)


def test_service_id_is_accepted_and_unknown_service_refused(deployment):
    with TangleFaaSClient(deployment.net.url, service_id=deployment.service_id) as tangle:
        assert tangle.service.blueprint == deployment.blueprint_id
        with pytest.raises(TangleError, match="keypair or seed"):
            tangle.submit_job(code="1", language="python")
    with pytest.raises(TangleError, match="no service 999"):
        TangleFaaSClient(deployment.net.url, service_id=999)
    with pytest.raises(TangleError, match="no service of blueprint 999"):
        TangleFaaSClient(deployment.net.url, blueprint_id=999, seed=CALLER_SEED)


def test_oversized_code_is_refused_before_the_chain(client):
    with pytest.raises(TangleError, match="1024") as caught:
        client.submit_job(code="x" * 2000, language="python")
    assert caught.value.code == "INVALID_REQUEST"


def test_missing_operator_output_is_an_operator_error(deployment, client):
    call_id = client.submit_job(code="print(3)", language="python")
    operate(deployment, call_id, "print(3)", "3\n")
    del deployment.endpoint.jobs[f"/api/v1/jobs/{deployment.service_id}/{call_id}"]
    with pytest.raises(TangleError, match="HTTP 404") as caught:
        client.wait_for_result(call_id, timeout=60)
    assert caught.value.code == "OPERATOR_ERROR"
