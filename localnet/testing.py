"""Helpers for tests: run a localnet as a subprocess on a free port."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class RunningLocalnet:
    """A localnet subprocess: its ``url``, ``genesis_hash`` and the extra stdout lines (e.g. ``service_id=N``)."""

    url: str
    genesis_hash: str
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    def read_line(self, prefix: str, timeout: float = 60.0) -> str:
        """Wait for a stdout line starting with ``prefix`` and return the rest of it."""
        for line in self.lines:
            if line.startswith(prefix):
                return line[len(prefix) :]
        line = _read_until(self.process, prefix, timeout)
        self.lines.append(line)
        return line[len(prefix) :]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _read_until(process: subprocess.Popen[str], prefix: str, timeout: float) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"localnet exited with {process.wait()} before printing {prefix!r}")
        if line.startswith(prefix):
            return line.rstrip("\n")
    raise TimeoutError(f"localnet did not print {prefix!r} within {timeout}s")


@contextlib.contextmanager
def running_localnet(
    block_time: float = 0.25,
    finality_lag: int = 2,
    base_path: Path | str | None = None,
    port: int | None = None,
    extra_args: list[str] | None = None,
    startup_timeout: float = 30.0,
) -> Iterator[RunningLocalnet]:
    """Run ``python -m localnet up`` in a subprocess; stopped with SIGTERM on exit."""
    port = port or free_port()
    cmd = [sys.executable, "-m", "localnet", "up", "--port", str(port), "--block-time", str(block_time)]
    cmd += ["--finality-lag", str(finality_lag)]
    if base_path is not None:
        cmd += ["--base-path", str(base_path)]
    cmd += extra_args or []
    root = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    try:
        line = _read_until(process, "ready ", startup_timeout)
        url, genesis = line.split()[1:3]
        yield RunningLocalnet(url=url, genesis_hash=genesis.removeprefix("genesis="), process=process)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()
