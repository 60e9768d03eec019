"""The operator's durable ledger of jobs called on chain: what arrived, how far each got, what was attested.

The operator node writes it (:mod:`operator_node`); the REST API serves each entry at
``GET /api/v1/jobs/{service_id}/{call_id}`` so anyone can fetch the full output and the
signed receipt and check them against the chain.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from blueprint import JobArgumentError, job_spec
from service.errors import NotFound
from store import Database
from store import chain_jobs as stored
from store.models import ChainJobRow

RECEIVED, RUNNING, EXECUTED, SENT, SUBMITTED = "received", "running", "executed", "sent", "submitted"


@dataclass(frozen=True)
class CalledJob:
    """A ``JobCalled`` of a finalized block, assigned to this operator."""

    service_id: int
    call_id: int
    job: int
    caller: str
    block_number: int
    block_hash: str
    args_scale: bytes


@dataclass(frozen=True)
class ChainJob:
    chain_id: str
    service_id: int
    call_id: int
    job: int
    caller: str
    block_number: int
    args_scale: bytes
    state: str
    output: dict[str, Any] | None
    receipt: dict[str, Any] | None
    receipt_hash: str | None
    signature: str | None
    submitted_block: str | None
    valid_until: int | None
    attempts: int

    @classmethod
    def from_row(cls, row: ChainJobRow) -> ChainJob:
        return cls(
            chain_id=row.chain_id,
            service_id=row.service_id,
            call_id=row.call_id,
            job=row.job,
            caller=row.caller,
            block_number=row.block_number,
            args_scale=bytes.fromhex(row.args_scale.removeprefix("0x")),
            state=row.state,
            output=row.output,
            receipt=row.receipt,
            receipt_hash=row.receipt_hash,
            signature=row.signature,
            submitted_block=row.submitted_block,
            valid_until=row.valid_until,
            attempts=row.attempts,
        )


class ChainJobLedger:
    """Reads and writes the ledger; every write is its own transaction."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def cursor(self, chain_id: str) -> int | None:
        async with self.database.session() as session:
            return await stored.cursor(session, chain_id)

    async def record_block(self, chain_id: str, block_number: int, calls: Sequence[CalledJob]) -> int:
        """Record a finalized block's calls and move the cursor past it, atomically; how many were new."""
        now = datetime.now(UTC)
        rows = [
            ChainJobRow(
                chain_id=chain_id,
                service_id=call.service_id,
                call_id=call.call_id,
                job=call.job,
                caller=call.caller,
                block_number=call.block_number,
                block_hash=call.block_hash,
                args_scale="0x" + call.args_scale.hex(),
                state=RECEIVED,
                attempts=0,
                created_at=now,
                updated_at=now,
            )
            for call in calls
        ]
        async with self.database.session() as session, session.begin():
            return await stored.record_block(session, chain_id, block_number, rows, at=now)

    async def unfinished(self, chain_id: str) -> list[ChainJob]:
        async with self.database.session() as session:
            return [ChainJob.from_row(row) for row in await stored.unfinished(session, chain_id)]

    async def update(self, job: ChainJob, **values: Any) -> None:
        values["updated_at"] = datetime.now(UTC)
        async with self.database.session() as session, session.begin():
            await stored.update_job(session, job.chain_id, job.service_id, job.call_id, **values)

    async def get(self, chain_id: str, service_id: int, call_id: int) -> ChainJob | None:
        async with self.database.session() as session:
            row = await stored.get_job(session, chain_id, service_id, call_id)
            return ChainJob.from_row(row) if row is not None else None

    async def public_view(self, service_id: int, call_id: int) -> dict[str, Any]:
        """The job as the operator's REST endpoint serves it (the shape ``TangleFaaSClient`` reads).

        Raises:
            NotFound: this operator has no such job.
        """
        async with self.database.session() as session:
            row = await stored.find_job(session, service_id, call_id)
        if row is None:
            raise NotFound(
                f"this operator has no job {call_id} of service {service_id}",
                details={"service_id": service_id, "call_id": call_id},
            )
        job = ChainJob.from_row(row)
        output = job.output
        return {
            "service_id": job.service_id,
            "call_id": job.call_id,
            "job": job.job,
            "job_name": _job_name(job.job),
            "status": _public_status(job),
            "output": output,
            "receipt": job.receipt,
            "receipt_hash": job.receipt_hash,
            "signature": job.signature,
            "submitted_extrinsic": job.submitted_block if job.state in (SENT, SUBMITTED) else None,
        }


def _public_status(job: ChainJob) -> str:
    if job.state == RECEIVED:
        return "pending"
    if job.state == RUNNING:
        return "running"
    return "completed" if job.output is not None and job.output.get("status") == "completed" else "failed"


def _job_name(job: int) -> str | None:
    try:
        return job_spec(job).name
    except JobArgumentError:
        return None


__all__ = ["EXECUTED", "RECEIVED", "RUNNING", "SENT", "SUBMITTED", "CalledJob", "ChainJob", "ChainJobLedger"]
