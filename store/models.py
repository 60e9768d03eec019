"""ORM tables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Dialect, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime}


class TenantRow(Base):
    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column()
    credits: Mapped[float] = mapped_column(Float, server_default="100.0")
    """The balance; changed only together with a ``credit_ledger`` row that explains it."""


class ApiKeyRow(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)
    requests_per_minute: Mapped[int | None] = mapped_column(Integer, nullable=True)
    requests_per_hour: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_concurrent_executions: Mapped[int | None] = mapped_column(Integer, nullable=True)


class ExecutionRow(Base):
    __tablename__ = "executions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    language: Mapped[str] = mapped_column(String(20))
    mode: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    exit_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    stdout: Mapped[str] = mapped_column(Text)
    stderr: Mapped[str] = mapped_column(Text)
    truncated: Mapped[bool] = mapped_column(Boolean)
    oom_killed: Mapped[bool] = mapped_column(Boolean)
    duration_ms: Mapped[int] = mapped_column(Integer)
    cached: Mapped[bool] = mapped_column(Boolean)
    cache_key: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    cached_from: Mapped[str | None] = mapped_column(String(40), nullable=True)
    build_cached: Mapped[bool] = mapped_column(Boolean)
    cpu_seconds: Mapped[float] = mapped_column(Float)
    memory_peak_bytes: Mapped[int] = mapped_column(BigInteger)
    memory_gb_seconds: Mapped[float] = mapped_column(Float)
    cost_compute: Mapped[float] = mapped_column(Float)
    cost_total: Mapped[float] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    image_id: Mapped[str] = mapped_column(String(100))
    code_sha256: Mapped[str] = mapped_column(String(64))
    resources: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(index=True)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    instance_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    """The live context the execution ran in (persistent mode) or that it restored (status restored)."""
    snapshot_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    """The snapshot the execution produced (checkpointed, branched) or restored."""
    branch_id: Mapped[str | None] = mapped_column(String(40), nullable=True)

    __table_args__ = (Index("ix_executions_tenant_id_created_at", "tenant_id", "created_at"),)


class CreditLedgerRow(Base):
    """One movement of a tenant's credits: a grant (positive) or an execution's charge (negative)."""

    __tablename__ = "credit_ledger"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    execution_id: Mapped[str | None] = mapped_column(String(40), nullable=True, unique=True)
    reason: Mapped[str] = mapped_column(String(40))
    amount: Mapped[float] = mapped_column(Float)
    balance_after: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column()


class SnapshotRow(Base):
    """A stored snapshot: a CRIU checkpoint tree and a workspace tree in the snapshot store."""

    __tablename__ = "snapshots"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    mode: Mapped[str] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    execution_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    instance_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    branch_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    checksum: Mapped[str] = mapped_column(String(80))
    checkpoint_tree: Mapped[str] = mapped_column(String(80))
    workspace_tree: Mapped[str] = mapped_column(String(80))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    image_id: Mapped[str] = mapped_column(String(100))
    resources: Mapped[dict[str, Any]] = mapped_column(JSON)
    merged_from: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON)
    created_at: Mapped[datetime] = mapped_column()
    deleted_at: Mapped[datetime | None] = mapped_column(nullable=True)
    """Deleted snapshots keep their row (without content) so storage stays billable for the time it was held."""

    __table_args__ = (Index("ix_snapshots_tenant_id_created_at", "tenant_id", "created_at"),)


class BranchRow(Base):
    """A movable head over the snapshot tree; executions in branched mode advance it."""

    __tablename__ = "branches"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    snapshot_id: Mapped[str] = mapped_column(String(40), index=True)
    """The snapshot the branch was created from."""
    head_snapshot_id: Mapped[str] = mapped_column(String(40), index=True)
    parent_branch: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON)
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()


class InstanceRow(Base):
    """A live context (a sandbox whose state persists between executions) and its lifecycle."""

    __tablename__ = "instances"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    node_id: Mapped[str] = mapped_column(String(100))
    language: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20))
    container_id: Mapped[str | None] = mapped_column(String(80), nullable=True)
    snapshot_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    """The snapshot it was restored from, if any."""
    resources: Mapped[dict[str, Any]] = mapped_column(JSON)
    workspace_mb: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """Size of its ``/workspace`` tmpfs (None on rows older than the Instance API: the node's default)."""
    ttl_s: Mapped[int | None] = mapped_column(Integer, nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(nullable=True, index=True)
    """``created_at + ttl_s``: it is stopped then, whatever its state."""
    auto_stop: Mapped[bool] = mapped_column(Boolean)
    """Stopped after the node's idle timeout when it runs nothing; False: only ``ttl_s`` stops it."""
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON)
    network: Mapped[str] = mapped_column(String(10), server_default="none")
    """``none`` (loopback only) or ``egress`` (the node's firewalled internet bridge)."""
    stopped_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()

    __table_args__ = (Index("ix_instances_tenant_id_created_at", "tenant_id", "created_at"),)


class InstanceEventRow(Base):
    """One state transition of an instance (``from_state`` is None for its creation)."""

    __tablename__ = "instance_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(20), nullable=True)
    to_state: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column()


class ChainJobRow(Base):
    """A job called on chain for one of this operator's services, and how far it got.

    ``state`` moves ``received`` → ``running`` → ``executed`` (output and signed receipt
    stored) → ``sent`` (``submit_result`` in the pool, valid until block ``valid_until``) →
    ``submitted`` (the result is on chain). A result is only ever sent from a stored receipt,
    and sent again only once the earlier one can no longer be included, so a crash at any
    point never yields two results.
    """

    __tablename__ = "chain_jobs"

    chain_id: Mapped[str] = mapped_column(String(66), primary_key=True)
    """Genesis hash of the chain, 0x-hex."""
    service_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    call_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    job: Mapped[int] = mapped_column(Integer)
    caller: Mapped[str] = mapped_column(String(64))
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_hash: Mapped[str] = mapped_column(String(66))
    args_scale: Mapped[str] = mapped_column(Text)
    """The call's ``Vec<Field>`` arguments exactly as SCALE-encoded on chain, 0x-hex."""
    state: Mapped[str] = mapped_column(String(20), index=True)
    status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    output: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    receipt: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    receipt_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    signature: Mapped[str | None] = mapped_column(String(140), nullable=True)
    submitted_block: Mapped[str | None] = mapped_column(String(66), nullable=True)
    """The extrinsic hash while ``sent``; the including block's hash once known."""
    valid_until: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()


class ChainCursorRow(Base):
    """The last finalized block of a chain whose job calls this operator has recorded."""

    __tablename__ = "chain_cursors"

    chain_id: Mapped[str] = mapped_column(String(66), primary_key=True)
    block_number: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column()
