"""A sandbox: one hardened, single-use container with the agent waiting inside."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

from engine.agent_channel import AgentChannel
from engine.cgroup import CgroupPaths, cgroup_of, read_usage
from engine.container_config import resource_limits, sandbox_config
from engine.docker import DockerClient
from engine.errors import DockerAPIError, EngineError, SandboxFailure
from engine.languages import LanguageRuntime
from engine.models import Resources, SandboxPolicy, Usage

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 60.0


class Sandbox:
    """A started container whose agent has announced it is ready for one program."""

    def __init__(
        self,
        docker: DockerClient,
        container_id: str,
        runtime: LanguageRuntime,
        resources: Resources,
        channel: AgentChannel,
        cgroup: CgroupPaths,
    ) -> None:
        self.docker = docker
        self.container_id = container_id
        self.runtime = runtime
        self.resources = resources
        self.channel = channel
        self.cgroup = cgroup
        self.created_at = time.monotonic()
        self._destroyed = False

    @property
    def name(self) -> str:
        return self.container_id[:12]

    @classmethod
    async def launch(
        cls,
        docker: DockerClient,
        *,
        image: str,
        runtime: LanguageRuntime,
        resources: Resources,
        policy: SandboxPolicy,
        agent_dir: str,
        node_id: str,
    ) -> Sandbox:
        """Create, attach, start, and wait for the agent's ``ready`` frame."""
        config = sandbox_config(
            image=image, runtime=runtime, resources=resources, policy=policy, agent_dir=agent_dir, node_id=node_id
        )
        name = f"faas-{runtime.name}-{uuid.uuid4().hex[:12]}"
        started = await start_with_agent(docker, config, name=name)
        return cls(docker, started.container_id, runtime, resources, started.channel, cgroup_of(started.pid))

    async def apply_resources(self, resources: Resources, policy: SandboxPolicy) -> None:
        """Resize a pooled sandbox to the execution's limits before it runs anything."""
        current = (self.resources.cpu_cores, self.resources.memory_mb)
        if (resources.cpu_cores, resources.memory_mb) == current:
            return
        await self.docker.update_container(self.container_id, resource_limits(resources, policy))
        self.resources = resources

    def usage(self) -> Usage:
        return read_usage(self.cgroup)

    async def kill(self) -> None:
        try:
            await self.docker.kill_container(self.container_id)
        except DockerAPIError as exc:
            log.debug("kill %s: %s", self.name, exc)

    async def destroy(self) -> None:
        """Remove the container and everything in it; safe to call twice."""
        if self._destroyed:
            return
        self._destroyed = True
        await self.channel.close()
        await remove_quietly(self.docker, self.container_id)


@dataclass(frozen=True)
class StartedContainer:
    container_id: str
    channel: AgentChannel
    pid: int


async def start_with_agent(docker: DockerClient, config: dict[str, Any], *, name: str) -> StartedContainer:
    """Create, attach, start, and wait for the ``ready`` frame of the runner that is PID 1.

    Shared by single-use sandboxes and interpreter sessions. On any failure, cancellation
    included, the container and the connection are removed: nothing leaks.

    Raises:
        SandboxFailure: the container did not come up or its runner failed to start.
    """
    container_id = await docker.create_container(config, name=name)
    channel: AgentChannel | None = None
    try:
        channel = AgentChannel(await docker.attach(container_id), container_id[:12])
        await docker.start_container(container_id)
        pid = int((await docker.inspect_container(container_id))["State"]["Pid"])
        frame = await asyncio.wait_for(channel.receive(), READY_TIMEOUT_S)
        if frame["type"] != "ready":
            raise SandboxFailure(f"{name} failed to start: {frame.get('message', frame['type'])}")
        return StartedContainer(container_id, channel, pid)
    except BaseException as exc:  # also on cancellation: never leak a container or a connection
        if channel is not None:
            await channel.close()
        await remove_quietly(docker, container_id)
        if isinstance(exc, OSError | TimeoutError):
            raise SandboxFailure(f"{name} did not become ready: {exc!r}") from exc
        raise


async def remove_quietly(docker: DockerClient, container_id: str) -> None:
    """Remove a container we are done with; a failure is logged (the next start sweeps leftovers)."""
    try:
        await docker.remove_container(container_id)
    except EngineError as exc:
        log.warning("could not remove container %s: %s", container_id[:12], exc)
