"""Reaching servers inside sandboxes from the host: a relay per instance in its network namespace, and TCP forwards.

Sandboxes run with ``--network none``: a server an instance starts listens on its own
loopback, which no host socket reaches. :class:`NetnsRelays` starts, for each instance that
needs it, :mod:`engine.agent_relay.relay` inside the container's network namespace (with
``nsenter --net``: nothing runs inside the sandbox's filesystem or processes); the relay
listens on a Unix socket in the node's data dir. :func:`connect` opens a byte stream to a
port inside through that socket. :class:`TcpForward` listens on a host TCP port and relays
each connection that way, asking for the relay's socket anew per connection so that it
outlives the relay being replaced (a pause and resume changes the container).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from engine.agent_relay import relay as relay_script
from engine.docker import DockerClient
from engine.errors import EngineError

log = logging.getLogger(__name__)

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0
MAX_SOCKET_PATH = 107
"""Longest Unix socket path Linux takes (sun_path, 108 bytes with its NUL)."""
RELAY_SCRIPT = Path(relay_script.__file__)

Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class RelayFailed(EngineError):
    """The relay into a sandbox's network namespace could not be started or reached."""


class NetnsRelays:
    """One relay process per key (an instance id), each bound to one container's network namespace."""

    def __init__(self, docker: DockerClient, directory: Path) -> None:
        self.docker = docker
        self.directory = directory
        self._processes: dict[str, asyncio.subprocess.Process] = {}

    def socket_path(self, key: str) -> Path | None:
        """The Unix socket of ``key``'s relay while it runs, else None."""
        process = self._processes.get(key)
        if process is None or process.returncode is not None:
            return None
        return self.directory / f"{key}.sock"

    async def start(self, key: str, container_id: str) -> Path:
        """Start ``key``'s relay in the network namespace of ``container_id`` (no-op while it runs); its socket.

        Raises:
            RelayFailed: the container is gone or the relay did not come up in time.
        """
        path = self.socket_path(key)
        if path is not None:
            return path
        try:
            state = await self.docker.inspect_container(container_id)
        except EngineError as exc:
            raise RelayFailed(f"container {container_id[:12]} is gone: {exc}") from exc
        pid = int(state["State"]["Pid"])
        if not pid:
            raise RelayFailed(f"container {container_id[:12]} is not running")
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.directory / f"{key}.sock"
        if len(bytes(path)) > MAX_SOCKET_PATH:
            raise RelayFailed(f"relay socket path {path} is too long for a Unix socket; use a shorter data dir")
        try:
            process = await asyncio.create_subprocess_exec(
                "nsenter", "--target", str(pid), "--net", sys.executable, "-I", str(RELAY_SCRIPT), str(path),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
        except OSError as exc:
            raise RelayFailed(f"cannot run nsenter: {exc}") from exc
        try:
            async with asyncio.timeout(START_TIMEOUT_S):
                ready = await process.stdout.readline() if process.stdout else b""
        except TimeoutError:
            ready = b""
        if ready.strip() != b"ready":
            await _end(process)
            stderr = await process.stderr.read() if process.stderr else b""
            raise RelayFailed(f"relay into {container_id[:12]} did not start: {stderr.decode(errors='replace')[-300:]}")
        self._processes[key] = process
        return path

    async def stop(self, key: str) -> None:
        """End ``key``'s relay and every connection through it; no-op when none runs."""
        process = self._processes.pop(key, None)
        if process is not None:
            await _end(process)

    async def close(self) -> None:
        for key in list(self._processes):
            await self.stop(key)


async def connect(socket_path: Path, port: int) -> Connection:
    """A byte stream to ``127.0.0.1:port`` inside the namespace of the relay listening on ``socket_path``.

    Raises:
        OSError: the relay is gone (the port's refusal shows as the stream closing at once).
    """
    reader, writer = await asyncio.open_unix_connection(str(socket_path))
    writer.write(relay_script.header(port))
    return reader, writer


class TcpForward:
    """A host TCP listener relaying each connection to a port inside an instance."""

    def __init__(self, resolve: Callable[[], Path | None], remote_port: int) -> None:
        self.resolve = resolve
        """The current relay socket, None while the instance has none (e.g. paused: connections are closed)."""
        self.remote_port = remote_port
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.StreamWriter] = set()

    async def listen(self, host: str, port: int) -> None:
        """Start listening on ``host:port``.

        Raises:
            OSError: the address is taken or cannot be bound.
        """
        self._server = await asyncio.start_server(self._serve, host, port, reuse_address=True)

    async def close(self) -> None:
        """Stop listening and end every relayed connection."""
        if self._server is not None:
            self._server.close()
        for writer in list(self._clients):
            writer.close()
        if self._server is not None:
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._clients.add(writer)
        try:
            path = self.resolve()
            if path is None:
                writer.close()
                return
            try:
                upstream = await connect(path, self.remote_port)
            except OSError as exc:
                log.info("forward to port %d: relay unreachable: %s", self.remote_port, exc)
                writer.close()
                return
            await relay_script.splice((reader, writer), upstream)
        finally:
            self._clients.discard(writer)


async def _end(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        if process.stdin is not None:
            process.stdin.close()  # the relay exits on EOF
        try:
            async with asyncio.timeout(STOP_TIMEOUT_S):
                await process.wait()
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


__all__ = ["NetnsRelays", "RelayFailed", "TcpForward", "connect"]
