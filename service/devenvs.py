"""Development environments of instances: a Jupyter server and a VNC desktop, behind the node's proxy.

Each runs inside the instance (its image carries the tools: python instances only), bound to
its loopback, and is reached as an exposed service (:mod:`service.endpoints`) whose token is
the credential handed out. The servers are started by the instance's own interpreter,
detached — new sessions, stdio on files under ``/tmp`` — so that they are ordinary processes
of the sandbox, which a pause checkpoints and a resume brings back; nothing of theirs points
at the host. Jupyter runs without a token of its own: only the proxy reaches it from outside,
and the proxy checks the service token. Its kernels talk over Unix sockets (``ipc``), and
noVNC reaches Xvnc over one too: a checkpoint holds those, unlike live TCP connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shlex
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace

import httpcore

from engine import Program
from engine.errors import EngineError
from service.endpoints import EndpointService, ExposedService
from service.errors import Conflict, InternalError, InvalidRequest
from service.instances import Instance, InstanceService

LANGUAGE = "python"
JUPYTER_PORT = 18888
NOVNC_PORT = 16080
READY_TIMEOUT_S = 60.0
RUN_TIMEOUT_MS = 30_000
TMP = "/tmp"  # noqa: S108 (the sandbox's own private tmpfs, not the host's)
JUPYTER_DIR = f"{TMP}/jupyter"
VNC_DIR = f"{TMP}/vnc"
JUPYTER_ENV = {
    # Jupyter's own files go to /tmp: the root filesystem is read-only and /workspace is the user's.
    "JUPYTER_CONFIG_DIR": f"{JUPYTER_DIR}/config",
    "JUPYTER_DATA_DIR": f"{JUPYTER_DIR}/data",
    "JUPYTER_RUNTIME_DIR": f"{JUPYTER_DIR}/runtime",
    "IPYTHONDIR": f"{JUPYTER_DIR}/ipython",
}


@dataclass(frozen=True)
class DevEnvironment:
    """A running environment: its exposed service, and the VNC password (empty for Jupyter)."""

    kind: str
    service: ExposedService
    password: str = ""


@dataclass
class _Environments:
    started: dict[str, DevEnvironment] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def jupyter_script(base_url: str) -> str:
    """Shell lines starting the Jupyter server detached, under the proxy's path prefix ``base_url``."""
    command = [
        "jupyter-server", "--allow-root", "--no-browser", "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={JUPYTER_PORT}", "--ServerApp.port_retries=0", "--ServerApp.root_dir=/workspace",
        f"--ServerApp.base_url={base_url}", "--IdentityProvider.token=", "--ServerApp.password=",
        "--ServerApp.disable_check_xsrf=True", "--ServerApp.allow_origin=*", "--KernelManager.transport=ipc",
        "--ServerApp.jpserver_extensions={'nbclassic': True}", "--ServerApp.default_url=/tree",
    ]  # fmt: skip
    # Kernels keep their history in memory: a restored checkpoint finds its SQLite file read-only.
    profile = f"{JUPYTER_ENV['IPYTHONDIR']}/profile_default"
    config = "c.HistoryManager.hist_file = ':memory:'"
    history = f'mkdir -p {profile} && echo "{config}" > {profile}/ipython_kernel_config.py'
    return f"{history} && cd {JUPYTER_DIR} && {_detached(command, f'{JUPYTER_DIR}/server.log')}"


def vnc_script() -> str:
    """Shell lines starting Xvnc (password from ``$VNC_PASSWORD``), openbox, a terminal and noVNC, detached."""
    xvnc = [
        "Xtigervnc", ":1", "-geometry", "1280x800", "-depth", "24", "-rfbport", "-1",
        "-rfbunixpath", f"{VNC_DIR}/rfb.sock", "-nolisten", "tcp", "-SecurityTypes", "VncAuth",
        "-PasswordFile", f"{VNC_DIR}/passwd",
    ]  # fmt: skip
    # websockify reaches Xvnc over a Unix socket: a checkpoint holds it, not a live TCP one.
    novnc = ["websockify", "--web", "/usr/share/novnc", f"--unix-target={VNC_DIR}/rfb.sock", f"127.0.0.1:{NOVNC_PORT}"]
    return " && ".join(
        (
            f"mkdir -p {VNC_DIR} && cd {VNC_DIR}",
            f"printf '%s\\n' \"$VNC_PASSWORD\" | vncpasswd -f > {VNC_DIR}/passwd && chmod 600 {VNC_DIR}/passwd",
            _detached(xvnc, f"{VNC_DIR}/xvnc.log"),
            f"for _ in $(seq 50); do [ -S {VNC_DIR}/rfb.sock ] && break; sleep 0.1; done",
            "cd /workspace && export DISPLAY=:1",
            _detached(["openbox"], f"{VNC_DIR}/openbox.log"),
            # st, not xterm: xterm exits at once without capabilities, which sandboxes never have.
            _detached(["stterm", "-g", "120x36+40+40", "-e", "/bin/bash", "-l"], f"{VNC_DIR}/terminal.log"),
            _detached(novnc, f"{VNC_DIR}/novnc.log"),
        )
    )


def _detached(command: list[str], log_path: str) -> str:
    return f"{{ setsid {shlex.join(command)} </dev/null >{log_path} 2>&1 & }}"


class DevEnvironments:
    """Starts, once per instance, the Jupyter server and the VNC desktop; forgets them when it stops."""

    def __init__(self, instances: InstanceService, endpoints: EndpointService) -> None:
        self.instances = instances
        self.endpoints = endpoints
        self._environments: dict[str, _Environments] = {}
        instances.hooks.append(self)

    async def jupyter(self, tenant_id: str, instance_id: str, proxy_prefix: str) -> DevEnvironment:
        """The instance's Jupyter server, started on the first call; ``proxy_prefix`` is its path on the proxy.

        Raises:
            NotFound: no such instance; InvalidRequest: not a python instance.
            Conflict: not running, or the name ``jupyter`` is taken; InternalError: the server did not start.
        """
        script = jupyter_script(proxy_prefix)
        return await self._ensure(
            tenant_id, instance_id, "jupyter", JUPYTER_PORT, script, JUPYTER_ENV, "api/status", proxy_prefix
        )

    async def vnc(self, tenant_id: str, instance_id: str) -> DevEnvironment:
        """The instance's VNC desktop with noVNC, started on the first call; its password.

        Raises:
            NotFound, InvalidRequest, Conflict, InternalError: as :meth:`jupyter`.
        """
        return await self._ensure(tenant_id, instance_id, "vnc", NOVNC_PORT, vnc_script(), {}, "vnc.html", "/")

    async def _ensure(
        self,
        tenant_id: str,
        instance_id: str,
        kind: str,
        port: int,
        script: str,
        env: dict[str, str],
        probe: str,
        prefix: str,
    ) -> DevEnvironment:
        instance = await self.instances.get(tenant_id, instance_id)
        if instance.language != LANGUAGE:
            raise InvalidRequest(
                f"development environments run in {LANGUAGE} instances; this one is {instance.language}",
                details={"language": instance.language, "supported": [LANGUAGE]},
            )
        environments = self._environments.setdefault(instance_id, _Environments())
        async with environments.lock:
            known = environments.started.get(kind)
            if known is not None and known.service in self.endpoints.services(instance_id):
                return known
            # When the user unexposed it, the server still runs: exposing it again is enough.
            service = await self._expose(tenant_id, instance_id, kind, port, keep_prefix=prefix != "/")
            password = known.password if known else (secrets.token_urlsafe(6)[:8] if kind == "vnc" else "")
            if known is None:
                await self._run(instance, script, {**env, "VNC_PASSWORD": password} if password else env)
            await self._wait_ready(instance_id, kind, prefix + probe)
            started = DevEnvironment(kind, service, password)
            environments.started[kind] = started
            return started

    async def _expose(
        self, tenant_id: str, instance_id: str, kind: str, port: int, *, keep_prefix: bool
    ) -> ExposedService:
        with contextlib.suppress(Conflict):
            return await self.endpoints.expose(tenant_id, instance_id, kind, port, keep_prefix=keep_prefix)
        # Either the instance is not running (raised again below) or the name is taken.
        found = self.endpoints.service(instance_id, kind)
        if found is not None and (found.port, found.keep_prefix) == (port, keep_prefix):
            return found
        return await self.endpoints.expose(tenant_id, instance_id, kind, port, keep_prefix=keep_prefix)

    async def _run(self, instance: Instance, script: str, env: dict[str, str]) -> None:
        """Run ``script`` from the instance's own interpreter; it only starts detached servers, so it ends at once.

        Not with ``docker exec``: after a resume the sandbox's processes live in the time namespace
        CRIU restored them into, which exec'd processes do not join, and a checkpoint holding
        processes of two time namespaces cannot be restored. Children of the interpreter can.
        """
        environment = f"{{**__import__('os').environ, **{env!r}}}"
        code = (
            f"__import__('subprocess').run(['/bin/sh', '-c', {script!r}], env={environment}, check=True,"
            " timeout=30, stdin=-3, stdout=-3, stderr=-3)"  # -3: subprocess.DEVNULL; no name left in the session
        )
        program = Program(LANGUAGE, code, resources=replace(instance.context.resources, timeout_ms=RUN_TIMEOUT_MS))
        try:
            outcome = await instance.context.execute(program, build_timeout_ms=RUN_TIMEOUT_MS)
        except EngineError as exc:
            raise InternalError(f"cannot start the environment in {instance.instance_id}: {exc}") from exc
        if outcome.exit_code != 0:
            error = outcome.stderr.decode(errors="replace")[-300:]
            raise InternalError(f"the environment did not start: {error}", details={"exit_code": outcome.exit_code})

    async def _wait_ready(self, instance_id: str, name: str, target: str) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            with contextlib.suppress(httpcore.NetworkError, httpcore.ProtocolError, httpcore.TimeoutException):
                response = await self.endpoints.send(instance_id, name, "GET", target, [], _no_body())
                await response.aread()
                await response.aclose()
                if response.status < 500:
                    return
            if time.monotonic() > deadline:
                raise InternalError(f"{name} did not answer within {READY_TIMEOUT_S:.0f} s", details={"name": name})
            await asyncio.sleep(0.25)

    # ---- instance lifecycle hooks -------------------------------------------------------------

    async def pausing(self, instance: Instance) -> None:
        """Nothing to do: the servers are plain processes of the sandbox, checkpointed with it."""

    async def running(self, instance: Instance) -> None:
        """Nothing to do: the endpoints service restarts the relay that reaches them."""

    async def stopped(self, instance: Instance) -> None:
        self._environments.pop(instance.instance_id, None)


async def _no_body() -> AsyncIterator[bytes]:
    return
    yield b""  # an async generator with nothing to send


__all__ = ["DevEnvironment", "DevEnvironments"]
