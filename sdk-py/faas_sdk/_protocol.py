"""The wire format, as pure functions: REST requests and responses, WebSocket messages.

Both clients (async and the generated sync one) only do I/O around these.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

from faas_sdk._exceptions import STATUS_CODES, FaaSConnectionError, FaaSError, error_from_envelope
from faas_sdk._models import (
    CompletedEvent,
    Cost,
    ErrorEvent,
    ExecutionResult,
    ExecutionStatus,
    Language,
    Mode,
    OutputEvent,
    ProgressEvent,
    Resources,
    StreamEvent,
    Usage,
)
from faas_sdk._retry import is_idempotent
from faas_sdk._version import __version__

DEFAULT_ENDPOINT = "http://127.0.0.1:8080"
POLICY_VIOLATION = 1008
API_PREFIX = "/api/v1"
# An execution may run for minutes (the server allows up to 300 s plus a build); connecting may not.
DEFAULT_TIMEOUT = httpx.Timeout(360.0, connect=10.0)


@dataclass(frozen=True)
class Connection:
    """Where and as whom to talk to the API."""

    base_url: str
    api_key: str

    @classmethod
    def from_options(cls, api_key: str | None, endpoint: str | None) -> Connection:
        """Resolve the options against ``FAAS_API_KEY`` and ``FAAS_ENDPOINT``."""
        key = api_key if api_key is not None else os.environ.get("FAAS_API_KEY")
        if not key:
            raise ValueError("no API key: pass api_key= or set FAAS_API_KEY")
        return cls(base_url=api_base_url(endpoint or os.environ.get("FAAS_ENDPOINT") or DEFAULT_ENDPOINT), api_key=key)

    def headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.api_key}",
            "Accept": "application/json",
            "User-Agent": f"faas-sdk-python/{__version__}",
        }


def api_base_url(endpoint: str) -> str:
    """``http://host:8080`` (or ``.../api/v1``) → ``http://host:8080/api/v1``."""
    base = endpoint.rstrip("/")
    return base if base.endswith(API_PREFIX) else base + API_PREFIX


def encode_files(files: Mapping[str, bytes | str]) -> dict[str, str]:
    """Input files as the API wants them: path → base64 (text is encoded as UTF-8)."""
    return {
        path: base64.b64encode(content.encode() if isinstance(content, str) else content).decode("ascii")
        for path, content in files.items()
    }


def execute_body(
    code: str,
    language: str,
    *,
    mode: str | None = None,
    resources: Resources | None = None,
    env_vars: Mapping[str, str] | None = None,
    files: Mapping[str, bytes | str] | None = None,
    stdin: str | None = None,
    async_: bool = False,
    interactive: bool = False,
    tty: bool = False,
    instance_id: str | None = None,
    snapshot_id: str | None = None,
    branch_id: str | None = None,
) -> dict[str, Any]:
    """The JSON body of ``POST /execute``; options left at None or False are not sent.

    Without ``mode`` the server infers it: persistent with ``instance_id``, branched with
    ``branch_id``, ephemeral otherwise.
    """
    body = without_none(
        code=code,
        language=language,
        mode=mode,
        resources=dict(resources) if resources is not None else None,
        env_vars=dict(env_vars) if env_vars is not None else None,
        files=encode_files(files) if files is not None else None,
        stdin=stdin,
        instance_id=instance_id,
        snapshot_id=snapshot_id,
        branch_id=branch_id,
    )
    flags = {"async": async_, "interactive": interactive, "tty": tty}
    return body | {flag: True for flag, on in flags.items() if on}


def without_none(**fields: Any) -> dict[str, Any]:
    """A JSON body or query of the given fields, leaving out those that are None."""
    return {name: value for name, value in fields.items() if value is not None}


def build_request(
    connection: Connection,
    method: str,
    *path: str,
    body: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
) -> httpx.Request:
    """A request to the API; each path segment is percent-encoded (an id cannot change the route)."""
    url = connection.base_url + "".join(f"/{quote(segment, safe='')}" for segment in path)
    return httpx.Request(method, url, json=body, params=params, headers=connection.headers())


def error_from_response(response: httpx.Response) -> FaaSError:
    """The typed error of a non-2xx response."""
    try:
        body: object = response.json()
    except ValueError:
        body = None
    return error_from_envelope(response.status_code, body, headers=dict(response.headers), text=response.text)


def connection_error(exc: Exception, method: str, url: str) -> FaaSConnectionError:
    """A transport failure in words a user can act on."""
    hint = ""
    if isinstance(exc, httpx.ReadTimeout) and not is_idempotent(method):
        hint = "; the server may have acted on it anyway: it is not retried automatically"
    return FaaSConnectionError(f"{method} {url} failed: {type(exc).__name__}: {exc}{hint}")


def parse_execution(body: Mapping[str, Any]) -> ExecutionResult:
    """An ``ExecutionOut`` JSON object as a dataclass (lenient about fields a running execution lacks)."""
    cost = body.get("cost") or {}
    usage = body.get("usage") or {}
    return ExecutionResult(
        execution_id=str(body["execution_id"]),
        status=cast(ExecutionStatus, body["status"]),
        exit_code=body.get("exit_code"),
        stdout=body.get("stdout") or "",
        stderr=body.get("stderr") or "",
        duration_ms=int(body.get("duration_ms") or 0),
        mode=cast(Mode, body.get("mode", "ephemeral")),
        cached=bool(body.get("cached", False)),
        cost=Cost(compute=float(cost.get("compute", 0.0)), total=float(cost.get("total", 0.0))),
        language=cast(Language | None, body.get("language")),
        truncated=bool(body.get("truncated", False)),
        oom_killed=bool(body.get("oom_killed", False)),
        error=body.get("error"),
        cached_from=body.get("cached_from"),
        build_cached=bool(body.get("build_cached", False)),
        usage=Usage(
            cpu_seconds=float(usage.get("cpu_seconds", 0.0)),
            memory_peak_bytes=int(usage.get("memory_peak_bytes", 0)),
        ),
        created_at=optional_datetime(body.get("created_at")),
        finished_at=optional_datetime(body.get("finished_at")),
        instance_id=body.get("instance_id"),
        snapshot_id=body.get("snapshot_id"),
        branch_id=body.get("branch_id"),
    )


def parse_datetime(value: str) -> datetime:
    """An ISO 8601 instant as the API writes it (``Z`` or an offset)."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def optional_datetime(value: object) -> datetime | None:
    return parse_datetime(value) if isinstance(value, str) else None


# WebSocket protocol (API.md, "WebSocket Protocol" and "WebSocket Events").


def stream_url(connection: Connection, execution_id: str) -> str:
    """``http(s)://host/api/v1`` → ``ws(s)://host/api/v1/stream/{execution_id}``."""
    parts = urlsplit(connection.base_url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    path = f"{parts.path}/stream/{quote(execution_id, safe='')}"
    return urlunsplit((scheme, parts.netloc, path, "", ""))


def subscribe_message(execution_id: str) -> str:
    return json.dumps({"type": "subscribe", "execution_id": execution_id})


def unsubscribe_message(execution_id: str) -> str:
    return json.dumps({"type": "unsubscribe", "execution_id": execution_id})


def input_message(execution_id: str, data: str, *, eof: bool = False) -> str:
    message: dict[str, Any] = {"type": "input", "execution_id": execution_id, "data": data}
    if eof:
        message["eof"] = True
    return json.dumps(message)


def resize_message(execution_id: str, cols: int, rows: int) -> str:
    return json.dumps({"type": "resize", "execution_id": execution_id, "cols": cols, "rows": rows})


def parse_stream_message(raw: str | bytes, execution_id: str) -> StreamEvent | None:
    """A server message as an event; None for messages this SDK does not know (forward compatibility)."""
    message = json.loads(raw)
    if not isinstance(message, dict):
        return None
    kind = message.get("type")
    exec_id = str(message.get("execution_id") or execution_id)
    if kind == "output":
        stream: Literal["stdout", "stderr"] = "stderr" if message.get("stream") == "stderr" else "stdout"
        return OutputEvent(execution_id=exec_id, stream=stream, data=str(message.get("data", "")))
    if kind == "progress":
        progress = message.get("progress")
        return ProgressEvent(
            execution_id=exec_id,
            progress=float(progress) if isinstance(progress, int | float) else None,
            message=message.get("message"),
        )
    if kind == "completed":
        return CompletedEvent(execution_id=exec_id, exit_code=message.get("exit_code"))
    if kind == "error":
        return ErrorEvent(
            execution_id=exec_id,
            error=str(message.get("error") or "execution failed"),
            final=message.get("final") is not False,
        )
    return None


def is_final(event: StreamEvent) -> bool:
    """The stream ends after ``completed`` or a final ``error``."""
    return event.type == "completed" or (isinstance(event, ErrorEvent) and event.final)


def handshake_error(status_code: int, body: bytes, headers: Mapping[str, str]) -> FaaSError:
    """The typed error of a refused WebSocket handshake (same table as REST)."""
    text = body.decode("utf-8", "replace")
    try:
        envelope: object = json.loads(text)
    except ValueError:
        envelope = None
    return error_from_envelope(status_code, envelope, headers=dict(headers), text=text)


def stream_closed_error(code: int | None, reason: str) -> FaaSError:
    """The error for a stream the server closed before ``completed``/``error``.

    Close codes 4400-4599 are read as 4000 + an HTTP status (4401 unauthorized, 4404 not found);
    1008 (policy violation) is how the server refuses an API key after the handshake.
    """
    if code == POLICY_VIOLATION:
        return error_from_envelope(401, None, text=reason or "the server refused the API key")
    if code is not None and 4400 <= code < 4600 and (code - 4000) in STATUS_CODES:
        return error_from_envelope(code - 4000, None, text=reason)
    why = f"code {code}: {reason or 'no reason'}"
    return FaaSConnectionError(f"the stream closed before the execution completed ({why})")
