"""The chain: blocks, per-block state, the transaction pool, sealing and finality."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from substrateinterface.utils.hasher import blake2_256

from localnet.blocks import Block, aura_pre_digest, extrinsics_root, hex0x
from localnet.extrinsics import TransactionError, decode_extrinsic
from localnet.genesis import genesis_block, genesis_state
from localnet.pallets import system
from localnet.runtime import BlockBuilder, priority_for, validate
from localnet.storage import Overlay, state_root

STATE_PRUNING = 256
Listener = Callable[[Any], None]


class BlockStore(Protocol):
    def save_block(
        self, block: Block, changes: dict[bytes, bytes | None], undo: dict[bytes, bytes | None], finalized: int
    ) -> None: ...

    def save_finalized(self, finalized: int) -> None: ...


@dataclass
class PoolTx:
    xt: Any
    arrival: int
    ready: bool


class StateDiscarded(Exception):
    """State of an old block was pruned (a real node answers the same for pruned state)."""


class Chain:
    """Single-author chain with instant sealing; callbacks fire for heads, finality and tx status."""

    def __init__(self, finality_lag: int = 2, store: BlockStore | None = None) -> None:
        state = genesis_state()
        genesis = genesis_block(state)
        self.finality_lag = finality_lag
        self.store = store
        self.blocks: list[Block] = [genesis]
        self.hashes: dict[bytes, int] = {genesis.hash: 0}
        self.states: dict[int, dict[bytes, bytes]] = {0: state}
        self.finalized = 0
        self.pool: dict[bytes, PoolTx] = {}
        self._arrivals = 0
        self.head_listeners: list[Listener] = []
        self.finalized_listeners: list[Listener] = []
        self.watchers: dict[bytes, list[Listener]] = {}

    # -- restore -------------------------------------------------------------------------------
    def restore(self, blocks: list[Block], states: dict[int, dict[bytes, bytes]], finalized: int) -> None:
        """Replace the in-memory chain by persisted blocks and the states of the latest blocks."""
        if blocks[0].hash != self.genesis_hash:
            raise ValueError("persisted chain has a different genesis")
        self.blocks = blocks
        self.hashes = {b.hash: b.number for b in blocks}
        if state_root(states[blocks[-1].number]) != blocks[-1].state_root:
            raise ValueError("persisted state does not match the head block's state root")
        self.states = states
        self.finalized = finalized

    # -- queries -------------------------------------------------------------------------------
    @property
    def genesis_hash(self) -> bytes:
        return self.blocks[0].hash

    @property
    def best(self) -> Block:
        return self.blocks[-1]

    def block_by_hash(self, block_hash: bytes) -> Block | None:
        number = self.hashes.get(block_hash)
        return None if number is None else self.blocks[number]

    def hash_of(self, number: int) -> bytes | None:
        return self.blocks[number].hash if 0 <= number < len(self.blocks) else None

    def state_at(self, block_hash: bytes | None) -> dict[bytes, bytes]:
        number = self.best.number if block_hash is None else self.hashes.get(block_hash)
        if number is None:
            raise KeyError("unknown block")
        if number not in self.states:
            raise StateDiscarded(hex0x(block_hash or b""))
        return self.states[number]

    def next_nonce(self, account: str) -> int:
        """On-chain nonce advanced over the account's contiguous ready pool transactions."""
        nonce = system.nonce(Overlay(self.states[self.best.number]), account)
        pending = {tx.xt.nonce for tx in self.pool.values() if tx.xt.signer == account}
        while nonce in pending:
            nonce += 1
        return nonce

    # -- pool ----------------------------------------------------------------------------------
    def _notify(self, tx_hash: bytes, status: Any) -> None:
        for listener in list(self.watchers.get(tx_hash, [])):
            listener(status)

    def submit(self, raw: bytes) -> tuple[bytes, str]:
        """Validate and queue an extrinsic; returns its hash and "ready" or "future"."""
        xt = decode_extrinsic(raw)
        if xt.hash in self.pool:
            raise TransactionError(1013, "Transaction Already Imported", None)
        # Like a node's pool: the runtime validates first, then the pool compares it with what it holds.
        state = Overlay(self.states[self.best.number])
        ready = validate(state, xt, self.best.number + 1, self.genesis_hash, self.hash_of)
        self._replace(xt)
        if not ready and xt.nonce == self.next_nonce(xt.signer or ""):
            ready = True
        self._arrivals += 1
        self.pool[xt.hash] = PoolTx(xt, self._arrivals, ready)
        return xt.hash, "ready" if ready else "future"

    def _replace(self, xt: Any) -> None:
        """A transaction with the same sender and nonce is replaced by one of higher priority (its watchers
        see ``usurped``), else the newcomer is refused."""
        other = next((t.xt for t in self.pool.values() if (t.xt.signer, t.xt.nonce) == (xt.signer, xt.nonce)), None)
        if other is None:
            return
        if priority_for(xt) <= priority_for(other):
            raise TransactionError(
                1014,
                f"Priority is too low: ({priority_for(other)} vs {priority_for(xt)})",
                "The transaction has too low priority to replace another transaction already in the pool.",
            )
        del self.pool[other.hash]
        self._notify(other.hash, {"usurped": hex0x(xt.hash)})
        self.watchers.pop(other.hash, None)

    def promote(self, account: str | None) -> None:
        """Mark future transactions whose nonce gap is now filled as ready (and tell their watchers)."""
        nonce = system.nonce(Overlay(self.states[self.best.number]), account or "")
        by_nonce = {tx.xt.nonce: tx for tx in self.pool.values() if tx.xt.signer == account}
        while nonce in by_nonce:
            tx = by_nonce[nonce]
            if not tx.ready:
                tx.ready = True
                self._notify(tx.xt.hash, "ready")
            nonce += 1

    def watch(self, tx_hash: bytes, listener: Listener) -> None:
        self.watchers.setdefault(tx_hash, []).append(listener)

    def unwatch(self, tx_hash: bytes, listener: Listener) -> None:
        listeners = self.watchers.get(tx_hash, [])
        if listener in listeners:
            listeners.remove(listener)

    def pending(self) -> list[bytes]:
        return [tx.xt.raw for tx in sorted(self.pool.values(), key=lambda t: t.arrival)]

    # -- sealing -------------------------------------------------------------------------------
    def seal(self, now_ms: int | None = None, finalize: bool = False) -> Block:
        parent = self.best
        parent_state = self.states[parent.number]
        number = parent.number + 1
        new_state = dict(parent_state)
        overlay = Overlay(new_state)
        builder = BlockBuilder(overlay, number)
        builder.initialize(parent.hash)
        previous = int(overlay.read_or(0, "Timestamp", "Now"))
        now = max(int(time.time() * 1000) if now_ms is None else now_ms, previous + 1)
        builder.apply_timestamp(now)
        included, dropped = self._apply_pool(builder, number)
        builder.finalize()
        changes = dict(overlay.changes)
        overlay.commit()
        self.states[number] = new_state
        block = Block(
            number=number,
            parent_hash=parent.hash,
            state_root=state_root(new_state),
            extrinsics_root=extrinsics_root(builder.extrinsics),
            logs=[aura_pre_digest(now)],
            extrinsics=builder.extrinsics,
        )
        self.blocks.append(block)
        self.hashes[block.hash] = number
        self.states.pop(number - STATE_PRUNING, None)
        target = number if finalize else max(self.finalized, number - self.finality_lag)
        if self.store is not None:
            undo = {key: parent_state.get(key) for key in changes}
            self.store.save_block(block, changes, undo, max(target, self.finalized))
        for listener in list(self.head_listeners):
            listener(block)
        for tx_hash in dropped:
            self._notify(tx_hash, "invalid")
        for tx_hash in included:
            self._notify(tx_hash, {"inBlock": hex0x(block.hash)})
        self.finalize_to(target, persist=False)
        return block

    def _apply_pool(self, builder: BlockBuilder, number: int) -> tuple[list[bytes], list[bytes]]:
        included: list[bytes] = []
        dropped: list[bytes] = []
        progress = True
        while progress:
            progress = False
            for tx in sorted(self.pool.values(), key=lambda t: (t.xt.nonce, t.arrival)):
                xt = tx.xt
                nonce = system.nonce(builder.state, xt.signer)
                if xt.nonce > nonce:
                    continue
                try:
                    validate(builder.state, xt, number, self.genesis_hash, self.hash_of)
                    applied = builder.apply_signed(xt)
                except TransactionError:
                    applied = False
                del self.pool[xt.hash]
                (included if applied else dropped).append(xt.hash)
                progress = True
        return included, dropped

    def finalize_to(self, number: int, persist: bool = True) -> None:
        number = min(number, self.best.number)
        if number <= self.finalized:
            return
        start = self.finalized + 1
        self.finalized = number
        if persist and self.store is not None:
            self.store.save_finalized(number)
        for n in range(start, number + 1):
            block = self.blocks[n]
            for listener in list(self.finalized_listeners):
                listener(block)
            for raw in block.extrinsics:
                tx_hash = bytes(blake2_256(raw))
                self._notify(tx_hash, {"finalized": hex0x(block.hash)})
                self.watchers.pop(tx_hash, None)
