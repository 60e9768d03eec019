"""Instances as the service takes and shows them: requests, options, records (pure)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine import LANGUAGES, Resources
from service.config import Settings
from service.errors import InsufficientResources, InvalidRequest
from service.requests import check_fixed_limits
from store.models import InstanceEventRow, InstanceRow, SnapshotRow


@dataclass(frozen=True)
class InstanceOptions:
    """How an instance is kept: its workspace size, lifetime and labels."""

    workspace_mb: int | None = None
    """Size of its ``/workspace`` tmpfs; None: the node's ``workspace_mb``."""
    ttl_s: int | None = None
    """Stopped this long after creation, whatever its state; None: no limit."""
    auto_stop: bool = True
    """Stopped after the node's idle timeout when it runs nothing."""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    network: str = "none"
    """``none`` (loopback only) or ``egress`` (internet through the node's firewalled bridge)."""


@dataclass(frozen=True)
class RequestedInstance:
    """``POST /instances`` as the service takes it (unvalidated)."""

    language: str | None
    snapshot_id: str | None = None
    cpu_cores: float | None = None
    memory_mb: int | None = None
    disk_gb: float | None = None
    gpu_count: int = 0
    ttl_s: int | None = None
    auto_stop: bool = True
    metadata: Mapping[str, Any] = field(default_factory=dict)
    network: str = "none"


@dataclass(frozen=True)
class InstanceEvent:
    from_state: str | None
    to_state: str
    reason: str
    at: datetime


@dataclass(frozen=True)
class InstanceRecord:
    """An instance as the API shows it."""

    instance_id: str
    state: str
    language: str
    resources: Resources
    workspace_mb: int | None
    ttl_s: int | None
    auto_stop: bool
    metadata: dict[str, Any]
    snapshot_id: str | None
    stopped_reason: str | None
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None
    events: list[InstanceEvent]
    network: str = "none"

    @classmethod
    def from_row(cls, row: InstanceRow, events: list[InstanceEventRow]) -> InstanceRecord:
        return cls(
            instance_id=row.id,
            state=row.state,
            language=row.language,
            resources=Resources(**row.resources),
            workspace_mb=row.workspace_mb,
            ttl_s=row.ttl_s,
            auto_stop=row.auto_stop,
            metadata=dict(row.meta),
            snapshot_id=row.snapshot_id,
            stopped_reason=row.stopped_reason,
            created_at=row.created_at,
            updated_at=row.updated_at,
            expires_at=row.expires_at,
            events=[InstanceEvent(e.from_state, e.to_state, e.reason, e.at) for e in events],
            network=row.network,
        )


@dataclass(frozen=True)
class InstancePage:
    instances: list[InstanceRecord]
    total: int
    limit: int
    offset: int


def instance_options(request: RequestedInstance, snapshot: SnapshotRow | None, settings: Settings) -> InstanceOptions:
    """Check what ``POST /instances`` asks for, apart from cpu and memory (pure)."""
    if request.gpu_count > 0:
        raise InsufficientResources(
            "this node has no GPUs; ask for gpu_count 0", details={"field": "resources.gpu_count", "available": 0}
        )
    if snapshot is None and request.language is None:
        raise InvalidRequest("give a language or a snapshot_id", details={"fields": ["language", "snapshot_id"]})
    if snapshot is None and request.language not in LANGUAGES:
        raise InvalidRequest(
            f"unsupported language {request.language!r}; supported: {', '.join(LANGUAGES)}",
            details={"field": "language"},
        )
    if snapshot is not None and request.language not in (None, snapshot.language):
        raise InvalidRequest(
            f"snapshot {snapshot.id} runs {snapshot.language}, not {request.language}",
            details={"field": "language", "expected": snapshot.language},
        )
    if request.ttl_s is not None and not 1 <= request.ttl_s <= settings.max_instance_ttl_s:
        raise InvalidRequest(
            f"ttl must be between 1 and {settings.max_instance_ttl_s} seconds, got {request.ttl_s}",
            details={"field": "ttl", "min": 1, "max": settings.max_instance_ttl_s},
        )
    return InstanceOptions(
        workspace_mb=workspace_mb(request.disk_gb, snapshot, settings),
        ttl_s=request.ttl_s,
        auto_stop=request.auto_stop,
        metadata=request.metadata,
        network=network(request.network, snapshot, settings),
    )


NETWORKS = ("none", "egress")


def network(requested: str, snapshot: SnapshotRow | None, settings: Settings) -> str:
    """The instance's network, if this node allows it (pure)."""
    if requested not in NETWORKS:
        raise InvalidRequest(
            f"unknown network {requested!r}; instances have {' or '.join(NETWORKS)}",
            details={"field": "network", "networks": list(NETWORKS)},
        )
    if requested == "egress" and not settings.instance_egress:
        raise InvalidRequest(
            "network egress is disabled on this node (FAAS_INSTANCE_EGRESS); instances here have no network",
            details={"field": "network", "allowed": ["none"]},
        )
    if requested == "egress" and snapshot is not None:
        raise InvalidRequest(
            "an instance from a snapshot starts without network access; omit network or use none",
            details={"field": "network", "allowed": ["none"]},
        )
    return requested


def workspace_mb(disk_gb: float | None, snapshot: SnapshotRow | None, settings: Settings) -> int | None:
    if disk_gb is None:
        return None
    if snapshot is not None:
        raise InvalidRequest(
            "an instance from a snapshot keeps the snapshot's workspace size; omit resources.disk_gb",
            details={"field": "resources.disk_gb"},
        )
    if not 0 < disk_gb <= settings.max_instance_disk_gb:
        raise InvalidRequest(
            f"resources.disk_gb must be above 0 and at most {settings.max_instance_disk_gb:g} (the workspace "
            f"is a memory-backed tmpfs), got {disk_gb:g}",
            details={"field": "resources.disk_gb", "max": settings.max_instance_disk_gb, "value": disk_gb},
        )
    return math.ceil(disk_gb * 1024)


def snapshot_resources(request: RequestedInstance, snapshot: SnapshotRow) -> Resources:
    """A snapshot's instance keeps the snapshot's cpu and memory; asking for others is an error (pure)."""
    resources = Resources(**snapshot.resources)
    check_fixed_limits(request.cpu_cores, request.memory_mb, resources, f"snapshot {snapshot.id}")
    return resources
