import os
from pathlib import Path

from engine.artifacts import ArtifactCache, artifact_key
from engine.languages import RUNTIMES

GO = RUNTIMES["go"]


def test_key_depends_on_every_source_and_the_image() -> None:
    base = artifact_key(GO, "sha256:1", "package main", {"a.go": b"x"}, {})
    assert base == artifact_key(GO, "sha256:1", "package main", {"a.go": b"x"}, {})
    assert base != artifact_key(GO, "sha256:2", "package main", {"a.go": b"x"}, {})
    assert base != artifact_key(GO, "sha256:1", "package main ", {"a.go": b"x"}, {})
    assert base != artifact_key(GO, "sha256:1", "package main", {"a.go": b"y"}, {})
    assert base != artifact_key(GO, "sha256:1", "package main", {"a.go": b"x"}, {"CGO_ENABLED": "1"})


def test_cache_round_trip_and_eviction(tmp_path: Path) -> None:
    cache = ArtifactCache(tmp_path, max_bytes=10)
    assert cache.get("ab" * 32) is None
    cache.put("ab" * 32, b"123456")
    assert cache.get("ab" * 32) == b"123456"
    os.utime(tmp_path / "ab" / ("ab" * 32), (1, 1))  # make it the oldest
    cache.put("cd" * 32, b"789012")
    assert cache.get("ab" * 32) is None
    assert cache.get("cd" * 32) == b"789012"
