"""Receipt test vectors: one specification, checked by Python and by the TypeScript SDK.

``python -m attestations.vectors`` writes ``receipt_vectors.json`` beside this module from fixed inputs;
``python -m attestations.vectors --check`` exits 1 when the committed file differs from what the code
produces now. Every key below is a TEST KEY derived from a public phrase: never use one for anything real.

The file holds receipts (JSON form, canonical encoding, keccak hash, 65-byte signature and signer key),
job arguments and results as the chain carries them (``Vec<Field>`` SCALE bytes) with their decoded
values, and verification cases with the reasons ``attestations.verify`` gives, in order.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from attestations.receipt import Receipt, blake2_256, encode_receipt, receipt_hash, sha256
from attestations.signer import ReceiptSigner
from attestations.verify import ChainRecord, ExecutionOutput, OnChainResult, verify
from blueprint import (
    BranchCreateJob,
    BranchMergeJob,
    ExecuteJob,
    JobRequest,
    JobResult,
    SnapshotCreateJob,
    SnapshotRestoreJob,
    decode_job_args_scale,
    decode_result_scale,
    encode_job_args_scale,
    encode_result_scale,
    job_spec,
)

VECTORS_PATH = Path(__file__).with_name("receipt_vectors.json")
U64_MAX = 2**64 - 1
TEST_KEY_PHRASES = {
    "operator": "tangle-faas receipt test vectors: operator role key (TEST KEY, public)",
    "other": "tangle-faas receipt test vectors: another key (TEST KEY, public)",
}
KEYS = {name: ReceiptSigner(sha256(phrase)) for name, phrase in TEST_KEY_PHRASES.items()}
OPERATOR_ACCOUNT = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"
GENESIS = sha256("tangle-faas receipt test vectors: genesis")
OTHER_GENESIS = sha256("tangle-faas receipt test vectors: another chain")
SIGNATURE_DETAIL_MARK = "the on-chain signature is unusable: "


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def _receipt(**changes: Any) -> Receipt:
    base = Receipt(
        chain_id=GENESIS,
        service_id=3,
        call_id=7,
        job=0,
        args_hash=blake2_256(encode_job_args_scale(ExecuteJob("python", "print(1)"))),
        image_digest="sha256:" + sha256("faas-runtime/python").hex(),
        code_hash=sha256("print(1)"),
        exit_code=0,
        status="completed",
        stdout_sha256=sha256("1\n"),
        stderr_sha256=sha256(""),
        started_at_ms=1_764_806_400_000,
        finished_at_ms=1_764_806_400_042,
        operator_key=KEYS["operator"].public_key_65,
    )
    return dataclasses.replace(base, **changes)


RECEIPTS: tuple[tuple[str, str, Receipt], ...] = (
    ("typical", "a completed python execution", _receipt()),
    ("empty_strings", "empty image digest and status: compact length 0", _receipt(image_digest="", status="")),
    ("length_63", "a 63-byte string: the longest one-byte compact length", _receipt(image_digest="d" * 63)),
    ("length_64", "a 64-byte string: the shortest two-byte compact length", _receipt(image_digest="d" * 64)),
    (
        "unicode_64",
        "62 ASCII bytes + one 2-byte character = 64 UTF-8 bytes (33 characters fewer)",
        _receipt(image_digest="d" * 62 + "é", status="terminé ✓"),
    ),
    ("length_16383", "a 16383-byte string: the longest two-byte compact length", _receipt(status="s" * 16383)),
    ("length_16384", "a 16384-byte string: the shortest four-byte compact length", _receipt(status="s" * 16384)),
    (
        "unicode_16384",
        "16380 ASCII bytes + one 4-byte character = 16384 UTF-8 bytes",
        _receipt(status="u" * 16380 + "🦀"),
    ),
    ("negative_exit", "exit code -1 (the program never ran)", _receipt(exit_code=-1, status="failed")),
    ("extreme_exit_codes_min", "the smallest i32 exit code", _receipt(exit_code=-(2**31), status="failed")),
    ("extreme_exit_codes_max", "the largest i32 exit code", _receipt(exit_code=2**31 - 1, status="failed")),
    (
        "max_ids",
        "u64::MAX ids and times, u8::MAX job",
        _receipt(service_id=U64_MAX, call_id=U64_MAX, job=255, started_at_ms=U64_MAX, finished_at_ms=U64_MAX),
    ),
)

JOB_ARGS: tuple[tuple[str, JobRequest], ...] = (
    ("execute_minimal", ExecuteJob("python", "print(1)")),
    ("execute_javascript", ExecuteJob("javascript", 'console.log("Verified execution")')),
    (
        "execute_every_option",
        ExecuteJob(
            "python",
            "import os\nprint(os.environ['GREETING'])",
            "checkpointed",
            {"memory_mb": 512, "cpus": 1},
            {"GREETING": "héllo ✓", "A": "1"},
            {"data/in.txt": "aGk="},
            "snap_0123",
            "br_9",
        ),
    ),
    ("execute_hex_looking_code", ExecuteJob("python", "0x1F")),
    ("execute_code_64_bytes", ExecuteJob("python", "#" * 64)),
    ("execute_code_1000_bytes", ExecuteJob("rust", "/" * 1000)),
    ("snapshot_create", SnapshotCreateJob("inst_42")),
    ("snapshot_restore", SnapshotRestoreJob("snap_42")),
    ("branch_create", BranchCreateJob("snap_42", "feature ✓")),
    ("branch_merge", BranchMergeJob(("br_1", "br_2"), "ours")),
)


def _signed_result(receipt: Receipt, signer: ReceiptSigner, reference: str) -> JobResult:
    digest = receipt_hash(receipt)
    return JobResult(digest, signer.sign(digest), receipt.status, receipt.exit_code, reference)


RESULTS: tuple[tuple[str, JobResult], ...] = (
    ("completed", _signed_result(_receipt(), KEYS["operator"], "exec_7")),
    ("failed_before_running", _signed_result(_receipt(exit_code=-1, status="failed"), KEYS["operator"], "BAD_ARGS")),
    (
        "timeout_unicode_reference",
        _signed_result(_receipt(exit_code=-(2**31), status="timeout"), KEYS["operator"], "réf ✓ " + "r" * 60),
    ),
)


def receipt_vector(name: str, description: str, receipt: Receipt) -> dict[str, Any]:
    """One receipt with its encoding, hash and the operator test key's signature of the hash."""
    digest = receipt_hash(receipt)
    return {
        "name": name,
        "description": description,
        "receipt": receipt.to_json(),
        "encoding": _hex(encode_receipt(receipt)),
        "hash": _hex(digest),
        "signature": _hex(KEYS["operator"].sign(digest)),
        "public_key": _hex(KEYS["operator"].public_key_65),
    }


def job_args_vector(name: str, request: JobRequest) -> dict[str, Any]:
    """A job's arguments: its named texts (None = an absent Optional) and their ``Vec<Field>`` bytes."""
    spec = job_spec(request.JOB)
    scale = encode_job_args_scale(request)
    assert decode_job_args_scale(request.JOB, scale) == request
    return {
        "name": name,
        "job": spec.index,
        "args": {param.name: text for param, text in zip(spec.params, request.to_texts(), strict=True)},
        "fields_scale": _hex(scale),
        "args_hash": _hex(blake2_256(scale)),
    }


def result_vector(name: str, result: JobResult) -> dict[str, Any]:
    """A job's on-chain result and its ``Vec<Field>`` bytes."""
    scale = encode_result_scale(result)
    assert decode_result_scale(scale) == result
    return {"name": name, "result": _result_json(result), "fields_scale": _hex(scale)}


def _result_json(result: JobResult | OnChainResult) -> dict[str, Any]:
    return {
        "receipt_hash": _hex(result.receipt_hash),
        "signature": _hex(result.signature),
        "status": result.status,
        "exit_code": result.exit_code,
        "reference": result.reference,
    }


def _record(receipt: Receipt, signer: ReceiptSigner = KEYS["operator"], **changes: Any) -> ChainRecord:
    digest = receipt_hash(receipt)
    args_scale = encode_job_args_scale(ExecuteJob("python", "print(1)"))
    record = ChainRecord(
        genesis_hash=GENESIS,
        service_id=3,
        call_id=7,
        job=0,
        args_hash=blake2_256(args_scale),
        result=OnChainResult(digest, signer.sign(digest), receipt.status, receipt.exit_code, "exec_7"),
        operator=OPERATOR_ACCOUNT,
        operator_key=KEYS["operator"].public_key_65,
        args_scale=args_scale,
    )
    return dataclasses.replace(record, **changes)


def _with_result(record: ChainRecord, **changes: Any) -> ChainRecord:
    assert record.result is not None
    return dataclasses.replace(record, result=dataclasses.replace(record.result, **changes))


HONEST = _receipt()
HONEST_SIGNATURE = KEYS["operator"].sign(receipt_hash(HONEST))
OUTPUT = ExecutionOutput("1\n", "")
_VERIFICATIONS: tuple[tuple[str, Receipt, ExecutionOutput, ChainRecord, dict[str, bytes]], ...] = (
    ("honest", HONEST, OUTPUT, _record(HONEST), {}),
    (
        "honest_with_served_hash_and_signature",
        HONEST,
        OUTPUT,
        _record(HONEST),
        {"served_receipt_hash": receipt_hash(HONEST), "served_signature": HONEST_SIGNATURE},
    ),
    ("tampered_stdout", HONEST, ExecutionOutput("2\n", ""), _record(HONEST), {}),
    ("tampered_stderr", HONEST, ExecutionOutput("1\n", "warning"), _record(HONEST), {}),
    ("forged_signature_other_key", HONEST, OUTPUT, _record(HONEST, KEYS["other"]), {}),
    ("wrong_chain_id", _receipt(chain_id=OTHER_GENESIS), OUTPUT, _record(_receipt(chain_id=OTHER_GENESIS)), {}),
    ("wrong_service_call_and_job", HONEST, OUTPUT, _record(HONEST, service_id=4, call_id=8, job=1), {}),
    ("wrong_args_hash", HONEST, OUTPUT, _record(HONEST, args_hash=blake2_256(b"other args")), {}),
    (
        "receipt_names_another_key",
        _receipt(operator_key=KEYS["other"].public_key_65),
        OUTPUT,
        _record(_receipt(operator_key=KEYS["other"].public_key_65)),
        {},
    ),
    (
        "receipt_hash_differs_on_chain",
        HONEST,
        OUTPUT,
        _with_result(_record(HONEST), receipt_hash=receipt_hash(_receipt(call_id=8))),
        {},
    ),
    ("no_result_on_chain", HONEST, OUTPUT, _record(HONEST, result=None), {}),
    ("unusable_signature", HONEST, OUTPUT, _with_result(_record(HONEST), signature=bytes(65)), {}),
    ("summary_mismatch", HONEST, OUTPUT, _with_result(_record(HONEST), exit_code=1, status="failed"), {}),
    (
        "served_hash_and_signature_differ",
        HONEST,
        OUTPUT,
        _record(HONEST),
        {"served_receipt_hash": bytes(32), "served_signature": bytes(65)},
    ),
    (
        "many_at_once",
        _receipt(chain_id=OTHER_GENESIS),
        ExecutionOutput("2\n", "x"),
        _record(_receipt(chain_id=OTHER_GENESIS), KEYS["other"], call_id=9),
        {},
    ),
)


def verification_vector(
    name: str, receipt: Receipt, output: ExecutionOutput, record: ChainRecord, served: dict[str, bytes]
) -> dict[str, Any]:
    """A verification case: inputs as JSON and the reasons ``verify`` gives (empty: it verifies)."""
    outcome = verify(receipt, output, record, **served)
    return {
        "name": name,
        "receipt": receipt.to_json(),
        "output": {"stdout": output.stdout, "stderr": output.stderr},
        "chain_record": {
            "genesis_hash": _hex(record.genesis_hash),
            "service_id": record.service_id,
            "call_id": record.call_id,
            "job": record.job,
            "args_hash": _hex(record.args_hash),
            "result": None if record.result is None else _result_json(record.result),
            "operator": record.operator,
            "operator_key": _hex(record.operator_key),
        },
        "served": {key: _hex(value) for key, value in served.items()},
        "reasons": list(outcome.reasons),
        "signer_key": None if outcome.signer_key is None else _hex(outcome.signer_key),
    }


def vectors() -> dict[str, Any]:
    """Every vector, as written to ``receipt_vectors.json``."""
    return {
        "about": (
            "Generated by `python -m attestations.vectors` (tangle-protocol); do not edit by hand. The keys are "
            "TEST KEYS: secret = sha256(UTF-8 phrase), phrases public, never use them for anything real. "
            f"A reason starting with {SIGNATURE_DETAIL_MARK!r} ends with the secp256k1 library's own words."
        ),
        "test_keys": {
            name: {"phrase": phrase, "secret": KEYS[name].secret_hex, "public_key": _hex(KEYS[name].public_key_65)}
            for name, phrase in TEST_KEY_PHRASES.items()
        },
        "receipts": [receipt_vector(*item) for item in RECEIPTS],
        "job_args": [job_args_vector(*item) for item in JOB_ARGS],
        "results": [result_vector(*item) for item in RESULTS],
        "verifications": [verification_vector(*item) for item in _VERIFICATIONS],
    }


def render() -> str:
    """The file's exact text (stable key order, ASCII only, newline at the end)."""
    return json.dumps(vectors(), indent=1) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m attestations.vectors", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale instead of writing it")
    parser.add_argument("--file", type=Path, default=VECTORS_PATH, help="the vectors file (default: %(default)s)")
    options = parser.parse_args(argv)
    text = render()
    if options.check:
        current = options.file.read_text() if options.file.exists() else ""
        if current != text:
            print(f"{options.file} is stale: run `python -m attestations.vectors`", file=sys.stderr)
            return 1
        return 0
    options.file.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
