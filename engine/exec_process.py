"""Processes started inside a running sandbox from outside it (an SSH session's shell or command).

Each runs through Docker's exec API, so it gets the sandbox's namespaces, cgroup (its limits
and metering), dropped capabilities, seccomp profile and ``no-new-privileges`` — exactly what
the sandbox's own processes have. Nothing of the host is reachable from it.
"""

from __future__ import annotations

import contextlib
import os
import signal
from dataclasses import dataclass
from pathlib import Path

from engine.container_config import ROOT_USER, WORKSPACE
from engine.docker import AttachedStream, DockerClient
from engine.errors import EngineError

DEFAULT_ENV = ("HOME=/workspace", "USER=root", "LANG=C.UTF-8", "SHELL=/bin/bash")


@dataclass(eq=False)
class ExecProcess:
    """A started process and its stdio stream."""

    docker: DockerClient
    exec_id: str
    stream: AttachedStream
    tty: bool

    async def resize(self, *, rows: int, columns: int) -> None:
        """Tell the process's terminal its new size (no-op without a terminal)."""
        if self.tty and rows > 0 and columns > 0:
            with contextlib.suppress(EngineError):  # the process may have ended meanwhile
                await self.docker.resize_exec(self.exec_id, rows=rows, columns=columns)

    async def exit_code(self) -> int | None:
        """The exit status once the process ended (None while it runs)."""
        state = await self.docker.inspect_exec(self.exec_id)
        if state.get("Running"):
            return None
        code = state.get("ExitCode")
        return int(code) if code is not None else None

    async def kill(self) -> None:
        """End the process and everything it started that is still its descendant, then drop the stream."""
        with contextlib.suppress(EngineError):
            state = await self.docker.inspect_exec(self.exec_id)
            if state.get("Running") and state.get("Pid"):
                kill_process_tree(int(state["Pid"]))
        await self.stream.close()


async def start_process(
    docker: DockerClient,
    container_id: str,
    command: list[str],
    *,
    tty: bool,
    env: dict[str, str] | None = None,
    rows: int = 0,
    columns: int = 0,
) -> ExecProcess:
    """Start ``command`` as the sandbox's user in its ``/workspace``.

    Raises:
        EngineError: the container is gone or not running.
    """
    environment = [*DEFAULT_ENV, *(f"{key}={value}" for key, value in (env or {}).items())]
    exec_id = await docker.create_exec(
        container_id, command, tty=tty, user=ROOT_USER, workdir=WORKSPACE, env=environment
    )
    stream = await docker.start_exec(exec_id, tty=tty)
    process = ExecProcess(docker, exec_id, stream, tty)
    await process.resize(rows=rows, columns=columns)
    return process


def kill_process_tree(pid: int) -> None:
    """SIGKILL ``pid`` (a host pid) and its descendants, children first found through /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    pending = [pid]
    while pending:
        current = pending.pop()
        pending.extend(children.get(current, ()))
        with contextlib.suppress(ProcessLookupError):
            os.kill(current, signal.SIGKILL)


def kill_strays(init_pid: int) -> int:
    """SIGKILL the sandbox's processes that live outside its init's time namespace; how many there were.

    After a CRIU restore the sandbox's processes are in a time namespace of their own, which
    Docker's exec does not join: a process exec'd then (or left behind by one, e.g. ``setsid``
    from an SSH session) makes the next checkpoint unrestorable ("Can't restore sub-task in
    NS"). Call before a checkpoint. ``init_pid`` is the sandbox's PID 1 as the host sees it.
    """
    try:
        pid_namespace = os.readlink(f"/proc/{init_pid}/ns/pid")
        time_namespace = os.readlink(f"/proc/{init_pid}/ns/time")
    except OSError:
        return 0
    killed = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.readlink(entry / "ns/pid") != pid_namespace or os.readlink(entry / "ns/time") == time_namespace:
                continue
            os.kill(int(entry.name), signal.SIGKILL)
            killed += 1
        except (OSError, ProcessLookupError):
            continue  # gone meanwhile
    return killed


__all__ = ["ExecProcess", "kill_process_tree", "kill_strays", "start_process"]
