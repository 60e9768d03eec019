import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.merge import Conflict, ConflictHunk, ConflictKind, Strategy, Tree, merge_many, merge_text, merge_trees

BASE = "one\ntwo\nthree\nfour\nfive\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00"


def lines(*items: str) -> str:
    return "".join(f"{item}\n" for item in items)


# --- merge_text: clean merges ---------------------------------------------------------------


def test_disjoint_edits_in_one_file_combine() -> None:
    ours = lines("ONE", "two", "three", "four", "five")
    theirs = lines("one", "two", "three", "four", "FIVE", "six")
    assert merge_text(BASE, ours, theirs) == (lines("ONE", "two", "three", "four", "FIVE", "six"), [])


def test_same_change_on_both_sides_is_not_a_conflict() -> None:
    both = lines("one", "TWO", "three", "four", "five")
    ours = both + "six\n"
    assert merge_text(BASE, both, both) == (both, [])
    assert merge_text(BASE, ours, both) == (ours, [])


def test_insert_and_delete_on_different_sides_combine() -> None:
    ours = lines("zero", "one", "two", "three", "four", "five")
    theirs = lines("one", "two", "four", "five")
    assert merge_text(BASE, ours, theirs) == (lines("zero", "one", "two", "four", "five"), [])


def test_the_same_insertion_is_taken_once_where_its_place_is_ambiguous() -> None:
    base = lines("a", "", "d", "a", "", "a", "a", "b")
    ours = lines("a", "X", "d", "a", "", "", "a", "a", "b")  # blank line added to the run of one
    theirs = lines("a", "", "d", "a", "", "", "a", "a", "b")
    assert merge_text(base, ours, theirs) == (ours, [])


def test_very_different_large_files_still_merge() -> None:
    base = lines(*(f"line {i}" for i in range(3000)))
    ours = lines(*(f"ours {i}" for i in range(1500)), *(f"line {i}" for i in range(1500, 3000)))
    theirs = base.replace("line 2999\n", "theirs 2999\n")
    assert merge_text(base, ours, theirs) == (ours.replace("line 2999\n", "theirs 2999\n"), [])


# --- merge_text: conflicts ------------------------------------------------------------------


def test_same_line_changed_differently_is_one_hunk_with_markers() -> None:
    ours = lines("one", "two", "THREE", "four", "five")
    theirs = lines("one", "two", "3", "four", "five")
    merged, hunks = merge_text(BASE, ours, theirs)
    assert hunks == [ConflictHunk(3, ["three\n"], 3, ["THREE\n"], 3, ["3\n"])]
    assert merged == lines(
        "one", "two", "<<<<<<< ours", "THREE", "||||||| base", "three", "=======", "3", ">>>>>>> theirs", "four", "five"
    )


def test_hunk_line_numbers_follow_each_side() -> None:
    ours = lines("zero", "one", "two", "THREE", "four", "five")  # one line inserted above
    theirs = lines("one", "1.5", "1.6", "two", "3", "3b", "four", "five")  # two lines inserted above
    merged, hunks = merge_text(BASE, ours, theirs)
    assert hunks == [ConflictHunk(3, ["three\n"], 4, ["THREE\n"], 5, ["3\n", "3b\n"])]
    assert merged.startswith(lines("zero", "one", "1.5", "1.6", "two", "<<<<<<< ours"))


def test_different_insertions_at_one_point_conflict_with_an_empty_base_region() -> None:
    ours = lines("one", "two", "ours", "three", "four", "five")
    theirs = lines("one", "two", "theirs", "three", "four", "five")
    merged, hunks = merge_text(BASE, ours, theirs)
    assert hunks == [ConflictHunk(3, [], 3, ["ours\n"], 3, ["theirs\n"])]
    assert "||||||| base\n=======\n" in merged


def test_adjacent_changes_conflict_as_in_diff3() -> None:
    ours = lines("one", "TWO", "three", "four", "five")
    theirs = lines("one", "two", "THREE", "four", "five")
    _, hunks = merge_text(BASE, ours, theirs)
    assert hunks == [ConflictHunk(2, ["two\n", "three\n"], 2, ["TWO\n", "three\n"], 2, ["two\n", "THREE\n"])]


def test_two_separate_conflicts_are_two_hunks() -> None:
    ours = lines("1", "two", "three", "four", "5")
    theirs = lines("i", "two", "three", "four", "v")
    merged, hunks = merge_text(BASE, ours, theirs)
    assert [(h.base_start, h.ours_lines, h.theirs_lines) for h in hunks] == [
        (1, ["1\n"], ["i\n"]),
        (5, ["5\n"], ["v\n"]),
    ]
    assert merged.count("<<<<<<< ours\n") == 2


# --- merge_text: line endings ---------------------------------------------------------------


def test_missing_trailing_newline_round_trips() -> None:
    base, ours, theirs = "a\nb\nc", "A\nb\nc", "a\nb\nC"
    assert merge_text(base, ours, theirs) == ("A\nb\nC", [])
    assert merge_text(base, ours, base) == (ours, [])


def test_conflict_at_a_last_line_without_newline_keeps_markers_on_their_own_lines() -> None:
    merged, hunks = merge_text("a\nb", "a\nB", "a\nβ")
    assert hunks == [ConflictHunk(2, ["b"], 2, ["B"], 2, ["β"])]
    assert merged == "a\n<<<<<<< ours\nB\n||||||| base\nb\n=======\nβ\n>>>>>>> theirs\n"


def test_crlf_is_preserved_and_markers_use_it() -> None:
    base = "one\r\ntwo\r\nthree\r\n"
    assert merge_text(base, "ONE\r\ntwo\r\nthree\r\n", "one\r\ntwo\r\nTHREE\r\n") == ("ONE\r\ntwo\r\nTHREE\r\n", [])
    merged, _ = merge_text(base, "one\r\nTWO\r\nthree\r\n", "one\r\n2\r\nthree\r\n")
    assert merged == "one\r\n<<<<<<< ours\r\nTWO\r\n||||||| base\r\ntwo\r\n=======\r\n2\r\n>>>>>>> theirs\r\nthree\r\n"


def test_a_change_of_line_ending_is_a_change() -> None:
    base = "a\nb\nc\n"
    assert merge_text(base, "a\r\nb\nc\n", "a\nb\nC\n") == ("a\r\nb\nC\n", [])


# --- merge_trees: clean ----------------------------------------------------------------------


def test_edits_in_different_files_adds_and_deletes_combine() -> None:
    base = {"a.py": b"a\n", "b.py": b"b\n", "gone.py": b"x\n", "also_gone.py": b"y\n"}
    ours = {"a.py": b"A\n", "b.py": b"b\n", "new.py": b"new\n", "also_gone.py": b"y\n"}
    theirs = {"a.py": b"a\n", "b.py": b"B\n", "gone.py": b"x\n", "data/new.bin": PNG}
    result = merge_trees(base, ours, theirs)
    assert result.clean
    assert result.files == {"a.py": b"A\n", "b.py": b"B\n", "new.py": b"new\n", "data/new.bin": PNG}


def test_same_change_both_deleted_and_same_add_are_clean() -> None:
    base = {"same.txt": b"x\n", "del.txt": b"d\n"}
    ours = theirs = {"same.txt": b"y\n", "added.bin": PNG}
    result = merge_trees(base, ours, theirs)
    assert result.clean
    assert result.files == {"same.txt": b"y\n", "added.bin": PNG}


def test_disjoint_edits_in_one_file_merge_by_line() -> None:
    base = {"m.txt": BASE.encode()}
    ours = {"m.txt": lines("ONE", "two", "three", "four", "five").encode()}
    theirs = {"m.txt": lines("one", "two", "three", "four", "FIVE").encode()}
    result = merge_trees(base, ours, theirs)
    assert result == merge_trees(base, ours, theirs, strategy="ours")
    assert result.clean and result.files["m.txt"] == lines("ONE", "two", "three", "four", "FIVE").encode()


def test_binary_changed_on_one_side_only_is_clean() -> None:
    base = {"img.png": PNG, "t.txt": b"t\n"}
    result = merge_trees(base, {"img.png": PNG + b"1", "t.txt": b"t\n"}, {"img.png": PNG, "t.txt": b"T\n"})
    assert result.clean and result.files == {"img.png": PNG + b"1", "t.txt": b"T\n"}


# --- merge_trees: conflicts ------------------------------------------------------------------


def test_content_conflict_leaves_markers_in_the_tree() -> None:
    base = {"m.txt": b"x = 1\n", "other": b"o\n"}
    result = merge_trees(base, {"m.txt": b"x = 2\n", "other": b"o\n"}, {"m.txt": b"x = 3\n", "other": b"o\n"})
    assert not result.clean
    assert result.conflicts == [
        Conflict("m.txt", "content", [ConflictHunk(1, ["x = 1\n"], 1, ["x = 2\n"], 1, ["x = 3\n"])])
    ]
    assert result.files["m.txt"] == b"<<<<<<< ours\nx = 2\n||||||| base\nx = 1\n=======\nx = 3\n>>>>>>> theirs\n"
    assert result.files["other"] == b"o\n"


def test_add_add_with_the_same_content_is_clean_and_with_different_content_conflicts() -> None:
    assert merge_trees({}, {"n.txt": b"same\n"}, {"n.txt": b"same\n"}).files == {"n.txt": b"same\n"}
    result = merge_trees({}, {"n.txt": b"keep\nours\n"}, {"n.txt": b"keep\ntheirs\n"})
    assert result.conflicts == [
        Conflict("n.txt", "add_add", [ConflictHunk(1, [], 1, ["keep\n", "ours\n"], 1, ["keep\n", "theirs\n"])])
    ]
    assert result.files["n.txt"].startswith(b"<<<<<<< ours\nkeep\nours\n||||||| base\n=======\n")


@pytest.mark.parametrize(
    ("ours", "theirs", "kind", "kept"),
    [
        ({"f.txt": b"changed\n"}, {}, "modify_delete", b"changed\n"),
        ({}, {"f.txt": b"changed\n"}, "delete_modify", b"changed\n"),
    ],
)
def test_modify_delete_keeps_the_modified_version(ours: Tree, theirs: Tree, kind: ConflictKind, kept: bytes) -> None:
    result = merge_trees({"f.txt": b"original\n"}, ours, theirs)
    assert result.conflicts == [Conflict("f.txt", kind, [])]
    assert result.files == {"f.txt": kept}


@pytest.mark.parametrize(
    ("base", "ours", "theirs"),
    [
        (PNG, PNG + b"ours", PNG + b"theirs"),
        (b"text\n", b"ours\xff\n", b"theirs\n"),  # one side not UTF-8
        (b"text\n", b"ours\x00\n", b"theirs\n"),  # NUL byte
        (None, PNG + b"ours", PNG + b"theirs"),  # added on both sides
    ],
)
def test_binary_changed_on_both_sides_conflicts_and_keeps_ours(base: bytes | None, ours: bytes, theirs: bytes) -> None:
    result = merge_trees({} if base is None else {"f": base}, {"f": ours}, {"f": theirs})
    assert result.conflicts == [Conflict("f", "binary", [])]
    assert result.files == {"f": ours}


def test_file_against_directory_is_a_type_conflict_keeping_ours_shape() -> None:
    result = merge_trees({}, {"a": b"file\n", "b/c": b"in dir\n"}, {"a/x": b"in dir\n", "b": b"file\n"})
    assert result.conflicts == [Conflict("a", "type", []), Conflict("b", "type", [])]
    assert result.files == {"a": b"file\n", "b/c": b"in dir\n"}
    theirs_wins = merge_trees({}, {"a": b"file\n"}, {"a/x": b"in dir\n", "a/y/z": b"deep\n"}, strategy="theirs")
    assert theirs_wins.clean and theirs_wins.files == {"a/x": b"in dir\n", "a/y/z": b"deep\n"}


def test_conflict_details_are_json_ready() -> None:
    result = merge_trees({"m.txt": b"1\n"}, {"m.txt": b"2\n"}, {"m.txt": b"3\n"})
    details = [conflict.to_details() for conflict in result.conflicts]
    assert json.loads(json.dumps(details)) == [
        {
            "path": "m.txt",
            "kind": "content",
            "hunks": [
                {
                    "base": {"start": 1, "lines": ["1\n"]},
                    "ours": {"start": 1, "lines": ["2\n"]},
                    "theirs": {"start": 1, "lines": ["3\n"]},
                }
            ],
        }
    ]


# --- strategies ------------------------------------------------------------------------------


def test_ours_and_theirs_resolve_each_conflicting_hunk_and_keep_the_other_changes() -> None:
    base = {"m.txt": BASE.encode()}
    ours = {"m.txt": lines("ONE", "two", "three", "four", "5").encode()}
    theirs = {"m.txt": lines("one", "two", "THREE", "four", "v").encode()}
    cases: list[tuple[Strategy, str]] = [("ours", "5"), ("theirs", "v")]
    for strategy, last in cases:
        result = merge_trees(base, ours, theirs, strategy=strategy)
        assert result.clean
        assert result.files == {"m.txt": lines("ONE", "two", "THREE", "four", last).encode()}


@pytest.mark.parametrize("strategy", ["ours", "theirs"])
def test_ours_and_theirs_take_a_whole_file_when_binary_deleted_or_clashing(strategy: Strategy) -> None:
    base = {"img": PNG, "gone": b"g\n", "kept": b"k\n"}
    ours = {"img": PNG + b"ours", "kept": b"K ours\n", "new": b"ours\n"}
    theirs = {"img": PNG + b"theirs", "gone": b"G\n", "new": b"theirs\n"}
    result = merge_trees(base, ours, theirs, strategy=strategy)
    side = ours if strategy == "ours" else theirs
    assert result.clean
    assert result.files == side


# --- merge_many ------------------------------------------------------------------------------


def test_merge_many_combines_three_branches() -> None:
    base = {"m.txt": BASE.encode(), "x": b"x\n"}
    branches = [
        {"m.txt": lines("ONE", "two", "three", "four", "five").encode(), "x": b"x\n"},
        {"m.txt": lines("one", "two", "THREE", "four", "five").encode(), "x": b"x\n", "new": b"n\n"},
        {"m.txt": lines("one", "two", "three", "four", "five", "six").encode()},
    ]
    result = merge_many(base, branches)
    assert result.clean
    assert result.files == {"m.txt": lines("ONE", "two", "THREE", "four", "five", "six").encode(), "new": b"n\n"}


def test_merge_many_reports_a_conflict_of_the_third_branch_with_the_first_two() -> None:
    base = {"m.txt": BASE.encode()}
    branches = [
        {"m.txt": lines("ONE", "two", "three", "four", "five").encode()},
        {"m.txt": lines("one", "two", "three", "four", "FIVE").encode()},
        {"m.txt": lines("1", "two", "three", "four", "five").encode()},
    ]
    result = merge_many(base, branches)
    assert result.conflicts == [Conflict("m.txt", "content", [ConflictHunk(1, ["one\n"], 1, ["ONE\n"], 1, ["1\n"])])]
    assert result.files["m.txt"].decode().endswith("=======\n1\n>>>>>>> theirs\ntwo\nthree\nfour\nFIVE\n")


def test_merge_many_order_decides_which_branch_wins_under_a_strategy() -> None:
    base = {"f": b"0\n"}
    branches = [{"f": b"1\n"}, {"f": b"2\n"}, {"f": b"3\n"}]
    assert merge_many(base, branches, strategy="ours").files == {"f": b"1\n"}
    assert merge_many(base, branches, strategy="theirs").files == {"f": b"3\n"}
    first, second = merge_many(base, branches).conflicts  # the second step sees the first one's markers
    assert (first.hunks[0].ours_lines, first.hunks[0].theirs_lines) == (["1\n"], ["2\n"])
    assert second.path == "f" and second.hunks[0].theirs_lines == ["3\n"]


def test_merge_many_of_one_branch_is_that_branch_and_of_none_an_error() -> None:
    assert merge_many({"f": b"0"}, [{"f": b"1"}]) == merge_trees({"f": b"0"}, {"f": b"1"}, {"f": b"0"})
    with pytest.raises(ValueError, match="at least one branch"):
        merge_many({}, [])


# --- properties ------------------------------------------------------------------------------

texts = st.lists(st.sampled_from(["a\n", "b\n", "c\n", "\n", "a\r\n", "é\n", "x"]), max_size=12).map("".join)
whole_lines = st.lists(st.sampled_from(["a\n", "b\n", "\n", "a\r\n"]), max_size=12).map("".join)
contents = st.one_of(texts.map(str.encode), st.sampled_from([PNG, PNG + b"!", b"\xff\xfe"]))
trees = st.dictionaries(st.sampled_from(["a", "b", "d/c", "d/e", "f.txt"]), contents, max_size=5)
PROPERTY = settings(max_examples=300, deadline=None)


@PROPERTY
@given(texts, texts)
def test_merging_a_side_with_an_unchanged_side_gives_that_side(base: str, changed: str) -> None:
    assert merge_text(base, changed, base) == (changed, [])
    assert merge_text(base, base, changed) == (changed, [])
    assert merge_text(base, changed, changed) == (changed, [])


@PROPERTY
@given(texts, texts, texts)
def test_swapping_sides_swaps_hunk_sides(base: str, ours: str, theirs: str) -> None:
    merged, hunks = merge_text(base, ours, theirs)
    swapped_merged, swapped = merge_text(base, theirs, ours)
    assert swapped == [
        ConflictHunk(h.base_start, h.base_lines, h.theirs_start, h.theirs_lines, h.ours_start, h.ours_lines)
        for h in hunks
    ]
    if not hunks:
        assert merged == swapped_merged
    assert merged.count("<<<<<<< ours") == len(hunks)


@PROPERTY
@given(whole_lines, whole_lines, texts, texts)
def test_edits_on_either_side_of_an_untouched_line_combine(head: str, new_head: str, tail: str, new_tail: str) -> None:
    middle = "untouched\n"
    merged = merge_text(head + middle + tail, new_head + middle + tail, head + middle + new_tail)
    assert merged == (new_head + middle + new_tail, [])


@PROPERTY
@given(texts, texts, texts)
def test_hunks_quote_each_version_at_their_line_numbers(base: str, ours: str, theirs: str) -> None:
    for hunk in merge_text(base, ours, theirs)[1]:
        for text, start, quoted in ((base, hunk.base_start, hunk.base_lines), (ours, hunk.ours_start, hunk.ours_lines)):
            text_lines = text.splitlines(keepends=True)
            assert text_lines[start - 1 : start - 1 + len(quoted)] == quoted


@PROPERTY
@given(trees, trees)
def test_tree_merge_with_an_unchanged_side_gives_the_other(base: Tree, changed: Tree) -> None:
    strategies: list[Strategy] = ["three_way", "ours", "theirs"]
    for strategy in strategies:
        assert merge_trees(base, changed, base, strategy=strategy).files == changed
        assert merge_trees(base, base, changed, strategy=strategy).files == changed
        assert merge_trees(base, changed, changed, strategy=strategy).files == changed


@PROPERTY
@given(trees, trees, trees)
def test_strategies_never_conflict_and_agree_with_a_clean_three_way_merge(base: Tree, ours: Tree, theirs: Tree) -> None:
    three_way = merge_trees(base, ours, theirs)
    sides: list[Strategy] = ["ours", "theirs"]
    for strategy in sides:
        result = merge_trees(base, ours, theirs, strategy=strategy)
        assert result.clean
        if three_way.clean:
            assert result.files == three_way.files
    assert [c.path for c in merge_trees(base, theirs, ours).conflicts] == [c.path for c in three_way.conflicts]
