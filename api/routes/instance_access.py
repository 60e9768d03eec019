"""Reaching into instances: SSH credentials, exposed HTTP services and TCP port forwards."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from api.deps import ExecutePrincipalDep, NodeDep, ReadPrincipalDep
from api.routes.proxy import service_url
from api.routes.snapshots import errors
from api.schemas import (
    ExposedServiceOut,
    ExposeIn,
    PortForwardIn,
    PortForwardListOut,
    PortForwardOut,
    SshAccessOut,
    UnexposeIn,
)

router = APIRouter(tags=["instances"])


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
