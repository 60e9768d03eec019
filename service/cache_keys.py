"""Content hash of everything that determines a cached execution's result (pure)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from engine import Resources


def execution_cache_key(
    *,
    language: str,
    code: str,
    files: Mapping[str, bytes],
    env: Mapping[str, str],
    stdin: str | None,
    resources: Resources,
    image_id: str,
) -> str:
    material = {
        "language": language,
        "code": hashlib.sha256(code.encode()).hexdigest(),
        "files": {path: hashlib.sha256(data).hexdigest() for path, data in sorted(files.items())},
        "env": dict(sorted(env.items())),
        "stdin": stdin,
        "resources": [resources.cpu_cores, resources.memory_mb, resources.timeout_ms],
        "image": image_id,
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()
