"""The Instance API: start, inspect, list, pause, resume and stop live contexts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from api.deps import ExecutePrincipalDep, NodeDep, ReadPrincipalDep
from api.routes.proxy import service_url
from api.routes.snapshots import errors
from api.schemas import (
    InstanceDetailOut,
    InstanceEventOut,
    InstanceIn,
    InstanceListOut,
    InstanceOut,
    InstanceResourcesIn,
    InstanceResourcesOut,
)
from service import Node
from service.instance_records import InstanceRecord, RequestedInstance
from service.snapshots import check_page

router = APIRouter(tags=["instances"])


Endpoints = dict[str, Any]


def _endpoints(request: Request, node: Node, instance_id: str) -> Endpoints:
    endpoints: Endpoints = {}
    ssh = node.ssh.url(instance_id)
    if ssh is not None:
        endpoints["ssh"] = ssh
    services = node.endpoints.services(instance_id)
    if services:
        endpoints["http"] = {s.name: service_url(request, node, s) for s in services}
    return endpoints


def _fields(record: InstanceRecord, endpoints: Endpoints) -> dict[str, Any]:
    return {
        "instance_id": record.instance_id,
        "state": record.state,
        "language": record.language,
        "endpoints": endpoints,
        "resources": InstanceResourcesOut(
            cpu_cores=record.resources.cpu_cores,
            memory_mb=record.resources.memory_mb,
            disk_gb=(record.workspace_mb or 0) / 1024,
            gpu_count=0,
        ),
        "ttl": record.ttl_s,
        "auto_stop": record.auto_stop,
        "snapshot_id": record.snapshot_id,
        "network": record.network,
        "stopped_reason": record.stopped_reason,
        "metadata": record.metadata,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "expires_at": record.expires_at,
    }


def to_instance_out(record: InstanceRecord, endpoints: Endpoints | None = None) -> InstanceDetailOut:
    events = [InstanceEventOut(**vars(event)) for event in record.events]
    return InstanceDetailOut(**_fields(record, endpoints or {}), events=events)


def _requested(body: InstanceIn) -> RequestedInstance:
    resources = body.resources or InstanceResourcesIn.model_validate({})
    return RequestedInstance(
        language=body.language,
        snapshot_id=body.snapshot_id,
        cpu_cores=resources.cpu_cores,
        memory_mb=resources.memory_mb,
        disk_gb=resources.disk_gb,
        gpu_count=resources.gpu_count,
        ttl_s=body.ttl,
        auto_stop=body.auto_stop,
        metadata=body.metadata or {},
        network=body.network,
    )


@router.post(
    "/instances",
    response_model=InstanceDetailOut,
    status_code=201,
    responses=errors(
        {
            400: "Bad fields, or the account runs its maximum of instances",
            404: "No such snapshot",
            409: "The snapshot's content is corrupted",
            507: "GPUs asked for, or the node cannot hold another live context now",
        }
    ),
    summary="Start an instance",
)
async def create_instance(body: InstanceIn, node: NodeDep, principal: ExecutePrincipalDep) -> InstanceDetailOut:
    """Start a live context, fresh or from a snapshot; it answers once its sandbox runs."""
    tenant_id = principal.tenant_id
    snapshot = await node.snapshots.row(tenant_id, body.snapshot_id) if body.snapshot_id is not None else None
    record = await node.instances.create_requested(tenant_id, _requested(body), snapshot, node.snapshots.open_context)
    return to_instance_out(record)


@router.get(
    "/instances",
    response_model=InstanceListOut,
    responses=errors({400: "Bad filter or page"}),
    summary="List instances",
)
async def list_instances(
    request: Request,
    node: NodeDep,
    principal: ReadPrincipalDep,
    state: Annotated[str | None, Query(description="starting, running, paused or stopped")] = None,
    limit: Annotated[int, Query(description="Page size, 1 to 100")] = 20,
    offset: Annotated[int, Query(description="Instances to skip")] = 0,
) -> InstanceListOut:
    """The caller's instances, newest first (including those started by persistent executions)."""
    check_page(limit, offset)
    page = await node.instances.page(principal.tenant_id, state=state, limit=limit, offset=offset)
    return InstanceListOut(
        instances=[
            InstanceOut(**_fields(record, _endpoints(request, node, record.instance_id))) for record in page.instances
        ],
        total=page.total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get(
    "/instances/{instance_id}",
    response_model=InstanceDetailOut,
    responses=errors({404: "No such instance"}),
    summary="Get an instance",
)
async def get_instance(
    instance_id: str, request: Request, node: NodeDep, principal: ReadPrincipalDep
) -> InstanceDetailOut:
    """The instance with its last 20 state transitions and its exposed services."""
    record = await node.instances.record(principal.tenant_id, instance_id)
    return to_instance_out(record, _endpoints(request, node, instance_id))


@router.post(
    "/instances/{instance_id}/stop",
    response_model=InstanceDetailOut,
    responses=errors({404: "No such instance"}),
    summary="Stop an instance",
)
async def stop_instance(instance_id: str, node: NodeDep, principal: ExecutePrincipalDep) -> InstanceDetailOut:
    """Remove its sandbox (or pause state) for good; stopping a stopped instance changes nothing."""
    return to_instance_out(await node.instances.stop_by_request(principal.tenant_id, instance_id))


@router.post(
    "/instances/{instance_id}/pause",
    response_model=InstanceDetailOut,
    responses=errors({404: "No such instance", 409: "It is stopped, or CRIU could not checkpoint it"}),
    summary="Pause an instance",
)
async def pause_instance(instance_id: str, node: NodeDep, principal: ExecutePrincipalDep) -> InstanceDetailOut:
    """Checkpoint its processes, memory and files and remove its sandbox, freeing its CPU and memory."""
    return to_instance_out(await node.instances.pause(principal.tenant_id, instance_id))


@router.post(
    "/instances/{instance_id}/resume",
    response_model=InstanceDetailOut,
    responses=errors(
        {404: "No such instance", 409: "It is stopped", 507: "The node cannot hold it now (it stays paused)"}
    ),
    summary="Resume an instance",
)
async def resume_instance(instance_id: str, node: NodeDep, principal: ExecutePrincipalDep) -> InstanceDetailOut:
    """Restore a paused instance into a new sandbox under the same instance_id."""
    return to_instance_out(await node.instances.resume(principal.tenant_id, instance_id))
