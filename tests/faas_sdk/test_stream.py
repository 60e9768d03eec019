"""Protocol-level tests of ``stream()`` against a fake server speaking API.md's WebSocket protocol.

The end-to-end test against the real server lives with the server's stream endpoint.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.datastructures import Headers
from websockets.http11 import Request, Response
from websockets.sync.server import ServerConnection, serve

from faas_sdk import (
    AsyncFaaSClient,
    AuthenticationError,
    CompletedEvent,
    ErrorEvent,
    FaaSClient,
    FaaSConnectionError,
    NotFoundError,
    OutputEvent,
    ProgressEvent,
    StreamEvent,
)
from tests.cli.test_serve import free_port

KEY = "stream-key"


class FakeStreamServer:
    """Serves ``/api/v1/stream/{id}``; the execution id picks the scenario."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[dict[str, Any]] = []
        self.headers: list[Headers] = []
        self.server = serve(self.handle, "127.0.0.1", self.port, process_request=self.authenticate)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def authenticate(self, connection: ServerConnection, request: Request) -> Response | None:
        self.headers.append(request.headers)
        if request.headers.get("Authorization") != f"Bearer {KEY}":
            envelope = {"error": {"code": "UNAUTHORIZED", "message": "invalid API key", "details": {}}}
            return connection.respond(401, json.dumps(envelope))
        return None

    def handle(self, connection: ServerConnection) -> None:
        execution_id = connection.request.path.rsplit("/", 1)[-1] if connection.request else ""
        subscribe = json.loads(connection.recv())
        self.received.append(subscribe)

        def send(**message: Any) -> None:
            connection.send(json.dumps({"execution_id": execution_id, **message}))

        if execution_id == "exec_refused":
            connection.close(1008, "invalid API key")
        elif execution_id == "exec_missing":
            connection.close(4404, "no such execution")
        elif execution_id == "exec_broken":
            send(type="output", stream="stdout", data="half")
            connection.close(1011, "node restarting")
        elif execution_id == "exec_failed":
            send(type="output", stream="stdout", data="before\n")
            send(type="error", error="sandbox died")
        elif execution_id == "exec_interactive":
            send(type="output", stream="stdout", data="name? ")
            for _ in range(2):
                message = json.loads(connection.recv())
                self.received.append(message)
                if message["type"] == "input":
                    send(type="output", stream="stdout", data=f"hi {message['data']}")
            send(type="completed", exit_code=0)
        else:
            send(type="output", stream="stdout", data="already printed\n")
            send(type="subscribed")  # unknown to the SDK: skipped
            send(type="progress", progress=0.5, message="half way")
            send(type="output", stream="stderr", data="warn\n")
            send(type="completed", exit_code=3)
            connection.recv()  # the client hangs up after "completed"

    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeStreamServer]:
    server = FakeStreamServer()
    yield server
    server.stop()


async def collect(kind: str, endpoint: str, execution_id: str, key: str = KEY) -> list[StreamEvent]:
    if kind == "async":
        async with AsyncFaaSClient(api_key=key, endpoint=endpoint) as aclient:
            return [event async for event in aclient.stream(execution_id)]
    with FaaSClient(api_key=key, endpoint=endpoint) as client:
        return list(client.stream(execution_id))


both = pytest.mark.parametrize("kind", ["async", "sync"])


@both
async def test_a_stream_yields_typed_events_and_ends_after_completed(kind: str, fake_server: FakeStreamServer) -> None:
    events = await collect(kind, fake_server.endpoint(), "exec_1")
    assert events == [
        OutputEvent("exec_1", "stdout", "already printed\n"),
        ProgressEvent("exec_1", 0.5, "half way"),
        OutputEvent("exec_1", "stderr", "warn\n"),
        CompletedEvent("exec_1", 3),
    ]
    assert fake_server.received[-1] == {"type": "subscribe", "execution_id": "exec_1"}
    assert fake_server.headers[-1]["Authorization"] == f"Bearer {KEY}"


@both
async def test_a_stream_ends_after_an_error_event(kind: str, fake_server: FakeStreamServer) -> None:
    events = await collect(kind, fake_server.endpoint(), "exec_failed")
    assert events == [OutputEvent("exec_failed", "stdout", "before\n"), ErrorEvent("exec_failed", "sandbox died")]


async def test_input_and_resize_reach_the_program_async(fake_server: FakeStreamServer) -> None:
    async with (
        AsyncFaaSClient(api_key=KEY, endpoint=fake_server.endpoint()) as client,
        client.stream("exec_interactive") as stream,
    ):
        first = await anext(stream)
        assert isinstance(first, OutputEvent) and first.data == "name? "
        await stream.resize(120, 40)
        await stream.send_input("Ada\n")
        rest = [event async for event in stream]
    assert [getattr(event, "data", None) for event in rest] == ["hi Ada\n", None]
    assert fake_server.received[-2:] == [
        {"type": "resize", "execution_id": "exec_interactive", "cols": 120, "rows": 40},
        {"type": "input", "execution_id": "exec_interactive", "data": "Ada\n"},
    ]


def test_input_and_resize_reach_the_program_sync(fake_server: FakeStreamServer) -> None:
    with (
        FaaSClient(api_key=KEY, endpoint=fake_server.endpoint()) as client,
        client.stream("exec_interactive") as stream,
    ):
        assert next(stream) == OutputEvent("exec_interactive", "stdout", "name? ")
        stream.send_input("Bob\n")
        stream.resize(80, 24)
        rest = list(stream)
    assert rest == [OutputEvent("exec_interactive", "stdout", "hi Bob\n"), CompletedEvent("exec_interactive", 0)]


@both
async def test_a_refused_handshake_raises_the_typed_error(kind: str, fake_server: FakeStreamServer) -> None:
    with pytest.raises(AuthenticationError) as caught:
        await collect(kind, fake_server.endpoint(), "exec_1", key="wrong")
    assert caught.value.status_code == 401 and caught.value.message == "invalid API key"


@both
async def test_a_close_code_of_4000_plus_status_raises_the_typed_error(
    kind: str, fake_server: FakeStreamServer
) -> None:
    with pytest.raises(NotFoundError, match="no such execution"):
        await collect(kind, fake_server.endpoint(), "exec_missing")


@both
async def test_a_key_refused_after_the_handshake_raises_authentication_error(
    kind: str, fake_server: FakeStreamServer
) -> None:
    with pytest.raises(AuthenticationError, match="invalid API key"):
        await collect(kind, fake_server.endpoint(), "exec_refused")


@both
async def test_a_stream_broken_before_completed_raises(kind: str, fake_server: FakeStreamServer) -> None:
    with pytest.raises(FaaSConnectionError, match="1011"):
        await collect(kind, fake_server.endpoint(), "exec_broken")


@both
async def test_an_unreachable_server_raises_a_connection_error(kind: str) -> None:
    with pytest.raises(FaaSConnectionError, match="cannot open the stream"):
        await collect(kind, f"http://127.0.0.1:{free_port()}", "exec_1")
