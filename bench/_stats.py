"""Latency statistics shared by the benchmarks: percentiles, a summary row, a timer."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "n": len(samples),
        "p50_ms": round(statistics.median(samples), 1),
        "p95_ms": round(percentile(samples, 0.95), 1),
        "min_ms": round(min(samples), 1),
    }


def timed(call: Callable[[], Any]) -> float:
    """Milliseconds ``call`` takes."""
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000
