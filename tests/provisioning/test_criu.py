import tarfile
from pathlib import Path

import pytest

from provisioning.criu import (
    CRIU_POOL_PATH,
    CRIU_TARBALL,
    CRIU_TARBALL_SHA256,
    CRIU_VERSION,
    apply_patches,
    build_id,
    installed_build,
    parse_version,
    patch_files,
    write_stamp,
)
from provisioning.host_setup import DEFAULT_CACHE_DIR

PASSCRED_PATCH = "criu-4.1.1-sockopt-passcred-6.16.patch"


def test_parse_version() -> None:
    assert parse_version("Version: 3.17.1\n") == (3, 17, 1)
    assert parse_version("Version: 4.1.1\nGitID: v4.1.1\n") == (4, 1, 1)
    assert parse_version("criu: command not found") is None


def test_tarball_is_pinned() -> None:
    assert CRIU_POOL_PATH == "pool/main/c/criu/criu_4.1.1.orig.tar.xz"
    assert len(CRIU_TARBALL_SHA256) == 64


def test_the_passcred_patch_is_picked_for_this_version_only() -> None:
    assert [p.name for p in patch_files()] == [PASSCRED_PATCH]
    assert patch_files("4.2") == []


def test_the_patches_apply_cleanly_to_the_cached_tarball(tmp_path: Path) -> None:
    tarball = DEFAULT_CACHE_DIR / "criu" / CRIU_TARBALL
    if not tarball.exists():
        pytest.fail(f"{tarball} is missing: run `faas setup` to download it")
    with tarfile.open(tarball) as archive:
        archive.extractall(tmp_path, filter="tar")
    source = tmp_path / f"criu-{CRIU_VERSION}"
    apply_patches(source, patch_files())
    sockets = (source / "criu" / "sockets.c").read_text()
    assert "errno == EOPNOTSUPP" in sockets
    assert "soe->has_so_passcred = true;" not in sockets


def test_the_build_id_follows_the_patch_contents() -> None:
    patched = build_id("4.1.1", {"a.patch": b"one"})
    assert patched.startswith("4.1.1-") and len(patched) == len("4.1.1-") + 12
    assert build_id("4.1.1", {"a.patch": b"one"}) == patched
    assert build_id("4.1.1", {"a.patch": b"two"}) != patched
    assert build_id("4.1.1", {"a.patch": b"one", "b.patch": b""}) != patched
    assert build_id("4.1.1", {}) == "4.1.1"


def test_the_stamp_names_the_installed_build_until_the_binary_changes(tmp_path: Path) -> None:
    stamp, binary = tmp_path / "state" / "criu-build", tmp_path / "criu"
    assert installed_build(stamp, binary) is None
    binary.write_bytes(b"build one")
    write_stamp("4.1.1-aaaaaaaaaaaa", stamp, binary)
    assert installed_build(stamp, binary) == "4.1.1-aaaaaaaaaaaa"
    binary.write_bytes(b"replaced by someone else")
    assert installed_build(stamp, binary) is None
    binary.unlink()
    assert installed_build(stamp, binary) is None
    stamp.write_text("garbage\n")
    assert installed_build(stamp, binary) is None
