"""The Snapshot and Branch APIs' responses as dataclasses (pure; the clients only do I/O around these)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, cast

from faas_sdk._models import (
    Branch,
    BranchPage,
    DeletedSnapshot,
    Language,
    MergeResult,
    MergeStrategy,
    RestoredSnapshot,
    Snapshot,
    SnapshotMode,
    SnapshotPage,
)
from faas_sdk._protocol import parse_datetime


def parse_snapshot(body: Mapping[str, Any]) -> Snapshot:
    """A ``SnapshotOut`` JSON object."""
    return Snapshot(
        snapshot_id=str(body["snapshot_id"]),
        execution_id=body.get("execution_id"),
        mode=cast(SnapshotMode, body["mode"]),
        language=cast(Language, body["language"]),
        parent_id=body.get("parent_id"),
        instance_id=body.get("instance_id"),
        branch_id=body.get("branch_id"),
        merged_from=body.get("merged_from"),
        created_at=parse_datetime(body["created_at"]),
        size_bytes=int(body["size_bytes"]),
        checksum=str(body["checksum"]),
        metadata=dict(body.get("metadata") or {}),
    )


def parse_snapshot_page(body: Mapping[str, Any]) -> SnapshotPage:
    """A ``SnapshotListOut`` JSON object."""
    return SnapshotPage(
        snapshots=[parse_snapshot(item) for item in body["snapshots"]],
        total=int(body["total"]),
        limit=int(body["limit"]),
        offset=int(body["offset"]),
    )


def parse_restored_snapshot(body: Mapping[str, Any]) -> RestoredSnapshot:
    """A ``RestoreOut`` JSON object."""
    return RestoredSnapshot(
        execution_id=str(body["execution_id"]),
        snapshot_id=str(body["snapshot_id"]),
        status=cast(Literal["restored"], body["status"]),
        duration_ms=int(body["duration_ms"]),
        instance_id=str(body["instance_id"]),
    )


def parse_deleted_snapshot(body: Mapping[str, Any]) -> DeletedSnapshot:
    """A ``SnapshotDeletedOut`` JSON object."""
    return DeletedSnapshot(
        snapshot_id=str(body["snapshot_id"]),
        deleted=bool(body["deleted"]),
        deleted_branches=list(body.get("deleted_branches") or []),
        reparented_children=list(body.get("reparented_children") or []),
    )


def parse_branch(body: Mapping[str, Any]) -> Branch:
    """A ``BranchOut`` JSON object."""
    return Branch(
        branch_id=str(body["branch_id"]),
        snapshot_id=str(body["snapshot_id"]),
        head_snapshot_id=str(body["head_snapshot_id"]),
        parent_branch=body.get("parent_branch"),
        created_at=parse_datetime(body["created_at"]),
        updated_at=parse_datetime(body["updated_at"]),
        metadata=dict(body.get("metadata") or {}),
    )


def parse_branch_page(body: Mapping[str, Any]) -> BranchPage:
    """A ``BranchListOut`` JSON object."""
    return BranchPage(
        branches=[parse_branch(item) for item in body["branches"]],
        total=int(body["total"]),
        limit=int(body["limit"]),
        offset=int(body["offset"]),
    )


def parse_merge_result(body: Mapping[str, Any]) -> MergeResult:
    """A ``MergeOut`` JSON object."""
    return MergeResult(
        snapshot_id=str(body["snapshot_id"]),
        checksum=str(body["checksum"]),
        size_bytes=int(body["size_bytes"]),
        branch_ids=list(body["branch_ids"]),
        strategy=cast(MergeStrategy, body["strategy"]),
        base_snapshot_id=body.get("base_snapshot_id"),
        merged_files=int(body["merged_files"]),
        resolved_conflicts=list(body.get("resolved_conflicts") or []),
        memory_state=cast(Literal["fresh"], body["memory_state"]),
        note=str(body["note"]),
        created_at=parse_datetime(body["created_at"]),
    )
