"""Scopes: a read-only key may look but not run."""

from __future__ import annotations

import httpx

from service import Node
from tests.api.test_errors import assert_envelope
from tests.conftest import KEY_A, run_ok


async def test_read_only_key_is_forbidden_to_execute_but_reads_its_tenant(
    client: httpx.AsyncClient, node: Node
) -> None:
    tenant = (await node.api_keys.authenticate(KEY_A)).tenant_id
    reader = await node.api_keys.create_key("reader", tenant_id=tenant, scopes=["read"])
    ran = await run_ok(client, "print('by the writer')")
    async with httpx.AsyncClient(
        transport=client._transport, base_url="http://node", headers={"X-API-Key": reader.key}
    ) as as_reader:
        refused = await as_reader.post("/api/v1/execute", json={"code": "print(1)", "language": "python"})
        error = assert_envelope(refused, 403, "FORBIDDEN")
        assert error["details"]["required_scope"] == "execute"
        seen = await as_reader.get(f"/api/v1/executions/{ran['execution_id']}")
        assert seen.status_code == 200 and seen.json()["stdout"] == "by the writer\n"
        assert (await as_reader.get("/api/v1/usage")).status_code == 200


async def test_execute_only_key_cannot_read(client: httpx.AsyncClient, node: Node) -> None:
    runner = await node.api_keys.create_key("runner", scopes=["execute"])
    async with httpx.AsyncClient(
        transport=client._transport, base_url="http://node", headers={"Authorization": f"Bearer {runner.key}"}
    ) as as_runner:
        ran = await as_runner.post("/api/v1/execute", json={"code": "print(1)", "language": "python"})
        assert ran.status_code == 200
        assert_envelope(await as_runner.get(f"/api/v1/executions/{ran.json()['execution_id']}"), 403, "FORBIDDEN")
        assert_envelope(await as_runner.get("/api/v1/usage/current"), 403, "FORBIDDEN")
