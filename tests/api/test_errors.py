"""Every error answers with the envelope of API.md and the status from its table."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from service import Node
from tests.conftest import KEY_A


def assert_envelope(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert "Traceback" not in response.text
    error: dict[str, Any] = body["error"]
    return error


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"X-API-Key": "wrong"}, {"Authorization": "Basic dXNlcjpwYXNz"}],
)
async def test_missing_or_wrong_key_is_unauthorized(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    async with httpx.AsyncClient(transport=client._transport, base_url="http://node") as anonymous:
        response = await anonymous.post(
            "/api/v1/execute", json={"code": "print(1)", "language": "python"}, headers=headers
        )
    assert_envelope(response, 401, "UNAUTHORIZED")
    assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_x_api_key_header_is_accepted(client: httpx.AsyncClient) -> None:
    async with httpx.AsyncClient(transport=client._transport, base_url="http://node") as other:
        response = await other.post(
            "/api/v1/execute", json={"code": "print(1)", "language": "python"}, headers={"X-API-Key": KEY_A}
        )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"language": "python"}, "code"),
        ({"code": "print(1)"}, "language"),
        ({"code": "print(1)", "language": "cobol"}, "language"),
        ({"code": "print(1)", "language": "python", "mode": "turbo"}, "mode"),
        ({"code": "print(1)", "language": "python", "resources": {"memory_mb": "lots"}}, "resources.memory_mb"),
        ({"code": "print(1)", "language": "python", "resources": {"cpu_cores": 0}}, "resources.cpu_cores"),
        ({"code": "print(1)", "language": "python", "unknown_field": 1}, "unknown_field"),
        ({"code": "print(1)", "language": "python", "files": {"a": 5}}, "files.a"),
    ],
)
async def test_validation_errors_are_invalid_request(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    error = assert_envelope(await client.post("/api/v1/execute", json=body), 400, "INVALID_REQUEST")
    assert field in [item["field"] for item in error["details"]["errors"]]


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"resources": {"memory_mb": 1_000_000}}, "resources.memory_mb must be between"),
        ({"resources": {"timeout_ms": 10_000_000}}, "resources.timeout_ms must be between"),
        ({"resources": {"cpu_cores": 64}}, "resources.cpu_cores must be between"),
        ({"files": {"../../etc/passwd": "eA=="}}, "invalid file path"),
        ({"files": {"a.txt": "%%%"}}, "not valid base64"),
        ({"env_vars": {"BAD-NAME": "x"}}, "invalid environment variable name"),
        ({"mode": "branched"}, "give branch_id or snapshot_id"),
        ({"mode": "cached", "snapshot_id": "snap_x"}, "snapshot_id is used by mode checkpointed or"),
        ({"mode": "persistent", "stdin": "x"}, "has no standard input"),
        ({"instance_id": "inst_x", "snapshot_id": "snap_x"}, "not both"),
    ],
)
async def test_service_rules_are_invalid_request_with_a_clear_message(
    client: httpx.AsyncClient, fields: dict[str, Any], words: str
) -> None:
    response = await client.post("/api/v1/execute", json={"code": "print(1)", "language": "python", **fields})
    assert words in assert_envelope(response, 400, "INVALID_REQUEST")["message"]


async def test_malformed_json_is_invalid_request(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/execute", content=b'{"code": ', headers={"Content-Type": "application/json"})
    assert assert_envelope(response, 400, "INVALID_REQUEST")["message"] == "the request body is not valid JSON"


async def test_oversized_body_is_refused_before_parsing(client: httpx.AsyncClient) -> None:
    huge = "x" * (17 * 1024 * 1024)
    response = await client.post("/api/v1/execute", json={"code": huge, "language": "python"})
    assert "larger than" in assert_envelope(response, 400, "INVALID_REQUEST")["message"]


async def test_unknown_route_and_unknown_execution_are_not_found(client: httpx.AsyncClient) -> None:
    assert_envelope(await client.get("/api/v1/no-such-thing"), 404, "NOT_FOUND")
    assert_envelope(await client.get("/api/v1/executions/exec_doesnotexist"), 404, "NOT_FOUND")


async def test_wrong_method_is_invalid_request_with_allow_header(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/execute")
    assert_envelope(response, 400, "INVALID_REQUEST")
    assert response.headers["Allow"] == "POST"


async def test_openapi_schema_describes_execute(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/api/v1/openapi.json")).json()
    operation = schema["paths"]["/api/v1/execute"]["post"]
    assert {"200", "400", "401", "408", "507"} <= set(operation["responses"])


async def test_request_id_is_echoed_or_generated(client: httpx.AsyncClient) -> None:
    mine = await client.get("/api/v1/health", headers={"X-Request-ID": "req_mine"})
    assert mine.headers["X-Request-ID"] == "req_mine"
    generated = await client.get("/api/v1/health")
    assert generated.headers["X-Request-ID"].startswith("req_")


async def test_unexpected_exception_is_an_internal_error_envelope_with_request_id(
    client: httpx.AsyncClient, node: Node, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(tenant_id: str, execution_id: str) -> None:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(node.executions, "get", broken)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=client._transport.app, raise_app_exceptions=False),  # type: ignore[attr-defined]
        base_url="http://node",
        headers={"Authorization": f"Bearer {KEY_A}", "X-Request-ID": "req_trace_me"},
    ) as raw:
        response = await raw.get("/api/v1/executions/exec_x")
    error = assert_envelope(response, 500, "INTERNAL_ERROR")
    assert error["details"] == {"request_id": "req_trace_me"}
    assert "secret internal detail" not in response.text
    assert "req_trace_me" in caplog.text and "secret internal detail" in caplog.text
    # the node keeps serving
    assert (await client.get("/api/v1/health")).status_code == 200


async def test_node_at_capacity_is_insufficient_resources(client: httpx.AsyncClient, node: Node) -> None:
    load = node.executor._load
    saved = load.executions
    load.executions = node.executor.config.max_concurrent  # every execution slot of the node is taken
    try:
        response = await client.post("/api/v1/execute", json={"code": "print(1)", "language": "python"})
        started = await client.post("/api/v1/execute", json={"code": "print(1)", "language": "python", "async": True})
    finally:
        load.executions = saved
    error = assert_envelope(response, 507, "INSUFFICIENT_RESOURCES")
    assert error["details"]["max_concurrent_executions"] == node.executor.config.max_concurrent
    assert_envelope(started, 507, "INSUFFICIENT_RESOURCES")  # refused before anything starts


async def test_interactive_docs_are_served(client: httpx.AsyncClient) -> None:
    docs = await client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    schema = (await client.get("/api/v1/openapi.json")).json()
    assert {"/api/v1/execute", "/api/v1/usage", "/api/v1/usage/current"} <= set(schema["paths"])


async def test_oversized_chunked_body_is_refused_too(client: httpx.AsyncClient) -> None:
    async def chunks():  # no Content-Length: the size is only known while reading
        for _ in range(20):
            yield b"x" * (1024 * 1024)

    response = await client.post("/api/v1/execute", content=chunks(), headers={"Content-Type": "application/json"})
    assert "larger than" in assert_envelope(response, 400, "INVALID_REQUEST")["message"]
