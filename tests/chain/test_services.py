"""The Services resource model against a real localnet: calls, results, records that verify."""

from __future__ import annotations

import asyncio

import pytest

from attestations import ExecutionOutput, verify
from blueprint import (
    ExecuteJob,
    JobResult,
    SnapshotCreateJob,
    decode_job_args_scale,
    encode_job_args,
    encode_job_args_scale,
)
from chain import AsyncServicesClient, ChainDataError, ChainTimeoutError, ExtrinsicFailedError, load_keypair
from tests.chain.conftest import CALLER_SEED


def call(deployment, request) -> int:
    return deployment.services.submit_job_call(
        load_keypair(CALLER_SEED), deployment.service_id, request.JOB, encode_job_args(request)
    )


def test_service_and_operator_are_read_back(deployment):
    service = deployment.services.service(deployment.service_id)
    operator = load_keypair(deployment.operator_seed).ss58_address
    assert service.blueprint == deployment.blueprint_id
    assert service.operators == (operator,)
    assert service.may_call(load_keypair(CALLER_SEED).ss58_address)
    preferences = deployment.services.operator_preferences(deployment.blueprint_id, operator)
    assert preferences.key == deployment.signer.public_key_65
    assert preferences.rpc_address == deployment.endpoint.url
    assert deployment.services.service(10_000) is None
    assert (
        deployment.services.operator_preferences(deployment.blueprint_id, load_keypair("//Ferdie").ss58_address) is None
    )
    assert any(item.id == deployment.service_id for item in deployment.services.services())


def test_job_call_carries_the_exact_args_bytes(deployment):
    request = ExecuteJob(language="python", code="print('hi')", env={"A": "1"}, snapshot_id="snap_1")
    call_id = call(deployment, request)
    found = deployment.find_call(call_id)
    assert found.job == 0 and found.service_id == deployment.service_id
    assert found.caller == load_keypair(CALLER_SEED).ss58_address
    assert found.args_scale == encode_job_args_scale(request)
    assert decode_job_args_scale(found.job, found.args_scale) == request
    assert deployment.services.job_result(deployment.service_id, call_id) is None


def test_code_that_looks_like_hex_survives_the_chain(deployment):
    request = ExecuteJob(language="python", code="0x1F")
    found = deployment.find_call(call(deployment, request))
    assert decode_job_args_scale(0, found.args_scale) == request


def test_submitted_result_is_read_back_and_verifies(deployment):
    request = ExecuteJob(language="python", code="print(2)")
    found = deployment.find_call(call(deployment, request))
    receipt = deployment.answer(found, "print(2)", "2\n")
    stored = deployment.services.job_result(found.service_id, found.call_id)
    assert stored is not None and stored.exit_code == 0 and stored.reference == f"exec_{found.call_id}"
    event = deployment.services.wait_for_job_result(
        found.service_id, found.call_id, from_block=found.block_number, timeout=30
    )
    assert event.operator == load_keypair(deployment.operator_seed).ss58_address
    assert event.result == stored
    record = deployment.services.chain_record(found.service_id, found.call_id)
    assert record.args_scale == found.args_scale
    outcome = verify(receipt, ExecutionOutput("2\n", ""), record)
    assert outcome.ok, outcome.reasons
    assert not verify(receipt, ExecutionOutput("3\n", ""), record).ok


def test_result_from_a_non_operator_is_refused_with_the_pallet_error(deployment):
    found = deployment.find_call(call(deployment, SnapshotCreateJob("inst_1")))
    result = JobResult(b"\x01" * 32, b"\x02" * 65, "completed", 0, "snap")
    with pytest.raises(ExtrinsicFailedError, match=r"NotRegistered|NotAllowed") as caught:
        deployment.services.submit_result(load_keypair("//Ferdie"), found.service_id, found.call_id, result)
    assert caught.value.block_hash


def test_call_of_an_unknown_job_is_refused(deployment):
    with pytest.raises(ExtrinsicFailedError, match="JobDefinitionNotFound"):
        deployment.services.submit_job_call(load_keypair(CALLER_SEED), deployment.service_id, 9, [])


def test_waiting_for_a_result_that_never_comes_times_out(deployment):
    found = deployment.find_call(call(deployment, SnapshotCreateJob("inst_2")))
    with pytest.raises(ChainTimeoutError, match="no finalized result"):
        deployment.services.wait_for_job_result(
            found.service_id, found.call_id, from_block=found.block_number, timeout=1
        )


def test_chain_record_of_an_unknown_call_is_refused(deployment):
    with pytest.raises(ChainDataError, match="no job call"):
        deployment.services.chain_record(deployment.service_id, 10_000)


def test_async_client_reads_the_same_calls(deployment):
    request = SnapshotCreateJob("inst_async")
    found = deployment.find_call(call(deployment, request))

    async def read():
        client = await AsyncServicesClient(deployment.chain).connect()
        calls = await client.finalized_job_calls(found.block_number, found.block_number, {deployment.service_id})
        return calls, await client.service(deployment.service_id)

    calls, service = asyncio.run(read())
    assert [item.call_id for item in calls] == [found.call_id]
    assert service.id == deployment.service_id
