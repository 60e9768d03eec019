"""Key-value state with transactional overlays and typed access through the metadata."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from substrateinterface.utils.hasher import blake2_256

from localnet.scale import codec

_DELETED = None


class Overlay:
    """A layer of changes over a parent mapping; ``commit`` folds it into the parent."""

    def __init__(self, parent: Overlay | dict[bytes, bytes]) -> None:
        self.parent = parent
        self.changes: dict[bytes, bytes | None] = {}

    def get(self, key: bytes) -> bytes | None:
        if key in self.changes:
            return self.changes[key]
        return self.parent.get(key)

    def put(self, key: bytes, value: bytes) -> None:
        self.changes[key] = value

    def delete(self, key: bytes) -> None:
        self.changes[key] = _DELETED

    def child(self) -> Overlay:
        return Overlay(self)

    def commit(self) -> None:
        if isinstance(self.parent, Overlay):
            self.parent.changes.update(self.changes)
        else:
            for key, value in self.changes.items():
                if value is None:
                    self.parent.pop(key, None)
                else:
                    self.parent[key] = value
        self.changes = {}

    def keys_with_prefix(self, prefix: bytes) -> Iterator[bytes]:
        base = (
            set(self.parent.keys_with_prefix(prefix))
            if isinstance(self.parent, Overlay)
            else {k for k in self.parent if k.startswith(prefix)}
        )
        for key, value in self.changes.items():
            if key.startswith(prefix):
                if value is None:
                    base.discard(key)
                else:
                    base.add(key)
        return iter(sorted(base))

    # Typed access: values are SCALE-encoded with the storage entry's metadata type.
    def read(self, pallet: str, item: str, *keys: Any) -> Any:
        c = codec()
        raw = self.get(c.storage_key(pallet, item, *keys))
        if raw is None:
            return None
        return c.decode(c.storage_value_type(pallet, item), raw)

    def read_or(self, default: Any, pallet: str, item: str, *keys: Any) -> Any:
        value = self.read(pallet, item, *keys)
        return default if value is None else value

    def write(self, pallet: str, item: str, *keys_and_value: Any) -> None:
        c = codec()
        *keys, value = keys_and_value
        self.put(c.storage_key(pallet, item, *keys), c.encode(c.storage_value_type(pallet, item), value))

    def remove(self, pallet: str, item: str, *keys: Any) -> None:
        self.delete(codec().storage_key(pallet, item, *keys))


def state_root(state: dict[bytes, bytes]) -> bytes:
    """Not a trie root: blake2_256 over the sorted, length-prefixed key/value pairs."""
    acc = bytearray()
    for key in sorted(state):
        value = state[key]
        acc += len(key).to_bytes(4, "little") + key + len(value).to_bytes(4, "little") + value
    return bytes(blake2_256(bytes(acc)))
