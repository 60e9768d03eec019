"""The FastAPI application factory: the only place the API is assembled."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import FastAPI, Request, Response

from api.errors import envelope, install_error_handlers
from api.routes import executions, health
from service import Node, Settings, open_node

API_PREFIX = "/api/v1"
NodeOpener = Callable[[Settings], contextlib.AbstractAsyncContextManager[Node]]


def create_app(settings: Settings, *, on_ready: Callable[[Node], None] | None = None) -> FastAPI:
    """Build the app; the node (engine, store, pools) opens with the app's lifespan."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_node(settings) as node:
            app.state.node = node
            if on_ready is not None:
                on_ready(node)
            yield

    app = FastAPI(
        title="Tangle FaaS operator",
        version="0.1.0",
        lifespan=lifespan,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    install_error_handlers(app)
    app.include_router(executions.router, prefix=API_PREFIX)
    app.include_router(health.router, prefix=API_PREFIX)

    @app.middleware("http")
    async def request_context(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        request.state.request_id = request.headers.get("X-Request-ID") or "req_" + secrets.token_hex(8)
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > settings.max_request_bytes:
            response: Response = envelope(
                400,
                "INVALID_REQUEST",
                f"request body of {length} bytes is larger than the {settings.max_request_bytes} allowed",
                {"max_bytes": settings.max_request_bytes},
            )
        else:
            response = await call_next(request)
        response.headers["X-Request-ID"] = request.state.request_id
        return response

    return app
