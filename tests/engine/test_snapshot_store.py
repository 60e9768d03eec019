"""The content-addressed snapshot store (filesystem only)."""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import SnapshotCorrupted, SnapshotError, TreeTooLarge, WorkspaceError
from engine.snapshot_store import SnapshotStore
from engine.tree_manifest import StoredTree
from engine.workspace import WorkspaceTree

BIG = os.urandom(3 << 20)


def make_tree(root: Path, *, big: bytes = BIG) -> Path:
    """A folder with what a checkpoint and a workspace hold: large and small files, links, empty dirs, modes."""
    root.mkdir()
    (root / "pages-1.img").write_bytes(big)
    (root / "core-1.img").write_bytes(b"\x00\x01core")
    (root / "empty.img").write_bytes(b"")
    (root / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (root / "run.sh").chmod(0o750)
    (root / "sub" / "deep").mkdir(parents=True)
    (root / "sub" / "deep" / "note.txt").write_text("deep")
    (root / "sub" / "secret").write_text("s")
    (root / "sub" / "secret").chmod(0o600)
    (root / "empty-dir").mkdir()
    (root / "locked-dir").mkdir(mode=0o500)
    (root / "link").symlink_to("sub/deep/note.txt")
    (root / "passwd").symlink_to("/etc/passwd")
    (root / "dangling").symlink_to("/nonexistent/target")
    return root


def snapshot_of(root: Path) -> dict[str, tuple[str, object, int]]:
    """Every entry under ``root``: kind, content (file bytes or link target) and permission bits."""
    found: dict[str, tuple[str, object, int]] = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        name = path.relative_to(root).as_posix()
        if stat.S_ISLNK(info.st_mode):
            found[name] = ("symlink", os.readlink(path), 0)
        elif stat.S_ISDIR(info.st_mode):
            found[name] = ("dir", None, stat.S_IMODE(info.st_mode))
        elif stat.S_ISFIFO(info.st_mode):
            found[name] = ("fifo", None, stat.S_IMODE(info.st_mode))
        else:
            found[name] = ("file", path.read_bytes(), stat.S_IMODE(info.st_mode))
    return found


def blob_files(store_root: Path) -> list[Path]:
    return [path for path in (store_root / "blobs").rglob("*") if path.is_file()]


def blobs(stored: StoredTree) -> dict[str, int]:
    """Digest to size of the distinct blobs a tree references (its manifest aside)."""
    return {entry.digest: entry.size for entry in stored.entries.values() if entry.digest is not None}


def blob_of(store_root: Path, content: bytes) -> Path:
    digest = hashlib.sha256(content).hexdigest()
    return store_root / "blobs" / digest[:2] / digest


@pytest.fixture
def store(tmp_path: Path) -> SnapshotStore:
    return SnapshotStore(tmp_path / "store")


def test_a_directory_round_trips_byte_for_byte_with_links_empty_dirs_and_modes(
    store: SnapshotStore, tmp_path: Path
) -> None:
    source = make_tree(tmp_path / "source")
    before = snapshot_of(source)
    stored = store.ingest_directory(source, move=False)
    assert snapshot_of(source) == before  # a copy leaves the source alone
    assert stored.checksum.startswith("sha256:") and len(stored.checksum) == 71
    assert stored.entries["passwd"].kind == "symlink" and stored.entries["empty-dir"].kind == "dir"

    target = tmp_path / "restored" / "checkpoints" / "ckpt"  # missing parents are created
    store.materialize(stored.checksum, target)
    assert snapshot_of(target) == before
    assert (target / "passwd").read_bytes() == Path("/etc/passwd").read_bytes()  # still a link, not a copy
    assert store.tree(stored.checksum) == stored
    with pytest.raises(FileExistsError):
        store.materialize(stored.checksum, target)


def test_blobs_are_read_only_and_no_temporary_file_is_left(store: SnapshotStore, tmp_path: Path) -> None:
    store.ingest_directory(make_tree(tmp_path / "source"), move=False)
    assert {stat.S_IMODE(blob.stat().st_mode) for blob in blob_files(store.root)} == {0o444}
    assert not list((store.root / "tmp").iterdir())


def test_the_same_content_gets_the_same_checksum_from_disk_and_from_memory(
    store: SnapshotStore, tmp_path: Path
) -> None:
    source = tmp_path / "source"
    (source / "dir").mkdir(parents=True)
    (source / "dir" / "a.txt").write_bytes(b"a")
    (source / "empty").mkdir()
    (source / "link").symlink_to("dir/a.txt")
    for path in (source / "dir", source / "empty"):
        path.chmod(0o755)
    (source / "dir" / "a.txt").chmod(0o644)
    in_memory = WorkspaceTree(files={"dir/a.txt": b"a"}, symlinks={"link": "dir/a.txt"}, dirs={"empty"})
    from_disk = store.ingest_directory(source, move=False)
    assert store.ingest_workspace(in_memory).checksum == from_disk.checksum
    assert store.ingest_directory(source, move=False).checksum == from_disk.checksum  # deterministic


def test_trees_sharing_content_store_it_once(store: SnapshotStore, tmp_path: Path) -> None:
    first = store.ingest_directory(make_tree(tmp_path / "first"), move=False)
    second_source = make_tree(tmp_path / "second")
    (second_source / "core-1.img").write_bytes(b"changed core")
    second = store.ingest_directory(second_source, move=False)
    assert first.checksum != second.checksum

    shared = blobs(first).keys() & blobs(second).keys()
    assert hashlib.sha256(BIG).hexdigest() in shared
    on_disk = sum(blob.stat().st_size for blob in blob_files(store.root))
    assert on_disk == first.size_bytes + second.size_bytes - sum(blobs(first)[digest] for digest in shared)
    assert len(blob_files(store.root)) == len(blobs(first) | blobs(second)) + 2  # and two manifests
    assert len(BIG) < first.size_bytes < len(BIG) + 4096
    assert store.stored_size(first.checksum) == first.size_bytes


def test_a_corrupted_blob_is_never_restored(store: SnapshotStore, tmp_path: Path) -> None:
    stored = store.ingest_directory(make_tree(tmp_path / "source"), move=False)
    blob = blob_of(store.root, BIG)
    blob.chmod(0o644)
    with blob.open("r+b") as file:
        file.seek(len(BIG) // 2)
        file.write(bytes([BIG[len(BIG) // 2] ^ 0xFF]))
    target = tmp_path / "restored"
    with pytest.raises(SnapshotCorrupted) as caught:
        store.materialize(stored.checksum, target)
    message = str(caught.value)
    assert "pages-1.img" in message and f"expected sha256:{hashlib.sha256(BIG).hexdigest()}" in message
    assert "found sha256:" in message
    assert not target.exists()  # no half-restored checkpoint is left for CRIU
    with pytest.raises(SnapshotCorrupted, match=r"pages-1\.img"):
        store.verify(stored.checksum)


def test_a_missing_blob_is_reported_as_corruption(store: SnapshotStore, tmp_path: Path) -> None:
    stored = store.ingest_directory(make_tree(tmp_path / "source"), move=False)
    blob_of(store.root, b"deep").unlink()
    with pytest.raises(SnapshotCorrupted, match=r"sub/deep/note.txt: blob sha256:\w+ is missing"):
        store.materialize(stored.checksum, tmp_path / "restored")
    assert not (tmp_path / "restored").exists()
    with pytest.raises(SnapshotCorrupted, match=r"note\.txt"):
        store.read_files(stored.checksum, max_bytes=1 << 30)


def test_a_corrupted_or_missing_manifest_is_reported(store: SnapshotStore, tmp_path: Path) -> None:
    stored = store.ingest_directory(make_tree(tmp_path / "source"), move=False)
    manifest = store.root / "blobs" / stored.checksum[7:9] / stored.checksum[7:]
    original = manifest.read_bytes()
    manifest.chmod(0o644)
    manifest.write_bytes(original.replace(b'"mode":488', b'"mode":511'))  # run.sh made world-writable
    with pytest.raises(SnapshotCorrupted, match="expected sha256:"):
        store.tree(stored.checksum)
    manifest.unlink()
    with pytest.raises(SnapshotCorrupted, match="is missing"):
        store.materialize(stored.checksum, tmp_path / "restored")
    assert not (tmp_path / "restored").exists()

    file_blob = "sha256:" + hashlib.sha256(b"deep").hexdigest()  # verifies, but is a file, not a tree
    with pytest.raises(SnapshotCorrupted, match="not a valid tree manifest"):
        store.tree(file_blob)
    with pytest.raises(SnapshotError, match="not a tree checksum"):
        store.tree("sha256:../../etc")


def test_moving_a_directory_empties_it(store: SnapshotStore, tmp_path: Path) -> None:
    source = make_tree(tmp_path / "source")
    before = snapshot_of(source)
    stored = store.ingest_directory(source, move=True)
    assert source.is_dir() and not list(source.iterdir())
    store.materialize(stored.checksum, tmp_path / "restored")
    assert snapshot_of(tmp_path / "restored") == before
    assert {stat.S_IMODE(blob.stat().st_mode) for blob in blob_files(store.root)} == {0o444}


@pytest.fixture
def other_filesystem(tmp_path: Path) -> Iterator[Path]:
    """A folder on another filesystem than ``tmp_path`` (the /dev/shm tmpfs)."""
    folder = Path(tempfile.mkdtemp(dir="/dev/shm"))
    assert folder.stat().st_dev != tmp_path.stat().st_dev
    yield folder
    shutil.rmtree(folder)


def test_moving_from_another_filesystem_copies(store: SnapshotStore, tmp_path: Path, other_filesystem: Path) -> None:
    source = make_tree(other_filesystem / "source")
    before = snapshot_of(source)
    stored = store.ingest_directory(source, move=True)
    assert not list(source.iterdir())
    store.materialize(stored.checksum, tmp_path / "restored")
    assert snapshot_of(tmp_path / "restored") == before


def test_moving_falls_back_to_copying_when_a_rename_crosses_mounts(
    store: SnapshotStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = make_tree(tmp_path / "source")
    before = snapshot_of(source)
    real_rename = os.rename

    # Two mounts of one filesystem (a bind mount of Docker's root, say) share st_dev, so the
    # store tries rename(2), which fails with EXDEV between them; tmp_path is one mount: simulate it.
    def rename(src: str | Path, dst: str | Path) -> None:
        if Path(src).is_relative_to(source):
            raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    stored = store.ingest_directory(source, move=True)
    monkeypatch.undo()
    assert not list(source.iterdir())
    store.materialize(stored.checksum, tmp_path / "restored")
    assert snapshot_of(tmp_path / "restored") == before
    assert not list((store.root / "tmp").iterdir())


def test_special_files_are_refused_before_anything_moves(store: SnapshotStore, tmp_path: Path) -> None:
    source = make_tree(tmp_path / "source")
    os.mkfifo(source / "sub" / "pipe")
    before = snapshot_of(source)
    with pytest.raises(SnapshotError, match="pipe: not a regular file, directory or symlink"):
        store.ingest_directory(source, move=True)
    assert snapshot_of(source) == before
    with pytest.raises(SnapshotError, match="not a directory"):
        store.ingest_directory(source / "run.sh", move=False)


def test_garbage_collection_keeps_live_trees_and_frees_the_rest(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path / "store", gc_grace_s=0)
    kept = store.ingest_directory(make_tree(tmp_path / "kept"), move=False)
    dropped_source = make_tree(tmp_path / "dropped", big=os.urandom(1 << 20))
    dropped = store.ingest_directory(dropped_source, move=False)
    (store.root / "tmp" / "crashed-ingest").write_bytes(b"x" * 100)

    freed = store.collect_garbage([kept.checksum])
    shared = sum(size for digest, size in blobs(dropped).items() if digest in blobs(kept))
    assert freed == dropped.size_bytes - shared + 100

    store.verify(kept.checksum)
    store.materialize(kept.checksum, tmp_path / "restored")
    assert snapshot_of(tmp_path / "restored") == snapshot_of(tmp_path / "kept")
    with pytest.raises(SnapshotCorrupted):
        store.tree(dropped.checksum)
    assert store.collect_garbage([kept.checksum]) == 0
    assert store.collect_garbage([]) == kept.size_bytes
    assert blob_files(store.root) == []


def test_a_tree_just_ingested_survives_collection_until_its_caller_records_it(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path / "store")  # default grace period
    fresh = store.ingest_directory(make_tree(tmp_path / "source"), move=False)
    assert store.collect_garbage([]) == 0
    store.verify(fresh.checksum)


def test_collection_deletes_nothing_when_a_live_tree_is_unreadable(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path / "store", gc_grace_s=0)
    live = store.ingest_directory(make_tree(tmp_path / "source"), move=False)
    store.ingest_workspace(WorkspaceTree(files={"other": b"other"}))
    before = blob_files(store.root)
    (store.root / "blobs" / live.checksum[7:9] / live.checksum[7:]).unlink()
    with pytest.raises(SnapshotCorrupted):
        store.collect_garbage([live.checksum])
    assert len(blob_files(store.root)) == len(before) - 1


def test_reading_files_is_bounded(store: SnapshotStore) -> None:
    stored = store.ingest_workspace(WorkspaceTree(files={"a": b"12345", "b/c": b"678"}, symlinks={"l": "a"}))
    assert store.read_files(stored.checksum, max_bytes=8) == {"a": b"12345", "b/c": b"678"}
    with pytest.raises(TreeTooLarge, match="more than 7") as caught:
        store.read_files(stored.checksum, max_bytes=7)
    assert caught.value.limit == 7


def test_malformed_in_memory_trees_are_refused(store: SnapshotStore) -> None:
    for tree in (
        WorkspaceTree(files={"../escape": b""}),
        WorkspaceTree(files={"/abs": b""}),
        WorkspaceTree(files={"a//b": b""}),
        WorkspaceTree(files={"a": b"", "a/b": b""}),
        WorkspaceTree(files={"a": b""}, symlinks={"a": "b"}),
        WorkspaceTree(symlinks={"l": "x"}, dirs={"l/sub"}),
    ):
        with pytest.raises(WorkspaceError):
            store.ingest_workspace(tree)


def test_set_id_bits_are_never_stored(store: SnapshotStore, tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    (source / "tool").write_bytes(b"binary")
    (source / "tool").chmod(0o4755)
    stored = store.ingest_directory(source, move=False)
    assert stored.entries["tool"].mode == 0o755
    in_memory = store.ingest_workspace(WorkspaceTree(files={"tool": b"binary"}, modes={"tool": 0o6755}))
    assert in_memory.entries["tool"].mode == 0o755


_NAME = st.text(
    alphabet=st.characters(blacklist_characters="/\0", blacklist_categories=("Cs",)), min_size=1, max_size=6
).filter(lambda name: name not in (".", ".."))
_PATH = st.lists(_NAME, min_size=1, max_size=3).map("/".join)


@st.composite
def workspace_trees(draw: st.DrawFn) -> WorkspaceTree:
    paths = draw(st.lists(_PATH, max_size=12, unique=True))
    # A path cannot be a leaf and hold entries: keep the leaves that are no other path's parent.
    leaves = [path for path in paths if not any(other.startswith(path + "/") for other in paths)]
    kinds = draw(st.lists(st.sampled_from(["file", "symlink", "dir"]), min_size=len(leaves), max_size=len(leaves)))
    tree = WorkspaceTree()
    for path, kind in zip(leaves, kinds, strict=True):
        if kind == "file":
            tree.files[path] = draw(st.binary(max_size=64))
            tree.modes[path] = draw(st.sampled_from([0o644, 0o600, 0o755, 0o444]))
        elif kind == "symlink":
            tree.symlinks[path] = draw(_PATH | st.just("/etc/passwd"))
        else:
            tree.dirs.add(path)
    return tree


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tree=workspace_trees())
def test_in_memory_trees_round_trip(store: SnapshotStore, tree: WorkspaceTree) -> None:
    stored = store.ingest_workspace(tree)
    assert store.read_files(stored.checksum, max_bytes=1 << 20) == tree.files
    loaded = store.load_workspace(stored.checksum, max_bytes=1 << 20)
    assert loaded.files == tree.files and loaded.symlinks == tree.symlinks
    assert loaded.dirs == {path for path, kind in tree.kinds().items() if kind == "dir"}
    assert all(loaded.modes[path] == mode for path, mode in tree.modes.items())
    assert store.ingest_workspace(loaded).checksum == stored.checksum
