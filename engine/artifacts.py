"""Compiled artefacts (Go, Rust binaries) cached on the host by a hash of their sources."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from engine.languages import LanguageRuntime, program_env, program_files


def artifact_key(
    runtime: LanguageRuntime, image_id: str, code: str, files: Mapping[str, bytes], env: Mapping[str, str]
) -> str:
    """Content hash of everything that determines the built binary."""
    sources = program_files(runtime, code, files)
    material = {
        "language": runtime.name,
        "image": image_id,
        "build": list(runtime.build or ()),
        "files": {path: hashlib.sha256(data).hexdigest() for path, data in sorted(sources.items())},
        "env": dict(sorted(program_env(runtime, env).items())),
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


class ArtifactCache:
    """A directory of binaries named by their source hash, bounded in total size."""

    def __init__(self, root: Path, *, max_bytes: int = 2 * 1024**3) -> None:
        self.root = root
        self.max_bytes = max_bytes
        root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / key

    def get(self, key: str) -> bytes | None:
        path = self._path(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        os.utime(path)
        return data

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as handle:
            handle.write(data)
        os.replace(handle.name, path)
        self._evict()

    def _evict(self) -> None:
        entries = [(p.stat().st_mtime, p.stat().st_size, p) for p in self.root.glob("*/*") if p.is_file()]
        total = sum(size for _, size, _ in entries)
        for _, size, path in sorted(entries):
            if total <= self.max_bytes:
                break
            path.unlink(missing_ok=True)
            total -= size
