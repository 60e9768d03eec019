"""The JSON-RPC spec v2 (chainHead_v1, transaction_v1, chainSpec_v1) over a raw WebSocket, as a client sees it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from substrateinterface import SubstrateInterface
from substrateinterface.utils.hasher import blake2_256, xxh128
from websockets.sync.client import ClientConnection, connect

from localnet.blocks import hex0x
from localnet.chain import STATE_PRUNING
from localnet.chain_head_storage import MAX_STORAGE_ITEMS, StoragePages, StorageQuery, parse_hex_param, parse_queries
from localnet.rpc_errors import RpcError
from localnet.testing import RunningLocalnet, running_localnet
from tests.localnet.conftest import free_balance, keypair

FOLLOW_EVENT = "chainHead_v1_followEvent"
TIMESTAMP_PREFIX = "0x" + bytes(xxh128(b"Timestamp")).hex()
ACCOUNT_PREFIX = "0x" + (bytes(xxh128(b"System")) + bytes(xxh128(b"Account"))).hex()


class RawClient:
    """JSON-RPC requests and subscription notifications on one WebSocket connection."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.next_id = 0
        self.notifications: list[dict[str, Any]] = []

    def _receive(self, timeout: float) -> dict[str, Any]:
        return dict(json.loads(self.ws.recv(timeout=timeout)))

    def request(self, method: str, *params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.ws.send(json.dumps({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": list(params)}))
        while True:
            message = self._receive(10)
            if message.get("id") == self.next_id:
                return message
            self.notifications.append(message)

    def result(self, method: str, *params: Any) -> Any:
        response = self.request(method, *params)
        assert "error" not in response, response
        return response["result"]

    def error(self, method: str, *params: Any) -> dict[str, Any]:
        response = self.request(method, *params)
        assert "error" in response, response
        return dict(response["error"])

    def event(self, sub: str, match: Callable[[dict[str, Any]], bool] = lambda e: True, timeout: float = 10) -> Any:
        """The first (oldest) notification of ``sub`` that ``match``es, waiting for it if needed."""
        deadline = time.monotonic() + timeout
        while True:
            for message in self.notifications:
                params = message.get("params", {})
                if params.get("subscription") == sub and match(params["result"]):
                    self.notifications.remove(message)
                    return params["result"]
            self.notifications.append(self._receive(max(0.01, deadline - time.monotonic())))

    def operation(self, sub: str, started: dict[str, Any]) -> Any:
        assert started["result"] == "started", started
        return self.event(sub, lambda e: e.get("operationId") == started["operationId"])


@pytest.fixture
def client(localnet: RunningLocalnet) -> Iterator[RawClient]:
    with connect(localnet.url, max_size=2**26) as ws:
        yield RawClient(ws)


def follow(client: RawClient, with_runtime: bool = True) -> tuple[str, dict[str, Any]]:
    sub = client.result("chainHead_v1_follow", with_runtime)
    return sub, client.event(sub, lambda e: e["event"] == "initialized")


def test_rpc_methods_lists_the_v2_methods_and_chain_spec_answers(client: RawClient, localnet: RunningLocalnet) -> None:
    methods = client.result("rpc_methods")["methods"]
    for group in ("chainHead_v1_", "transaction_v1_", "chainSpec_v1_"):
        assert any(m.startswith(group) for m in methods)
    assert {"chainHead_v1_follow", "chainHead_v1_unpin", "transaction_v1_broadcast", "transaction_v1_stop"} <= set(
        methods
    )
    assert client.result("chainSpec_v1_chainName") == "Tangle Localnet"
    assert client.result("chainSpec_v1_genesisHash") == localnet.genesis_hash
    assert client.result("chainSpec_v1_properties") == {"ss58Format": 42, "tokenDecimals": 18, "tokenSymbol": "TNT"}


def test_follow_reports_finalized_blocks_new_blocks_best_and_finality(client: RawClient) -> None:
    sub, initialized = follow(client)
    finalized = initialized["finalizedBlockHashes"]
    legacy = client.result("state_getRuntimeVersion")
    spec = initialized["finalizedBlockRuntime"]
    assert spec["type"] == "valid"
    assert spec["spec"] == {
        "specName": legacy["specName"],
        "implName": legacy["implName"],
        "specVersion": legacy["specVersion"],
        "implVersion": legacy["implVersion"],
        "transactionVersion": legacy["transactionVersion"],
        "apis": dict(legacy["apis"]),
    }
    # Each newBlock's parent was reported before it; the best block is one that was reported.
    known = set(finalized)
    for _ in range(4):
        block = client.event(sub, lambda e: e["event"] == "newBlock")
        assert block["parentBlockHash"] in known
        assert block["newRuntime"] is None
        known.add(block["blockHash"])
    best = client.event(sub, lambda e: e["event"] == "bestBlockChanged")
    assert best["bestBlockHash"] in known
    final = client.event(sub, lambda e: e["event"] == "finalized")
    assert set(final["finalizedBlockHashes"]) <= known and final["prunedBlockHashes"] == []
    header = client.result("chainHead_v1_header", sub, final["finalizedBlockHashes"][-1])
    legacy_header = client.result("chain_getHeader", final["finalizedBlockHashes"][-1])
    assert int(legacy_header["number"], 16) > 0
    assert header.startswith(legacy_header["parentHash"])  # a SCALE header starts with its parent hash
    assert hex0x(bytes(blake2_256(bytes.fromhex(header[2:])))) == final["finalizedBlockHashes"][-1]


def test_follow_without_runtime_has_no_runtime_and_refuses_calls(client: RawClient) -> None:
    sub, initialized = follow(client, with_runtime=False)
    assert "finalizedBlockRuntime" not in initialized
    block = client.event(sub, lambda e: e["event"] == "newBlock")
    assert "newRuntime" not in block
    error = client.error("chainHead_v1_call", sub, block["blockHash"], "Core_version", "0x")
    assert error == {"code": -32602, "message": "Invalid parameter: The runtime updates flag must be set"}


def test_body_and_call_are_operations_on_pinned_blocks(client: RawClient) -> None:
    sub, initialized = follow(client)
    block_hash = initialized["finalizedBlockHashes"][-1]
    body = client.operation(sub, client.result("chainHead_v1_body", sub, block_hash))
    assert body["event"] == "operationBodyDone"
    assert body["value"] == client.result("chain_getBlock", block_hash)["block"]["extrinsics"]
    version = client.operation(sub, client.result("chainHead_v1_call", sub, block_hash, "Core_version", "0x"))
    assert version == {
        "event": "operationCallDone",
        "operationId": version["operationId"],
        "output": client.result("state_call", "Core_version", "0x", block_hash),
    }
    missing = client.operation(sub, client.result("chainHead_v1_call", sub, block_hash, "Foo_bar", ""))
    assert missing["event"] == "operationError"
    assert missing["error"] == "Execution failed: Other: Exported method Foo_bar is not found"


def test_unknown_blocks_and_subscriptions(client: RawClient) -> None:
    sub, initialized = follow(client)
    unknown = "0x" + "ab" * 32
    assert client.error("chainHead_v1_header", sub, unknown) == {"code": -32801, "message": "Invalid block hash"}
    assert client.error("chainHead_v1_body", sub, unknown)["code"] == -32801
    assert client.error("chainHead_v1_header", sub, "0x1234")["code"] == -32602
    pinned = initialized["finalizedBlockHashes"][-1]
    assert client.result("chainHead_v1_header", "not-a-subscription", pinned) is None
    assert client.result("chainHead_v1_body", "not-a-subscription", pinned) == {"result": "limitReached"}
    assert client.result("chainHead_v1_storage", "nope", pinned, [{"key": "0x", "type": "value"}], None) == {
        "result": "limitReached"
    }
    assert client.error("chainHead_v1_follow", "yes")["code"] == -32602


def test_unpin_releases_blocks_and_checks_its_hashes(client: RawClient) -> None:
    sub, initialized = follow(client)
    oldest = initialized["finalizedBlockHashes"][0]
    duplicate = client.error("chainHead_v1_unpin", sub, [oldest, oldest])
    assert duplicate == {"code": -32804, "message": "Received duplicate hashes for the `chainHead_unpin` method"}
    assert client.result("chainHead_v1_unpin", sub, [oldest]) is None
    assert client.error("chainHead_v1_unpin", sub, oldest)["code"] == -32801
    assert client.error("chainHead_v1_header", sub, oldest)["code"] == -32801
    block = client.event(sub, lambda e: e["event"] == "newBlock")
    assert client.result("chainHead_v1_unpin", sub, block["blockHash"]) is None  # a single hash is accepted too


def test_storage_values_hashes_and_descendants_paged_with_continue(client: RawClient) -> None:
    sub, initialized = follow(client)
    block_hash = initialized["finalizedBlockHashes"][-1]
    alice_key = client.result("state_getKeysPaged", ACCOUNT_PREFIX, 1, None, block_hash)[0]
    items = [{"key": alice_key, "type": "value"}, {"key": alice_key, "type": "hash"}]
    started = client.result("chainHead_v1_storage", sub, block_hash, items, None)
    assert started["discardedItems"] == 0
    found = client.operation(sub, started)
    value = client.result("state_getStorage", alice_key, block_hash)
    assert found["items"] == [
        {"key": alice_key, "value": value},
        {"key": alice_key, "hash": hex0x(bytes(blake2_256(bytes.fromhex(value[2:]))))},
    ]
    assert client.event(sub, lambda e: e.get("operationId") == started["operationId"])["event"] == (
        "operationStorageDone"
    )

    # Six dev accounts: more than one page of descendants, so the client is asked to continue.
    started = client.result(
        "chainHead_v1_storage", sub, block_hash, [{"key": ACCOUNT_PREFIX, "type": "descendantsValues"}], None
    )
    op = started["operationId"]
    keys: list[str] = []
    while True:
        event = client.event(sub, lambda e: e.get("operationId") == op)
        if event["event"] == "operationStorageItems":
            keys += [item["key"] for item in event["items"]]
        elif event["event"] == "operationWaitingForContinue":
            assert client.result("chainHead_v1_continue", sub, op) is None
        else:
            assert event["event"] == "operationStorageDone"
            break
    assert keys == client.result("state_getKeysPaged", ACCOUNT_PREFIX, 1000, None, block_hash)


def test_continue_stop_operation_and_the_operation_limit(client: RawClient) -> None:
    sub, initialized = follow(client)
    block_hash = initialized["finalizedBlockHashes"][-1]
    started = client.result(
        "chainHead_v1_storage", sub, block_hash, [{"key": ACCOUNT_PREFIX, "type": "descendantsHashes"}], None
    )
    op = started["operationId"]
    client.event(sub, lambda e: e.get("operationId") == op and e["event"] == "operationWaitingForContinue")
    client.notifications.clear()
    assert client.result("chainHead_v1_stopOperation", sub, op) is None
    assert client.result("chainHead_v1_continue", sub, op) is None  # a stopped operation is unknown: ignored
    assert not [n for n in client.notifications if n["params"]["result"].get("operationId") == op]

    # A waiting storage operation holds its items' slots: 16 per subscription, the spec's minimum.
    held = client.result(
        "chainHead_v1_storage", sub, block_hash, [{"key": ACCOUNT_PREFIX, "type": "descendantsValues"}] * 10, None
    )
    client.event(sub, lambda e: e.get("operationId") == held["operationId"] and "Continue" in e["event"])
    more = client.result(
        "chainHead_v1_storage", sub, block_hash, [{"key": TIMESTAMP_PREFIX, "type": "value"}] * 8, None
    )
    assert more["discardedItems"] == 2
    client.result("chainHead_v1_stopOperation", sub, more["operationId"])
    assert client.result("chainHead_v1_body", sub, block_hash)["result"] == "started"


def test_continue_pages_until_done_and_a_finished_operation_is_unknown(client: RawClient) -> None:
    sub, initialized = follow(client)
    block_hash = initialized["finalizedBlockHashes"][-1]
    started = client.result(
        "chainHead_v1_storage", sub, block_hash, [{"key": ACCOUNT_PREFIX, "type": "descendantsValues"}], None
    )
    first = client.event(sub, lambda e: e.get("operationId") == started["operationId"])
    assert first["event"] == "operationStorageItems"
    client.event(sub, lambda e: e.get("operationId") == started["operationId"])  # waiting for continue
    assert client.result("chainHead_v1_continue", sub, started["operationId"]) is None
    client.event(sub, lambda e: e.get("operationId") == started["operationId"])  # the rest of the items
    # Six accounts and five items a page: the second page is the last, so nothing waits any more.
    done = client.event(sub, lambda e: e.get("operationId") == started["operationId"])
    assert done["event"] == "operationStorageDone"
    assert client.result("chainHead_v1_continue", sub, started["operationId"]) is None
    assert client.result("chainHead_v1_stopOperation", sub, started["operationId"]) is None


def test_closest_descendant_merkle_value_changes_with_the_subtree(client: RawClient) -> None:
    sub, initialized = follow(client)
    first = initialized["finalizedBlockHashes"][-1]
    later = client.event(sub, lambda e: e["event"] == "newBlock")["blockHash"]
    query = [{"key": TIMESTAMP_PREFIX, "type": "closestDescendantMerkleValue"}]

    def merkle(block_hash: str) -> str:
        items = client.operation(sub, client.result("chainHead_v1_storage", sub, block_hash, query, None))
        return str(items["items"][0]["closestDescendantMerkleValue"])

    assert merkle(first) == merkle(first)
    assert merkle(first) != merkle(later)  # Timestamp.Now changes every block
    absent = client.result("chainHead_v1_storage", sub, first, [{"key": "0xdeadbeef", "type": "value"}], None)
    assert client.operation(sub, absent)["event"] == "operationStorageDone"  # no item for a missing key


def test_follow_subscriptions_are_limited_per_connection_and_unfollow_ends_one(client: RawClient) -> None:
    subs = [follow(client)[0] for _ in range(4)]
    error = client.error("chainHead_v1_follow", True)
    assert error == {"code": -32800, "message": "Maximum number of chainHead_follow has been reached"}
    assert client.result("chainHead_v1_unfollow", subs[0]) is None
    assert client.result("chainHead_v1_unfollow", subs[0]) is None  # unknown: ignored
    follow(client)
    client.notifications.clear()
    time.sleep(0.6)
    client.result("system_health")
    assert not [n for n in client.notifications if n["params"]["subscription"] == subs[0]]


def test_transaction_broadcast_includes_the_transaction_and_stop_ends_it(
    client: RawClient, substrate: SubstrateInterface
) -> None:
    bob, eve = keypair("Bob"), keypair("Eve")
    before = free_balance(substrate, eve)
    call = substrate.compose_call("Balances", "transfer_keep_alive", {"dest": eve.ss58_address, "value": 10**18})
    extrinsic = str(substrate.create_signed_extrinsic(call, bob).data)
    sub, _ = follow(client)
    operation = client.result("transaction_v1_broadcast", extrinsic)
    assert isinstance(operation, str)
    # Stopping the broadcast does not take the transaction back: it is in the pool and gets included.
    assert client.result("transaction_v1_stop", operation) is None
    assert client.error("transaction_v1_stop", operation) == {"code": -32602, "message": "Invalid operation id"}
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        block = client.event(sub, lambda e: e["event"] == "newBlock")
        body = client.operation(sub, client.result("chainHead_v1_body", sub, block["blockHash"]))
        if extrinsic in body["value"]:
            break
    else:
        pytest.fail("the broadcast transaction was not included")
    time.sleep(1.5)
    assert free_balance(substrate, eve) == before + 10**18


def test_a_transaction_that_cannot_be_valid_is_not_broadcast(client: RawClient, substrate: SubstrateInterface) -> None:
    call = substrate.compose_call("Balances", "transfer_keep_alive", {"dest": keypair("Eve").ss58_address, "value": 1})
    poor = keypair("Alice//v2-empty-account")
    extrinsic = str(substrate.create_signed_extrinsic(call, poor).data)
    operation = client.result("transaction_v1_broadcast", extrinsic)
    assert isinstance(operation, str)  # the spec reports nothing: the node simply does not broadcast it
    assert extrinsic not in client.result("author_pendingExtrinsics")
    assert client.result("transaction_v1_stop", operation) is None  # the operation itself exists until stopped


def test_a_subscription_that_keeps_a_block_pinned_past_the_state_pruning_is_stopped() -> None:
    with running_localnet(block_time=0) as node, connect(node.url, max_size=2**26) as ws:
        client = RawClient(ws)
        sub, initialized = follow(client)
        assert initialized["finalizedBlockHashes"] == [node.genesis_hash]
        for _ in range(STATE_PRUNING - 1):
            client.result("engine_createBlock", True, True)
        client.notifications.clear()
        client.result("engine_createBlock", True, True)
        # Genesis is still pinned and its state would be pruned with this block: the node stops the subscription.
        assert client.event(sub, lambda e: e["event"] in ("newBlock", "stop")) == {"event": "stop"}
        assert client.result("chainHead_v1_header", sub, node.genesis_hash) is None
        _, initialized = follow(client)
        assert node.genesis_hash not in initialized["finalizedBlockHashes"]


# -- the storage query pieces, without a node ---------------------------------------------------------------
def test_storage_pages_hold_five_items_each_in_query_order() -> None:
    state = {bytes([1, n]): bytes([n]) for n in range(12)} | {b"\x02": b"other"}
    pages = StoragePages(state, [StorageQuery(b"\x01", "descendantsHashes"), StorageQuery(b"\x02", "value")])
    sizes, more = [], True
    while more:
        items, more = pages.next_page()
        sizes.append(len(items))
    assert sizes == [MAX_STORAGE_ITEMS, MAX_STORAGE_ITEMS, 3]
    last, _ = StoragePages(state, [StorageQuery(b"\x02", "value")]).next_page()
    assert last == [{"key": "0x02", "value": hex0x(b"other")}]


def test_hex_params_and_query_types_are_checked() -> None:
    assert parse_hex_param("") == b"" and parse_hex_param("0x0102") == b"\x01\x02"
    with pytest.raises(RpcError) as bad_hex:
        parse_hex_param("0xzz")
    assert (bad_hex.value.code, bad_hex.value.message) == (-32602, "Invalid parameter: 0xzz")
    with pytest.raises(RpcError):
        parse_queries([{"key": "0x01", "type": "everything"}])
