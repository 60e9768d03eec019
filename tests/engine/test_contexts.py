"""Live contexts on the engine: memory held in the node's budget, captures, verified restores."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from engine import CapacityExceeded, EngineConfig, Executor, Program, Resources, SnapshotCorrupted
from engine.contexts import ContextEngine
from engine.snapshot_store import SnapshotStore
from service.node import engine_config
from tests.conftest import node_settings

CONTEXT = Resources(cpu_cores=1.0, memory_mb=256, timeout_ms=10_000)


@pytest.fixture
async def contexts(criu_ready: None, tmp_path: Path) -> AsyncIterator[ContextEngine]:
    base = engine_config(node_settings(tmp_path))
    config = EngineConfig(
        images={"python": base.images["python"]},
        artifact_dir=tmp_path / "artifacts",
        pool_sizes={},
        policy=base.policy,
        memory_budget_mb=600,
        node_id=f"test-{tmp_path.name}",
    )
    executor = Executor(config)
    await executor.start()
    try:
        yield ContextEngine(executor, SnapshotStore(tmp_path / "snapshots"), max_workspace_bytes=1024 * 1024)
    finally:
        await executor.close()


def program(code: str) -> Program:
    return Program(language="python", code=code, resources=CONTEXT)


async def test_contexts_hold_their_memory_until_closed(contexts: ContextEngine) -> None:
    first = await contexts.start("python", CONTEXT)
    second = await contexts.start("python", CONTEXT)
    try:
        with pytest.raises(CapacityExceeded):  # three of 256 MiB exceed the 600 MiB budget
            await contexts.start("python", CONTEXT)
    finally:
        await first.close()
        await first.close()  # twice: released once
    third = await contexts.start("python", CONTEXT)
    await second.close()
    await third.close()
    again = [await contexts.start("python", CONTEXT) for _ in range(2)]
    try:
        with pytest.raises(CapacityExceeded):  # a double release would have made room for a third
            await contexts.start("python", CONTEXT)
    finally:
        for context in again:
            await context.close()


async def test_a_capture_restores_into_an_independent_context(contexts: ContextEngine) -> None:
    original = await contexts.start("python", CONTEXT)
    try:
        assert (await original.execute(program("x = 41"), build_timeout_ms=10_000)).status == "completed"
        state = await contexts.capture(original)
        assert state.checksum.startswith("sha256:") and state.size_bytes > 0
        restored = await contexts.restore(state, expected_checksum=state.checksum)
        try:
            outcome = await restored.execute(program("x += 1\nprint(x)"), build_timeout_ms=10_000)
            assert outcome.stdout == b"42\n" and outcome.usage.cpu_seconds > 0
            assert (await original.execute(program("print(x)"), build_timeout_ms=10_000)).stdout == b"41\n"
        finally:
            await restored.close()
    finally:
        await original.close()


async def test_a_restore_refuses_a_checksum_that_does_not_match(contexts: ContextEngine) -> None:
    context = await contexts.start("python", CONTEXT)
    try:
        state = await contexts.capture(context)
    finally:
        await context.close()
    tampered = dataclasses.replace(state, image_id="sha256:" + "0" * 64)  # what the recorded checksum does not cover
    with pytest.raises(SnapshotCorrupted, match="checksum mismatch"):
        await contexts.restore(tampered, expected_checksum=state.checksum)
    containers = await contexts.docker.list_containers(label=f"org.faas.sandbox={contexts.executor.config.node_id}")
    assert containers == []  # refused before any sandbox was created
