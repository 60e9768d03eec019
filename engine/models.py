"""Plain data the engine takes and returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

ExecutionStatus = Literal["completed", "failed", "timeout"]
Phase = Literal["build", "run"]


@dataclass(frozen=True)
class Resources:
    """What one execution may use."""

    cpu_cores: float = 1.0
    memory_mb: int = 512
    timeout_ms: int = 30_000


@dataclass(frozen=True)
class SandboxPolicy:
    """Node-wide hardening knobs applied to every sandbox."""

    pids_limit: int = 256
    nofile_limit: int = 1024
    workspace_mb: int = 256
    tmp_mb: int = 256
    output_limit_bytes: int = 1024 * 1024
    build_timeout_ms: int = 120_000
    runtime: str = "runc"
    user: str = "1000:1000"
    seccomp_profile: str | None = None
    """Seccomp profile (JSON text) of checkpointable sandboxes; None keeps Docker's default."""


@dataclass(frozen=True)
class Program:
    """One program to run: main file, extra files, environment and stdin."""

    language: str
    code: str
    files: Mapping[str, bytes] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    stdin: bytes | None = None
    resources: Resources = field(default_factory=Resources)
    stdin_open: bool = False
    """Keep stdin open after ``stdin`` for input sent while it runs (closed by ``Interaction.close_input``)."""
    tty: bool = False
    """Run under a pseudo-terminal: stdout and stderr merge into one terminal stream that can be resized."""


@dataclass(frozen=True)
class Usage:
    """Resource accounting read from the sandbox's cgroup."""

    cpu_seconds: float = 0.0
    memory_peak_bytes: int = 0
    oom_kills: int = 0


@dataclass(frozen=True)
class Outcome:
    """What happened when a program ran."""

    status: ExecutionStatus
    exit_code: int | None
    stdout: bytes
    stderr: bytes
    truncated: bool
    oom_killed: bool
    duration_ms: int
    phase: Phase
    usage: Usage
    image_id: str
    build_cached: bool = False
    error: str | None = None
