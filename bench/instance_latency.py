"""Latency of instance start, pause and resume through the API, against `docker run`/`pause`/`stop`/`start`, in one run.

Starts a node in this process (the app of `faas serve`, throw-away data dir, no warm pools)
and talks to it over HTTP through httpx's ASGI transport, authenticated and rate-limited as
in production, so each figure is what a client of `/api/v1/instances` waits for, minus the
network. For an idle Python instance (512 MB) it measures:
  * start: `POST /instances` until it answers 201 with the sandbox running,
  * pause: `POST /instances/{id}/pause` (CRIU checkpoint into the pause store, sandbox removed),
  * resume: `POST /instances/{id}/resume` (restore into a new sandbox, session re-attached).
The baselines, measured in the same run on a plain container of the same image running an
idle Python: `docker run -d` until it runs, `docker pause` and `docker unpause` (the cgroup
freezer: the memory stays allocated, unlike our pause) and `docker stop` and `docker start`
(the processes start over, without their state). Every cycle runs once untimed first, and
every resumed instance is checked, outside the timing, to still hold a variable set before
the pause. Instances are stopped and containers removed even on Ctrl-C. Prints a table of
p50/p95 against the targets (met when the p50 is within) and writes
bench/results/instance_latency.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from _stats import summary
from asgi_lifespan import LifespanManager

from api import create_app
from engine import LANGUAGES
from provisioning import runtime_image_reference
from service.config import Settings

ROOT = Path(__file__).resolve().parent.parent
KEY = "bench-key-0123456789abcdef0123456789abcdef"
MEMORY_MB = 512
TARGETS_MS = {"start": 1000.0, "pause": 500.0, "resume": 500.0}
BASELINES = ("docker_run", "docker_pause", "docker_unpause", "docker_stop", "docker_start")
BASELINE_PREFIX = "faas-bench-instance"
IDLE_PROGRAM = "import time\ntime.sleep(86400)\n"


def elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


@asynccontextmanager
async def api_client(data_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of a node running in this process; the node stops its instances when it closes."""
    settings = Settings(
        data_dir=data_dir,
        api_keys=KEY,
        pool_sizes=dict.fromkeys(LANGUAGES, 0),
        # latency, not the limits, is measured here
        rate_limit_per_minute=1_000_000,
        rate_limit_per_hour=1_000_000,
    )
    application = create_app(settings)
    async with (
        LifespanManager(application, startup_timeout=120, shutdown_timeout=120),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application),
            base_url="http://node/api/v1",
            headers={"Authorization": f"Bearer {KEY}"},
            timeout=120,
        ) as client,
    ):
        yield client


async def call(client: httpx.AsyncClient, path: str, expected: int = 200, **kwargs: Any) -> dict[str, Any]:
    response = await client.post(path, **kwargs)
    if response.status_code != expected:
        raise RuntimeError(f"POST {path}: {response.status_code} {response.text}")
    body: dict[str, Any] = response.json()
    return body


class InstanceCycle:
    """Start, pause, resume and stop one instance per cycle, timing the first three."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.live: set[str] = set()
        """Instances started and not yet stopped by a cycle."""

    async def run(self) -> dict[str, float]:
        started = time.perf_counter()
        created = await call(
            self.client, "/instances", 201, json={"language": "python", "resources": {"memory_mb": MEMORY_MB}}
        )
        times = {"start": elapsed_ms(started)}
        instance_id: str = created["instance_id"]
        self.live.add(instance_id)
        token = uuid.uuid4().hex
        await self.execute(instance_id, f"token = {token!r}")
        for action in ("pause", "resume"):
            started = time.perf_counter()
            body = await call(self.client, f"/instances/{instance_id}/{action}")
            times[action] = elapsed_ms(started)
            assert body["state"] == ("paused" if action == "pause" else "running"), body
        assert await self.execute(instance_id, "print(token)") == f"{token}\n", "the resumed instance lost its variable"
        await self.stop(instance_id)
        return times

    async def execute(self, instance_id: str, code: str) -> str:
        body = await call(
            self.client, "/execute", json={"code": code, "language": "python", "instance_id": instance_id}
        )
        assert body["status"] == "completed", body
        stdout: str = body["stdout"]
        return stdout

    async def stop(self, instance_id: str) -> None:
        await call(self.client, f"/instances/{instance_id}/stop")
        self.live.discard(instance_id)

    async def stop_all(self) -> None:
        """Best effort: the node's shutdown stops whatever this misses."""
        for instance_id in list(self.live):
            try:
                await self.stop(instance_id)
            except (httpx.HTTPError, RuntimeError) as exc:
                print(f"stopping {instance_id}: {exc}")


async def measure_instances(client: httpx.AsyncClient, iterations: int) -> dict[str, dict[str, float]]:
    cycle = InstanceCycle(client)
    try:
        await cycle.run()
        samples = [await cycle.run() for _ in range(iterations)]
    finally:
        await cycle.stop_all()
    return {operation: summary([times[operation] for times in samples]) for operation in TARGETS_MS}


async def docker_cli(*args: str, check: bool = True) -> str:
    """Run the docker CLI; its stdout, stripped."""
    process = await asyncio.create_subprocess_exec(
        "docker", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    stdout, stderr = await process.communicate()
    if check and process.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args[:2])} failed: {stderr.decode(errors='replace').strip()}")
    return stdout.decode().strip()


async def timed_docker(*args: str) -> float:
    started = time.perf_counter()
    await docker_cli(*args)
    return elapsed_ms(started)


async def docker_cycle(image: str) -> dict[str, float]:
    """One plain container through run, pause, unpause, stop and start; removed afterwards, even when interrupted.

    Its name is chosen before Docker is asked for it, so that removal finds it whatever happened.
    `--init` lets `docker stop` end the idle Python at once instead of waiting out its timeout.
    """
    name = f"{BASELINE_PREFIX}-{uuid.uuid4().hex[:12]}"
    run_args = ["run", "-d", "--init", "--name", name, "--network", "none", "--memory", f"{MEMORY_MB}m"]
    try:
        # -d returns once the container runs
        times = {"docker_run": await timed_docker(*run_args, image, "python3", "-c", IDLE_PROGRAM)}
        for operation in BASELINES[1:]:
            times[operation] = await timed_docker(operation.removeprefix("docker_"), name)
        return times
    finally:
        await docker_cli("rm", "-f", name, check=False)


async def measure_baselines(image: str, iterations: int) -> dict[str, dict[str, float]]:
    await docker_cycle(image)
    samples = [await docker_cycle(image) for _ in range(iterations)]
    return {operation: summary([times[operation] for times in samples]) for operation in BASELINES}


async def measure(data_dir: Path, iterations: int) -> dict[str, Any]:
    async with api_client(data_dir) as client:
        instances = await measure_instances(client, iterations)
    baselines = await measure_baselines(runtime_image_reference("python"), iterations)
    return {**instances, **baselines}


def judge(results: dict[str, Any]) -> None:
    """Mark each instance operation with its target and whether its p50 is within it."""
    for operation, target in TARGETS_MS.items():
        row = results[operation]
        row["target_ms"] = target
        row["meets_target"] = row["p50_ms"] <= target


def report(results: dict[str, Any]) -> None:
    print(
        f"\n{'operation':16} {'p50 ms':>8} {'p95 ms':>8} {'min ms':>8} {'n':>3} "
        f"{'target ms':>10} {'p50 meets target':>17}"
    )
    for operation in (*TARGETS_MS, *BASELINES):
        row = results[operation]
        target, met = "—", "—"
        if operation in TARGETS_MS:
            target, met = f"≤ {row['target_ms']:g}", "met" if row["meets_target"] else "MISSED"
        print(
            f"{operation:16} {row['p50_ms']:8.1f} {row['p95_ms']:8.1f} {row['min_ms']:8.1f} {row['n']:3} "
            f"{target:>10} {met:>17}"
        )
    print("\ndocker_pause keeps the memory allocated; docker_stop + docker_start lose the processes' state.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--iterations", type=int, default=15, help="per operation and per baseline")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results" / "instance_latency.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="faas-bench-instances-") as data_dir:
        measured = asyncio.run(measure(Path(data_dir), args.iterations))
    results: dict[str, Any] = {
        "iterations": args.iterations,
        "cpus": os.cpu_count(),
        "memory_mb": MEMORY_MB,
        **measured,
    }
    judge(results)
    report(results)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten to {args.output}")


if __name__ == "__main__":
    main()
