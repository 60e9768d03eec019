"""The resource model over the Services pallet: job calls, results, operators, services.

Exact argument bytes come from storage, never from re-encoding decoded values: ``Services.JobCalls`` holds
``JobCall { service_id: u64, job: u8, args: Vec<Field> }``, so the args' SCALE bytes are that value's raw
bytes after its first 9; ``JobResults`` holds ``JobCallResult { service_id: u64, call_id: u64, result }``,
so the result's bytes start at 16.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from typing import Any

from substrateinterface import Keypair

from attestations import ChainRecord, OnChainResult, blake2_256
from blueprint import (
    BlueprintError,
    FieldValue,
    JobResult,
    decode_fields,
    decode_result_fields,
    decode_result_scale,
    encode_result_fields,
)
from chain._errors import ChainDataError, ChainTimeoutError
from chain.client import ChainClient, SentExtrinsic
from chain.models import (
    JobCallEvent,
    JobCallRecord,
    JobResultEvent,
    OperatorPreferences,
    ServiceInstance,
    account,
    operator_preferences,
    service_instance,
)

MODULE = "Services"
_JOB_CALL_HEADER = 8 + 1  # service_id u64, job u8
_JOB_RESULT_HEADER = 8 + 8  # service_id u64, call_id u64


class ServicesClient:
    """Jobs and services of the ``Services`` pallet over a ``ChainClient`` (blocking; see ``chain.aio``)."""

    def __init__(self, chain: ChainClient) -> None:
        self.chain = chain

    def finalized_job_calls(
        self, from_block: int, to_block: int, service_ids: Collection[int] | None = None
    ) -> list[JobCallEvent]:
        """The ``JobCalled`` events of finalized blocks ``from_block..=to_block`` (of ``service_ids`` if given).

        Raises:
            ChainDataError: ``to_block`` is not finalized yet.
        """
        finalized = self.chain.finalized_number()
        if to_block > finalized:
            raise ChainDataError(f"block {to_block} is not finalized yet (finalized: {finalized})")
        calls: list[JobCallEvent] = []
        for number in range(from_block, to_block + 1):
            block_hash = self.chain.block_hash(number)
            for attributes in _attributes_of(self.chain.events(block_hash), "JobCalled"):
                service_id, call_id = int(attributes["service_id"]), int(attributes["call_id"])
                if service_ids is not None and service_id not in service_ids:
                    continue
                record = self.job_call(service_id, call_id, block_hash=block_hash)
                if record is None:
                    raise ChainDataError(f"JobCalled for {service_id}/{call_id} but no JobCalls entry at {block_hash}")
                calls.append(
                    JobCallEvent(
                        number,
                        block_hash,
                        service_id,
                        call_id,
                        int(attributes["job"]),
                        account(attributes["caller"]),
                        record.args_field_values,
                        record.args_scale,
                    )
                )
        return calls

    def job_results_in(self, block_number: int) -> list[JobResultEvent]:
        """The ``JobResultSubmitted`` events of one block."""
        block_hash = self.chain.block_hash(block_number)
        results = []
        for attributes in _attributes_of(self.chain.events(block_hash), "JobResultSubmitted"):
            try:
                result = decode_result_fields(attributes["result"])
            except BlueprintError:
                continue  # not a result of this blueprint's shape; nothing a FaaS client can verify
            results.append(
                JobResultEvent(
                    block_number,
                    block_hash,
                    int(attributes["service_id"]),
                    int(attributes["call_id"]),
                    int(attributes["job"]),
                    account(attributes["operator"]),
                    result,
                )
            )
        return results

    def job_call(self, service_id: int, call_id: int, *, block_hash: str | None = None) -> JobCallRecord | None:
        """``JobCalls(service_id, call_id)`` with the exact args bytes, or None if absent."""
        stored = self.chain.query(MODULE, "JobCalls", [service_id, call_id], block_hash)
        if stored is None:
            return None
        args_scale = bytes(stored.data.data)[_JOB_CALL_HEADER:]
        return JobCallRecord(service_id, call_id, int(stored.value["job"]), args_scale, _fields_or_empty(args_scale))

    def job_result(self, service_id: int, call_id: int, *, block_hash: str | None = None) -> JobResult | None:
        """``JobResults(service_id, call_id)`` as a ``JobResult``, or None while there is none.

        Raises:
            ChainDataError: the stored result is not this blueprint's result shape.
        """
        stored = self.chain.query(MODULE, "JobResults", [service_id, call_id], block_hash)
        if stored is None:
            return None
        try:
            return decode_result_scale(bytes(stored.data.data)[_JOB_RESULT_HEADER:])
        except BlueprintError as exc:
            raise ChainDataError(f"the result of {service_id}/{call_id} is malformed: {exc}") from exc

    def operator_preferences(self, blueprint_id: int, operator: str) -> OperatorPreferences | None:
        """``Operators(blueprint_id, operator)``: role key and REST address, or None if not registered."""
        stored = self.chain.query(MODULE, "Operators", [blueprint_id, operator])
        return None if stored is None else operator_preferences(stored.value)

    def service(self, service_id: int) -> ServiceInstance | None:
        """``Instances(service_id)``, or None if there is no such service."""
        stored = self.chain.query(MODULE, "Instances", [service_id])
        return None if stored is None else service_instance(stored.value)

    def services(self) -> list[ServiceInstance]:
        """Every service instance on chain."""
        return [service_instance(value) for _, value in self.chain.query_map(MODULE, "Instances")]

    def submit_result(
        self, keypair: Keypair, service_id: int, call_id: int, result: JobResult, *, wait_for_finalization: bool = False
    ) -> str:
        """Post ``result`` for the call with ``Services.submit_result``; returns the including block's hash.

        Raises:
            ExtrinsicFailedError: the pallet refused it (not an operator, unknown call, ``TypeCheck``...).
        """
        params = {"service_id": service_id, "call_id": call_id, "result": encode_result_fields(result)}
        receipt = self.chain.submit(
            keypair, MODULE, "submit_result", params, wait_for_finalization=wait_for_finalization
        )
        block_hash: str = receipt.block_hash
        return block_hash

    def prepare_result(
        self, keypair: Keypair, service_id: int, call_id: int, result: JobResult, *, mortal_blocks: int = 16
    ) -> SentExtrinsic:
        """A signed ``Services.submit_result`` valid for ``mortal_blocks`` blocks; send it with ``chain.send``."""
        params = {"service_id": service_id, "call_id": call_id, "result": encode_result_fields(result)}
        return self.chain.prepare(keypair, MODULE, "submit_result", params, mortal_blocks=mortal_blocks)

    def submit_job_call(self, keypair: Keypair, service_id: int, job: int, args: Sequence[FieldValue]) -> int:
        """Call ``job`` of the service with ``Services.call``, wait for inclusion, and return the call id.

        Raises:
            ExtrinsicFailedError: the pallet refused it (not a permitted caller, bad args...).
        """
        params = {"service_id": service_id, "job": job, "args": list(args)}
        receipt = self.chain.submit(keypair, MODULE, "call", params, wait_for_finalization=False)
        for attributes in _attributes_of(receipt.triggered_events, "JobCalled"):
            return int(attributes["call_id"])
        raise ChainDataError("Services.call succeeded without a JobCalled event")

    def wait_for_job_result(
        self, service_id: int, call_id: int, *, from_block: int, timeout: float = 120.0, poll_s: float = 0.5
    ) -> JobResultEvent:
        """The first finalized ``JobResultSubmitted`` for the call, scanning from block ``from_block``.

        Raises:
            ChainTimeoutError: none was finalized within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        next_block = from_block
        while True:
            finalized = self.chain.finalized_number()
            for number in range(next_block, finalized + 1):
                for event in self.job_results_in(number):
                    if (event.service_id, event.call_id) == (service_id, call_id):
                        return event
            next_block = max(next_block, finalized + 1)
            if time.monotonic() >= deadline:
                raise ChainTimeoutError(
                    f"no finalized result for call {call_id} of service {service_id} within {timeout:g} s"
                )
            time.sleep(poll_s)

    def chain_record(self, service_id: int, call_id: int, *, operator: str | None = None) -> ChainRecord:
        """What the chain says about the call, for ``attestations.verify``.

        Args:
            operator: The account that submitted the result; by default the service's only operator.

        Raises:
            ChainDataError: no such service or call, or the operator is ambiguous or unregistered.
        """
        service = self.service(service_id)
        call = self.job_call(service_id, call_id)
        if service is None or call is None:
            raise ChainDataError(f"no job call {call_id} of service {service_id} on chain")
        if operator is None:
            if len(service.operators) != 1:
                raise ChainDataError(f"service {service_id} has {len(service.operators)} operators; name one")
            operator = service.operators[0]
        preferences = self.operator_preferences(service.blueprint, operator)
        if preferences is None:
            raise ChainDataError(f"{operator} is not a registered operator of blueprint {service.blueprint}")
        result = self.job_result(service_id, call_id)
        return ChainRecord(
            genesis_hash=self.chain.genesis_hash,
            service_id=service_id,
            call_id=call_id,
            job=call.job,
            args_hash=blake2_256(call.args_scale),
            result=None if result is None else _on_chain(result),
            operator=operator,
            operator_key=preferences.key,
            args_scale=call.args_scale,
        )


def _attributes_of(events: Any, event_id: str) -> list[dict[str, Any]]:
    found = []
    for record in events:
        value = record.value
        if value.get("module_id") == MODULE and value.get("event_id") == event_id:
            attributes = value.get("attributes")
            if not isinstance(attributes, dict):
                raise ChainDataError(f"{MODULE}.{event_id} has unnamed attributes: {attributes!r:.120}")
            found.append(attributes)
    return found


def _fields_or_empty(args_scale: bytes) -> list[FieldValue]:
    try:
        return decode_fields(args_scale)
    except BlueprintError:
        return []  # the operator answers undecodable args with a failed result; it still needs the event


def _on_chain(result: JobResult) -> OnChainResult:
    return OnChainResult(result.receipt_hash, result.signature, result.status, result.exit_code, result.reference)
