"""Chain overhead of on-chain jobs, and the jobs per second one operator sustains, in one run.

Starts a localnet (`python -m localnet up`, block time --block-time, finality lag 1) with the
FaaS service bootstrapped, and `faas operator` as a real process against it. A client thread
follows finalized heads and notes when each block became finalized, as a user would see it.

  * overhead: for a python hello world submitted with `Services.call` and answered by the
    operator, the time from the block holding `JobCalled` being finalized to the block holding
    `JobResultSubmitted` being finalized, minus the execution itself (the receipt's
    finished_at - started_at). Sequential calls.
  * baseline (same run): a `Balances.transfer_keep_alive` from submission to the finalization of
    its block — what any extrinsic costs on this chain, the floor under both halves of a job.
  * throughput: --burst calls submitted at once (one signed extrinsic each, consecutive nonces);
    jobs per second = calls / (last result finalized - first call finalized).
  * throughput baseline (same run, same node): --burst of the same program sent to the
    operator's REST API at once (`POST /execute`, --burst concurrent requests) — what the engine
    alone sustains on this machine at the operator's concurrency (2 at a time).

Prints p50/p95 and writes bench/results/chain_latency.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from _stats import summary
from substrateinterface import Keypair, SubstrateInterface

from blueprint import ExecuteJob, encode_job_args, render_blueprint
from chain import ChainClient, ServicesClient
from localnet import OperatorRegistration, bootstrap_service, free_port, running_localnet
from operator_node import load_or_create_role_key

ROOT = Path(__file__).resolve().parent.parent
FAAS = str(Path(sys.executable).parent / "faas")
HELLO = ExecuteJob(language="python", code='print("hello")')
API_KEY = "bench-operator-key-0000000000000"
OPERATOR_CONCURRENCY = 2
"""``OperatorSettings.max_concurrent_jobs``'s default."""


class FinalizedClock:
    """Wall-clock time at which each block number was first seen finalized (its own connection)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.seen: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, daemon=True)
        self._thread.start()

    def _follow(self) -> None:
        substrate = SubstrateInterface(url=self.url)
        last = -1
        while not self._stop.is_set():
            number = substrate.get_block_number(substrate.get_chain_finalised_head())
            now = time.perf_counter()
            for block in range(last + 1, number + 1):
                self.seen.setdefault(block, now)
            last = max(last, number)
            time.sleep(0.02)
        substrate.close()

    def wait_for(self, block: int, timeout: float = 120.0) -> float:
        deadline = time.monotonic() + timeout
        while block not in self.seen:
            if time.monotonic() > deadline:
                raise TimeoutError(f"block {block} was not finalized within {timeout} s")
            time.sleep(0.01)
        return self.seen[block]

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def submit(
    substrate: SubstrateInterface,
    who: Keypair,
    module: str,
    function: str,
    params: dict[str, Any],
    *,
    nonce: int | None = None,
    wait: bool = True,
) -> Any:
    call = substrate.compose_call(module, function, params)
    extrinsic = substrate.create_signed_extrinsic(call=call, keypair=who, nonce=nonce)
    return substrate.submit_extrinsic(extrinsic, wait_for_inclusion=wait)


def job_calls_since(
    substrate: SubstrateInterface, start: int, count: int, timeout: float = 120
) -> list[tuple[int, int]]:
    """(call_id, block) of the first ``count`` JobCalled events from block ``start`` on."""
    found: list[tuple[int, int]] = []
    block, deadline = start, time.monotonic() + timeout
    while len(found) < count and time.monotonic() < deadline:
        head = substrate.get_block_number(substrate.get_chain_head())
        while block <= head and len(found) < count:
            for item in substrate.get_events(substrate.get_block_hash(block)):
                if item.value["event_id"] == "JobCalled":
                    found.append((int(item.value["attributes"]["call_id"]), block))
            block += 1
        time.sleep(0.05)
    if len(found) < count:
        raise TimeoutError(f"only {len(found)} of {count} calls were included")
    return found


def event_block(substrate: SubstrateInterface, receipt: Any) -> int:
    return int(substrate.get_block_number(receipt.block_hash))


def called(substrate: SubstrateInterface, receipt: Any) -> int:
    for item in receipt.triggered_events:
        if item.value["event_id"] == "JobCalled":
            return int(item.value["attributes"]["call_id"])
    raise RuntimeError(f"no JobCalled: {receipt.error_message}")


def result_block(services: ServicesClient, service_id: int, call_id: int, start: int, timeout: float = 120) -> int:
    """The block holding the call's JobResultSubmitted (scanning best blocks from ``start``)."""
    deadline = time.monotonic() + timeout
    block = start
    while time.monotonic() < deadline:
        head = services.chain.run(lambda substrate: int(substrate.get_block_number(substrate.get_chain_head())))
        while block <= head:
            if any((r.service_id, r.call_id) == (service_id, call_id) for r in services.job_results_in(block)):
                return block
            block += 1
        time.sleep(0.05)
    raise TimeoutError(f"no result for call {call_id}")


def execution_ms(operator_url: str, service_id: int, call_id: int) -> float:
    receipt = httpx.get(f"{operator_url}/api/v1/jobs/{service_id}/{call_id}", timeout=10).json()["receipt"]
    return float(receipt["finished_at_ms"] - receipt["started_at_ms"])


def rest_burst(operator_url: str, count: int) -> float:
    """Executions per second of ``count`` ``POST /execute`` of the same program, OPERATOR_CONCURRENCY at a time
    (as many as the operator runs jobs at once)."""
    body = {"language": "python", "code": HELLO.code}
    headers = {"Authorization": f"Bearer {API_KEY}"}

    async def burst() -> float:
        async with httpx.AsyncClient(base_url=f"{operator_url}/api/v1", headers=headers, timeout=120) as client:
            slots = asyncio.Semaphore(OPERATOR_CONCURRENCY)

            async def one() -> httpx.Response:
                async with slots:
                    return await client.post("/execute", json=body)

            started = time.perf_counter()
            answers = await asyncio.gather(*(one() for _ in range(count)))
            elapsed = time.perf_counter() - started
        assert all(answer.status_code == 200 for answer in answers), [a.text for a in answers if a.status_code != 200]
        return count / elapsed

    return asyncio.run(burst())


def start_operator(chain_url: str, data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "FAAS_POOL_SIZES": '{"python": 2}',
        "FAAS_API_KEYS": API_KEY,
        "FAAS_RATE_LIMIT_PER_MINUTE": "100000",
        "FAAS_MAX_CONCURRENT_PER_KEY": "100",
    }
    log = (data_dir / "operator.log").open("wb")
    process = subprocess.Popen(
        [FAAS, "operator", "--chain", chain_url, "--data-dir", str(data_dir), "--port", str(port),
         "--log-level", "warning"],
        stdout=log, stderr=subprocess.STDOUT, env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the operator did not come up")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--burst", type=int, default=20)
    parser.add_argument("--block-time", type=float, default=0.25)
    args = parser.parse_args()
    alice, bob = Keypair.create_from_uri("//Alice"), Keypair.create_from_uri("//Bob")
    with (
        tempfile.TemporaryDirectory(prefix="faas-bench-chain-") as scratch,
        running_localnet(block_time=args.block_time, finality_lag=1) as localnet,
    ):
        data_dir = Path(scratch)
        port = free_port()
        role_key = load_or_create_role_key(data_dir).public_key_65
        operator_registration = OperatorRegistration(alice, role_key, f"http://127.0.0.1:{port}")
        _, service_id = bootstrap_service(localnet.url, render_blueprint(), [operator_registration])
        operator = start_operator(localnet.url, data_dir, port)
        clock = FinalizedClock(localnet.url)
        substrate = SubstrateInterface(url=localnet.url)
        services = ServicesClient(ChainClient(localnet.url).connect())
        try:
            params = {"service_id": service_id, "job": 0, "args": encode_job_args(HELLO)}
            overhead, baseline = [], []
            for run in range(args.runs + 1):
                receipt = submit(substrate, bob, "Services", "call", params)
                call_id, call_block = called(substrate, receipt), event_block(substrate, receipt)
                done_block = result_block(services, service_id, call_id, call_block)
                total = (clock.wait_for(done_block) - clock.wait_for(call_block)) * 1000
                sample = total - execution_ms(f"http://127.0.0.1:{port}", service_id, call_id)
                started = time.perf_counter()
                value = {"dest": bob.ss58_address, "value": 10**12}
                transfer = submit(substrate, alice, "Balances", "transfer_keep_alive", value)
                transferred = (clock.wait_for(event_block(substrate, transfer)) - started) * 1000
                if run:  # the first of each is a warm-up
                    overhead.append(sample)
                    baseline.append(transferred)
            nonce = substrate.get_account_nonce(bob.ss58_address)
            start = substrate.get_block_number(substrate.get_chain_head()) + 1
            for index in range(args.burst):
                submit(substrate, bob, "Services", "call", params, nonce=nonce + index, wait=False)
            calls = job_calls_since(substrate, start, args.burst)
            first_final = min(clock.wait_for(block) for _, block in calls)
            last_final = max(
                clock.wait_for(result_block(services, service_id, call_id, block)) for call_id, block in calls
            )
            throughput = args.burst / (last_final - first_final)
            rest_throughput = rest_burst(f"http://127.0.0.1:{port}", args.burst)
        finally:
            substrate.close()
            services.chain.close()
            clock.stop()
            operator.send_signal(signal.SIGINT)
            operator.wait(timeout=60)
    results = {
        "block_time_s": args.block_time,
        "finality_lag": 1,
        "overhead_ms": summary(overhead),
        "baseline_transfer_finalized_ms": summary(baseline),
        "burst": args.burst,
        "jobs_per_second": round(throughput, 2),
        "rest_executions_per_second": round(rest_throughput, 2),
    }
    print(f"chain overhead of a job (JobCalled finalized -> JobResultSubmitted finalized, minus execution), "
          f"block time {args.block_time} s, finality lag 1")  # fmt: skip
    job = results["overhead_ms"]
    print(f"  job overhead         p50 {job['p50_ms']:>8} ms   p95 {job['p95_ms']:>8} ms")
    print(f"  baseline: transfer   p50 {results['baseline_transfer_finalized_ms']['p50_ms']:>8} ms   "
          f"p95 {results['baseline_transfer_finalized_ms']['p95_ms']:>8} ms  (submit -> finalized)")  # fmt: skip
    print(f"  throughput           {results['jobs_per_second']} jobs/s ({args.burst} calls submitted at once)")
    rest = results["rest_executions_per_second"]
    print(f"  baseline: REST       {rest} executions/s ({args.burst}, {OPERATOR_CONCURRENCY} at a time)")
    out = ROOT / "bench" / "results" / "chain_latency.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
