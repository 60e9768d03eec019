"""What the SDK hands back: results and stream events as frozen dataclasses, options as TypedDicts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeAlias, TypedDict

Language: TypeAlias = Literal["python", "javascript", "go", "rust"]
Mode: TypeAlias = Literal["ephemeral", "cached", "checkpointed", "branched", "persistent"]
ExecutionStatus: TypeAlias = Literal["running", "completed", "failed", "timeout", "restored"]
SnapshotMode: TypeAlias = Literal["checkpointed", "branched", "merged"]
MergeStrategy: TypeAlias = Literal["three_way", "ours", "theirs"]
InstanceState: TypeAlias = Literal["starting", "running", "paused", "stopped"]
Metadata: TypeAlias = dict[str, Any]


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
    It is ``"restored"`` for the record of a ``restore_snapshot()``.

    ``instance_id`` names the live context it ran in (persistent mode) or restored;
    ``snapshot_id`` the snapshot it produced (checkpointed, branched); ``branch_id``
    the branch whose head it advanced (branched).
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
    instance_id: str | None = None
    snapshot_id: str | None = None
    branch_id: str | None = None


@dataclass(frozen=True)
class Snapshot:
    """A captured live context: its processes, memory and files.

    ``parent_id`` is the snapshot it descends from, ``branch_id`` the branch it was
    committed to, ``merged_from`` the branch heads a merged snapshot combines;
    ``checksum`` (sha256) is verified on every restore.
    """

    snapshot_id: str
    execution_id: str | None
    mode: SnapshotMode
    language: Language
    parent_id: str | None
    instance_id: str | None
    branch_id: str | None
    merged_from: list[str] | None
    created_at: datetime
    size_bytes: int
    checksum: str
    metadata: Metadata


@dataclass(frozen=True)
class SnapshotPage:
    """One page of ``list_snapshots()``, newest first; ``total`` counts every match."""

    snapshots: list[Snapshot]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True)
class RestoredSnapshot:
    """A snapshot restored into a new live context; run code in it with ``instance_id``."""

    execution_id: str
    snapshot_id: str
    status: Literal["restored"]
    duration_ms: int
    instance_id: str


@dataclass(frozen=True)
class DeletedSnapshot:
    """What ``delete_snapshot()`` removed; with ``force=True``, also the branches whose
    head it was and the children now attached to its parent."""

    snapshot_id: str
    deleted: bool
    deleted_branches: list[str]
    reparented_children: list[str]


@dataclass(frozen=True)
class Branch:
    """A line of snapshots; branched executions on it advance ``head_snapshot_id``."""

    branch_id: str
    snapshot_id: str
    head_snapshot_id: str
    parent_branch: str | None
    created_at: datetime
    updated_at: datetime
    metadata: Metadata


@dataclass(frozen=True)
class BranchPage:
    """One page of ``list_branches()``, newest first; ``total`` counts every match."""

    branches: list[Branch]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True)
class MergeResult:
    """The snapshot merging branches' workspace files; its memory state starts fresh.

    ``resolved_conflicts`` lists the conflicts the ``ours``/``theirs`` strategy settled.
    """

    snapshot_id: str
    checksum: str
    size_bytes: int
    branch_ids: list[str]
    strategy: MergeStrategy
    base_snapshot_id: str | None
    merged_files: int
    resolved_conflicts: list[dict[str, Any]]
    memory_state: Literal["fresh"]
    note: str
    created_at: datetime


@dataclass(frozen=True)
class InstanceResources:
    """What an instance holds; ``disk_gb`` is the size of its ``/workspace`` tmpfs."""

    cpu_cores: float
    memory_mb: int
    disk_gb: float
    gpu_count: int


@dataclass(frozen=True)
class InstanceEvent:
    """One state transition of an instance; ``from_state`` is None for its creation."""

    from_state: InstanceState | None
    to_state: InstanceState
    reason: str
    at: datetime


@dataclass(frozen=True)
class Instance:
    """A live context managed on its own; run code in it with ``execute(instance_id=...)``.

    ``endpoints`` lists only endpoints that exist: ``ssh`` (``ssh://root@host:port``) and ``http``
    (service name → URL); ``expires_at`` is
    ``created_at + ttl``. ``events`` holds its last 20 state transitions, oldest first,
    in single-instance answers; it is None in ``list_instances()`` pages, which omit them.
    """

    instance_id: str
    state: InstanceState
    language: Language
    endpoints: dict[str, Any]
    resources: InstanceResources
    ttl: int | None
    auto_stop: bool
    snapshot_id: str | None
    stopped_reason: str | None
    metadata: Metadata
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None
    events: list[InstanceEvent] | None = None


@dataclass(frozen=True)
class InstancePage:
    """One page of ``list_instances()``, newest first; ``total`` counts every match."""

    instances: list[Instance]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True)
class OutputEvent:
    """A piece of the program's output."""

    execution_id: str
    stream: Literal["stdout", "stderr"]
    data: str
    type: Literal["output"] = "output"


@dataclass(frozen=True)
class SshAccess:
    """How to log in to an instance over SSH: ``ssh -i key -p port username@host``."""

    host: str
    port: int
    username: str
    private_key: str
    fingerprint: str
    """``SHA256:...`` of the server's host key; check it on first connect."""
    ssh_url: str


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
