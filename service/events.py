"""Turning a run's engine callbacks into the stream's events, and the records around them."""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from datetime import UTC, datetime

from engine import Program, Resources
from engine.models import Phase
from service.live import LiveExecution
from service.records import ExecutionRecord
from service.requests import ExecutionRequest

PHASE_PROGRESS: dict[Phase, tuple[float, str]] = {"build": (0.1, "compiling"), "run": (0.5, "running")}


@dataclass(frozen=True)
class PreparedExecution:
    """A validated request, ready for the engine."""

    mode: str
    program: Program
    cache_key: str | None
    request: ExecutionRequest


def running_record(execution_id: str, request: ExecutionRequest, resources: Resources) -> ExecutionRecord:
    """What an execution looks like before it finishes."""
    return ExecutionRecord(
        execution_id=execution_id,
        language=request.language,
        mode=request.mode,
        status="running",
        exit_code=None,
        stdout="",
        stderr="",
        truncated=False,
        oom_killed=False,
        duration_ms=0,
        cached=False,
        cached_from=None,
        build_cached=False,
        cpu_seconds=0.0,
        memory_peak_bytes=0,
        cost_compute=0.0,
        cost_total=0.0,
        error=None,
        created_at=datetime.now(UTC),
        finished_at=None,
        timeout_ms=resources.timeout_ms,
    )


def replay_events(record: ExecutionRecord) -> list[dict[str, object]]:
    """The events a finished execution's subscriber gets from its stored record."""
    events: list[dict[str, object]] = [
        {"type": "output", "execution_id": record.execution_id, "stream": stream, "data": text}
        for stream, text in (("stdout", record.stdout), ("stderr", record.stderr))
        if text
    ]
    if record.status == "timeout" or record.exit_code is None:
        events.append({"type": "error", "execution_id": record.execution_id, "error": record.error or "failed"})
    else:
        events.append({"type": "completed", "execution_id": record.execution_id, "exit_code": record.exit_code})
    return events


class EventPublisher:
    """Publishes output (as text, UTF-8 decoded across chunk boundaries), progress and the final event."""

    def __init__(self, live: LiveExecution) -> None:
        self.live = live
        self._decoders = {
            stream: codecs.getincrementaldecoder("utf-8")(errors="replace") for stream in ("stdout", "stderr")
        }

    async def output(self, stream: str, data: bytes) -> None:
        text = self._decoders[stream].decode(data)
        if text:
            self.live.publish({"type": "output", "stream": stream, "data": text})

    async def phase(self, phase: Phase) -> None:
        progress, message = PHASE_PROGRESS[phase]
        self.live.publish({"type": "progress", "progress": progress, "message": message})

    def finish(self, record: ExecutionRecord) -> None:
        for stream, decoder in self._decoders.items():
            rest = decoder.decode(b"", final=True)
            if rest:
                self.live.publish({"type": "output", "stream": stream, "data": rest})
        if record.status == "timeout" or record.exit_code is None:
            self.live.publish({"type": "error", "error": record.error or "execution failed"})
            return
        if record.error == "compilation failed":
            # The compiler's messages were not streamed (only the program's output is); send them now.
            for stream, text in (("stdout", record.stdout), ("stderr", record.stderr)):
                if text:
                    self.live.publish({"type": "output", "stream": stream, "data": text})
        self.live.publish({"type": "progress", "progress": 1.0, "message": "finished"})
        self.live.publish({"type": "completed", "exit_code": record.exit_code})
