"""The FastAPI application factory: the only place the API is assembled."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

from fastapi import FastAPI

from api.errors import install_error_handlers
from api.middleware import RequestContext
from api.routes import branches, executions, health, instances, proxy, snapshots, stream, usage
from service import Node, Settings, open_node

API_PREFIX = "/api/v1"


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
    app.include_router(usage.router, prefix=API_PREFIX)
    app.include_router(snapshots.router, prefix=API_PREFIX)
    app.include_router(branches.router, prefix=API_PREFIX)
    app.include_router(instances.router, prefix=API_PREFIX)
    app.include_router(stream.router, prefix=API_PREFIX)
    app.include_router(proxy.router, prefix=API_PREFIX)

    app.add_middleware(RequestContext, max_bytes=settings.max_request_bytes)
    return app
