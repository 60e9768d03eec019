"""The asyncio face of ``ServicesClient``: each call runs the blocking one in a worker thread."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence

from substrateinterface import Keypair

from attestations import ChainRecord
from blueprint import FieldValue, JobResult
from chain.client import ChainClient, SentExtrinsic
from chain.models import JobCallEvent, JobResultEvent, OperatorPreferences, ServiceInstance
from chain.services import ServicesClient


class AsyncServicesClient:
    """``ServicesClient`` for asyncio code (the operator node); same methods, awaited."""

    def __init__(self, chain: ChainClient) -> None:
        self.chain = chain
        self.sync = ServicesClient(chain)

    async def connect(self) -> AsyncServicesClient:
        """Connect the underlying client (with retries) without blocking the loop."""
        await asyncio.to_thread(self.chain.connect)
        return self

    async def genesis_hash(self) -> bytes:
        """The chain's genesis hash."""
        return await asyncio.to_thread(lambda: self.chain.genesis_hash)

    async def finalized_number(self) -> int:
        """The number of the latest finalized block."""
        return await asyncio.to_thread(self.chain.finalized_number)

    async def finalized_job_calls(
        self, from_block: int, to_block: int, service_ids: Collection[int] | None = None
    ) -> list[JobCallEvent]:
        """See ``ServicesClient.finalized_job_calls``."""
        return await asyncio.to_thread(self.sync.finalized_job_calls, from_block, to_block, service_ids)

    async def job_result(self, service_id: int, call_id: int) -> JobResult | None:
        """See ``ServicesClient.job_result``."""
        return await asyncio.to_thread(self.sync.job_result, service_id, call_id)

    async def operator_preferences(self, blueprint_id: int, operator: str) -> OperatorPreferences | None:
        """See ``ServicesClient.operator_preferences``."""
        return await asyncio.to_thread(self.sync.operator_preferences, blueprint_id, operator)

    async def service(self, service_id: int) -> ServiceInstance | None:
        """See ``ServicesClient.service``."""
        return await asyncio.to_thread(self.sync.service, service_id)

    async def submit_result(
        self, keypair: Keypair, service_id: int, call_id: int, result: JobResult, *, wait_for_finalization: bool = False
    ) -> str:
        """See ``ServicesClient.submit_result``."""
        return await asyncio.to_thread(
            lambda: self.sync.submit_result(
                keypair, service_id, call_id, result, wait_for_finalization=wait_for_finalization
            )
        )

    async def prepare_result(
        self, keypair: Keypair, service_id: int, call_id: int, result: JobResult, *, mortal_blocks: int = 16
    ) -> SentExtrinsic:
        """See ``ServicesClient.prepare_result``."""
        return await asyncio.to_thread(
            lambda: self.sync.prepare_result(keypair, service_id, call_id, result, mortal_blocks=mortal_blocks)
        )

    async def send(self, extrinsic: SentExtrinsic) -> None:
        """See ``ChainClient.send``."""
        await asyncio.to_thread(self.chain.send, extrinsic)

    async def submit_job_call(self, keypair: Keypair, service_id: int, job: int, args: Sequence[FieldValue]) -> int:
        """See ``ServicesClient.submit_job_call``."""
        return await asyncio.to_thread(self.sync.submit_job_call, keypair, service_id, job, args)

    async def wait_for_job_result(
        self, service_id: int, call_id: int, *, from_block: int, wait_s: float = 120.0
    ) -> JobResultEvent:
        """See ``ServicesClient.wait_for_job_result`` (a worker thread polls; the loop stays free)."""
        return await asyncio.to_thread(
            lambda: self.sync.wait_for_job_result(service_id, call_id, from_block=from_block, timeout=wait_s)
        )

    async def chain_record(self, service_id: int, call_id: int, *, operator: str | None = None) -> ChainRecord:
        """See ``ServicesClient.chain_record``."""
        return await asyncio.to_thread(lambda: self.sync.chain_record(service_id, call_id, operator=operator))
