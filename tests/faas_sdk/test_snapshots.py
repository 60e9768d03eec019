"""The Snapshot and Branch APIs in the SDK: parsing, and what each method sends (both clients)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from faas_sdk import (
    Branch,
    BranchPage,
    ConflictError,
    DeletedSnapshot,
    MergeResult,
    RestoredSnapshot,
    Snapshot,
    SnapshotPage,
)
from faas_sdk._snapshots import parse_branch, parse_merge_result, parse_snapshot
from tests.faas_sdk.test_retry import Script, call

SNAPSHOT: dict[str, Any] = {
    "snapshot_id": "snap_1",
    "execution_id": "exec_1",
    "mode": "checkpointed",
    "language": "python",
    "parent_id": None,
    "instance_id": "inst_1",
    "branch_id": None,
    "merged_from": None,
    "created_at": "2024-01-15T10:30:00Z",
    "size_bytes": 123456,
    "checksum": "sha256:" + "0" * 64,
    "metadata": {"name": "v1", "tags": ["a"]},
}
BRANCH: dict[str, Any] = {
    "branch_id": "branch_1",
    "snapshot_id": "snap_1",
    "head_snapshot_id": "snap_2",
    "parent_branch": None,
    "created_at": "2024-01-15T10:30:00Z",
    "updated_at": "2024-01-15T10:31:00.25+00:00",
    "metadata": {},
}
MERGE: dict[str, Any] = {
    "snapshot_id": "snap_3",
    "checksum": "sha256:" + "1" * 64,
    "size_bytes": 2048,
    "branch_ids": ["branch_1", "branch_2"],
    "strategy": "ours",
    "base_snapshot_id": "snap_1",
    "merged_files": 2,
    "resolved_conflicts": [{"path": "doc.txt", "kind": "content"}],
    "memory_state": "fresh",
    "note": "memory state cannot be merged; the merged context starts fresh",
    "created_at": "2024-01-15T10:32:00Z",
}
RESTORED: dict[str, Any] = {
    "execution_id": "exec_2",
    "snapshot_id": "snap_1",
    "status": "restored",
    "duration_ms": 850,
    "instance_id": "inst_2",
}
DELETED: dict[str, Any] = {
    "snapshot_id": "snap_1",
    "deleted": True,
    "deleted_branches": ["branch_1"],
    "reparented_children": [],
}


def page(key: str, item: dict[str, Any]) -> dict[str, Any]:
    return {key: [item], "total": 7, "limit": 1, "offset": 3}


def test_a_snapshot_parses_into_the_dataclass() -> None:
    assert parse_snapshot(SNAPSHOT) == Snapshot(
        snapshot_id="snap_1",
        execution_id="exec_1",
        mode="checkpointed",
        language="python",
        parent_id=None,
        instance_id="inst_1",
        branch_id=None,
        merged_from=None,
        created_at=datetime(2024, 1, 15, 10, 30, tzinfo=UTC),
        size_bytes=123456,
        checksum="sha256:" + "0" * 64,
        metadata={"name": "v1", "tags": ["a"]},
    )


def test_a_branch_and_a_merge_parse_with_their_instants() -> None:
    branch = parse_branch(BRANCH)
    assert (branch.head_snapshot_id, branch.updated_at.microsecond) == ("snap_2", 250000)
    merged = parse_merge_result(MERGE)
    assert (merged.strategy, merged.base_snapshot_id, merged.merged_files) == ("ours", "snap_1", 2)
    assert merged.resolved_conflicts == [{"path": "doc.txt", "kind": "content"}]
    assert merged.created_at == datetime(2024, 1, 15, 10, 32, tzinfo=UTC)


both = pytest.mark.parametrize("kind", ["async", "sync"])


@both
@pytest.mark.parametrize(
    ("method", "args", "kwargs", "sent", "answer", "kind_of_result"),
    [
        (
            "create_snapshot",
            (),
            {"instance_id": "inst_1", "metadata": {"name": "v1"}},
            ("POST", "/api/v1/snapshots", {"instance_id": "inst_1", "metadata": {"name": "v1"}}),
            SNAPSHOT,
            Snapshot,
        ),
        (
            "list_snapshots",
            (),
            {"mode": "merged", "offset": 3},
            ("GET", "/api/v1/snapshots?mode=merged&limit=20&offset=3", None),
            page("snapshots", SNAPSHOT),
            SnapshotPage,
        ),
        ("get_snapshot", ("snap_1",), {}, ("GET", "/api/v1/snapshots/snap_1", None), SNAPSHOT, Snapshot),
        (
            "restore_snapshot",
            ("snap_1",),
            {},
            ("POST", "/api/v1/snapshots/snap_1/restore", None),
            RESTORED,
            RestoredSnapshot,
        ),
        ("delete_snapshot", ("snap_1",), {}, ("DELETE", "/api/v1/snapshots/snap_1", None), DELETED, DeletedSnapshot),
        (
            "delete_snapshot",
            ("snap_1",),
            {"force": True},
            ("DELETE", "/api/v1/snapshots/snap_1?force=true", None),
            DELETED,
            DeletedSnapshot,
        ),
        (
            "create_branch",
            (),
            {"parent_branch": "branch_0"},
            ("POST", "/api/v1/branches", {"parent_branch": "branch_0"}),
            BRANCH,
            Branch,
        ),
        (
            "list_branches",
            (),
            {"snapshot_id": "snap_1", "limit": 1},
            ("GET", "/api/v1/branches?snapshot_id=snap_1&limit=1&offset=0", None),
            page("branches", BRANCH),
            BranchPage,
        ),
        ("get_branch", ("branch_1",), {}, ("GET", "/api/v1/branches/branch_1", None), BRANCH, Branch),
        (
            "merge_branches",
            (("branch_1", "branch_2"),),
            {"strategy": "ours"},
            ("POST", "/api/v1/branches/merge", {"branch_ids": ["branch_1", "branch_2"], "strategy": "ours"}),
            MERGE,
            MergeResult,
        ),
    ],
)
async def test_each_method_sends_its_request_and_parses_the_answer(
    kind: str,
    method: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    sent: tuple[str, str, dict[str, Any] | None],
    answer: dict[str, Any],
    kind_of_result: type,
) -> None:
    script = Script(httpx.Response(200, json=answer))
    result = await call(kind, script, method, *args, arguments=kwargs)
    [request] = script.requests
    body = json.loads(request.content) if request.content else None
    assert (request.method, request.url.raw_path.decode(), body) == sent
    assert isinstance(result, kind_of_result)


@both
async def test_a_conflicting_merge_raises_conflict_error_with_the_hunks(kind: str) -> None:
    conflicts = [{"path": "doc.txt", "kind": "content", "hunks": [{"base": {"start": 2, "lines": ["line 2\n"]}}]}]
    envelope = {
        "error": {"code": "CONFLICT", "message": "the merge has conflicts", "details": {"conflicts": conflicts}}
    }
    script = Script(httpx.Response(409, json=envelope))
    with pytest.raises(ConflictError) as caught:
        await call(kind, script, "merge_branches", ["branch_1", "branch_2"])
    assert caught.value.status_code == 409 and caught.value.details["conflicts"] == conflicts
    assert len(script.requests) == 1
