"""Line alignment of a base with one side, in a canonical form for diff3.

A longest common subsequence (Myers' O(ND) diff, as git uses) after trimming
the common prefix and suffix; runs of changed lines are then slid down as far
as equal lines allow, so that ambiguous placements are the same on both sides.
Very different files (more than ``MAX_EDITS`` edits) fall back to difflib's
SequenceMatcher, which is quicker there but does not always find the longest
match.
"""

from __future__ import annotations

from difflib import SequenceMatcher

MAX_EDITS = 1000

Pairs = list[tuple[int, int]]  # (base index, side index) of equal lines, increasing


def _myers_trace(a: list[int], b: list[int]) -> list[dict[int, int]] | None:
    """Furthest x on each diagonal k = x - y before each edit count d, until both ends meet."""
    v, trace = {1: 0}, []
    for d in range(min(len(a) + len(b), MAX_EDITS) + 1):
        trace.append(dict(v))
        for k in range(-d, d + 1, 2):
            x = v[k + 1] if k == -d or (k != d and v[k - 1] < v[k + 1]) else v[k - 1] + 1
            y = x - k
            while x < len(a) and y < len(b) and a[x] == b[y]:
                x, y = x + 1, y + 1
            v[k] = x
            if x >= len(a) and y >= len(b):
                return trace
    return None


def _myers_pairs(a: list[int], b: list[int], trace: list[dict[int, int]]) -> Pairs:
    pairs: Pairs = []
    x, y = len(a), len(b)
    for d in range(len(trace) - 1, -1, -1):
        v, k = trace[d], x - y
        prev_k = k + 1 if k == -d or (k != d and v[k - 1] < v[k + 1]) else k - 1
        prev_x = v[prev_k]
        while x > prev_x and y > prev_x - prev_k:
            x, y = x - 1, y - 1
            pairs.append((x, y))
        x, y = prev_x, prev_x - prev_k
    return pairs[::-1]


def _common_pairs(base: list[str], side: list[str]) -> Pairs:
    ids: dict[str, int] = {}
    a, b = [ids.setdefault(line, len(ids)) for line in base], [ids.setdefault(line, len(ids)) for line in side]
    head = 0
    while head < min(len(a), len(b)) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < min(len(a), len(b)) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    middle_a, middle_b = a[head : len(a) - tail], b[head : len(b) - tail]
    trace = _myers_trace(middle_a, middle_b)
    if trace is not None:
        middle = _myers_pairs(middle_a, middle_b, trace)
    else:  # autojunk off: frequent lines (blank lines, braces) must still match.
        blocks = SequenceMatcher(None, middle_a, middle_b, autojunk=False).get_matching_blocks()
        middle = [(m.a + i, m.b + i) for m in blocks for i in range(m.size)]
    ends = [(i, i) for i in range(head)] + [(len(a) - tail + i, len(b) - tail + i) for i in range(tail)]
    return sorted(ends + [(i + head, j + head) for i, j in middle])


def _slide_down(lines: list[str], changed: list[bool]) -> None:
    """Move each run of changed lines as far down as equal lines allow (as git's compaction does).

    An insertion into a run of equal lines (a blank line among blank lines)
    can be placed anywhere in the run; putting it at one canonical place lets
    the same insertion on both sides of a merge line up instead of doubling.
    """
    i = 0
    while i < len(lines):
        if not changed[i]:
            i += 1
            continue
        start = i
        while i < len(lines) and changed[i]:
            i += 1
        while i < len(lines) and lines[start] == lines[i]:
            changed[start], changed[i] = False, True
            start, i = start + 1, i + 1
            while i < len(lines) and changed[i]:  # the run has reached the next one: move both
                i += 1


def matching(base: list[str], side: list[str]) -> dict[int, int]:
    """Map each base line kept by ``side`` to its index there (monotone, equal lines only)."""
    base_changed, side_changed = [True] * len(base), [True] * len(side)
    for i, j in _common_pairs(base, side):
        base_changed[i] = side_changed[j] = False
    _slide_down(base, base_changed)
    _slide_down(side, side_changed)
    # Sliding swaps a line for an equal one, so the kept lines still pair up in order.
    kept_base = [i for i, changed in enumerate(base_changed) if not changed]
    kept_side = [j for j, changed in enumerate(side_changed) if not changed]
    return dict(zip(kept_base, kept_side, strict=True))
