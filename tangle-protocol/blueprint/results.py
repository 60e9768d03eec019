"""A job's on-chain result: ``[receipt_hash, signature, status, exit_code, reference]`` as ``Field`` values."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from blueprint._errors import JobArgumentError, ResultFieldError
from blueprint._fields import bytes_field, int32_field, read_bytes, read_int32, read_text, text_field
from blueprint._scale import FieldValue, check_field_limits, decode_fields, encode_fields
from blueprint.jobs import RESULT_PARAMS

RECEIPT_HASH_BYTES = 32
SIGNATURE_BYTES = 65


@dataclass(frozen=True)
class JobResult:
    """What the operator posts on chain for a job call: the receipt's hash and signature, and a summary."""

    receipt_hash: bytes
    signature: bytes
    status: str
    exit_code: int
    reference: str

    def __post_init__(self) -> None:
        if len(self.receipt_hash) != RECEIPT_HASH_BYTES:
            raise ResultFieldError(f"receipt_hash must be {RECEIPT_HASH_BYTES} bytes, not {len(self.receipt_hash)}")
        if len(self.signature) != SIGNATURE_BYTES:
            raise ResultFieldError(f"signature must be {SIGNATURE_BYTES} bytes, not {len(self.signature)}")


def encode_result_fields(result: JobResult) -> list[FieldValue]:
    """The result's ``Vec<Field>`` in substrate-interface's value form, checked against the chain's limits.

    Raises:
        ResultFieldError: the exit code is not an Int32 or a field is over 1024 encoded bytes.
    """
    try:
        fields = [
            bytes_field(result.receipt_hash),
            bytes_field(result.signature),
            text_field(result.status),
            int32_field(result.exit_code),
            text_field(result.reference),
        ]
        check_field_limits(fields)
    except JobArgumentError as exc:
        raise ResultFieldError(str(exc)) from exc
    return fields


def encode_result_scale(result: JobResult) -> bytes:
    """The exact SCALE bytes of the result's ``Vec<Field>``."""
    return encode_fields(encode_result_fields(result))


def decode_result_fields(fields: Sequence[FieldValue]) -> JobResult:
    """The ``JobResult`` from its ``Field`` values (as substrate-interface decodes them).

    Raises:
        ResultFieldError: wrong count, types or byte lengths.
    """
    if len(fields) != len(RESULT_PARAMS):
        raise ResultFieldError(f"a job result has {len(RESULT_PARAMS)} fields, not {len(fields)}")
    try:
        return JobResult(
            receipt_hash=read_bytes(fields[0], "receipt_hash"),
            signature=read_bytes(fields[1], "signature"),
            status=read_text(fields[2], "status"),
            exit_code=read_int32(fields[3], "exit_code"),
            reference=read_text(fields[4], "reference"),
        )
    except JobArgumentError as exc:
        raise ResultFieldError(f"malformed job result: {exc}") from exc


def decode_result_scale(data: bytes) -> JobResult:
    """The ``JobResult`` from the SCALE bytes of its ``Vec<Field>``."""
    try:
        fields = decode_fields(data)
    except JobArgumentError as exc:
        raise ResultFieldError(str(exc)) from exc
    return decode_result_fields(fields)
