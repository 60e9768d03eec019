"""Plain (non-subscription) JSON-RPC methods of a Substrate node, answered from the chain."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import base58
from scalecodec.utils.ss58 import ss58_decode
from substrateinterface import Keypair, KeypairType
from substrateinterface.utils.hasher import blake2_256

from localnet.blocks import Block, hex0x
from localnet.chain import Chain, StateDiscarded
from localnet.extrinsics import Extrinsic, UndecodableExtrinsic, decode_extrinsic
from localnet.genesis import CHAIN_NAME, PROPERTIES
from localnet.metadata import metadata_bytes
from localnet.rpc_errors import RpcError
from localnet.runtime_api import call_runtime_api, dispatch_info, fee_details, runtime_version

NODE_NAME = "tangle-localnet"
NODE_VERSION = "0.1.0"
# The libp2p identity of node key 0x00..01 (what `--node-key` with that key gives): an identity multihash of the
# protobuf-encoded ed25519 public key, in base58.
_NODE_KEY = Keypair.create_from_seed("0x" + "00" * 31 + "01", crypto_type=KeypairType.ED25519)
LOCAL_PEER_ID = base58.b58encode(b"\x00\x24\x08\x01\x12\x20" + bytes(_NODE_KEY.public_key)).decode()


def parse_hex(value: Any, what: str = "hex") -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise RpcError(-32602, "Invalid params", f"invalid {what}: expected a 0x-prefixed hex string")
    try:
        return bytes.fromhex(value[2:])
    except ValueError as exc:
        raise RpcError(-32602, "Invalid params", f"invalid {what}: {exc}") from exc


def account_hex(address: str) -> str:
    if address.startswith("0x"):
        return address.lower()
    try:
        return "0x" + str(ss58_decode(address))
    except ValueError as exc:
        raise RpcError(-32602, "Invalid params", f"invalid account: {exc}") from exc


class Methods:
    """Method name → handler; handlers receive the JSON params list."""

    def __init__(self, chain: Chain) -> None:
        self.chain = chain
        self.table: dict[str, Callable[[list[Any]], Any]] = {
            "system_name": lambda p: NODE_NAME,
            "system_version": lambda p: NODE_VERSION,
            "system_chain": lambda p: CHAIN_NAME,
            "system_chainType": lambda p: "Development",
            "system_properties": lambda p: PROPERTIES,
            "system_health": lambda p: {"peers": 0, "isSyncing": False, "shouldHavePeers": False},
            "system_localPeerId": lambda p: LOCAL_PEER_ID,
            # No libp2p networking: no peers, and no addresses listened on.
            "system_peers": lambda p: [],
            "system_localListenAddresses": lambda p: [],
            "system_nodeRoles": lambda p: ["Authority"],
            "system_syncState": self.sync_state,
            "system_accountNextIndex": self.account_next_index,
            "chain_getBlockHash": self.get_block_hash,
            "chain_getHead": self.get_block_hash,
            "chain_getHeader": lambda p: self._maybe_block(p, Block.header_json),
            "chain_getBlock": lambda p: self._maybe_block(p, Block.block_json),
            "chain_getFinalizedHead": self.finalized_head,
            "chain_getFinalisedHead": self.finalized_head,
            "state_getRuntimeVersion": self.runtime_version,
            "chain_getRuntimeVersion": self.runtime_version,
            "state_getMetadata": self.get_metadata,
            "state_call": self.state_call,
            "state_callAt": self.state_call,
            "state_getStorage": self.get_storage,
            "state_getStorageAt": self.get_storage,
            "state_getStorageHash": lambda p: self._storage_value(p, lambda v: hex0x(bytes(blake2_256(v)))),
            "state_getStorageHashAt": lambda p: self._storage_value(p, lambda v: hex0x(bytes(blake2_256(v)))),
            "state_getStorageSize": lambda p: self._storage_value(p, len),
            "state_getStorageSizeAt": lambda p: self._storage_value(p, len),
            "state_getKeys": self.get_keys,
            "state_getPairs": self.get_pairs,
            "state_getKeysPaged": self.get_keys_paged,
            "state_getKeysPagedAt": self.get_keys_paged,
            "state_queryStorageAt": self.query_storage_at,
            "author_pendingExtrinsics": lambda p: [hex0x(x) for x in self.chain.pending()],
            "payment_queryInfo": self.query_info,
            "payment_queryFeeDetails": self.query_fee_details,
        }

    def _block(self, params: list[Any], index: int = 0) -> Block:
        if len(params) <= index or params[index] is None:
            return self.chain.best
        block = self.chain.block_by_hash(parse_hex(params[index], "block hash"))
        if block is None:
            raise RpcError(4003, f"Client error: UnknownBlock: Header was not found in the database: {params[index]}")
        return block

    def _maybe_block(self, params: list[Any], render: Callable[[Block], Any]) -> Any:
        if params and params[0] is not None:
            block = self.chain.block_by_hash(parse_hex(params[0], "block hash"))
            return None if block is None else render(block)
        return render(self.chain.best)

    def _state(self, params: list[Any], index: int) -> tuple[Block, dict[bytes, bytes]]:
        block = self._block(params, index)
        try:
            return block, self.chain.state_at(block.hash)
        except StateDiscarded as exc:
            raise RpcError(4003, f"Client error: State already discarded for {hex0x(block.hash)}") from exc

    def account_next_index(self, params: list[Any]) -> int:
        return self.chain.next_nonce(account_hex(str(params[0])))

    def get_block_hash(self, params: list[Any]) -> Any:
        if not params or params[0] is None:
            return hex0x(self.chain.best.hash)
        if isinstance(params[0], list):
            return [self._hash_of(value) for value in params[0]]
        return self._hash_of(params[0])

    def _hash_of(self, value: Any) -> str | None:
        """A block number given as a JSON number or as ``0x`` hex (Substrate's ``NumberOrHex``)."""
        if isinstance(value, str) and value.startswith("0x"):
            number = int(value, 16)
        elif isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            number = value
        else:
            raise RpcError(-32602, "Invalid params")
        block_hash = self.chain.hash_of(number)
        return None if block_hash is None else hex0x(block_hash)

    def sync_state(self, params: list[Any]) -> dict[str, int]:
        best = self.chain.best.number
        return {"startingBlock": 0, "currentBlock": best, "highestBlock": best}

    def finalized_head(self, params: list[Any]) -> str:
        return hex0x(self.chain.blocks[self.chain.finalized].hash)

    def runtime_version(self, params: list[Any]) -> dict[str, Any]:
        self._block(params)
        return runtime_version()

    def state_call(self, params: list[Any]) -> str:
        method, data = params[0], parse_hex(params[1], "call data")
        if not isinstance(method, str):
            raise RpcError(-32602, "Invalid params")
        return hex0x(call_runtime_api(self.chain, self._block(params, 2), method, data))

    def get_metadata(self, params: list[Any]) -> str:
        self._block(params)
        return hex0x(metadata_bytes())

    def _storage_value(self, params: list[Any], render: Callable[[bytes], Any]) -> Any:
        key = parse_hex(params[0] if params else None, "storage key")
        _, state = self._state(params, 1)
        value = state.get(key)
        return None if value is None else render(value)

    def get_storage(self, params: list[Any]) -> str | None:
        return self._storage_value(params, hex0x)  # type: ignore[no-any-return]

    def _prefixed(self, params: list[Any]) -> list[tuple[bytes, bytes]]:
        prefix = parse_hex(params[0] if params else None, "prefix")
        _, state = self._state(params, 1)
        return sorted((k, v) for k, v in state.items() if k.startswith(prefix))

    def get_keys(self, params: list[Any]) -> list[str]:
        return [hex0x(k) for k, _ in self._prefixed(params)]

    def get_pairs(self, params: list[Any]) -> list[list[str]]:
        return [[hex0x(k), hex0x(v)] for k, v in self._prefixed(params)]

    def get_keys_paged(self, params: list[Any]) -> list[str]:
        prefix = parse_hex(params[0], "prefix") if params and params[0] is not None else b""
        count = int(params[1]) if len(params) > 1 else 1000
        start = parse_hex(params[2], "start key") if len(params) > 2 and params[2] else b""
        _, state = self._state(params, 3)
        keys = sorted(k for k in state if k.startswith(prefix) and k > start)
        return [hex0x(k) for k in keys[:count]]

    def query_storage_at(self, params: list[Any]) -> list[dict[str, Any]]:
        keys = [parse_hex(k, "storage key") for k in params[0]]
        block, state = self._state(params, 1)
        changes = [[hex0x(k), None if state.get(k) is None else hex0x(state[k])] for k in keys]
        return [{"block": hex0x(block.hash), "changes": changes}]

    def _payment(self, params: list[Any], what: str) -> tuple[Extrinsic, int]:
        raw = parse_hex(params[0] if params else None, "extrinsic")
        self._block(params, 1)
        try:
            return decode_extrinsic(raw), len(raw)
        except UndecodableExtrinsic as exc:
            raise RpcError(2, f"Unable to query {what}.", f'Error {{ cause: None, desc: "{exc.detail}" }}') from exc

    def query_info(self, params: list[Any]) -> dict[str, Any]:
        info = dispatch_info(*self._payment(params, "dispatch info"))
        return {"weight": info["weight"], "class": info["class"].lower(), "partialFee": str(info["partial_fee"])}

    def query_fee_details(self, params: list[Any]) -> dict[str, Any]:
        details = fee_details(*self._payment(params, "fee details"))
        fee = details["inclusion_fee"]
        if fee is not None:
            fee = {
                "baseFee": hex(fee["base_fee"]),
                "lenFee": hex(fee["len_fee"]),
                "adjustedWeightFee": hex(fee["adjusted_weight_fee"]),
            }
        return {"inclusionFee": fee, "tip": hex(details["tip"])}
