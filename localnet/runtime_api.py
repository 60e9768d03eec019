"""Runtime APIs (what ``state_call`` executes): SCALE in, SCALE out, exactly as the runtime's exports answer.

Each API is listed in the runtime version with the blake2_64 id of its name and the version whose method
encodings are implemented here; a method that is not implemented is not exported, and the node says so.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from localnet.block_execution import BlockExecutionFailed, ExecutionContext, execute_block, read_block, read_header
from localnet.blocks import Block, hex0x
from localnet.chain import Chain, StateDiscarded
from localnet.extrinsics import (
    INVALID_VARIANTS,
    Extrinsic,
    Reader,
    TransactionError,
    UndecodableExtrinsic,
    bad_input,
    compact,
    decode_extrinsic,
    era_birth,
    era_period,
    runtime_panicked,
)
from localnet.metadata import SPEC_NAME, SPEC_VERSION, TRANSACTION_VERSION, metadata_bytes
from localnet.pallets import system
from localnet.rpc_errors import RpcError
from localnet.runtime import (
    INHERENT_WEIGHT,
    fee_of,
    inclusion_fee,
    length_fee,
    priority_for,
    validate,
    weight_fee,
    weight_of,
)
from localnet.storage import Overlay

METADATA_VERSIONS = (14,)
STATE_VERSION = 1
U64_MAX = 2**64 - 1
_TX_SOURCES = 3  # TransactionSource: InBlock, Local, External


class BadInput(ValueError):
    """The call's SCALE input does not decode as the method's parameters."""


@dataclass
class _Call:
    chain: Chain
    block: Block
    input: Reader

    @property
    def raw_state(self) -> dict[bytes, bytes]:
        try:
            return self.chain.state_at(self.block.hash)
        except StateDiscarded as exc:
            raise RpcError(4003, f"Client error: State already discarded for {hex0x(self.block.hash)}") from exc

    @property
    def state(self) -> Overlay:
        return Overlay(self.raw_state)

    def u32(self) -> int:
        return int.from_bytes(self.input.take(4), "little")

    def extrinsic(self) -> Extrinsic:
        length = self.input.compact()
        body = self.input.take(length)
        try:
            return decode_extrinsic(compact(length) + body)
        except UndecodableExtrinsic as exc:
            raise BadInput(exc.detail) from exc


Handler = Callable[[_Call], bytes]


def _u32(value: int) -> bytes:
    return value.to_bytes(4, "little")


def _u64(value: int) -> bytes:
    return value.to_bytes(8, "little")


def _u128(value: int) -> bytes:
    return value.to_bytes(16, "little")


def _vec(items: list[bytes]) -> bytes:
    return compact(len(items)) + b"".join(items)


def _bytes(data: bytes) -> bytes:
    return compact(len(data)) + data


def _weight(weight: dict[str, int]) -> bytes:
    return compact(weight["ref_time"]) + compact(weight["proof_size"])


def api_id(name: str) -> bytes:
    """The 8-byte id of a runtime API: blake2_64 of its trait name."""
    return hashlib.blake2b(name.encode(), digest_size=8).digest()


# -- Core -----------------------------------------------------------------------------------------------
def runtime_version() -> dict[str, Any]:
    """``sp_version::RuntimeVersion`` as the node's JSON-RPC serialises it."""
    return {
        "specName": SPEC_NAME,
        "implName": SPEC_NAME,
        "authoringVersion": 1,
        "specVersion": SPEC_VERSION,
        "implVersion": 1,
        "apis": [[hex0x(api_id(name)), version] for name, (version, _) in RUNTIME_APIS.items()],
        "transactionVersion": TRANSACTION_VERSION,
        "stateVersion": STATE_VERSION,
    }


def encode_runtime_version(version: dict[str, Any]) -> bytes:
    apis = [bytes.fromhex(api[2:]) + _u32(number) for api, number in version["apis"]]
    out = _bytes(version["specName"].encode()) + _bytes(version["implName"].encode())
    out += _u32(version["authoringVersion"]) + _u32(version["specVersion"]) + _u32(version["implVersion"])
    return out + _vec(apis) + _u32(version["transactionVersion"]) + bytes([version["stateVersion"]])


def _core_version(call: _Call) -> bytes:
    return encode_runtime_version(runtime_version())


def _core_execute_block(call: _Call) -> bytes:
    block = read_block(call.input)
    context = ExecutionContext(call.block, call.raw_state, call.chain.genesis_hash, lambda n: _hash_up_to(call, n))
    try:
        execute_block(context, block)
    except UndecodableExtrinsic as exc:
        raise BadInput(exc.detail) from exc
    return b""


def _core_initialize_block(call: _Call) -> bytes:
    read_header(call.input)  # initialising only writes the block's System entries, which state_call discards
    return b""


# -- Metadata -------------------------------------------------------------------------------------------
def _metadata(call: _Call) -> bytes:
    return _bytes(metadata_bytes())


def _metadata_at_version(call: _Call) -> bytes:
    return b"\x01" + _bytes(metadata_bytes()) if call.u32() in METADATA_VERSIONS else b"\x00"


def _metadata_versions(call: _Call) -> bytes:
    return _vec([_u32(v) for v in METADATA_VERSIONS])


# -- AccountNonceApi ------------------------------------------------------------------------------------
def _account_nonce(call: _Call) -> bytes:
    who = hex0x(call.input.take(32))
    return _u32(system.nonce(call.state, who))


# -- TransactionPaymentApi ------------------------------------------------------------------------------
def dispatch_info(xt: Extrinsic, length: int) -> dict[str, Any]:
    """``RuntimeDispatchInfo`` of an extrinsic of ``length`` bytes; only a signed one pays a fee."""
    if xt.module == "Timestamp":  # the inherent
        return {"weight": INHERENT_WEIGHT, "class": "Mandatory", "partial_fee": 0}
    return {
        "weight": weight_of(length),
        "class": "Normal",
        "partial_fee": 0 if xt.signer is None else fee_of(length, 0),
    }


def fee_details(xt: Extrinsic, length: int) -> dict[str, Any]:
    """``FeeDetails``: the inclusion fee (None for an inherent) and the tip."""
    return {"inclusion_fee": None if xt.signer is None else inclusion_fee(length), "tip": xt.tip}


_DISPATCH_CLASSES = ("Normal", "Operational", "Mandatory")


def _query_info(call: _Call) -> bytes:
    info = dispatch_info(call.extrinsic(), call.u32())
    return _weight(info["weight"]) + bytes([_DISPATCH_CLASSES.index(info["class"])]) + _u128(info["partial_fee"])


def _query_fee_details(call: _Call) -> bytes:
    details = fee_details(call.extrinsic(), call.u32())
    fee = details["inclusion_fee"]
    if fee is None:
        return b"\x00" + _u128(details["tip"])
    parts = (fee["base_fee"], fee["len_fee"], fee["adjusted_weight_fee"])
    return b"\x01" + b"".join(_u128(p) for p in parts) + _u128(details["tip"])


def _query_weight_to_fee(call: _Call) -> bytes:
    weight = {"ref_time": call.input.compact(), "proof_size": call.input.compact()}
    return _u128(weight_fee(weight))


def _query_length_to_fee(call: _Call) -> bytes:
    return _u128(length_fee(call.u32()))


# -- TaggedTransactionQueue -----------------------------------------------------------------------------
def _validate_transaction(call: _Call) -> bytes:
    source = call.input.take(1)[0]
    if source >= _TX_SOURCES:
        raise BadInput("Could not decode `TransactionSource`, variant doesn't exist")
    xt = call.extrinsic()
    call.input.take(32)  # the block hash: validation runs on the state of the block state_call was given
    state, current = call.state, call.block.number + 1
    try:
        validate(state, xt, current, call.chain.genesis_hash, lambda n: _hash_up_to(call, n))
    except TransactionError as exc:
        return b"\x01\x00" + bytes([INVALID_VARIANTS[str(exc.data)][0]])
    assert xt.signer is not None
    return b"\x00" + _valid_transaction(xt, system.nonce(state, xt.signer), current)


def _hash_up_to(call: _Call, number: int) -> bytes | None:
    return call.chain.hash_of(number) if number <= call.block.number else None


def _valid_transaction(xt: Extrinsic, account_nonce: int, current: int) -> bytes:
    """``ValidTransaction`` of frame's ``CheckNonce`` tags and ``CheckMortality`` longevity."""
    assert xt.signer is not None
    who = bytes.fromhex(xt.signer[2:])
    requires = [who + _u32(xt.nonce - 1)] if xt.nonce > account_nonce else []
    period = era_period(xt.era)
    longevity = U64_MAX if period is None else era_birth(xt.era, current) + period - current
    tags = _vec([_bytes(t) for t in requires]) + _vec([_bytes(who + _u32(xt.nonce))])
    return _u64(priority_for(xt)) + tags + _u64(longevity) + b"\x01"


RUNTIME_APIS: dict[str, tuple[int, dict[str, Handler]]] = {
    "Core": (
        4,
        {"version": _core_version, "execute_block": _core_execute_block, "initialize_block": _core_initialize_block},
    ),
    "Metadata": (
        2,
        {"metadata": _metadata, "metadata_at_version": _metadata_at_version, "metadata_versions": _metadata_versions},
    ),
    "AccountNonceApi": (1, {"account_nonce": _account_nonce}),
    "TransactionPaymentApi": (
        4,
        {
            "query_info": _query_info,
            "query_fee_details": _query_fee_details,
            "query_weight_to_fee": _query_weight_to_fee,
            "query_length_to_fee": _query_length_to_fee,
        },
    ),
    "TaggedTransactionQueue": (3, {"validate_transaction": _validate_transaction}),
}


def _handler(method: str) -> Handler | None:
    api, _, function = method.partition("_")
    entry = RUNTIME_APIS.get(api)
    return None if entry is None else entry[1].get(function)


def call_runtime_api(chain: Chain, block: Block, method: str, data: bytes) -> bytes:
    """Execute runtime API ``method`` (e.g. ``Core_version``) with SCALE ``data`` on the state of ``block``.

    Raises:
        RpcError: 4003 with the node's text when the runtime does not export ``method``, when ``data`` does
            not decode as its parameters (the runtime panics), or when the block's state is pruned.
    """
    handler = _handler(method)
    if handler is None:
        raise RpcError(4003, f"Client error: Execution failed: Other: Exported method {method} is not found")
    call = _Call(chain, block, Reader(data))
    function = method.partition("_")[2]
    try:
        output = handler(call)
        if call.input.pos != len(data):
            raise BadInput("Input buffer has still data left after decoding!")
    except (BadInput, ValueError) as exc:
        raise RpcError(4003, f"Client error: Execution failed: {bad_input(function, str(exc))}") from exc
    except BlockExecutionFailed as exc:
        raise RpcError(4003, f"Client error: Execution failed: {runtime_panicked(str(exc))}") from exc
    return output
