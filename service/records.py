"""What the service returns about an execution."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from store import ExecutionRow


@dataclass(frozen=True)
class ExecutionRecord:
    execution_id: str
    language: str
    mode: str
    status: str
    exit_code: int | None
    stdout: str
    stderr: str
    truncated: bool
    oom_killed: bool
    duration_ms: int
    cached: bool
    cached_from: str | None
    build_cached: bool
    cpu_seconds: float
    memory_peak_bytes: int
    cost_compute: float
    cost_total: float
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    timeout_ms: int
    instance_id: str | None = None
    snapshot_id: str | None = None
    branch_id: str | None = None
    image_id: str | None = None
    """The runtime image the program ran on (``sha256:...``); None when it never reached one."""

    @classmethod
    def from_row(cls, row: ExecutionRow) -> ExecutionRecord:
        return cls(
            execution_id=row.id,
            language=row.language,
            mode=row.mode,
            status=row.status,
            exit_code=row.exit_code,
            stdout=row.stdout,
            stderr=row.stderr,
            truncated=row.truncated,
            oom_killed=row.oom_killed,
            duration_ms=row.duration_ms,
            cached=row.cached,
            cached_from=row.cached_from,
            build_cached=row.build_cached,
            cpu_seconds=row.cpu_seconds,
            memory_peak_bytes=row.memory_peak_bytes,
            cost_compute=row.cost_compute,
            cost_total=row.cost_total,
            error=row.error,
            created_at=row.created_at,
            finished_at=row.finished_at,
            timeout_ms=int(row.resources.get("timeout_ms", 0)),
            instance_id=row.instance_id,
            snapshot_id=row.snapshot_id,
            branch_id=row.branch_id,
            image_id=row.image_id,
        )


def output_text(data: bytes) -> str:
    """Program output as text: invalid UTF-8 replaced, NUL too (PostgreSQL text cannot hold it)."""
    return data.decode("utf-8", errors="replace").replace("\x00", "\ufffd")
