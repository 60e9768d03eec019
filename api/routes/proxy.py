"""The reverse proxy to HTTP services exposed from instances: ``/proxy/{instance_id}/{name}/{path}``.

A caller is let through with an API key of the instance's account (``execute`` scope, rate
limited as usual) or the service's token (``?token=``, ``X-Service-Token``, or the cookie
that a browser's page visit with ``?token=`` gets for the service's path, so that its later
requests — assets, XHR, WebSockets — are let through too). Neither the key nor the token reaches the instance;
hop-by-hop headers are dropped and bodies stream both ways. WebSocket upgrades are bridged:
the handshake with the server inside is made over the relay, then messages flow both ways.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from http.cookies import SimpleCookie
from urllib.parse import quote, urlsplit

import httpcore
from fastapi import APIRouter, Request, Response, WebSocket, WebSocketDisconnect
from fastapi.responses import RedirectResponse, StreamingResponse
from starlette.requests import HTTPConnection
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from api.deps import NodeDep, authenticate, check_scope, key_from_headers
from api.errors import envelope, status_and_code
from api.host_routing import service_host
from service import Node
from service.endpoints import ExposedService
from service.errors import ServiceError

router = APIRouter(tags=["proxy"])

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "host",
}
CREDENTIALS = {"authorization", "x-api-key", "x-service-token"}
TOKEN_COOKIE = "faas_service_token"  # noqa: S105 (a cookie's name, no secret)
WEBSOCKET_HANDSHAKE = {
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-extensions",
    "sec-websocket-protocol",
}


def service_url(request: Request, node: Node, service: ExposedService) -> str:
    """The URL of an exposed service, token included: on its own host under ``FAAS_PROXY_DOMAIN`` when set,
    else under the proxy path of ``FAAS_PUBLIC_URL`` or the request's base."""
    base = urlsplit(node.settings.public_url or str(request.base_url))
    if node.settings.proxy_domain:
        port = f":{base.port}" if base.port else ""
        host = service_host(service.name, service.instance_id, node.settings.proxy_domain)
        return f"{base.scheme}://{host}{port}/?token={service.token}"
    path = request.app.url_path_for("proxy", instance_id=service.instance_id, name=service.name, path="")
    return f"{base.geturl().rstrip('/')}{path}?token={service.token}"


@router.api_route("/proxy/{instance_id}/{name}", methods=METHODS, include_in_schema=False)
async def proxy_root(instance_id: str, name: str, request: Request) -> Response:
    """The service's root lives under a trailing slash, so that its relative links resolve."""
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(f"{request.url.path}/{query}", status_code=307)


@router.api_route("/proxy/{instance_id}/{name}/{path:path}", methods=METHODS, include_in_schema=False, name="proxy")
async def proxy(instance_id: str, name: str, path: str, request: Request, node: NodeDep) -> Response:
    """Relay the request to the service inside the instance and stream its answer back."""
    token = _token(request)
    tenant_id = await _tenant(request, node)
    await node.endpoints.authorize(instance_id, name, tenant_id=tenant_id, token=token)
    prefix = request.app.url_path_for("proxy", instance_id=instance_id, name=name, path="")
    full = _keeps_prefix(node, instance_id, name)
    try:
        upstream = await node.endpoints.send(
            instance_id, name, request.method, _target(request, prefix, path, full=full), _headers(request, prefix),
            request.stream(),
        )  # fmt: skip
    except httpcore.TimeoutException:
        return envelope(504, "GATEWAY_TIMEOUT", f"service {name!r} did not answer in time", {"name": name})
    except (httpcore.NetworkError, httpcore.ProtocolError) as exc:
        return envelope(502, "BAD_GATEWAY", f"service {name!r} is not answering: {exc}", {"name": name})

    async def body() -> AsyncIterator[bytes]:
        try:
            async for chunk in upstream.aiter_stream():
                yield chunk
        finally:
            await upstream.aclose()

    response = StreamingResponse(body(), status_code=upstream.status)
    response.raw_headers = [(k.lower(), v) for k, v in upstream.headers if k.decode().lower() not in HOP_BY_HOP]
    if tenant_id is None and request.query_params.get("token") and request.headers.get("sec-fetch-mode") == "navigate":
        # A browser opened the URL: its next requests (assets, XHR, WebSockets) carry no ?token=, a cookie does.
        secure = request.url.scheme == "https"
        on_own_host = request.scope.get("state", {}).get("service_host", False)  # api/host_routing.py
        path = "/" if on_own_host else prefix
        response.set_cookie(TOKEN_COOKIE, token or "", path=path, httponly=True, samesite="lax", secure=secure)
    return response


@router.websocket("/proxy/{instance_id}/{name}/{path:path}")
async def proxy_websocket(websocket: WebSocket, instance_id: str, name: str, path: str) -> None:
    """Bridge a WebSocket to the service inside: same credentials as HTTP, refused before the handshake."""
    node: Node = websocket.app.state.node
    try:
        tenant_id = await _tenant(websocket, node)
        await node.endpoints.authorize(instance_id, name, tenant_id=tenant_id, token=_token(websocket))
    except ServiceError as exc:
        await _deny(websocket, _error_response(exc))
        return
    prefix = websocket.app.url_path_for("proxy", instance_id=instance_id, name=name, path="")
    target = _target(websocket, prefix, path, full=_keeps_prefix(node, instance_id, name))
    headers = [(k, v) for k, v in _headers(websocket, prefix) if k not in WEBSOCKET_HANDSHAKE and k != "origin"]
    try:
        upstream = await node.endpoints.open_websocket(
            instance_id, name, target, headers, websocket.scope["subprotocols"]
        )
    except InvalidStatus as exc:
        status = exc.response.status_code
        await _deny(websocket, envelope(502, "BAD_GATEWAY", f"service {name!r} refused the WebSocket ({status})"))
        return
    except (OSError, TimeoutError, InvalidHandshake) as exc:
        await _deny(websocket, envelope(502, "BAD_GATEWAY", f"service {name!r} is not answering: {exc}"))
        return
    async with upstream:
        await websocket.accept(subprotocol=upstream.subprotocol)
        await _bridge(websocket, upstream)


async def _bridge(client: WebSocket, upstream: ClientConnection) -> None:
    """Relay messages both ways until either side closes; then close the other with its code."""

    async def to_upstream() -> None:
        while (message := await client.receive())["type"] == "websocket.receive":
            await upstream.send(message["text"] if message.get("text") is not None else message["bytes"])
        await upstream.close(_sendable(message.get("code")))

    async def to_client() -> None:
        async for message in upstream:
            await (client.send_text(message) if isinstance(message, str) else client.send_bytes(message))
        await client.close(_sendable(upstream.close_code))

    tasks = [asyncio.create_task(to_upstream()), asyncio.create_task(to_client())]
    _, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    for task in tasks:
        # The other side going away mid-send is how a bridge ends, not an error.
        with contextlib.suppress(asyncio.CancelledError, ConnectionClosed, WebSocketDisconnect, RuntimeError):
            await task
    if any(task.cancelled() for task in pending) and client.client_state.name == "CONNECTED":
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await client.close(1001 if upstream.close_code is None else _sendable(upstream.close_code))


def _sendable(code: int | None) -> int:
    """A close code that may go in a close frame (1005, 1006 and 1015 only describe how a connection ended)."""
    return code if code is not None and 1000 <= code < 5000 and code not in (1005, 1006, 1015) else 1000


async def _deny(websocket: WebSocket, response: Response) -> None:
    """Refuse the handshake with an HTTP answer where the server can send one, else close it (403)."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(response)
    else:
        await websocket.close(code=1008)


def _error_response(exc: ServiceError) -> Response:
    status, code = status_and_code(exc)
    return envelope(status, code, exc.message, exc.details)


def _token(connection: HTTPConnection) -> str | None:
    return (
        connection.query_params.get("token")
        or connection.headers.get("x-service-token")
        or connection.cookies.get(TOKEN_COOKIE)
    )


async def _tenant(connection: HTTPConnection, node: Node) -> str | None:
    """The tenant of the API key sent, if one was (checked and counted like any API call)."""
    key = key_from_headers(connection.headers.get("authorization"), connection.headers.get("x-api-key"))
    if key is None:
        return None
    principal = await authenticate(connection, node, key)
    check_scope(principal, "execute")
    return principal.tenant_id


def _keeps_prefix(node: Node, instance_id: str, name: str) -> bool:
    service = node.endpoints.service(instance_id, name)
    return service is not None and service.keep_prefix


def _target(request: HTTPConnection, prefix: str, path: str, *, full: bool = False) -> str:
    """The path (raw, as sent; with the proxy's prefix if ``full``) and query (without ``token``) to ask for."""
    raw = request.scope.get("raw_path", b"").decode("latin-1")
    if full:
        rest = raw.lstrip("/") if raw.startswith(prefix) else (prefix + quote(path)).lstrip("/")
    else:
        rest = raw[len(prefix) :] if raw.startswith(prefix) else quote(path)
    query = "&".join(
        part for part in request.url.query.split("&") if part and part.partition("=")[0] not in ("token", "")
    )
    return "/" + rest + (f"?{query}" if query else "")


def _headers(request: HTTPConnection, prefix: str) -> list[tuple[str, str]]:
    """The caller's headers without credentials and hop-by-hop ones, plus ``X-Forwarded-*``."""
    headers = [
        (k, v)
        for k, v in request.headers.items()
        if k not in HOP_BY_HOP and k not in CREDENTIALS and (k != "cookie" or TOKEN_COOKIE not in v)
    ]
    if TOKEN_COOKIE in request.cookies and len(request.cookies) > 1:
        kept = SimpleCookie({k: v for k, v in request.cookies.items() if k != TOKEN_COOKIE})
        headers.append(("cookie", "; ".join(f"{k}={m.coded_value}" for k, m in kept.items())))
    if "transfer-encoding" in request.headers and "content-length" not in request.headers:
        headers.append(("transfer-encoding", "chunked"))
    headers += [
        ("x-forwarded-for", request.client.host if request.client else ""),
        ("x-forwarded-host", request.headers.get("host", "")),
        ("x-forwarded-proto", request.url.scheme),
        ("x-forwarded-prefix", prefix.rstrip("/")),
    ]
    return headers
