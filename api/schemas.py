"""Request and response bodies of the REST API (the HTTP edge; pydantic lives here)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Language = Literal["python", "javascript", "go", "rust"]
Mode = Literal["ephemeral", "cached", "checkpointed", "branched", "persistent"]


class ResourcesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cpu_cores: float | None = Field(None, gt=0, description="CPU cores (fractions allowed)", examples=[1])
    memory_mb: int | None = Field(None, gt=0, description="Memory limit in MiB; no swap beyond it", examples=[512])
    timeout_ms: int | None = Field(None, gt=0, description="Wall-clock limit of the program", examples=[30000])


class ExecuteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(..., min_length=1, description="The program's main file")
    language: Language
    mode: Mode = "ephemeral"
    resources: ResourcesIn | None = None
    env_vars: dict[str, str] | None = Field(None, description="Environment variables")
    files: dict[str, str] | None = Field(None, description="Input files: relative path → base64 content")
    stdin: str | None = Field(None, description="Text fed to the program's standard input")


class CostOut(BaseModel):
    compute: float
    total: float


class UsageOut(BaseModel):
    cpu_seconds: float
    memory_peak_bytes: int


class ExecutionOut(BaseModel):
    execution_id: str = Field(..., examples=["exec_0123456789abcdef01234567"])
    status: Literal["completed", "failed", "timeout"]
    exit_code: int | None
    stdout: str
    stderr: str
    duration_ms: int
    mode: Mode
    cached: bool
    cost: CostOut
    language: Language
    truncated: bool = Field(..., description="Output was cut at the per-stream cap")
    oom_killed: bool
    error: str | None = Field(None, description="Why the execution failed, in words")
    cached_from: str | None = Field(None, description="The execution a cache hit reused")
    build_cached: bool = Field(..., description="Compilation was skipped thanks to the artefact cache")
    usage: UsageOut
    created_at: datetime
    finished_at: datetime | None


class ErrorBody(BaseModel):
    code: str
    message: str
    details: dict[str, Any]


class ErrorOut(BaseModel):
    error: ErrorBody


class HealthOut(BaseModel):
    status: Literal["ok"]
    languages: list[str]
    warm_sandboxes: dict[str, int]
    active_executions: int
