"""``Core_execute_block`` and ``Core_initialize_block``: a block re-executed on its parent's state.

Like frame-executive, execution checks the parent hash, applies every extrinsic (the timestamp inherent
and signed transactions, each validated again), and then the extrinsics root and the state root the
header claims; any mismatch is a runtime panic. Nothing is kept: ``state_call`` discards the changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from localnet.blocks import Block, extrinsics_root
from localnet.extrinsics import INVALID_VARIANTS, Reader, TransactionError, decode_extrinsic
from localnet.runtime import BlockBuilder, BlockHashLookup, validate
from localnet.storage import Overlay, state_root

# DigestItem variants carrying (engine id, payload), one payload only, and none (sp_runtime's digest).
_ENGINE_ITEMS = {4, 5, 6}
_PAYLOAD_ITEMS = {0}
_EMPTY_ITEMS = {8}


class BlockExecutionFailed(Exception):
    """The runtime panicked while executing a block; the message is the panic's."""


@dataclass(frozen=True)
class ExecutionContext:
    """What re-execution needs of the chain: the state and block it runs on, and how to look up hashes."""

    parent: Block
    state: dict[bytes, bytes]
    genesis: bytes
    block_hash: BlockHashLookup


def _digest_item(r: Reader) -> bytes:
    start = r.pos
    kind = r.take(1)[0]
    if kind in _ENGINE_ITEMS:
        r.take(4)
    if kind in _ENGINE_ITEMS | _PAYLOAD_ITEMS:
        r.take(r.compact())
    elif kind not in _EMPTY_ITEMS:
        raise ValueError("Could not decode `DigestItem`, variant doesn't exist")
    return r.data[start : r.pos]


def read_header(r: Reader) -> Block:
    """A SCALE ``Header`` as a ``Block`` without extrinsics."""
    parent_hash, number = r.take(32), r.compact()
    roots = r.take(32), r.take(32)
    logs = [_digest_item(r) for _ in range(r.compact())]
    return Block(number, parent_hash, roots[0], roots[1], logs, [])


def read_block(r: Reader) -> Block:
    """A SCALE ``Block``: its header and its extrinsics (each kept with its length prefix)."""
    block = read_header(r)
    for _ in range(r.compact()):
        start, length = r.pos, r.compact()
        r.take(length)
        block.extrinsics.append(r.data[start : r.pos])
    return block


def _apply(builder: BlockBuilder, ctx: ExecutionContext, raw: bytes) -> None:
    xt = decode_extrinsic(raw)
    if xt.signer is None and xt.module == "Timestamp":
        builder.apply_timestamp(int(xt.args["now"]))
        return
    try:
        ready = validate(builder.state, xt, builder.number, ctx.genesis, ctx.block_hash)
    except TransactionError as exc:
        raise BlockExecutionFailed(f"Invalid({INVALID_VARIANTS[str(exc.data)][1]})") from exc
    if not ready:
        raise BlockExecutionFailed("Invalid(Future)")
    if not builder.apply_signed(xt):
        raise BlockExecutionFailed("Invalid(Payment)")


def execute_block(ctx: ExecutionContext, block: Block) -> None:
    """Re-execute ``block`` on the state of ``ctx.parent``; raises ``BlockExecutionFailed`` as the runtime panics."""
    if block.parent_hash != ctx.parent.hash or block.number != ctx.parent.number + 1:
        raise BlockExecutionFailed("Parent hash should be valid.")
    state = dict(ctx.state)
    overlay = Overlay(state)
    builder = BlockBuilder(overlay, block.number)
    builder.initialize(block.parent_hash)
    for raw in block.extrinsics:
        _apply(builder, ctx, raw)
    builder.finalize()
    overlay.commit()
    if extrinsics_root(builder.extrinsics) != block.extrinsics_root:
        raise BlockExecutionFailed("Transaction trie root must be valid.")
    if state_root(state) != block.state_root:
        raise BlockExecutionFailed("Storage root must match that calculated.")
