"""POST /execute and GET /executions/{id}."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import ExecutePrincipalDep, NodeDep, ReadPrincipalDep
from api.schemas import CostOut, ErrorOut, ExecuteIn, ExecutionOut, UsageOut
from service import ExecutionRecord, ExecutionRequest, RequestedResources
from service.requests import infer_mode

router = APIRouter(tags=["executions"])

ERRORS: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorOut, "description": description}
    for status, description in {
        400: "Invalid request",
        401: "Invalid or missing API key",
        402: "The tenant's credits are used up",
        403: "The API key lacks the execute scope",
        404: "The instance, snapshot or branch is not the caller's",
        408: "Execution timed out (partial output in details)",
        409: "The instance is stopped, or the branch moved on meanwhile",
        429: "Rate limit or concurrent-execution limit of the key exceeded",
        500: "Internal error",
        507: "The node cannot take the work now",
    }.items()
}


def to_request(body: ExecuteIn) -> ExecutionRequest:
    resources = body.resources
    return ExecutionRequest(
        language=body.language,
        code=body.code,
        mode=infer_mode(body.mode, instance_id=body.instance_id, branch_id=body.branch_id),
        resources=RequestedResources(
            cpu_cores=resources.cpu_cores if resources else None,
            memory_mb=resources.memory_mb if resources else None,
            timeout_ms=resources.timeout_ms if resources else None,
        ),
        env_vars=body.env_vars or {},
        files=body.files or {},
        stdin=body.stdin,
        interactive=body.interactive or body.tty,
        tty=body.tty,
        instance_id=body.instance_id,
        snapshot_id=body.snapshot_id,
        branch_id=body.branch_id,
    )


def to_response(record: ExecutionRecord) -> ExecutionOut:
    return ExecutionOut(
        execution_id=record.execution_id,
        status=record.status,  # type: ignore[arg-type]
        exit_code=record.exit_code,
        stdout=record.stdout,
        stderr=record.stderr,
        duration_ms=record.duration_ms,
        mode=record.mode,  # type: ignore[arg-type]
        cached=record.cached,
        cost=CostOut(compute=record.cost_compute, total=record.cost_total),
        language=record.language,  # type: ignore[arg-type]
        truncated=record.truncated,
        oom_killed=record.oom_killed,
        error=record.error,
        cached_from=record.cached_from,
        build_cached=record.build_cached,
        usage=UsageOut(cpu_seconds=record.cpu_seconds, memory_peak_bytes=record.memory_peak_bytes),
        created_at=record.created_at,
        finished_at=record.finished_at,
        instance_id=record.instance_id,
        snapshot_id=record.snapshot_id,
        branch_id=record.branch_id,
    )


@router.post(
    "/execute",
    response_model=ExecutionOut,
    responses={**ERRORS, 202: {"model": ExecutionOut, "description": "Started (async): status 'running'"}},
    summary="Execute code",
)
async def execute(body: ExecuteIn, node: NodeDep, principal: ExecutePrincipalDep, response: Response) -> ExecutionOut:
    """Run code in a fresh isolated sandbox and wait for the result (or, with ``async``, start it)."""
    request = to_request(body)
    slot = node.rate_limiter.execution_slot(principal.key_id, node.limits_for(principal))
    if body.run_async:
        response.status_code = 202
        return to_response(
            await node.executions.start(principal.tenant_id, request, guard=slot, known_balance=principal.credits)
        )
    async with slot:
        return to_response(await node.executions.execute(principal.tenant_id, request, known_balance=principal.credits))


@router.get(
    "/executions/{execution_id}",
    response_model=ExecutionOut,
    responses={404: {"model": ErrorOut, "description": "Not found"}, 401: ERRORS[401]},
    summary="Get an execution",
)
async def get_execution(execution_id: str, node: NodeDep, principal: ReadPrincipalDep) -> ExecutionOut:
    """A stored execution of the caller's tenant."""
    return to_response(await node.executions.get(principal.tenant_id, execution_id))
