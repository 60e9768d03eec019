"""One ``chainHead_v1_follow`` subscription: its events, pinned blocks and operations (body, call, storage)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from localnet.blocks import Block, hex0x
from localnet.chain import STATE_PRUNING, Chain, StateDiscarded
from localnet.chain_head_storage import StoragePages, StorageQuery
from localnet.rpc_errors import RpcError
from localnet.rpc_subscriptions import Connection
from localnet.runtime_api import call_runtime_api, runtime_version

FOLLOW_EVENT = "chainHead_v1_followEvent"
# Substrate's limits (sc-rpc-spec-v2): operations per subscription (the spec's minimum is 16) and the
# finalized blocks reported by `initialized`.
MAX_OPERATIONS = 16
MAX_INITIAL_FINALIZED = 16
INVALID_BLOCK = RpcError(-32801, "Invalid block hash")
LIMIT_REACHED = {"result": "limitReached"}


def runtime_spec() -> dict[str, Any]:
    """The spec's ``RuntimeSpec`` from the same runtime version ``state_getRuntimeVersion`` serves."""
    version = runtime_version()
    spec = {k: version[k] for k in ("specName", "implName", "specVersion", "implVersion", "transactionVersion")}
    return spec | {"apis": {api: number for api, number in version["apis"]}}


@dataclass
class _Operation:
    slots: int
    pages: StoragePages | None = None
    waiting: bool = False


class FollowSubscription:
    """Reports the chain from its latest finalized block on, and serves operations on the blocks it pinned.

    ``on_end`` is invoked once when the subscription ends (unfollowed, stopped by the node, or disconnected).
    """

    def __init__(
        self, chain: Chain, conn: Connection, with_runtime: bool, on_end: Callable[[FollowSubscription], None]
    ) -> None:
        self.id = secrets.token_hex(8)
        self.chain = chain
        self.conn = conn
        self.with_runtime = with_runtime
        self.on_end = on_end
        self.pinned: set[bytes] = set()
        self.operations: dict[str, _Operation] = {}
        self.alive = True

    # -- events ----------------------------------------------------------------------------------------
    def _event(self, name: str, **fields: Any) -> None:
        self.conn.notify(FOLLOW_EVENT, self.id, {"event": name, **fields})

    def start(self) -> None:
        """Send ``initialized``, a ``newBlock`` for each unfinalized block and the best block, then follow."""
        chain = self.chain
        first = max(0, chain.finalized - MAX_INITIAL_FINALIZED + 1)
        finalized = [chain.blocks[n] for n in range(first, chain.finalized + 1)]
        self.pinned.update(b.hash for b in finalized)
        runtime = {"finalizedBlockRuntime": self._runtime()} if self.with_runtime else {}
        self._event("initialized", finalizedBlockHashes=[hex0x(b.hash) for b in finalized], **runtime)
        for number in range(chain.finalized + 1, chain.best.number + 1):
            self._new_block(chain.blocks[number])
        self._event("bestBlockChanged", bestBlockHash=hex0x(chain.best.hash))
        chain.head_listeners.append(self.on_new_block)
        chain.finalized_listeners.append(self.on_finalized)

    def _runtime(self) -> dict[str, Any]:
        return {"type": "valid", "spec": runtime_spec()}

    def _new_block(self, block: Block) -> None:
        self.pinned.add(block.hash)
        # The localnet's runtime never changes after genesis, so no block brings a new one.
        runtime = {"newRuntime": None} if self.with_runtime else {}
        self._event("newBlock", blockHash=hex0x(block.hash), parentBlockHash=hex0x(block.parent_hash), **runtime)

    def on_new_block(self, block: Block) -> None:
        oldest = min((self.chain.hashes[h] for h in self.pinned), default=block.number)
        if oldest <= block.number - STATE_PRUNING:
            # A block pinned this long would lose its state; Substrate likewise stops subscriptions that hold
            # blocks past its pinning limits.
            self.stop()
            return
        self._new_block(block)
        self._event("bestBlockChanged", bestBlockHash=hex0x(block.hash))

    def on_finalized(self, block: Block) -> None:
        # Single-author chain: no forks, so finality never prunes a block.
        self._event("finalized", finalizedBlockHashes=[hex0x(block.hash)], prunedBlockHashes=[])

    def stop(self) -> None:
        """End the subscription from the node's side with a ``stop`` event."""
        if self.alive:
            self._event("stop")
            self.end()

    def end(self) -> None:
        if not self.alive:
            return
        self.alive = False
        for listeners, listener in (
            (self.chain.head_listeners, self.on_new_block),
            (self.chain.finalized_listeners, self.on_finalized),
        ):
            if listener in listeners:
                listeners.remove(listener)
        self.pinned.clear()
        self.operations.clear()
        self.on_end(self)

    # -- pinning ---------------------------------------------------------------------------------------
    def pinned_block(self, block_hash: bytes) -> Block:
        block = self.chain.block_by_hash(block_hash)
        if block_hash not in self.pinned or block is None:
            raise INVALID_BLOCK
        return block

    def unpin(self, hashes: list[bytes]) -> None:
        if len(set(hashes)) != len(hashes):
            raise RpcError(-32804, "Received duplicate hashes for the `chainHead_unpin` method")
        if any(h not in self.pinned for h in hashes):
            raise INVALID_BLOCK
        self.pinned.difference_update(hashes)

    # -- operations ------------------------------------------------------------------------------------
    def _free_slots(self) -> int:
        return MAX_OPERATIONS - sum(op.slots for op in self.operations.values())

    def _start(self, slots: int) -> str:
        operation_id = secrets.token_hex(4)
        self.operations[operation_id] = _Operation(slots)
        return operation_id

    def _done(self, operation_id: str, event: str, **fields: Any) -> None:
        self.operations.pop(operation_id, None)
        self._event(event, operationId=operation_id, **fields)

    def body(self, block: Block, respond: Callable[[Any], None]) -> None:
        if self._free_slots() < 1:
            return respond(LIMIT_REACHED)
        op = self._start(1)
        respond({"result": "started", "operationId": op})
        self._done(op, "operationBodyDone", value=[hex0x(x) for x in block.extrinsics])

    def call(self, block: Block, function: str, data: bytes, respond: Callable[[Any], None]) -> None:
        if not self.with_runtime:
            raise RpcError(-32602, "Invalid parameter: The runtime updates flag must be set")
        if self._free_slots() < 1:
            return respond(LIMIT_REACHED)
        op = self._start(1)
        respond({"result": "started", "operationId": op})
        try:
            output = call_runtime_api(self.chain, block, function, data)
        except RpcError as exc:
            # The event carries the executor's error, without the legacy RPC's "Client error: " wrapping.
            return self._done(op, "operationError", error=exc.message.removeprefix("Client error: "))
        self._done(op, "operationCallDone", output=hex0x(output))

    def storage(self, block: Block, queries: list[StorageQuery], respond: Callable[[Any], None]) -> None:
        accepted = min(len(queries), self._free_slots())
        if accepted == 0 and queries:
            return respond(LIMIT_REACHED)
        op = self._start(accepted)
        respond({"result": "started", "operationId": op, "discardedItems": len(queries) - accepted})
        try:
            state = self.chain.state_at(block.hash)
        except StateDiscarded:
            return self._done(op, "operationInaccessible")
        self.operations[op].pages = StoragePages(state, queries[:accepted])
        self._send_page(op)

    def _send_page(self, operation_id: str) -> None:
        operation = self.operations[operation_id]
        assert operation.pages is not None
        items, more = operation.pages.next_page()
        if items:
            self._event("operationStorageItems", operationId=operation_id, items=items)
        if more:
            operation.waiting = True
            self._event("operationWaitingForContinue", operationId=operation_id)
        else:
            self._done(operation_id, "operationStorageDone")

    def resume(self, operation_id: str) -> None:
        """``chainHead_v1_continue``: an unknown operation is ignored, one that is not waiting is an error."""
        operation = self.operations.get(operation_id)
        if operation is None:
            return
        if not operation.waiting:
            raise RpcError(-32803, "Wait for continue event was not generated for the subscription")
        operation.waiting = False
        self._send_page(operation_id)

    def stop_operation(self, operation_id: str) -> None:
        self.operations.pop(operation_id, None)
