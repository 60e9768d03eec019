"""The Instance API in the SDK: the body it builds, parsing, and what each method sends (both clients)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from faas_sdk import (
    ConflictError,
    Instance,
    InstanceEvent,
    InstancePage,
    InstanceResources,
    InsufficientResourcesError,
    SshAccess,
)
from faas_sdk._instances import parse_instance, parse_instance_page, start_instance_body
from tests.faas_sdk.test_retry import Script, call

INSTANCE: dict[str, Any] = {
    "instance_id": "inst_1",
    "state": "running",
    "language": "python",
    "endpoints": {},
    "resources": {"cpu_cores": 1.0, "memory_mb": 512, "disk_gb": 0.25, "gpu_count": 0},
    "ttl": 3600,
    "auto_stop": False,
    "snapshot_id": None,
    "stopped_reason": None,
    "metadata": {"name": "worker"},
    "created_at": "2024-01-15T10:30:00Z",
    "updated_at": "2024-01-15T10:30:00.5+00:00",
    "expires_at": "2024-01-15T11:30:00Z",
}
EVENTS: list[dict[str, Any]] = [
    {"from_state": None, "to_state": "starting", "reason": "created", "at": "2024-01-15T10:30:00Z"},
    {"from_state": "starting", "to_state": "running", "reason": "sandbox up", "at": "2024-01-15T10:30:00.5Z"},
]
DETAIL: dict[str, Any] = {**INSTANCE, "events": EVENTS}

SSH = {
    "host": "node.example.com",
    "port": 22001,
    "username": "root",
    "private_key": "-----BEGIN OPENSSH PRIVATE KEY-----\n...",
    "fingerprint": "SHA256:abc",
    "ssh_url": "ssh://root@node.example.com:22001",
}


def test_a_detailed_instance_parses_into_the_dataclass_with_its_events() -> None:
    assert parse_instance(DETAIL) == Instance(
        instance_id="inst_1",
        state="running",
        language="python",
        endpoints={},
        resources=InstanceResources(cpu_cores=1.0, memory_mb=512, disk_gb=0.25, gpu_count=0),
        ttl=3600,
        auto_stop=False,
        snapshot_id=None,
        stopped_reason=None,
        metadata={"name": "worker"},
        created_at=datetime(2024, 1, 15, 10, 30, tzinfo=UTC),
        updated_at=datetime(2024, 1, 15, 10, 30, 0, 500000, tzinfo=UTC),
        expires_at=datetime(2024, 1, 15, 11, 30, tzinfo=UTC),
        events=[
            InstanceEvent(None, "starting", "created", datetime(2024, 1, 15, 10, 30, tzinfo=UTC)),
            InstanceEvent("starting", "running", "sandbox up", datetime(2024, 1, 15, 10, 30, 0, 500000, tzinfo=UTC)),
        ],
    )


def test_a_listed_instance_has_no_events_and_no_expiry_without_ttl() -> None:
    listed = parse_instance_page(
        {"instances": [{**INSTANCE, "ttl": None, "expires_at": None}], "total": 9, "limit": 1, "offset": 2}
    )
    [instance] = listed.instances
    assert (instance.events, instance.ttl, instance.expires_at) == (None, None, None)
    assert (listed.total, listed.limit, listed.offset) == (9, 1, 2)


def test_the_start_body_holds_only_the_fields_given() -> None:
    assert start_instance_body(language="python") == {"language": "python"}
    assert start_instance_body(snapshot_id="snap_1", memory_mb=256, gpu_count=0, auto_stop=False) == {
        "snapshot_id": "snap_1",
        "resources": {"memory_mb": 256, "gpu_count": 0},
        "auto_stop": False,
    }


both = pytest.mark.parametrize("kind", ["async", "sync"])


@both
@pytest.mark.parametrize(
    ("method", "args", "kwargs", "sent", "answer", "kind_of_result"),
    [
        (
            "start_instance",
            (),
            {"language": "python", "cpu_cores": 0.5, "disk_gb": 1, "ttl": 60, "metadata": {"name": "w"}},
            (
                "POST",
                "/api/v1/instances",
                {
                    "language": "python",
                    "resources": {"cpu_cores": 0.5, "disk_gb": 1},
                    "ttl": 60,
                    "metadata": {"name": "w"},
                },
            ),
            DETAIL,
            Instance,
        ),
        ("get_instance", ("inst_1",), {}, ("GET", "/api/v1/instances/inst_1", None), DETAIL, Instance),
        (
            "list_instances",
            (),
            {"state": "paused", "offset": 3},
            ("GET", "/api/v1/instances?state=paused&limit=20&offset=3", None),
            {"instances": [INSTANCE], "total": 4, "limit": 20, "offset": 3},
            InstancePage,
        ),
        (
            "list_instances",
            (),
            {},
            ("GET", "/api/v1/instances?limit=20&offset=0", None),
            {"instances": [], "total": 0, "limit": 20, "offset": 0},
            InstancePage,
        ),
        ("stop_instance", ("inst_1",), {}, ("POST", "/api/v1/instances/inst_1/stop", None), DETAIL, Instance),
        ("pause_instance", ("inst_1",), {}, ("POST", "/api/v1/instances/inst_1/pause", None), DETAIL, Instance),
        ("resume_instance", ("inst_1",), {}, ("POST", "/api/v1/instances/inst_1/resume", None), DETAIL, Instance),
        ("ssh_access", ("inst_1",), {}, ("GET", "/api/v1/instances/inst_1/ssh", None), SSH, SshAccess),
    ],
)
async def test_each_method_sends_its_request_and_parses_the_answer(
    kind: str,
    method: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    sent: tuple[str, str, dict[str, Any] | None],
    answer: dict[str, Any],
    kind_of_result: type,
) -> None:
    status = 201 if method == "start_instance" else 200
    script = Script(httpx.Response(status, json=answer))
    result = await call(kind, script, method, *args, arguments=kwargs)
    [request] = script.requests
    body = json.loads(request.content) if request.content else None
    assert (request.method, request.url.raw_path.decode(), body) == sent
    assert isinstance(result, kind_of_result)


def envelope(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": {}}}


@both
async def test_no_gpus_raises_insufficient_resources_once_without_a_retry(kind: str) -> None:
    script = Script(httpx.Response(507, json=envelope("INSUFFICIENT_RESOURCES", "this node has no GPUs")))
    with pytest.raises(InsufficientResourcesError) as caught:
        await call(kind, script, "start_instance", arguments={"language": "python", "gpu_count": 1})
    assert caught.value.status_code == 507
    assert (len(script.requests), script.sleeps) == (1, [])


@both
async def test_pausing_a_stopped_instance_raises_conflict_error_without_a_retry(kind: str) -> None:
    script = Script(httpx.Response(409, json=envelope("CONFLICT", "the instance is stopped")))
    with pytest.raises(ConflictError):
        await call(kind, script, "pause_instance", "inst_1")
    assert len(script.requests) == 1


@both
async def test_a_start_refused_for_a_rate_limit_is_retried_after_the_wait(kind: str) -> None:
    limited = httpx.Response(429, headers={"Retry-After": "1"}, json=envelope("RATE_LIMIT_EXCEEDED", "slow down"))
    script = Script(limited, httpx.Response(201, json=DETAIL))
    instance = await call(kind, script, "start_instance", arguments={"language": "python"})
    assert instance.instance_id == "inst_1" and script.sleeps == [1.0]
    assert [json.loads(request.content) for request in script.requests] == [{"language": "python"}] * 2
