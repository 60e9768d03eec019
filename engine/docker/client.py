"""Async client for the Docker Engine API over its unix socket (raw driver layer)."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import quote

import httpx

from engine.docker.attach import AttachedStream, open_attach_stream
from engine.errors import DockerAPIError, DockerNotFound, DockerUnavailable

DEFAULT_SOCKET = "/var/run/docker.sock"
API_VERSION = "1.41"
"""Docker 20.10's API version; newer engines still serve it."""

JSON = dict[str, Any]


def _translate(response: httpx.Response) -> DockerAPIError:
    """The single table from Docker's HTTP errors to engine errors."""
    try:
        message = str(response.json().get("message", response.text))
    except (json.JSONDecodeError, AttributeError):
        message = response.text
    if response.status_code == 404:
        return DockerNotFound(404, message)
    return DockerAPIError(response.status_code, message)


class DockerClient:
    """Thin async wrapper over the Engine API endpoints the engine uses."""

    def __init__(self, socket_path: str = DEFAULT_SOCKET, *, timeout: float = 60.0) -> None:
        self.socket_path = socket_path
        self._prefix = f"/v{API_VERSION}"
        self._settings: JSON | None = None
        self._http = httpx.AsyncClient(
            transport=httpx.AsyncHTTPTransport(uds=socket_path),
            base_url="http://docker",
            timeout=timeout,
        )

    async def close(self) -> None:
        await self._http.aclose()

    async def _request(
        self, method: str, path: str, *, params: JSON | None = None, body: JSON | None = None
    ) -> httpx.Response:
        try:
            response = await self._http.request(method, self._prefix + path, params=params, json=body)
        except httpx.TransportError as exc:
            raise DockerUnavailable(
                f"cannot reach the Docker engine at {self.socket_path}: {exc}; is dockerd running? (faas setup)"
            ) from exc
        if response.status_code >= 400:
            raise _translate(response)
        return response

    async def ping(self) -> bool:
        try:
            await self._request("GET", "/_ping")
        except DockerUnavailable:
            return False
        return True

    async def inspect_image(self, reference: str) -> JSON:
        response = await self._request("GET", f"/images/{quote(reference, safe='')}/json")
        result: JSON = response.json()
        return result

    async def create_container(self, config: JSON, *, name: str | None = None) -> str:
        params = {"name": name} if name else None
        response = await self._request("POST", "/containers/create", params=params, body=config)
        container_id: str = response.json()["Id"]
        return container_id

    async def start_container(self, container_id: str) -> None:
        await self._request("POST", f"/containers/{container_id}/start")

    async def inspect_container(self, container_id: str) -> JSON:
        response = await self._request("GET", f"/containers/{container_id}/json")
        result: JSON = response.json()
        return result

    async def update_container(self, container_id: str, resources: JSON) -> None:
        await self._request("POST", f"/containers/{container_id}/update", body=resources)

    async def kill_container(self, container_id: str, signal: str = "KILL") -> None:
        await self._request("POST", f"/containers/{container_id}/kill", params={"signal": signal})

    async def remove_container(self, container_id: str) -> None:
        await self._request("DELETE", f"/containers/{container_id}", params={"force": "1", "v": "1"})

    async def list_containers(self, *, label: str) -> list[JSON]:
        filters = json.dumps({"label": [label]})
        response = await self._request("GET", "/containers/json", params={"all": "1", "filters": filters})
        result: list[JSON] = response.json()
        return result

    async def inspect_network(self, name: str) -> JSON:
        response = await self._request("GET", f"/networks/{quote(name, safe='')}")
        result: JSON = response.json()
        return result

    async def create_network(self, body: JSON) -> str:
        response = await self._request("POST", "/networks/create", body=body)
        network_id: str = response.json()["Id"]
        return network_id

    async def remove_network(self, name: str) -> None:
        await self._request("DELETE", f"/networks/{quote(name, safe='')}")

    async def attach(self, container_id: str) -> AttachedStream:
        """Attach to a container's stdin, stdout and stderr (before or after start)."""
        try:
            return await open_attach_stream(
                self.socket_path, f"{self._prefix}/containers/{container_id}/attach?stream=1&stdin=1&stdout=1&stderr=1"
            )
        except (OSError, asyncio.IncompleteReadError) as exc:
            raise DockerUnavailable(f"cannot attach to container {container_id[:12]}: {exc}") from exc

    async def create_exec(
        self, container_id: str, command: list[str], *, tty: bool, user: str, workdir: str, env: list[str]
    ) -> str:
        """Prepare a process in a running container (its namespaces, cgroup, capabilities and seccomp); its exec id."""
        body = {
            "Cmd": command, "Tty": tty, "User": user, "WorkingDir": workdir, "Env": env,
            "AttachStdin": True, "AttachStdout": True, "AttachStderr": True,
        }  # fmt: skip
        response = await self._request("POST", f"/containers/{container_id}/exec", body=body)
        exec_id: str = response.json()["Id"]
        return exec_id

    async def start_exec(self, exec_id: str, *, tty: bool) -> AttachedStream:
        """Start a prepared process and attach to its stdio (raw bytes with a TTY, multiplexed without)."""
        body = json.dumps({"Detach": False, "Tty": tty}).encode()
        try:
            return await open_attach_stream(
                self.socket_path, f"{self._prefix}/exec/{exec_id}/start", body=body, multiplexed=not tty
            )
        except (OSError, asyncio.IncompleteReadError) as exc:
            raise DockerUnavailable(f"cannot start exec {exec_id[:12]}: {exc}") from exc

    async def resize_exec(self, exec_id: str, *, rows: int, columns: int) -> None:
        await self._request("POST", f"/exec/{exec_id}/resize", params={"h": rows, "w": columns})

    async def inspect_exec(self, exec_id: str) -> JSON:
        """``Running``, ``ExitCode`` and the host ``Pid`` of an exec'd process."""
        response = await self._request("GET", f"/exec/{exec_id}/json")
        result: JSON = response.json()
        return result

    async def info(self) -> JSON:
        """The daemon's system information (``DockerRootDir``, ``ExperimentalBuild``, ...)."""
        response = await self._request("GET", "/info")
        result: JSON = response.json()
        return result

    async def daemon_settings(self) -> JSON:
        """:meth:`info` as first read, for what is fixed while the daemon runs (root dir, runtimes, cgroup driver)."""
        if self._settings is None:
            self._settings = await self.info()
        return self._settings

    async def docker_root_dir(self) -> str:
        """Where the daemon keeps containers."""
        return str((await self.daemon_settings())["DockerRootDir"])

    async def create_checkpoint(self, container_id: str, name: str, *, leave_running: bool) -> None:
        """Dump a running container's processes with CRIU (needs an experimental daemon).

        The checkpoint lands in ``<DockerRootDir>/containers/<id>/checkpoints/<name>``.
        """
        body = {"CheckpointID": name, "Exit": not leave_running}
        await self._request("POST", f"/containers/{container_id}/checkpoints", body=body)

    async def list_checkpoints(self, container_id: str) -> list[str]:
        response = await self._request("GET", f"/containers/{container_id}/checkpoints")
        return [str(entry["Name"]) for entry in response.json() or []]

    async def delete_checkpoint(self, container_id: str, name: str) -> None:
        await self._request("DELETE", f"/containers/{container_id}/checkpoints/{quote(name, safe='')}")

    async def start_from_checkpoint(self, container_id: str, name: str) -> None:
        """Start a created (or stopped) container by restoring checkpoint ``name`` from its own folder."""
        await self._request("POST", f"/containers/{container_id}/start", params={"checkpoint": name})

    async def commit_container(
        self, container_id: str, *, repo: str, tag: str, comment: str = "", pause: bool = True
    ) -> str:
        """Save a container's filesystem layer as image ``repo:tag``; returns the image id."""
        params = {"container": container_id, "repo": repo, "tag": tag, "comment": comment, "pause": int(pause)}
        response = await self._request("POST", "/commit", params=params)
        image_id: str = response.json()["Id"]
        return image_id

    async def remove_image(self, reference: str, *, force: bool = False) -> None:
        params = {"force": "1"} if force else None
        await self._request("DELETE", f"/images/{quote(reference, safe='')}", params=params)
