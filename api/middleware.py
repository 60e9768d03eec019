"""Plain ASGI middleware: request ids and the request-size bound (no per-request task or stream copies)."""

from __future__ import annotations

import secrets

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import body_too_large


class BodyTooLarge(Exception):
    """Raised from ``receive`` when a streamed body passes the bound (before any response is sent)."""

    def __init__(self, received: int) -> None:
        super().__init__(f"request body passed {received} bytes")
        self.received = received


class RequestContext:
    """Gives every HTTP request an id (``X-Request-ID``), puts the rate-limit headers that
    authentication recorded on every response, and refuses bodies over ``max_bytes`` early."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        request_id = headers.get(b"x-request-id", b"").decode("latin-1")[:64] or "req_" + secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = request_id
        raw_id = request_id.encode("latin-1")

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), (b"x-request-id", raw_id)]
                present = {name.lower() for name, _ in headers}
                for name, value in scope["state"].get("rate_limit_headers", {}).items():
                    if name.lower().encode() not in present:
                        headers.append((name.lower().encode(), value.encode()))
                message["headers"] = headers
            await send(message)

        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > self.max_bytes:
            await body_too_large(int(length), self.max_bytes)(scope, receive, send_with_id)
            return
        received = 0

        async def receive_bounded() -> Message:
            # A body without Content-Length (chunked) is counted as it arrives.
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # The framework may catch this while parsing; the mark lets the error say why.
                    scope["state"]["body_too_large"] = received
                    raise BodyTooLarge(received)
            return message

        try:
            await self.app(scope, receive_bounded, send_with_id)
        except BodyTooLarge as exc:
            await body_too_large(exc.received, self.max_bytes)(scope, receive, send_with_id)
