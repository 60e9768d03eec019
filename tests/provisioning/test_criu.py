from provisioning.criu import CRIU_POOL_PATH, CRIU_TARBALL_SHA256, parse_version


def test_parse_version() -> None:
    assert parse_version("Version: 3.17.1\n") == (3, 17, 1)
    assert parse_version("Version: 4.1.1\nGitID: v4.1.1\n") == (4, 1, 1)
    assert parse_version("criu: command not found") is None


def test_tarball_is_pinned() -> None:
    assert CRIU_POOL_PATH == "pool/main/c/criu/criu_4.1.1.orig.tar.xz"
    assert len(CRIU_TARBALL_SHA256) == 64
