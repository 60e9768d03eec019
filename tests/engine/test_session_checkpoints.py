"""Sessions under the checkpointable seccomp profile: checkpoint and fork them (real Docker + CRIU)."""

from __future__ import annotations

import asyncio
import dataclasses
import errno
from collections.abc import AsyncIterator
from typing import Any

import pytest

from engine import checkpoints
from engine.container_config import checkpointable_config, sandbox_config
from engine.docker import DockerClient
from engine.languages import RUNTIMES
from engine.models import SandboxPolicy
from engine.sessions import InterpreterSession, session_config
from provisioning import load_checkpointable_seccomp_profile
from provisioning.recipes import runtime_image_reference
from provisioning.seccomp import PROFILE_PATH
from tests.engine.test_sessions import POLICY, RESOURCES, TEST_TIMEOUT_S, Sessions, run_ok

# x86_64 numbers: io_uring_setup(1, &params) and keyctl(KEYCTL_GET_KEYRING_ID, 0); -errno on failure.
SYSCALL_PROBE = (
    "import ctypes\n"
    "libc = ctypes.CDLL(None, use_errno=True)\n"
    "def call(number, *args):\n"
    "    result = libc.syscall(number, *args)\n"
    "    return result if result >= 0 else -ctypes.get_errno()\n"
    "print(call(425, 1, ctypes.create_string_buffer(120)), call(250, 0, 0))"
)


@pytest.fixture(scope="session")
def seccomp_profile() -> str:
    profile = load_checkpointable_seccomp_profile()
    if profile is None:
        pytest.fail(f"no valid seccomp profile at {PROFILE_PATH}: run `faas setup` before the tests")
    return profile


class ProfiledSessions(Sessions):
    """Sessions whose sandboxes (and forks) run under `policy`, by default with the profile."""

    def __init__(self, docker: DockerClient, policy: SandboxPolicy) -> None:
        super().__init__(docker)
        self.policy = policy

    def config(self, language: str) -> dict[str, Any]:
        return session_config(
            language=language,
            image=runtime_image_reference(language),
            resources=RESOURCES,
            policy=self.policy,
            node_id=self.node_id,
        )

    async def start(self, language: str, policy: SandboxPolicy | None = None) -> InterpreterSession:
        session = await InterpreterSession.start(
            self.docker,
            language=language,
            image=runtime_image_reference(language),
            resources=RESOURCES,
            policy=policy or self.policy,
            node_id=self.node_id,
        )
        self.sessions.append(session)
        return session

    async def fork(self, snapshot: checkpoints.Checkpoint, language: str) -> InterpreterSession:
        return await self.adopt(await checkpoints.fork(self.docker, snapshot, config=self.config(language)), language)


@pytest.fixture
async def sessions(criu_ready: None, seccomp_profile: str) -> AsyncIterator[ProfiledSessions]:
    docker = DockerClient()
    under_test = ProfiledSessions(docker, dataclasses.replace(POLICY, seccomp_profile=seccomp_profile))
    try:
        if not (await docker.info()).get("ExperimentalBuild"):
            pytest.fail("dockerd must run with experimental features for checkpoints (faas setup configures it)")
        async with asyncio.timeout(TEST_TIMEOUT_S):
            yield under_test
    finally:
        try:
            await under_test.clean()
            assert not await under_test.leftovers()
        finally:
            await docker.close()


def security_options(policy: SandboxPolicy, *, checkpointable: bool) -> list[str]:
    build = checkpointable_config if checkpointable else sandbox_config
    body = build(
        image="img", runtime=RUNTIMES["javascript"], resources=RESOURCES, policy=policy, agent_dir="/a", node_id="n"
    )
    options: list[str] = body["HostConfig"]["SecurityOpt"]
    return options


def test_only_checkpointable_sandboxes_take_the_profile() -> None:
    profile = '{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[]}'
    policy = dataclasses.replace(POLICY, seccomp_profile=profile)
    assert security_options(policy, checkpointable=True) == ["no-new-privileges", f"seccomp={profile}"]
    assert security_options(POLICY, checkpointable=True) == ["no-new-privileges"]
    assert security_options(policy, checkpointable=False) == ["no-new-privileges"]  # ephemeral: Docker's default


async def test_the_daemon_applies_the_inline_profile(sessions: ProfiledSessions) -> None:
    profiled = await sessions.start("python")
    default = await sessions.start("python", policy=POLICY)
    io_uring, keyctl = map(int, (await run_ok(profiled, SYSCALL_PROBE)).split())
    assert (io_uring, keyctl) == (-errno.EPERM, -errno.EPERM)
    io_uring, keyctl = map(int, (await run_ok(default, SYSCALL_PROBE)).split())
    assert io_uring >= 0 and keyctl == -errno.EPERM  # Docker 20.10's default: io_uring allowed, keyctl not
    inspected = await sessions.docker.inspect_container(profiled.container_id)
    assert inspected["HostConfig"]["SecurityOpt"][-1] == f"seccomp={sessions.policy.seccomp_profile}"


@pytest.mark.parametrize(
    ("language", "define", "step"),
    [
        ("javascript", "let x = 41", "x += 1; console.log(x)"),
        ("python", "x = 41", "x += 1; print(x)"),
    ],
)
async def test_a_session_forks_into_independent_sessions(
    sessions: ProfiledSessions, language: str, define: str, step: str
) -> None:
    original = await sessions.start(language)
    await run_ok(original, define)
    snapshot = await checkpoints.checkpoint(sessions.docker, original.container_id)
    first = await sessions.fork(snapshot, language)
    second = await sessions.fork(snapshot, language)

    assert await run_ok(first, step) == "42\n"
    assert await run_ok(first, step) == "43\n"
    assert await run_ok(second, step) == "42\n"
    assert await run_ok(original, step) == "42\n"
    assert len({original.container_id, first.container_id, second.container_id}) == 3


async def test_a_javascript_session_keeps_its_open_file_in_each_fork(sessions: ProfiledSessions) -> None:
    original = await sessions.start("javascript")
    await run_ok(
        original, "const fs = require('fs'); var fd = fs.openSync('/workspace/log', 'a'); fs.writeSync(fd, 'a')"
    )
    snapshot = await checkpoints.checkpoint(sessions.docker, original.container_id)
    forks = [await sessions.fork(snapshot, "javascript") for _ in range(2)]

    for session, mark in [(forks[0], "b"), (forks[1], "c"), (original, "d")]:
        written = (
            f"fs.writeSync(fd, '{mark}'); process.stdout.write(fs.readFileSync('/workspace/log', 'utf8')); undefined"
        )
        assert await run_ok(session, written) == f"a{mark}"
