"""Three-way merge of workspace file trees, for merging snapshot branches.

Pure functions over in-memory trees (``Mapping[str, bytes]``: relative path
to file content); no I/O. Text files merge line by line as diff3 does;
conflicts are reported, and left in the tree with diff3-style markers.
"""

from engine.merge._text import merge_text
from engine.merge._tree import merge_many, merge_trees
from engine.merge._types import Conflict, ConflictHunk, ConflictKind, MergeResult, Strategy, Tree

__all__ = [
    "Conflict",
    "ConflictHunk",
    "ConflictKind",
    "MergeResult",
    "Strategy",
    "Tree",
    "merge_many",
    "merge_text",
    "merge_trees",
]
