"""Executions while they run: their event history, subscribers, and a handle on the program.

Events are the WebSocket protocol's server messages (``output``, ``progress``,
``error``, ``completed``) as plain dicts. A subscriber first receives the history,
then live events, and its stream ends after the final event.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from engine import Interaction
from service.records import ExecutionRecord

Event = dict[str, Any]
FINAL_EVENTS = ("completed", "error")
KEEP_FINISHED_S = 120.0
"""How long a finished execution stays replayable from memory (afterwards it is replayed from the store)."""


@dataclass
class LiveExecution:
    """One execution that is running (or just finished) in this process."""

    execution_id: str
    tenant_id: str
    interaction: Interaction = field(default_factory=Interaction)
    history: list[Event] = field(default_factory=list)
    finished_at: float | None = None
    running_record: ExecutionRecord | None = None
    """What GET /executions/{id} answers while it runs (started without waiting)."""
    _subscribers: set[asyncio.Queue[Event]] = field(default_factory=set)

    @property
    def finished(self) -> bool:
        return self.finished_at is not None

    def publish(self, event: Event) -> None:
        event = {"execution_id": self.execution_id, **event}
        self.history.append(event)
        if event["type"] in FINAL_EVENTS:
            self.finished_at = time.monotonic()
        for queue in self._subscribers:
            queue.put_nowait(event)

    async def events(self) -> AsyncIterator[Event]:
        """History first, then live events, until the final event."""
        queue: asyncio.Queue[Event] = asyncio.Queue()
        for event in self.history:
            queue.put_nowait(event)
        if not self.finished:
            self._subscribers.add(queue)
        try:
            while True:
                event = await queue.get()
                yield event
                if event["type"] in FINAL_EVENTS:
                    return
        finally:
            self._subscribers.discard(queue)


class LiveExecutions:
    """Registry of this process's live executions, by id."""

    def __init__(self) -> None:
        self._live: dict[str, LiveExecution] = {}

    def open(self, execution_id: str, tenant_id: str) -> LiveExecution:
        self._forget_old()
        live = LiveExecution(execution_id=execution_id, tenant_id=tenant_id)
        self._live[execution_id] = live
        return live

    def get(self, tenant_id: str, execution_id: str) -> LiveExecution | None:
        live = self._live.get(execution_id)
        return live if live is not None and live.tenant_id == tenant_id else None

    def running(self, tenant_id: str) -> list[LiveExecution]:
        return [live for live in self._live.values() if live.tenant_id == tenant_id and not live.finished]

    def running_count(self, tenant_id: str) -> int:
        return len(self.running(tenant_id))

    def _forget_old(self) -> None:
        cutoff = time.monotonic() - KEEP_FINISHED_S
        for execution_id in [i for i, live in self._live.items() if live.finished_at and live.finished_at < cutoff]:
            del self._live[execution_id]
