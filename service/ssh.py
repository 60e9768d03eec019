"""SSH into instances: one SSH server per instance on a node port, each session a process in the instance.

Why the server runs on the node and not as an sshd inside the sandbox: instances run as
root with every capability dropped and ``no-new-privileges``, and OpenSSH's sshd running as
root must chroot and change uid to separate privileges, which those sandboxes forbid (and
must keep forbidding). So the node terminates SSH — with a host key and exactly one
authorized client key generated for the instance (ed25519) — and runs every shell or
command as a process *inside* the instance (:mod:`engine.exec_process`), with the
instance's namespaces, limits, capabilities and seccomp. Port forwarding, agent forwarding
and subsystems (sftp) are refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import asyncssh

from engine.docker import STDERR, DockerClient
from engine.errors import EngineError
from engine.exec_process import ExecProcess, start_process
from service.config import Settings
from service.errors import Conflict, InsufficientResources
from service.instances import Instance, InstanceService

log = logging.getLogger(__name__)

USERNAME = "root"
LOGIN_SHELL = ["/bin/bash", "-l"]


@dataclass(frozen=True)
class SshAccess:
    """What a client needs to log in (the response of ``GET /instances/{id}/ssh``)."""

    host: str
    port: int
    username: str
    private_key: str
    """The client key, OpenSSH PEM; the server accepts no other."""
    fingerprint: str
    """``SHA256:...`` of the server's host key, to check on first connect."""


@dataclass
class _Server:
    tenant_id: str
    port: int
    client_key: asyncssh.SSHKey
    host_key: asyncssh.SSHKey
    acceptor: asyncssh.SSHAcceptor | None = None
    processes: set[ExecProcess] = field(default_factory=set)


class SshService:
    """SSH servers of this node's instances; they follow pauses (sessions end) and stops (server ends)."""

    def __init__(self, settings: Settings, instances: InstanceService, docker: DockerClient) -> None:
        self.settings = settings
        self.instances = instances
        self.docker = docker
        self._servers: dict[str, _Server] = {}
        self._lock = asyncio.Lock()
        instances.hooks.append(self)

    async def access(self, tenant_id: str, instance_id: str) -> SshAccess:
        """SSH credentials of the tenant's running instance; its server starts on first ask.

        Raises:
            NotFound: no such instance; Conflict: it is not running.
            InsufficientResources: every SSH port of the node is taken.
        """
        instance = await self.instances.get(tenant_id, instance_id)
        async with self._lock:
            server = self._servers.get(instance_id)
            if server is None:
                server = await self._start(instance)
                self._servers[instance_id] = server
        return SshAccess(
            host=self._public_host(),
            port=server.port,
            username=USERNAME,
            private_key=server.client_key.export_private_key("openssh").decode(),
            fingerprint=server.host_key.get_fingerprint("sha256"),
        )

    def url(self, instance_id: str) -> str | None:
        """``ssh://root@host:port`` of the instance's SSH server once it runs (the caller has checked the tenant)."""
        server = self._servers.get(instance_id)
        return f"ssh://{USERNAME}@{self._public_host()}:{server.port}" if server is not None else None

    async def close(self) -> None:
        for instance_id in list(self._servers):
            await self._drop(instance_id)

    # ---- instance lifecycle hooks -------------------------------------------------------------

    async def pausing(self, instance: Instance) -> None:
        # A checkpoint cannot hold processes whose terminal belongs to the host: sessions end first.
        # (What they left running outside a restored sandbox's time namespace, the engine ends.)
        server = self._servers.get(instance.instance_id)
        if server is not None:
            await _kill_all(server)

    async def running(self, instance: Instance) -> None:
        """Nothing to do: new sessions start in whatever container the instance runs in now."""

    async def stopped(self, instance: Instance) -> None:
        await self._drop(instance.instance_id)

    # ---- internals ----------------------------------------------------------------------------

    async def _start(self, instance: Instance) -> _Server:
        if instance.state != "running":
            raise Conflict(f"instance {instance.instance_id} is {instance.state}", details={"state": instance.state})
        server = _Server(
            instance.tenant_id,
            0,
            asyncssh.generate_private_key("ssh-ed25519"),
            asyncssh.generate_private_key("ssh-ed25519"),
        )
        taken = {other.port for other in self._servers.values()}
        for port in range(self.settings.ssh_port_min, self.settings.ssh_port_max + 1):
            if port in taken:
                continue
            try:
                server.acceptor = await asyncssh.create_server(
                    lambda: _Authenticator(server.client_key),
                    self.settings.forward_bind_address,
                    port,
                    server_host_keys=[server.host_key],
                    process_factory=lambda process: self._session(instance, server, process),
                    encoding=None,
                    line_editor=False,
                    allow_scp=False,
                    agent_forwarding=False,
                    x11_forwarding=False,
                    reuse_address=True,
                )
            except OSError:
                continue  # taken by another program on this host
            server.port = port
            return server
        raise InsufficientResources(
            f"every SSH port of this node ({self.settings.ssh_port_min}-{self.settings.ssh_port_max}) is in use"
        )

    async def _session(self, instance: Instance, server: _Server, channel: asyncssh.SSHServerProcess[bytes]) -> None:
        if channel.subsystem:
            channel.stderr.write(f"subsystem {channel.subsystem!r} is not supported\r\n".encode())
            channel.exit(1)
            return
        if instance.state != "running":
            channel.stderr.write(f"instance {instance.instance_id} is {instance.state}\r\n".encode())
            channel.exit(255)
            return
        tty = channel.get_terminal_type() is not None
        columns, rows, _, _ = channel.get_terminal_size()
        command = ["/bin/sh", "-c", channel.command] if channel.command else LOGIN_SHELL
        env = {"TERM": channel.get_terminal_type() or "dumb"}
        try:
            process = await start_process(
                self.docker, instance.context.container_id, command, tty=tty, env=env, rows=rows, columns=columns
            )
        except EngineError as exc:
            channel.stderr.write(f"cannot start a process in the instance: {exc}\r\n".encode())
            channel.exit(255)
            return
        server.processes.add(process)
        instance.context.last_used = time.monotonic()  # a session keeps an auto_stop instance alive
        try:
            channel.exit(await _bridge(channel, process))
        finally:
            server.processes.discard(process)
            await process.kill()

    async def _drop(self, instance_id: str) -> None:
        server = self._servers.pop(instance_id, None)
        if server is None:
            return
        await _kill_all(server)
        if server.acceptor is not None:
            server.acceptor.close()
            await server.acceptor.wait_closed()

    def _public_host(self) -> str:
        if self.settings.public_url:
            return urlsplit(self.settings.public_url).hostname or self.settings.forward_bind_address
        return self.settings.forward_bind_address


class _Authenticator(asyncssh.SSHServer):
    """Public-key authentication as ``root`` with the instance's one client key; nothing else."""

    def __init__(self, client_key: asyncssh.SSHKey) -> None:
        self._client_key = client_key

    def begin_auth(self, username: str) -> bool:
        return True

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        return username == USERNAME and key.public_data == self._client_key.public_data


async def _bridge(channel: asyncssh.SSHServerProcess[bytes], process: ExecProcess) -> int:
    """Copy the channel's input to the process and its output back until it ends; its exit status."""

    async def pump_input() -> None:
        while True:
            try:
                data = await channel.stdin.read(65536)
            except asyncssh.TerminalSizeChanged as change:
                await process.resize(rows=change.height, columns=change.width)
                continue
            except asyncssh.BreakReceived:
                continue
            if not data:
                if not process.tty:  # ``ssh host cmd < file``: the command reads end-of-file and runs on
                    await process.stream.close_stdin()
                return
            await process.stream.write(data)

    async def end_on_hangup() -> None:
        await channel.channel.wait_closed()
        await process.kill()  # the client went away: its session ends, as with SIGHUP

    input_task = asyncio.create_task(pump_input())
    hangup_task = asyncio.create_task(end_on_hangup())
    try:
        while (chunk := await process.stream.read_chunk()) is not None:
            stream, data = chunk
            (channel.stderr if stream == STDERR else channel.stdout).write(data)
            await (channel.stderr if stream == STDERR else channel.stdout).drain()
    finally:
        for task in (input_task, hangup_task):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError, asyncssh.Error):
                await task
    for _ in range(50):  # Docker records the exit status a moment after the output ends
        code = await process.exit_code()
        if code is not None:
            return code
        await asyncio.sleep(0.02)
    return 255


async def _kill_all(server: _Server) -> None:
    for process in list(server.processes):
        await process.kill()
    server.processes.clear()


__all__ = ["SshAccess", "SshService"]
