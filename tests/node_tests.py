"""Run a package's Node.js tests (``node --test``) from pytest, against services the Python fixtures started.

The TypeScript/JavaScript tests drive the localnet and the node with real clients (@polkadot/api,
polkadot-api, @faas/sdk); pytest owns the services they talk to, so every fixture cleans up as usual.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_node_tests(
    package: Path,
    env: Mapping[str, str],
    files: Sequence[str] = (),
    *,
    node_args: Sequence[str] = (),
    timeout: float = 600,
) -> str:
    """Run ``node --test`` in ``package`` (relative to the repository root or absolute) with ``env`` added.

    ``node_args`` go before ``--test`` (e.g. ``["--import", "tsx"]`` for TypeScript test files).
    Fails the calling test with node's own report when any node test fails; returns that report.
    """
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js is not installed: ./run test installs it")
    if not (ROOT / "node_modules").is_dir():
        pytest.fail("the npm workspace is not installed: run `npm ci` at the repository root (./run test does)")
    cwd = package if package.is_absolute() else ROOT / package
    command = [node, *node_args, "--test", "--test-reporter=spec", *files]
    try:
        done = subprocess.run(
            command,
            cwd=cwd,
            env={**os.environ, **env, "NODE_NO_WARNINGS": "1"},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        output = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        pytest.fail(f"node --test in {cwd} did not finish in {timeout}s:\n{output[-8000:]}")
    report = done.stdout + done.stderr
    if done.returncode != 0:
        pytest.fail(f"node --test in {cwd} failed (exit {done.returncode}):\n{report[-12000:]}")
    return report
