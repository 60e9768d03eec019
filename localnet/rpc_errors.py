"""The JSON-RPC error object, as a Substrate node sends it."""

from __future__ import annotations

from typing import Any


class RpcError(Exception):
    """A JSON-RPC error object (``code``, ``message`` and, when there is one, ``data``)."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"{code}: {message}" + (f": {data}" if data is not None else ""))
        self.code = code
        self.message = message
        self.data = data

    def to_json(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error
