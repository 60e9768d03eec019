"""The Branch API: create and list branches, merge them into a new snapshot."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ExecutePrincipalDep, NodeDep, ReadPrincipalDep
from api.routes.snapshots import errors
from api.schemas import BranchIn, BranchListOut, BranchOut, MergeIn, MergeOut
from service.branches import BranchRecord

router = APIRouter(tags=["branches"])


def to_branch_out(record: BranchRecord) -> BranchOut:
    return BranchOut(
        branch_id=record.branch_id,
        snapshot_id=record.snapshot_id,
        head_snapshot_id=record.head_snapshot_id,
        parent_branch=record.parent_branch,
        created_at=record.created_at,
        updated_at=record.updated_at,
        metadata=record.metadata,
    )


@router.post(
    "/branches",
    response_model=BranchOut,
    status_code=201,
    responses=errors({400: "Neither snapshot_id nor parent_branch", 404: "No such snapshot or parent branch"}),
    summary="Create a branch",
)
async def create_branch(body: BranchIn, node: NodeDep, principal: ExecutePrincipalDep) -> BranchOut:
    """A branch whose head starts at a snapshot; executions in mode branched advance it."""
    record = await node.branches.create(
        principal.tenant_id, snapshot_id=body.snapshot_id, parent_branch=body.parent_branch, metadata=body.metadata
    )
    return to_branch_out(record)


@router.get(
    "/branches",
    response_model=BranchListOut,
    responses=errors({400: "Bad page"}),
    summary="List branches",
)
async def list_branches(
    node: NodeDep,
    principal: ReadPrincipalDep,
    snapshot_id: Annotated[str | None, Query(description="Branches created from, or headed at, this snapshot")] = None,
    parent_branch: Annotated[str | None, Query(description="Only the children of this branch")] = None,
    limit: Annotated[int, Query(description="Page size, 1 to 100")] = 20,
    offset: Annotated[int, Query(description="Branches to skip")] = 0,
) -> BranchListOut:
    """The caller's branches, newest first."""
    page = await node.branches.page(
        principal.tenant_id, snapshot_id=snapshot_id, parent_branch=parent_branch, limit=limit, offset=offset
    )
    return BranchListOut(
        branches=[to_branch_out(record) for record in page.branches],
        total=page.total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get(
    "/branches/{branch_id}",
    response_model=BranchOut,
    responses=errors({404: "No such branch"}),
    summary="Get a branch",
)
async def get_branch(branch_id: str, node: NodeDep, principal: ReadPrincipalDep) -> BranchOut:
    return to_branch_out(await node.branches.get(principal.tenant_id, branch_id))


@router.post(
    "/branches/merge",
    response_model=MergeOut,
    status_code=201,
    responses=errors(
        {
            400: "Fewer than two branches, or branches of different languages",
            404: "No such branch",
            409: "The three-way merge has conflicts (paths and hunks in details)",
            507: "The node cannot start the merged context now",
        }
    ),
    summary="Merge branches",
)
async def merge_branches(body: MergeIn, node: NodeDep, principal: ExecutePrincipalDep) -> MergeOut:
    """Merge the branches' workspace files into a new snapshot; memory state starts fresh."""
    merged = await node.branches.merge(
        principal.tenant_id, body.branch_ids, strategy=body.strategy, metadata=body.metadata
    )
    return MergeOut(
        snapshot_id=merged.snapshot.snapshot_id,
        checksum=merged.snapshot.checksum,
        size_bytes=merged.snapshot.size_bytes,
        branch_ids=merged.branch_ids,
        strategy=merged.strategy,
        base_snapshot_id=merged.base_snapshot_id,
        merged_files=merged.files,
        resolved_conflicts=merged.resolved_conflicts,
        memory_state="fresh",
        note=merged.note,
        created_at=merged.snapshot.created_at,
    )
