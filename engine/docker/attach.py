"""Hijacked attach connection to a container (multiplexed stdout/stderr, raw stdin)."""

from __future__ import annotations

import asyncio
import contextlib
import struct

from engine.errors import DockerAPIError

CLOSE_TIMEOUT_S = 2.0
STDOUT = 1
STDERR = 2
_HEADER = struct.Struct(">BxxxL")


class AttachedStream:
    """A container's stdio: write to its stdin, read demultiplexed output chunks."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, multiplexed: bool = True) -> None:
        self._reader = reader
        self._writer = writer
        self._multiplexed = multiplexed
        """False for a TTY: Docker then sends the terminal's bytes as they are, all as stdout."""

    async def write(self, data: bytes) -> None:
        self._writer.write(data)
        await self._writer.drain()

    async def close_stdin(self) -> None:
        """Half-close: the process inside reads end-of-file on stdin; its output keeps coming."""
        if self._writer.can_write_eof() and not self._writer.is_closing():
            self._writer.write_eof()

    async def read_chunk(self) -> tuple[int, bytes] | None:
        """Next (stream, bytes) chunk, or None when the container's output ended."""
        if not self._multiplexed:
            data = await self._reader.read(65536)
            return (STDOUT, data) if data else None
        try:
            header = await self._reader.readexactly(_HEADER.size)
            stream, size = _HEADER.unpack(header)
            return stream, await self._reader.readexactly(size)
        except asyncio.IncompleteReadError:
            return None

    @property
    def closed(self) -> bool:
        return self._writer.is_closing() or self._reader.at_eof()

    async def close(self) -> None:
        """Drop the connection at once: unsent stdin is discarded, never waited for (a peer that
        stopped reading would otherwise hold the close, and with it the node's shutdown, forever)."""
        self._writer.transport.abort()
        with contextlib.suppress(OSError, TimeoutError):
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                await self._writer.wait_closed()


async def open_attach_stream(
    socket_path: str, path: str, *, body: bytes = b"", multiplexed: bool = True
) -> AttachedStream:
    """Hijack ``POST path`` (a container attach, or an exec start with its JSON ``body``) into a raw stream."""
    reader, writer = await asyncio.open_unix_connection(socket_path, limit=2**20)
    content_type = "Content-Type: application/json\r\n" if body else ""
    request = (
        f"POST {path} HTTP/1.1\r\nHost: docker\r\nUpgrade: tcp\r\nConnection: Upgrade\r\n"
        f"{content_type}Content-Length: {len(body)}\r\n\r\n"
    )
    writer.write(request.encode() + body)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].decode(errors="replace")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or parts[1] not in ("101", "200"):
        writer.close()
        raise DockerAPIError(int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 500, status_line)
    return AttachedStream(reader, writer, multiplexed=multiplexed)
