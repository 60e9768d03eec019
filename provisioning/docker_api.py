"""Minimal raw driver for the Docker Engine API over its Unix socket."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import Any, Self

import httpx

from provisioning.errors import DockerDaemonError, ImageBuildError

DEFAULT_SOCKET = "/var/run/docker.sock"
API_VERSION = "v1.41"


class ImageInUse(ImageBuildError):
    """The image is used by a container and was not removed."""


def _translate(response: httpx.Response, action: str) -> None:
    """Map an Engine API error response to our exceptions (the one table)."""
    if response.is_success:
        return
    try:
        message = response.json().get("message", response.text)
    except json.JSONDecodeError:
        message = response.text
    error = {409: ImageInUse}.get(response.status_code, DockerDaemonError)
    raise error(f"Docker engine: {action} failed ({response.status_code}): {message}")


class DockerEngine:
    """Blocking client for the few Engine API calls provisioning needs."""

    def __init__(
        self,
        socket_path: str = DEFAULT_SOCKET,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._socket_path = None if transport else socket_path
        self._client = httpx.Client(
            transport=transport or httpx.HTTPTransport(uds=socket_path),
            base_url=f"http://docker/{API_VERSION}",
            timeout=httpx.Timeout(timeout, read=None),
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def ping(self) -> bool:
        """True when `GET /_ping` answers OK."""
        if self._socket_path is not None and not _accepts(self._socket_path):
            return False
        try:
            return self._client.get("/_ping", timeout=3.0).is_success
        except httpx.TransportError:
            return False

    def version(self) -> dict[str, Any]:
        """`GET /version`."""
        response = self._client.get("/version")
        _translate(response, "version")
        result: dict[str, Any] = response.json()
        return result

    def inspect_image(self, reference: str) -> dict[str, Any] | None:
        """`GET /images/{ref}/json`, or None when there is no such image."""
        response = self._client.get(f"/images/{reference}/json")
        if response.status_code == 404:
            return None
        _translate(response, f"inspect image {reference}")
        result: dict[str, Any] = response.json()
        return result

    def import_image(self, tar_stream: Iterable[bytes], changes: list[str], message: str) -> str:
        """Import a root filesystem tarball as an untagged image; return its id."""
        params: list[tuple[str, str | int | float | bool | None]] = [
            ("fromSrc", "-"),
            ("message", message),
            *(("changes", change) for change in changes),
        ]
        with self._client.stream(
            "POST",
            "/images/create",
            params=params,
            content=_chunks(tar_stream),
            headers={"Content-Type": "application/x-tar"},
        ) as response:
            _translate_stream(response)
            image_id = ""
            for line in response.iter_lines():
                if not line.strip():
                    continue
                event = json.loads(line)
                if "error" in event:
                    raise ImageBuildError(f"Docker engine: image import failed: {event['error']}")
                image_id = str(event.get("status", image_id))
        if not image_id.startswith("sha256:"):
            raise ImageBuildError(f"Docker engine: image import returned no id ({image_id!r})")
        return image_id

    def tag_image(self, image_id: str, reference: str) -> None:
        """`POST /images/{id}/tag` with `reference` = repository:tag."""
        repository, _, tag = reference.rpartition(":")
        response = self._client.post(f"/images/{image_id}/tag", params={"repo": repository, "tag": tag})
        _translate(response, f"tag {image_id} as {reference}")

    def remove_image(self, reference: str) -> None:
        """`DELETE /images/{ref}`; raises ImageInUse when a container uses it."""
        response = self._client.delete(f"/images/{reference}")
        if response.status_code != 404:
            _translate(response, f"remove image {reference}")


def _accepts(socket_path: str) -> bool:
    # Probe first: httpcore leaks the socket when a Unix-socket connect fails.
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(3.0)
        try:
            probe.connect(socket_path)
        except OSError:
            return False
    return True


def _translate_stream(response: httpx.Response) -> None:
    if not response.is_success:
        response.read()
        _translate(response, "image import")


def _chunks(stream: Iterable[bytes]) -> Iterator[bytes]:
    yield from stream
