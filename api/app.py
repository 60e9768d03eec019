"""The FastAPI application factory: the only place the API is assembled."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from fastapi import FastAPI

from api.errors import install_error_handlers
from api.host_routing import HostRouting
from api.middleware import RequestContext
from api.routes import (
    branches,
    dev_environments,
    executions,
    health,
    instance_access,
    instance_files,
    instances,
    jobs,
    proxy,
    snapshots,
    stream,
    usage,
)
from service import Node, Settings, open_node

API_PREFIX = "/api/v1"
log = logging.getLogger(__name__)


def create_app(
    settings: Settings,
    *,
    on_ready: Callable[[Node], None] | None = None,
    companion: Callable[[Node], Coroutine[Any, Any, None]] | None = None,
) -> FastAPI:
    """Build the app; the node (engine, store, pools) opens with the app's lifespan.

    Args:
        companion: runs beside the API over the same node while the app lives (the operator
            node's chain listener), cancelled at shutdown; if it ends with an error, the error is logged.
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_node(settings) as node:
            app.state.node = node
            task = asyncio.create_task(companion(node)) if companion is not None else None
            if task is not None:
                task.add_done_callback(_log_failure)
            if on_ready is not None:
                on_ready(node)
            try:
                yield
            finally:
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

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
    app.include_router(instance_access.router, prefix=API_PREFIX)
    app.include_router(instance_files.router, prefix=API_PREFIX)
    app.include_router(dev_environments.router, prefix=API_PREFIX)
    app.include_router(stream.router, prefix=API_PREFIX)
    app.include_router(proxy.router, prefix=API_PREFIX)
    app.include_router(jobs.router, prefix=API_PREFIX)

    app.add_middleware(RequestContext, max_bytes=settings.max_request_bytes)
    if settings.proxy_domain:
        app.add_middleware(HostRouting, domain=settings.proxy_domain, proxy_prefix=f"{API_PREFIX}/proxy")
    return app


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("the node's companion task failed", exc_info=task.exception())
