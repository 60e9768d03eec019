"""The SDK installs on its own: a client gets httpx and websockets, not the operator node.

Each test builds a fresh virtual environment and pip-installs the SDK from its folder, as a user would
(packages come from the package index this machine reaches).
"""

from __future__ import annotations

import shutil
import subprocess
import venv
from pathlib import Path

import pytest

from tests.node_tests import ROOT

pytestmark = pytest.mark.slow

NODE_ONLY = {"fastapi", "uvicorn", "sqlalchemy", "alembic", "asyncssh", "docker", "psycopg", "aiosqlite", "typer"}


def fresh_venv(path: Path) -> Path:
    venv.EnvBuilder(with_pip=True).create(path)
    return path / "bin" / "python"


def pip_install(python: Path, *requirements: str) -> None:
    """pip-install ``requirements`` (folders of this repository, with extras) from a copy of those folders,
    so that the build leaves nothing in the work tree."""
    copies = python.parent.parent.parent / "src"
    for folder in ("sdk-py", "tangle-protocol"):
        shutil.copytree(ROOT / folder, copies / folder, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *requirements],
        cwd=copies,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def installed(python: Path) -> set[str]:
    listing = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=freeze", "--disable-pip-version-check"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {line.split("==")[0].lower().replace("_", "-") for line in listing.splitlines() if "==" in line}


def run_python(python: Path, code: str) -> subprocess.CompletedProcess[str]:
    # Run outside the repository so that its folders cannot stand in for installed packages.
    return subprocess.run([str(python), "-c", code], cwd="/", capture_output=True, text=True, timeout=120)


def test_the_rest_client_installs_alone_without_anything_of_the_node(tmp_path: Path) -> None:
    python = fresh_venv(tmp_path / "venv")
    pip_install(python, "./sdk-py")

    packages = installed(python)
    assert {"faas-sdk", "httpx", "websockets"} <= packages
    assert not packages & (NODE_ONLY | {"substrate-interface", "tangle-faas-protocol", "tangle-faas-operator"})
    done = run_python(python, "from faas_sdk import FaaSClient, AsyncFaaSClient; print(FaaSClient.__module__)")
    assert done.returncode == 0, done.stderr
    # The chain client is an extra: asking for it says how to install it.
    done = run_python(python, "from faas_sdk import TangleFaaSClient")
    assert done.returncode != 0
    assert "needs the SDK's 'tangle' extra" in done.stderr
    assert "sdk-py[tangle]" in done.stderr


def test_the_tangle_extra_brings_the_shared_protocol_and_still_nothing_of_the_node(tmp_path: Path) -> None:
    python = fresh_venv(tmp_path / "venv")
    pip_install(python, "./tangle-protocol", "./sdk-py[tangle]")

    packages = installed(python)
    assert {"faas-sdk", "tangle-faas-protocol", "substrate-interface"} <= packages
    assert not packages & (NODE_ONLY | {"tangle-faas-operator"})
    code = (
        "import attestations, blueprint, faas_sdk; from faas_sdk import TangleFaaSClient, VerificationError;"
        "print(attestations.__file__)"
    )
    done = run_python(python, code)
    assert done.returncode == 0, done.stderr
    assert str(tmp_path / "venv") in done.stdout, "the shared protocol must be imported from the install"
