"""Reading and writing a running sandbox's workspace from the host (real Docker)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from engine.container_config import SANDBOX_LABEL, checkpointable_config
from engine.docker import DockerClient
from engine.errors import DockerNotFound, TreeTooLarge, WorkspaceError
from engine.executor import AGENT_DIR
from engine.languages import RUNTIMES
from engine.models import Resources, SandboxPolicy
from engine.snapshot_store import SnapshotStore
from engine.workspace import WorkspaceTree, read_workspace, write_workspace
from provisioning.recipes import runtime_image_reference

POLICY = SandboxPolicy(pids_limit=64, workspace_mb=16, tmp_mb=16)
RESOURCES = Resources(cpu_cores=0.5, memory_mb=128)
EXEC_TIMEOUT_S = 30.0

# Runs as the sandbox's own (capability-less root) process: builds a workspace a program could leave.
POPULATE = """
import os
os.chdir('/workspace')
os.makedirs('src/pkg')
os.makedirs('empty')
open('main.py', 'w').write('print(1)\\n')
open('src/pkg/data.bin', 'wb').write(bytes(range(256)) * 4)
open('run.sh', 'w').write('#!/bin/sh\\n')
os.chmod('run.sh', 0o755)
os.symlink('/etc/passwd', 'passwd')
os.symlink('src/pkg', 'pkg-link')
os.mkfifo('pipe')
"""

# Reports what the sandbox itself sees under /workspace: kind, owner, mode, content or target.
DESCRIBE = """
import json, os, stat
seen = {}
for root, dirs, files in os.walk('/workspace'):
    for name in dirs + files:
        path = os.path.join(root, name)
        info = os.lstat(path)
        rel = os.path.relpath(path, '/workspace')
        if stat.S_ISLNK(info.st_mode):
            seen[rel] = ['symlink', os.readlink(path), info.st_uid]
        elif stat.S_ISDIR(info.st_mode):
            seen[rel] = ['dir', oct(stat.S_IMODE(info.st_mode)), info.st_uid]
        elif not stat.S_ISREG(info.st_mode):
            seen[rel] = ['special', '', info.st_uid]
        else:
            seen[rel] = ['file', open(path, 'rb').read().hex(), info.st_uid, oct(stat.S_IMODE(info.st_mode))]
print(json.dumps(seen))
"""


class Sandboxes:
    """Starts idle checkpointable sandboxes for a test and removes every one afterwards."""

    def __init__(self, docker: DockerClient) -> None:
        self.docker = docker
        self.node_id = f"workspace-test-{uuid.uuid4().hex[:8]}"

    async def create(self, *, start: bool = True) -> str:
        config = checkpointable_config(
            image=runtime_image_reference("python"),
            runtime=RUNTIMES["python"],
            resources=RESOURCES,
            policy=POLICY,
            agent_dir=AGENT_DIR,
            node_id=self.node_id,
            command=["python3", "-c", "import time; time.sleep(3600)"],
        )
        container_id = await self.docker.create_container(config)
        if start:
            await self.docker.start_container(container_id)
        return container_id

    async def exec(self, container_id: str, code: str) -> str:
        """Run Python code inside the sandbox with its own user and (lack of) capabilities."""
        process = await asyncio.create_subprocess_exec(
            "docker",
            "exec",
            container_id,
            "python3",
            "-c",
            code,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            async with asyncio.timeout(EXEC_TIMEOUT_S):
                stdout, stderr = await process.communicate()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        assert process.returncode == 0, stderr.decode()
        return stdout.decode()

    async def describe(self, container_id: str) -> dict[str, list[object]]:
        result: dict[str, list[object]] = json.loads(await self.exec(container_id, DESCRIBE))
        return result

    async def leftovers(self) -> list[str]:
        return [c["Id"] for c in await self.docker.list_containers(label=f"{SANDBOX_LABEL}={self.node_id}")]

    async def clean(self) -> None:
        for container_id in await self.leftovers():
            await self.docker.remove_container(container_id)


@pytest.fixture
async def sandboxes(require_docker: None) -> AsyncIterator[Sandboxes]:
    docker = DockerClient()
    image = runtime_image_reference("python")
    try:
        await docker.inspect_image(image)
    except DockerNotFound:
        await docker.close()
        pytest.fail(f"runtime image {image} is missing: run `faas setup` before the tests")
    under_test = Sandboxes(docker)
    try:
        yield under_test
    finally:
        try:
            await under_test.clean()
            assert not await under_test.leftovers()
        finally:
            await docker.close()


async def test_a_workspace_is_read_from_the_host_without_following_its_links(sandboxes: Sandboxes) -> None:
    container_id = await sandboxes.create()
    await sandboxes.exec(container_id, POPULATE)

    tree = await read_workspace(sandboxes.docker, container_id, max_bytes=1 << 20)
    assert tree.files == {"main.py": b"print(1)\n", "src/pkg/data.bin": bytes(range(256)) * 4, "run.sh": b"#!/bin/sh\n"}
    assert tree.symlinks == {"passwd": "/etc/passwd", "pkg-link": "src/pkg"}  # recorded, never read through
    assert tree.dirs == {"src", "src/pkg", "empty"}  # the FIFO is skipped, the empty dir kept
    assert tree.modes["run.sh"] == 0o755 and tree.modes["main.py"] == 0o644

    with pytest.raises(TreeTooLarge, match="more than 1000 bytes") as caught:
        await read_workspace(sandboxes.docker, container_id, max_bytes=1000)
    assert caught.value.limit == 1000


async def test_a_tree_written_into_a_sandbox_is_what_it_sees(sandboxes: Sandboxes) -> None:
    container_id = await sandboxes.create()
    await sandboxes.exec(container_id, "open('/workspace/main.py', 'w').write('old')")  # replaced below
    tree = WorkspaceTree(
        files={"main.py": b"print('merged')\n", "lib/util.py": b"X = 1\n", "bin/tool": b"\x7fELF"},
        symlinks={"latest": "lib/util.py"},
        dirs={"cache/empty"},
        modes={"bin/tool": 0o750, "lib": 0o700},
    )
    await write_workspace(sandboxes.docker, container_id, tree)

    assert await sandboxes.describe(container_id) == {
        "main.py": ["file", b"print('merged')\n".hex(), 0, "0o644"],
        "lib": ["dir", "0o700", 0],
        "lib/util.py": ["file", b"X = 1\n".hex(), 0, "0o644"],
        "bin": ["dir", "0o755", 0],
        "bin/tool": ["file", b"\x7fELF".hex(), 0, "0o750"],
        "latest": ["symlink", "lib/util.py", 0],
        "cache": ["dir", "0o755", 0],
        "cache/empty": ["dir", "0o755", 0],
    }
    read_back = await read_workspace(sandboxes.docker, container_id, max_bytes=1 << 20)
    assert read_back.files == tree.files and read_back.symlinks == tree.symlinks


async def test_writing_through_a_planted_symlink_is_refused(sandboxes: Sandboxes, tmp_path: Path) -> None:
    container_id = await sandboxes.create()
    outside = tmp_path / "host-dir"
    outside.mkdir()
    host_file = tmp_path / "host-file"
    host_file.write_text("host")
    # Absolute targets resolve against the host's root when reached through /proc/<pid>/root.
    for target, link in ((outside, "evil"), (host_file, "victim")):
        await sandboxes.exec(container_id, f"import os; os.symlink({str(target)!r}, '/workspace/{link}')")

    for tree in (WorkspaceTree(files={"evil/x": b"pwned"}), WorkspaceTree(dirs={"evil"})):
        with pytest.raises(WorkspaceError, match="evil is not a directory"):
            await write_workspace(sandboxes.docker, container_id, tree)
    assert not list(outside.iterdir())

    # A link where a file goes is replaced, not written through.
    await write_workspace(sandboxes.docker, container_id, WorkspaceTree(files={"victim": b"mine"}))
    assert host_file.read_text() == "host"
    assert (await sandboxes.describe(container_id))["victim"][:2] == ["file", b"mine".hex()]


async def test_a_workspace_survives_the_store_into_a_fresh_sandbox(sandboxes: Sandboxes, tmp_path: Path) -> None:
    original = await sandboxes.create()
    await sandboxes.exec(original, POPULATE)
    tree = await read_workspace(sandboxes.docker, original, max_bytes=1 << 20)
    store = SnapshotStore(tmp_path / "store")
    stored = await asyncio.to_thread(store.ingest_workspace, tree)

    fresh = await sandboxes.create()
    loaded = await asyncio.to_thread(store.load_workspace, stored.checksum, max_bytes=1 << 20)
    await write_workspace(sandboxes.docker, fresh, loaded)
    seen = await sandboxes.describe(fresh)
    assert {path: entry[:2] for path, entry in seen.items()} == {
        path: entry[:2] for path, entry in (await sandboxes.describe(original)).items() if path != "pipe"
    }


async def test_a_sandbox_that_is_not_running_has_no_readable_workspace(sandboxes: Sandboxes) -> None:
    container_id = await sandboxes.create(start=False)
    with pytest.raises(WorkspaceError, match="is not running"):
        await read_workspace(sandboxes.docker, container_id, max_bytes=1 << 20)
    with pytest.raises(WorkspaceError, match="is not running"):
        await write_workspace(sandboxes.docker, container_id, WorkspaceTree(files={"a": b""}))
