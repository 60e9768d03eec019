"""``TangleFaaSClient``: submit jobs on a Tangle chain and verify the signed results.

    client = TangleFaaSClient("ws://127.0.0.1:9944", blueprint_id=0, seed="//Bob")
    call_id = client.submit_job(code="print('Verified execution')", language="python")
    result = client.wait_for_result(call_id)   # raises VerificationError if anything disagrees
    print(result.stdout)

Sync only: substrate-interface is blocking, so this client is not generated from an async one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from substrateinterface import Keypair

from attestations import AttestationError, ChainRecord, ExecutionOutput, Receipt, verify
from blueprint import BlueprintError, ExecuteJob, encode_job_args
from chain import (
    ChainClient,
    ChainConnectionError,
    ChainError,
    ChainRequestError,
    ChainTimeoutError,
    ExtrinsicFailedError,
    JobResultEvent,
    ServiceInstance,
    ServicesClient,
    load_keypair,
)
from faas_sdk._exceptions import FaaSError

JOBS_PATH = "/api/v1/jobs/{service_id}/{call_id}"
_LOOKBACK_BLOCKS = 1000


class TangleError(FaaSError):
    """Root of the Tangle client's errors: the chain or the operator failed us (``code`` says which)."""


class VerificationError(TangleError):
    """The operator's result does not verify against the chain; ``reasons`` (and ``details``) say why."""

    def __init__(self, reasons: list[str] | tuple[str, ...], **kwargs: Any) -> None:
        self.reasons = tuple(reasons)
        super().__init__(
            "the result does not verify: " + "; ".join(self.reasons),
            code="VERIFICATION_FAILED",
            details={"reasons": list(self.reasons)},
            **kwargs,
        )


@dataclass(frozen=True)
class VerifiedResult:
    """A job's output whose receipt verified against the chain's record and the operator's registered key."""

    service_id: int
    call_id: int
    stdout: str
    stderr: str
    exit_code: int
    status: str
    reference: str
    receipt: Receipt
    receipt_hash: bytes
    signature: bytes
    operator: str
    block_hash: str


class TangleFaaSClient:
    """Run code through a FaaS blueprint's service on chain; sync only (substrate-interface is blocking).

    Args:
        rpc_url: The chain node's RPC endpoint (``ws://`` or ``wss://``).
        service_id: The service instance to call; or
        blueprint_id: find a service of this blueprint the caller may call.
        keypair: The caller's key; or
        seed: its secret URI or mnemonic (``"//Bob"``). Without either only ``wait_for_result`` works.
        http_timeout: Seconds to wait for the operator's REST endpoint.
    """

    def __init__(
        self,
        rpc_url: str,
        *,
        service_id: int | None = None,
        blueprint_id: int | None = None,
        keypair: Keypair | None = None,
        seed: str | None = None,
        http_timeout: float = 30.0,
        http_client: httpx.Client | None = None,
    ) -> None:
        if (service_id is None) == (blueprint_id is None):
            raise ValueError("pass exactly one of service_id and blueprint_id")
        self.keypair = keypair or (load_keypair(seed) if seed is not None else None)
        self._chain = ChainClient(rpc_url)
        self._services = ServicesClient(self._chain)
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(timeout=http_timeout)
        self._submitted_at: dict[int, int] = {}
        try:
            with _translated():
                self.service = self._find_service(service_id, blueprint_id)
        except BaseException:
            self.close()
            raise

    @property
    def service_id(self) -> int:
        """The service instance this client calls."""
        return self.service.id

    def submit_job(
        self,
        *,
        code: str,
        language: str,
        mode: str = "ephemeral",
        resources: dict[str, Any] | None = None,
        env: dict[str, str] | None = None,
        files: dict[str, str] | None = None,
        snapshot_id: str | None = None,
        branch_id: str | None = None,
    ) -> int:
        """Sign and submit job 0 (``execute``) with ``Services.call``; returns the call id once included.

        Raises:
            TangleError: no key, arguments over the chain's limits, or the chain refused the call.
        """
        if self.keypair is None:
            raise TangleError("submitting a job needs the caller's keypair or seed", code="NO_KEY")
        request = ExecuteJob(language, code, mode, resources or {}, env or {}, files or {}, snapshot_id, branch_id)
        with _translated():
            args = encode_job_args(request)
            start = self._chain.finalized_number()
            call_id = self._services.submit_job_call(self.keypair, self.service_id, ExecuteJob.JOB, args)
        self._submitted_at[call_id] = start
        return call_id

    def wait_for_result(self, call_id: int, *, timeout: float = 120.0) -> VerifiedResult:
        """Wait for the operator's finalized result, fetch its output and receipt, and verify them.

        Raises:
            VerificationError: the receipt, output or signature disagree with the chain.
            TangleError: no result within ``timeout`` seconds, or the operator's endpoint failed.
        """
        with _translated():
            start = self._submitted_at.get(call_id)
            if start is None:
                start = max(0, self._chain.finalized_number() - _LOOKBACK_BLOCKS)
            event = self._services.wait_for_job_result(self.service_id, call_id, from_block=start, timeout=timeout)
            served = self._fetch(event)
            record = self._services.chain_record(self.service_id, call_id, operator=event.operator)
            return _verified(event, served, record)

    def close(self) -> None:
        """Close the chain connection, and the HTTP client unless it was passed in."""
        self._chain.close()
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> TangleFaaSClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _find_service(self, service_id: int | None, blueprint_id: int | None) -> ServiceInstance:
        if service_id is not None:
            service = self._services.service(service_id)
            if service is None:
                raise TangleError(f"there is no service {service_id} on chain", code="NOT_FOUND")
            return service
        caller = self.keypair.ss58_address if self.keypair else ""
        for service in sorted(self._services.services(), key=lambda item: item.id):
            if service.blueprint == blueprint_id and service.may_call(caller):
                return service
        raise TangleError(f"no service of blueprint {blueprint_id} accepts calls from {caller}", code="NOT_FOUND")

    def _fetch(self, event: JobResultEvent) -> dict[str, Any]:
        blueprint = self.service.blueprint
        preferences = self._services.operator_preferences(blueprint, event.operator)
        if preferences is None:
            raise TangleError(f"{event.operator} is not an operator of blueprint {blueprint}", code="NOT_FOUND")
        url = preferences.rpc_address.rstrip("/") + JOBS_PATH.format(service_id=event.service_id, call_id=event.call_id)
        response = self._http.get(url)
        if response.status_code != httpx.codes.OK:
            raise TangleError(
                f"the operator's endpoint {url} answered HTTP {response.status_code}",
                code="OPERATOR_ERROR",
                status_code=response.status_code,
            )
        body: dict[str, Any] = response.json()
        return body


def _verified(event: JobResultEvent, served: dict[str, Any], record: ChainRecord) -> VerifiedResult:
    output = served.get("output") or {}
    receipt = Receipt.from_json(served.get("receipt") or {})
    stdout, stderr = str(output.get("stdout", "")), str(output.get("stderr", ""))
    outcome = verify(
        receipt,
        ExecutionOutput(stdout, stderr),
        record,
        served_receipt_hash=_hex(served.get("receipt_hash")),
        served_signature=_hex(served.get("signature")),
    )
    reasons = list(outcome.reasons)
    if output.get("exit_code", receipt.exit_code) != receipt.exit_code:
        reasons.append("the exit code the operator served differs from its receipt's")
    if reasons:
        raise VerificationError(reasons)
    return VerifiedResult(
        service_id=event.service_id,
        call_id=event.call_id,
        stdout=stdout,
        stderr=stderr,
        exit_code=receipt.exit_code,
        status=receipt.status,
        reference=event.result.reference,
        receipt=receipt,
        receipt_hash=outcome.receipt_hash,
        signature=event.result.signature,
        operator=event.operator,
        block_hash=event.block_hash,
    )


def _hex(value: Any) -> bytes | None:
    if not isinstance(value, str) or not value.startswith("0x"):
        return None
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        return None


@contextmanager
def _translated() -> Iterator[None]:
    """The one table from the chain, blueprint, attestation and HTTP errors to the SDK's."""
    try:
        yield
    except FaaSError:
        raise
    except ChainError as exc:
        raise TangleError(str(exc), code=_chain_code(exc)) from exc
    except BlueprintError as exc:
        raise TangleError(str(exc), code="INVALID_REQUEST") from exc
    except AttestationError as exc:
        raise VerificationError([f"the operator served a malformed receipt: {exc}"]) from exc
    except httpx.HTTPError as exc:
        raise TangleError(f"the operator's endpoint failed: {exc!r}", code="CONNECTION_ERROR") from exc
    except ValueError as exc:  # the operator's body was not JSON
        raise TangleError(f"the operator's endpoint sent an unreadable answer: {exc}", code="OPERATOR_ERROR") from exc


_CHAIN_CODES: tuple[tuple[type[ChainError], str], ...] = (
    (ChainConnectionError, "CONNECTION_ERROR"),
    (ChainTimeoutError, "EXECUTION_TIMEOUT"),
    (ExtrinsicFailedError, "CHAIN_REJECTED"),
    (ChainRequestError, "CHAIN_REJECTED"),
)


def _chain_code(exc: ChainError) -> str:
    return next((code for kind, code in _CHAIN_CODES if isinstance(exc, kind)), "CHAIN_ERROR")
