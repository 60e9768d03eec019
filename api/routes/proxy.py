"""The reverse proxy to HTTP services exposed from instances: ``/proxy/{instance_id}/{name}/{path}``.

A caller is let through with an API key of the instance's account (``execute`` scope, rate
limited as usual) or the service's token (``?token=`` or ``X-Service-Token``). Neither the
key nor the token reaches the instance; hop-by-hop headers are dropped and bodies stream
both ways. WebSocket upgrades are not relayed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import quote

import httpcore
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse, StreamingResponse

from api.deps import NodeDep, authenticate, check_scope, key_from_headers
from api.errors import envelope
from service import Node
from service.endpoints import ExposedService

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


def service_url(request: Request, node: Node, service: ExposedService) -> str:
    """The URL of an exposed service, token included, under ``FAAS_PUBLIC_URL`` or the request's base."""
    base = (node.settings.public_url or str(request.base_url)).rstrip("/")
    path = request.app.url_path_for("proxy", instance_id=service.instance_id, name=service.name, path="")
    return f"{base}{path}?token={service.token}"


@router.api_route("/proxy/{instance_id}/{name}", methods=METHODS, include_in_schema=False)
async def proxy_root(instance_id: str, name: str, request: Request) -> Response:
    """The service's root lives under a trailing slash, so that its relative links resolve."""
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(f"{request.url.path}/{query}", status_code=307)


@router.api_route("/proxy/{instance_id}/{name}/{path:path}", methods=METHODS, include_in_schema=False, name="proxy")
async def proxy(instance_id: str, name: str, path: str, request: Request, node: NodeDep) -> Response:
    """Relay the request to the service inside the instance and stream its answer back."""
    token = request.query_params.get("token") or request.headers.get("x-service-token")
    tenant_id = await _tenant(request, node)
    await node.endpoints.authorize(instance_id, name, tenant_id=tenant_id, token=token)
    prefix = request.app.url_path_for("proxy", instance_id=instance_id, name=name, path="")
    try:
        upstream = await node.endpoints.send(
            instance_id, name, request.method, _target(request, prefix, path), _headers(request, prefix),
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
    return response


async def _tenant(request: Request, node: Node) -> str | None:
    """The tenant of the API key sent, if one was (checked and counted like any API call)."""
    key = key_from_headers(request.headers.get("authorization"), request.headers.get("x-api-key"))
    if key is None:
        return None
    principal = await authenticate(request, node, key)
    check_scope(principal, "execute")
    return principal.tenant_id


def _target(request: Request, prefix: str, path: str) -> str:
    """The path (raw, as sent) and query (without ``token``) to ask the service for."""
    raw = request.scope.get("raw_path", b"").decode("latin-1")
    rest = raw[len(prefix) :] if raw.startswith(prefix) else quote(path)
    query = "&".join(
        part for part in request.url.query.split("&") if part and part.partition("=")[0] not in ("token", "")
    )
    return "/" + rest + (f"?{query}" if query else "")


def _headers(request: Request, prefix: str) -> list[tuple[str, str]]:
    """The caller's headers without credentials and hop-by-hop ones, plus ``X-Forwarded-*``."""
    headers = [(k, v) for k, v in request.headers.items() if k not in HOP_BY_HOP and k not in CREDENTIALS]
    if "transfer-encoding" in request.headers and "content-length" not in request.headers:
        headers.append(("transfer-encoding", "chunked"))
    headers += [
        ("x-forwarded-for", request.client.host if request.client else ""),
        ("x-forwarded-host", request.headers.get("host", "")),
        ("x-forwarded-proto", request.url.scheme),
        ("x-forwarded-prefix", prefix.rstrip("/")),
    ]
    return headers
