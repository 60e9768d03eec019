"""Files of instances: copy, tar download and upload, sync."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from api.deps import ExecutePrincipalDep, NodeDep, ReadPrincipalDep
from api.routes.snapshots import errors
from api.schemas import (
    CopyIn,
    CopyOut,
    SyncIn,
    SyncOut,
)
from service.errors import InvalidRequest

router = APIRouter(tags=["instances"])


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
