"""Node settings, read from ``FAAS_*`` environment variables."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from engine import SandboxPolicy

_POLICY = SandboxPolicy()


def _memory_budget_mb() -> int:
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return 8192
    return int(pages * 0.75 / 2**20)


class Settings(BaseSettings):
    """Every knob of a node; see the README's configuration table."""

    model_config = SettingsConfigDict(env_prefix="FAAS_", extra="ignore")

    data_dir: Path = Path("/var/lib/faas")
    database_url: str | None = None
    api_keys: str = ""
    docker_socket: str = "/var/run/docker.sock"
    images: dict[str, str] = Field(default_factory=dict)
    pool_sizes: dict[str, int] = Field(default_factory=lambda: {"python": 2, "javascript": 2, "go": 1, "rust": 1})
    oci_runtime: str = _POLICY.runtime

    default_cpu_cores: float = 1.0
    default_memory_mb: int = 512
    default_timeout_ms: int = 30_000
    max_cpu_cores: float = Field(default_factory=lambda: float(os.cpu_count() or 1))
    min_memory_mb: int = 32
    max_memory_mb: int = 4096
    max_timeout_ms: int = 300_000
    max_concurrent_executions: int = 16
    memory_budget_mb: int = Field(default_factory=_memory_budget_mb)

    pids_limit: int = _POLICY.pids_limit
    nofile_limit: int = _POLICY.nofile_limit
    workspace_mb: int = _POLICY.workspace_mb
    tmp_mb: int = _POLICY.tmp_mb
    output_limit_bytes: int = _POLICY.output_limit_bytes
    build_timeout_ms: int = _POLICY.build_timeout_ms

    max_code_bytes: int = 1024 * 1024
    max_files_bytes: int = 10 * 1024 * 1024
    max_request_bytes: int = 16 * 1024 * 1024

    price_per_cpu_second: float = 0.00002
    price_per_memory_gb_second: float = 0.0000025
    price_per_gb_month_stored: float = 0.10
    """Snapshot storage, charged pro rata for the time each snapshot is held (a month is 30 days)."""
    default_credits: float = 100.0
    """Credits a tenant starts with (bootstrap keys, the generated first key, `faas keys create` without --credits)."""

    instance_idle_timeout_s: float = 1800.0
    """A live context (instance) that runs nothing for this long is stopped and its memory freed."""
    max_instances_per_tenant: int = 10
    max_instance_disk_gb: float = 4.0
    """Largest ``disk_gb`` an instance may ask for: its ``/workspace`` tmpfs, which is memory-backed."""
    max_instance_ttl_s: int = 7 * 24 * 3600
    instance_egress: bool = False
    """Allow instances with ``network: egress``: internet access through a firewalled bridge that cannot
    reach this host, its Docker engine or other containers (``engine.egress``); off: no network at all."""

    public_url: str | None = None
    """Base of the URLs of exposed services (e.g. ``https://node.example.com``); None: the request's own."""
    proxy_domain: str | None = None
    """Wildcard domain for host-based service URLs (``{name}-{instance}.{proxy_domain}``; DNS ``*.domain``
    must reach this node); None: path-based URLs under ``/api/v1/proxy/``, which work on localhost."""
    forward_bind_address: str = "127.0.0.1"
    """Host address that port forwards listen on."""
    ssh_port_min: int = 22000
    ssh_port_max: int = 22999
    """Node ports the instances' SSH servers listen on (on ``forward_bind_address``), one per instance."""
    files_root: Path | None = None
    """Host directory that instance file copies and syncs read and write; None: ``<data_dir>/files``."""

    redis_url: str | None = None
    """When set, rate limits are shared by every API process through Redis."""
    rate_limit_per_minute: int = 100
    rate_limit_per_hour: int = 1000
    max_concurrent_per_key: int = 10

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'faas.sqlite3'}"

    @property
    def resolved_files_root(self) -> Path:
        return self.files_root or self.data_dir / "files"

    @property
    def node_id(self) -> str:
        """Stable per data dir, so two nodes on one Docker engine never touch each other's sandboxes."""
        return "node-" + hashlib.sha256(str(self.data_dir.resolve()).encode()).hexdigest()[:12]

    def bootstrap_keys(self) -> list[str]:
        return [key.strip() for key in self.api_keys.split(",") if key.strip()]
