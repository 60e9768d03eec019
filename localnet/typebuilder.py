"""A small builder for a scale-info ``PortableRegistry`` in the dict shape scalecodec encodes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Field = tuple[str | None, int, str | None]


class TypeBuilder:
    """Allocates portable type ids; identical definitions are shared like scale-info does."""

    def __init__(self) -> None:
        self.types: list[dict[str, Any]] = []
        self._seen: dict[str, int] = {}

    def _add(self, key: str, path: list[str], params: list[tuple[str, int | None]], tdef: dict[str, Any]) -> int:
        if key in self._seen:
            return self._seen[key]
        type_id = len(self.types)
        self.types.append(
            {
                "id": type_id,
                "type": {
                    "path": path,
                    "params": [{"name": n, "type": t} for n, t in params],
                    "def": tdef,
                    "docs": [],
                },
            }
        )
        self._seen[key] = type_id
        return type_id

    def reserve(self, key: str) -> int:
        """Reserve an id for a type defined later (needed for recursive types)."""
        type_id = len(self.types)
        self.types.append({"id": type_id, "type": {}})
        self._seen[key] = type_id
        return type_id

    def fill(self, type_id: int, path: list[str], tdef: dict[str, Any]) -> None:
        self.types[type_id]["type"] = {"path": path, "params": [], "def": tdef, "docs": []}

    def prim(self, name: str) -> int:
        return self._add(f"prim:{name}", [], [], {"primitive": name})

    def seq(self, inner: int) -> int:
        return self._add(f"seq:{inner}", [], [], {"sequence": {"type": inner}})

    def array(self, length: int, inner: int) -> int:
        return self._add(f"arr:{length}:{inner}", [], [], {"array": {"len": length, "type": inner}})

    def tup(self, *items: int) -> int:
        return self._add(f"tup:{items}", [], [], {"tuple": list(items)})

    def compact(self, inner: int) -> int:
        return self._add(f"compact:{inner}", [], [], {"compact": {"type": inner}})

    def option(self, inner: int) -> int:
        variants = [self.variant_def("None", 0, []), self.variant_def("Some", 1, [(None, inner, None)])]
        return self._add(f"opt:{inner}", ["Option"], [("T", inner)], {"variant": {"variants": variants}})

    @staticmethod
    def fields(items: Sequence[Field]) -> list[dict[str, Any]]:
        return [{"name": n, "type": t, "typeName": tn, "docs": []} for n, t, tn in items]

    def variant_def(self, name: str, index: int, fields: Sequence[Field]) -> dict[str, Any]:
        return {"name": name, "fields": self.fields(fields), "index": index, "docs": []}

    def composite(
        self, path: str, fields: list[Field], params: list[tuple[str, int | None]] | None = None, key: str = ""
    ) -> int:
        return self._add(
            f"comp:{path}:{key}", path.split("::"), params or [], {"composite": {"fields": self.fields(fields)}}
        )

    def variant(
        self,
        path: str,
        variants: Sequence[tuple[str, int, Sequence[Field]]],
        params: list[tuple[str, int | None]] | None = None,
        key: str = "",
    ) -> int:
        defs = [self.variant_def(n, i, f) for n, i, f in variants]
        return self._add(f"var:{path}:{key}", path.split("::"), params or [], {"variant": {"variants": defs}})

    def simple_enum(self, path: str, names: list[str]) -> int:
        return self.variant(path, [(n, i, []) for i, n in enumerate(names)])
