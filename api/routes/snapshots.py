"""The Snapshot API: create, list, restore and delete snapshots of live contexts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ExecutePrincipalDep, NodeDep, ReadPrincipalDep
from api.schemas import ErrorOut, RestoreOut, SnapshotDeletedOut, SnapshotIn, SnapshotListOut, SnapshotOut
from service.snapshots import SnapshotRecord

router = APIRouter(tags=["snapshots"])


def errors(descriptions: dict[int, str]) -> dict[int | str, dict[str, object]]:
    common = {401: "Invalid or missing API key", 403: "The API key lacks the scope"}
    return {status: {"model": ErrorOut, "description": text} for status, text in {**common, **descriptions}.items()}


def to_snapshot_out(record: SnapshotRecord) -> SnapshotOut:
    return SnapshotOut(
        snapshot_id=record.snapshot_id,
        execution_id=record.execution_id,
        mode=record.mode,  # type: ignore[arg-type]
        language=record.language,  # type: ignore[arg-type]
        parent_id=record.parent_id,
        instance_id=record.instance_id,
        branch_id=record.branch_id,
        merged_from=record.merged_from,
        created_at=record.created_at,
        size_bytes=record.size_bytes,
        checksum=record.checksum,
        metadata=record.metadata,
    )


@router.post(
    "/snapshots",
    response_model=SnapshotOut,
    status_code=201,
    responses=errors(
        {
            400: "Neither execution_id nor instance_id, or the execution keeps no live state",
            404: "No such execution or instance",
            409: "The instance is stopped",
            507: "The node cannot hold the snapshot now",
        }
    ),
    summary="Create a snapshot",
)
async def create_snapshot(body: SnapshotIn, node: NodeDep, principal: ExecutePrincipalDep) -> SnapshotOut:
    """Capture a live context (processes, memory and files) without stopping it."""
    record = await node.snapshots.create(
        principal.tenant_id, execution_id=body.execution_id, instance_id=body.instance_id, metadata=body.metadata
    )
    return to_snapshot_out(record)


@router.get(
    "/snapshots",
    response_model=SnapshotListOut,
    responses=errors({400: "Bad filter or page"}),
    summary="List snapshots",
)
async def list_snapshots(
    node: NodeDep,
    principal: ReadPrincipalDep,
    mode: Annotated[str | None, Query(description="checkpointed, branched or merged")] = None,
    parent_id: Annotated[str | None, Query(description="Only the children of this snapshot")] = None,
    limit: Annotated[int, Query(description="Page size, 1 to 100")] = 20,
    offset: Annotated[int, Query(description="Snapshots to skip")] = 0,
) -> SnapshotListOut:
    """The caller's snapshots, newest first."""
    page = await node.snapshots.page(principal.tenant_id, mode=mode, parent_id=parent_id, limit=limit, offset=offset)
    return SnapshotListOut(
        snapshots=[to_snapshot_out(record) for record in page.snapshots],
        total=page.total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get(
    "/snapshots/{snapshot_id}",
    response_model=SnapshotOut,
    responses=errors({404: "No such snapshot"}),
    summary="Get a snapshot",
)
async def get_snapshot(snapshot_id: str, node: NodeDep, principal: ReadPrincipalDep) -> SnapshotOut:
    return to_snapshot_out(await node.snapshots.get(principal.tenant_id, snapshot_id))


@router.post(
    "/snapshots/{snapshot_id}/restore",
    response_model=RestoreOut,
    responses=errors(
        {
            400: "The account runs its maximum of instances",
            404: "No such snapshot",
            409: "The snapshot's content is corrupted (it is not restored)",
            507: "The node cannot hold another live context now",
        }
    ),
    summary="Restore a snapshot",
)
async def restore_snapshot(snapshot_id: str, node: NodeDep, principal: ExecutePrincipalDep) -> RestoreOut:
    """Restore into a new live context; each restore is independent of the others."""
    restored = await node.snapshots.restore(principal.tenant_id, snapshot_id)
    return RestoreOut(
        execution_id=restored.execution_id,
        snapshot_id=restored.snapshot_id,
        status="restored",
        duration_ms=restored.duration_ms,
        instance_id=restored.instance_id,
    )


@router.delete(
    "/snapshots/{snapshot_id}",
    response_model=SnapshotDeletedOut,
    responses=errors({404: "No such snapshot", 409: "Branches or child snapshots still need it"}),
    summary="Delete a snapshot",
)
async def delete_snapshot(
    snapshot_id: str,
    node: NodeDep,
    principal: ExecutePrincipalDep,
    force: Annotated[bool, Query(description="Also delete the branches whose head it is")] = False,
) -> SnapshotDeletedOut:
    """Remove a snapshot permanently; its content is freed when no other snapshot shares it."""
    deleted = await node.snapshots.delete(principal.tenant_id, snapshot_id, force=force)
    return SnapshotDeletedOut(
        snapshot_id=deleted.snapshot_id,
        deleted=True,
        deleted_branches=deleted.deleted_branches,
        reparented_children=deleted.reparented_children,
    )
