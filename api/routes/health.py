"""GET /health: liveness and warm-pool readiness (no authentication)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import NodeDep
from api.schemas import HealthOut

router = APIRouter(tags=["node"])


@router.get("/health", response_model=HealthOut, summary="Node health")
async def health(node: NodeDep) -> HealthOut:
    languages = node.executor.available_languages()
    return HealthOut(
        status="ok",
        languages=languages,
        warm_sandboxes={language: node.executor.pool.ready_count(language) for language in languages},
        active_executions=node.executor.active_executions,
    )
