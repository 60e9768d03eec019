"""Receipt test vectors: one specification, checked by Python and by the TypeScript SDK.

``python -m attestations.vectors`` writes ``receipt_vectors.json`` beside this module from fixed inputs;
``python -m attestations.vectors --check`` exits 1 when the committed file differs from what the code
produces now. Every key below is a TEST KEY derived from a public phrase: never use one for anything real.

The file holds receipts (JSON form, canonical encoding, keccak hash, 65-byte signature and signer key),
job arguments and results as the chain carries them (``Vec<Field>`` SCALE bytes) with their decoded
values, job arguments over the chain's limits with the words they are refused with, verification cases
with the reasons ``attestations.verify`` gives (in order), and malformed receipt JSON with the words
``Receipt.from_json`` refuses it with. The inputs are in ``attestations._vector_inputs``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from attestations._errors import ReceiptFormatError
from attestations._vector_inputs import (
    JOB_ARGS,
    KEYS,
    MALFORMED_RECEIPTS,
    RECEIPTS,
    REFUSED_JOB_ARGS,
    RESULTS,
    TEST_KEY_PHRASES,
    VERIFICATIONS,
)
from attestations.receipt import Receipt, blake2_256, encode_receipt, receipt_hash
from attestations.verify import ChainRecord, ExecutionOutput, OnChainResult, verify
from blueprint import (
    JobArgumentError,
    JobRequest,
    JobResult,
    decode_job_args_scale,
    decode_result_scale,
    encode_job_args_scale,
    encode_result_scale,
    job_spec,
)

__all__ = ["TEST_KEY_PHRASES", "VECTORS_PATH", "main", "render", "vectors"]

VECTORS_PATH = Path(__file__).with_name("receipt_vectors.json")
SIGNATURE_DETAIL_MARK = "the on-chain signature is unusable: "


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


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


def malformed_receipt_vector(name: str, data: dict[str, Any]) -> dict[str, Any]:
    """A receipt JSON form ``Receipt.from_json`` refuses, with its words."""
    try:
        Receipt.from_json(data)
    except ReceiptFormatError as exc:
        return {"name": name, "receipt": data, "error": str(exc)}
    raise AssertionError(f"the malformed receipt {name} was accepted")


def refused_job_args_vector(name: str, request: JobRequest) -> dict[str, Any]:
    """Job arguments the chain would refuse, and the words the SDKs refuse them with before sending."""
    spec = job_spec(request.JOB)
    try:
        encode_job_args_scale(request)
    except JobArgumentError as exc:
        args = dict(zip((param.name for param in spec.params), request.to_texts(), strict=True))
        return {"name": name, "job": spec.index, "args": args, "error": str(exc)}
    raise AssertionError(f"the oversized job args {name} were accepted")


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
        "refused_job_args": [refused_job_args_vector(*item) for item in REFUSED_JOB_ARGS],
        "results": [result_vector(*item) for item in RESULTS],
        "verifications": [verification_vector(*item) for item in VERIFICATIONS],
        "malformed_receipts": [malformed_receipt_vector(*item) for item in MALFORMED_RECEIPTS],
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
