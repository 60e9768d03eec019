"""Runs one program on one sandbox and turns the agent's frames into an Outcome."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from engine.agent.protocol import Frame, b64decode, b64encode
from engine.errors import DockerAPIError, SandboxFailure
from engine.interaction import Interaction
from engine.languages import BUILD_OUTPUT, can_use_prestarted, program_env, program_files
from engine.models import ExecutionStatus, Outcome, Phase, Program, SandboxPolicy, Usage
from engine.sandbox import Sandbox

OutputListener = Callable[[str, bytes], Awaitable[None]]
PhaseListener = Callable[[Phase], Awaitable[None]]


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
        "prestarted": can_use_prestarted(runtime, program.env) and not program.tty,
        "keep_stdin_open": program.stdin_open,
        "tty": program.tty,
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
    on_phase: PhaseListener | None = None,
    interaction: Interaction | None = None,
) -> RunResult:
    """Send the program, follow its frames until exit or deadline, then account usage."""
    run = _ProgramRun(sandbox, program, policy, image_id, artifact, on_output, on_phase)
    frame = build_run_frame(program, sandbox, policy, artifact)
    run.phase = "build" if frame["build"] else "run"
    run.restart_clock()
    await sandbox.channel.send(frame)
    if interaction is not None:
        await interaction.bind(sandbox.channel, usage=run.usage_so_far)
    try:
        exit_frame = await run.follow()
    except TimeoutError:
        return RunResult(await run.timed_out(), None)
    except SandboxFailure as failure:
        return RunResult(await run.broken(failure), None)
    finally:
        if interaction is not None:
            interaction.unbind()
    return RunResult(run.finished(exit_frame), run.new_artifact)


class _ProgramRun:
    """State of one run while its frames arrive."""

    def __init__(
        self,
        sandbox: Sandbox,
        program: Program,
        policy: SandboxPolicy,
        image_id: str,
        artifact: bytes | None,
        on_output: OutputListener | None,
        on_phase: PhaseListener | None,
    ) -> None:
        self.sandbox, self.program, self.policy, self.image_id = sandbox, program, policy, image_id
        self.cached_build = artifact is not None
        self.on_output, self.on_phase = on_output, on_phase
        self.outputs = {
            "build": CappedOutput(policy.output_limit_bytes),
            "run": CappedOutput(policy.output_limit_bytes),
        }
        self.phase: Phase = "run"
        self.started_phases: set[str] = set()
        self.new_artifact: bytes | None = None
        self.before = sandbox.usage()
        self.started = time.monotonic()
        self.deadline = self.started

    def usage_so_far(self) -> tuple[Usage, int]:
        return _delta(self.before, self.sandbox.usage()), _elapsed_ms(self.started)

    def restart_clock(self) -> None:
        limit = self.policy.build_timeout_ms if self.phase == "build" else self.program.resources.timeout_ms
        self.deadline = time.monotonic() + limit / 1000

    async def follow(self) -> Frame:
        """Handle frames until the agent reports the exit; TimeoutError at the deadline."""
        while True:
            message = await asyncio.wait_for(self.sandbox.channel.receive(), max(self.deadline - time.monotonic(), 0))
            kind = message["type"]
            if kind == "exit":
                return message
            if kind == "phase":
                await self._entered(message["phase"])
            elif kind == "output":
                kept = self.outputs[message["phase"]].add(message["stream"], b64decode(message["data"]))
                if self.on_output is not None and message["phase"] == "run" and kept:
                    await self.on_output(message["stream"], kept)
            elif kind == "truncated":
                self.outputs[message["phase"]].truncated = True
            elif kind == "artifact":
                self.new_artifact = b64decode(message["data"])
            elif kind == "fatal":
                raise SandboxFailure(f"sandbox agent failed: {message.get('message')}")

    async def _entered(self, phase: str) -> None:
        self.started_phases.add(phase)
        if phase == "run" and self.phase == "build":
            self.phase = "run"
            self.restart_clock()
        if self.on_phase is not None:
            await self.on_phase("build" if phase == "build" else "run")

    async def timed_out(self) -> Outcome:
        usage = _delta(self.before, self.sandbox.usage())
        await self.sandbox.kill()
        limit = self.policy.build_timeout_ms if self.phase == "build" else self.program.resources.timeout_ms
        what = "compilation" if self.phase == "build" else "execution"
        return self._interrupted(
            "timeout", None, False, f"{what} exceeded its time limit of {limit} ms and was killed", usage
        )

    async def broken(self, failure: SandboxFailure) -> Outcome:
        """The agent vanished or garbled its output: an OOM kill, the program's doing, or ours (re-raised)."""
        if await _was_oom_killed(self.sandbox):
            memory = self.program.resources.memory_mb
            error = f"out of memory: the sandbox exceeded its {memory} MiB limit and was killed"
            return self._interrupted("failed", 137, True, error, Usage(oom_kills=1))
        if not self.started_phases:
            raise failure
        # The program shares the sandbox with the agent, so once it runs it can garble the agent's output.
        error = f"the sandbox stopped answering while the program ran ({failure}); nothing was reused"
        return self._interrupted("failed", await _container_exit_code(self.sandbox), False, error, Usage())

    def _interrupted(
        self, status: ExecutionStatus, exit_code: int | None, oom_killed: bool, error: str, usage: Usage
    ) -> Outcome:
        output = self.outputs[self.phase]
        return Outcome(
            status=status,
            exit_code=exit_code,
            stdout=bytes(output.streams["stdout"]),
            stderr=bytes(output.streams["stderr"]),
            truncated=output.truncated,
            oom_killed=oom_killed,
            duration_ms=_elapsed_ms(self.started),
            phase=self.phase,
            usage=usage,
            image_id=self.image_id,
            error=error,
        )

    def finished(self, exit_frame: Frame) -> Outcome:
        usage = _delta(self.before, self.sandbox.usage())
        return _finished_outcome(
            exit_frame, self.outputs, usage, self.started, self.image_id, self.program, cached_build=self.cached_build
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
