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
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    code: str = Field(..., min_length=1, description="The program's main file")
    language: Language
    mode: Mode = "ephemeral"
    resources: ResourcesIn | None = None
    env_vars: dict[str, str] | None = Field(None, description="Environment variables")
    files: dict[str, str] | None = Field(None, description="Input files: relative path → base64 content")
    stdin: str | None = Field(None, description="Text fed to the program's standard input")
    run_async: bool = Field(
        False,
        alias="async",
        description="Answer at once with status 'running'; follow it on /stream/{execution_id}",
    )
    interactive: bool = Field(
        False, description="Keep stdin open for WebSocket 'input' messages (end it with an input whose eof is true)"
    )
    tty: bool = Field(False, description="Run under a pseudo-terminal (resizable; stdout and stderr merged)")


class CostOut(BaseModel):
    compute: float
    total: float


class UsageOut(BaseModel):
    cpu_seconds: float
    memory_peak_bytes: int


class ExecutionOut(BaseModel):
    execution_id: str = Field(..., examples=["exec_0123456789abcdef01234567"])
    status: Literal["running", "completed", "failed", "timeout"]
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


class ExecutionsByModeOut(BaseModel):
    ephemeral: int
    cached: int
    checkpointed: int
    branched: int
    persistent: int


class ExecutionUsageOut(BaseModel):
    total_count: int
    successful_count: int = Field(..., description="Executions that completed")
    failed_count: int = Field(..., description="Executions that failed or timed out")
    cpu_seconds: float
    memory_gb_seconds: float
    by_mode: ExecutionsByModeOut


class StorageUsageOut(BaseModel):
    snapshots_created: int
    total_gb_stored: float


class NetworkUsageOut(BaseModel):
    ingress_gb: float
    egress_gb: float


class CostsOut(BaseModel):
    compute_cost: float
    storage_cost: float
    network_cost: float
    total_cost: float
    credits_remaining: float


class UsageReportOut(BaseModel):
    period_start: datetime
    period_end: datetime
    executions: ExecutionUsageOut
    storage: StorageUsageOut
    network: NetworkUsageOut
    costs: CostsOut


class CurrentUsageOut(BaseModel):
    current_balance: float
    pending_charges: float
    rate_limit_remaining: int
    storage_used_bytes: int
    active_executions: int
