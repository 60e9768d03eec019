"""Make sure a Docker engine with experimental features answers on its socket."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provisioning import apt
from provisioning._process import LineCallback, run
from provisioning.docker_api import DEFAULT_SOCKET, DockerEngine
from provisioning.errors import DockerDaemonError, ProvisioningError

DAEMON_CONFIG = Path("/etc/docker/daemon.json")
DOCKERD_LOG = Path("/var/log/faas/dockerd.log")
START_TIMEOUT_S = 60.0
_SBIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class DaemonState:
    """Outcome of `ensure_docker`: what was done and how the daemon runs."""

    action: str  # "running", "installed", "started"
    version: str
    experimental: bool
    warning: str = ""


def merge_daemon_config(existing: dict[str, Any]) -> dict[str, Any]:
    """Return `existing` with `"experimental": true`, other keys kept."""
    return {**existing, "experimental": True}


def read_daemon_config(path: Path = DAEMON_CONFIG) -> dict[str, Any]:
    """Parse daemon.json ({} when absent); raise on invalid content."""
    if not path.exists():
        return {}
    try:
        config = json.loads(path.read_text() or "{}")
    except json.JSONDecodeError as exc:
        raise DockerDaemonError(f"{path} is not valid JSON ({exc}); fix it and re-run") from exc
    if not isinstance(config, dict):
        raise DockerDaemonError(f"{path} must hold a JSON object")
    return config


def ensure_daemon_config(path: Path = DAEMON_CONFIG) -> bool:
    """Merge `"experimental": true` into daemon.json; return True when the file changed."""
    current = read_daemon_config(path)
    wanted = merge_daemon_config(current)
    if path.exists() and wanted == current:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.faas-tmp")
    tmp.write_text(json.dumps(wanted, indent=2) + "\n")
    os.replace(tmp, path)
    return True


def dockerd_binary() -> str | None:
    """Path of `dockerd`, looking in sbin directories too."""
    return shutil.which("dockerd", path=_SBIN_PATH)


def systemd_manages_docker() -> bool:
    """True when systemd is PID 1 and knows a docker.service unit."""
    if Path("/proc/1/comm").read_text().strip() != "systemd":
        return False
    probe = subprocess.run(["systemctl", "cat", "docker.service"], capture_output=True, check=False)
    return probe.returncode == 0


def spawn_dockerd(log_path: Path = DOCKERD_LOG, extra_args: Sequence[str] = ()) -> subprocess.Popen[bytes]:
    """Start `dockerd` detached in its own session, logging to `log_path`.

    Experimental mode comes from daemon.json: dockerd refuses to start when
    `--experimental` is given both as a flag and in the file.
    """
    binary = dockerd_binary()
    if binary is None:
        raise DockerDaemonError("dockerd is not installed")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [binary, *extra_args],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "PATH": _SBIN_PATH},
        )


def wait_for_ping(
    engine: DockerEngine,
    timeout_s: float = START_TIMEOUT_S,
    process: subprocess.Popen[bytes] | None = None,
    log_path: Path = DOCKERD_LOG,
) -> None:
    """Poll `/_ping` until it answers; raise with the daemon log tail otherwise."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if engine.ping():
            return
        if process is not None and process.poll() is not None:
            raise DockerDaemonError(f"dockerd exited with {process.returncode}; log tail:\n{_log_tail(log_path)}")
        time.sleep(0.5)
    raise DockerDaemonError(
        f"Docker engine did not answer /_ping within {timeout_s:.0f}s; log tail:\n{_log_tail(log_path)}"
    )


def flag_conflict_warning(pidfile: Path = Path("/var/run/docker.pid")) -> str:
    """A warning when the running dockerd got `--experimental` on its command line."""
    try:
        pid = pidfile.read_text().strip()
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return ""
    if b"--experimental" not in argv:
        return ""
    return (
        f"; note: drop --experimental from that dockerd command line before restarting it, "
        f"{DAEMON_CONFIG} sets it now and dockerd refuses both"
    )


def _log_tail(path: Path, lines: int = 20) -> str:
    if not path.exists():
        return f"(no log at {path})"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _start(engine: DockerEngine, on_line: LineCallback | None) -> None:
    if systemd_manages_docker():
        run(["systemctl", "restart", "docker"], on_line=on_line)
        wait_for_ping(engine, log_path=Path("/dev/null"))
        return
    wait_for_ping(engine, process=spawn_dockerd())


def ensure_docker(
    socket_path: str = DEFAULT_SOCKET,
    on_line: LineCallback | None = None,
    require_experimental: bool = True,
) -> DaemonState:
    """Install and start the Docker engine as needed, with experimental features.

    Raises:
        DockerDaemonError: install/start failed, or a daemon already runs
            without experimental features while they are required.
    """
    ensure_daemon_config()  # before any install, so an auto-started daemon gets it
    action = "running"
    with DockerEngine(socket_path) as engine:
        if not engine.ping():
            if dockerd_binary() is None:
                try:
                    apt.install(["docker.io", "debootstrap"], on_line=on_line)
                except ProvisioningError as exc:
                    raise DockerDaemonError(f"installing docker.io failed: {exc}") from exc
                action = "installed"
            if not engine.ping():
                _start(engine, on_line)
                action = "started" if action == "running" else action
        info = engine.version()
    state = DaemonState(action, str(info.get("Version", "?")), bool(info.get("Experimental")), flag_conflict_warning())
    if require_experimental and not state.experimental:
        raise DockerDaemonError(_not_experimental_message())
    return state


def _not_experimental_message() -> str:
    restart = (
        "run `systemctl restart docker`"
        if systemd_manages_docker()
        else "stop that dockerd yourself and re-run `faas setup` (it starts one)"
    )
    return (
        "A Docker daemon is already running without experimental features, which CRIU "
        f'checkpoints need. {DAEMON_CONFIG} now sets "experimental": true; to apply it, '
        f"{restart}. (Or pass --skip-criu if you do not need checkpoints.)"
    )
