"""Talking to a running program: stdin and terminal size."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from engine.agent.protocol import Frame, b64encode
from engine.agent_channel import AgentChannel
from engine.errors import SandboxFailure
from engine.models import Usage

MAX_PENDING_BYTES = 1024 * 1024


class ProgramNotRunning(SandboxFailure):
    """Input or a resize arrived after the program ended (or too much of it before it started)."""


class Interaction:
    """A caller's handle on one execution's program.

    What is sent before the program starts is queued and delivered, in order, when it
    starts; after it ends, sending raises ProgramNotRunning.
    """

    def __init__(self) -> None:
        self._channel: AgentChannel | None = None
        self._usage: Callable[[], tuple[Usage, int]] | None = None
        self._pending: list[Frame] = []
        self._pending_bytes = 0
        self._finished = False
        self._lock = asyncio.Lock()

    @property
    def running(self) -> bool:
        return self._channel is not None

    async def bind(self, channel: AgentChannel, usage: Callable[[], tuple[Usage, int]] | None = None) -> None:
        """Connect to the running program; ``usage`` reads its (usage, elapsed ms) so far."""
        async with self._lock:
            for frame in self._pending:
                await channel.send(frame)
            self._pending.clear()
            self._channel = channel
            self._usage = usage

    def unbind(self) -> None:
        self._channel = None
        self._usage = None
        self._finished = True

    def usage_so_far(self) -> tuple[Usage, int] | None:
        """The running program's resource use and elapsed milliseconds; None when it is not running."""
        return self._usage() if self._usage is not None else None

    async def send_input(self, data: bytes) -> None:
        await self._send({"type": "stdin", "data": b64encode(data)})

    async def close_input(self) -> None:
        await self._send({"type": "stdin_eof"})

    async def resize(self, cols: int, rows: int) -> None:
        await self._send({"type": "resize", "cols": cols, "rows": rows})

    async def _send(self, frame: Frame) -> None:
        async with self._lock:
            if self._finished:
                raise ProgramNotRunning("the program is not running")
            if self._channel is not None:
                await self._channel.send(frame)
                return
            self._pending_bytes += len(json.dumps(frame))
            if self._pending_bytes > MAX_PENDING_BYTES:
                raise ProgramNotRunning("too much input before the program started")
            self._pending.append(frame)
