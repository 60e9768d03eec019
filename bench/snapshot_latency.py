"""Latency of live-context snapshots (create, restore, fork) against `docker commit` + `docker run`, in one run.

Starts the engine in this process with a throw-away data dir and the node's real policy
(seccomp profile included), then, for an idle Python session and one holding 100 MB of
random live data (so nothing compresses or deduplicates), measures:
  * create: ``ContextEngine.capture`` (CRIU dump leaving the session running, ingest into
    the content-addressed store, workspace copy),
  * restore: ``ContextEngine.restore`` of that snapshot into a new sandbox (every byte
    verified, CRIU restore, session re-attached), until it returns,
  * fork: checkpoint, fork and ``InterpreterSession.adopt``: a running copy without the store,
  * the baseline: `docker commit` of a plain container of the same image holding the same
    data, then `docker run` of the committed image until it runs. It keeps the files only:
    the new container starts its program over, without the data.
Each operation runs once untimed first. Every restored and forked session is checked,
outside the timing, to still hold its data. Prints a table of p50/p95 against the targets
(met when the p50 is within) and writes bench/results/snapshot_latency.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _stats import summary

from engine import LANGUAGES, Executor, InterpreterSession, Resources, checkpoints
from engine.contexts import CapturedState, ContextEngine, LiveContext
from engine.sandbox import remove_quietly
from engine.sessions import session_config
from engine.snapshot_store import SnapshotStore
from service.config import Settings
from service.node import engine_config

ROOT = Path(__file__).resolve().parent.parent
RESOURCES = Resources(cpu_cores=1.0, memory_mb=512, timeout_ms=30_000)
OPERATIONS = ("create", "restore", "fork")
BASELINE = "docker_commit_run"
BASELINE_PREFIX = "faas-bench-commit"
CHECK = "print(len(blob), hashlib.sha256(blob).hexdigest() == digest)"


@dataclass(frozen=True)
class SessionKind:
    name: str
    data_bytes: int
    target_ms: float

    @property
    def program(self) -> str:
        """Python that keeps ``data_bytes`` random bytes alive, and their digest for :data:`CHECK`."""
        return (
            f"import hashlib, os\nblob = bytearray(os.urandom({self.data_bytes}))\n"
            "digest = hashlib.sha256(blob).hexdigest()\n"
        )

    @property
    def checked_output(self) -> bytes:
        return f"{self.data_bytes} True\n".encode()


KINDS = (SessionKind("idle", 0, 300), SessionKind("100mb", 100 * 2**20, 1500))


def elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


async def sampled(step: Callable[[], Awaitable[float]], iterations: int) -> dict[str, float]:
    """The summary of ``iterations`` runs of ``step`` (which returns the milliseconds it measured), after a warm-up."""
    await step()
    return summary([await step() for _ in range(iterations)])


async def check_holds(session: InterpreterSession, kind: SessionKind) -> None:
    result = await session.run(CHECK, timeout_ms=RESOURCES.timeout_ms)
    assert result.stdout == kind.checked_output, result


class SnapshotSteps:
    """The timed operations on one source session; each removes what it made, untimed."""

    def __init__(self, contexts: ContextEngine, source: LiveContext, kind: SessionKind) -> None:
        self.contexts = contexts
        self.source = source
        self.kind = kind
        self.state: CapturedState | None = None
        config = contexts.executor.config
        self.fork_config = session_config(
            language=source.language,
            image=source.image_id,
            resources=source.resources,
            policy=config.policy,
            node_id=config.node_id,
            agent_dir=config.agent_dir,
        )

    async def create(self) -> float:
        started = time.perf_counter()
        self.state = await self.contexts.capture(self.source)
        return elapsed_ms(started)

    async def restore(self) -> float:
        state = self.state
        assert state is not None, "restore needs a snapshot: create first"
        started = time.perf_counter()
        restored = await self.contexts.restore(state, expected_checksum=state.checksum)
        elapsed = elapsed_ms(started)
        try:
            await check_holds(restored.session, self.kind)
        finally:
            await restored.close()
        return elapsed

    async def fork(self) -> float:
        docker = self.contexts.docker
        started = time.perf_counter()
        checkpoint = await checkpoints.checkpoint(docker, self.source.container_id, leave_running=True)
        try:
            fork_id = await checkpoints.fork(docker, checkpoint, config=self.fork_config)
            try:
                session = await InterpreterSession.adopt(docker, fork_id, self.source.language)
            except BaseException:
                await remove_quietly(docker, fork_id)
                raise
            elapsed = elapsed_ms(started)
        finally:
            await checkpoints.discard(docker, checkpoint)
        try:
            await check_holds(session, self.kind)
        finally:
            await session.close()
        return elapsed


async def measure_snapshots(contexts: ContextEngine, kind: SessionKind, iterations: int) -> dict[str, Any]:
    source = await contexts.start("python", RESOURCES)
    try:
        setup = await source.session.run(kind.program, timeout_ms=RESOURCES.timeout_ms)
        assert setup.exit_code == 0, setup
        steps = SnapshotSteps(contexts, source, kind)
        timed_steps = {"create": steps.create, "restore": steps.restore, "fork": steps.fork}
        results = {operation: await sampled(step, iterations) for operation, step in timed_steps.items()}
    finally:
        await source.close()
    assert steps.state is not None
    return {**results, "snapshot_size_bytes": steps.state.size_bytes}


async def docker_cli(*args: str, check: bool = True) -> str:
    """Run the docker CLI; its stdout, stripped."""
    process = await asyncio.create_subprocess_exec(
        "docker", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    stdout, stderr = await process.communicate()
    if check and process.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args[:2])} failed: {stderr.decode(errors='replace').strip()}")
    return stdout.decode().strip()


class CommitBaseline:
    """A plain container of the runtime image holding a kind's data, committed and run again.

    Every container and image is named before Docker is asked for it, so that removal
    finds it even after an interruption.
    """

    def __init__(self, image: str, kind: SessionKind) -> None:
        self.image = image
        self.kind = kind
        self.source = f"{BASELINE_PREFIX}-{uuid.uuid4().hex[:12]}"
        self.copies: list[tuple[str, str]] = []
        """(container, image) made by commit_and_run and not yet removed."""

    def run_args(self, name: str, image: str) -> list[str]:
        return ["run", "-d", "--name", name, "--network", "none", "--memory", f"{RESOURCES.memory_mb}m", image]

    async def start(self) -> None:
        program = self.kind.program + "print('ready', flush=True)\nimport time\ntime.sleep(86400)\n"
        await docker_cli(*self.run_args(self.source, self.image), "python3", "-c", program)
        deadline = time.monotonic() + 60
        while "ready" not in await docker_cli("logs", self.source):
            if time.monotonic() > deadline:
                raise RuntimeError(f"baseline container {self.source} never got its data ready")
            await asyncio.sleep(0.1)

    async def commit_and_run(self) -> float:
        suffix = uuid.uuid4().hex[:12]
        image, container = f"{BASELINE_PREFIX}:{suffix}", f"{BASELINE_PREFIX}-{suffix}"
        self.copies.append((container, image))
        started = time.perf_counter()
        await docker_cli("commit", self.source, image)
        await docker_cli(*self.run_args(container, image))  # -d returns once the container runs
        elapsed = elapsed_ms(started)
        await self.remove_copies()
        return elapsed

    async def remove_copies(self) -> None:
        """Best effort: a copy an interruption left half made lacks its container or image."""
        while self.copies:
            container, image = self.copies.pop()
            await docker_cli("rm", "-f", container, check=False)
            await docker_cli("rmi", image, check=False)


async def measure_baseline(image: str, kind: SessionKind, iterations: int) -> dict[str, float]:
    baseline = CommitBaseline(image, kind)
    try:
        await baseline.start()
        return await sampled(baseline.commit_and_run, iterations)
    finally:
        await baseline.remove_copies()
        await docker_cli("rm", "-f", baseline.source, check=False)


async def measure(data_dir: Path, iterations: dict[str, int]) -> dict[str, Any]:
    settings = Settings(data_dir=data_dir, pool_sizes=dict.fromkeys(LANGUAGES, 0))
    executor = Executor(engine_config(settings))
    await executor.start()
    try:
        store = SnapshotStore(data_dir / "snapshots")
        contexts = ContextEngine(executor, store, max_workspace_bytes=settings.workspace_mb * 2**20)
        results: dict[str, Any] = {}
        for kind in KINDS:
            count = iterations[kind.name]
            results[kind.name] = {
                "data_bytes": kind.data_bytes,
                "target_ms": kind.target_ms,
                **await measure_snapshots(contexts, kind, count),
                BASELINE: await measure_baseline(executor.config.images["python"], kind, count),
            }
        return results
    finally:
        await executor.close()


def judge(results: dict[str, Any]) -> None:
    """Mark each snapshot operation with whether its p50 is within its kind's target."""
    for kind in KINDS:
        figures = results[kind.name]
        for operation in OPERATIONS:
            figures[operation]["meets_target"] = figures[operation]["p50_ms"] <= kind.target_ms


def report(results: dict[str, Any]) -> None:
    print(
        f"\n{'operation':18} {'session':8} {'p50 ms':>8} {'p95 ms':>8} {'min ms':>8} {'n':>3} "
        f"{'target ms':>10} {'p50 meets target':>17}"
    )
    for kind in KINDS:
        figures = results[kind.name]
        for operation in (*OPERATIONS, BASELINE):
            row = figures[operation]
            target, met = "—", "—"
            if operation != BASELINE:
                target, met = f"≤ {kind.target_ms:g}", "met" if row["meets_target"] else "MISSED"
            print(
                f"{operation:18} {kind.name:8} {row['p50_ms']:8.1f} {row['p95_ms']:8.1f} {row['min_ms']:8.1f} "
                f"{row['n']:3} {target:>10} {met:>17}"
            )
    sizes = ", ".join(
        f"{kind.name} {results[kind.name]['snapshot_size_bytes'] / 2**20:.1f} MiB "
        f"({results[kind.name]['snapshot_size_bytes']} bytes)"
        for kind in KINDS
    )
    print(f"\nsnapshot size_bytes: {sizes}")
    print(f"{BASELINE} keeps the container's files only: its processes start over, without their memory.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--iterations", type=int, default=20, help="per operation, idle sessions")
    parser.add_argument("--iterations-100mb", type=int, default=8, help="per operation, sessions holding 100 MB")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results" / "snapshot_latency.json")
    args = parser.parse_args()
    iterations = {"idle": args.iterations, "100mb": args.iterations_100mb}
    with tempfile.TemporaryDirectory(prefix="faas-bench-snapshots-") as data_dir:
        measured = asyncio.run(measure(Path(data_dir), iterations))
    results: dict[str, Any] = {"iterations": iterations, "cpus": os.cpu_count(), **measured}
    judge(results)
    report(results)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten to {args.output}")


if __name__ == "__main__":
    main()
