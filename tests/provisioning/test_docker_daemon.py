import json
from pathlib import Path

import pytest

from provisioning.docker_daemon import (
    ensure_daemon_config,
    merge_daemon_config,
    read_daemon_config,
)
from provisioning.errors import DockerDaemonError


def test_merge_keeps_other_keys_and_turns_experimental_on() -> None:
    existing = {"log-driver": "json-file", "experimental": False, "storage-driver": "overlay2"}
    merged = merge_daemon_config(existing)
    assert merged == {"log-driver": "json-file", "experimental": True, "storage-driver": "overlay2"}
    assert existing["experimental"] is False  # input untouched


def test_ensure_creates_then_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "docker" / "daemon.json"
    assert ensure_daemon_config(path) is True
    assert json.loads(path.read_text()) == {"experimental": True}
    assert ensure_daemon_config(path) is False


def test_ensure_merges_into_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "daemon.json"
    path.write_text(json.dumps({"data-root": "/srv/docker"}))
    assert ensure_daemon_config(path) is True
    assert read_daemon_config(path) == {"data-root": "/srv/docker", "experimental": True}


@pytest.mark.parametrize("content", ["{not json", "[1, 2]"])
def test_invalid_config_is_reported_not_overwritten(tmp_path: Path, content: str) -> None:
    path = tmp_path / "daemon.json"
    path.write_text(content)
    with pytest.raises(DockerDaemonError, match=r"daemon\.json"):
        ensure_daemon_config(path)
    assert path.read_text() == content
