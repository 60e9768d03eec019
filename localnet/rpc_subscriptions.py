"""The legacy JSON-RPC pub-sub methods of a Substrate node: heads, runtime version, storage and watched extrinsics.

Like Substrate, a subscription first answers with its id, then sends the current value (head, runtime
version, requested storage) and afterwards one notification per change.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any, Protocol

from localnet.blocks import Block, hex0x
from localnet.chain import Chain
from localnet.rpc_errors import RpcError
from localnet.rpc_methods import parse_hex
from localnet.runtime_api import runtime_version


class Connection(Protocol):
    """What a subscription needs of the client connection it belongs to."""

    cleanups: dict[str, Callable[[], None]]

    def send(self, message: dict[str, Any]) -> None: ...

    def notify(self, method: str, sub_id: str, result: Any) -> None: ...


Handler = Callable[[Connection, list[Any], Any], None]

# subscribe method -> (notification method, unsubscribe method, which heads)
HEAD_SUBSCRIPTIONS = {
    "chain_subscribeNewHeads": ("chain_newHead", "chain_unsubscribeNewHeads", "head"),
    "chain_subscribeNewHead": ("chain_newHead", "chain_unsubscribeNewHead", "head"),
    "chain_subscribeAllHeads": ("chain_allHead", "chain_unsubscribeAllHeads", "head"),
    "chain_subscribeFinalizedHeads": ("chain_finalizedHead", "chain_unsubscribeFinalizedHeads", "finalized"),
    "chain_subscribeFinalisedHeads": ("chain_finalizedHead", "chain_unsubscribeFinalisedHeads", "finalized"),
}
RUNTIME_VERSION_SUBSCRIPTIONS = {
    "state_subscribeRuntimeVersion": "state_unsubscribeRuntimeVersion",
    "chain_subscribeRuntimeVersion": "chain_unsubscribeRuntimeVersion",
}
UNSUBSCRIBE = {
    *(unsub for _, unsub, _ in HEAD_SUBSCRIPTIONS.values()),
    *RUNTIME_VERSION_SUBSCRIPTIONS.values(),
    "state_unsubscribeStorage",
    "author_unwatchExtrinsic",
}
_FINAL_STATUSES = ("finalized", "usurped", "finalityTimeout")


def _storage_keys(params: list[Any]) -> list[bytes] | None:
    keys = params[0] if params else None
    if keys is None:
        return None
    if not isinstance(keys, list):
        raise RpcError(-32602, "Invalid params")
    return [parse_hex(key, "storage key") for key in keys]


class Subscriptions:
    """Subscribe/unsubscribe method name → handler(connection, params, request id)."""

    def __init__(self, chain: Chain) -> None:
        self.chain = chain
        self.table: dict[str, Handler] = {
            **{name: self._heads(name) for name in HEAD_SUBSCRIPTIONS},
            **{name: self._runtime_version for name in RUNTIME_VERSION_SUBSCRIPTIONS},
            "state_subscribeStorage": self._storage,
            "author_submitAndWatchExtrinsic": self._submit_and_watch,
            **{name: self._unsubscribe for name in UNSUBSCRIBE},
        }

    @staticmethod
    def _start(conn: Connection, req_id: Any, cleanup: Callable[[], None]) -> str:
        sub_id = secrets.token_hex(8)
        conn.cleanups[sub_id] = cleanup
        conn.send({"jsonrpc": "2.0", "result": sub_id, "id": req_id})
        return sub_id

    @staticmethod
    def _unsubscribe(conn: Connection, params: list[Any], req_id: Any) -> None:
        cleanup = conn.cleanups.pop(str(params[0]), None) if params else None
        if cleanup is not None:
            cleanup()
        conn.send({"jsonrpc": "2.0", "result": cleanup is not None, "id": req_id})

    def _heads(self, method: str) -> Handler:
        notification, _, kind = HEAD_SUBSCRIPTIONS[method]
        listeners = self.chain.head_listeners if kind == "head" else self.chain.finalized_listeners

        def subscribe(conn: Connection, params: list[Any], req_id: Any) -> None:
            def listener(block: Block) -> None:
                conn.notify(notification, sub_id, block.header_json())

            listeners.append(listener)
            sub_id = self._start(conn, req_id, lambda: listeners.remove(listener) if listener in listeners else None)
            listener(self.chain.best if kind == "head" else self.chain.blocks[self.chain.finalized])

        return subscribe

    def _runtime_version(self, conn: Connection, params: list[Any], req_id: Any) -> None:
        # The runtime is never upgraded here, so the current version is the only notification.
        sub_id = self._start(conn, req_id, lambda: None)
        conn.notify("state_runtimeVersion", sub_id, runtime_version())

    def _storage(self, conn: Connection, params: list[Any], req_id: Any) -> None:
        keys = _storage_keys(params)

        def listener(block: Block) -> None:
            changes = self._changes(block, keys)
            if changes:
                conn.notify("state_storage", sub_id, {"block": hex0x(block.hash), "changes": changes})

        listeners = self.chain.head_listeners
        listeners.append(listener)
        sub_id = self._start(conn, req_id, lambda: listeners.remove(listener) if listener in listeners else None)
        if keys:
            best, state = self.chain.best, self.chain.state_at(self.chain.best.hash)
            initial = [[hex0x(key), None if key not in state else hex0x(state[key])] for key in keys]
            conn.notify("state_storage", sub_id, {"block": hex0x(best.hash), "changes": initial})

    def _changes(self, block: Block, keys: list[bytes] | None) -> list[list[str | None]]:
        """The requested keys (every key when None) whose value differs from the parent block's."""
        state = self.chain.state_at(block.hash)
        parent = self.chain.state_at(block.parent_hash)
        wanted = sorted(set(state) | set(parent)) if keys is None else keys
        changed = [key for key in wanted if state.get(key) != parent.get(key)]
        return [[hex0x(key), None if key not in state else hex0x(state[key])] for key in changed]

    def _submit_and_watch(self, conn: Connection, params: list[Any], req_id: Any) -> None:
        tx_hash, status = self.chain.submit(parse_hex(params[0] if params else None, "extrinsic"))

        def listener(update: Any) -> None:
            conn.notify("author_extrinsicUpdate", sub_id, update)
            ended = update in ("invalid", "dropped") or (isinstance(update, dict) and update.keys() & _FINAL_STATUSES)
            if ended:
                conn.cleanups.pop(sub_id, None)
                self.chain.unwatch(tx_hash, listener)

        self.chain.watch(tx_hash, listener)
        sub_id = self._start(conn, req_id, lambda: self.chain.unwatch(tx_hash, listener))
        conn.notify("author_extrinsicUpdate", sub_id, status)
        self.chain.promote(self.chain.pool[tx_hash].xt.signer)
