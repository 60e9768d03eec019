"""Property-based run over the OpenAPI schema (schemathesis) against a real `faas serve`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.cli.test_serve import Server

KEY = "schemathesis-key-0123456789abcdefghijkl"


@schemathesis.check
def not_an_internal_error(ctx: Any, response: Any, case: schemathesis.Case) -> bool | None:
    """No 5xx but a documented 507 INSUFFICIENT_RESOURCES: a refusal (no GPUs, a full node), not a failure."""
    if response.status_code >= 500 and response.status_code != 507:
        raise AssertionError(f"{case.operation.label} answered {response.status_code}: {response.text[:500]}")
    return None


CHECKS = [not_an_internal_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def served_node(tmp_path_factory: pytest.TempPathFactory, require_docker: None) -> Iterator[Server]:
    # Hundreds of generated requests: above the default per-key rate limits, which have tests of their own.
    limits = {"FAAS_RATE_LIMIT_PER_MINUTE": "100000", "FAAS_RATE_LIMIT_PER_HOUR": "1000000"}
    server = Server(Path(tmp_path_factory.mktemp("schemathesis")), {"FAAS_API_KEYS": KEY, **limits})
    yield server
    server.stop()


def property_check(operation: Any, base_url: str, seen: Counter[int]) -> Callable[[], None]:
    @given(case=operation.as_strategy())
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    def check(case: schemathesis.Case) -> None:
        response = case.call_and_validate(base_url=base_url, headers={"X-API-Key": KEY}, checks=CHECKS, timeout=120)
        seen[response.status_code] += 1

    return check  # type: ignore[no-any-return]


def test_no_server_errors_and_responses_match_the_schema(served_node: Server) -> None:
    # Driven through Hypothesis directly: schemathesis's pytest plugin does not support pytest 9 yet.
    api = schemathesis.openapi.from_url(f"{served_node.url}/openapi.json")
    base_url = served_node.url.removesuffix("/api/v1")
    operations = [result.ok() for result in api.get_all_operations()]
    assert {op.path for op in operations} >= {"/api/v1/execute", "/api/v1/executions/{execution_id}"}
    statuses: dict[str, Counter[int]] = {}
    for operation in operations:
        seen = statuses.setdefault(f"{operation.method.upper()} {operation.path}", Counter())
        property_check(operation, base_url, seen)()
    with_inputs = {name: seen for name, seen in statuses.items() if name != "GET /api/v1/health"}
    assert all(sum(seen.values()) >= 10 for seen in with_inputs.values()), statuses
    assert statuses["POST /api/v1/execute"][200] > 0  # some generated programs really ran
