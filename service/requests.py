"""Execution requests as the service takes them, and their validation (pure)."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from engine import LANGUAGES, RUNTIMES, Resources
from service.config import Settings
from service.errors import InvalidRequest

MODES = ("ephemeral", "cached", "checkpointed", "branched", "persistent")
STATEFUL_MODES = ("checkpointed", "branched", "persistent")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_PATH_DEPTH = 16


@dataclass(frozen=True)
class RequestedResources:
    cpu_cores: float | None = None
    memory_mb: int | None = None
    timeout_ms: int | None = None


@dataclass(frozen=True)
class ExecutionRequest:
    """An execution as a door (REST, chain) hands it to the service."""

    language: str
    code: str
    mode: str = "ephemeral"
    resources: RequestedResources = field(default_factory=RequestedResources)
    env_vars: Mapping[str, str] = field(default_factory=dict)
    files: Mapping[str, str] = field(default_factory=dict)
    """Path → base64 content."""
    stdin: str | None = None
    interactive: bool = False
    """Keep stdin open for input sent while the program runs (streamed executions)."""
    tty: bool = False
    """Run under a pseudo-terminal (stdout and stderr merged; resizable)."""
    instance_id: str | None = None
    """Persistent mode: the live context to run in (a new one is started when absent)."""
    snapshot_id: str | None = None
    """Stateful modes: the snapshot to start from."""
    branch_id: str | None = None
    """Branched mode: the branch whose head to run on and advance."""


def infer_mode(mode: str | None, *, instance_id: str | None, branch_id: str | None) -> str:
    """The mode a request asks for; without one, an instance implies persistent and a branch branched."""
    if mode is not None:
        return mode
    if instance_id is not None:
        return "persistent"
    if branch_id is not None:
        return "branched"
    return "ephemeral"


def resolve_resources(requested: RequestedResources, settings: Settings) -> Resources:
    """Fill defaults and check the configured bounds."""
    resources = Resources(
        cpu_cores=requested.cpu_cores if requested.cpu_cores is not None else settings.default_cpu_cores,
        memory_mb=requested.memory_mb if requested.memory_mb is not None else settings.default_memory_mb,
        timeout_ms=requested.timeout_ms if requested.timeout_ms is not None else settings.default_timeout_ms,
    )
    bounds = {
        "cpu_cores": (0.01, settings.max_cpu_cores, resources.cpu_cores),
        "memory_mb": (settings.min_memory_mb, settings.max_memory_mb, resources.memory_mb),
        "timeout_ms": (1, settings.max_timeout_ms, resources.timeout_ms),
    }
    for name, (low, high, value) in bounds.items():
        if not low <= value <= high:
            raise InvalidRequest(
                f"resources.{name} must be between {low:g} and {high:g}, got {value:g}",
                details={"field": f"resources.{name}", "min": low, "max": high, "value": value},
            )
    return resources


def check_language_and_mode(request: ExecutionRequest) -> None:
    if request.language not in LANGUAGES:
        raise InvalidRequest(
            f"unsupported language {request.language!r}; supported: {', '.join(LANGUAGES)}",
            details={"field": "language", "supported": list(LANGUAGES)},
        )
    if request.mode not in MODES:
        raise InvalidRequest(f"unknown mode {request.mode!r}; modes: {', '.join(MODES)}", details={"field": "mode"})
    check_state_references(request)


def check_state_references(request: ExecutionRequest) -> None:
    """Each stateful reference belongs to the modes that use it; stateful modes take no stdin."""
    allowed = {
        "instance_id": ("persistent",),
        "snapshot_id": STATEFUL_MODES,
        "branch_id": ("branched",),
    }
    for name, modes in allowed.items():
        if getattr(request, name) is not None and request.mode not in modes:
            raise InvalidRequest(
                f"{name} is used by mode {' or '.join(modes)}, not by mode {request.mode!r}",
                details={"field": name, "modes": list(modes)},
            )
    if request.instance_id is not None and request.snapshot_id is not None:
        raise InvalidRequest(
            "give either instance_id (run in that instance) or snapshot_id (start a new one from it), not both",
            details={"fields": ["instance_id", "snapshot_id"]},
        )
    if request.mode == "branched" and request.branch_id is None and request.snapshot_id is None:
        raise InvalidRequest(
            "mode branched runs on a branch head or a snapshot: give branch_id or snapshot_id",
            details={"fields": ["branch_id", "snapshot_id"]},
        )
    if request.mode in STATEFUL_MODES and (request.stdin is not None or request.interactive or request.tty):
        raise InvalidRequest(
            f"mode {request.mode} runs in a live context that has no standard input; pass data in files instead",
            details={"field": "stdin", "mode": request.mode},
        )


def check_file_path(path: str) -> None:
    parts = path.split("/")
    bad = (
        not path
        or path.startswith("/")
        or "\\" in path
        or "\x00" in path
        or len(parts) > MAX_PATH_DEPTH
        or any(part in ("", ".", "..") for part in parts)
    )
    if bad:
        raise InvalidRequest(
            f"invalid file path {path!r}: use a relative path inside the working directory, without '..'",
            details={"field": f"files.{path}"},
        )


def decode_files(request: ExecutionRequest, settings: Settings) -> dict[str, bytes]:
    main_file = RUNTIMES[request.language].main_file
    decoded: dict[str, bytes] = {}
    total = 0
    for path, content in request.files.items():
        check_file_path(path)
        if path == main_file:
            raise InvalidRequest(
                f"files must not contain {main_file!r}: for {request.language} that file holds `code`",
                details={"field": f"files.{path}"},
            )
        try:
            data = base64.b64decode(content, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidRequest(f"file {path!r} is not valid base64", details={"field": f"files.{path}"}) from None
        total += len(data)
        decoded[path] = data
    if total > settings.max_files_bytes:
        raise InvalidRequest(
            f"files total {total} bytes, more than the {settings.max_files_bytes} allowed",
            details={"field": "files", "max_bytes": settings.max_files_bytes},
        )
    return decoded


def check_env(env: Mapping[str, str]) -> None:
    for name, value in env.items():
        if not ENV_NAME.match(name):
            raise InvalidRequest(f"invalid environment variable name {name!r}", details={"field": f"env_vars.{name}"})
        if "\x00" in value:
            raise InvalidRequest(
                f"environment variable {name!r} contains a NUL character", details={"field": f"env_vars.{name}"}
            )


def check_code(request: ExecutionRequest, settings: Settings) -> None:
    size = len(request.code.encode())
    if size > settings.max_code_bytes:
        raise InvalidRequest(
            f"code is {size} bytes, more than the {settings.max_code_bytes} allowed",
            details={"field": "code", "max_bytes": settings.max_code_bytes},
        )


def check_fixed_limits(cpu_cores: float | None, memory_mb: int | None, resources: Resources, what: str) -> None:
    """An existing context (or a snapshot) keeps its cpu and memory: a request may repeat them, not change them."""
    for name, value in (("cpu_cores", cpu_cores), ("memory_mb", memory_mb)):
        if value is not None and value != getattr(resources, name):
            raise InvalidRequest(
                f"{what} keeps the {name}={getattr(resources, name):g} it was created with; "
                f"omit resources.{name} or pass that value",
                details={"field": f"resources.{name}", "value": getattr(resources, name)},
            )
