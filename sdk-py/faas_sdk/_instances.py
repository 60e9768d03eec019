"""The Instance API's request body and responses (pure; the clients only do I/O around these)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from faas_sdk._models import (
    Instance,
    InstanceEvent,
    InstancePage,
    InstanceResources,
    InstanceState,
    Language,
    Metadata,
    SshAccess,
)
from faas_sdk._protocol import optional_datetime, parse_datetime, without_none


def start_instance_body(
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
) -> dict[str, Any]:
    """An ``InstanceIn`` JSON object holding only the fields given (``resources`` only if one is)."""
    resources = without_none(cpu_cores=cpu_cores, memory_mb=memory_mb, disk_gb=disk_gb, gpu_count=gpu_count)
    return without_none(
        language=language,
        snapshot_id=snapshot_id,
        resources=resources or None,
        ttl=ttl,
        auto_stop=auto_stop,
        metadata=metadata,
    )


def parse_instance_event(body: Mapping[str, Any]) -> InstanceEvent:
    """An ``InstanceEventOut`` JSON object."""
    return InstanceEvent(
        from_state=cast(InstanceState | None, body.get("from_state")),
        to_state=cast(InstanceState, body["to_state"]),
        reason=str(body["reason"]),
        at=parse_datetime(body["at"]),
    )


def parse_instance_resources(body: Mapping[str, Any]) -> InstanceResources:
    """An ``InstanceResourcesOut`` JSON object."""
    return InstanceResources(
        cpu_cores=float(body["cpu_cores"]),
        memory_mb=int(body["memory_mb"]),
        disk_gb=float(body["disk_gb"]),
        gpu_count=int(body["gpu_count"]),
    )


def parse_instance(body: Mapping[str, Any]) -> Instance:
    """An ``InstanceOut`` (``events`` None) or ``InstanceDetailOut`` JSON object."""
    events = body.get("events")
    return Instance(
        instance_id=str(body["instance_id"]),
        state=cast(InstanceState, body["state"]),
        language=cast(Language, body["language"]),
        endpoints=dict(body.get("endpoints") or {}),
        resources=parse_instance_resources(body["resources"]),
        ttl=body.get("ttl"),
        auto_stop=bool(body["auto_stop"]),
        snapshot_id=body.get("snapshot_id"),
        stopped_reason=body.get("stopped_reason"),
        metadata=dict(body.get("metadata") or {}),
        created_at=parse_datetime(body["created_at"]),
        updated_at=parse_datetime(body["updated_at"]),
        expires_at=optional_datetime(body.get("expires_at")),
        events=None if events is None else [parse_instance_event(event) for event in events],
    )


def parse_instance_page(body: Mapping[str, Any]) -> InstancePage:
    """An ``InstanceListOut`` JSON object."""
    return InstancePage(
        instances=[parse_instance(item) for item in body["instances"]],
        total=int(body["total"]),
        limit=int(body["limit"]),
        offset=int(body["offset"]),
    )


def parse_ssh_access(body: Mapping[str, Any]) -> SshAccess:
    """An ``SshAccessOut`` JSON object."""
    return SshAccess(
        host=str(body["host"]),
        port=int(body["port"]),
        username=str(body["username"]),
        private_key=str(body["private_key"]),
        fingerprint=str(body["fingerprint"]),
        ssh_url=str(body["ssh_url"]),
    )
