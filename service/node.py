"""Assembles one node: store, engine and services, opened and closed together."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from engine import EngineConfig, Executor, Resources, SandboxPolicy
from provisioning import runtime_image_reference
from service.api_keys import ApiKeyService
from service.config import Settings
from service.executions import ExecutionService
from store import Database, migrate


@dataclass
class Node:
    settings: Settings
    database: Database
    executor: Executor
    executions: ExecutionService
    api_keys: ApiKeyService
    generated_key: str | None = None


def engine_config(settings: Settings) -> EngineConfig:
    from engine import LANGUAGES

    images = {language: settings.images.get(language) or runtime_image_reference(language) for language in LANGUAGES}
    return EngineConfig(
        images=images,
        artifact_dir=settings.data_dir / "artifacts",
        pool_sizes=settings.pool_sizes,
        policy=SandboxPolicy(
            pids_limit=settings.pids_limit,
            nofile_limit=settings.nofile_limit,
            workspace_mb=settings.workspace_mb,
            tmp_mb=settings.tmp_mb,
            output_limit_bytes=settings.output_limit_bytes,
            build_timeout_ms=settings.build_timeout_ms,
            runtime=settings.oci_runtime,
        ),
        default_resources=Resources(
            cpu_cores=settings.default_cpu_cores,
            memory_mb=settings.default_memory_mb,
            timeout_ms=settings.default_timeout_ms,
        ),
        max_concurrent=settings.max_concurrent_executions,
        memory_budget_mb=settings.memory_budget_mb,
        node_id=settings.node_id,
        docker_socket=settings.docker_socket,
    )


@contextlib.asynccontextmanager
async def open_node(settings: Settings) -> AsyncIterator[Node]:
    """Migrate the database, start the engine and warm pools, bootstrap API keys."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(migrate, settings.resolved_database_url)
    database = Database(settings.resolved_database_url)
    executor = Executor(engine_config(settings))
    try:
        await executor.start()
        api_keys = ApiKeyService(database)
        await api_keys.bootstrap(settings.bootstrap_keys())
        node = Node(
            settings=settings,
            database=database,
            executor=executor,
            executions=ExecutionService(settings, database, executor),
            api_keys=api_keys,
        )
        node.generated_key = await api_keys.create_first_key_if_none()
        yield node
    finally:
        await executor.close()
        await database.close()
