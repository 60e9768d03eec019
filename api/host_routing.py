"""Host-based URLs of exposed services: ``{name}-{instance}.{FAAS_PROXY_DOMAIN}`` → the path-based proxy route.

With a wildcard DNS name (``*.faas.example.com``) pointing at the node, each exposed service
gets a host of its own, so that apps which link to absolute paths (``/static/app.js``) work
at the root of it. A request to ``webapp-inst-0123….faas.example.com/x`` is handled exactly
as ``/api/v1/proxy/inst_0123…/webapp/x`` (same authentication); nothing else changes.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Receive, Scope, Send

HOST_LABEL = re.compile(r"(?P<name>[a-z0-9-]{1,32})-inst-(?P<suffix>[0-9a-f]{24})")


def service_host(name: str, instance_id: str, domain: str) -> str:
    """The host name of a service (instance ids' ``_`` is not allowed in host names: ``-`` instead)."""
    return f"{name}-{instance_id.replace('_', '-')}.{domain}"


class HostRouting:
    """Rewrites requests (HTTP and WebSocket) for a service's host onto the proxy route's path."""

    def __init__(self, app: ASGIApp, *, domain: str, proxy_prefix: str) -> None:
        self.app = app
        self.suffix = "." + domain.lower().strip(".")
        self.proxy_prefix = proxy_prefix.rstrip("/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            self._route(scope)
        await self.app(scope, receive, send)

    def _route(self, scope: Scope) -> None:
        host = dict(scope["headers"]).get(b"host", b"").decode("latin-1").lower().rsplit(":", 1)[0]
        if not host.endswith(self.suffix):
            return
        match = HOST_LABEL.fullmatch(host[: -len(self.suffix)])
        if match is None:
            return
        prefix = f"{self.proxy_prefix}/inst_{match['suffix']}/{match['name']}"
        if scope["path"] == prefix or scope["path"].startswith(prefix + "/"):
            return  # a link the app built with the forwarded prefix: already a proxy path
        scope["path"] = prefix + scope["path"]
        scope["raw_path"] = prefix.encode() + scope.get("raw_path", scope["path"].encode())
        scope.setdefault("state", {})["service_host"] = True
