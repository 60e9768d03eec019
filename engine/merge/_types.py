"""Results of a merge: conflicts, their hunks, and the merged tree."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Tree = Mapping[str, bytes]
Strategy = Literal["three_way", "ours", "theirs"]
ConflictKind = Literal["content", "add_add", "modify_delete", "delete_modify", "binary", "type"]


@dataclass(frozen=True)
class ConflictHunk:
    """One conflicting region of a text file.

    Starts are 1-based line numbers of the region's first line in each version;
    an empty region (a pure insertion or deletion) starts at the number of the
    line that follows it. Lines keep their line endings exactly.
    """

    base_start: int
    base_lines: list[str]
    ours_start: int
    ours_lines: list[str]
    theirs_start: int
    theirs_lines: list[str]

    def to_details(self) -> dict[str, Any]:
        """The hunk as JSON-ready data: ``{"base"|"ours"|"theirs": {"start", "lines"}}``."""
        return {
            "base": {"start": self.base_start, "lines": list(self.base_lines)},
            "ours": {"start": self.ours_start, "lines": list(self.ours_lines)},
            "theirs": {"start": self.theirs_start, "lines": list(self.theirs_lines)},
        }


@dataclass(frozen=True)
class Conflict:
    """A path that the three-way merge could not resolve on its own.

    Kinds, and what the merged tree holds at ``path``:

    - ``content``: a text file changed differently on both sides, in
      overlapping regions; the file with diff3-style conflict markers.
    - ``add_add``: a text file added on both sides with different contents;
      the file with conflict markers (one hunk against an empty base).
    - ``modify_delete``: ours modified the file, theirs deleted it; ours' version.
    - ``delete_modify``: ours deleted the file, theirs modified it; theirs' version.
    - ``binary``: both sides changed or added the file differently and one of
      the versions is not UTF-8 text (or contains NUL); ours' version.
    - ``type``: the path is a file on one side and a directory on the other
      (e.g. ``a`` added by ours, ``a/b`` by theirs); ours' shape is kept and
      theirs' clashing entries are dropped.

    ``hunks`` is filled for ``content`` and ``add_add``, empty otherwise.
    """

    path: str
    kind: ConflictKind
    hunks: list[ConflictHunk]

    def to_details(self) -> dict[str, Any]:
        """The conflict as JSON-ready data for an API error envelope's ``details``."""
        return {"path": self.path, "kind": self.kind, "hunks": [hunk.to_details() for hunk in self.hunks]}


@dataclass(frozen=True)
class MergeResult:
    """The merged tree and the conflicts found on the way (none means clean)."""

    files: dict[str, bytes]
    conflicts: list[Conflict]

    @property
    def clean(self) -> bool:
        """True when the merge needed no manual resolution."""
        return not self.conflicts
