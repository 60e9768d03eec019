"""Assembles one node: store, engine and services, opened and closed together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from engine import LANGUAGES, EngineConfig, Executor, Resources, SandboxPolicy
from engine.contexts import ContextEngine
from engine.relay import NetnsRelays
from engine.snapshot_store import SnapshotStore
from provisioning import load_checkpointable_seccomp_profile, runtime_image_reference
from service.api_keys import ApiKeyService, Principal
from service.billing import BillingService
from service.branches import BranchService
from service.chain_jobs import ChainJobLedger
from service.config import Settings
from service.devenvs import DevEnvironments
from service.endpoints import EndpointService
from service.executions import ExecutionService
from service.files import FileService
from service.instances import InstanceService
from service.rate_limits import RateLimiter, RateLimits, create_rate_limiter
from service.snapshots import SnapshotService
from service.ssh import SshService
from service.stateful import StatefulExecutions
from service.usage import UsageService
from store import Database, migrate


@dataclass
class Node:
    settings: Settings
    database: Database
    executor: Executor
    executions: ExecutionService
    api_keys: ApiKeyService
    billing: BillingService
    usage: UsageService
    rate_limiter: RateLimiter
    instances: InstanceService
    snapshots: SnapshotService
    branches: BranchService
    endpoints: EndpointService
    files: FileService
    ssh: SshService
    devenvs: DevEnvironments
    chain_jobs: ChainJobLedger
    generated_key: str | None = None

    def limits_for(self, principal: Principal) -> RateLimits:
        """The key's own limits where it has them, the node's otherwise."""
        settings = self.settings
        return RateLimits(
            per_minute=principal.requests_per_minute or settings.rate_limit_per_minute,
            per_hour=principal.requests_per_hour or settings.rate_limit_per_hour,
            concurrent_executions=principal.max_concurrent_executions or settings.max_concurrent_per_key,
        )


def engine_config(settings: Settings) -> EngineConfig:
    images = {language: settings.images.get(language) or runtime_image_reference(language) for language in LANGUAGES}
    seccomp_profile = load_checkpointable_seccomp_profile()
    if seccomp_profile is None:
        logging.getLogger(__name__).warning(
            "no valid seccomp profile for checkpointable sandboxes: JavaScript sessions cannot be "
            "checkpointed (Node's io_uring rings); run `faas setup` to write it"
        )
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
            seccomp_profile=seccomp_profile,
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
    node: Node | None = None
    rate_limiter = create_rate_limiter(settings.redis_url)
    try:
        await executor.start()
        api_keys = ApiKeyService(database, default_credits=settings.default_credits)
        billing = BillingService(database)
        await api_keys.bootstrap(settings.bootstrap_keys())
        contexts = ContextEngine(
            executor,
            SnapshotStore(settings.data_dir / "snapshots"),
            max_workspace_bytes=settings.workspace_mb * 1024 * 1024,
        )
        instances = InstanceService(
            settings, database, contexts, SnapshotStore(settings.data_dir / "paused", gc_grace_s=0)
        )
        await instances.start()
        endpoints = EndpointService(settings, instances, NetnsRelays(executor.docker, settings.data_dir / "relays"))
        snapshots = SnapshotService(database, contexts, instances)
        branches = BranchService(database, snapshots)
        stateful = StatefulExecutions(settings, instances, snapshots, branches)
        node = Node(
            settings=settings,
            database=database,
            executor=executor,
            executions=ExecutionService(settings, database, executor, billing, stateful),
            api_keys=api_keys,
            billing=billing,
            usage=UsageService(database, billing, settings),
            rate_limiter=rate_limiter,
            instances=instances,
            snapshots=snapshots,
            branches=branches,
            endpoints=endpoints,
            files=FileService(settings, instances, executor.docker),
            ssh=SshService(settings, instances, executor.docker),
            devenvs=DevEnvironments(instances, endpoints),
            chain_jobs=ChainJobLedger(database),
        )
        node.generated_key = await api_keys.create_first_key_if_none()
        yield node
    finally:
        if node is not None:
            await node.executions.close()
            await node.instances.close()
            await node.endpoints.close()
            await node.ssh.close()
        await executor.close()
        await rate_limiter.close()
        await database.close()
