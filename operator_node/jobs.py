"""Running a job called on chain through the same service layer the REST API uses.

Each caller account is a tenant of its own (``chain_`` + a hash of its address), created on
its first job, so its snapshots, branches and instances are its own, as with an API key.
Every outcome — success, a bad argument, a compile error, a timeout — becomes a
:class:`JobOutput`: a call is never left without an answer.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field

from blueprint import (
    BranchCreateJob,
    BranchMergeJob,
    ExecuteJob,
    JobArgumentError,
    JobRequest,
    SnapshotCreateJob,
    SnapshotRestoreJob,
    decode_job_args_scale,
)
from service import Node
from service.errors import ExecutionTimedOut, ServiceError
from service.records import ExecutionRecord
from service.requests import ExecutionRequest, RequestedResources
from store import api_keys as stored_keys

TENANT_PREFIX = "chain_"


@dataclass(frozen=True)
class JobOutput:
    """What a job produced; its stdout and stderr hashes go into the receipt."""

    status: str
    """``completed``, ``failed`` or ``timeout``."""
    exit_code: int
    """The program's exit code; -1 when there is none (it never ran, or was killed)."""
    stdout: str
    stderr: str
    reference: str
    """The execution, snapshot or branch id; the error code when the job failed before running."""
    image_digest: str
    code_hash: bytes
    started_at_ms: int
    finished_at_ms: int
    error: dict[str, str] | None = None
    ids: dict[str, str] = field(default_factory=dict)
    """The execution's own ids (``execution_id``, ``instance_id``, ``snapshot_id``, ``branch_id``)."""

    def to_json(self) -> dict[str, object]:
        return {
            "status": self.status,
            "exit_code": self.exit_code,
            "stdout": self.stdout,
            "stderr": self.stderr,
            "reference": self.reference,
            "error": self.error,
            **self.ids,
        }


def tenant_of(caller: str) -> str:
    """The tenant id of a chain account (ss58 address)."""
    return TENANT_PREFIX + hashlib.sha256(caller.encode()).hexdigest()[:24]


class JobRunner:
    """Runs decoded job calls on a node's services, as the caller's tenant."""

    def __init__(self, node: Node, *, caller_credits: float) -> None:
        self.node = node
        self.caller_credits = caller_credits

    async def run(self, job: int, args_scale: bytes, caller: str) -> JobOutput:
        started = _now_ms()
        code_hash = hashlib.sha256(args_scale).digest()
        try:
            request = decode_job_args_scale(job, args_scale)
        except JobArgumentError as exc:
            return _failure("INVALID_ARGUMENTS", str(exc), started, code_hash)
        if isinstance(request, ExecuteJob):
            code_hash = hashlib.sha256(request.code.encode()).digest()
        tenant_id = await self._tenant(caller)
        try:
            return await self._dispatch(tenant_id, request, started, code_hash)
        except ExecutionTimedOut as exc:
            details = exc.details or {}
            return JobOutput(
                status="timeout",
                exit_code=-1,
                stdout=str(details.get("stdout", "")),
                stderr=str(details.get("stderr", "")),
                reference=str(details.get("execution_id", exc.code)),
                image_digest="",
                code_hash=code_hash,
                started_at_ms=started,
                finished_at_ms=_now_ms(),
                error={"code": exc.code, "message": exc.message},
            )
        except ServiceError as exc:
            return _failure(exc.code, exc.message, started, code_hash)

    async def _dispatch(self, tenant_id: str, request: JobRequest, started: int, code_hash: bytes) -> JobOutput:
        if isinstance(request, ExecuteJob):
            record = await self.node.executions.execute(tenant_id, _execution_request(request))
            return _from_execution(record, started, code_hash)
        answer: dict[str, object]
        if isinstance(request, SnapshotCreateJob):
            snapshot = await self.node.snapshots.create(tenant_id, execution_id=None, instance_id=request.instance_id)
            answer, reference = (
                {"snapshot_id": snapshot.snapshot_id, "checksum": snapshot.checksum},
                snapshot.snapshot_id,
            )
        elif isinstance(request, SnapshotRestoreJob):
            restored = await self.node.snapshots.restore(tenant_id, request.snapshot_id)
            answer = {"execution_id": restored.execution_id, "instance_id": restored.instance_id}
            reference = restored.instance_id
        elif isinstance(request, BranchCreateJob):
            branch = await self.node.branches.create(
                tenant_id, snapshot_id=request.snapshot_id, parent_branch=None, metadata={"name": request.name}
            )
            answer, reference = {"branch_id": branch.branch_id}, branch.branch_id
        else:
            assert isinstance(request, BranchMergeJob)
            merged = await self.node.branches.merge(tenant_id, list(request.branch_ids), strategy=request.strategy)
            answer, reference = {"snapshot_id": merged.snapshot.snapshot_id}, merged.snapshot.snapshot_id
        return JobOutput(
            status="completed",
            exit_code=0,
            stdout=json.dumps(answer, sort_keys=True),
            stderr="",
            reference=reference,
            image_digest="",
            code_hash=code_hash,
            started_at_ms=started,
            finished_at_ms=_now_ms(),
        )

    async def _tenant(self, caller: str) -> str:
        tenant_id = tenant_of(caller)
        async with self.node.database.session() as session, session.begin():
            if await stored_keys.get_tenant(session, tenant_id) is None:
                await stored_keys.add_tenant(
                    session, tenant_id=tenant_id, name=f"chain account {caller}", credits=self.caller_credits
                )
        return tenant_id


def _execution_request(job: ExecuteJob) -> ExecutionRequest:
    resources = job.resources
    return ExecutionRequest(
        language=job.language,
        code=job.code,
        mode=job.mode,
        resources=RequestedResources(
            cpu_cores=resources.get("cpu_cores"),
            memory_mb=resources.get("memory_mb"),
            timeout_ms=resources.get("timeout_ms") or resources.get("timeout"),
        ),
        env_vars=job.env,
        files=job.files,
        snapshot_id=job.snapshot_id,
        branch_id=job.branch_id,
    )


def _from_execution(record: ExecutionRecord, started: int, code_hash: bytes) -> JobOutput:
    error = None if record.error is None else {"code": "EXECUTION_FAILED", "message": record.error}
    # What a caller continues from: the new snapshot (checkpointed, branched), else the instance (persistent).
    reference = record.snapshot_id or record.instance_id or record.execution_id
    return JobOutput(
        status="completed" if record.status == "completed" else "failed",
        exit_code=record.exit_code if record.exit_code is not None else -1,
        stdout=record.stdout,
        stderr=record.stderr,
        reference=reference,
        ids={
            key: value
            for key, value in (
                ("execution_id", record.execution_id),
                ("instance_id", record.instance_id),
                ("snapshot_id", record.snapshot_id),
                ("branch_id", record.branch_id),
            )
            if value is not None
        },
        image_digest=record.image_id or "",
        code_hash=code_hash,
        started_at_ms=started,
        finished_at_ms=_now_ms(),
        error=error,
    )


def _failure(code: str, message: str, started: int, code_hash: bytes) -> JobOutput:
    return JobOutput(
        status="failed",
        exit_code=-1,
        stdout="",
        stderr=message,
        reference=code,
        image_digest="",
        code_hash=code_hash,
        started_at_ms=started,
        finished_at_ms=_now_ms(),
        error={"code": code, "message": message},
    )


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


__all__ = ["JobOutput", "JobRunner", "tenant_of"]
