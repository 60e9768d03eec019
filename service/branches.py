"""Branches over the snapshot tree: create, list, commit (advance the head) and merge."""

from __future__ import annotations

import asyncio
import secrets
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from engine import EngineError, Resources
from engine.merge import Strategy, merge_many
from engine.workspace import WorkspaceTree
from service.engine_errors import translate_engine_error
from service.errors import Conflict, InvalidRequest, NotFound
from service.snapshots import SnapshotRecord, SnapshotService, check_page
from store import Database
from store import snapshots as stored
from store.models import BranchRow, SnapshotRow

STRATEGIES: tuple[Strategy, ...] = ("three_way", "ours", "theirs")
MAX_MERGE_BRANCHES = 16
MEMORY_STATE_NOTE = (
    "memory state cannot be merged: the merged snapshot holds the merged workspace files and a fresh session"
)


def new_branch_id() -> str:
    return "branch_" + secrets.token_hex(12)


@dataclass(frozen=True)
class BranchRecord:
    branch_id: str
    snapshot_id: str
    head_snapshot_id: str
    parent_branch: str | None
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: BranchRow) -> BranchRecord:
        return cls(
            branch_id=row.id,
            snapshot_id=row.snapshot_id,
            head_snapshot_id=row.head_snapshot_id,
            parent_branch=row.parent_branch,
            metadata=dict(row.meta),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@dataclass(frozen=True)
class BranchPage:
    branches: list[BranchRecord]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True)
class MergeOutcome:
    snapshot: SnapshotRecord
    branch_ids: list[str]
    strategy: Strategy
    base_snapshot_id: str | None
    files: int
    resolved_conflicts: list[dict[str, Any]]
    """Conflicts that ``ours``/``theirs`` settled (empty for a clean merge)."""
    memory_state: str = "fresh"
    note: str = MEMORY_STATE_NOTE


class BranchService:
    """A tenant's branches; a branch's head is the newest snapshot committed to it."""

    def __init__(self, database: Database, snapshots: SnapshotService) -> None:
        self.database = database
        self.snapshots = snapshots
        # A branch's lock lives while a commit holds or awaits it: branches never committed to cost nothing.
        self._commit_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    async def create(
        self,
        tenant_id: str,
        *,
        snapshot_id: str | None,
        parent_branch: str | None,
        metadata: Mapping[str, Any] | None = None,
    ) -> BranchRecord:
        """A branch starting at ``snapshot_id``, or at the head of ``parent_branch``.

        Raises:
            InvalidRequest: neither is given.
            NotFound: the snapshot or parent branch is not the tenant's.
        """
        if snapshot_id is None and parent_branch is None:
            raise InvalidRequest(
                "give the snapshot_id to branch from, or a parent_branch whose head to start at",
                details={"fields": ["snapshot_id", "parent_branch"]},
            )
        if parent_branch is not None:
            parent = await self.get(tenant_id, parent_branch)
            snapshot_id = snapshot_id or parent.head_snapshot_id
        assert snapshot_id is not None
        await self.snapshots.row(tenant_id, snapshot_id)
        now = datetime.now(UTC)
        row = BranchRow(
            id=new_branch_id(),
            tenant_id=tenant_id,
            snapshot_id=snapshot_id,
            head_snapshot_id=snapshot_id,
            parent_branch=parent_branch,
            meta=dict(metadata or {}),
            created_at=now,
            updated_at=now,
        )
        async with self.database.session() as session, session.begin():
            session.add(row)
        return BranchRecord.from_row(row)

    async def get(self, tenant_id: str, branch_id: str) -> BranchRecord:
        async with self.database.session() as session:
            row = await stored.get_branch(session, tenant_id, branch_id)
        if row is None:
            raise NotFound(f"branch {branch_id!r} not found", details={"branch_id": branch_id})
        return BranchRecord.from_row(row)

    async def page(
        self, tenant_id: str, *, snapshot_id: str | None, parent_branch: str | None, limit: int, offset: int
    ) -> BranchPage:
        check_page(limit, offset)
        async with self.database.session() as session:
            rows, total = await stored.list_branches(
                session, tenant_id, snapshot_id=snapshot_id, parent_branch=parent_branch, limit=limit, offset=offset
            )
        return BranchPage([BranchRecord.from_row(row) for row in rows], total, limit, offset)

    def commit_lock(self, branch_id: str) -> asyncio.Lock:
        """Held while an execution runs on a branch's head and commits: commits on one branch go one at a time."""
        lock = self._commit_locks.get(branch_id)
        if lock is None:
            lock = self._commit_locks[branch_id] = asyncio.Lock()
        return lock

    async def advance(self, tenant_id: str, branch_id: str, *, from_head: str, to_head: str) -> None:
        """Move the branch's head from ``from_head`` to ``to_head``.

        Raises:
            Conflict: the head moved meanwhile (another node committed), or the branch was deleted.
        """
        async with self.database.session() as session, session.begin():
            moved = await stored.advance_branch(
                session, tenant_id, branch_id, from_head=from_head, to_head=to_head, at=datetime.now(UTC)
            )
        if not moved:
            raise Conflict(
                f"branch {branch_id} moved on (or was deleted) while this execution ran on {from_head}; "
                f"its result is kept as snapshot {to_head}",
                details={"branch_id": branch_id, "snapshot_id": to_head, "expected_head": from_head},
            )

    async def merge(
        self, tenant_id: str, branch_ids: Sequence[str], *, strategy: str, metadata: Mapping[str, Any] | None = None
    ) -> MergeOutcome:
        """Merge the branches' workspace files into a new snapshot with a fresh session.

        ``three_way`` merges against the heads' nearest common ancestor and refuses any conflict;
        ``ours`` lets the earliest branch win conflicting hunks, ``theirs`` the latest.

        Raises:
            InvalidRequest: fewer than two distinct branches, an unknown strategy, or mixed languages.
            NotFound: a branch is not the tenant's.
            Conflict: a three-way merge has conflicts (paths and hunks in ``details``).
        """
        chosen = _check_merge_request(branch_ids, strategy)
        heads = await self._heads(tenant_id, branch_ids)
        languages = {head.language for head in heads}
        if len(languages) > 1:
            raise InvalidRequest(
                f"branches of different languages cannot be merged: {', '.join(sorted(languages))}",
                details={"languages": sorted(languages)},
            )
        base = await self._common_ancestor(tenant_id, heads)
        base_files = await self.snapshots.workspace_files(base) if base is not None else {}
        sides = [await self.snapshots.workspace_files(head) for head in heads]
        result = await asyncio.to_thread(merge_many, base_files, sides, strategy="three_way")
        conflicts = [conflict.to_details() for conflict in result.conflicts]
        if conflicts and chosen != "three_way":  # the conflicts are reported as resolved by the chosen side
            result = await asyncio.to_thread(merge_many, base_files, sides, strategy=chosen)
        elif conflicts:
            raise Conflict(
                f"the branches conflict in {len({c['path'] for c in conflicts})} paths; resolve them on a branch "
                "and merge again, or merge with strategy ours or theirs",
                details={
                    "conflicts": conflicts,
                    "branch_ids": list(branch_ids),
                    "base_snapshot_id": base.id if base is not None else None,
                },
            )
        snapshot = await self._snapshot_of_merge(tenant_id, heads, result.files, metadata)
        return MergeOutcome(
            snapshot=snapshot,
            branch_ids=list(branch_ids),
            strategy=chosen,
            base_snapshot_id=base.id if base is not None else None,
            files=len(result.files),
            resolved_conflicts=conflicts,
        )

    async def _heads(self, tenant_id: str, branch_ids: Sequence[str]) -> list[SnapshotRow]:
        async with self.database.session() as session:
            branches = await stored.get_branches(session, tenant_id, branch_ids)
        missing = [branch_id for branch_id in branch_ids if branch_id not in branches]
        if missing:
            raise NotFound(f"branch {missing[0]!r} not found", details={"branch_ids": missing})
        return [await self.snapshots.row(tenant_id, branches[b].head_snapshot_id) for b in branch_ids]

    async def _common_ancestor(self, tenant_id: str, heads: Sequence[SnapshotRow]) -> SnapshotRow | None:
        """The nearest snapshot that every head descends from (or is), if any."""
        chains = [await self.snapshots.ancestry(tenant_id, head.id) for head in heads]
        shared = set(chains[0]).intersection(*chains[1:])
        for snapshot_id in chains[0]:
            if snapshot_id in shared:
                return await self.snapshots.row(tenant_id, snapshot_id)
        return None

    async def _snapshot_of_merge(
        self,
        tenant_id: str,
        heads: Sequence[SnapshotRow],
        files: Mapping[str, bytes],
        metadata: Mapping[str, Any] | None,
    ) -> SnapshotRecord:
        contexts = self.snapshots.contexts
        first = heads[0]
        try:
            context = await contexts.start_with_workspace(
                first.language, Resources(**first.resources), WorkspaceTree(files=dict(files))
            )
        except EngineError as exc:
            raise translate_engine_error(exc) from exc
        try:
            return await self.snapshots.capture(
                tenant_id,
                context,
                mode="merged",
                parent_id=first.id,
                merged_from=[head.id for head in heads],
                metadata=metadata,
            )
        finally:
            await context.close()


def _check_merge_request(branch_ids: Sequence[str], strategy: str) -> Strategy:
    if strategy not in STRATEGIES:
        raise InvalidRequest(
            f"unknown merge strategy {strategy!r}; strategies: {', '.join(STRATEGIES)}",
            details={"field": "strategy", "strategies": list(STRATEGIES)},
        )
    if len(set(branch_ids)) != len(branch_ids) or not 2 <= len(branch_ids) <= MAX_MERGE_BRANCHES:
        raise InvalidRequest(
            f"a merge takes between 2 and {MAX_MERGE_BRANCHES} distinct branches",
            details={"field": "branch_ids"},
        )
    return strategy
