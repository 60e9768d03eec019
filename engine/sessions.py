"""Live interpreter sessions: one Python or JavaScript interpreter whose state persists across runs.

A session is a checkpointable sandbox whose PID 1 is a session runner
(``engine/agent/session_python.py`` or ``session_node.js``) speaking the agent's frames,
tagged with the request ``id`` (see the runners' docstrings). Because the sandbox is
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
raise :class:`SessionDead`.

Known limit: JavaScript sessions cannot be checkpointed yet. Node 20's libuv (1.50)
always opens io_uring rings, ignoring ``UV_USE_IO_URING=0``, and CRIU 4.1.1 cannot dump
them ("Unknown shit 600 (anon_inode:[io_uring])"). Either a seccomp profile (Docker's
default minus ``io_uring_setup``, so libuv falls back to epoll) or the host setting
``kernel.io_uring_disabled=2`` would lift it.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

from engine.agent.protocol import b64decode
from engine.agent_channel import AgentChannel
from engine.container_config import checkpointable_config
from engine.docker import DockerClient
from engine.errors import EngineError, SandboxFailure, UnsupportedLanguage
from engine.executor import AGENT_DIR
from engine.languages import AGENT_MOUNT, RUNTIMES, program_env
from engine.models import Resources, SandboxPolicy
from engine.runner import CappedOutput, OutputListener
from engine.sandbox import remove_quietly, start_with_agent

log = logging.getLogger(__name__)

SESSION_COMMANDS: dict[str, list[str]] = {
    "python": ["python3", "-u", "-E", "-s", f"{AGENT_MOUNT}/session_python.py"],
    "javascript": ["node", f"{AGENT_MOUNT}/session_node.js"],
}
SESSION_LANGUAGES = tuple(SESSION_COMMANDS)
SESSION_LABEL = "org.faas.session"
SYNC_TIMEOUT_S = 10.0
INTERRUPT_GRACE_S = 2.0
"""How long past its deadline a run may take to report its interrupt before the session is killed."""
DEFAULT_OUTPUT_LIMIT = 1024 * 1024


class SessionDead(SandboxFailure):
    """The session's interpreter is gone (killed after a timeout, exited, or closed)."""


@dataclass(frozen=True)
class SessionResult:
    """What one run in a session produced."""

    exit_code: int | None
    """0, 1 after an uncaught exception, N after ``sys.exit(N)``; None when the session was killed."""
    stdout: bytes
    stderr: bytes
    truncated: bool
    duration_ms: int
    timed_out: bool = False


def session_config(
    *,
    language: str,
    image: str,
    resources: Resources,
    policy: SandboxPolicy,
    node_id: str,
    agent_dir: str = AGENT_DIR,
) -> dict[str, Any]:
    """Container-create body of a session sandbox; forks of a session must be created from the same body."""
    if language not in SESSION_COMMANDS:
        raise UnsupportedLanguage(
            f"no interpreter sessions for {language!r}; supported: {', '.join(SESSION_LANGUAGES)}"
        )
    runtime = RUNTIMES[language]
    body = checkpointable_config(
        image=image,
        runtime=runtime,
        resources=resources,
        policy=policy,
        agent_dir=agent_dir,
        node_id=node_id,
        command=SESSION_COMMANDS[language],
    )
    # The interpreter is the user's program here: give it the environment a program gets.
    env = program_env(runtime, {})
    body["Env"] = [*body["Env"], *(f"{name}={value}" for name, value in env.items())]
    body["Labels"][SESSION_LABEL] = "1"
    return body


class InterpreterSession:
    """A running interpreter in a checkpointable sandbox; runs are served one at a time."""

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
    ) -> InterpreterSession:
        """Create, attach and start a session sandbox; returns once its interpreter is ready.

        Raises:
            UnsupportedLanguage: no session runner for ``language``.
            SandboxFailure: the sandbox did not come up (it is removed).
        """
        config = session_config(
            language=language, image=image, resources=resources, policy=policy, node_id=node_id, agent_dir=agent_dir
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
            raise UnsupportedLanguage(f"no interpreter sessions for {language!r}")
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
        timeout_ms: int,
        on_output: OutputListener | None = None,
        output_limit: int = DEFAULT_OUTPUT_LIMIT,
    ) -> SessionResult:
        """Run ``code`` in the session's namespace; waits for a previous run to finish first.

        Args:
            on_output: called with ``("stdout" | "stderr", bytes)`` as output arrives.
            output_limit: bytes kept per stream; more is dropped and ``truncated`` set.

        Raises:
            SessionDead: the session was killed or closed earlier, or its interpreter died.
        """
        async with self._lock:
            if self._dead is not None:
                raise SessionDead(f"session {self._container_id[:12]} is dead: {self._dead}")
            output = CappedOutput(output_limit)
            started = time.monotonic()
            try:
                exit_frame = await self._exchange(code, timeout_ms, output, on_output)
            except TimeoutError:
                await self._kill(f"a run ignored its interrupt {INTERRUPT_GRACE_S} s past its {timeout_ms} ms limit")
                exit_frame = {"exit_code": None, "timed_out": True}
            except SandboxFailure as exc:
                await self._kill(f"its interpreter went away: {exc}")
                raise SessionDead(f"session {self._container_id[:12]} died during a run: {exc}") from exc
            except asyncio.CancelledError:
                # The channel may stop mid-frame: it cannot be trusted for another run.
                self._dead = "a run was cancelled"
                raise
            return session_result(output, exit_frame, int((time.monotonic() - started) * 1000))

    async def _exchange(
        self, code: str, timeout_ms: int, output: CappedOutput, on_output: OutputListener | None
    ) -> dict[str, Any]:
        request_id = next(self._ids)
        request = {
            "type": "exec",
            "id": request_id,
            "code": code,
            "timeout_ms": timeout_ms,
            "output_limit": output.limit,
        }
        await self._channel.send(request)
        async with asyncio.timeout(timeout_ms / 1000 + INTERRUPT_GRACE_S):
            while True:
                frame = await self._channel.receive()
                if frame.get("id") != request_id:
                    continue  # a frame left over from an abandoned run
                if frame["type"] == "exit":
                    return frame
                if frame["type"] == "truncated":
                    output.truncated = True
                elif frame["type"] == "output":
                    kept = output.add(str(frame["stream"]), b64decode(str(frame["data"])))
                    if kept and on_output is not None:
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


def session_result(output: CappedOutput, exit_frame: dict[str, Any], duration_ms: int) -> SessionResult:
    """A run's result: the output as capped on the host (the runner is not trusted for the cap)."""
    code = exit_frame.get("exit_code")
    return SessionResult(
        exit_code=None if code is None else int(code),
        stdout=bytes(output.streams["stdout"]),
        stderr=bytes(output.streams["stderr"]),
        truncated=output.truncated or bool(exit_frame.get("truncated")),
        duration_ms=duration_ms,
        timed_out=bool(exit_frame.get("timed_out")),
    )
