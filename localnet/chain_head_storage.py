"""``chainHead_v1_storage`` queries: the items a query yields, in pages separated by ``continue``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from substrateinterface.utils.hasher import blake2_256

from localnet.blocks import hex0x
from localnet.rpc_errors import RpcError
from localnet.storage import state_root

QUERY_TYPES = ("value", "hash", "closestDescendantMerkleValue", "descendantsValues", "descendantsHashes")
# Substrate's `operation_max_storage_items`: items reported before the client must call chainHead_v1_continue.
MAX_STORAGE_ITEMS = 5


@dataclass(frozen=True)
class StorageQuery:
    key: bytes
    type: str


def parse_hex_param(value: Any) -> bytes:
    """A hex parameter as Substrate parses it: an empty string is empty bytes, anything else must be hex."""
    if not isinstance(value, str):
        raise RpcError(-32602, "Invalid params")
    if value == "":
        return b""
    digits = value.removeprefix("0x")
    try:
        return bytes.fromhex(digits)
    except ValueError as exc:
        raise RpcError(-32602, f"Invalid parameter: {value}") from exc


def parse_queries(items: Any) -> list[StorageQuery]:
    if not isinstance(items, list):
        raise RpcError(-32602, "Invalid params")
    queries = []
    for item in items:
        if not isinstance(item, dict) or item.get("type") not in QUERY_TYPES:
            raise RpcError(-32602, "Invalid params")
        queries.append(StorageQuery(parse_hex_param(item.get("key")), str(item["type"])))
    return queries


def _hash(value: bytes) -> str:
    return hex0x(bytes(blake2_256(value)))


def _items(state: dict[bytes, bytes], query: StorageQuery) -> Iterator[dict[str, str]]:
    key = hex0x(query.key)
    if query.type in ("value", "hash"):
        value = state.get(query.key)
        if value is not None:
            yield {"key": key, query.type: hex0x(value) if query.type == "value" else _hash(value)}
        return
    descendants = sorted(k for k in state if k.startswith(query.key))
    if query.type == "closestDescendantMerkleValue":
        # The localnet's state is not a trie; its root (storage.state_root) commits to every key/value pair,
        # and the same commitment over the subtree under `key` changes exactly when a descendant changes.
        if descendants:
            merkle = state_root({k: state[k] for k in descendants})
            yield {"key": key, "closestDescendantMerkleValue": hex0x(merkle)}
        return
    for descendant in descendants:
        value = state[descendant]
        if query.type == "descendantsValues":
            yield {"key": hex0x(descendant), "value": hex0x(value)}
        else:
            yield {"key": hex0x(descendant), "hash": _hash(value)}


@dataclass
class StoragePages:
    """The items of one storage operation; ``next_page`` returns up to ``MAX_STORAGE_ITEMS`` of them."""

    state: dict[bytes, bytes]
    queries: list[StorageQuery]
    _pending: Iterator[dict[str, str]] | None = field(default=None, init=False)
    _peeked: list[dict[str, str]] = field(default_factory=list, init=False)

    def _stream(self) -> Iterator[dict[str, str]]:
        for query in self.queries:
            yield from _items(self.state, query)

    def next_page(self) -> tuple[list[dict[str, str]], bool]:
        """The next items and whether more remain after them."""
        if self._pending is None:
            self._pending = self._stream()
        page = self._peeked
        self._peeked = []
        for item in self._pending:
            if len(page) == MAX_STORAGE_ITEMS:
                self._peeked = [item]
                return page, True
            page.append(item)
        return page, False
