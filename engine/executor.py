"""The engine's front: admission, warm pools, artefact cache, one fresh sandbox per execution."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from engine.artifacts import ArtifactCache, artifact_key
from engine.container_config import SANDBOX_LABEL
from engine.docker import DockerClient
from engine.errors import CapacityExceeded, DockerNotFound, EngineError, ImageMissing, UnsupportedLanguage
from engine.interaction import Interaction
from engine.languages import RUNTIMES, LanguageRuntime
from engine.models import Outcome, Program, Resources, SandboxPolicy
from engine.ownership import OWNER_LABEL, owner_is_gone
from engine.pool import WarmPool
from engine.runner import OutputListener, PhaseListener, run_program
from engine.sandbox import Sandbox

log = logging.getLogger(__name__)

AGENT_DIR = str(Path(__file__).parent / "agent")
SHUTDOWN_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class EngineConfig:
    """Everything the engine needs to know about this node."""

    images: Mapping[str, str]
    artifact_dir: Path
    pool_sizes: Mapping[str, int] = field(default_factory=dict)
    policy: SandboxPolicy = field(default_factory=SandboxPolicy)
    default_resources: Resources = field(default_factory=Resources)
    max_concurrent: int = 16
    memory_budget_mb: int = 8192
    node_id: str = "faas-node"
    docker_socket: str = "/var/run/docker.sock"
    agent_dir: str = AGENT_DIR


@dataclass
class _Load:
    executions: int = 0
    memory_mb: int = 0


class Reservation:
    """Memory held for a long-lived sandbox (a live context) until :meth:`release`."""

    def __init__(self, load: _Load, memory_mb: int) -> None:
        self._load = load
        self._memory_mb = memory_mb
        load.memory_mb += memory_mb

    def release(self) -> None:
        """Give the memory back; safe to call twice."""
        self._load.memory_mb -= self._memory_mb
        self._memory_mb = 0


class Executor:
    """Runs programs in fresh hardened sandboxes; never reuses one."""

    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        self.docker = DockerClient(config.docker_socket)
        self.artifacts = ArtifactCache(config.artifact_dir)
        self.pool = WarmPool(self._launch_pooled, config.pool_sizes)
        self._image_ids: dict[str, str] = {}
        self._load = _Load()
        self._teardowns: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Check Docker, resolve runtime images, remove leftovers, start the warm pools."""
        if not await self.docker.ping():
            await self.docker.close()
            raise EngineError(f"the Docker engine at {self.config.docker_socket} does not answer; run `faas setup`")
        for language, image in self.config.images.items():
            try:
                self._image_ids[language] = (await self.docker.inspect_image(image))["Id"]
            except DockerNotFound:
                log.warning("runtime image %s for %s is missing; run `faas setup`", image, language)
        await self._remove_leftovers()
        self.pool.start()

    async def close(self) -> None:
        """Destroy idle and used sandboxes; bounded, so a stuck Docker call cannot hold shutdown."""
        try:
            async with asyncio.timeout(SHUTDOWN_TIMEOUT_S):
                await self.pool.close()
                await asyncio.gather(*self._teardowns, return_exceptions=True)
        except TimeoutError:
            log.warning("sandboxes were still being removed after %ss; the next start removes them", SHUTDOWN_TIMEOUT_S)
        await self.docker.close()

    @property
    def active_executions(self) -> int:
        return self._load.executions

    def available_languages(self) -> list[str]:
        return sorted(self._image_ids)

    def image_id(self, language: str) -> str:
        """The content id of the image a language runs on (part of cache keys)."""
        self._runtime(language)
        try:
            return self._image_ids[language]
        except KeyError:
            image = self.config.images.get(language, "<not configured>")
            raise ImageMissing(
                f"the runtime image for {language} ({image}) is not available on this node; run `faas setup`"
            ) from None

    async def execute(
        self,
        program: Program,
        *,
        on_output: OutputListener | None = None,
        on_phase: PhaseListener | None = None,
        interaction: Interaction | None = None,
    ) -> Outcome:
        """Run a program in a never-used sandbox and destroy the sandbox afterwards.

        ``on_output`` receives the program's output as it arrives, ``on_phase`` each phase
        (build, run) as it starts; ``interaction`` is bound while the program runs.
        """
        runtime = self._runtime(program.language)
        image_id = self.image_id(program.language)
        async with self._admitted(program.resources):
            key = None
            artifact = None
            if runtime.compiled:
                key = artifact_key(runtime, image_id, program.code, program.files, program.env)
                artifact = self.artifacts.get(key)
            sandbox = self.pool.take(program.language) or await self._launch(runtime, program.resources)
            try:
                await sandbox.apply_resources(program.resources, self.config.policy)
                result = await run_program(
                    sandbox,
                    program,
                    policy=self.config.policy,
                    image_id=image_id,
                    artifact=artifact,
                    on_output=on_output,
                    on_phase=on_phase,
                    interaction=interaction,
                )
            finally:
                self._teardown(sandbox)
                self.pool.refill(program.language)
            if key and result.artifact:
                await asyncio.to_thread(self.artifacts.put, key, result.artifact)
            return result.outcome

    def _runtime(self, language: str) -> LanguageRuntime:
        try:
            return RUNTIMES[language]
        except KeyError:
            raise UnsupportedLanguage(f"unsupported language {language!r}; supported: {', '.join(RUNTIMES)}") from None

    def check_capacity(self, resources: Resources) -> None:
        """Raise CapacityExceeded when an execution with these resources would be refused right now."""
        load, config = self._load, self.config
        if load.executions >= config.max_concurrent or load.memory_mb + resources.memory_mb > config.memory_budget_mb:
            raise CapacityExceeded(
                "this node is at capacity; retry shortly",
                details={
                    "active_executions": load.executions,
                    "max_concurrent_executions": config.max_concurrent,
                    "memory_requested_mb": resources.memory_mb,
                    "memory_available_mb": max(config.memory_budget_mb - load.memory_mb, 0),
                },
            )

    def reserve(self, resources: Resources) -> Reservation:
        """Hold ``resources.memory_mb`` of the node's budget for a sandbox that outlives one execution.

        Raises:
            CapacityExceeded: the node cannot take it now.
        """
        self.check_capacity(resources)
        return Reservation(self._load, resources.memory_mb)

    @contextlib.asynccontextmanager
    async def _admitted(self, resources: Resources) -> AsyncIterator[None]:
        self.check_capacity(resources)
        load = self._load
        load.executions += 1
        load.memory_mb += resources.memory_mb
        try:
            yield
        finally:
            load.executions -= 1
            load.memory_mb -= resources.memory_mb

    async def _launch(self, runtime: LanguageRuntime, resources: Resources) -> Sandbox:
        return await Sandbox.launch(
            self.docker,
            image=self.config.images[runtime.name],
            runtime=runtime,
            resources=resources,
            policy=self.config.policy,
            agent_dir=self.config.agent_dir,
            node_id=self.config.node_id,
        )

    async def _launch_pooled(self, language: str) -> Sandbox:
        self.image_id(language)
        return await self._launch(self._runtime(language), self.config.default_resources)

    def _teardown(self, sandbox: Sandbox) -> None:
        task = asyncio.create_task(sandbox.destroy())
        self._teardowns.add(task)
        task.add_done_callback(self._teardowns.discard)

    async def _remove_leftovers(self) -> None:
        """Remove sandboxes nobody will use: this node's from an earlier run (crash, kill -9) and
        any, running or not, whose owning process on this machine is gone.

        Never another live process's: a sandbox between create and start is ``created``, not dead.
        """
        for container in await self.docker.list_containers(label=SANDBOX_LABEL):
            labels = container.get("Labels") or {}
            if labels.get(SANDBOX_LABEL) == self.config.node_id or owner_is_gone(labels.get(OWNER_LABEL)):
                with contextlib.suppress(EngineError):
                    await self.docker.remove_container(container["Id"])
