"""Request and response bodies of the REST API (the HTTP edge; pydantic lives here)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

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
    mode: Mode | None = Field(
        None,
        description="Default: persistent with instance_id, branched with branch_id, ephemeral otherwise",
    )
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
    instance_id: str | None = Field(
        None, description="persistent: run in this live context (a new one is started without it)"
    )
    snapshot_id: str | None = Field(
        None, description="persistent, checkpointed, branched: start from this snapshot instead of a fresh context"
    )
    branch_id: str | None = Field(None, description="branched: run on this branch's head and advance it")


class CostOut(BaseModel):
    compute: float
    total: float


class UsageOut(BaseModel):
    cpu_seconds: float
    memory_peak_bytes: int


class ExecutionOut(BaseModel):
    execution_id: str = Field(..., examples=["exec_0123456789abcdef01234567"])
    status: Literal["running", "completed", "failed", "timeout", "restored"]
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
    instance_id: str | None = Field(None, description="The live context it ran in (persistent) or restored")
    snapshot_id: str | None = Field(None, description="The snapshot it produced (checkpointed, branched)")
    branch_id: str | None = Field(None, description="The branch whose head it advanced (branched)")


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


Metadata = dict[str, Any]


class SnapshotIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    execution_id: str | None = Field(None, description="A persistent execution whose live context to snapshot")
    instance_id: str | None = Field(None, description="The instance to snapshot")
    metadata: Metadata | None = Field(None, description="Free-form, e.g. name and tags", examples=[{"name": "v1"}])


class SnapshotOut(BaseModel):
    snapshot_id: str = Field(..., examples=["snap_0123456789abcdef01234567"])
    execution_id: str | None
    mode: Literal["checkpointed", "branched", "merged"]
    language: Language
    parent_id: str | None = Field(..., description="The snapshot this one descends from")
    instance_id: str | None
    branch_id: str | None = Field(..., description="The branch this snapshot was committed to")
    merged_from: list[str] | None = Field(..., description="The branch heads a merged snapshot combines")
    created_at: datetime
    size_bytes: int = Field(..., description="Bytes this snapshot holds in the store (process state and files)")
    checksum: str = Field(..., description="sha256 over the stored content; verified on every restore")
    metadata: Metadata


class SnapshotListOut(BaseModel):
    snapshots: list[SnapshotOut]
    total: int
    limit: int
    offset: int


class RestoreOut(BaseModel):
    execution_id: str
    snapshot_id: str
    status: Literal["restored"]
    duration_ms: int = Field(..., description="Measured time to verify, restore and reconnect the context")
    instance_id: str = Field(..., description="The restored live context; run code in it with instance_id")


class SnapshotDeletedOut(BaseModel):
    snapshot_id: str
    deleted: Literal[True]
    deleted_branches: list[str] = Field(..., description="Branches whose head it was (only with force)")
    reparented_children: list[str] = Field(..., description="Snapshots now attached to its parent (only with force)")


class BranchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    snapshot_id: str | None = Field(None, description="The snapshot to branch from")
    parent_branch: str | None = Field(None, description="Branch from this branch (at its head unless snapshot_id)")
    metadata: Metadata | None = None


class BranchOut(BaseModel):
    branch_id: str = Field(..., examples=["branch_0123456789abcdef01234567"])
    snapshot_id: str = Field(..., description="The snapshot the branch was created from")
    head_snapshot_id: str = Field(..., description="The newest snapshot committed to the branch")
    parent_branch: str | None
    created_at: datetime
    updated_at: datetime
    metadata: Metadata


class BranchListOut(BaseModel):
    branches: list[BranchOut]
    total: int
    limit: int
    offset: int


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    branch_ids: list[str] = Field(..., min_length=2, description="The branches to merge, in order")
    strategy: Literal["three_way", "ours", "theirs"] = "three_way"
    metadata: Metadata | None = None


class MergeOut(BaseModel):
    snapshot_id: str
    checksum: str
    size_bytes: int
    branch_ids: list[str]
    strategy: Literal["three_way", "ours", "theirs"]
    base_snapshot_id: str | None = Field(..., description="The common ancestor merged against")
    merged_files: int
    resolved_conflicts: list[dict[str, Any]] = Field(..., description="Conflicts that ours/theirs settled")
    memory_state: Literal["fresh"]
    note: str
    created_at: datetime


InstanceState = Literal["starting", "running", "paused", "stopped"]
InstanceNetwork = Literal["none", "egress"]


class InstanceResourcesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cpu_cores: float | None = Field(None, gt=0, description="CPU cores (fractions allowed)", examples=[1])
    memory_mb: int | None = Field(None, gt=0, description="Memory limit in MiB; no swap beyond it", examples=[512])
    disk_gb: float | None = Field(
        None,
        gt=0,
        description="Size of /workspace in GiB (fractions allowed). It is a memory-backed tmpfs: its content "
        "counts against memory_mb, and FAAS_MAX_INSTANCE_DISK_GB bounds it",
        examples=[1],
    )
    gpu_count: int = Field(0, ge=0, description="GPUs; this node has none, so anything above 0 is refused (507)")


class InstanceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    language: Language | None = Field(None, description="Required unless snapshot_id is given")
    snapshot_id: str | None = Field(None, description="Start from this snapshot (its language, cpu and memory)")
    resources: InstanceResourcesIn | None = None
    ttl: int | None = Field(None, gt=0, description="Seconds after creation at which it is stopped, whatever its state")
    auto_stop: bool = Field(True, description="Stop it after the node's idle timeout when it runs nothing")
    metadata: Metadata | None = None
    network: InstanceNetwork = Field(
        "none",
        description="none: loopback only. egress: outbound internet through the node's firewalled bridge (never "
        "the node itself, its Docker engine, private ranges or other instances); only on nodes with "
        "FAAS_INSTANCE_EGRESS, and only for fresh instances (not from a snapshot)",
    )


class InstanceResourcesOut(BaseModel):
    cpu_cores: float
    memory_mb: int
    disk_gb: float = Field(..., description="Size of its /workspace tmpfs in GiB")
    gpu_count: int


class InstanceEventOut(BaseModel):
    from_state: InstanceState | None = Field(..., description="None for its creation")
    to_state: InstanceState
    reason: str
    at: datetime


class InstanceOut(BaseModel):
    instance_id: str = Field(..., examples=["inst_0123456789abcdef01234567"])
    state: InstanceState
    language: Language
    endpoints: dict[str, str | dict[str, str]] = Field(
        ...,
        description="Network endpoints of the instance, only those that exist: 'ssh' (ssh://root@host:port, once "
        "GET /instances/{id}/ssh started its server) and 'http', each exposed service's name to its URL "
        "(POST /instances/{id}/expose). Run code in it with POST /execute {instance_id}",
        examples=[{"ssh": "ssh://root@node.example.com:22001", "http": {"webapp": "https://node.example.com/..."}}],
    )
    resources: InstanceResourcesOut
    ttl: int | None
    auto_stop: bool
    snapshot_id: str | None = Field(..., description="The snapshot it started from")
    network: InstanceNetwork = Field(..., description="none (loopback only) or egress (outbound internet)")
    stopped_reason: str | None
    metadata: Metadata
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None = Field(..., description="created_at + ttl")


class InstanceDetailOut(InstanceOut):
    events: list[InstanceEventOut] = Field(..., description="Its last 20 state transitions, oldest first")


class InstanceListOut(BaseModel):
    instances: list[InstanceOut]
    total: int
    limit: int
    offset: int


class ExposeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(..., pattern=r"^[a-z0-9-]{1,32}$", description="Its name in the URL", examples=["webapp"])
    port: int = Field(..., ge=1, le=65535, description="Where it listens on 127.0.0.1 inside", examples=[3000])


class UnexposeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(..., examples=["webapp"])


class ExposedServiceOut(BaseModel):
    name: str
    port: int
    url: str = Field(
        ...,
        description="Reaches the service; carries its access token as ?token= (an API key of the account "
        "in Authorization or X-API-Key works without it)",
        examples=["https://node.example.com/api/v1/proxy/inst_0123456789abcdef01234567/webapp/?token=abc"],
    )


class SshAccessOut(BaseModel):
    host: str = Field(..., description="Host to connect to", examples=["node.example.com"])
    port: int = Field(..., description="The instance's SSH port on that host", examples=[22001])
    username: str = Field(..., examples=["root"])
    private_key: str = Field(
        ..., description="The instance's client key (ed25519, OpenSSH format); the only key it accepts"
    )
    fingerprint: str = Field(
        ..., description="SHA256 fingerprint of the server's host key", examples=["SHA256:Yb3wVq7rzjTQ1s..."]
    )
    ssh_url: str = Field(..., description="ssh:// URL of the same", examples=["ssh://root@node.example.com:22001"])


class PortForwardIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    local_port: int = Field(..., ge=1, le=65535, description="TCP port the node listens on", examples=[8080])
    remote_port: int = Field(..., ge=1, le=65535, description="Port on 127.0.0.1 inside", examples=[3000])


class PortForwardOut(BaseModel):
    local_port: int
    remote_port: int
    bind_address: str = Field(..., description="Node address the forward listens on (FAAS_FORWARD_BIND_ADDRESS)")


class PortForwardListOut(BaseModel):
    forwards: list[PortForwardOut]


class CopyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    direction: Literal["upload", "download"] = Field(
        ..., description="upload: node files root → instance; download: instance → node files root"
    )
    local_path: str = Field(..., description="Relative to the node's FAAS_FILES_ROOT", examples=["project"])
    remote_path: str = Field(..., description="Relative to the instance's /workspace", examples=["project"])


class CopyOut(BaseModel):
    files: int = Field(..., description="Regular files copied (symlinks are not copied)")
    bytes: int


class SyncIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    local_path: str = Field(
        ...,
        validation_alias=AliasChoices("local_dir", "local_path"),
        description="Directory relative to FAAS_FILES_ROOT (`local_dir`; `local_path` is accepted too)",
        examples=["project"],
    )
    remote_path: str = Field(
        ...,
        validation_alias=AliasChoices("remote_dir", "remote_path"),
        description="Directory relative to /workspace (`remote_dir`; `remote_path` is accepted too)",
        examples=["project"],
    )
    exclude: list[str] = Field(
        default_factory=list, description="Glob patterns of paths (or any of their names) left out", examples=[[".git"]]
    )
    bidirectional: bool = Field(False, description="Also bring changes made in the instance back")


class SyncOut(BaseModel):
    uploaded: list[str] = Field(..., description="Files sent to the instance")
    downloaded: list[str] = Field(..., description="Files brought back (bidirectional only)")
    deleted_remote: list[str]
    deleted_local: list[str]
    unchanged: list[str]
    conflicts: list[str] = Field(..., description="Changed on both sides since the last sync; left as they are")
    transferred: int
    deleted: int
    bytes: int


class DevEnvironmentOut(BaseModel):
    """A development environment inside an instance, reached through the node's proxy."""

    url: str = Field(..., description="Open in a browser; carries the access token")
    type: str = Field(..., examples=["jupyter"], description="`jupyter`, `vnc` or `vscode`")
    token: str | None = Field(None, description="Jupyter's token (also accepted as `?token=` on its URL)")
    password: str | None = Field(None, description="The VNC password (8 characters)")
