"""Extrinsic (format v4) decoding, signature payloads and the node's transaction errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ed25519_zebra
import sr25519
from substrateinterface.utils.hasher import blake2_256

from localnet.metadata import PALLET_INDEX
from localnet.rpc_errors import RpcError
from localnet.scale import codec

_PALLET_NAMES = {index: name for name, index in PALLET_INDEX.items()}


class TransactionError(RpcError):
    """A JSON-RPC error exactly as a Substrate node reports it for a rejected transaction."""


def invalid(reason: str) -> TransactionError:
    """``PoolError::InvalidTransaction`` (1010) with sp_runtime's ``InvalidTransaction`` text as data."""
    return TransactionError(1010, "Invalid Transaction", reason)


BAD_PROOF = "Transaction has a bad signature"
STALE = "Transaction is outdated"
PAYMENT = "Inability to pay some fees (e.g. account balance too low)"
ANCIENT_BIRTH = "Transaction has an ancient birth block"
CALL_NOT_EXPECTED = "Transaction call is not expected"


# sp_runtime's InvalidTransaction variant (index, name) of each reason above.
INVALID_VARIANTS = {
    CALL_NOT_EXPECTED: (0, "Call"),
    PAYMENT: (1, "Payment"),
    STALE: (3, "Stale"),
    BAD_PROOF: (4, "BadProof"),
    ANCIENT_BIRTH: (5, "AncientBirthBlock"),
}


def runtime_panicked(message: str) -> str:
    """The executor's text for a runtime call that panicked with ``message``."""
    return f"Runtime panicked: {message}\n"


def bad_input(function: str, detail: str) -> str:
    """The executor's text for a runtime API whose SCALE input does not decode (the runtime panics)."""
    return runtime_panicked(f"Bad input data provided to {function}: {detail}")


class UndecodableExtrinsic(TransactionError):
    """An extrinsic that does not decode; ``detail`` is the codec's reason."""

    def __init__(self, detail: str) -> None:
        inner = bad_input("validate_transaction", detail)
        super().__init__(
            1002,
            f"Verification Error: Runtime error: Execution failed: {inner}",
            f'RuntimeApi("Execution failed: {inner}")',
        )
        self.detail = detail


@dataclass
class Extrinsic:
    """A decoded extrinsic. ``signer`` is the hex account id, None for an inherent."""

    raw: bytes
    hash: bytes
    signer: str | None
    signature_type: int
    signature: bytes
    era: bytes
    nonce: int
    tip: int
    call: bytes
    module: str
    function: str
    args: dict[str, Any]


class Reader:
    """Reads SCALE input front to back; running out raises ``ValueError`` with parity-scale-codec's text."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ValueError("Not enough data to fill buffer")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def compact(self) -> int:
        first = self.take(1)[0]
        mode = first & 3
        if mode == 0:
            return first >> 2
        if mode == 1:
            return int.from_bytes(bytes([first]) + self.take(1), "little") >> 2
        if mode == 2:
            return int.from_bytes(bytes([first]) + self.take(3), "little") >> 2
        return int.from_bytes(self.take((first >> 2) + 4), "little")

    def rest(self) -> bytes:
        return self.take(len(self.data) - self.pos)


def compact(value: int) -> bytes:
    if value < 1 << 6:
        return bytes([value << 2])
    if value < 1 << 14:
        return ((value << 2) | 1).to_bytes(2, "little")
    if value < 1 << 30:
        return ((value << 2) | 2).to_bytes(4, "little")
    length = (value.bit_length() + 7) // 8
    return bytes([((length - 4) << 2) | 3]) + value.to_bytes(length, "little")


def decode_call(call: bytes) -> tuple[str, str, dict[str, Any]]:
    """Decode a ``RuntimeCall``; raises the node's 1002 error when it can't."""
    if len(call) < 2:
        raise UndecodableExtrinsic("Could not decode `RuntimeCall`, variant doesn't exist")
    pallet = _PALLET_NAMES.get(call[0])
    if pallet is None:
        raise UndecodableExtrinsic("Could not decode `RuntimeCall`, variant doesn't exist")
    c = codec()
    known = {int(v.value["index"]) for v in c.metadata.get_metadata_pallet(pallet).calls}
    if call[1] not in known:
        detail = "Could not decode `Call`, variant doesn't exist"
        raise UndecodableExtrinsic(f"Could not decode `RuntimeCall::{pallet}.0`:\n\t{detail}")
    try:
        value = c.decode("Call", call)
    except Exception as exc:  # any scalecodec failure is a decode failure here
        raise UndecodableExtrinsic(f"Could not decode `RuntimeCall::{pallet}.0`:\n\t{exc}") from exc
    args = {a["name"]: a["value"] for a in value["call_args"]}
    return str(value["call_module"]), str(value["call_function"]), args


def decode_extrinsic(raw: bytes) -> Extrinsic:
    """Split an encoded (length-prefixed) extrinsic into its parts and decode the call."""
    r = Reader(raw)
    try:
        length = r.compact()
        if length != len(raw) - r.pos:
            raise ValueError("Extrinsic length prefix does not match its data")
        version = r.take(1)[0]
        if version & 0x7F != 4:
            raise ValueError(f"Invalid transaction version {version & 0x7F}")
        signer = None
        sig_type, signature, era, nonce, tip = 0, b"", b"\x00", 0, 0
        if version & 0x80:
            if r.take(1)[0] != 0:
                raise ValueError("Could not decode `MultiAddress`, variant doesn't exist")
            signer = "0x" + r.take(32).hex()
            sig_type = r.take(1)[0]
            if sig_type > 2:
                raise ValueError("Could not decode `MultiSignature`, variant doesn't exist")
            signature = r.take(65 if sig_type == 2 else 64)
            era = r.take(1)
            if era[0] != 0:
                era += r.take(1)
            nonce = r.compact()
            tip = r.compact()
        call = raw[r.pos :]
    except (ValueError, IndexError) as exc:
        raise UndecodableExtrinsic(f"Could not decode `UncheckedExtrinsic`: {exc}") from exc
    module, function, args = decode_call(call)
    return Extrinsic(
        raw=raw,
        hash=bytes(blake2_256(raw)),
        signer=signer,
        signature_type=sig_type,
        signature=signature,
        era=era,
        nonce=nonce,
        tip=tip,
        call=call,
        module=module,
        function=function,
        args=args,
    )


def era_birth(era: bytes, current: int) -> int:
    """Birth block of a mortal era relative to block ``current`` (sp_runtime ``Era::birth``)."""
    if era == b"\x00":
        return 0
    encoded = int.from_bytes(era, "little")
    period = 2 << (encoded % (1 << 4))
    quantize = max(period >> 12, 1)
    phase = (encoded >> 4) * quantize
    return (max(current, phase) - phase) // period * period + phase


def era_period(era: bytes) -> int | None:
    if era == b"\x00":
        return None
    return 2 << (int.from_bytes(era, "little") % (1 << 4))


def signing_payload(xt: Extrinsic, spec: int, tx_version: int, genesis: bytes, birth_hash: bytes) -> bytes:
    payload = xt.call + xt.era + compact(xt.nonce) + compact(xt.tip)
    payload += spec.to_bytes(4, "little") + tx_version.to_bytes(4, "little") + genesis + birth_hash
    return bytes(blake2_256(payload)) if len(payload) > 256 else payload


def verify_signature(xt: Extrinsic, payload: bytes) -> bool:
    assert xt.signer is not None
    public = bytes.fromhex(xt.signer[2:])
    try:
        if xt.signature_type == 1:
            return bool(sr25519.verify(xt.signature, payload, public))
        if xt.signature_type == 0:
            return bool(ed25519_zebra.ed_verify(xt.signature, payload, public))
    except ValueError:
        return False
    # ECDSA (type 2) signers are blake2(compressed key) accounts; not supported here.
    return False


def inherent(call: bytes) -> bytes:
    body = b"\x04" + call
    return compact(len(body)) + body
