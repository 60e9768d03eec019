"""The SDK against a real ``faas serve`` process (real Docker sandboxes, a real port)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from faas_sdk import (
    AsyncFaaSClient,
    AuthenticationError,
    ExecutionTimeoutError,
    FaaSClient,
    InvalidRequestError,
    NotFoundError,
)
from tests.cli.test_serve import Server

KEY = "sdk-integration-key"


@pytest.fixture(scope="module")
def server(require_docker: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    started = Server(tmp_path_factory.mktemp("sdk-node"), {"FAAS_API_KEYS": KEY})
    yield started
    started.stop()


@pytest.fixture
def client(server: Server) -> Iterator[FaaSClient]:
    with FaaSClient(api_key=KEY, endpoint=server.url.removesuffix("/api/v1")) as sdk:
        yield sdk


def test_hello_world_sync(client: FaaSClient) -> None:
    result = client.execute(code="print('Hello World')", language="python")
    assert (result.stdout, result.exit_code, result.status) == ("Hello World\n", 0, "completed")
    assert result.execution_id.startswith("exec_") and result.language == "python" and result.cost.total >= 0
    assert result.created_at is not None and result.finished_at is not None


async def test_hello_world_async(server: Server) -> None:
    async with AsyncFaaSClient(api_key=KEY, endpoint=server.url) as client:
        result = await client.execute(code="print('Hello World')", language="python")
        again = await client.get_execution(result.execution_id)
    assert result.stdout == "Hello World\n" and again == result


def test_files_env_and_stdin_reach_the_program(client: FaaSClient) -> None:
    code = (
        "import os, sys\n"
        "print(open('input.txt').read().strip(), open('data.bin', 'rb').read().hex())\n"
        "print(os.environ['GREETING'], sys.stdin.read().strip())\n"
    )
    result = client.execute(
        code=code,
        language="python",
        files={"input.txt": "from a file\n", "data.bin": b"\x00\xff"},
        env_vars={"GREETING": "hello"},
        stdin="from stdin\n",
    )
    assert result.stdout == "from a file 00ff\nhello from stdin\n", result.stderr


def test_get_execution_returns_the_stored_record(client: FaaSClient) -> None:
    result = client.execute(
        code="import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)", language="python"
    )
    stored = client.get_execution(result.execution_id)
    assert (stored.status, stored.exit_code, stored.stdout, stored.stderr) == ("failed", 3, "out\n", "err\n")


def test_a_wrong_key_raises_authentication_error(server: Server) -> None:
    with FaaSClient(api_key="wrong", endpoint=server.url) as client, pytest.raises(AuthenticationError) as caught:
        client.execute(code="print(1)", language="python")
    assert caught.value.status_code == 401 and caught.value.request_id


def test_bad_parameters_raise_invalid_request_error(client: FaaSClient) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        client.execute(code="print(1)", language="cobol")
    assert caught.value.status_code == 400
    assert caught.value.details["errors"][0]["field"] == "language"


def test_an_unknown_execution_raises_not_found_error(client: FaaSClient) -> None:
    with pytest.raises(NotFoundError):
        client.get_execution("exec_doesnotexist")


def test_a_timeout_raises_with_the_partial_output(client: FaaSClient) -> None:
    code = "import time\nprint('partial', flush=True)\ntime.sleep(30)\n"
    with pytest.raises(ExecutionTimeoutError) as caught:
        client.execute(code=code, language="python", resources={"timeout_ms": 1500})
    error = caught.value
    assert error.status_code == 408 and error.stdout == "partial\n" and error.execution_id
    assert client.get_execution(error.execution_id).status == "timeout"


async def test_async_execution_streams_live_and_takes_input(server: Server) -> None:
    code = "import time\nprint('ready', flush=True)\nname = input()\ntime.sleep(0.3)\nprint('hello', name)"
    async with AsyncFaaSClient(api_key=KEY, endpoint=server.url) as client:
        started = await client.execute(code=code, language="python", async_=True, interactive=True)
        assert started.status == "running"
        outputs: list[str] = []
        answered = False
        async with client.stream(started.execution_id) as stream:
            async for event in stream:
                if event.type == "output":
                    outputs.append(event.data)  # chunks may split lines anywhere
                    if not answered and "ready\n" in "".join(outputs):
                        answered = True
                        await stream.send_input("ada\n", eof=True)
                elif event.type == "completed":
                    assert event.exit_code == 0
        final = await client.get_execution(started.execution_id)
    assert "".join(outputs) == "ready\nhello ada\n"
    assert (final.status, final.stdout) == ("completed", "ready\nhello ada\n")


def test_sync_stream_of_a_finished_execution_replays_it(client: FaaSClient) -> None:
    result = client.execute(code="print('one')\nprint('two')", language="python")
    events = list(client.stream(result.execution_id))
    assert "".join(e.data for e in events if e.type == "output") == "one\ntwo\n"
    assert events[-1].type == "completed"
