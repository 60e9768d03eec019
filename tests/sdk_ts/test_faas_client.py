"""@faas/sdk's FaaSClient against a real ``faas serve`` process (real Docker sandboxes, CRIU for snapshots)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.test_serve import Server
from tests.node_tests import run_node_tests

KEY = "sdk-ts-integration-key"


@pytest.fixture(scope="module")
def files_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The node's side of copies and syncs (FAAS_FILES_ROOT); the node test writes and reads it directly."""
    return tmp_path_factory.mktemp("sdk-ts-files")


@pytest.fixture(scope="module")
def server(require_docker: None, tmp_path_factory: pytest.TempPathFactory, files_root: Path) -> Iterator[Server]:
    started = Server(tmp_path_factory.mktemp("sdk-ts-node"), {"FAAS_API_KEYS": KEY, "FAAS_FILES_ROOT": str(files_root)})
    yield started
    started.stop()


@pytest.fixture(scope="module")
def limited_server(require_docker: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A node allowing 3 requests a minute per key: real 429s with Retry-After."""
    env = {"FAAS_API_KEYS": KEY, "FAAS_RATE_LIMIT_PER_MINUTE": "3"}
    started = Server(tmp_path_factory.mktemp("sdk-ts-limited-node"), env)
    yield started
    started.stop()


@pytest.mark.usefixtures("criu_ready")
def test_the_typescript_client_against_a_real_node(server: Server, limited_server: Server, files_root: Path) -> None:
    env = {
        "FAAS_ENDPOINT": server.url.removesuffix("/api/v1"),
        "FAAS_API_KEY": KEY,
        "NODE_FILES_ROOT": str(files_root),
        "FAAS_LIMITED_ENDPOINT": limited_server.url,
    }
    report = run_node_tests(
        Path("sdk-ts"),
        env,
        ["test/integration/faas-client.test.ts"],
        node_args=["--import", "tsx"],
    )
    # A missing endpoint would skip them all (and pass): they must have run.
    assert re.search(r"\bskipped 0\n", report) and re.search(r"\bpass [1-9]", report), report
