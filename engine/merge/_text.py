"""Line-level diff3 of three versions of a text file.

The walk is the classic diff3 one (Khanna, Kunal and Pierce, "A formal
investigation of diff3"; GNU diff3 and git's xdiff merge behave alike):
match base against each side (see ``_align``), then cut the three line sequences into
*stable* chunks, where a run of base lines is matched in lockstep on both
sides, and *unstable* chunks in between, which end at the next base line that
both sides still match. An unstable chunk changed on one side only takes that
side; changed identically on both takes either; otherwise it is a conflict.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from engine.merge._align import matching
from engine.merge._types import ConflictHunk

Favor = Literal["ours", "theirs"]

# A line is everything up to and including "\n" ("\r\n" stays in the line);
# a last line without a newline is a line too, so joining round-trips.
_LINE = re.compile(r"[^\n]*\n|[^\n]+")


@dataclass(frozen=True)
class _Chunk:
    """Half-open line ranges of one chunk in base, ours and theirs."""

    stable: bool
    base: range
    ours: range
    theirs: range


def split_lines(text: str) -> list[str]:
    """Split ``text`` into lines that keep their endings (``"".join`` restores it)."""
    return _LINE.findall(text)


def _stable_length(to_ours: dict[int, int], to_theirs: dict[int, int], o: int, a: int, b: int) -> int:
    k = 0
    while to_ours.get(o + k) == a + k and to_theirs.get(o + k) == b + k:
        k += 1
    return k


def _chunks(base: list[str], ours: list[str], theirs: list[str]) -> Iterator[_Chunk]:
    to_ours, to_theirs = matching(base, ours), matching(base, theirs)
    anchors = sorted(to_ours.keys() & to_theirs.keys())  # base lines both sides keep
    o = a = b = 0
    while o < len(base) or a < len(ours) or b < len(theirs):
        k = _stable_length(to_ours, to_theirs, o, a, b)
        if k:
            yield _Chunk(True, range(o, o + k), range(a, a + k), range(b, b + k))
            o, a, b = o + k, a + k, b + k
            continue
        i = bisect_left(anchors, o)
        end = anchors[i] if i < len(anchors) else len(base)
        a_end, b_end = to_ours.get(end, len(ours)), to_theirs.get(end, len(theirs))
        yield _Chunk(False, range(o, end), range(a, a_end), range(b, b_end))
        o, a, b = end, a_end, b_end


def _newline(lines: list[str]) -> str:
    first = next((line for line in lines if line.endswith("\n")), "\n")
    return "\r\n" if first.endswith("\r\n") else "\n"


def _terminated(lines: list[str], newline: str) -> list[str]:
    # A region at the end of a file may lack a final newline; the marker after
    # it must still start on a line of its own.
    if lines and not lines[-1].endswith("\n"):
        return [*lines[:-1], lines[-1] + newline]
    return lines


def _with_markers(hunk: ConflictHunk, newline: str) -> list[str]:
    return [
        f"<<<<<<< ours{newline}",
        *_terminated(hunk.ours_lines, newline),
        f"||||||| base{newline}",
        *_terminated(hunk.base_lines, newline),
        f"======={newline}",
        *_terminated(hunk.theirs_lines, newline),
        f">>>>>>> theirs{newline}",
    ]


def _hunk(chunk: _Chunk, base: list[str], ours: list[str], theirs: list[str]) -> ConflictHunk:
    return ConflictHunk(
        base_start=chunk.base.start + 1,
        base_lines=base[chunk.base.start : chunk.base.stop],
        ours_start=chunk.ours.start + 1,
        ours_lines=ours[chunk.ours.start : chunk.ours.stop],
        theirs_start=chunk.theirs.start + 1,
        theirs_lines=theirs[chunk.theirs.start : chunk.theirs.stop],
    )


def merge_lines(
    base: list[str], ours: list[str], theirs: list[str], *, favor: Favor | None = None
) -> tuple[list[str], list[ConflictHunk]]:
    """diff3-merge line lists; a conflicting chunk takes ``favor``'s side, or markers if None."""
    merged: list[str] = []
    hunks: list[ConflictHunk] = []
    newline = _newline(ours + base + theirs)
    for chunk in _chunks(base, ours, theirs):
        hunk = _hunk(chunk, base, ours, theirs)
        if chunk.stable or hunk.ours_lines == hunk.theirs_lines or hunk.theirs_lines == hunk.base_lines:
            merged += hunk.ours_lines
        elif hunk.ours_lines == hunk.base_lines or favor == "theirs":
            merged += hunk.theirs_lines
        elif favor == "ours":
            merged += hunk.ours_lines
        else:
            hunks.append(hunk)
            merged += _with_markers(hunk, newline)
    return merged, hunks


def merge_text(base: str, ours: str, theirs: str) -> tuple[str, list[ConflictHunk]]:
    """Three-way merge of a text file, line by line (diff3).

    Changes to different regions combine; the same change on both sides is
    taken once; different changes to the same or adjacent lines conflict.
    Line endings (``\\n``, ``\\r\\n``, none at the end of the file) are kept
    exactly.

    Returns:
        The merged text, carrying diff3-style markers (``<<<<<<< ours``,
        ``||||||| base``, ``=======``, ``>>>>>>> theirs``) around each
        conflicting region, and those regions as hunks (empty when clean).
    """
    merged, hunks = merge_lines(split_lines(base), split_lines(ours), split_lines(theirs))
    return "".join(merged), hunks
