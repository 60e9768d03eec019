"""Development environments in instances: Jupyter, a VNC desktop, VSCode (refused: not available here)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request

from api.deps import ExecutePrincipalDep, NodeDep
from api.routes.proxy import service_url
from api.routes.snapshots import errors
from api.schemas import (
    DevEnvironmentOut,
)
from service.errors import InvalidRequest

router = APIRouter(tags=["instances"])


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
