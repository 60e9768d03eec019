"""Checkpoints of running sandboxes and forks restored from them (real Docker + CRIU)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import shutil
import stat
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from engine import checkpoints
from engine.checkpoints import Checkpoint, checkpoint_path, criu_errors, failure_reason
from engine.container_config import SANDBOX_LABEL, checkpointable_config
from engine.docker import STDOUT, AttachedStream, DockerClient, Runc, daemon_runc
from engine.docker.runc import runc_error
from engine.errors import CheckpointFailed, DockerNotFound
from engine.executor import AGENT_DIR
from engine.languages import RUNTIMES
from engine.models import Resources, SandboxPolicy
from provisioning.recipes import runtime_image_reference

LINE_TIMEOUT_S = 20.0
POLICY = SandboxPolicy(pids_limit=64, workspace_mb=16, tmp_mb=16)
RESOURCES = Resources(cpu_cores=0.5, memory_mb=128)

# Counts in memory, appends each count to a file it keeps open, and reports what it sees on disk.
COUNTER = """
import time
open('/workspace/seed.txt', 'w').write('seed-ok')
log = open('/workspace/log', 'a')
count = 0
while True:
    count += 1
    log.write(f'{count}\\n')
    log.flush()
    lines = sum(1 for _ in open('/workspace/log'))
    print(count, lines, open('/workspace/seed.txt').read(), flush=True)
    time.sleep(0.05)
"""

# A minimal interpreter session: one statement per stdin line, a marker after each.
SESSION = """
import sys
scope = {}
for line in sys.stdin:
    try:
        exec(line, scope)
    except Exception as exc:
        print('error:', repr(exc))
    print('--done--', flush=True)
"""


# ---- pure parts -----------------------------------------------------------------------------


def test_checkpointable_sandbox_is_hardened_but_runs_as_root_without_capabilities() -> None:
    body = checkpointable_config(
        image="img",
        runtime=RUNTIMES["python"],
        resources=RESOURCES,
        policy=POLICY,
        agent_dir="/agent",
        node_id="node-x",
    )
    host = body["HostConfig"]
    assert body["User"] == "0:0" and host["CapDrop"] == ["ALL"] and "CapAdd" not in host
    assert host["SecurityOpt"] == ["no-new-privileges"] and host["ReadonlyRootfs"] is True
    assert host["NetworkMode"] == "none" and body["NetworkDisabled"] is True
    assert host["PidsLimit"] == 64 and host["Memory"] == 128 << 20
    assert "uid=" not in host["Tmpfs"]["/workspace"]  # root without CAP_DAC_OVERRIDE must own it
    assert body["Labels"]["org.faas.sandbox"] == "node-x" and "org.faas.owner" in body["Labels"]
    assert body["Cmd"][-1] == "/opt/faas-agent/agent.py" and body["OpenStdin"] is True
    assert checkpointable_config(
        image="img",
        runtime=RUNTIMES["python"],
        resources=RESOURCES,
        policy=POLICY,
        agent_dir="/agent",
        node_id="n",
        command=["sleep", "1"],
    )["Cmd"] == ["sleep", "1"]


def test_criu_errors_are_pulled_out_of_its_log(tmp_path: Path) -> None:
    log = tmp_path / "criu-dump.log"
    log.write_text(
        "(00.04) Error (criu/util.c:1533): rlimit: Can't setup RLIMIT_NOFILE for self: Operation not permitted\n"
        "(00.05) Warn  (compel/infect.c:418): Will restore 1806 with interrupted system call\n"
        "(00.05) Error (criu/cr-dump.c:371): Can't get rlimit 0: Operation not permitted\n"
        "(00.11) Error (criu/cr-dump.c:2111): Dumping FAILED.\n"
        "(00.11) Error (criu/cr-dump.c:2111): Dumping FAILED.\n"
    )
    assert criu_errors(log.read_text()) == [
        "rlimit: Can't setup RLIMIT_NOFILE for self: Operation not permitted",
        "Can't get rlimit 0: Operation not permitted",
        "Dumping FAILED.",
    ]
    daemon = f"Cannot checkpoint container c: runc did not terminate successfully: criu failed: path= {log}: unknown"
    assert failure_reason(daemon).startswith("CRIU: rlimit: Can't setup RLIMIT_NOFILE")
    assert failure_reason("Container c not running") == "Container c not running"
    gone = "criu failed: type NOTIFY errno 0\nlog file: /nonexistent/restore.log: unknown"
    assert failure_reason(gone) == "criu failed: type NOTIFY errno 0 log file: /nonexistent/restore.log"


def test_checkpoints_live_in_the_containers_folder() -> None:
    assert checkpoint_path("/var/lib/docker", "abc", "ckpt_1") == Path(
        "/var/lib/docker/containers/abc/checkpoints/ckpt_1"
    )


# Runtimes as Docker 20.10's `docker info` reports them.
DAEMON_INFO = {
    "DefaultRuntime": "runc",
    "CgroupDriver": "cgroupfs",
    "Runtimes": {"io.containerd.runc.v2": {"path": "runc"}, "runc": {"path": "runc"}},
}


def test_runc_runs_the_checkpoint_command_of_dockers_containerd_shim(tmp_path: Path) -> None:
    runc = daemon_runc(DAEMON_INFO, "runc")
    assert runc == Runc(str(shutil.which("runc")), systemd_cgroup=False)
    image, work = tmp_path / "image", tmp_path / "work"
    assert runc.checkpoint_argv("c1", image_path=image, work_path=work, leave_running=True) == [
        runc.binary,
        "--root",
        "/var/run/docker/runtime-runc/moby",
        "checkpoint",
        "--leave-running",
        "--image-path",
        str(image),
        "--work-path",
        str(work),
        "c1",
    ]
    assert "--leave-running" not in runc.checkpoint_argv("c1", image_path=image, work_path=work, leave_running=False)
    assert daemon_runc(DAEMON_INFO, "") == runc  # a container of the default runtime
    assert daemon_runc(DAEMON_INFO, "io.containerd.runc.v2") == runc
    systemd = daemon_runc({**DAEMON_INFO, "CgroupDriver": "systemd"}, "runc")
    assert isinstance(systemd, Runc)
    assert systemd.checkpoint_argv("c1", image_path=image, work_path=work, leave_running=True)[3:5] == [
        "--systemd-cgroup",
        "checkpoint",
    ]


def test_only_the_daemons_plain_runc_is_driven_directly() -> None:
    runtimes = {
        "runsc": {"path": "/usr/local/bin/runsc"},
        "runc-debug": {"path": "runc", "runtimeArgs": ["--debug"]},
        "elsewhere": {"path": "/nonexistent/runc"},
    }
    info = {**DAEMON_INFO, "Runtimes": runtimes}
    assert daemon_runc(info, "runsc") == "runtime 'runsc' is /usr/local/bin/runsc, not runc"
    assert daemon_runc(info, "runc-debug") == "runtime 'runc-debug' runs runc with extra arguments"
    assert daemon_runc(info, "elsewhere") == "runtime 'elsewhere': /nonexistent/runc is not on PATH"
    assert daemon_runc(info, "kata") == "the daemon has no runtime 'kata'"


def test_runc_error_is_its_message_on_one_line() -> None:
    stderr = 'time="2026-01-01T00:00:00Z" level=error msg="criu failed: type NOTIFY errno 0\\nlog file: /w/dump.log"\n'
    assert runc_error(stderr) == "criu failed: type NOTIFY errno 0 log file: /w/dump.log"
    assert runc_error("plain text\n") == "plain text"


# ---- real Docker + CRIU -------------------------------------------------------------------------


class Lines:
    """Line-wise reading of a container's stdout through an attach stream."""

    def __init__(self, stream: AttachedStream) -> None:
        self.stream = stream
        self._buffer = b""

    async def line(self) -> str:
        async with asyncio.timeout(LINE_TIMEOUT_S):
            while b"\n" not in self._buffer:
                chunk = await self.stream.read_chunk()
                if chunk is None:
                    raise AssertionError(f"the container's output ended; last bytes {self._buffer!r}")
                if chunk[0] == STDOUT:
                    self._buffer += chunk[1]
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode()

    async def run(self, statement: str) -> list[str]:
        """Run one statement in a SESSION container; its printed lines."""
        await self.stream.write(statement.encode() + b"\n")
        printed = []
        while (line := await self.line()) != "--done--":
            printed.append(line)
        return printed


class Harness:
    """Creates sandboxes, forks and images for a test and removes every one of them afterwards."""

    def __init__(self, docker: DockerClient, image: str) -> None:
        self.docker = docker
        self.image = image
        self.node_id = f"ckpt-test-{uuid.uuid4().hex[:8]}"
        self.streams: list[AttachedStream] = []
        self.images: list[str] = []

    def config(self, command: list[str] | None = None, **overrides: Any) -> dict[str, Any]:
        body = checkpointable_config(
            image=self.image,
            runtime=RUNTIMES["python"],
            resources=RESOURCES,
            policy=POLICY,
            agent_dir=AGENT_DIR,
            node_id=self.node_id,
            command=command,
        )
        body.update(overrides)
        return body

    async def attach(self, container_id: str) -> Lines:
        stream = await self.docker.attach(container_id)
        self.streams.append(stream)
        return Lines(stream)

    async def start(self, config: dict[str, Any]) -> tuple[str, Lines]:
        container_id = await self.docker.create_container(config)
        lines = await self.attach(container_id)
        await self.docker.start_container(container_id)
        return container_id, lines

    async def fork_attached(self, checkpoint: Checkpoint, config: dict[str, Any]) -> tuple[str, Lines]:
        """A fork whose output is read from its first restored byte (attached before the restore)."""
        fork_id = await checkpoints.stage_fork(self.docker, checkpoint, config=config)
        lines = await self.attach(fork_id)
        await checkpoints.start_fork(self.docker, fork_id, checkpoint.name)
        return fork_id, lines

    async def leftovers(self) -> list[str]:
        return [c["Id"] for c in await self.docker.list_containers(label=f"{SANDBOX_LABEL}={self.node_id}")]

    async def clean(self) -> None:
        for stream in self.streams:
            await stream.close()
        for container_id in await self.leftovers():  # removing a container removes its checkpoints
            await self.docker.remove_container(container_id)
        for image in self.images:
            with contextlib.suppress(DockerNotFound):
                await self.docker.remove_image(image, force=True)


@pytest.fixture
async def harness(criu_ready: None) -> AsyncIterator[Harness]:
    docker = DockerClient()
    image = runtime_image_reference("python")
    try:
        await docker.inspect_image(image)
    except DockerNotFound:
        await docker.close()
        pytest.fail(f"runtime image {image} is missing: run `faas setup` before the tests")
    info = await docker.info()
    if not info.get("ExperimentalBuild"):
        await docker.close()
        pytest.fail("dockerd must run with experimental features for checkpoints (faas setup configures it)")
    under_test = Harness(docker, image)
    try:
        yield under_test
    finally:
        try:
            await under_test.clean()
            assert not await under_test.leftovers()
        finally:
            await docker.close()


def host_cgroup_value(pid: int, controller: str, name: str) -> str:
    """A cgroup v1 file of a process's cgroup, read on the host."""
    for entry in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = entry.split(":", 2)
        if controller in controllers.split(","):
            return (Path("/sys/fs/cgroup") / controller / path.lstrip("/") / name).read_text().strip()
    raise AssertionError(f"process {pid} has no {controller} cgroup")


async def docker_cli(*args: str) -> str:
    """The docker CLI's output, for what the engine's client does not ask the daemon."""
    process = await asyncio.create_subprocess_exec("docker", *args, stdout=asyncio.subprocess.PIPE)
    async with asyncio.timeout(LINE_TIMEOUT_S):
        stdout, _ = await process.communicate()
    assert process.returncode == 0, args
    return stdout.decode()


async def checkpoint_events(container_id: str, since: float) -> list[str]:
    """The checkpoint events Docker logged for a container since ``since``: its API logs one per dump."""
    until = f"{time.time():.6f}"
    filters = ["--filter", f"container={container_id}", "--filter", "event=checkpoint"]
    return (
        await docker_cli("events", "--since", f"{since:.6f}", "--until", until, *filters, "--format", "{{.Action}}")
    ).split()


def counts(line: str) -> tuple[int, int, str]:
    count, lines, seed = line.split()
    return int(count), int(lines), seed


async def test_fork_continues_a_running_process_with_its_open_file(harness: Harness) -> None:
    config = harness.config(["python3", "-u", "-c", COUNTER])
    original, original_out = await harness.start(config)
    seen = 0
    while seen < 5:
        seen, _, _ = counts(await original_out.line())

    snapshot = await checkpoints.checkpoint(harness.docker, original, leave_running=True)
    assert snapshot.path.is_dir() and snapshot.size_bytes > 0 and snapshot.name.startswith("ckpt_")
    assert snapshot.name in await harness.docker.list_checkpoints(original)

    fork, fork_out = await harness.fork_attached(snapshot, config)
    line = await fork_out.line()
    if len(line.split()) != 3:  # dumped mid-print (-u writes each piece): the fork first prints the line's rest
        line = await fork_out.line()
    first, on_disk, seed = counts(line)
    assert first > seen  # continued from memory, not restarted at 1
    assert on_disk == first and seed == "seed-ok"  # file contents restored, the open descriptor still appends
    for _ in range(3):
        count, on_disk, _ = counts(await fork_out.line())
        assert on_disk == count

    # The original keeps running on its own file: no line of the fork's ever reaches it.
    for _ in range(10):
        count, on_disk, seed = counts(await original_out.line())
        assert on_disk == count and seed == "seed-ok"
    assert (await harness.docker.inspect_container(original))["State"]["Running"]
    assert fork != original


async def test_interpreter_state_forks_into_independent_sessions(harness: Harness) -> None:
    config = harness.config(["python3", "-u", "-c", SESSION])
    original, session = await harness.start(config)
    assert await session.run("x = 41") == []

    snapshot = await checkpoints.checkpoint(harness.docker, original)
    first = await checkpoints.fork(harness.docker, snapshot, config=config)
    second = await checkpoints.fork(harness.docker, snapshot, config=config)
    first_session = await harness.attach(first)  # attaching after the restore reaches the restored stdin
    second_session = await harness.attach(second)

    assert await first_session.run("x += 1; print(x)") == ["42"]
    assert await first_session.run("x += 1; print(x)") == ["43"]
    assert await second_session.run("x += 1; print(x)") == ["42"]
    assert await session.run("x += 100; print(x)") == ["141"]
    assert await (await harness.attach(original)).run("print(x)") == ["141"]  # re-attach to the original too
    assert await second_session.run("print(x)") == ["42"]


@pytest.mark.parametrize(("direct", "dumped_by"), [(True, "runc"), (False, "docker")])
async def test_dumps_run_runc_directly_unless_told_to_use_dockers_api(
    harness: Harness, direct: bool, dumped_by: str
) -> None:
    config = harness.config(["python3", "-u", "-c", SESSION])
    original, session = await harness.start(config)
    assert await session.run("x = 41") == []
    since = time.time()
    snapshot = await checkpoints.checkpoint(harness.docker, original, direct=direct)
    assert snapshot.dumped_by == dumped_by
    assert await checkpoint_events(original, since) == ([] if direct else ["checkpoint"])
    assert (snapshot.path / "inventory.img").is_file() and list(snapshot.path.glob("pages-*.img"))
    assert stat.S_IMODE(snapshot.path.stat().st_mode) == 0o700
    assert not list(snapshot.path.parent.parent.glob("criu-work-*"))  # CRIU's work folder is gone
    assert await harness.docker.list_checkpoints(original) == [snapshot.name]

    fork = await harness.attach(await checkpoints.fork(harness.docker, snapshot, config=config))
    assert await fork.run("x += 1; print(x)") == ["42"]
    await checkpoints.discard(harness.docker, snapshot)
    assert not snapshot.path.exists() and await harness.docker.list_checkpoints(original) == []


@pytest.mark.parametrize("direct", [True, False])
async def test_a_checkpoint_that_stops_the_container_still_forks(harness: Harness, direct: bool) -> None:
    config = harness.config(["python3", "-u", "-c", SESSION])
    original, session = await harness.start(config)
    assert await session.run("x = 7") == []
    snapshot = await checkpoints.checkpoint(harness.docker, original, leave_running=False, direct=direct)
    assert (await docker_cli("wait", original)).strip() == "137"  # killed by CRIU once dumped
    fork = await harness.attach(await checkpoints.fork(harness.docker, snapshot, config=config))
    assert await fork.run("print(x * 6)") == ["42"]


async def test_forks_keep_the_sandbox_hardening(harness: Harness) -> None:
    config = harness.config(["python3", "-u", "-c", SESSION])
    original, _ = await harness.start(config)
    snapshot = await checkpoints.checkpoint(harness.docker, original)
    fork_id = await checkpoints.fork(harness.docker, snapshot, config=config)
    fork = await harness.attach(fork_id)

    probe = (
        "import os, json, socket; s = dict(l.split(':\\t') for l in open('/proc/self/status').read().splitlines());"
        "print(json.dumps({'uid': os.getuid(), 'cap_eff': s['CapEff'], 'cap_bnd': s['CapBnd'],"
        " 'nnp': s['NoNewPrivs'], 'seccomp': s['Seccomp'], 'nets': sorted(os.listdir('/sys/class/net'))}))"
    )
    facts = json.loads((await fork.run(probe))[0])
    assert facts["uid"] == 0
    assert int(facts["cap_eff"], 16) == 0 and int(facts["cap_bnd"], 16) == 0
    assert facts["nnp"] == "1" and facts["seccomp"] == "2"
    assert facts["nets"] == ["lo"]
    # Limits as the kernel applies them to the fork's own cgroup (read on the host).
    pid = (await harness.docker.inspect_container(fork_id))["State"]["Pid"]
    assert host_cgroup_value(pid, "pids", "pids.max") == "64"
    assert int(host_cgroup_value(pid, "memory", "memory.limit_in_bytes")) == 128 << 20
    assert "Read-only file system" in (await fork.run("open('/sys/fs/cgroup/pids/pids.max', 'w').write('9')"))[0]
    # ... and from inside: the fork sees its own cgroup, not the host's tree (private cgroup namespace).
    inside = await fork.run(
        "print(open('/sys/fs/cgroup/memory/memory.limit_in_bytes').read().strip());"
        "print([l for l in open('/proc/self/cgroup').read().splitlines() if ':memory:' in l][0])"
    )
    assert inside[0] == str(128 << 20)
    assert inside[1].endswith(":memory:/")  # its own cgroup is the root of what it can see
    refused = await fork.run("socket.create_connection(('1.1.1.1', 53), timeout=2)")
    assert refused and "Network is unreachable" in refused[0]
    # runc leaves a restored root writable; fork() makes it read-only again.
    assert "Read-only file system" in (await fork.run("open('/etc/escape', 'w')"))[0]
    assert await fork.run("open('/workspace/ok', 'w').write('ok')") == []
    assert "Operation not permitted" in (await fork.run("os.chown('/workspace', 1, 1)"))[0]


async def test_the_agent_sandbox_forks_and_serves_a_run_in_each_fork(harness: Harness) -> None:
    config = harness.config()  # the agent as PID 1, as in every sandbox
    original, agent = await harness.start(config)
    assert json.loads(await agent.line())["type"] == "ready"
    snapshot = await checkpoints.checkpoint(harness.docker, original)
    fork_id, fork = await harness.fork_attached(snapshot, config)
    run = {"type": "run", "run": ["python3", "-c", "print('from the fork')"], "output_limit": 1000}
    await fork.stream.write(json.dumps(run).encode() + b"\n")
    frames: list[dict[str, Any]] = []
    while not frames or frames[-1]["type"] != "exit":
        frames.append(json.loads(await fork.line()))
    assert frames[-1]["exit_code"] == 0 and any(f["type"] == "output" for f in frames)
    assert fork_id != original


async def test_checkpointing_a_missing_or_stopped_container_fails_clearly(harness: Harness) -> None:
    with pytest.raises(CheckpointFailed, match=r"cannot checkpoint container no-such-cont: No such container"):
        await checkpoints.checkpoint(harness.docker, "no-such-container")
    created = await harness.docker.create_container(harness.config(["sleep", "60"]))
    with pytest.raises(CheckpointFailed, match="not running"):
        await checkpoints.checkpoint(harness.docker, created)


@pytest.mark.parametrize("direct", [True, False])
async def test_criu_failure_carries_criu_own_reason(harness: Harness, direct: bool) -> None:
    config = harness.config(["sleep", "60"], User="1000:1000")  # CRIU cannot handle this user's rlimits
    container_id, _ = await harness.start(config)
    with pytest.raises(CheckpointFailed, match="CRIU: ") as caught:
        await checkpoints.checkpoint(harness.docker, container_id, direct=direct)
    assert "rlimit" in str(caught.value).lower()
    cited = re.search(r"\(log: (\S+)\)", str(caught.value))
    assert cited and "Dumping FAILED" in await asyncio.to_thread(Path(cited.group(1)).read_text)  # the log is kept
    assert await harness.docker.list_checkpoints(container_id) == []  # the partial dump is gone
    assert (await harness.docker.inspect_container(container_id))["State"]["Running"]


async def test_a_broken_checkpoint_fails_the_fork_and_leaves_no_container(harness: Harness) -> None:
    config = harness.config(["sleep", "60"])
    original, _ = await harness.start(config)
    snapshot = await checkpoints.checkpoint(harness.docker, original)
    fork_id = await checkpoints.stage_fork(harness.docker, snapshot, config=config)
    copied = checkpoint_path((await harness.docker.info())["DockerRootDir"], fork_id, snapshot.name)
    for pages in copied.glob("pages-*.img"):
        pages.unlink()
    with pytest.raises(CheckpointFailed, match=f"cannot restore checkpoint {snapshot.name}"):
        await checkpoints.start_fork(harness.docker, fork_id, snapshot.name)
    assert set(await harness.leftovers()) == {original}


async def test_discarded_checkpoint_and_committed_image_are_gone(harness: Harness) -> None:
    container_id, _ = await harness.start(harness.config(["sleep", "60"]))
    snapshot = await checkpoints.checkpoint(harness.docker, container_id)
    await checkpoints.discard(harness.docker, snapshot)
    await checkpoints.discard(harness.docker, snapshot)  # twice is fine
    assert not snapshot.path.exists() and await harness.docker.list_checkpoints(container_id) == []

    image_id = await harness.docker.commit_container(container_id, repo="faas-test-commit", tag=harness.node_id)
    harness.images.append(image_id)
    assert (await harness.docker.inspect_image(image_id))["Id"] == image_id
    await harness.docker.remove_image(image_id, force=True)
    with pytest.raises(DockerNotFound):
        await harness.docker.inspect_image(image_id)
