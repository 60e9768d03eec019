"""Host side of the agent protocol over a container's attached stdio."""

from __future__ import annotations

import logging

from engine.agent.protocol import MAX_FRAME_BYTES, Frame, decode_frame, encode_frame
from engine.docker import STDOUT, AttachedStream
from engine.errors import SandboxFailure

log = logging.getLogger(__name__)


class AgentChannel:
    """Sends frames to the agent and yields the frames it writes on stdout."""

    def __init__(self, stream: AttachedStream, sandbox_name: str) -> None:
        self._stream = stream
        self._name = sandbox_name
        self._buffer = bytearray()

    @property
    def closed(self) -> bool:
        return self._stream.closed

    async def send(self, frame: Frame) -> None:
        try:
            await self._stream.write(encode_frame(frame))
        except (ConnectionError, OSError) as exc:
            raise SandboxFailure(f"sandbox {self._name} stopped accepting input: {exc}") from exc

    async def receive(self) -> Frame:
        """Next frame; raises SandboxFailure when the agent is gone or speaks garbage."""
        while True:
            newline = self._buffer.find(b"\n")
            if newline >= 0:
                line = bytes(self._buffer[:newline])
                del self._buffer[: newline + 1]
                try:
                    return decode_frame(line)
                except ValueError as exc:
                    raise SandboxFailure(f"sandbox {self._name} sent a malformed frame") from exc
            if len(self._buffer) > MAX_FRAME_BYTES:
                raise SandboxFailure(f"sandbox {self._name} sent an oversized frame")
            chunk = await self._stream.read_chunk()
            if chunk is None:
                raise SandboxFailure(f"sandbox {self._name} exited unexpectedly")
            stream, data = chunk
            if stream == STDOUT:
                self._buffer += data
            else:
                log.debug("agent stderr in %s: %r", self._name, data[:500])

    async def close(self) -> None:
        await self._stream.close()
