"""Cost of an execution from its measured usage (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from service.config import Settings

GIB = 1024**3


@dataclass(frozen=True)
class Cost:
    compute: float
    total: float


def memory_gb_seconds(memory_peak_bytes: int, duration_ms: int) -> float:
    return memory_peak_bytes / GIB * duration_ms / 1000


def execution_cost(cpu_seconds: float, mem_gb_seconds: float, settings: Settings) -> Cost:
    compute = cpu_seconds * settings.price_per_cpu_second + mem_gb_seconds * settings.price_per_memory_gb_second
    compute = round(compute, 8)
    return Cost(compute=compute, total=compute)
