"""The legacy JSON-RPC surface as a Substrate node serves it: pub-sub, node information, storage, payment."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from substrateinterface import SubstrateInterface
from websockets.sync.client import ClientConnection, connect

from localnet.testing import RunningLocalnet
from tests.localnet.conftest import keypair, rpc


class Socket:
    """A raw JSON-RPC WebSocket client that keeps notifications apart from responses."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.next_id = 0
        self.notifications: list[dict[str, Any]] = []

    def call(self, method: str, params: list[Any]) -> dict[str, Any]:
        self.next_id += 1
        self.ws.send(json.dumps({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=10))
            if message.get("id") == self.next_id:
                return dict(message)
            self.notifications.append(message)

    def notification(self, sub_id: str) -> dict[str, Any]:
        for message in self.notifications:
            if message["params"]["subscription"] == sub_id:
                self.notifications.remove(message)
                return dict(message)
        while True:
            message = json.loads(self.ws.recv(timeout=10))
            if message.get("params", {}).get("subscription") == sub_id:
                return dict(message)
            self.notifications.append(message)


@pytest.fixture
def socket(localnet: RunningLocalnet) -> Iterator[Socket]:
    with connect(localnet.url) as ws:
        yield Socket(ws)


def test_runtime_version_subscription_sends_the_current_version(socket: Socket) -> None:
    sub_id = socket.call("state_subscribeRuntimeVersion", [])["result"]
    message = socket.notification(sub_id)
    assert message["method"] == "state_runtimeVersion"
    assert message["params"]["result"] == socket.call("state_getRuntimeVersion", [])["result"]
    assert socket.call("state_unsubscribeRuntimeVersion", [sub_id])["result"] is True
    assert socket.call("state_unsubscribeRuntimeVersion", [sub_id])["result"] is False


def test_storage_subscription_sends_values_then_changes(socket: Socket, substrate: SubstrateInterface) -> None:
    dave, ferdie = keypair("Dave"), keypair("Ferdie")
    keys = [substrate.create_storage_key("System", "Account", [who.ss58_address]).to_hex() for who in (dave, ferdie)]
    sub_id = socket.call("state_subscribeStorage", [keys])["result"]
    first = socket.notification(sub_id)
    assert first["method"] == "state_storage"
    assert [key for key, _ in first["params"]["result"]["changes"]] == keys
    call = substrate.compose_call("Balances", "transfer_keep_alive", {"dest": ferdie.ss58_address, "value": 10**15})
    receipt = substrate.submit_extrinsic(substrate.create_signed_extrinsic(call, dave), wait_for_inclusion=True)
    change = socket.notification(sub_id)["params"]["result"]
    assert change["block"] == receipt.block_hash
    assert {key for key, _ in change["changes"]} == set(keys)  # both balances moved, in that block
    assert socket.call("state_unsubscribeStorage", [sub_id])["result"] is True


def test_block_hash_of_numbers_hex_and_lists(substrate: SubstrateInterface, localnet: RunningLocalnet) -> None:
    one = rpc(substrate, "chain_getBlockHash", [1])["result"]
    assert rpc(substrate, "chain_getBlockHash", ["0x1"])["result"] == one
    many = rpc(substrate, "chain_getBlockHash", [[0, "0x1", 10**9]])["result"]
    assert many == [localnet.genesis_hash, one, None]
    assert rpc(substrate, "chain_getBlockHash", [-1])["error"]["code"] == -32602


def test_storage_hash_size_keys_and_pairs(substrate: SubstrateInterface) -> None:
    key = substrate.create_storage_key("System", "Account", [keypair("Alice").ss58_address]).to_hex()
    value = bytes.fromhex(rpc(substrate, "state_getStorage", [key])["result"][2:])
    assert rpc(substrate, "state_getStorageSize", [key])["result"] == len(value)
    hashed = rpc(substrate, "state_getStorageHash", [key])["result"]
    assert hashed == "0x" + hashlib.blake2b(value, digest_size=32).hexdigest()
    assert rpc(substrate, "state_getStorageSize", ["0x00"])["result"] is None
    prefix = key[: 2 + 64]
    keys = rpc(substrate, "state_getKeys", [prefix])["result"]
    pairs = rpc(substrate, "state_getPairs", [prefix])["result"]
    assert key in keys and [k for k, _ in pairs] == keys
    assert dict(pairs)[key] == "0x" + value.hex()


def test_payment_fee_details_and_undecodable_extrinsics(substrate: SubstrateInterface) -> None:
    call = substrate.compose_call("System", "remark", {"remark": "0x00"})
    signed = str(substrate.create_signed_extrinsic(call, keypair("Bob")).data)
    info = rpc(substrate, "payment_queryInfo", [signed])["result"]
    details = rpc(substrate, "payment_queryFeeDetails", [signed])["result"]
    fee = details["inclusionFee"]
    assert int(fee["baseFee"], 16) + int(fee["lenFee"], 16) + int(fee["adjustedWeightFee"], 16) == int(
        info["partialFee"]
    )
    assert details["tip"] == "0x0" and info["class"] == "normal"
    bad = rpc(substrate, "payment_queryInfo", ["0x0102"])["error"]
    assert bad["code"] == 2 and bad["message"] == "Unable to query dispatch info."


def test_node_information(substrate: SubstrateInterface) -> None:
    # The peer id of node key 0x00..01, as `--node-key` with that key gives it.
    assert rpc(substrate, "system_localPeerId", [])["result"] == "12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp"
    assert rpc(substrate, "system_peers", [])["result"] == []
    assert rpc(substrate, "system_nodeRoles", [])["result"] == ["Authority"]
    state = rpc(substrate, "system_syncState", [])["result"]
    assert state["startingBlock"] == 0 and state["currentBlock"] == state["highestBlock"] > 0


def test_rpc_methods_lists_exactly_what_is_served(socket: Socket) -> None:
    listed = socket.call("rpc_methods", [])["result"]["methods"]
    assert {"state_call", "state_subscribeStorage", "payment_queryFeeDetails", "chain_subscribeAllHeads"} <= set(listed)
    for method in listed:
        response = socket.call(method, [])
        assert response.get("error", {}).get("code") != -32601, method
    assert socket.call("state_subscribeNothing", [])["error"] == {"code": -32601, "message": "Method not found"}


def test_a_higher_tip_usurps_a_pooled_transaction_with_the_same_nonce(
    socket: Socket, substrate: SubstrateInterface
) -> None:
    charlie = keypair("Charlie")
    nonce = substrate.get_account_nonce(charlie.ss58_address)

    def remark(text: str, tx_nonce: int, tip: int) -> str:
        call = substrate.compose_call("System", "remark", {"remark": "0x" + text.encode().hex()})
        return str(substrate.create_signed_extrinsic(call, charlie, nonce=tx_nonce, tip=tip).data)

    # A future nonce keeps both in the pool until the gap is filled.
    first = socket.call("author_submitAndWatchExtrinsic", [remark("a", nonce + 1, 0)])["result"]
    assert socket.notification(first)["params"]["result"] == "future"
    second = socket.call("author_submitAndWatchExtrinsic", [remark("b", nonce + 1, 5)])["result"]
    assert socket.notification(second)["params"]["result"] == "future"
    usurped = socket.notification(first)["params"]["result"]
    pending = rpc(substrate, "author_pendingExtrinsics", [])["result"]
    assert list(usurped) == ["usurped"] and len(pending) == 1
    low = socket.call("author_submitExtrinsic", [remark("c", nonce + 1, 1)])["error"]
    assert low["code"] == 1014 and low["message"] == "Priority is too low: (5 vs 1)"

    socket.call("author_submitExtrinsic", [remark("gap", nonce, 0)])
    assert socket.notification(second)["params"]["result"] == "ready"
    assert list(socket.notification(second)["params"]["result"]) == ["inBlock"]
