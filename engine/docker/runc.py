"""The daemon's runc, driven directly for what Docker 20.10 does slowly (raw driver layer).

Docker 20.10 runs every runc-based runtime through containerd's runc shim, which calls
``runc --root <exec-root>/runtime-runc/moby`` (the shim appends containerd's namespace,
"moby"). ``docker info`` names each runtime's binary but not the exec root, so the default
root is assumed and checked per container against runc's own state.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import CheckpointFailed

STATE_ROOT = Path("/var/run/docker/runtime-runc/moby")
"""runc's state root under Docker 20.10's default exec root (``/var/run/docker``)."""
TIMEOUT_S = 60.0
"""As long as a Docker API call may take."""
_ERROR_MESSAGE = re.compile(r'level=error msg="((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class Runc:
    """runc as the daemon's containerd shim runs it: binary, state root and cgroup driver."""

    binary: str
    root: Path = STATE_ROOT
    systemd_cgroup: bool = False

    def checkpoint_argv(
        self, container_id: str, *, image_path: Path, work_path: Path, leave_running: bool
    ) -> list[str]:
        """The command the shim runs for ``docker checkpoint create`` without options.

        containerd adds ``--leave-running`` unless the container is to exit, and no CRIU
        flags (``--tcp-established``, ``--ext-unix-sk``, ``--file-locks``, ...) of its own.
        """
        argv = [self.binary, "--root", str(self.root)]
        if self.systemd_cgroup:
            argv.append("--systemd-cgroup")
        argv.append("checkpoint")
        if leave_running:
            argv.append("--leave-running")
        return [*argv, "--image-path", str(image_path), "--work-path", str(work_path), container_id]

    def runs(self, container_id: str, pid: int) -> bool:
        """Whether this runc's state holds the container, with ``pid`` as its init process."""
        try:
            state = json.loads((self.root / container_id / "state.json").read_bytes())
        except (OSError, ValueError):
            return False
        return isinstance(state, dict) and state.get("init_process_pid") == pid

    async def checkpoint(
        self,
        container_id: str,
        *,
        image_path: Path,
        work_path: Path,
        leave_running: bool,
        criu_options: Sequence[str] = (),
    ) -> None:
        """Dump a container with CRIU into ``image_path``; CRIU writes ``dump.log`` into ``work_path``.

        ``criu_options`` (lines of a CRIU config file) reach this dump's CRIU only, through
        ``CRIU_CONFIG_FILE`` in runc's environment, which CRIU reads in RPC mode too.

        Raises:
            CheckpointFailed: runc failed (with its error message) or took longer than :data:`TIMEOUT_S`.
        """
        env = None
        if criu_options:
            config = work_path / "criu.conf"
            config.write_text("".join(f"{option}\n" for option in criu_options))
            env = {**os.environ, "CRIU_CONFIG_FILE": str(config)}
        argv = self.checkpoint_argv(
            container_id, image_path=image_path, work_path=work_path, leave_running=leave_running
        )
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
        try:
            async with asyncio.timeout(TIMEOUT_S):
                _, stderr = await process.communicate()
        except BaseException as exc:
            # Only runc is killed: CRIU then fails its next report to runc and thaws the container itself.
            if process.returncode is None:
                process.kill()
            await process.wait()
            if isinstance(exc, TimeoutError):
                raise CheckpointFailed(f"runc checkpoint took longer than {TIMEOUT_S:g} s") from None
            raise
        if process.returncode != 0:
            raise CheckpointFailed(runc_error(stderr.decode(errors="replace")))


def daemon_runc(info: dict[str, Any], runtime: str) -> Runc | str:
    """runc as the daemon runs containers of ``runtime``, from ``docker info``; else why it cannot be driven.

    ``runtime`` is a container's ``HostConfig.Runtime`` ("" for the daemon's default).
    """
    name = runtime or str(info.get("DefaultRuntime", ""))
    entry = (info.get("Runtimes") or {}).get(name)
    if entry is None:
        return f"the daemon has no runtime {name!r}"
    path = str(entry.get("path", ""))
    if entry.get("runtimeArgs"):
        return f"runtime {name!r} runs {path} with extra arguments"
    if Path(path).name != "runc":
        return f"runtime {name!r} is {path or 'a containerd shim'}, not runc"
    binary = shutil.which(path)
    if binary is None:
        return f"runtime {name!r}: {path} is not on PATH"
    return Runc(binary, systemd_cgroup=info.get("CgroupDriver") == "systemd")


def runc_error(stderr: str) -> str:
    """runc's error message from its stderr (logfmt lines), on one line."""
    messages = [match.group(1).replace("\\n", " ").replace('\\"', '"') for match in _ERROR_MESSAGE.finditer(stderr)]
    return " ".join(" ".join(messages or [stderr]).split()) or "runc failed without a message"
