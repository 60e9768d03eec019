import shutil
import subprocess
from collections.abc import Iterator

import pytest

from provisioning import SetupOptions, SetupReport, SilentProgress, run_setup
from provisioning.docker_api import DockerEngine


@pytest.fixture(scope="session")
def engine(require_docker: None) -> Iterator[DockerEngine]:
    """The real Docker engine (the tests fail, not skip, when it or the docker CLI is missing)."""
    if shutil.which("docker") is None:
        pytest.fail("the docker CLI is not installed: run `faas setup` (it installs docker.io)")
    with DockerEngine() as client:
        yield client


@pytest.fixture(scope="session")
def first_setup(engine: DockerEngine) -> SetupReport:
    """A full `faas setup` (builds whatever is missing; cached otherwise)."""
    return run_setup(SetupOptions.from_environment(), SilentProgress())


def docker_run(image: str, *argv: str, user: str = "1000:1000", timeout: float = 300) -> str:
    """`docker run --rm` with the sandbox's hardening; return stdout, fail with stderr."""
    cmd = [
        "docker", "run", "--rm", "--user", user, "--read-only", "--network", "none",
        "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
        "--tmpfs", "/tmp:rw,exec,size=1g", image, *argv,
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    assert proc.returncode == 0, f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stderr}"
    return proc.stdout
