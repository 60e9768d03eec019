"""In-process memory of recent cached-mode results, bounded by size (the database stays the truth)."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

Row = dict[str, Any]


def _size(row: Row) -> int:
    return len(row.get("stdout", "")) + len(row.get("stderr", "")) + 1024


class ResultCache:
    """LRU of original executions' column values by (tenant, cache key)."""

    def __init__(self, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._rows: OrderedDict[tuple[str, str], Row] = OrderedDict()
        self._bytes = 0

    def get(self, tenant_id: str, cache_key: str) -> Row | None:
        row = self._rows.get((tenant_id, cache_key))
        if row is not None:
            self._rows.move_to_end((tenant_id, cache_key))
        return row

    def put(self, tenant_id: str, cache_key: str, row: Row) -> None:
        key = (tenant_id, cache_key)
        if key in self._rows:
            self._bytes -= _size(self._rows.pop(key))
        if _size(row) > self.max_bytes:
            return
        self._rows[key] = row
        self._bytes += _size(row)
        while self._bytes > self.max_bytes:
            _, evicted = self._rows.popitem(last=False)
            self._bytes -= _size(evicted)

    def __len__(self) -> int:
        return len(self._rows)
