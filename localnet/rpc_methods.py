"""Plain (non-subscription) JSON-RPC methods of a Substrate node, answered from the chain."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from scalecodec.utils.ss58 import ss58_decode

from localnet.blocks import Block, hex0x
from localnet.chain import Chain, StateDiscarded
from localnet.genesis import CHAIN_NAME, PROPERTIES
from localnet.metadata import metadata_bytes
from localnet.rpc_errors import RpcError
from localnet.runtime import fee_of, weight_of
from localnet.runtime_api import call_runtime_api, runtime_version

NODE_NAME = "tangle-localnet"
NODE_VERSION = "0.1.0"


def parse_hex(value: Any, what: str = "hex") -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise RpcError(-32602, f"Invalid params: invalid {what}")
    try:
        return bytes.fromhex(value[2:])
    except ValueError as exc:
        raise RpcError(-32602, f"Invalid params: invalid {what}") from exc


def account_hex(address: str) -> str:
    if address.startswith("0x"):
        return address.lower()
    try:
        return "0x" + str(ss58_decode(address))
    except ValueError as exc:
        raise RpcError(-32602, "Invalid params: invalid account") from exc


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
            "state_getKeysPaged": self.get_keys_paged,
            "state_getKeysPagedAt": self.get_keys_paged,
            "state_queryStorageAt": self.query_storage_at,
            "author_pendingExtrinsics": lambda p: [hex0x(x) for x in self.chain.pending()],
            "payment_queryInfo": self.query_info,
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
        value = params[0]
        number = int(value, 16) if isinstance(value, str) else int(value)
        block_hash = self.chain.hash_of(number)
        return None if block_hash is None else hex0x(block_hash)

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

    def get_storage(self, params: list[Any]) -> str | None:
        key = parse_hex(params[0], "storage key")
        _, state = self._state(params, 1)
        value = state.get(key)
        return None if value is None else hex0x(value)

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

    def query_info(self, params: list[Any]) -> dict[str, Any]:
        raw = parse_hex(params[0], "extrinsic")
        return {
            "weight": weight_of(len(raw)),
            "class": "normal",
            "partialFee": str(fee_of(len(raw), 0)),
        }
