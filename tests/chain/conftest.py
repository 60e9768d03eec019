"""A throw-away localnet with the FaaS blueprint bootstrapped, and an emulated operator (key + REST)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from attestations import Receipt, ReceiptSigner, blake2_256, receipt_hash, sha256
from blueprint import JobResult, render_blueprint
from chain import ChainClient, JobCallEvent, ServicesClient, load_keypair
from localnet.bootstrap import OperatorRegistration, bootstrap_service
from localnet.testing import RunningLocalnet, running_localnet

OPERATOR_SEED = "//Bob"
CALLER_SEED = "//Charlie"


class OperatorEndpoint:
    """A tiny HTTP server answering ``GET /api/v1/jobs/{service}/{call}`` from a dict."""

    def __init__(self) -> None:
        self.jobs: dict[str, dict[str, Any]] = {}
        routes = self.jobs

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = routes.get(self.path)
                status = 200 if body is not None else 404
                payload = json.dumps(body or {"error": {"code": "NOT_FOUND", "message": "unknown job"}}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@dataclass
class Deployment:
    net: RunningLocalnet
    chain: ChainClient
    services: ServicesClient
    signer: ReceiptSigner
    endpoint: OperatorEndpoint
    blueprint_id: int
    service_id: int
    operator_seed: str = OPERATOR_SEED
    served: dict[int, dict[str, Any]] = field(default_factory=dict)

    def wait_finalized(self, block_number: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while self.chain.finalized_number() < block_number:
            assert time.monotonic() < deadline, f"block {block_number} was not finalized in {timeout}s"
            time.sleep(0.1)

    def find_call(self, call_id: int, timeout: float = 30.0) -> JobCallEvent:
        deadline = time.monotonic() + timeout
        start = 0
        while time.monotonic() < deadline:
            finalized = self.chain.finalized_number()
            for call in self.services.finalized_job_calls(start, finalized, {self.service_id}):
                if call.call_id == call_id:
                    return call
            start = finalized + 1
            time.sleep(0.2)
        raise AssertionError(f"call {call_id} never appeared in a finalized block")

    def answer(self, call: JobCallEvent, code: str, stdout: str, stderr: str = "", exit_code: int = 0) -> Receipt:
        """What the operator node will do: attest, sign, submit the result, serve the output."""
        receipt = Receipt(
            chain_id=self.chain.genesis_hash,
            service_id=call.service_id,
            call_id=call.call_id,
            job=call.job,
            args_hash=blake2_256(call.args_scale),
            image_digest="sha256:" + "ab" * 32,
            code_hash=sha256(code),
            exit_code=exit_code,
            status="completed",
            stdout_sha256=sha256(stdout),
            stderr_sha256=sha256(stderr),
            started_at_ms=1_700_000_000_000,
            finished_at_ms=1_700_000_000_100,
            operator_key=self.signer.public_key_65,
        )
        digest = receipt_hash(receipt)
        signature = self.signer.sign(digest)
        result = JobResult(digest, signature, "completed", exit_code, f"exec_{call.call_id}")
        block = self.services.submit_result(load_keypair(self.operator_seed), call.service_id, call.call_id, result)
        self.endpoint.jobs[f"/api/v1/jobs/{call.service_id}/{call.call_id}"] = {
            "service_id": call.service_id,
            "call_id": call.call_id,
            "job": call.job,
            "job_name": "execute",
            "status": "completed",
            "output": {
                "stdout": stdout,
                "stderr": stderr,
                "exit_code": exit_code,
                "reference": f"exec_{call.call_id}",
                "error": None,
            },
            "receipt": receipt.to_json(),
            "receipt_hash": "0x" + digest.hex(),
            "signature": "0x" + signature.hex(),
            "submitted_block": block,
        }
        return receipt


@pytest.fixture(scope="session")
def deployment() -> Iterator[Deployment]:
    endpoint = OperatorEndpoint()
    signer = ReceiptSigner.generate()
    try:
        with running_localnet(block_time=0.2, finality_lag=2) as net:
            operator = OperatorRegistration(load_keypair(OPERATOR_SEED), signer.public_key_65, endpoint.url)
            blueprint_id, service_id = bootstrap_service(net.url, render_blueprint(), [operator])
            chain = ChainClient(net.url).connect()
            try:
                yield Deployment(net, chain, ServicesClient(chain), signer, endpoint, blueprint_id, service_id)
            finally:
                chain.close()
    finally:
        endpoint.close()
