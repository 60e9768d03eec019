"""The async client and its output stream; edit here, then run ``python -m faas_sdk._unasync``."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Self

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from faas_sdk._exceptions import FaaSConnectionError, FaaSError
from faas_sdk._instances import parse_instance, parse_instance_page, parse_ssh_access, start_instance_body
from faas_sdk._models import (
    Branch,
    BranchPage,
    DeletedSnapshot,
    ExecutionResult,
    Instance,
    InstancePage,
    InstanceState,
    MergeResult,
    MergeStrategy,
    Metadata,
    Resources,
    RestoredSnapshot,
    Snapshot,
    SnapshotMode,
    SnapshotPage,
    SshAccess,
    StreamEvent,
)
from faas_sdk._protocol import (
    DEFAULT_TIMEOUT,
    Connection,
    build_request,
    connection_error,
    error_from_response,
    execute_body,
    handshake_error,
    input_message,
    is_final,
    parse_execution,
    parse_stream_message,
    resize_message,
    stream_closed_error,
    stream_url,
    subscribe_message,
    unsubscribe_message,
    without_none,
)
from faas_sdk._retry import (
    RetryPolicy,
    is_idempotent,
    may_retry_status,
    may_retry_transport_error,
    next_delay,
    retry_after_seconds,
)
from faas_sdk._snapshots import (
    parse_branch,
    parse_branch_page,
    parse_deleted_snapshot,
    parse_merge_result,
    parse_restored_snapshot,
    parse_snapshot,
    parse_snapshot_page,
)


class AsyncFaaSClient:
    """Client of the FaaS REST API and its output streams.

    Args:
        api_key: The API key; defaults to ``FAAS_API_KEY``.
        endpoint: The server, e.g. ``https://api.faas.platform``; defaults to
            ``FAAS_ENDPOINT``, else ``http://127.0.0.1:8080``.
        timeout: Seconds (or an ``httpx.Timeout``) per HTTP request.
        max_retries: Retries of a failed call where retrying is safe (see ``RetryPolicy``).
        retry_policy: Full retry settings; overrides ``max_retries``.
        transport: A custom httpx transport (a proxy, a Unix socket, or a mock in your own tests).
        sleep: How to wait between retries (tests inject a recorder).

    Raises:
        ValueError: No API key was given or found in the environment.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        endpoint: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = 2,
        retry_policy: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._connection = Connection.from_options(api_key, endpoint)
        self._retry = retry_policy or RetryPolicy(max_retries=max_retries)
        self._http = httpx.AsyncClient(timeout=timeout, transport=transport)
        self._sleep = sleep

    @property
    def base_url(self) -> str:
        """The API's root, e.g. ``http://127.0.0.1:8080/api/v1``."""
        return self._connection.base_url

    async def execute(
        self,
        code: str,
        language: str,
        *,
        mode: str | None = None,
        resources: Resources | None = None,
        env_vars: Mapping[str, str] | None = None,
        files: Mapping[str, bytes | str] | None = None,
        stdin: str | None = None,
        async_: bool = False,
        interactive: bool = False,
        tty: bool = False,
        instance_id: str | None = None,
        snapshot_id: str | None = None,
        branch_id: str | None = None,
    ) -> ExecutionResult:
        """Run code and return its result.

        Args:
            code: The program's main file.
            language: ``python``, ``javascript``, ``go`` or ``rust``.
            mode: ``ephemeral``, ``cached``, ``checkpointed``, ``branched`` or ``persistent``;
                by default the server picks persistent with ``instance_id``, branched with
                ``branch_id``, ephemeral otherwise.
            resources: ``cpu_cores``, ``memory_mb``, ``timeout_ms``.
            env_vars: Environment variables of the program.
            files: Input files, path → content (base64-encoded for you).
            stdin: Text fed to the program's standard input.
            async_: Return at once with ``status == "running"``; follow it with
                ``stream()`` and fetch the final record with ``get_execution()``.
            interactive: Keep stdin open for ``stream().send_input()`` (end it with ``eof=True``).
            tty: Run under a pseudo-terminal (resizable; stdout and stderr merged).
            instance_id: Run in this live context, keeping its state (``result.instance_id``
                of a persistent execution or ``restore_snapshot()``).
            snapshot_id: Start from this snapshot instead of a fresh context
                (persistent, checkpointed, branched).
            branch_id: Run on this branch's head and, on success, advance it.

        Raises:
            ExecutionTimeoutError: The program hit its time limit (partial output attached).
            ConflictError: The instance is stopped, or the branch moved on meanwhile.
            FaaSError: Any other refusal or failure (see the error tree).
        """
        body = execute_body(
            code,
            language,
            mode=mode,
            resources=resources,
            env_vars=env_vars,
            files=files,
            stdin=stdin,
            async_=async_,
            interactive=interactive,
            tty=tty,
            instance_id=instance_id,
            snapshot_id=snapshot_id,
            branch_id=branch_id,
        )
        return parse_execution(await self._call("POST", "execute", body=body))

    async def get_execution(self, execution_id: str) -> ExecutionResult:
        """A stored execution of this API key's tenant.

        Raises:
            NotFoundError: There is no such execution for this key.
        """
        return parse_execution(await self._call("GET", "executions", execution_id))

    async def create_snapshot(
        self,
        *,
        execution_id: str | None = None,
        instance_id: str | None = None,
        metadata: Metadata | None = None,
    ) -> Snapshot:
        """Capture a live context (processes, memory and files) without stopping it.

        Args:
            execution_id: A persistent execution whose context to capture.
            instance_id: The live context to capture (give this or ``execution_id``).
            metadata: Free-form, e.g. ``{"name": "v1"}``.

        Raises:
            ConflictError: The instance is stopped.
        """
        body = without_none(execution_id=execution_id, instance_id=instance_id, metadata=metadata)
        return parse_snapshot(await self._call("POST", "snapshots", body=body))

    async def list_snapshots(
        self,
        *,
        mode: SnapshotMode | None = None,
        parent_id: str | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> SnapshotPage:
        """This tenant's snapshots, newest first, optionally of one mode or one parent's children."""
        params = without_none(mode=mode, parent_id=parent_id, limit=limit, offset=offset)
        return parse_snapshot_page(await self._call("GET", "snapshots", params=params))

    async def get_snapshot(self, snapshot_id: str) -> Snapshot:
        """One snapshot.

        Raises:
            NotFoundError: There is no such snapshot for this key.
        """
        return parse_snapshot(await self._call("GET", "snapshots", snapshot_id))

    async def restore_snapshot(self, snapshot_id: str) -> RestoredSnapshot:
        """Restore a snapshot into a new live context; pass its ``instance_id`` to ``execute()``.

        Raises:
            ConflictError: The snapshot's content is corrupted (it is not restored).
        """
        return parse_restored_snapshot(await self._call("POST", "snapshots", snapshot_id, "restore"))

    async def delete_snapshot(self, snapshot_id: str, *, force: bool = False) -> DeletedSnapshot:
        """Delete a snapshot permanently.

        Args:
            force: Also delete the branches whose head it is and attach its children to its parent.

        Raises:
            ConflictError: Branches or child snapshots still need it (``details["branches"]``,
                ``details["children"]``) and ``force`` is False.
        """
        params = {"force": True} if force else None
        return parse_deleted_snapshot(await self._call("DELETE", "snapshots", snapshot_id, params=params))

    async def create_branch(
        self,
        *,
        snapshot_id: str | None = None,
        parent_branch: str | None = None,
        metadata: Metadata | None = None,
    ) -> Branch:
        """A branch whose head starts at a snapshot; ``execute(branch_id=...)`` advances it.

        Args:
            snapshot_id: The snapshot to branch from.
            parent_branch: Branch from this branch (at its head unless ``snapshot_id``).
            metadata: Free-form, e.g. ``{"name": "experiment"}``.
        """
        body = without_none(snapshot_id=snapshot_id, parent_branch=parent_branch, metadata=metadata)
        return parse_branch(await self._call("POST", "branches", body=body))

    async def list_branches(
        self,
        *,
        snapshot_id: str | None = None,
        parent_branch: str | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> BranchPage:
        """This tenant's branches, newest first, optionally from one snapshot or one parent branch."""
        params = without_none(snapshot_id=snapshot_id, parent_branch=parent_branch, limit=limit, offset=offset)
        return parse_branch_page(await self._call("GET", "branches", params=params))

    async def get_branch(self, branch_id: str) -> Branch:
        """One branch, with its current ``head_snapshot_id``.

        Raises:
            NotFoundError: There is no such branch for this key.
        """
        return parse_branch(await self._call("GET", "branches", branch_id))

    async def merge_branches(
        self,
        branch_ids: Sequence[str],
        *,
        strategy: MergeStrategy = "three_way",
        metadata: Metadata | None = None,
    ) -> MergeResult:
        """Merge branches' workspace files into a new snapshot; its memory state starts fresh.

        Args:
            branch_ids: Two or more branches, in order.
            strategy: ``three_way`` refuses conflicting edits; ``ours`` lets the first branch
                win them, ``theirs`` the last.
            metadata: Free-form metadata of the merged snapshot.

        Raises:
            ConflictError: A three-way merge met conflicts (paths and hunks in ``details["conflicts"]``).
        """
        body = without_none(branch_ids=list(branch_ids), strategy=strategy, metadata=metadata)
        return parse_merge_result(await self._call("POST", "branches", "merge", body=body))

    async def start_instance(
        self,
        *,
        language: str | None = None,
        snapshot_id: str | None = None,
        cpu_cores: float | None = None,
        memory_mb: int | None = None,
        disk_gb: float | None = None,
        gpu_count: int | None = None,
        ttl: int | None = None,
        auto_stop: bool | None = None,
        metadata: Metadata | None = None,
    ) -> Instance:
        """Start a live context and return it once its sandbox runs; only given fields are sent.

        Args:
            language: ``python``, ``javascript``, ``go`` or ``rust``; required unless ``snapshot_id``.
            snapshot_id: Start from this snapshot (its language, cpu, memory and workspace size).
            cpu_cores: CPU cores (fractions allowed).
            memory_mb: Memory limit in MiB.
            disk_gb: Size of its ``/workspace`` (a tmpfs counted against ``memory_mb``) in GiB.
            gpu_count: GPUs; the node has none, so anything above 0 is refused.
            ttl: Seconds after creation at which it is stopped, whatever its state.
            auto_stop: Stop it after the node's idle timeout (the server's default: True).
            metadata: Free-form, e.g. ``{"name": "worker"}``.

        Raises:
            InsufficientResourcesError: GPUs were asked for, or the node cannot hold it now.
            NotFoundError: There is no such snapshot for this key.
            ConflictError: The snapshot's content is corrupted.
        """
        body = start_instance_body(
            language=language,
            snapshot_id=snapshot_id,
            cpu_cores=cpu_cores,
            memory_mb=memory_mb,
            disk_gb=disk_gb,
            gpu_count=gpu_count,
            ttl=ttl,
            auto_stop=auto_stop,
            metadata=metadata,
        )
        return parse_instance(await self._call("POST", "instances", body=body))

    async def get_instance(self, instance_id: str) -> Instance:
        """One instance, with ``events``, its last 20 state transitions.

        Raises:
            NotFoundError: There is no such instance for this key.
        """
        return parse_instance(await self._call("GET", "instances", instance_id))

    async def list_instances(
        self,
        *,
        state: InstanceState | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> InstancePage:
        """This tenant's instances (without events), newest first, optionally in one state."""
        params = without_none(state=state, limit=limit, offset=offset)
        return parse_instance_page(await self._call("GET", "instances", params=params))

    async def stop_instance(self, instance_id: str) -> Instance:
        """Stop an instance for good (a stopped one stays as it is); a paused one's state is freed.

        Raises:
            NotFoundError: There is no such instance for this key.
        """
        return parse_instance(await self._call("POST", "instances", instance_id, "stop"))

    async def pause_instance(self, instance_id: str) -> Instance:
        """Checkpoint an instance (processes, memory, files) and free its CPU and memory.

        Executions in it raise ``ConflictError`` until ``resume_instance()``.

        Raises:
            ConflictError: It is stopped, or it could not be checkpointed.
        """
        return parse_instance(await self._call("POST", "instances", instance_id, "pause"))

    async def resume_instance(self, instance_id: str) -> Instance:
        """Restore a paused instance into a new sandbox under the same ``instance_id``.

        Raises:
            ConflictError: It is stopped.
            InsufficientResourcesError: The node cannot hold it now (it stays paused).
        """
        return parse_instance(await self._call("POST", "instances", instance_id, "resume"))

    async def ssh_access(self, instance_id: str) -> SshAccess:
        """Host, port, user and the private key that log in to a running instance over SSH.

        Raises:
            NotFoundError: There is no such instance for this key.
            ConflictError: It is paused or stopped.
        """
        return parse_ssh_access(await self._call("GET", "instances", instance_id, "ssh"))

    def stream(self, execution_id: str, *, open_timeout: float = 10.0) -> AsyncExecutionStream:
        """The live output of an execution; a late subscriber first gets what was printed already.

        Iterate it (``async for event in client.stream(id)``) or, to send input, hold it
        (``async with client.stream(id) as stream``). It ends after a ``CompletedEvent``
        or an ``ErrorEvent``.
        """
        return AsyncExecutionStream(
            stream_url(self._connection, execution_id),
            self._connection.headers(),
            execution_id,
            open_timeout=open_timeout,
        )

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _call(
        self,
        method: str,
        *path: str,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        """The JSON answer of one API call (retried as ``RetryPolicy`` allows), or its typed error."""
        request = build_request(self._connection, method, *path, body=body, params=params)
        response = await self._send(request)
        return response.json()

    async def _send(self, request: httpx.Request) -> httpx.Response:
        idempotent = is_idempotent(request.method)
        retries_done, waited = 0, 0.0
        while True:
            retry_after: float | None = None
            try:
                response = await self._http.send(request)
            except httpx.TransportError as exc:
                error: FaaSError = connection_error(exc, request.method, str(request.url))
                error.__cause__ = exc
                retryable = may_retry_transport_error(exc, idempotent=idempotent)
            else:
                if response.is_success:
                    return response
                error = error_from_response(response)
                retryable = may_retry_status(response.status_code, idempotent=idempotent)
                retry_after = retry_after_seconds(response)
            delay = None
            if retryable:
                jitter = random.random()  # noqa: S311 - spreads retries, not a secret
                delay = next_delay(
                    self._retry,
                    retries_done=retries_done,
                    waited=waited,
                    retry_after=retry_after,
                    jitter=jitter,
                )
            if delay is None:
                raise error
            await self._sleep(delay)
            retries_done, waited = retries_done + 1, waited + delay


class AsyncExecutionStream:
    """One execution's output over a WebSocket; connects on first use.

    Yields ``OutputEvent``, ``ProgressEvent`` and finally a ``CompletedEvent`` or an
    ``ErrorEvent``, after which it closes itself.
    """

    def __init__(self, url: str, headers: dict[str, str], execution_id: str, *, open_timeout: float) -> None:
        self.execution_id = execution_id
        self._url = url
        self._headers = headers
        self._open_timeout = open_timeout
        self._socket: ClientConnection | None = None
        self._done = False

    async def send_input(self, data: str, *, eof: bool = False) -> None:
        """Write text to the program's standard input; ``eof=True`` then closes it."""
        await self._send(input_message(self.execution_id, data, eof=eof))

    async def resize(self, cols: int, rows: int) -> None:
        """Resize the program's terminal."""
        await self._send(resize_message(self.execution_id, cols, rows))

    async def unsubscribe(self) -> None:
        """Stop receiving output and close the stream (the execution keeps running)."""
        if self._socket is not None and not self._done:
            await self._send(unsubscribe_message(self.execution_id))
        await self.close()

    async def close(self) -> None:
        """Close the WebSocket; iteration ends."""
        self._done = True
        if self._socket is not None:
            await self._socket.close()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> StreamEvent:
        if self._done:
            raise StopAsyncIteration
        socket = await self._open()
        while True:
            try:
                raw = await socket.recv()
            except ConnectionClosed as exc:
                if self._done:
                    raise StopAsyncIteration from None
                await self.close()
                closed = exc.rcvd
                raise stream_closed_error(closed.code if closed else None, closed.reason if closed else "") from exc
            event = parse_stream_message(raw, self.execution_id)
            if event is None:
                continue
            if is_final(event):
                await self.close()
            return event

    async def __aenter__(self) -> Self:
        await self._open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def _open(self) -> ClientConnection:
        if self._socket is not None:
            return self._socket
        try:
            connection = await connect(self._url, additional_headers=self._headers, open_timeout=self._open_timeout)
            # Entered, not used in a with-block: the stream owns the socket until close().
            # (The sync websockets client >= 17.1 warns about a connection that is never entered.)
            self._socket = await connection.__aenter__()
        except InvalidStatus as exc:
            response = exc.response
            raise handshake_error(response.status_code, bytes(response.body or b""), dict(response.headers)) from exc
        except (OSError, TimeoutError, WebSocketException) as exc:
            raise FaaSConnectionError(f"cannot open the stream at {self._url}: {type(exc).__name__}: {exc}") from exc
        await self._send(subscribe_message(self.execution_id))
        return self._socket

    async def _send(self, message: str) -> None:
        socket = await self._open()
        try:
            await socket.send(message)
        except ConnectionClosed as exc:
            raise FaaSConnectionError(f"the stream is closed: {exc}") from exc


__all__ = ["AsyncExecutionStream", "AsyncFaaSClient"]
