"""The fixed inputs of the receipt test vectors (see ``attestations.vectors``); every key here is a TEST KEY."""

from __future__ import annotations

import dataclasses
from typing import Any

from attestations.receipt import Receipt, blake2_256, receipt_hash, sha256
from attestations.signer import ReceiptSigner
from attestations.verify import ChainRecord, ExecutionOutput, OnChainResult
from blueprint import (
    BranchCreateJob,
    BranchMergeJob,
    ExecuteJob,
    JobRequest,
    JobResult,
    SnapshotCreateJob,
    SnapshotRestoreJob,
    encode_job_args_scale,
)

U64_MAX = 2**64 - 1
TEST_KEY_PHRASES = {
    "operator": "tangle-faas receipt test vectors: operator role key (TEST KEY, public)",
    "other": "tangle-faas receipt test vectors: another key (TEST KEY, public)",
}
KEYS = {name: ReceiptSigner(sha256(phrase)) for name, phrase in TEST_KEY_PHRASES.items()}
OPERATOR_ACCOUNT = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"
GENESIS = sha256("tangle-faas receipt test vectors: genesis")
OTHER_GENESIS = sha256("tangle-faas receipt test vectors: another chain")


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
    (
        "execute_json_escapes",
        ExecuteJob(
            "javascript",
            "console.log(process.env.Q)",
            "ephemeral",
            {"cpus": 0.5, "memory_mb": 256},
            {"Q": 'say "hi"\\\n\t\x01\x7f🦀', "é": "accent", "z": "", "Z": "upper"},
        ),
    ),
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
VERIFICATIONS: tuple[tuple[str, Receipt, ExecutionOutput, ChainRecord, dict[str, bytes]], ...] = (
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
        "summary_mismatch_quoted_statuses",
        _receipt(status='it\'s "done"\n\x07é'),
        OUTPUT,
        _with_result(_record(_receipt(status='it\'s "done"\n\x07é')), status="don't"),
        {},
    ),
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


def _receipt_json(**changes: Any) -> dict[str, Any]:
    data = _receipt().to_json()
    for name, value in changes.items():
        if value is _DROP:
            del data[name]
        else:
            data[name] = value
    return data


_DROP = object()
MALFORMED_RECEIPTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("missing_and_unknown_fields", _receipt_json(service_id=_DROP, args_hash=_DROP, more=None, extra=1)),
    ("hash_without_0x", _receipt_json(chain_id=GENESIS.hex())),
    ("hash_not_hex", _receipt_json(code_hash="0x" + "zz" * 32)),
    ("hash_odd_length", _receipt_json(args_hash="0x" + "a" * 63)),
    ("hash_31_bytes", _receipt_json(code_hash="0x" + "ab" * 31)),
    ("key_64_bytes", _receipt_json(operator_key="0x" + "04" * 64)),
    ("exit_code_beyond_i32", _receipt_json(exit_code=2**31)),
    ("negative_service_id", _receipt_json(service_id=-1)),
    ("call_id_beyond_u64", _receipt_json(call_id=2**64)),
    ("job_as_boolean", _receipt_json(job=True)),
    ("exit_code_as_float", _receipt_json(exit_code=1.5)),
    ("started_at_as_text", _receipt_json(started_at_ms="1764806400000")),
    ("status_as_number", _receipt_json(status=5)),
    ("image_digest_null", _receipt_json(image_digest=None)),
    ("several_problems_first_one_wins", _receipt_json(chain_id="0x00", exit_code=2**40, status=1)),
)

REFUSED_JOB_ARGS: tuple[tuple[str, JobRequest], ...] = (
    ("code_over_1024_bytes", ExecuteJob("python", "x" * 2000)),
    ("env_over_1024_bytes", ExecuteJob("python", "print(1)", env={"BIG": "é" * 600})),
    ("snapshot_id_over_1024_bytes", ExecuteJob("python", "print(1)", snapshot_id="s" * 1100)),
)
