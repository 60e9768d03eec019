"""Relays Unix-socket connections into the loopback of the network namespace it runs in.

Run by the node as ``nsenter --target PID --net python -I relay.py SOCKET``: it lives in an
instance's network namespace but in the host's mount namespace, so it listens on ``SOCKET``
(mode 0600) in the node's data dir and executes nothing inside the sandbox. Standard library
only.

Protocol: each connection starts with one header line, the target port in ASCII decimal
followed by ``\\n``; the relay connects to ``127.0.0.1:PORT`` and copies bytes both ways
until both directions are done (half-closes are passed on). A bad header or a refused
connection closes the connection. It prints ``ready`` once listening and exits when its
stdin closes (the node stopped it or went away).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import threading

HEADER_TIMEOUT_S = 10.0
CHUNK = 64 * 1024


def header(port: int) -> bytes:
    """The first bytes a client sends to reach ``port``."""
    return b"%d\n" % port


async def splice(
    a: tuple[asyncio.StreamReader, asyncio.StreamWriter], b: tuple[asyncio.StreamReader, asyncio.StreamWriter]
) -> None:
    """Copy bytes between two connections both ways until both are done, then close both."""
    try:
        await asyncio.gather(_copy(a[0], b[1]), _copy(b[0], a[1]))
    finally:
        for writer in (a[1], b[1]):
            writer.close()


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except OSError:  # a reset on either side ends both directions
        writer.close()


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        async with asyncio.timeout(HEADER_TIMEOUT_S):
            line = await reader.readline()
        port = int(line.strip())
        if not 1 <= port <= 65535:
            raise ValueError(port)
        upstream = await asyncio.open_connection("127.0.0.1", port)
    except (OSError, ValueError, TimeoutError):
        writer.close()
        return
    await splice((reader, writer), upstream)


async def _main(socket_path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(socket_path)
    os.umask(0o177)  # the socket is the node's alone (mode 0600)
    server = await asyncio.start_unix_server(_serve, path=socket_path)
    print("ready", flush=True)
    stdin_closed = asyncio.get_running_loop().create_future()

    def wait_for_stdin() -> None:
        sys.stdin.buffer.read()
        stdin_closed.get_loop().call_soon_threadsafe(stdin_closed.set_result, None)

    threading.Thread(target=wait_for_stdin, daemon=True).start()
    async with server:
        await stdin_closed
    with contextlib.suppress(FileNotFoundError):
        os.unlink(socket_path)


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1]))
