import json

import httpx
import pytest

from provisioning.docker_api import DockerEngine, ImageInUse
from provisioning.errors import DockerDaemonError, ImageBuildError


def _engine(handler: "httpx.MockTransport") -> DockerEngine:
    return DockerEngine(transport=handler)


def test_import_sends_changes_and_returns_id() -> None:
    seen: dict[str, object] = {}

    def handle(request: httpx.Request) -> httpx.Response:
        seen["changes"] = request.url.params.get_list("changes")
        seen["body"] = request.read()
        lines = [{"status": "sha256:" + "a" * 64}]
        return httpx.Response(200, text="\n".join(json.dumps(x) for x in lines))

    with _engine(httpx.MockTransport(handle)) as engine:
        image_id = engine.import_image(iter([b"tar", b"data"]), ["ENV A=1", "WORKDIR /w"], "m")
    assert image_id == "sha256:" + "a" * 64
    assert seen == {"changes": ["ENV A=1", "WORKDIR /w"], "body": b"tardata"}


def test_import_error_event_raises() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(200, text='{"error": "bad tar"}'))
    with _engine(transport) as engine, pytest.raises(ImageBuildError, match="bad tar"):
        engine.import_image(iter([b"x"]), [], "m")


def test_errors_are_translated() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.method == "DELETE":
            return httpx.Response(409, json={"message": "image is being used"})
        if request.url.path.endswith("/missing/json"):
            return httpx.Response(404, json={"message": "no such image"})
        return httpx.Response(500, json={"message": "boom"})

    with _engine(httpx.MockTransport(handle)) as engine:
        assert engine.inspect_image("missing") is None
        with pytest.raises(ImageInUse, match="being used"):
            engine.remove_image("x")
        with pytest.raises(DockerDaemonError, match="boom"):
            engine.version()
