"""WebSocket streaming of executions: /stream/{execution_id} and /execute/stream (API.md's protocol)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any, NoReturn

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from api.deps import key_from_headers
from service import Forbidden, InvalidRequest, Node, Principal, ServiceError

router = APIRouter(tags=["streaming"])
POLICY_VIOLATION = 1008


@router.websocket("/stream/{execution_id}")
async def stream_execution(websocket: WebSocket, execution_id: str) -> None:
    """Follow an execution: subscribe, unsubscribe, input, resize; output, progress, error, completed."""
    await StreamSession(websocket, default_execution_id=execution_id).serve()


@router.websocket("/execute/stream")
async def stream_executions(websocket: WebSocket) -> None:
    """The same protocol; every message names its ``execution_id``."""
    await StreamSession(websocket, default_execution_id=None).serve()


class StreamSession:
    """One socket: its principal, its subscriptions, and a lock so events never interleave."""

    def __init__(self, websocket: WebSocket, *, default_execution_id: str | None) -> None:
        self.websocket = websocket
        self.default_execution_id = default_execution_id
        self.node: Node = websocket.app.state.node
        self.subscriptions: dict[str, asyncio.Task[None]] = {}
        self._send_lock = asyncio.Lock()

    async def serve(self) -> None:
        await self.websocket.accept()
        principal = await self._authenticate()
        if principal is None:
            return
        try:
            while True:
                await self._handle(principal, await self._receive())
        except WebSocketDisconnect:
            pass
        finally:
            for task in self.subscriptions.values():
                task.cancel()
            await asyncio.gather(*self.subscriptions.values(), return_exceptions=True)

    async def _authenticate(self) -> Principal | None:
        headers = self.websocket.headers
        key = key_from_headers(headers.get("authorization"), headers.get("x-api-key"))
        key = key or self.websocket.query_params.get("api_key")
        try:
            return await self.node.api_keys.authenticate(key)
        except ServiceError as exc:
            await self.websocket.close(code=POLICY_VIOLATION, reason=exc.message[:120])
            return None

    async def _receive(self) -> dict[str, Any]:
        text = await self.websocket.receive_text()
        try:
            message = json.loads(text)
        except json.JSONDecodeError:
            return {"type": "__invalid__", "reason": "message is not valid JSON"}
        return message if isinstance(message, dict) else {"type": "__invalid__", "reason": "message is not an object"}

    async def _handle(self, principal: Principal, message: dict[str, Any]) -> None:
        kind = message.get("type")
        execution_id = message.get("execution_id") or self.default_execution_id
        if kind == "__invalid__":
            await self.refuse(execution_id, message["reason"])
            return
        if not isinstance(execution_id, str):
            await self.refuse(None, "execution_id is required")
            return
        try:
            await self._dispatch(principal, str(kind), execution_id, message)
        except ServiceError as exc:
            await self.refuse(execution_id, exc.message)

    async def refuse(self, execution_id: str | None, reason: str) -> None:
        """A refused command: an ``error`` that does not end any subscription (``final: false``)."""
        await self.send({"type": "error", "execution_id": execution_id, "error": reason, "final": False})

    async def _dispatch(self, principal: Principal, kind: str, execution_id: str, message: dict[str, Any]) -> None:
        executions = self.node.executions
        needed = "read" if kind in ("subscribe", "unsubscribe") else "execute"
        if needed not in principal.scopes:
            raise Forbidden(f"this API key lacks the {needed!r} scope needed for {kind!r}")
        if kind == "subscribe":
            if execution_id not in self.subscriptions:
                self.subscriptions[execution_id] = asyncio.create_task(self._forward(principal, execution_id))
        elif kind == "unsubscribe":
            task = self.subscriptions.pop(execution_id, None)
            if task is not None:
                task.cancel()
        elif kind == "input":
            data = message.get("data", "")
            if not isinstance(data, str):
                raise_invalid("input data must be a string")
            await executions.send_input(principal.tenant_id, execution_id, data, eof=bool(message.get("eof")))
        elif kind == "resize":
            cols, rows = message.get("cols"), message.get("rows")
            if not isinstance(cols, int) or not isinstance(rows, int):
                raise_invalid("resize needs integer cols and rows")
            await executions.resize(principal.tenant_id, execution_id, cols, rows)
        else:
            raise_invalid(f"unknown message type {kind!r}; use subscribe, unsubscribe, input or resize")

    async def _forward(self, principal: Principal, execution_id: str) -> None:
        try:
            async for event in self.node.executions.events(principal.tenant_id, execution_id):
                await self.send(event)
        except ServiceError as exc:
            await self.send({"type": "error", "execution_id": execution_id, "error": exc.message})
        finally:
            self.subscriptions.pop(execution_id, None)

    async def send(self, event: dict[str, Any]) -> None:
        async with self._send_lock:
            with contextlib.suppress(WebSocketDisconnect, RuntimeError):
                await self.websocket.send_json(event)


def raise_invalid(message: str) -> NoReturn:
    raise InvalidRequest(message)
