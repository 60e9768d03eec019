"""Reads a sandbox's resource accounting from its cgroup (v1 or v2)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.models import Usage

CGROUP_ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class CgroupPaths:
    """Where one process's cgroup files live, per controller."""

    cpu: Path | None
    memory: Path | None
    unified: bool


def parse_proc_cgroup(text: str, root: Path = CGROUP_ROOT) -> CgroupPaths:
    """Interpret /proc/PID/cgroup into controller directories."""
    cpu = memory = unified_dir = None
    for line in text.splitlines():
        _, controllers, path = line.split(":", 2)
        relative = path.lstrip("/")
        if controllers == "":
            unified_dir = root / relative
            continue
        names = controllers.split(",")
        if "cpuacct" in names:
            cpu = root / controllers / relative
        if "memory" in names:
            memory = root / "memory" / relative
    if cpu is None and memory is None and unified_dir is not None:
        return CgroupPaths(cpu=unified_dir, memory=unified_dir, unified=True)
    return CgroupPaths(cpu=cpu, memory=memory, unified=False)


def _read(path: Path | None, name: str) -> str | None:
    if path is None:
        return None
    try:
        return (path / name).read_text()
    except OSError:
        return None


def _keyed(text: str | None, key: str) -> int:
    for line in (text or "").splitlines():
        name, _, value = line.partition(" ")
        if name == key:
            return int(value)
    return 0


def read_usage(paths: CgroupPaths) -> Usage:
    """Current CPU time, memory high-water mark and OOM-kill count."""
    if paths.unified:
        cpu_usec = _keyed(_read(paths.cpu, "cpu.stat"), "usage_usec")
        peak = _read(paths.memory, "memory.peak")
        return Usage(
            cpu_seconds=cpu_usec / 1e6,
            memory_peak_bytes=int(peak) if peak else 0,
            oom_kills=_keyed(_read(paths.memory, "memory.events"), "oom_kill"),
        )
    cpu_ns = _read(paths.cpu, "cpuacct.usage")
    peak = _read(paths.memory, "memory.max_usage_in_bytes")
    return Usage(
        cpu_seconds=int(cpu_ns) / 1e9 if cpu_ns else 0.0,
        memory_peak_bytes=int(peak) if peak else 0,
        oom_kills=_keyed(_read(paths.memory, "memory.oom_control"), "oom_kill"),
    )


def cgroup_of(pid: int) -> CgroupPaths:
    return parse_proc_cgroup(Path(f"/proc/{pid}/cgroup").read_text())
