"""The chain side of the operator node: follow finalized blocks, run the jobs assigned to us, post one result each.

Exactly one result per call, across crashes and lost connections:

- every ``JobCalled`` of a finalized block is recorded in the ledger together with the
  block cursor, in one transaction, so a restart resumes at the first unrecorded block
  (calls made while the node was down are found the same way);
- a result is only ever sent from a stored, signed receipt (state ``executed``); a crash
  before that re-runs the job, a crash after it sends the same receipt;
- results are sent as mortal extrinsics (valid ``mortal_blocks`` blocks) without waiting for a
  block, and confirmed by reading ``Services.JobResults`` on later passes; one not included
  by the time its era ended can never be, and only then is it sent again;
- before sending, ``Services.JobResults`` is read: a result already on chain (ours, from
  before a crash) is recorded, never repeated.

Assignment (several operators on one service): call ``c`` belongs to the operator at
position ``c mod n`` of the service's operator list as the chain stores it, so each call has
exactly one answering operator and every operator computes the same split on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from substrateinterface import Keypair

from attestations import Receipt, ReceiptSigner, blake2_256, receipt_hash, sha256
from blueprint import JobResult
from chain import AsyncServicesClient, ChainClient, ChainError, ServiceInstance
from operator_node.jobs import JobOutput, JobRunner
from service.chain_jobs import EXECUTED, RUNNING, SENT, SUBMITTED, CalledJob, ChainJob, ChainJobLedger

log = logging.getLogger(__name__)

RECONNECT_BACKOFF_S = (0.5, 1.0, 2.0, 5.0)


@dataclass(frozen=True)
class OperatorSettings:
    chain_url: str
    account: Keypair
    """The operator's chain account (signs ``submit_result``)."""
    role_key: ReceiptSigner
    """The secp256k1 key registered in the operator's preferences (signs receipts)."""
    service_ids: frozenset[int] | None = None
    """Serve only these services; None: every service this account operates."""
    start_block: int = 0
    """First block to scan when the ledger has no cursor for the chain yet."""
    poll_interval_s: float = 0.5
    max_concurrent_jobs: int = 2
    mortal_blocks: int = 16
    """How many blocks a sent result stays valid; it is sent again only after that, if still not included."""


def assigned_operator(service: ServiceInstance, call_id: int) -> str | None:
    """The account that answers ``call_id`` of ``service`` (see the module's assignment rule)."""
    return service.operators[call_id % len(service.operators)] if service.operators else None


class ChainOperator:
    """Runs until cancelled; reconnects with backoff whenever the chain goes away."""

    def __init__(self, settings: OperatorSettings, ledger: ChainJobLedger, runner: JobRunner) -> None:
        self.settings = settings
        self.ledger = ledger
        self.runner = runner
        self.chain = AsyncServicesClient(ChainClient(settings.chain_url, connect_attempts=1))
        self.address: str = settings.account.ss58_address
        self.chain_id = ""
        self._services: dict[int, ServiceInstance] = {}
        self._in_flight: dict[tuple[int, int], asyncio.Task[None]] = {}
        self._slots = asyncio.Semaphore(settings.max_concurrent_jobs)
        self._sending = asyncio.Lock()
        self.ready = asyncio.Event()
        """Set once connected and caught up with the finalized head the first time."""

    async def run(self) -> None:
        failures = 0
        try:
            while True:
                try:
                    await self.chain.connect()
                    self.chain_id = "0x" + (await self.chain.genesis_hash()).hex()
                    failures = 0
                    await self._follow()
                except ChainError as exc:
                    pause = RECONNECT_BACKOFF_S[min(failures, len(RECONNECT_BACKOFF_S) - 1)]
                    failures += 1
                    log.warning("chain %s: %s; reconnecting in %.1f s", self.settings.chain_url, exc, pause)
                except Exception:  # every pass resumes from the ledger: keep following, and log why
                    pause = RECONNECT_BACKOFF_S[-1]
                    failures += 1
                    log.exception("the chain listener failed; starting again in %.1f s", pause)
                    await asyncio.to_thread(self.chain.chain.close)
                    await asyncio.sleep(pause)
        finally:
            for task in self._in_flight.values():
                task.cancel()
            for task in list(self._in_flight.values()):
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await asyncio.to_thread(self.chain.chain.close)

    async def _follow(self) -> None:
        while True:
            await self._record_new_blocks()
            self.ready.set()
            for job in await self.ledger.unfinished(self.chain_id):
                key = (job.service_id, job.call_id)
                if key not in self._in_flight:
                    task = asyncio.create_task(self._complete(job))
                    self._in_flight[key] = task
                    task.add_done_callback(lambda _, key=key: self._in_flight.pop(key, None))  # type: ignore[misc]
            await asyncio.sleep(self.settings.poll_interval_s)

    async def _record_new_blocks(self) -> None:
        finalized = await self.chain.finalized_number()
        cursor = await self.ledger.cursor(self.chain_id)
        first = self.settings.start_block if cursor is None else cursor + 1
        for number in range(first, finalized + 1):
            calls = await self.chain.finalized_job_calls(number, number, self.settings.service_ids)
            mine = [call for call in calls if await self._is_mine(call.service_id, call.call_id)]
            new = await self.ledger.record_block(
                self.chain_id,
                number,
                [
                    CalledJob(c.service_id, c.call_id, c.job, c.caller, c.block_number, c.block_hash, c.args_scale)
                    for c in mine
                ],
            )
            if new:
                log.info("block %d: %d new job call(s) for this operator", number, new)

    async def _is_mine(self, service_id: int, call_id: int) -> bool:
        service = self._services.get(service_id)
        if service is None or self.address not in service.operators:
            service = await self.chain.service(service_id)
            if service is None:
                return False
            self._services[service_id] = service
        return assigned_operator(service, call_id) == self.address

    async def _complete(self, job: ChainJob) -> None:
        async with self._slots:
            try:
                if job.state == SENT:
                    await self._confirm(job)
                    return
                if job.state != EXECUTED:
                    if await self._already_answered(job):
                        return
                    job = await self._execute(job)
                await self._send(job)
            except ChainError as exc:  # retried on the next pass of the follow loop
                log.warning("job %d/%d: chain error: %s", job.service_id, job.call_id, exc)

    async def _already_answered(self, job: ChainJob) -> bool:
        existing = await self.chain.job_result(job.service_id, job.call_id)
        if existing is None:
            return False
        log.info("job %d/%d already has a result on chain; not answering again", job.service_id, job.call_id)
        on_chain = {"receipt_hash": "0x" + existing.receipt_hash.hex(), "signature": "0x" + existing.signature.hex()}
        await self.ledger.update(job, state=SUBMITTED, **on_chain)
        return True

    async def _execute(self, job: ChainJob) -> ChainJob:
        await self.ledger.update(job, state=RUNNING, attempts=job.attempts + 1)
        output = await self.runner.run(job.job, job.args_scale, job.caller)
        receipt = self._receipt(job, output)
        digest = receipt_hash(receipt)
        signature = self.settings.role_key.sign(digest)
        await self.ledger.update(
            job,
            state=EXECUTED,
            output=output.to_json(),
            receipt=receipt.to_json(),
            receipt_hash="0x" + digest.hex(),
            signature="0x" + signature.hex(),
        )
        stored = await self.ledger.get(job.chain_id, job.service_id, job.call_id)
        assert stored is not None
        return stored

    async def _send(self, job: ChainJob) -> None:
        """Hand the stored result to the pool (not waiting for a block: the follow loop confirms it)."""
        assert job.output is not None and job.receipt_hash and job.signature
        if await self._already_answered(job):
            return
        result = JobResult(
            receipt_hash=bytes.fromhex(job.receipt_hash[2:]),
            signature=bytes.fromhex(job.signature[2:]),
            status=str(job.output["status"]),
            exit_code=int(str(job.output["exit_code"])),
            reference=str(job.output["reference"])[:200],
        )
        # Recorded as sent *before* it is sent: a crash in between leaves a record that waits for the
        # extrinsic's era to end and sends again, never a second extrinsic while the first may land.
        # One at a time: each takes the account's next nonce, which the pool must have seen.
        async with self._sending:
            extrinsic = await self.chain.prepare_result(
                self.settings.account, job.service_id, job.call_id, result, mortal_blocks=self.settings.mortal_blocks
            )
            await self.ledger.update(
                job, state=SENT, submitted_block=extrinsic.extrinsic_hash, valid_until=extrinsic.valid_until
            )
            await self.chain.send(extrinsic)
        log.info("job %d/%d: result sent (%s)", job.service_id, job.call_id, extrinsic.extrinsic_hash)

    async def _confirm(self, job: ChainJob) -> None:
        """A sent result: on chain now (done), still includable (wait), or expired unincluded (send again)."""
        if await self.chain.job_result(job.service_id, job.call_id) is not None:
            await self.ledger.update(job, state=SUBMITTED)
            log.info("job %d/%d: result on chain", job.service_id, job.call_id)
        elif job.valid_until is not None and await self.chain.finalized_number() > job.valid_until:
            log.warning("job %d/%d: result expired unincluded; sending it again", job.service_id, job.call_id)
            await self.ledger.update(job, state=EXECUTED, valid_until=None)

    def _receipt(self, job: ChainJob, output: JobOutput) -> Receipt:
        return Receipt(
            chain_id=bytes.fromhex(job.chain_id[2:]),
            service_id=job.service_id,
            call_id=job.call_id,
            job=job.job,
            args_hash=blake2_256(job.args_scale),
            image_digest=output.image_digest,
            code_hash=output.code_hash,
            exit_code=output.exit_code,
            status=output.status,
            stdout_sha256=sha256(output.stdout.encode()),
            stderr_sha256=sha256(output.stderr.encode()),
            started_at_ms=output.started_at_ms,
            finished_at_ms=output.finished_at_ms,
            operator_key=self.settings.role_key.public_key_65,
        )


__all__ = ["ChainOperator", "OperatorSettings", "assigned_operator"]
