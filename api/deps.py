"""Request dependencies as ``Annotated`` aliases."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Header, Request
from starlette.requests import HTTPConnection

from service import Forbidden, Node, Principal
from service.rate_limits import check as check_rate_limit


def get_node(request: Request) -> Node:
    node: Node = request.app.state.node
    return node


NodeDep = Annotated[Node, Depends(get_node)]


def key_from_headers(authorization: str | None, x_api_key: str | None) -> str | None:
    if x_api_key:
        return x_api_key.strip()
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    return None


async def get_principal(
    request: Request,
    node: NodeDep,
    authorization: Annotated[str | None, Header(description="Bearer <API key>")] = None,
    x_api_key: Annotated[str | None, Header(description="API key")] = None,
) -> Principal:
    """The caller, authenticated and counted against its key's rate limits.

    The limit headers go on the response (``RequestContext`` adds them, errors included).
    """
    return await authenticate(request, node, key_from_headers(authorization, x_api_key))


async def authenticate(connection: HTTPConnection, node: Node, key: str | None) -> Principal:
    """The principal of ``key``, counted against its rate limits (limit headers noted on the request or WebSocket)."""
    principal = await node.api_keys.authenticate(key)
    decision = await node.rate_limiter.hit(principal.key_id, node.limits_for(principal))
    connection.state.rate_limit_headers = decision.headers()
    check_rate_limit(decision)
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_scope(scope: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency: the caller's principal, refused with Forbidden (403) unless its key has ``scope``.

    Use as ``principal: Annotated[Principal, Depends(require_scope("execute"))]``
    (or the aliases below).
    """

    async def principal_with_scope(principal: PrincipalDep) -> Principal:
        check_scope(principal, scope)
        return principal

    return principal_with_scope


def check_scope(principal: Principal, scope: str) -> None:
    """Raise Forbidden (403) unless the principal's key has ``scope``."""
    if scope not in principal.scopes:
        raise Forbidden(
            f"this API key lacks the {scope!r} scope",
            details={"required_scope": scope, "key_scopes": list(principal.scopes)},
        )


ExecutePrincipalDep = Annotated[Principal, Depends(require_scope("execute"))]
ReadPrincipalDep = Annotated[Principal, Depends(require_scope("read"))]
