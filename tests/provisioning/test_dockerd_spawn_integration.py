"""Spawning a dockerd of our own (isolated paths, so the host's daemon is untouched)."""

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from provisioning.docker_api import DockerEngine
from provisioning.docker_daemon import (
    dockerd_binary,
    ensure_daemon_config,
    spawn_dockerd,
    wait_for_ping,
)
from provisioning.errors import DockerDaemonError


@pytest.fixture
def short_dir() -> Iterator[Path]:
    if dockerd_binary() is None:
        pytest.fail("dockerd is not installed: run `faas setup` (it installs docker.io)")
    path = Path(tempfile.mkdtemp(prefix="fdd", dir="/tmp"))  # unix socket paths are short
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _isolated_args(root: Path) -> list[str]:
    return [
        "--config-file", str(root / "daemon.json"), "-H", f"unix://{root}/d.sock",
        "--data-root", str(root / "data"), "--exec-root", str(root / "x"),
        "--pidfile", str(root / "d.pid"), "--bridge", "none", "--iptables=false",
    ]  # fmt: skip


def test_spawned_dockerd_is_experimental_from_daemon_json(short_dir: Path) -> None:
    ensure_daemon_config(short_dir / "daemon.json")
    log = short_dir / "dockerd.log"
    process = spawn_dockerd(log, _isolated_args(short_dir))
    try:
        with DockerEngine(str(short_dir / "d.sock")) as engine:
            wait_for_ping(engine, 60, process, log)
            assert engine.version()["Experimental"] is True
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_dockerd_that_dies_is_reported_with_its_log(short_dir: Path) -> None:
    ensure_daemon_config(short_dir / "daemon.json")
    log = short_dir / "dockerd.log"
    # --experimental both as flag and in daemon.json: dockerd refuses to start.
    process = spawn_dockerd(log, [*_isolated_args(short_dir), "--experimental"])
    with (
        DockerEngine(str(short_dir / "d.sock")) as engine,
        pytest.raises(DockerDaemonError, match="specified both as a flag and in the configuration file"),
    ):
        wait_for_ping(engine, 30, process, log)
