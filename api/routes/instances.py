"""The Instance API: start, inspect, list, pause, resume and stop live contexts."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response

from api.deps import ExecutePrincipalDep, NodeDep, ReadPrincipalDep
from api.routes.proxy import service_url
from api.routes.snapshots import errors
from api.schemas import (
    CopyIn,
    CopyOut,
    DevEnvironmentOut,
    ExposedServiceOut,
    ExposeIn,
    InstanceDetailOut,
    InstanceEventOut,
    InstanceIn,
    InstanceListOut,
    InstanceOut,
    InstanceResourcesIn,
    InstanceResourcesOut,
    PortForwardIn,
    PortForwardListOut,
    PortForwardOut,
    SshAccessOut,
    SyncIn,
    SyncOut,
    UnexposeIn,
)
from service import Node
from service.errors import InvalidRequest
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


@router.get(
    "/instances/{instance_id}/ssh",
    response_model=SshAccessOut,
    responses=errors({404: "No such instance", 409: "Not running", 507: "Every SSH port of the node is taken"}),
    summary="Get SSH access",
)
async def get_ssh_access(instance_id: str, node: NodeDep, principal: ExecutePrincipalDep) -> SshAccessOut:
    """Host, port, user and the private key that logs in to the instance; a shell or command runs inside it."""
    access = await node.ssh.access(principal.tenant_id, instance_id)
    return SshAccessOut(
        host=access.host,
        port=access.port,
        username=access.username,
        private_key=access.private_key,
        fingerprint=access.fingerprint,
        ssh_url=node.ssh.url(instance_id) or f"ssh://{access.username}@{access.host}:{access.port}",
    )


@router.post(
    "/instances/{instance_id}/expose",
    response_model=ExposedServiceOut,
    status_code=201,
    responses=errors({400: "Bad name or port", 404: "No such instance", 409: "Not running, or the name is taken"}),
    summary="Expose an HTTP service",
)
async def expose_service(
    instance_id: str, body: ExposeIn, request: Request, node: NodeDep, principal: ExecutePrincipalDep
) -> ExposedServiceOut:
    """Make the HTTP server on 127.0.0.1:port inside reachable through the node's proxy at the returned URL."""
    service = await node.endpoints.expose(principal.tenant_id, instance_id, body.name, body.port)
    return ExposedServiceOut(name=service.name, port=service.port, url=service_url(request, node, service))


@router.post(
    "/instances/{instance_id}/unexpose",
    status_code=204,
    response_class=Response,
    responses=errors({404: "No such instance or service"}),
    summary="Hide an exposed service",
)
async def unexpose_service(instance_id: str, body: UnexposeIn, node: NodeDep, principal: ExecutePrincipalDep) -> None:
    """Remove the service; its URL answers 404 from then on."""
    await node.endpoints.unexpose(principal.tenant_id, instance_id, body.name)


@router.post(
    "/instances/{instance_id}/port-forward",
    response_model=PortForwardOut,
    status_code=201,
    responses=errors({400: "Bad port", 404: "No such instance", 409: "Not running, or local_port is taken"}),
    summary="Forward a node TCP port",
)
async def create_port_forward(
    instance_id: str, body: PortForwardIn, node: NodeDep, principal: ExecutePrincipalDep
) -> PortForwardOut:
    """Listen on local_port of the node and relay raw TCP to 127.0.0.1:remote_port inside, until it stops."""
    forward = await node.endpoints.forward(principal.tenant_id, instance_id, body.local_port, body.remote_port)
    return PortForwardOut(
        local_port=forward.local_port, remote_port=forward.remote_port, bind_address=forward.bind_address
    )


@router.get(
    "/instances/{instance_id}/port-forward",
    response_model=PortForwardListOut,
    responses=errors({404: "No such instance"}),
    summary="List port forwards",
)
async def list_port_forwards(instance_id: str, node: NodeDep, principal: ReadPrincipalDep) -> PortForwardListOut:
    """The instance's port forwards, by local port."""
    forwards = await node.endpoints.forwards(principal.tenant_id, instance_id)
    return PortForwardListOut(
        forwards=[
            PortForwardOut(local_port=f.local_port, remote_port=f.remote_port, bind_address=f.bind_address)
            for f in forwards
        ]
    )


@router.delete(
    "/instances/{instance_id}/port-forward/{local_port}",
    status_code=204,
    response_class=Response,
    responses=errors({404: "No such instance or forward"}),
    summary="Remove a port forward",
)
async def delete_port_forward(instance_id: str, local_port: int, node: NodeDep, principal: ExecutePrincipalDep) -> None:
    """Stop listening on local_port and end the connections through it."""
    await node.endpoints.remove_forward(principal.tenant_id, instance_id, local_port)


@router.post(
    "/instances/{instance_id}/copy",
    response_model=CopyOut,
    responses=errors(
        {400: "Bad, missing or symlinked path, or too large", 404: "No such instance", 409: "Not running"}
    ),
    summary="Copy files to or from an instance",
)
async def copy_files(instance_id: str, body: CopyIn, node: NodeDep, principal: ExecutePrincipalDep) -> CopyOut:
    """Copy a file or directory between the node's files root and the instance's /workspace."""
    result = await node.files.copy(principal.tenant_id, instance_id, body.direction, body.local_path, body.remote_path)
    return CopyOut(files=result.files, bytes=result.bytes)


TAR_TYPE = "application/x-tar"


@router.get(
    "/instances/{instance_id}/files",
    response_class=Response,
    responses={
        200: {"content": {TAR_TYPE: {}}, "description": "A tar of the file, or of the directory's content"},
        **errors({400: "Bad, missing or symlinked path", 404: "No such instance", 409: "Not running"}),
    },
    summary="Download files as tar",
)
async def download_files(
    instance_id: str,
    node: NodeDep,
    principal: ReadPrincipalDep,
    path: Annotated[str, Query(description="Relative to /workspace; empty: all of it")] = "",
) -> Response:
    """A tar archive of a file or directory in the instance's /workspace."""
    archive = await node.files.download_tar(principal.tenant_id, instance_id, path)
    return Response(archive, media_type=TAR_TYPE)


@router.put(
    "/instances/{instance_id}/files",
    response_model=CopyOut,
    responses=errors({400: "Bad path or archive member, or too large", 404: "No such instance", 409: "Not running"}),
    summary="Upload files as tar",
)
async def upload_files(
    instance_id: str,
    request: Request,
    node: NodeDep,
    principal: ExecutePrincipalDep,
    path: Annotated[str, Query(description="Directory relative to /workspace, created if missing")] = "",
) -> CopyOut:
    """Extract a tar archive (plain or compressed) under a directory of the instance's /workspace."""
    archive = bytearray()
    limit = node.settings.max_instance_disk_gb * 1024**3
    async for chunk in request.stream():
        archive += chunk
        if len(archive) > limit:
            raise InvalidRequest("the archive is larger than any workspace", details={"limit_bytes": int(limit)})
    result = await node.files.upload_tar(principal.tenant_id, instance_id, path, bytes(archive))
    return CopyOut(files=result.files, bytes=result.bytes)


@router.post(
    "/instances/{instance_id}/sync",
    response_model=SyncOut,
    responses=errors({400: "Bad or symlinked path, or too large", 404: "No such instance", 409: "Not running"}),
    summary="Sync a directory with an instance",
)
async def sync_files(instance_id: str, body: SyncIn, node: NodeDep, principal: ExecutePrincipalDep) -> SyncOut:
    """Send what changed since the last sync (and bring changes back if bidirectional); report conflicts."""
    result = await node.files.sync(
        principal.tenant_id,
        instance_id,
        body.local_path,
        body.remote_path,
        body.exclude,
        bidirectional=body.bidirectional,
    )
    plan = result.plan
    return SyncOut(
        uploaded=plan.upload,
        downloaded=plan.download,
        deleted_remote=plan.delete_remote,
        deleted_local=plan.delete_local,
        unchanged=plan.unchanged,
        conflicts=plan.conflicts,
        transferred=len(plan.upload) + len(plan.download),
        deleted=len(plan.delete_remote) + len(plan.delete_local),
        bytes=result.bytes,
    )


DEV_ERRORS = errors(
    {
        400: "Not a python instance (the tools are in the python image only)",
        404: "No such instance",
        409: "Not running, or the service name is taken",
        500: "The server did not start",
    }
)


@router.post(
    "/instances/{instance_id}/jupyter",
    response_model=DevEnvironmentOut,
    response_model_exclude_none=True,
    responses=DEV_ERRORS,
    summary="Launch Jupyter",
)
async def launch_jupyter(
    instance_id: str, request: Request, node: NodeDep, principal: ExecutePrincipalDep
) -> DevEnvironmentOut:
    """Start a Jupyter server inside (once; later calls answer the same one), exposed as service `jupyter`."""
    prefix = request.app.url_path_for("proxy", instance_id=instance_id, name="jupyter", path="")
    started = await node.devenvs.jupyter(principal.tenant_id, instance_id, prefix)
    url = service_url(request, node, started.service)
    return DevEnvironmentOut(url=url, type="jupyter", token=started.service.token, password=None)


@router.post(
    "/instances/{instance_id}/vnc",
    response_model=DevEnvironmentOut,
    response_model_exclude_none=True,
    responses=DEV_ERRORS,
    summary="Launch VNC",
)
async def launch_vnc(
    instance_id: str, request: Request, node: NodeDep, principal: ExecutePrincipalDep
) -> DevEnvironmentOut:
    """Start a VNC desktop (Xvnc, openbox, a terminal) inside with the noVNC web client, exposed as service `vnc`."""
    started = await node.devenvs.vnc(principal.tenant_id, instance_id)
    token = started.service.token
    base = service_url(request, node, started.service).split("?", 1)[0]
    # noVNC resolves `path` against the page's URL: its WebSocket goes to .../vnc/websockify.
    query = f"token={token}&autoconnect=1&resize=remote&path={quote(f'websockify?token={token}', safe='')}"
    return DevEnvironmentOut(url=f"{base}vnc.html?{query}", type="vnc", token=None, password=started.password)


@router.post(
    "/instances/{instance_id}/vscode",
    response_model=DevEnvironmentOut,
    responses=errors({400: "VSCode is not available on this node", 404: "No such instance"}),
    summary="Launch VSCode",
)
async def launch_vscode(instance_id: str, node: NodeDep, principal: ExecutePrincipalDep) -> DevEnvironmentOut:
    """Not available on this node: no code-server is installed in the runtime images."""
    await node.instances.record(principal.tenant_id, instance_id)
    raise InvalidRequest(
        "VSCode (code-server) is not available on this node; use /jupyter or /vnc instead",
        details={"available": ["jupyter", "vnc"]},
    )
