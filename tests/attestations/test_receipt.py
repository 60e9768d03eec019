"""The receipt's canonical encoding, hash and signature."""

from __future__ import annotations

import dataclasses

import pytest
from eth_utils.crypto import keccak
from hypothesis import given
from hypothesis import strategies as st

from attestations import (
    DOMAIN_TAG,
    Receipt,
    ReceiptFormatError,
    ReceiptSigner,
    SignatureError,
    encode_receipt,
    receipt_hash,
    recover_public_key,
    sha256,
)

SIGNER = ReceiptSigner.from_hex("0x" + "11" * 32)


def make_receipt(**changes) -> Receipt:
    values = {
        "chain_id": b"\xaa" * 32,
        "service_id": 3,
        "call_id": 7,
        "job": 0,
        "args_hash": b"\xbb" * 32,
        "image_digest": "sha256:abc",
        "code_hash": sha256("print(1)"),
        "exit_code": 0,
        "status": "completed",
        "stdout_sha256": sha256("1\n"),
        "stderr_sha256": sha256(""),
        "started_at_ms": 1_700_000_000_000,
        "finished_at_ms": 1_700_000_000_250,
        "operator_key": SIGNER.public_key_65,
    }
    values.update(changes)
    return Receipt(**values)


def test_encoding_is_the_domain_tag_and_hand_checked_scale():
    receipt = make_receipt(exit_code=-1, image_digest="d")
    encoded = encode_receipt(receipt)
    expected = (
        DOMAIN_TAG
        + b"\xaa" * 32
        + (3).to_bytes(8, "little")
        + (7).to_bytes(8, "little")
        + b"\x00"
        + b"\xbb" * 32
        + b"\x04d"  # compact(1) + "d"
        + receipt.code_hash
        + b"\xff\xff\xff\xff"
        + b"\x24completed"  # compact(9)
        + receipt.stdout_sha256
        + receipt.stderr_sha256
        + (1_700_000_000_000).to_bytes(8, "little")
        + (1_700_000_000_250).to_bytes(8, "little")
        + SIGNER.public_key_65
    )
    assert encoded == expected
    assert receipt_hash(receipt) == keccak(expected)


def test_long_strings_use_multi_byte_compact_lengths():
    encoded = encode_receipt(make_receipt(image_digest="x" * 100))
    assert (100 << 2 | 1).to_bytes(2, "little") + b"x" * 100 in encoded


@pytest.mark.parametrize(
    "change",
    [
        {"service_id": 4},
        {"call_id": 8},
        {"job": 1},
        {"exit_code": 1},
        {"status": "failed"},
        {"stdout_sha256": sha256("2\n")},
        {"finished_at_ms": 1},
        {"image_digest": "sha256:abd"},
    ],
)
def test_every_field_changes_the_hash(change):
    assert receipt_hash(make_receipt(**change)) != receipt_hash(make_receipt())


def test_signature_recovers_to_the_signers_key():
    digest = receipt_hash(make_receipt())
    signature = SIGNER.sign(digest)
    assert len(signature) == 65 and signature[64] in (0, 1)
    assert recover_public_key(digest, signature) == SIGNER.public_key_65
    assert SIGNER.public_key_65[0] == 4 and len(SIGNER.public_key_65) == 65
    eth_style = signature[:64] + bytes([signature[64] + 27])
    assert recover_public_key(digest, eth_style) == SIGNER.public_key_65


def test_generated_keys_differ_and_reload_from_hex():
    first, second = ReceiptSigner.generate(), ReceiptSigner.generate()
    assert first.public_key_65 != second.public_key_65
    assert ReceiptSigner.from_hex(first.secret_hex).public_key_65 == first.public_key_65


def test_bad_keys_and_signatures_are_refused():
    with pytest.raises(SignatureError):
        ReceiptSigner(b"\x00" * 31)
    with pytest.raises(SignatureError):
        ReceiptSigner.from_hex("zz")
    with pytest.raises(SignatureError, match="65 bytes"):
        recover_public_key(b"\x00" * 32, b"\x00" * 64)


def test_malformed_receipts_are_refused():
    with pytest.raises(ReceiptFormatError, match="chain_id must be 32 bytes"):
        make_receipt(chain_id=b"\x00" * 31)
    with pytest.raises(ReceiptFormatError, match="job must be an integer"):
        make_receipt(job=256)
    with pytest.raises(ReceiptFormatError, match="exit_code"):
        make_receipt(exit_code=2**31)


@given(
    st.integers(0, 2**64 - 1),
    st.integers(0, 2**64 - 1),
    st.integers(-(2**31), 2**31 - 1),
    st.text(max_size=80),
)
def test_json_form_round_trips(service_id, call_id, exit_code, status):
    receipt = make_receipt(service_id=service_id, call_id=call_id, exit_code=exit_code, status=status)
    data = receipt.to_json()
    assert data["chain_id"] == "0x" + "aa" * 32
    assert Receipt.from_json(data) == receipt
    assert receipt_hash(Receipt.from_json(data)) == receipt_hash(receipt)


def test_json_form_with_missing_or_extra_fields_is_refused():
    data = make_receipt().to_json()
    del data["job"]
    with pytest.raises(ReceiptFormatError, match="missing"):
        Receipt.from_json(data)
    data = {**make_receipt().to_json(), "chain_id": "aa" * 32}
    with pytest.raises(ReceiptFormatError, match="0x-hex"):
        Receipt.from_json(data)


def test_receipts_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        make_receipt().exit_code = 1  # type: ignore[misc]
