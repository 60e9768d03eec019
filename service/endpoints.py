"""Endpoints of instances: HTTP services exposed through the node's proxy, and TCP port forwards.

Both reach ``127.0.0.1:PORT`` inside an instance through its relay (:mod:`engine.relay`),
started on the first expose or forward. The relay is ended before a pause (CRIU checkpoints
no connection from outside) and started again after the resume, in the new container's
namespace; forwards keep listening meanwhile and close the connections they get while the
instance is paused. Stopping the instance ends all of them.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import socket
import time
from collections.abc import AsyncIterable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpcore
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as websocket_connect
from websockets.typing import Subprotocol

from engine.agent_relay.relay import header
from engine.relay import NetnsRelays, RelayFailed, TcpForward
from service.config import Settings
from service.errors import Conflict, InvalidRequest, NotFound, Unauthorized
from service.instances import Instance, InstanceService

log = logging.getLogger(__name__)

SERVICE_NAME = re.compile(r"[a-z0-9-]{1,32}")
PROXY_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class ExposedService:
    """An HTTP server inside an instance, reachable at ``/api/v1/proxy/{instance_id}/{name}/``."""

    instance_id: str
    name: str
    port: int
    token: str
    """Grants access without an API key, as ``?token=`` (or the ``X-Service-Token`` header)."""
    keep_prefix: bool = False
    """Send the server the whole path, proxy prefix included (servers that route under a base URL: Jupyter)."""


@dataclass(frozen=True)
class PortForward:
    instance_id: str
    local_port: int
    remote_port: int
    bind_address: str


@dataclass
class _Endpoints:
    tenant_id: str
    services: dict[str, ExposedService] = field(default_factory=dict)
    forwards: dict[int, TcpForward] = field(default_factory=dict)


class EndpointService:
    """Exposed services and port forwards of this node's instances; follows their pauses, resumes and stops."""

    def __init__(self, settings: Settings, instances: InstanceService, relays: NetnsRelays) -> None:
        self.settings = settings
        self.instances = instances
        self.relays = relays
        self._endpoints: dict[str, _Endpoints] = {}
        self._local_ports: set[int] = set()
        self._pool = httpcore.AsyncConnectionPool(network_backend=_RelayBackend(relays), max_connections=256)
        instances.hooks.append(self)

    async def close(self) -> None:
        for instance_id in list(self._endpoints):
            await self._drop(instance_id)
        await self.relays.close()
        await self._pool.aclose()

    # ---- exposed HTTP services ----------------------------------------------------------------

    async def expose(
        self, tenant_id: str, instance_id: str, name: str, port: int, *, keep_prefix: bool = False
    ) -> ExposedService:
        """Expose the HTTP server on ``port`` inside the tenant's running instance as ``name``.

        Raises:
            InvalidRequest: bad name or port.
            NotFound: no such instance; Conflict: it is not running, or ``name`` is taken.
        """
        if not SERVICE_NAME.fullmatch(name):
            raise InvalidRequest("a service name is 1 to 32 of a-z, 0-9 and -", details={"field": "name"})
        _check_port(port, "port")
        instance = await self.instances.get(tenant_id, instance_id)
        endpoints = await self._prepare(instance)
        if name in endpoints.services:
            raise Conflict(f"service {name!r} is already exposed", details={"name": name})
        service = ExposedService(instance_id, name, port, secrets.token_urlsafe(24), keep_prefix)
        endpoints.services[name] = service
        return service

    async def unexpose(self, tenant_id: str, instance_id: str, name: str) -> None:
        """Remove an exposed service.

        Raises:
            NotFound: no such instance, or no service of that name.
        """
        await self.instances.record(tenant_id, instance_id)
        endpoints = self._endpoints.get(instance_id)
        if endpoints is None or endpoints.services.pop(name, None) is None:
            raise NotFound(f"no service {name!r} is exposed", details={"name": name})

    def service(self, instance_id: str, name: str) -> ExposedService | None:
        """The exposed service ``name`` of the instance (the caller has checked access)."""
        endpoints = self._endpoints.get(instance_id)
        return endpoints.services.get(name) if endpoints else None

    def services(self, instance_id: str) -> list[ExposedService]:
        """The instance's exposed services (the caller has checked the tenant)."""
        endpoints = self._endpoints.get(instance_id)
        return list(endpoints.services.values()) if endpoints else []

    async def authorize(self, instance_id: str, name: str, *, tenant_id: str | None, token: str | None) -> Instance:
        """The running instance behind an exposed service, for a caller with the tenant's key or the service token.

        Raises:
            Unauthorized: neither credential; NotFound: no such service for this caller.
            Conflict: the instance is paused.
        """
        if tenant_id is None and token is None:
            raise Unauthorized("send an API key of the instance's account, or the service's ?token=")
        endpoints = self._endpoints.get(instance_id)
        service = endpoints.services.get(name) if endpoints else None
        if (
            endpoints is None
            or service is None
            or not (
                (tenant_id is not None and tenant_id == endpoints.tenant_id)
                or (token is not None and secrets.compare_digest(token.encode(), service.token.encode()))
            )
        ):
            raise NotFound(f"no service {name!r} on instance {instance_id!r}", details={"instance_id": instance_id})
        instance = await self.instances.get(endpoints.tenant_id, instance_id)
        await self._prepare(instance)
        instance.context.last_used = time.monotonic()  # traffic keeps an auto_stop instance alive
        return instance

    async def send(
        self,
        instance_id: str,
        name: str,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: AsyncIterable[bytes],
    ) -> httpcore.Response:
        """Send a request to the exposed service; the response streams (close it with ``aclose``).

        Raises:
            httpcore.ConnectError and other httpcore errors: the server inside did not answer.
        """
        port = self._endpoints[instance_id].services[name].port
        request = httpcore.Request(
            method,
            httpcore.URL(scheme=b"http", host=instance_id.encode(), port=port, target=target.encode()),
            headers=[(b"host", f"127.0.0.1:{port}".encode()), *((k.encode(), v.encode()) for k, v in headers)],
            content=body,
            extensions={"timeout": {"connect": 10.0, "read": PROXY_TIMEOUT_S, "write": PROXY_TIMEOUT_S}},
        )
        return await self._pool.handle_async_request(request)

    async def open_websocket(
        self, instance_id: str, name: str, target: str, headers: list[tuple[str, str]], subprotocols: list[str]
    ) -> ClientConnection:
        """Open a WebSocket to the exposed service (the client side of the handshake, over the relay).

        Raises:
            OSError: the relay is gone; websockets.exceptions.InvalidHandshake: the server refused.
            TimeoutError: the handshake did not finish in time.
        """
        port = self._endpoints[instance_id].services[name].port
        path = self.relays.socket_path(instance_id)
        if path is None:
            raise ConnectionRefusedError(f"instance {instance_id} has no relay")
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            await loop.sock_connect(sock, str(path))
            await loop.sock_sendall(sock, header(port))
            # Frames are relayed one by one: no compression to undo, no size cap beyond the client's.
            return await websocket_connect(
                f"ws://127.0.0.1:{port}{target}",
                sock=sock,
                additional_headers=headers,
                subprotocols=[Subprotocol(p) for p in subprotocols] or None,
                compression=None,
                max_size=None,
                ping_interval=None,
                open_timeout=PROXY_TIMEOUT_S,
            )
        except BaseException:
            sock.close()
            raise

    # ---- TCP port forwards --------------------------------------------------------------------

    async def forward(self, tenant_id: str, instance_id: str, local_port: int, remote_port: int) -> PortForward:
        """Listen on the node's ``local_port`` and relay each connection to ``remote_port`` inside the instance.

        Raises:
            InvalidRequest: bad port; NotFound: no such instance.
            Conflict: it is not running, or ``local_port`` is taken on this node.
        """
        _check_port(local_port, "local_port")
        _check_port(remote_port, "remote_port")
        instance = await self.instances.get(tenant_id, instance_id)
        endpoints = await self._prepare(instance)
        if local_port in self._local_ports:
            raise Conflict(f"port {local_port} is already forwarded", details={"local_port": local_port})
        tcp = TcpForward(lambda: self._relay_for_connection(instance), remote_port)
        address = self.settings.forward_bind_address
        try:
            await tcp.listen(address, local_port)
        except OSError as exc:
            raise Conflict(
                f"cannot listen on {address}:{local_port}: {exc.strerror or exc}", details={"local_port": local_port}
            ) from exc
        endpoints.forwards[local_port] = tcp
        self._local_ports.add(local_port)
        return PortForward(instance_id, local_port, remote_port, address)

    async def forwards(self, tenant_id: str, instance_id: str) -> list[PortForward]:
        """The instance's port forwards, by local port.

        Raises:
            NotFound: no such instance.
        """
        await self.instances.record(tenant_id, instance_id)
        endpoints = self._endpoints.get(instance_id)
        address = self.settings.forward_bind_address
        items = sorted(endpoints.forwards.items()) if endpoints else []
        return [PortForward(instance_id, port, tcp.remote_port, address) for port, tcp in items]

    async def remove_forward(self, tenant_id: str, instance_id: str, local_port: int) -> None:
        """Stop a port forward and the connections through it.

        Raises:
            NotFound: no such instance, or no forward from ``local_port``.
        """
        await self.instances.record(tenant_id, instance_id)
        endpoints = self._endpoints.get(instance_id)
        tcp = endpoints.forwards.pop(local_port, None) if endpoints else None
        if tcp is None:
            raise NotFound(f"no forward from port {local_port}", details={"local_port": local_port})
        self._local_ports.discard(local_port)
        await tcp.close()

    # ---- instance lifecycle hooks -------------------------------------------------------------

    async def pausing(self, instance: Instance) -> None:
        await self.relays.stop(instance.instance_id)

    async def running(self, instance: Instance) -> None:
        if instance.instance_id in self._endpoints:
            try:
                await self.relays.start(instance.instance_id, instance.context.container_id)
            except RelayFailed as exc:  # started again on the next use
                log.warning("relay of instance %s: %s", instance.instance_id, exc)

    async def stopped(self, instance: Instance) -> None:
        await self._drop(instance.instance_id)

    def _relay_for_connection(self, instance: Instance) -> Path | None:
        path = self.relays.socket_path(instance.instance_id)
        if path is not None:
            instance.context.last_used = time.monotonic()  # traffic keeps an auto_stop instance alive
        return path

    async def _prepare(self, instance: Instance) -> _Endpoints:
        """The instance's endpoints, its relay running (the instance's lifecycle lock keeps pauses out)."""
        async with instance.lifecycle:
            if instance.state != "running":
                raise Conflict(
                    f"instance {instance.instance_id} is {instance.state}", details={"state": instance.state}
                )
            try:
                await self.relays.start(instance.instance_id, instance.context.container_id)
            except RelayFailed as exc:
                raise Conflict(f"instance {instance.instance_id} cannot be reached: {exc}") from exc
            return self._endpoints.setdefault(instance.instance_id, _Endpoints(instance.tenant_id))

    async def _drop(self, instance_id: str) -> None:
        endpoints = self._endpoints.pop(instance_id, None)
        if endpoints is not None:
            for port, tcp in endpoints.forwards.items():
                self._local_ports.discard(port)
                await tcp.close()
        await self.relays.stop(instance_id)


class _RelayBackend(httpcore.AsyncNetworkBackend):
    """Connections to ``http://{instance_id}:{port}`` go through the instance's relay."""

    def __init__(self, relays: NetnsRelays) -> None:
        self._relays = relays
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        path = self._relays.socket_path(host)
        if path is None:
            raise httpcore.ConnectError(f"instance {host} has no relay")
        stream = await self._inner.connect_unix_socket(str(path), timeout=timeout)
        await stream.write(header(port), timeout=timeout)
        return stream

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("only instance relays are reachable")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def _check_port(port: int, field_name: str) -> None:
    if not 1 <= port <= 65535:
        raise InvalidRequest(f"{field_name} must be 1 to 65535", details={"field": field_name})
