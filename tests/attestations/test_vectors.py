"""The committed receipt vectors are current, and Python reads every one of them back as the file says."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from attestations import (
    ChainRecord,
    ExecutionOutput,
    OnChainResult,
    Receipt,
    ReceiptFormatError,
    ReceiptSigner,
    blake2_256,
    encode_receipt,
    receipt_hash,
    recover_public_key,
    verify,
)
from attestations.vectors import TEST_KEY_PHRASES, VECTORS_PATH, render
from blueprint import (
    BranchCreateJob,
    BranchMergeJob,
    ExecuteJob,
    JobArgumentError,
    SnapshotCreateJob,
    SnapshotRestoreJob,
    decode_job_args_scale,
    decode_result_scale,
    encode_job_args,
    job_spec,
)
from tests.node_tests import run_node_tests

VECTORS: dict[str, Any] = json.loads(VECTORS_PATH.read_text())
REQUEST_TYPES = {
    kind.JOB: kind for kind in (ExecuteJob, SnapshotCreateJob, SnapshotRestoreJob, BranchCreateJob, BranchMergeJob)
}


def unhex(text: str) -> bytes:
    assert text.startswith("0x")
    return bytes.fromhex(text[2:])


def test_the_committed_file_is_current():
    assert VECTORS_PATH.read_text() == render()


def test_the_check_command_fails_on_a_stale_file(tmp_path):
    command = [sys.executable, "-m", "attestations.vectors", "--check"]
    assert subprocess.run(command, capture_output=True).returncode == 0
    copy = tmp_path / "receipt_vectors.json"
    copy.write_text(VECTORS_PATH.read_text().replace('"typical"', '"typical2"', 1))
    stale = subprocess.run([*command, "--file", str(copy)], capture_output=True, text=True)
    assert stale.returncode == 1 and "stale" in stale.stderr


def test_the_test_keys_are_what_their_phrases_derive():
    for name, key in VECTORS["test_keys"].items():
        assert key["phrase"] == TEST_KEY_PHRASES[name]
        signer = ReceiptSigner.from_hex(key["secret"])
        assert "0x" + signer.public_key_65.hex() == key["public_key"]


@pytest.mark.parametrize("vector", VECTORS["receipts"], ids=lambda vector: vector["name"])
def test_receipt_encoding_hash_and_signature(vector):
    receipt = Receipt.from_json(vector["receipt"])
    assert receipt.to_json() == vector["receipt"]
    assert encode_receipt(receipt) == unhex(vector["encoding"])
    assert receipt_hash(receipt) == unhex(vector["hash"])
    assert recover_public_key(unhex(vector["hash"]), unhex(vector["signature"])) == unhex(vector["public_key"])


def test_the_receipts_cross_every_compact_length_boundary():
    lengths = {len(vector["receipt"]["status"].encode()) for vector in VECTORS["receipts"]}
    lengths |= {len(vector["receipt"]["image_digest"].encode()) for vector in VECTORS["receipts"]}
    assert {0, 63, 64, 16383, 16384} <= lengths


@pytest.mark.parametrize("vector", VECTORS["job_args"], ids=lambda vector: vector["name"])
def test_job_args_decode_to_their_named_texts(vector):
    scale = unhex(vector["fields_scale"])
    request = decode_job_args_scale(vector["job"], scale)
    names = [param.name for param in job_spec(vector["job"]).params]
    assert dict(zip(names, request.to_texts(), strict=True)) == vector["args"]
    assert blake2_256(scale) == unhex(vector["args_hash"])


@pytest.mark.parametrize("vector", VECTORS["results"], ids=lambda vector: vector["name"])
def test_results_decode_to_their_values(vector):
    result = decode_result_scale(unhex(vector["fields_scale"]))
    expected = vector["result"]
    assert (result.receipt_hash, result.signature) == (unhex(expected["receipt_hash"]), unhex(expected["signature"]))
    assert (result.status, result.exit_code, result.reference) == (
        expected["status"],
        expected["exit_code"],
        expected["reference"],
    )


@pytest.mark.parametrize("vector", VECTORS["verifications"], ids=lambda vector: vector["name"])
def test_verify_gives_the_vectors_reasons_in_order(vector):
    record = vector["chain_record"]
    result = record["result"]
    chain_record = ChainRecord(
        genesis_hash=unhex(record["genesis_hash"]),
        service_id=record["service_id"],
        call_id=record["call_id"],
        job=record["job"],
        args_hash=unhex(record["args_hash"]),
        result=None
        if result is None
        else OnChainResult(
            unhex(result["receipt_hash"]),
            unhex(result["signature"]),
            result["status"],
            result["exit_code"],
            result["reference"],
        ),
        operator=record["operator"],
        operator_key=unhex(record["operator_key"]),
    )
    outcome = verify(
        Receipt.from_json(vector["receipt"]),
        ExecutionOutput(vector["output"]["stdout"], vector["output"]["stderr"]),
        chain_record,
        **{key: unhex(value) for key, value in vector["served"].items()},
    )
    assert list(outcome.reasons) == vector["reasons"]
    assert outcome.ok == (not vector["reasons"])
    assert outcome.signer_key == (None if vector["signer_key"] is None else unhex(vector["signer_key"]))


@pytest.mark.parametrize("vector", VECTORS["refused_job_args"], ids=lambda vector: vector["name"])
def test_oversized_job_args_are_refused_in_the_vectors_words(vector):
    names = [param.name for param in job_spec(vector["job"]).params]
    request = REQUEST_TYPES[vector["job"]].from_texts(tuple(vector["args"][name] for name in names))
    with pytest.raises(JobArgumentError) as caught:
        encode_job_args(request)
    assert str(caught.value) == vector["error"]


@pytest.mark.parametrize("vector", VECTORS["malformed_receipts"], ids=lambda vector: vector["name"])
def test_malformed_receipts_are_refused_in_the_vectors_words(vector):
    with pytest.raises(ReceiptFormatError) as caught:
        Receipt.from_json(vector["receipt"])
    assert str(caught.value) == vector["error"]


def test_the_typescript_sdk_reads_every_vector_the_same_way():
    report = run_node_tests(Path("sdk-ts"), {}, ["test/receipt-vectors.test.ts"], node_args=["--import", "tsx"])
    assert re.search(r"\bfail 0\b", report) and not re.search(r"\bpass 0\b", report), report
