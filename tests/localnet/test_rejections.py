"""Transactions a real node refuses, with the JSON-RPC errors a Substrate node returns."""

from __future__ import annotations

import time

import pytest
from substrateinterface import Keypair, SubstrateInterface
from substrateinterface.exceptions import SubstrateRequestException

from localnet.extrinsics import compact
from tests.localnet.conftest import keypair, rpc

BAD_SIGNATURE = {"code": 1010, "message": "Invalid Transaction", "data": "Transaction has a bad signature"}


def remark(substrate: SubstrateInterface, text: str = "hi"):
    return substrate.compose_call("System", "remark", {"remark": "0x" + text.encode().hex()})


def submit_error(substrate: SubstrateInterface, extrinsic_hex: str, watch: bool = False) -> dict:
    method = "author_submitAndWatchExtrinsic" if watch else "author_submitExtrinsic"
    response = rpc(substrate, method, [extrinsic_hex])
    assert "error" in response, response
    return response["error"]


def test_bad_signature(substrate: SubstrateInterface) -> None:
    alice = keypair("Alice")
    call = remark(substrate)
    nonce = substrate.get_account_nonce(alice.ss58_address)
    signature = bytearray(alice.sign(substrate.generate_signature_payload(call, nonce=nonce)))
    signature[5] ^= 0xFF
    extrinsic = substrate.create_signed_extrinsic(call, alice, nonce=nonce, signature=bytes(signature))
    assert submit_error(substrate, str(extrinsic.data)) == BAD_SIGNATURE
    assert submit_error(substrate, str(extrinsic.data), watch=True) == BAD_SIGNATURE
    with pytest.raises(SubstrateRequestException):
        substrate.submit_extrinsic(extrinsic, wait_for_inclusion=True)


def _payload(call, nonce: int, genesis: bytes, spec_version: int) -> bytes:
    payload = bytes(call.data.data) + b"\x00" + compact(nonce) + compact(0)
    return payload + spec_version.to_bytes(4, "little") + (1).to_bytes(4, "little") + genesis + genesis


def test_wrong_genesis_or_spec_version_is_bad_signature(substrate: SubstrateInterface) -> None:
    alice = keypair("Alice")
    call = remark(substrate)
    nonce = substrate.get_account_nonce(alice.ss58_address)
    genesis = bytes.fromhex(substrate.get_block_hash(0)[2:])
    good = substrate.create_signed_extrinsic(
        call, alice, nonce=nonce, signature=alice.sign(_payload(call, nonce, genesis, 1))
    )
    for payload in (_payload(call, nonce, b"\x01" * 32, 1), _payload(call, nonce, genesis, 2)):
        extrinsic = substrate.create_signed_extrinsic(call, alice, nonce=nonce, signature=alice.sign(payload))
        assert submit_error(substrate, str(extrinsic.data)) == BAD_SIGNATURE
    # The same hand-built payload with the right genesis and spec version is accepted.
    assert substrate.submit_extrinsic(good, wait_for_inclusion=True).is_success


def test_stale_nonce(substrate: SubstrateInterface) -> None:
    alice = keypair("Alice")
    receipt = substrate.submit_extrinsic(
        substrate.create_signed_extrinsic(remark(substrate), alice), wait_for_inclusion=True
    )
    assert receipt.is_success
    stale = substrate.create_signed_extrinsic(remark(substrate, "again"), alice, nonce=0)
    assert submit_error(substrate, str(stale.data)) == {
        "code": 1010,
        "message": "Invalid Transaction",
        "data": "Transaction is outdated",
    }


def test_future_nonce_waits_for_gap(substrate: SubstrateInterface) -> None:
    ferdie = keypair("Ferdie")
    nonce = substrate.get_account_nonce(ferdie.ss58_address)
    future = substrate.create_signed_extrinsic(remark(substrate, "future"), ferdie, nonce=nonce + 1)
    response = rpc(substrate, "author_submitExtrinsic", [str(future.data)])
    assert response["result"] == "0x" + future.extrinsic_hash.hex()
    time.sleep(1.0)  # several blocks
    assert str(future.data) in rpc(substrate, "author_pendingExtrinsics", [])["result"]
    assert substrate.get_account_nonce(ferdie.ss58_address) == nonce  # ready-only, like a node
    gap = substrate.create_signed_extrinsic(remark(substrate, "gap"), ferdie, nonce=nonce)
    receipt = substrate.submit_extrinsic(gap, wait_for_inclusion=True)
    assert receipt.is_success
    deadline = time.monotonic() + 10
    while substrate.query("System", "Account", [ferdie.ss58_address]).value["nonce"] != nonce + 2:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert str(future.data) not in rpc(substrate, "author_pendingExtrinsics", [])["result"]


def test_future_status_in_watch(substrate: SubstrateInterface) -> None:
    eve = keypair("Eve")
    nonce = substrate.get_account_nonce(eve.ss58_address)
    future = substrate.create_signed_extrinsic(remark(substrate, "f"), eve, nonce=nonce + 1)
    statuses: list = []

    def handler(message, update_nr, subscription_id):
        statuses.append(message["params"]["result"])
        return True

    substrate.rpc_request("author_submitAndWatchExtrinsic", [str(future.data)], result_handler=handler)
    assert statuses == ["future"]
    substrate.submit_extrinsic(substrate.create_signed_extrinsic(remark(substrate), eve, nonce=nonce), True)


def _with_call_index(extrinsic, pallet: int, call: int, call_len: int) -> str:
    raw = bytearray(extrinsic.data.data)
    start = len(raw) - call_len
    raw[start], raw[start + 1] = pallet, call
    return "0x" + raw.hex()


def test_unknown_call_index(substrate: SubstrateInterface) -> None:
    alice = keypair("Alice")
    call = remark(substrate)
    extrinsic = substrate.create_signed_extrinsic(call, alice)
    call_len = len(call.data.data)
    for pallet, index in ((0, 99), (99, 0)):
        error = submit_error(substrate, _with_call_index(extrinsic, pallet, index, call_len))
        assert error["code"] == 1002
        assert error["message"].startswith("Verification Error: Runtime error: Execution failed:")
        assert "Could not decode `RuntimeCall" in error["message"]
        assert "Could not decode" in error["data"]


def test_garbage_bytes(substrate: SubstrateInterface) -> None:
    for garbage in ("0x1234", "0x" + "ff" * 40, "0x00"):
        error = submit_error(substrate, garbage)
        assert error["code"] == 1002
        assert "Could not decode" in error["message"]


def test_cannot_pay_fees(substrate: SubstrateInterface) -> None:
    pauper = Keypair.create_from_uri("//Pauper")
    extrinsic = substrate.create_signed_extrinsic(remark(substrate), pauper)
    assert submit_error(substrate, str(extrinsic.data)) == {
        "code": 1010,
        "message": "Invalid Transaction",
        "data": "Inability to pay some fees (e.g. account balance too low)",
    }


def test_ed25519_signer(substrate: SubstrateInterface) -> None:
    from substrateinterface import KeypairType

    alice = keypair("Alice")
    ed = Keypair.create_from_seed("0x" + "42" * 32, crypto_type=KeypairType.ED25519)
    fund = substrate.compose_call("Balances", "transfer_allow_death", {"dest": ed.ss58_address, "value": 10**18})
    assert substrate.submit_extrinsic(
        substrate.create_signed_extrinsic(fund, alice), wait_for_inclusion=True
    ).is_success
    receipt = substrate.submit_extrinsic(substrate.create_signed_extrinsic(remark(substrate), ed), True)
    assert receipt.is_success


def test_expired_mortal_era_is_bad_signature(substrate: SubstrateInterface) -> None:
    alice = keypair("Alice")
    head = substrate.get_block_number(substrate.get_chain_head())
    assert head > 8
    # Period 4 anchored at block 1: dead long ago, so the node's birth block differs from the signed one.
    expired = substrate.create_signed_extrinsic(remark(substrate), alice, era={"period": 4, "current": 1})
    # A real node answers either, depending on whether the era's birth block is still in BlockHash.
    assert submit_error(substrate, str(expired.data)) in (
        BAD_SIGNATURE,
        {**BAD_SIGNATURE, "data": "Transaction has an ancient birth block"},
    )
    alive = substrate.create_signed_extrinsic(remark(substrate), alice, era={"period": 16})
    assert substrate.submit_extrinsic(alive, wait_for_inclusion=True).is_success
