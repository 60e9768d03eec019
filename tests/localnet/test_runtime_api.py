"""Runtime APIs behind ``state_call``: the SCALE answers a runtime gives, and a node's errors."""

from __future__ import annotations

import hashlib

from scalecodec.base import RuntimeConfigurationObject, ScaleBytes
from scalecodec.type_registry import load_type_registry_preset
from substrateinterface import Keypair, SubstrateInterface

from localnet.extrinsics import compact
from localnet.runtime import fee_of, weight_of
from tests.localnet.conftest import keypair, rpc

CORE = load_type_registry_preset("core")
# The runtime's own return types, as sp_version and pallet_transaction_payment define them.
RETURN_TYPES = {
    "types": {
        "RuntimeVersionCore4": {
            "type": "struct",
            "type_mapping": [
                ["spec_name", "Text"],
                ["impl_name", "Text"],
                ["authoring_version", "u32"],
                ["spec_version", "u32"],
                ["impl_version", "u32"],
                ["apis", "Vec<([u8; 8], u32)>"],
                ["transaction_version", "u32"],
                ["state_version", "u8"],
            ],
        },
        "WeightV2Compact": {
            "type": "struct",
            "type_mapping": [["ref_time", "Compact<u64>"], ["proof_size", "Compact<u64>"]],
        },
        "DispatchClassV4": {"type": "enum", "value_list": ["Normal", "Operational", "Mandatory"]},
        "DispatchInfoV4": {
            "type": "struct",
            "type_mapping": [["weight", "WeightV2Compact"], ["class", "DispatchClassV4"], ["partial_fee", "u128"]],
        },
    }
}


def state_call(substrate: SubstrateInterface, method: str, data: bytes, at: str | None = None) -> bytes:
    response = rpc(substrate, "state_call", [method, "0x" + data.hex(), *([at] if at else [])])
    assert "result" in response, response
    return bytes.fromhex(response["result"][2:])


def decode(type_string: str, data: bytes) -> object:
    config = RuntimeConfigurationObject()
    config.update_type_registry(CORE)
    config.update_type_registry(RETURN_TYPES)
    obj = config.create_scale_object(type_string, data=ScaleBytes(bytearray(data)))
    return obj.decode(check_remaining=True)


def signed_transfer(substrate: SubstrateInterface, who: Keypair, nonce: int | None = None, tip: int = 0) -> bytes:
    call = substrate.compose_call(
        "Balances", "transfer_keep_alive", {"dest": keypair("Bob").ss58_address, "value": 10**15}
    )
    extrinsic = substrate.create_signed_extrinsic(call, who, nonce=nonce, tip=tip, era={"period": 64})
    return bytes(extrinsic.data.data)


def test_core_version_is_the_rpc_runtime_version_with_blake2_ids(substrate: SubstrateInterface) -> None:
    version = decode("RuntimeVersionCore4", state_call(substrate, "Core_version", b""))
    served = rpc(substrate, "state_getRuntimeVersion", [])["result"]
    assert isinstance(version, dict)
    assert version["spec_name"] == served["specName"] == "tangle-localnet"
    assert version["spec_version"] == served["specVersion"]
    assert version["transaction_version"] == served["transactionVersion"]
    assert [[a[0], a[1]] for a in version["apis"]] == served["apis"]
    names = ["Core", "Metadata", "AccountNonceApi", "TransactionPaymentApi", "TaggedTransactionQueue"]
    ids = {"0x" + hashlib.blake2b(n.encode(), digest_size=8).hexdigest() for n in names}
    assert {a[0] for a in served["apis"]} == ids


def test_metadata_versions_and_metadata_at_version(substrate: SubstrateInterface) -> None:
    assert state_call(substrate, "Metadata_metadata_versions", b"") == b"\x04" + (14).to_bytes(4, "little")
    metadata = bytes.fromhex(rpc(substrate, "state_getMetadata", [])["result"][2:])
    opaque = state_call(substrate, "Metadata_metadata", b"")
    assert opaque.endswith(metadata) and len(opaque) > len(metadata)
    assert state_call(substrate, "Metadata_metadata_at_version", (14).to_bytes(4, "little")) == b"\x01" + opaque
    assert state_call(substrate, "Metadata_metadata_at_version", (15).to_bytes(4, "little")) == b"\x00"


def test_account_nonce_follows_included_transactions(substrate: SubstrateInterface) -> None:
    charlie = keypair("Charlie")
    before = int.from_bytes(state_call(substrate, "AccountNonceApi_account_nonce", charlie.public_key), "little")
    xt = signed_transfer(substrate, charlie)
    receipt = substrate.submit_extrinsic(substrate.create_scale_object("Extrinsic", ScaleBytes(xt)), True)
    assert receipt.is_success
    after = int.from_bytes(state_call(substrate, "AccountNonceApi_account_nonce", charlie.public_key), "little")
    assert after == before + 1
    at_inclusion_parent = substrate.get_block_header(receipt.block_hash)["header"]["parentHash"]
    old = state_call(substrate, "AccountNonceApi_account_nonce", charlie.public_key, at_inclusion_parent)
    assert int.from_bytes(old, "little") == before


def test_query_info_and_fee_details_match_the_fee_charged(substrate: SubstrateInterface) -> None:
    dave = keypair("Dave")
    xt = signed_transfer(substrate, dave)
    length = len(xt).to_bytes(4, "little")
    info = decode("DispatchInfoV4", state_call(substrate, "TransactionPaymentApi_query_info", xt + length))
    assert isinstance(info, dict)
    assert info["weight"] == weight_of(len(xt)) and info["class"] == "Normal"
    details = state_call(substrate, "TransactionPaymentApi_query_fee_details", xt + length)
    assert details[0] == 1  # Some(InclusionFee)
    parts = [int.from_bytes(details[1 + 16 * i : 17 + 16 * i], "little") for i in range(4)]
    assert sum(parts[:3]) == info["partial_fee"] and parts[3] == 0
    receipt = substrate.submit_extrinsic(substrate.create_scale_object("Extrinsic", ScaleBytes(xt)), True)
    withdraw = [e for e in receipt.triggered_events if e.value["event_id"] == "Withdraw"]
    assert withdraw[0].value["attributes"]["amount"] == info["partial_fee"] == fee_of(len(xt), 0)
    by_length = state_call(substrate, "TransactionPaymentApi_query_length_to_fee", length)
    assert int.from_bytes(by_length, "little") == parts[1]


def _validate(substrate: SubstrateInterface, xt: bytes) -> bytes:
    best = bytes.fromhex(substrate.get_block_hash()[2:])
    return state_call(substrate, "TaggedTransactionQueue_validate_transaction", b"\x02" + xt + best)


def test_validate_transaction_tags_and_errors(substrate: SubstrateInterface) -> None:
    eve = keypair("Eve")
    nonce = substrate.get_account_nonce(eve.ss58_address)
    valid = _validate(substrate, signed_transfer(substrate, eve, nonce))
    assert valid[0] == 0  # Ok(ValidTransaction)
    tag = eve.public_key + nonce.to_bytes(4, "little")
    assert valid[9:11] == b"\x00\x04" and valid[11:12] == b"\x90" and valid[12:48] == tag
    assert 0 < int.from_bytes(valid[48:56], "little") <= 64 and valid[56] == 1
    future = _validate(substrate, signed_transfer(substrate, eve, nonce + 1))
    assert future[9:11] == b"\x04\x90" and future[11:47] == tag  # requires (eve, nonce)
    corrupted = bytearray(signed_transfer(substrate, eve, nonce))
    corrupted[40] ^= 0xFF  # inside the signature
    assert _validate(substrate, bytes(corrupted)) == b"\x01\x00\x04"  # Err(Invalid(BadProof))
    if nonce > 0:
        assert _validate(substrate, signed_transfer(substrate, eve, nonce - 1)) == b"\x01\x00\x03"  # Stale


def test_unknown_method_and_bad_input_are_the_nodes_errors(substrate: SubstrateInterface) -> None:
    assert rpc(substrate, "state_call", ["Foo_bar", "0x"])["error"] == {
        "code": 4003,
        "message": "Client error: Execution failed: Other: Exported method Foo_bar is not found",
    }
    short = rpc(substrate, "state_call", ["AccountNonceApi_account_nonce", "0x0102"])["error"]
    assert short["code"] == 4003
    assert short["message"] == (
        "Client error: Execution failed: Runtime panicked: Bad input data provided to account_nonce: "
        "Not enough data to fill buffer\n"
    )
    extra = rpc(substrate, "state_call", ["Core_version", "0x00"])["error"]
    assert "Input buffer has still data left after decoding!" in extra["message"]


def _encoded_block(substrate: SubstrateInterface, block_hash: str) -> tuple[bytes, bytes, str]:
    block = rpc(substrate, "chain_getBlock", [block_hash])["result"]["block"]
    header = block["header"]
    logs = [bytes.fromhex(log[2:]) for log in header["digest"]["logs"]]
    encoded = bytes.fromhex(header["parentHash"][2:]) + compact(int(header["number"], 16))
    encoded += bytes.fromhex(header["stateRoot"][2:]) + bytes.fromhex(header["extrinsicsRoot"][2:])
    encoded += compact(len(logs)) + b"".join(logs)
    extrinsics = [bytes.fromhex(x[2:]) for x in block["extrinsics"]]
    return encoded, encoded + compact(len(extrinsics)) + b"".join(extrinsics), header["parentHash"]


def test_execute_block_re_executes_a_block_on_its_parent(substrate: SubstrateInterface) -> None:
    xt = signed_transfer(substrate, keypair("Ferdie"))
    receipt = substrate.submit_extrinsic(substrate.create_scale_object("Extrinsic", ScaleBytes(xt)), True)
    header, block, parent = _encoded_block(substrate, receipt.block_hash)
    assert state_call(substrate, "Core_execute_block", block, parent) == b""
    assert state_call(substrate, "Core_initialize_block", header, parent) == b""

    tampered = bytearray(block)
    tampered[40] ^= 0xFF  # inside the state root (after the parent hash and the number)
    error = rpc(substrate, "state_call", ["Core_execute_block", "0x" + tampered.hex(), parent])["error"]
    assert error["message"] == (
        "Client error: Execution failed: Runtime panicked: Storage root must match that calculated.\n"
    )
    wrong_parent = rpc(substrate, "state_call", ["Core_execute_block", "0x" + block.hex(), receipt.block_hash])
    assert wrong_parent["error"]["message"].endswith("Runtime panicked: Parent hash should be valid.\n")
