from pathlib import Path

from engine.cgroup import parse_proc_cgroup, read_usage

V1 = "9:name=systemd:/docker/abc\n4:memory:/docker/abc\n2:cpuacct:/docker/abc\n1:cpu:/docker/abc\n0::/\n"


def test_v1_hybrid_uses_controller_directories() -> None:
    paths = parse_proc_cgroup(V1, Path("/cg"))
    assert not paths.unified
    assert paths.cpu == Path("/cg/cpuacct/docker/abc")
    assert paths.memory == Path("/cg/memory/docker/abc")


def test_v2_uses_the_unified_directory() -> None:
    paths = parse_proc_cgroup("0::/system.slice/docker-abc.scope\n", Path("/cg"))
    assert paths.unified and paths.cpu == paths.memory == Path("/cg/system.slice/docker-abc.scope")


def test_reads_v1_accounting(tmp_path: Path) -> None:
    (tmp_path / "cpuacct/docker/abc").mkdir(parents=True)
    (tmp_path / "memory/docker/abc").mkdir(parents=True)
    (tmp_path / "cpuacct/docker/abc/cpuacct.usage").write_text("2500000000\n")
    (tmp_path / "memory/docker/abc/memory.max_usage_in_bytes").write_text("1048576\n")
    (tmp_path / "memory/docker/abc/memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
    usage = read_usage(parse_proc_cgroup(V1, tmp_path))
    assert (usage.cpu_seconds, usage.memory_peak_bytes, usage.oom_kills) == (2.5, 1048576, 2)


def test_reads_v2_accounting(tmp_path: Path) -> None:
    (tmp_path / "cpu.stat").write_text("usage_usec 1500000\nuser_usec 1\n")
    (tmp_path / "memory.peak").write_text("4096\n")
    (tmp_path / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    usage = read_usage(parse_proc_cgroup("0::/\n", tmp_path))
    assert (usage.cpu_seconds, usage.memory_peak_bytes, usage.oom_kills) == (1.5, 4096, 1)


def test_vanished_cgroup_reads_as_zero(tmp_path: Path) -> None:
    usage = read_usage(parse_proc_cgroup(V1, tmp_path / "gone"))
    assert (usage.cpu_seconds, usage.memory_peak_bytes, usage.oom_kills) == (0.0, 0, 0)
