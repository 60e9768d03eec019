"""Live sessions: a sandbox whose state persists across runs, in every language.

A session is a checkpointable sandbox whose PID 1 is a session runner
(``engine/agent/session_python.py`` or ``session_node.js``) speaking the agent's frames,
tagged with the request ``id`` (see the runners' docstrings). For Python and JavaScript it
is a live interpreter: a run is a cell, and variables, imports and open files persist. For
Go and Rust the Python runner builds and runs each program in place: the sources, the
binary and the build cache persist, so a later build is incremental. A run's files are
written under ``/workspace`` and its environment variables set in the session before it
runs; the variables stay for later runs. :meth:`InterpreterSession.execute` does whichever
the language needs. Because the sandbox is
checkpointable, :func:`engine.checkpoints.checkpoint` can snapshot a session between runs
and :func:`engine.checkpoints.fork` clone it; :meth:`InterpreterSession.adopt` then drives
the restored copy.

Timeouts: the runner enforces ``timeout_ms`` itself and the session survives — Python
raises ``KeyboardInterrupt`` in the cell (SIGINT to its main thread), JavaScript stops
synchronous code with vm's ``timeout`` or stops waiting for the cell's promise (work it
already scheduled keeps running). The result then has ``timed_out=True`` and the runner's
exit code 1. Code that defeats the interrupt (catches ``KeyboardInterrupt``, blocks in C)
is the host's to stop: after :data:`INTERRUPT_GRACE_S` more the container is killed, the
result has ``timed_out=True`` and ``exit_code=None``, and the session is dead: later runs
raise :class:`SessionDead`. A program's build and run are process groups the runner kills
at ``build_timeout_ms`` and ``timeout_ms`` (exit code 137, ``timed_out=True``); the session
lives on, and the host steps in as above only if the runner itself stops answering.

JavaScript sessions are checkpointable only under ``SandboxPolicy.seccomp_profile``.
Node 20's libuv (1.50) always opens io_uring rings, ignoring ``UV_USE_IO_URING=0``, and
CRIU 4.1.1 cannot dump them ("Unknown shit 600 (anon_inode:[io_uring])"). The profile
``faas setup`` writes (Docker's default without the io_uring syscalls, see
``provisioning/seccomp.py``) makes ``io_uring_setup`` fail, so libuv falls back to epoll;
a node without it logs a warning and its JavaScript sessions cannot be checkpointed.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.agent.protocol import b64decode, b64encode
from engine.agent_channel import AgentChannel
from engine.container_config import checkpointable_config
from engine.docker import DockerClient
from engine.errors import EngineError, SandboxFailure, UnsupportedLanguage
from engine.executor import AGENT_DIR
from engine.languages import AGENT_MOUNT, BUILD_OUTPUT, RUNTIMES, LanguageRuntime, program_env
from engine.models import Phase, Resources, SandboxPolicy
from engine.runner import CappedOutput, OutputListener, PhaseListener
from engine.sandbox import remove_quietly, start_with_agent

log = logging.getLogger(__name__)

_PYTHON_RUNNER = ["python3", "-u", "-E", "-s", f"{AGENT_MOUNT}/session_python.py"]
SESSION_COMMANDS: dict[str, list[str]] = {
    "python": _PYTHON_RUNNER,
    "javascript": ["node", f"{AGENT_MOUNT}/session_node.js"],
    # Compiled languages: the Python runner builds and runs their programs (every runtime image has python3).
    **{name: _PYTHON_RUNNER for name, runtime in RUNTIMES.items() if runtime.compiled},
}
SESSION_LANGUAGES = tuple(SESSION_COMMANDS)
SESSION_LABEL = "org.faas.session"
SYNC_TIMEOUT_S = 10.0
INTERRUPT_GRACE_S = 2.0
"""How long past its deadline a run may take to report its interrupt before the session is killed."""
DEFAULT_OUTPUT_LIMIT = 1024 * 1024
DEFAULT_BUILD_TIMEOUT_MS = SandboxPolicy().build_timeout_ms


class SessionDead(SandboxFailure):
    """The session's runner is gone (killed after a timeout, exited, or closed)."""


@dataclass(frozen=True)
class SessionResult:
    """What one run in a session produced."""

    exit_code: int | None
    """0, 1 after an uncaught exception or a refused request, N after ``sys.exit(N)`` or as a program's
    exit status (137 when killed at its limit); None when the session was killed."""
    stdout: bytes
    stderr: bytes
    truncated: bool
    duration_ms: int
    timed_out: bool = False
    phase: Phase = "run"
    """The phase that ended the run: "build" when a program's build failed or timed out."""


def session_config(
    *,
    language: str,
    image: str,
    resources: Resources,
    policy: SandboxPolicy,
    node_id: str,
    agent_dir: str = AGENT_DIR,
    network: str | None = None,
) -> dict[str, Any]:
    """Container-create body of a session sandbox; forks of a session must be created from the same body.

    ``network``: a Docker network to join; None: none at all.
    """
    if language not in SESSION_COMMANDS:
        raise UnsupportedLanguage(f"no sessions for {language!r}; supported: {', '.join(SESSION_LANGUAGES)}")
    runtime = RUNTIMES[language]
    body = checkpointable_config(
        image=image,
        runtime=runtime,
        resources=resources,
        policy=policy,
        agent_dir=agent_dir,
        node_id=node_id,
        command=SESSION_COMMANDS[language],
        network=network,
    )
    # The runner's environment is the user's (a cell's, or that of the builds and runs it starts).
    env = program_env(runtime, {})
    body["Env"] = [*body["Env"], *(f"{name}={value}" for name, value in env.items())]
    body["Labels"][SESSION_LABEL] = "1"
    return body


class InterpreterSession:
    """A session runner in a checkpointable sandbox (an interpreter, or a compiled language's
    build-and-run loop); runs are served one at a time."""

    def __init__(self, docker: DockerClient, container_id: str, language: str, channel: AgentChannel) -> None:
        self.docker = docker
        self.language = language
        self._container_id = container_id
        self._channel = channel
        self._ids = itertools.count(1)
        self._lock = asyncio.Lock()
        self._dead: str | None = None

    @property
    def container_id(self) -> str:
        return self._container_id

    @property
    def alive(self) -> bool:
        return self._dead is None

    @classmethod
    async def start(
        cls,
        docker: DockerClient,
        *,
        language: str,
        image: str,
        resources: Resources,
        policy: SandboxPolicy,
        node_id: str,
        agent_dir: str = AGENT_DIR,
        network: str | None = None,
    ) -> InterpreterSession:
        """Create, attach and start a session sandbox; returns once its interpreter is ready.

        Raises:
            UnsupportedLanguage: no session runner for ``language``.
            SandboxFailure: the sandbox did not come up (it is removed).
        """
        config = session_config(
            language=language,
            image=image,
            resources=resources,
            policy=policy,
            node_id=node_id,
            agent_dir=agent_dir,
            network=network,
        )
        started = await start_with_agent(docker, config, name=f"faas-session-{language}-{uuid.uuid4().hex[:12]}")
        return cls(docker, started.container_id, language, started.channel)

    @classmethod
    async def adopt(cls, docker: DockerClient, container_id: str, language: str) -> InterpreterSession:
        """Drive an already running session container (e.g. just forked or restored from a checkpoint).

        Attaches, then exchanges a ``ping`` so the session is known to answer and anything the
        restored pipes still held is skipped. The container is not removed on failure: it is
        the caller's.

        Raises:
            UnsupportedLanguage: no session runner for ``language``.
            SandboxFailure: the interpreter does not answer.
        """
        if language not in SESSION_COMMANDS:
            raise UnsupportedLanguage(f"no sessions for {language!r}")
        channel = AgentChannel(await docker.attach(container_id), container_id[:12])
        session = cls(docker, container_id, language, channel)
        try:
            await session._sync()
        except BaseException:
            await channel.close()
            raise
        return session

    async def _sync(self) -> None:
        ping = {"type": "ping", "id": f"sync-{uuid.uuid4().hex[:12]}"}
        await self._channel.send(ping)
        try:
            async with asyncio.timeout(SYNC_TIMEOUT_S):
                while (frame := await self._channel.receive()).get("id") != ping["id"]:
                    log.debug("session %s: skipping stale %s frame", self._container_id[:12], frame["type"])
        except TimeoutError:
            raise SandboxFailure(f"session {self._container_id[:12]} does not answer") from None

    async def run(
        self,
        code: str,
        *,
        files: Mapping[str, bytes] | None = None,
        env: Mapping[str, str] | None = None,
        timeout_ms: int,
        on_output: OutputListener | None = None,
        output_limit: int = DEFAULT_OUTPUT_LIMIT,
    ) -> SessionResult:
        """Run ``code`` in the session's namespace; waits for a previous run to finish first.

        Args:
            files: written under ``/workspace`` before the code runs; a path that is absolute,
                has ``..`` or runs through a symbolic link is refused: nothing runs, the result
                has exit code 1 and the reason on stderr.
            env: set in the interpreter's environment before the code runs; stays for later runs.
            on_output: called with ``("stdout" | "stderr", bytes)`` as output arrives.
            output_limit: bytes kept per stream; more is dropped and ``truncated`` set.

        Raises:
            SessionDead: the session was killed or closed earlier, or its interpreter died.
        """
        request = {
            "type": "exec",
            "code": code,
            "files": _encoded(files or {}),
            "env": dict(env or {}),
            "timeout_ms": timeout_ms,
            "output_limit": output_limit,
        }
        return await self._serve(request, _Run("run", {"run": timeout_ms}, output_limit), on_output, None)

    async def run_program(
        self,
        code: str,
        *,
        files: Mapping[str, bytes] | None = None,
        env: Mapping[str, str] | None = None,
        timeout_ms: int,
        build_timeout_ms: int = DEFAULT_BUILD_TIMEOUT_MS,
        on_output: OutputListener | None = None,
        on_phase: PhaseListener | None = None,
        output_limit: int = DEFAULT_OUTPUT_LIMIT,
    ) -> SessionResult:
        """Build ``code`` as the language's main file with ``files`` beside it, then run it.

        Everything stays in the sandbox for the next program: sources, the binary and the
        build cache. The language's default files (``go.mod``) are written only where no
        file exists yet. A failed or timed-out build ends the run with ``phase="build"``.

        Args:
            files, env: as for :meth:`run`; ``env`` is also inherited by later builds and runs.
            timeout_ms, build_timeout_ms: limits of the run and of the build.
            on_output: called with the run's output as it arrives (not the compiler's).
            on_phase: called as the build and the run start.
            output_limit: bytes kept per stream and phase.

        Raises:
            UnsupportedLanguage: the session's language is not compiled.
            SessionDead: the session was killed or closed earlier, or its runner died.
        """
        runtime = RUNTIMES[self.language]
        if runtime.build is None:
            raise UnsupportedLanguage(f"{self.language} is not compiled: run its code with run()")
        request = program_request(
            runtime,
            code,
            files=files or {},
            env=env or {},
            timeout_ms=timeout_ms,
            build_timeout_ms=build_timeout_ms,
            output_limit=output_limit,
        )
        run = _Run("build", {"build": build_timeout_ms, "run": timeout_ms}, output_limit)
        return await self._serve(request, run, on_output, on_phase)

    async def execute(
        self,
        code: str,
        *,
        files: Mapping[str, bytes] | None = None,
        env: Mapping[str, str] | None = None,
        timeout_ms: int,
        build_timeout_ms: int = DEFAULT_BUILD_TIMEOUT_MS,
        on_output: OutputListener | None = None,
        on_phase: PhaseListener | None = None,
        output_limit: int = DEFAULT_OUTPUT_LIMIT,
    ) -> SessionResult:
        """Run ``code`` as the session's language does: a cell (:meth:`run`) or a program (:meth:`run_program`).

        For interpreted languages ``on_phase`` is called once with ``"run"`` and ``build_timeout_ms`` is unused.
        """
        if RUNTIMES[self.language].compiled:
            return await self.run_program(
                code,
                files=files,
                env=env,
                timeout_ms=timeout_ms,
                build_timeout_ms=build_timeout_ms,
                on_output=on_output,
                on_phase=on_phase,
                output_limit=output_limit,
            )
        if on_phase is not None:
            await on_phase("run")
        return await self.run(
            code, files=files, env=env, timeout_ms=timeout_ms, on_output=on_output, output_limit=output_limit
        )

    async def _serve(
        self, request: dict[str, Any], run: _Run, on_output: OutputListener | None, on_phase: PhaseListener | None
    ) -> SessionResult:
        async with self._lock:
            if self._dead is not None:
                raise SessionDead(f"session {self._container_id[:12]} is dead: {self._dead}")
            started = time.monotonic()
            try:
                exit_frame = await self._exchange(request, run, on_output, on_phase)
            except TimeoutError:
                limit_ms = run.limits_ms[run.phase]
                await self._kill(
                    f"a {run.phase} ignored its interrupt {INTERRUPT_GRACE_S} s past its {limit_ms} ms limit"
                )
                exit_frame = {"phase": run.phase, "exit_code": None, "timed_out": True}
            except SandboxFailure as exc:
                await self._kill(f"its interpreter went away: {exc}")
                raise SessionDead(f"session {self._container_id[:12]} died during a run: {exc}") from exc
            except asyncio.CancelledError:
                # The channel may stop mid-frame: it cannot be trusted for another run.
                self._dead = "a run was cancelled"
                raise
            output = run.outputs[_phase_of(exit_frame)]
            return session_result(output, exit_frame, int((time.monotonic() - started) * 1000))

    async def _exchange(
        self,
        request: dict[str, Any],
        run: _Run,
        on_output: OutputListener | None,
        on_phase: PhaseListener | None,
    ) -> dict[str, Any]:
        request_id = next(self._ids)
        await self._channel.send({**request, "id": request_id})
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(run.allowance_s()) as deadline:
            while True:
                frame = await self._channel.receive()
                if frame.get("id") != request_id:
                    continue  # a frame left over from an abandoned run
                kind, phase = frame["type"], _phase_of(frame)
                if kind == "exit":
                    return frame
                if kind == "phase":
                    run.phase = phase
                    deadline.reschedule(loop.time() + run.allowance_s())  # each phase has its own limit
                    if on_phase is not None:
                        await on_phase(phase)
                elif kind == "truncated":
                    run.outputs[phase].truncated = True
                elif kind == "output":
                    kept = run.outputs[phase].add(str(frame["stream"]), b64decode(str(frame["data"])))
                    if kept and on_output is not None and phase == "run":
                        await on_output(str(frame["stream"]), kept)

    async def _kill(self, reason: str) -> None:
        self._dead = reason
        await self._channel.close()
        try:
            await self.docker.kill_container(self._container_id)
        except EngineError as exc:
            log.debug("kill session %s: %s", self._container_id[:12], exc)

    async def close(self) -> None:
        """Remove the session's container; safe to call twice."""
        if self._dead is None:
            self._dead = "closed"
        await self._channel.close()
        await remove_quietly(self.docker, self._container_id)


class _Run:
    """A request in flight: the phase it is in, each phase's limit, the output kept per phase."""

    def __init__(self, phase: Phase, limits_ms: dict[Phase, int], output_limit: int) -> None:
        self.phase = phase
        self.limits_ms = limits_ms
        self.outputs: dict[Phase, CappedOutput] = {
            "build": CappedOutput(output_limit),
            "run": CappedOutput(output_limit),
        }

    def allowance_s(self) -> float:
        """How long the current phase may take before the host gives up on the runner."""
        return self.limits_ms[self.phase] / 1000 + INTERRUPT_GRACE_S


def program_request(
    runtime: LanguageRuntime,
    code: str,
    *,
    files: Mapping[str, bytes],
    env: Mapping[str, str],
    timeout_ms: int,
    build_timeout_ms: int,
    output_limit: int,
) -> dict[str, Any]:
    """The runner's ``program`` request: ``code`` as the main file, built and run with ``runtime``'s commands."""
    sources = {**files, runtime.main_file: code.encode()}
    defaults = {path: data for path, data in runtime.default_files.items() if path not in sources}
    return {
        "type": "program",
        "files": _encoded(sources),
        "defaults": _encoded(defaults),
        "env": dict(env),
        "build": list(runtime.build) if runtime.build else None,
        "artifact_path": BUILD_OUTPUT if runtime.build else None,
        "run": list(runtime.run),
        "timeout_ms": timeout_ms,
        "build_timeout_ms": build_timeout_ms,
        "output_limit": output_limit,
    }


def _encoded(files: Mapping[str, bytes]) -> dict[str, str]:
    return {path: b64encode(data) for path, data in files.items()}


def _phase_of(frame: dict[str, Any]) -> Phase:
    return "build" if frame.get("phase") == "build" else "run"


def session_result(output: CappedOutput, exit_frame: dict[str, Any], duration_ms: int) -> SessionResult:
    """A run's result: output of the phase that ended it, capped on the host (the runner is not trusted for the cap)."""
    code = exit_frame.get("exit_code")
    return SessionResult(
        exit_code=None if code is None else int(code),
        stdout=bytes(output.streams["stdout"]),
        stderr=bytes(output.streams["stderr"]),
        truncated=output.truncated or bool(exit_frame.get("truncated")),
        duration_ms=duration_ms,
        timed_out=bool(exit_frame.get("timed_out")),
        phase=_phase_of(exit_frame),
    )
