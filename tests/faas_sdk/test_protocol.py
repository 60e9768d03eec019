"""Request building and response parsing: pure functions, and the clients over httpx.MockTransport."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import httpx
import pytest

from faas_sdk import AsyncFaaSClient, CompletedEvent, ErrorEvent, FaaSClient, OutputEvent, ProgressEvent
from faas_sdk._protocol import (
    Connection,
    build_request,
    execute_body,
    parse_execution,
    parse_stream_message,
    stream_url,
)

EXECUTION = {
    "execution_id": "exec_0123",
    "status": "completed",
    "exit_code": 0,
    "stdout": "Hello World\n",
    "stderr": "",
    "duration_ms": 145,
    "mode": "ephemeral",
    "cached": False,
    "cost": {"compute": 0.00012, "total": 0.00012},
    "language": "python",
    "truncated": False,
    "oom_killed": False,
    "error": None,
    "cached_from": None,
    "build_cached": False,
    "usage": {"cpu_seconds": 0.02, "memory_peak_bytes": 4096},
    "created_at": "2024-01-15T10:30:00Z",
    "finished_at": "2024-01-15T10:30:01.5+00:00",
}
CONNECTION = Connection(base_url="http://faas.test/api/v1", api_key="k-123")


def test_the_body_omits_unset_options_and_base64_encodes_files() -> None:
    assert execute_body("print(1)", "python") == {"code": "print(1)", "language": "python"}
    body = execute_body(
        "x",
        "python",
        mode="cached",
        resources={"timeout_ms": 1000},
        env_vars={"A": "1"},
        files={"in.txt": "héllo", "raw.bin": b"\x00\xff"},
        stdin="line\n",
        async_=True,
    )
    assert body["files"] == {"in.txt": base64.b64encode("héllo".encode()).decode(), "raw.bin": "AP8="}
    assert body["mode"] == "cached" and body["resources"] == {"timeout_ms": 1000} and body["env_vars"] == {"A": "1"}
    assert body["stdin"] == "line\n" and body["async"] is True


def test_the_body_carries_the_stateful_options_and_leaves_the_mode_to_the_server() -> None:
    body = execute_body("x", "python", instance_id="inst_1", snapshot_id="snap_1", branch_id="branch_1")
    assert body == {
        "code": "x",
        "language": "python",
        "instance_id": "inst_1",
        "snapshot_id": "snap_1",
        "branch_id": "branch_1",
    }
    assert execute_body("x", "python", mode="persistent", instance_id="inst_1")["mode"] == "persistent"


def test_requests_carry_the_key_and_the_api_prefix() -> None:
    request = build_request(CONNECTION, "POST", "execute", body={"code": "x", "language": "python"})
    assert (request.method, str(request.url)) == ("POST", "http://faas.test/api/v1/execute")
    assert request.headers["authorization"] == "Bearer k-123"
    assert json.loads(request.content) == {"code": "x", "language": "python"}
    request = build_request(CONNECTION, "GET", "executions", "exec/../x")
    assert (request.method, request.url.raw_path) == ("GET", b"/api/v1/executions/exec%2F..%2Fx")
    request = build_request(CONNECTION, "DELETE", "snapshots", "snap_1", params={"force": True})
    assert request.url.raw_path == b"/api/v1/snapshots/snap_1?force=true" and not request.content


@pytest.mark.parametrize(
    ("endpoint", "base"),
    [
        ("http://h:8080", "http://h:8080/api/v1"),
        ("https://api.faas.platform/", "https://api.faas.platform/api/v1"),
        ("http://h/api/v1/", "http://h/api/v1"),
    ],
)
def test_the_endpoint_gets_the_api_prefix_once(endpoint: str, base: str) -> None:
    assert Connection.from_options("k", endpoint).base_url == base


def test_options_default_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAAS_API_KEY", "env-key")
    monkeypatch.setenv("FAAS_ENDPOINT", "http://env-host:9000")
    assert Connection.from_options(None, None) == Connection("http://env-host:9000/api/v1", "env-key")
    monkeypatch.delenv("FAAS_ENDPOINT")
    assert Connection.from_options(None, None).base_url == "http://127.0.0.1:8080/api/v1"
    monkeypatch.delenv("FAAS_API_KEY")
    with pytest.raises(ValueError, match="FAAS_API_KEY"):
        FaaSClient()


def test_an_execution_parses_into_the_dataclass() -> None:
    result = parse_execution(EXECUTION)
    assert result.stdout == "Hello World\n" and result.exit_code == 0 and result.cost.total == 0.00012
    assert result.usage.memory_peak_bytes == 4096
    assert result.created_at == datetime(2024, 1, 15, 10, 30, tzinfo=UTC)
    assert result.finished_at is not None and result.finished_at.microsecond == 500000


def test_a_running_execution_parses_without_its_output() -> None:
    result = parse_execution({"execution_id": "exec_1", "status": "running", "mode": "ephemeral"})
    assert (result.status, result.exit_code, result.stdout, result.finished_at) == ("running", None, "", None)
    assert (result.instance_id, result.snapshot_id, result.branch_id) == (None, None, None)


def test_a_stateful_execution_parses_its_instance_snapshot_and_branch() -> None:
    stateful = {**EXECUTION, "mode": "branched", "instance_id": None, "snapshot_id": "snap_2", "branch_id": "branch_1"}
    result = parse_execution(stateful)
    assert (result.mode, result.snapshot_id, result.branch_id) == ("branched", "snap_2", "branch_1")
    assert result.instance_id is None
    restored = parse_execution({**EXECUTION, "status": "restored", "mode": "persistent", "instance_id": "inst_1"})
    assert (restored.status, restored.instance_id) == ("restored", "inst_1")


def test_stream_urls_use_the_websocket_scheme() -> None:
    assert stream_url(CONNECTION, "exec_1") == "ws://faas.test/api/v1/stream/exec_1"
    secure = Connection("https://api.faas.platform/api/v1", "k")
    assert stream_url(secure, "exec_1") == "wss://api.faas.platform/api/v1/stream/exec_1"


def test_stream_messages_parse_into_typed_events() -> None:
    def parse(message: dict[str, object]) -> object:
        return parse_stream_message(json.dumps(message), "exec_1")

    assert parse({"type": "output", "execution_id": "exec_1", "stream": "stderr", "data": "oops\n"}) == OutputEvent(
        "exec_1", "stderr", "oops\n"
    )
    assert parse({"type": "progress", "progress": 0.75, "message": "Processing..."}) == ProgressEvent(
        "exec_1", 0.75, "Processing..."
    )
    assert parse({"type": "completed", "execution_id": "exec_1", "exit_code": 3}) == CompletedEvent("exec_1", 3)
    assert parse({"type": "error", "execution_id": "exec_1", "error": "boom"}) == ErrorEvent("exec_1", "boom")
    assert parse({"type": "subscribed", "execution_id": "exec_1"}) is None


def test_the_sync_client_sends_what_the_builders_build() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=EXECUTION)

    with FaaSClient(api_key="k-123", endpoint="http://faas.test", transport=httpx.MockTransport(handler)) as client:
        result = client.execute("print('Hello World')", "python", files={"a.txt": b"hi"}, async_=True)
    assert result == parse_execution(EXECUTION)
    assert json.loads(seen[0].content) == {
        "code": "print('Hello World')",
        "language": "python",
        "files": {"a.txt": "aGk="},
        "async": True,
    }
    assert seen[0].headers["user-agent"].startswith("faas-sdk-python/")


async def test_the_async_client_sends_what_the_builders_build() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=EXECUTION)

    transport = httpx.MockTransport(handler)
    async with AsyncFaaSClient(api_key="k-123", endpoint="http://faas.test", transport=transport) as client:
        result = await client.get_execution("exec_0123")
    assert result.execution_id == "exec_0123"
    assert (seen[0].method, str(seen[0].url)) == ("GET", "http://faas.test/api/v1/executions/exec_0123")
