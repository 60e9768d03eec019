"""``LocalnetNode``: the chain, its RPC server, the block timer and optional persistence."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from localnet.blocks import Block, hex0x
from localnet.chain import Chain
from localnet.persistence import SqliteStore
from localnet.rpc import RpcServer


class LocalnetNode:
    """A development chain served over WebSocket JSON-RPC.

    ``block_time`` seconds between sealed blocks (0: only ``seal_block``/``engine_createBlock``);
    finality trails the best block by ``finality_lag``; ``base_path`` makes the chain durable.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 9944,
        block_time: float = 1.0,
        finality_lag: int = 2,
        base_path: Path | str | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.block_time = block_time
        self.store = SqliteStore(Path(base_path)) if base_path is not None else None
        self.chain = Chain(finality_lag=finality_lag, store=self.store)
        if self.store is not None:
            if self.store.is_empty():
                self.store.init_genesis(self.chain.blocks[0], self.chain.states[0])
            else:
                self.chain.restore(*self.store.load())
        self.rpc = RpcServer(self.chain, lambda finalize: self.seal_block(finalize=finalize))
        self._timer: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    @property
    def genesis_hash(self) -> str:
        return hex0x(self.chain.genesis_hash)

    async def start(self) -> None:
        """Serve RPC (resolving port 0 to the bound port) and start the block timer."""
        self.port = await self.rpc.start(self.host, self.port)
        if self.block_time > 0:
            self._timer = asyncio.create_task(self._produce())

    async def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
            self._timer = None
        await self.rpc.stop()
        if self.store is not None:
            self.store.close()
            self.store = None

    def seal_block(self, finalize: bool = False) -> Block:
        """Seal a block now with the ready pool transactions."""
        return self.chain.seal(finalize=finalize)

    async def _produce(self) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time() + self.block_time
        while True:
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            next_at += self.block_time
            self.seal_block()
