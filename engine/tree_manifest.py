"""Tree manifests of the snapshot store: entries, canonical encoding, checksums."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from engine.errors import SnapshotError
from engine.workspace import DEFAULT_MODES, PERMISSION_BITS, Kind, is_normal_path

PREFIX = "sha256:"
MANIFEST_FORMAT = "faas-tree/1"
HEX_DIGEST = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class TreeEntry:
    """One path of a tree; ``digest`` (sha256 hex of the content) is None for a directory."""

    kind: Kind
    digest: str | None
    size: int
    mode: int


@dataclass(frozen=True)
class StoredTree:
    """A tree in the store: its ``sha256:`` checksum, entries, and bytes stored for it (deduplicated)."""

    checksum: str
    entries: Mapping[str, TreeEntry]
    size_bytes: int


def encode_manifest(entries: Mapping[str, TreeEntry]) -> bytes:
    """The canonical manifest: sorted compact JSON, non-ASCII escaped (so any file name round-trips)."""
    rows = [
        {"path": path, "kind": entry.kind, "digest": entry.digest, "size": entry.size, "mode": entry.mode}
        for path, entry in sorted(entries.items())
    ]
    return json.dumps({"format": MANIFEST_FORMAT, "entries": rows}, sort_keys=True, separators=(",", ":")).encode()


def decode_manifest(data: bytes) -> dict[str, TreeEntry]:
    """The entries of a manifest, checked: valid paths and digests, every parent a directory.

    Raises:
        ValueError: ``data`` is not a well-formed tree manifest.
    """
    document = json.loads(data)
    if document.get("format") != MANIFEST_FORMAT:
        raise ValueError(f"not a {MANIFEST_FORMAT} manifest")
    entries: dict[str, TreeEntry] = {}
    for row in document["entries"]:
        kind, digest = row["kind"], row["digest"]
        if kind not in DEFAULT_MODES or (kind == "dir") != (digest is None):
            raise ValueError(f"bad entry {row!r}")
        if digest is not None and not HEX_DIGEST.fullmatch(digest):
            raise ValueError(f"bad digest in {row!r}")
        entries[row["path"]] = TreeEntry(kind, digest, int(row["size"]), int(row["mode"]) & PERMISSION_BITS)
    for path in entries:
        if not is_normal_path(path):
            raise ValueError(f"bad path {path!r}")
        parent = path.rpartition("/")[0]
        if parent and (parent not in entries or entries[parent].kind != "dir"):
            raise ValueError(f"{path!r} has no parent directory in the manifest")
    return entries


def digest_of(checksum: str) -> str:
    """The hex digest of a ``sha256:`` tree checksum."""
    digest = checksum.removeprefix(PREFIX)
    if not checksum.startswith(PREFIX) or not HEX_DIGEST.fullmatch(digest):
        raise SnapshotError(f"not a tree checksum: {checksum!r}")
    return digest


def stored_tree(checksum: str, manifest: bytes, entries: Mapping[str, TreeEntry]) -> StoredTree:
    """The tree with its stored size: the manifest and each distinct blob once."""
    blobs = {entry.digest: entry.size for entry in entries.values() if entry.digest is not None}
    return StoredTree(checksum, entries, len(manifest) + sum(blobs.values()))
