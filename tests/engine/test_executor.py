"""Engine-level behaviour: admission control, warm pool, leftovers, images."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from engine import CapacityExceeded, EngineConfig, Executor, ImageMissing, Program, Resources
from engine.container_config import SANDBOX_LABEL
from engine.ownership import OWNER_LABEL, this_process
from service.node import engine_config
from tests.conftest import node_settings


@pytest.fixture
async def small_executor(require_docker: None, tmp_path: Path) -> AsyncIterator[Executor]:
    base = engine_config(node_settings(tmp_path))
    config = EngineConfig(
        images={"python": base.images["python"]},
        artifact_dir=tmp_path / "artifacts",
        pool_sizes={"python": 1},
        max_concurrent=1,
        memory_budget_mb=1024,
        node_id=f"test-{tmp_path.name}",
    )
    executor = Executor(config)
    await executor.start()
    yield executor
    await executor.close()


async def sandbox_ids(executor: Executor) -> set[str]:
    containers = await executor.docker.list_containers(label=f"{SANDBOX_LABEL}={executor.config.node_id}")
    return {container["Id"] for container in containers}


async def test_node_refuses_work_beyond_its_capacity(small_executor: Executor) -> None:
    slow = asyncio.create_task(small_executor.execute(Program(language="python", code="import time; time.sleep(2)")))
    await asyncio.sleep(0.3)
    with pytest.raises(CapacityExceeded) as caught:
        await small_executor.execute(Program(language="python", code="print(1)"))
    assert caught.value.details["max_concurrent_executions"] == 1
    assert (await slow).status == "completed"
    assert (await small_executor.execute(Program(language="python", code="print(1)"))).status == "completed"


async def test_memory_budget_is_part_of_admission(small_executor: Executor) -> None:
    with pytest.raises(CapacityExceeded):
        await small_executor.execute(Program(language="python", code="print(1)", resources=Resources(memory_mb=2048)))


async def test_used_sandbox_is_destroyed_and_pool_refills_with_a_new_one(small_executor: Executor) -> None:
    await small_executor.pool.wait_ready("python", 1, within_s=60)
    pooled = {sandbox.container_id for sandbox in small_executor.pool._ready["python"]}
    outcome = await small_executor.execute(
        Program(language="python", code="import socket; print(socket.gethostname())")
    )
    assert pooled == {cid for cid in pooled if cid.startswith(outcome.stdout.decode().strip())}
    await small_executor.pool.wait_ready("python", 1, within_s=60)
    for _ in range(50):
        if not pooled & await sandbox_ids(small_executor):
            break
        await asyncio.sleep(0.1)
    assert not pooled & await sandbox_ids(small_executor)
    refilled = {sandbox.container_id for sandbox in small_executor.pool._ready["python"]}
    assert refilled and not refilled & pooled


async def test_empty_pool_falls_back_to_a_cold_sandbox(small_executor: Executor) -> None:
    await small_executor.pool.wait_ready("python", 1, within_s=60)
    drained = small_executor.pool.take("python")
    assert drained is not None
    await drained.destroy()
    outcome = await small_executor.execute(Program(language="python", code="print('cold')"))
    assert outcome.stdout == b"cold\n"


async def test_leftover_sandboxes_of_a_crashed_run_are_removed_at_start(tmp_path: Path, require_docker: None) -> None:
    config = EngineConfig(
        images={"python": engine_config(node_settings(tmp_path)).images["python"]},
        artifact_dir=tmp_path / "a",
        pool_sizes={"python": 1},
        node_id=f"crash-{tmp_path.name}",
    )
    first = Executor(config)
    await first.start()
    await first.pool.wait_ready("python", 1, within_s=60)
    for task in first.pool._tasks:
        task.cancel()
    await asyncio.gather(*first.pool._tasks, return_exceptions=True)
    for sandbox in first.pool._ready["python"]:
        await sandbox.channel.close()  # simulate a crash: connections drop, containers stay
    await first.docker.close()
    second = Executor(config)
    await second.start()
    try:
        crashed = {s.container_id for s in first.pool._ready["python"]}
        assert crashed and not crashed & await sandbox_ids(second)
    finally:
        await second.close()


async def test_missing_image_is_a_clear_error(tmp_path: Path, require_docker: None) -> None:
    executor = Executor(
        EngineConfig(images={"python": "faas-runtime/python:does-not-exist"}, artifact_dir=tmp_path, node_id="missing")
    )
    await executor.start()
    try:
        with pytest.raises(ImageMissing, match="faas setup"):
            await executor.execute(Program(language="python", code="print(1)"))
    finally:
        await executor.close()


async def test_dead_sandboxes_of_any_node_are_removed_at_start(tmp_path: Path, require_docker: None) -> None:
    image = engine_config(node_settings(tmp_path)).images["python"]
    probe = Executor(EngineConfig(images={"python": image}, artifact_dir=tmp_path / "p", node_id="probe"))
    labels = {SANDBOX_LABEL: "some-other-node", OWNER_LABEL: "999999999:1"}  # its process is gone
    dead = await probe.docker.create_container({"Image": image, "Cmd": ["true"], "Labels": labels})
    # Another live process's sandbox caught between create and start must survive.
    launching_labels = {SANDBOX_LABEL: "some-other-node", OWNER_LABEL: this_process()}
    launching = await probe.docker.create_container({"Image": image, "Cmd": ["true"], "Labels": launching_labels})
    await probe.docker.close()
    executor = Executor(
        EngineConfig(images={"python": image}, artifact_dir=tmp_path / "a", node_id=f"n-{tmp_path.name}")
    )
    await executor.start()
    try:
        remaining = await executor.docker.list_containers(label=SANDBOX_LABEL)
        assert dead not in {container["Id"] for container in remaining}
        assert launching in {container["Id"] for container in remaining}
    finally:
        await executor.docker.remove_container(launching)
        await executor.close()


def test_owner_identity_tells_a_live_process_from_a_gone_one() -> None:
    import os
    import subprocess

    from engine.ownership import owner_is_gone, process_identity, this_process

    assert not owner_is_gone(this_process())
    assert process_identity(os.getpid()) == this_process()
    gone_pid = subprocess.Popen(["true"])
    identity = process_identity(gone_pid.pid)
    gone_pid.wait()
    assert identity is None or owner_is_gone(identity)
    assert owner_is_gone(f"{os.getpid()}:1")  # same pid, other start time: a reused pid
    assert not owner_is_gone(None) and not owner_is_gone("legacy")


async def test_running_sandboxes_of_a_dead_process_are_removed_at_start(tmp_path: Path, require_docker: None) -> None:
    image = engine_config(node_settings(tmp_path)).images["python"]
    probe = Executor(EngineConfig(images={"python": image}, artifact_dir=tmp_path / "p", node_id="probe"))
    body = {
        "Image": image,
        "Cmd": ["sleep", "60"],
        "Labels": {SANDBOX_LABEL: "crashed-node", "org.faas.owner": "999999999:1"},
        "HostConfig": {"NetworkMode": "none"},
    }
    orphan = await probe.docker.create_container(body)
    await probe.docker.start_container(orphan)
    await probe.docker.close()
    executor = Executor(
        EngineConfig(images={"python": image}, artifact_dir=tmp_path / "a", node_id=f"n-{tmp_path.name}")
    )
    await executor.start()
    try:
        assert orphan not in {c["Id"] for c in await executor.docker.list_containers(label=SANDBOX_LABEL)}
    finally:
        await executor.close()
