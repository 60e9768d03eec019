"""What the SDK hands back: results and stream events as frozen dataclasses, options as TypedDicts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypeAlias, TypedDict

Language: TypeAlias = Literal["python", "javascript", "go", "rust"]
Mode: TypeAlias = Literal["ephemeral", "cached", "checkpointed", "branched", "persistent"]
ExecutionStatus: TypeAlias = Literal["running", "completed", "failed", "timeout"]


class Resources(TypedDict, total=False):
    """Resource allocation of one execution; every field is optional."""

    cpu_cores: float
    memory_mb: int
    timeout_ms: int


@dataclass(frozen=True)
class Cost:
    """What an execution cost."""

    compute: float
    total: float


@dataclass(frozen=True)
class Usage:
    """What an execution used."""

    cpu_seconds: float
    memory_peak_bytes: int


@dataclass(frozen=True)
class ExecutionResult:
    """One execution as the server reports it (``ExecutionOut`` of the REST API).

    ``status`` is ``"running"`` for an execution started with ``async_=True``
    that has not finished yet; its output is then empty and ``exit_code`` is None.
    """

    execution_id: str
    status: ExecutionStatus
    exit_code: int | None
    stdout: str
    stderr: str
    duration_ms: int
    mode: Mode
    cached: bool
    cost: Cost
    language: Language | None
    truncated: bool
    oom_killed: bool
    error: str | None
    cached_from: str | None
    build_cached: bool
    usage: Usage
    created_at: datetime | None
    finished_at: datetime | None


@dataclass(frozen=True)
class OutputEvent:
    """A piece of the program's output."""

    execution_id: str
    stream: Literal["stdout", "stderr"]
    data: str
    type: Literal["output"] = "output"


@dataclass(frozen=True)
class ProgressEvent:
    """Progress of a long execution, from 0.0 to 1.0."""

    execution_id: str
    progress: float | None
    message: str | None
    type: Literal["progress"] = "progress"


@dataclass(frozen=True)
class CompletedEvent:
    """The execution finished; the last event of a stream."""

    execution_id: str
    exit_code: int | None
    type: Literal["completed"] = "completed"


@dataclass(frozen=True)
class ErrorEvent:
    """The execution failed or could not be streamed (the stream's last event), or, with
    ``final=False``, the server refused one of this stream's commands (input, resize)."""

    execution_id: str
    error: str
    final: bool = True
    type: Literal["error"] = "error"


StreamEvent: TypeAlias = OutputEvent | ProgressEvent | CompletedEvent | ErrorEvent
