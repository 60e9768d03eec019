"""Three-way merge of workspace file trees (relative path -> bytes)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from engine.merge._text import Favor, merge_lines, split_lines
from engine.merge._types import Conflict, MergeResult, Strategy, Tree

_Merged = tuple[bytes | None, Conflict | None]  # content (None: absent) and conflict, for one path


def _favor(strategy: Strategy) -> Favor | None:
    if strategy == "three_way":
        return None
    return strategy


def _as_text(content: bytes) -> str | None:
    if b"\0" in content:
        return None
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _one_side_deleted(path: str, ours: bytes | None, theirs: bytes | None, strategy: Strategy) -> _Merged:
    if strategy != "three_way":
        return (ours if strategy == "ours" else theirs), None
    if ours is None:
        return theirs, Conflict(path, "delete_modify", [])
    return ours, Conflict(path, "modify_delete", [])


def _both_changed(path: str, base: bytes | None, ours: bytes, theirs: bytes, strategy: Strategy) -> _Merged:
    texts = [_as_text(content) for content in (base or b"", ours, theirs)]
    if any(text is None for text in texts):
        kept = theirs if strategy == "theirs" else ours
        return kept, (Conflict(path, "binary", []) if strategy == "three_way" else None)
    base_lines, ours_lines, theirs_lines = (split_lines(text or "") for text in texts)
    merged, hunks = merge_lines(base_lines, ours_lines, theirs_lines, favor=_favor(strategy))
    conflict = Conflict(path, "content" if base is not None else "add_add", hunks) if hunks else None
    return "".join(merged).encode("utf-8"), conflict


def _merge_path(path: str, base: bytes | None, ours: bytes | None, theirs: bytes | None, strategy: Strategy) -> _Merged:
    if ours == theirs or theirs == base:
        return ours, None
    if ours == base:
        return theirs, None
    if ours is None or theirs is None:
        return _one_side_deleted(path, ours, theirs, strategy)
    return _both_changed(path, base, ours, theirs, strategy)


def _directories(paths: Iterable[str]) -> set[str]:
    return {path[:i] for path in paths for i, char in enumerate(path) if char == "/"}


def _resolve_file_directory_clashes(files: dict[str, bytes], winner: Tree) -> list[str]:
    """Keep ``winner``'s shape where a path is both a file and a directory; return those paths."""
    clashes: list[str] = []
    for path in sorted(files.keys() & _directories(files)):  # a parent sorts before its children
        under = [other for other in files if other.startswith(path + "/")] if path in files else []
        if under:
            clashes.append(path)
            for dropped in under if path in winner else [path]:
                del files[dropped]
    return clashes


def merge_trees(base: Tree, ours: Tree, theirs: Tree, *, strategy: Strategy = "three_way") -> MergeResult:
    """Three-way merge of two file trees against their common ancestor.

    Per path: a side that left it unchanged takes the other side's version
    (a deletion included); the same change on both sides is taken once. A path
    changed differently on both sides is merged line by line when every
    version is UTF-8 text without NUL bytes (see :func:`merge_text`), and is
    otherwise a conflict; :class:`Conflict` lists the kinds and what the
    merged tree keeps for each.

    With ``strategy="ours"`` (or ``"theirs"``) nothing conflicts, like git's
    ``-X ours``: changes from both sides still combine, and where they clash
    that side wins -- per conflicting hunk inside a text file, and for the
    whole file when it is binary or deleted on one side.

    Paths are relative, ``/``-separated and normalised. A path that ends up
    both a file and a directory keeps the shape it has in ours (in theirs for
    the ``theirs`` strategy) and is a ``type`` conflict under ``three_way``.
    """
    files: dict[str, bytes] = {}
    conflicts: list[Conflict] = []
    for path in sorted(base.keys() | ours.keys() | theirs.keys()):
        content, conflict = _merge_path(path, base.get(path), ours.get(path), theirs.get(path), strategy)
        if content is not None:
            files[path] = content
        if conflict is not None:
            conflicts.append(conflict)
    clashes = _resolve_file_directory_clashes(files, theirs if strategy == "theirs" else ours)
    if strategy == "three_way":
        conflicts += [Conflict(path, "type", []) for path in clashes]
    return MergeResult(files, conflicts)


def merge_many(base: Tree, branches: Sequence[Tree], *, strategy: Strategy = "three_way") -> MergeResult:
    """Merge several branches that share the ancestor ``base``, folding left.

    The first branch is "ours" for the second; their result is "ours" for the
    third, and so on, always against the same ``base``. So with ``ours`` the
    earliest branch wins a clash and with ``theirs`` the latest. Conflicts
    accumulate in order; a file left with conflict markers by one step is
    plain text to the next, so a path can be reported more than once.

    Raises:
        ValueError: ``branches`` is empty.
    """
    if not branches:
        raise ValueError("merge_many needs at least one branch")
    files = dict(branches[0])
    conflicts: list[Conflict] = []
    for branch in branches[1:]:
        step = merge_trees(base, files, branch, strategy=strategy)
        files = step.files
        conflicts += step.conflicts
    return MergeResult(files, conflicts)
