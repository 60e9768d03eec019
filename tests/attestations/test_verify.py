"""Verification against the chain record: every kind of lie or mix-up is named."""

from __future__ import annotations

import dataclasses

from attestations import (
    ChainRecord,
    ExecutionOutput,
    OnChainResult,
    ReceiptSigner,
    blake2_256,
    receipt_hash,
    verify,
)
from tests.attestations.test_receipt import SIGNER, make_receipt

ARGS_SCALE = b"\x04\x0a\x18python"
OUTPUT = ExecutionOutput(stdout="1\n", stderr="")


def honest(signer: ReceiptSigner = SIGNER, **receipt_changes):
    receipt = make_receipt(args_hash=blake2_256(ARGS_SCALE), **receipt_changes)
    digest = receipt_hash(receipt)
    record = ChainRecord(
        genesis_hash=b"\xaa" * 32,
        service_id=3,
        call_id=7,
        job=0,
        args_hash=blake2_256(ARGS_SCALE),
        result=OnChainResult(digest, signer.sign(digest), "completed", 0, "exec_1"),
        operator="5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty",
        operator_key=SIGNER.public_key_65,
        args_scale=ARGS_SCALE,
    )
    return receipt, record


def test_honest_attestation_verifies():
    receipt, record = honest()
    outcome = verify(receipt, OUTPUT, record, served_receipt_hash=record.result.receipt_hash)
    assert outcome.ok, outcome.reasons
    assert outcome.reasons == ()
    assert outcome.signer_key == SIGNER.public_key_65
    assert verify(receipt, ExecutionOutput(b"1\n", b""), record).ok


def test_tampered_stdout_is_caught():
    receipt, record = honest()
    outcome = verify(receipt, ExecutionOutput(stdout="2\n", stderr=""), record)
    assert not outcome.ok
    assert any("stdout hash mismatch" in reason for reason in outcome.reasons)


def test_tampered_stderr_is_caught():
    receipt, record = honest()
    outcome = verify(receipt, ExecutionOutput(stdout="1\n", stderr="boom"), record)
    assert [reason for reason in outcome.reasons if "stderr" in reason]


def test_signature_by_another_key_is_caught():
    receipt, record = honest(signer=ReceiptSigner.generate())
    outcome = verify(receipt, OUTPUT, record)
    assert not outcome.ok
    assert any("does not recover to the registered key" in reason for reason in outcome.reasons)


def test_forger_who_also_rewrites_the_receipt_key_is_caught():
    forger = ReceiptSigner.generate()
    receipt, record = honest(signer=forger, operator_key=forger.public_key_65)
    reasons = verify(receipt, OUTPUT, record).reasons
    assert any("operator key other than the operator's registered key" in reason for reason in reasons)
    assert any("does not recover" in reason for reason in reasons)


def test_receipt_that_differs_from_the_chains_hash_is_caught():
    receipt, record = honest()
    edited = dataclasses.replace(receipt, exit_code=0, status="completed", image_digest="sha256:other")
    reasons = verify(edited, OUTPUT, record).reasons
    assert any("receipt hash mismatch" in reason for reason in reasons)
    assert any("does not recover" in reason for reason in reasons)


def test_swapped_call_id_is_caught():
    receipt, record = honest()
    outcome = verify(receipt, OUTPUT, dataclasses.replace(record, call_id=8))
    assert any("call_id mismatch: the receipt says 7, the chain says 8" in reason for reason in outcome.reasons)
    outcome = verify(receipt, OUTPUT, dataclasses.replace(record, service_id=4))
    assert any("service_id mismatch" in reason for reason in outcome.reasons)


def test_args_of_another_call_are_caught():
    receipt, record = honest()
    other = dataclasses.replace(record, args_hash=blake2_256(b"\x00"))
    assert any("args hash mismatch" in reason for reason in verify(receipt, OUTPUT, other).reasons)


def test_receipt_for_another_chain_is_caught():
    receipt, record = honest()
    other = dataclasses.replace(record, genesis_hash=b"\xcc" * 32)
    assert any("chain id mismatch" in reason for reason in verify(receipt, OUTPUT, other).reasons)


def test_missing_result_and_summary_mismatches_are_named():
    receipt, record = honest()
    reasons = verify(receipt, OUTPUT, dataclasses.replace(record, result=None)).reasons
    assert any("the chain has no result for call 7" in reason for reason in reasons)
    result = dataclasses.replace(record.result, exit_code=1, status="failed")
    reasons = verify(receipt, OUTPUT, dataclasses.replace(record, result=result)).reasons
    assert any("exit code mismatch" in reason for reason in reasons)
    assert any("status mismatch" in reason for reason in reasons)


def test_served_hash_or_signature_that_differ_from_the_chain_are_named():
    receipt, record = honest()
    reasons = verify(receipt, OUTPUT, record, served_signature=b"\x00" * 65, served_receipt_hash=b"\x01" * 32).reasons
    assert len(reasons) == 2


def test_garbage_signature_is_a_reason_not_a_crash():
    receipt, record = honest()
    result = dataclasses.replace(record.result, signature=b"\x00" * 65)
    outcome = verify(receipt, OUTPUT, dataclasses.replace(record, result=result))
    assert not outcome.ok
    assert any("signature" in reason for reason in outcome.reasons)
