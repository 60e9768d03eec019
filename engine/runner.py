"""Runs one program on one sandbox and turns the agent's frames into an Outcome."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from engine.agent.protocol import Frame, b64decode, b64encode
from engine.errors import DockerAPIError, SandboxFailure
from engine.languages import BUILD_OUTPUT, can_use_prestarted, program_env, program_files
from engine.models import ExecutionStatus, Outcome, Phase, Program, SandboxPolicy, Usage
from engine.sandbox import Sandbox

OutputListener = Callable[[str, bytes], Awaitable[None]]


@dataclass
class CappedOutput:
    """Per-stream output of one phase, capped on the host whatever the agent says."""

    limit: int
    streams: dict[str, bytearray] = field(default_factory=lambda: {"stdout": bytearray(), "stderr": bytearray()})
    truncated: bool = False

    def add(self, stream: str, data: bytes) -> bytes:
        buffer = self.streams.setdefault(stream, bytearray())
        room = max(self.limit - len(buffer), 0)
        if len(data) > room:
            self.truncated = True
            data = data[:room]
        buffer += data
        return data


@dataclass
class RunResult:
    outcome: Outcome
    artifact: bytes | None


def build_run_frame(program: Program, sandbox: Sandbox, policy: SandboxPolicy, artifact: bytes | None) -> Frame:
    runtime = sandbox.runtime
    files = program_files(runtime, program.code, program.files)
    return {
        "type": "run",
        "files": {path: b64encode(data) for path, data in files.items()},
        "env": program_env(runtime, program.env),
        "stdin": b64encode(program.stdin) if program.stdin else None,
        "build": list(runtime.build) if runtime.build and artifact is None else None,
        "artifact_path": BUILD_OUTPUT if runtime.compiled else None,
        "artifact": b64encode(artifact) if artifact else None,
        "return_artifact": runtime.compiled and artifact is None,
        "run": list(runtime.run),
        "main": runtime.main_file,
        "prestarted": can_use_prestarted(runtime, program.env),
        "output_limit": policy.output_limit_bytes,
    }


async def run_program(
    sandbox: Sandbox,
    program: Program,
    *,
    policy: SandboxPolicy,
    image_id: str,
    artifact: bytes | None = None,
    on_output: OutputListener | None = None,
) -> RunResult:
    """Send the program, follow its frames until exit or deadline, then account usage."""
    frame = build_run_frame(program, sandbox, policy, artifact)
    phase: Phase = "build" if frame["build"] else "run"
    outputs = {"build": CappedOutput(policy.output_limit_bytes), "run": CappedOutput(policy.output_limit_bytes)}
    before = sandbox.usage()
    started = time.monotonic()
    deadline = started + (policy.build_timeout_ms if phase == "build" else program.resources.timeout_ms) / 1000
    new_artifact: bytes | None = None
    exit_frame: Frame | None = None
    started_phases: set[str] = set()
    await sandbox.channel.send(frame)
    try:
        while exit_frame is None:
            message = await asyncio.wait_for(sandbox.channel.receive(), max(deadline - time.monotonic(), 0))
            kind = message["type"]
            if kind == "phase":
                started_phases.add(message["phase"])
            if kind == "phase" and message["phase"] == "run" and phase == "build":
                phase = "run"
                deadline = time.monotonic() + program.resources.timeout_ms / 1000
            elif kind == "output":
                kept = outputs[message["phase"]].add(message["stream"], b64decode(message["data"]))
                if on_output is not None and message["phase"] == "run" and kept:
                    await on_output(message["stream"], kept)
            elif kind == "truncated":
                outputs[message["phase"]].truncated = True
            elif kind == "artifact":
                new_artifact = b64decode(message["data"])
            elif kind == "exit":
                exit_frame = message
            elif kind == "fatal":
                raise SandboxFailure(f"sandbox agent failed: {message.get('message')}")
    except TimeoutError:
        usage = _delta(before, sandbox.usage())
        await sandbox.kill()
        limit = policy.build_timeout_ms if phase == "build" else program.resources.timeout_ms
        what = "compilation" if phase == "build" else "execution"
        error = f"{what} exceeded its time limit of {limit} ms and was killed"
        return RunResult(
            _interrupted_outcome(
                status="timeout", exit_code=None, oom_killed=False, error=error, phase=phase,
                output=outputs[phase], usage=usage, started=started, image_id=image_id,
            ),
            None,
        )  # fmt: skip
    except SandboxFailure as failure:
        if await _was_oom_killed(sandbox):
            error = f"out of memory: the sandbox exceeded its {program.resources.memory_mb} MiB limit and was killed"
            exit_code: int | None = 137
            oom = True
        elif started_phases:
            # The program shares the sandbox with the agent, so once it runs it can kill or garble it.
            error = f"the sandbox stopped answering while the program ran ({failure}); nothing was reused"
            exit_code, oom = await _container_exit_code(sandbox), False
        else:
            raise
        return RunResult(
            _interrupted_outcome(
                status="failed", exit_code=exit_code, oom_killed=oom, error=error, phase=phase,
                output=outputs[phase], usage=Usage(oom_kills=int(oom)), started=started, image_id=image_id,
            ),
            None,
        )  # fmt: skip
    usage = _delta(before, sandbox.usage())
    return RunResult(
        _finished_outcome(exit_frame, outputs, usage, started, image_id, program, cached_build=artifact is not None),
        new_artifact,
    )


def _delta(before: Usage, after: Usage) -> Usage:
    return Usage(
        cpu_seconds=max(after.cpu_seconds - before.cpu_seconds, 0.0),
        memory_peak_bytes=after.memory_peak_bytes,
        oom_kills=after.oom_kills - before.oom_kills,
    )


async def _was_oom_killed(sandbox: Sandbox) -> bool:
    if sandbox.usage().oom_kills > 0:
        return True
    try:
        state = (await sandbox.docker.inspect_container(sandbox.container_id))["State"]
    except DockerAPIError:
        return False
    return bool(state.get("OOMKilled"))


async def _container_exit_code(sandbox: Sandbox) -> int | None:
    try:
        state = (await sandbox.docker.inspect_container(sandbox.container_id))["State"]
    except DockerAPIError:
        return None
    return None if state.get("Running") else int(state.get("ExitCode", 0)) or None


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _finished_outcome(
    exit_frame: Frame,
    outputs: dict[str, CappedOutput],
    usage: Usage,
    started: float,
    image_id: str,
    program: Program,
    *,
    cached_build: bool,
) -> Outcome:
    phase: Phase = "build" if exit_frame["phase"] == "build" else "run"
    output = outputs[phase]
    exit_code = int(exit_frame["exit_code"])
    oom = usage.oom_kills > 0
    error = None
    if phase == "build":
        error = "compilation failed"
    elif oom:
        error = f"out of memory: the program exceeded its {program.resources.memory_mb} MiB limit and was killed"
    elif exit_code != 0:
        error = f"the program exited with code {exit_code}"
    return Outcome(
        status="completed" if exit_code == 0 and phase == "run" else "failed",
        exit_code=exit_code,
        stdout=bytes(output.streams["stdout"]),
        stderr=bytes(output.streams["stderr"]),
        truncated=output.truncated or bool(exit_frame.get("truncated")),
        oom_killed=oom,
        duration_ms=_elapsed_ms(started),
        phase=phase,
        usage=usage,
        image_id=image_id,
        build_cached=cached_build,
        error=error,
    )


def _interrupted_outcome(
    *,
    status: ExecutionStatus,
    exit_code: int | None,
    oom_killed: bool,
    error: str,
    phase: Phase,
    output: CappedOutput,
    usage: Usage,
    started: float,
    image_id: str,
) -> Outcome:
    """An execution that ended without the agent's exit report: timeout, OOM kill, or a sandbox the program broke."""
    return Outcome(
        status=status,
        exit_code=exit_code,
        stdout=bytes(output.streams["stdout"]),
        stderr=bytes(output.streams["stderr"]),
        truncated=output.truncated,
        oom_killed=oom_killed,
        duration_ms=_elapsed_ms(started),
        phase=phase,
        usage=usage,
        image_id=image_id,
        error=error,
    )
