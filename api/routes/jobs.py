"""Jobs called on chain that this operator answered: full output and signed receipt, for anyone to verify."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path

from api.deps import NodeDep
from api.routes.snapshots import errors

router = APIRouter(tags=["tangle"])


@router.get(
    "/jobs/{service_id}/{call_id}",
    responses=errors({404: "This operator has no such job"}),
    summary="Get a chain job's output and receipt",
)
async def get_chain_job(
    node: NodeDep,
    service_id: int = Path(..., ge=0, le=2**64 - 1),
    call_id: int = Path(..., ge=0, le=2**64 - 1),
) -> dict[str, Any]:
    """Public, like the chain itself: the output and receipt whose hash and signature the operator posted
    with ``Services.submit_result``. Check them with ``faas verify`` or ``TangleFaaSClient``."""
    return await node.chain_jobs.public_view(service_id, call_id)
