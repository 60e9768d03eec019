"""The execution receipt, its canonical encoding and its hash.

Canonical encoding: the ASCII domain tag ``b"tangle-faas/receipt/v1"`` followed by the SCALE encoding of the
receipt's fields in declaration order, written by hand here (no codec state, no guessing): fixed-size byte
arrays raw, integers little-endian at their width (u8, i32, u64), strings as compact length + UTF-8 bytes.
The hash is keccak256 of that encoding.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, fields
from typing import Any

from eth_utils.crypto import keccak

from attestations._errors import ReceiptFormatError

DOMAIN_TAG = b"tangle-faas/receipt/v1"
_FIXED_BYTES = {
    "chain_id": 32,
    "args_hash": 32,
    "code_hash": 32,
    "stdout_sha256": 32,
    "stderr_sha256": 32,
    "operator_key": 65,
}
_INTEGERS = {  # name -> (byte width, signed)
    "service_id": (8, False),
    "call_id": (8, False),
    "job": (1, False),
    "exit_code": (4, True),
    "started_at_ms": (8, False),
    "finished_at_ms": (8, False),
}


@dataclass(frozen=True)
class Receipt:
    """What an operator attests about one job call; field order is the encoding order."""

    chain_id: bytes
    service_id: int
    call_id: int
    job: int
    args_hash: bytes
    image_digest: str
    code_hash: bytes
    exit_code: int
    status: str
    stdout_sha256: bytes
    stderr_sha256: bytes
    started_at_ms: int
    finished_at_ms: int
    operator_key: bytes

    def __post_init__(self) -> None:
        for name, size in _FIXED_BYTES.items():
            value = getattr(self, name)
            if not isinstance(value, bytes) or len(value) != size:
                raise ReceiptFormatError(f"{name} must be {size} bytes")
        for name, (width, signed) in _INTEGERS.items():
            value = getattr(self, name)
            low, high = (-(2 ** (8 * width - 1)), 2 ** (8 * width - 1) - 1) if signed else (0, 2 ** (8 * width) - 1)
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise ReceiptFormatError(f"{name} must be an integer in [{low}, {high}]")
        for name in ("image_digest", "status"):
            if not isinstance(getattr(self, name), str):
                raise ReceiptFormatError(f"{name} must be text")

    def to_json(self) -> dict[str, Any]:
        """The receipt as the operator's REST endpoint serves it: bytes as ``0x``-hex."""
        return {key: "0x" + value.hex() if isinstance(value, bytes) else value for key, value in asdict(self).items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Receipt:
        """The receipt from its REST form.

        Raises:
            ReceiptFormatError: a field is missing, unknown or malformed.
        """
        names = [item.name for item in fields(cls)]
        if set(data) != set(names):
            missing, extra = set(names) - set(data), set(data) - set(names)
            raise ReceiptFormatError(f"receipt fields differ: missing {sorted(missing)}, unknown {sorted(extra)}")
        values: dict[str, Any] = {
            name: _from_hex(name, data[name]) if name in _FIXED_BYTES else data[name] for name in names
        }
        return cls(**values)


def encode_receipt(receipt: Receipt) -> bytes:
    """The canonical encoding: domain tag followed by the receipt's SCALE encoding."""
    parts = [DOMAIN_TAG]
    for item in fields(receipt):
        value = getattr(receipt, item.name)
        if item.name in _INTEGERS:
            width, signed = _INTEGERS[item.name]
            parts.append(value.to_bytes(width, "little", signed=signed))
        elif isinstance(value, str):
            parts.append(_scale_text(value))
        else:
            parts.append(value)
    return b"".join(parts)


def receipt_hash(receipt: Receipt) -> bytes:
    """keccak256 of the canonical encoding (32 bytes): what the operator signs and posts on chain."""
    digest: bytes = keccak(encode_receipt(receipt))
    return digest


def sha256(data: bytes | str) -> bytes:
    """sha256 of ``data`` (text is hashed as UTF-8), as receipts hash code, stdout and stderr."""
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).digest()


def blake2_256(data: bytes) -> bytes:
    """blake2b-256 of ``data``, as receipts hash the SCALE-encoded job arguments."""
    return hashlib.blake2b(data, digest_size=32).digest()


def compact_u32(number: int) -> bytes:
    """SCALE compact encoding of a non-negative integer below 2**32."""
    if number < 0 or number >= 2**32:
        raise ReceiptFormatError(f"{number} does not fit a compact u32")
    if number < 1 << 6:
        return bytes([number << 2])
    if number < 1 << 14:
        return ((number << 2) | 1).to_bytes(2, "little")
    if number < 1 << 30:
        return ((number << 2) | 2).to_bytes(4, "little")
    return b"\x03" + number.to_bytes(4, "little")


def _scale_text(text: str) -> bytes:
    raw = text.encode()
    return compact_u32(len(raw)) + raw


def _from_hex(name: str, value: Any) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise ReceiptFormatError(f"{name} must be 0x-hex")
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        raise ReceiptFormatError(f"{name} is not valid hex") from None
