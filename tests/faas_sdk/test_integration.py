"""The SDK against a real ``faas serve`` process (real Docker sandboxes, a real port; CRIU for snapshots)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from faas_sdk import (
    AsyncFaaSClient,
    AuthenticationError,
    ConflictError,
    ExecutionTimeoutError,
    FaaSClient,
    InsufficientResourcesError,
    InvalidRequestError,
    NotFoundError,
)
from tests.cli.test_serve import Server

KEY = "sdk-integration-key"


@pytest.fixture(scope="module")
def server(require_docker: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    started = Server(tmp_path_factory.mktemp("sdk-node"), {"FAAS_API_KEYS": KEY})
    yield started
    started.stop()


@pytest.fixture
def client(server: Server) -> Iterator[FaaSClient]:
    with FaaSClient(api_key=KEY, endpoint=server.url.removesuffix("/api/v1")) as sdk:
        yield sdk


def test_hello_world_sync(client: FaaSClient) -> None:
    result = client.execute(code="print('Hello World')", language="python")
    assert (result.stdout, result.exit_code, result.status) == ("Hello World\n", 0, "completed")
    assert result.execution_id.startswith("exec_") and result.language == "python" and result.cost.total >= 0
    assert result.created_at is not None and result.finished_at is not None


async def test_hello_world_async(server: Server) -> None:
    async with AsyncFaaSClient(api_key=KEY, endpoint=server.url) as client:
        result = await client.execute(code="print('Hello World')", language="python")
        again = await client.get_execution(result.execution_id)
    assert result.stdout == "Hello World\n" and again == result


def test_files_env_and_stdin_reach_the_program(client: FaaSClient) -> None:
    code = (
        "import os, sys\n"
        "print(open('input.txt').read().strip(), open('data.bin', 'rb').read().hex())\n"
        "print(os.environ['GREETING'], sys.stdin.read().strip())\n"
    )
    result = client.execute(
        code=code,
        language="python",
        files={"input.txt": "from a file\n", "data.bin": b"\x00\xff"},
        env_vars={"GREETING": "hello"},
        stdin="from stdin\n",
    )
    assert result.stdout == "from a file 00ff\nhello from stdin\n", result.stderr


def test_get_execution_returns_the_stored_record(client: FaaSClient) -> None:
    result = client.execute(
        code="import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)", language="python"
    )
    stored = client.get_execution(result.execution_id)
    assert (stored.status, stored.exit_code, stored.stdout, stored.stderr) == ("failed", 3, "out\n", "err\n")


def test_a_wrong_key_raises_authentication_error(server: Server) -> None:
    with FaaSClient(api_key="wrong", endpoint=server.url) as client, pytest.raises(AuthenticationError) as caught:
        client.execute(code="print(1)", language="python")
    assert caught.value.status_code == 401 and caught.value.request_id


def test_bad_parameters_raise_invalid_request_error(client: FaaSClient) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        client.execute(code="print(1)", language="cobol")
    assert caught.value.status_code == 400
    assert caught.value.details["errors"][0]["field"] == "language"


def test_an_unknown_execution_raises_not_found_error(client: FaaSClient) -> None:
    with pytest.raises(NotFoundError):
        client.get_execution("exec_doesnotexist")


def test_a_timeout_raises_with_the_partial_output(client: FaaSClient) -> None:
    code = "import time\nprint('partial', flush=True)\ntime.sleep(30)\n"
    with pytest.raises(ExecutionTimeoutError) as caught:
        client.execute(code=code, language="python", resources={"timeout_ms": 1500})
    error = caught.value
    assert error.status_code == 408 and error.stdout == "partial\n" and error.execution_id
    assert client.get_execution(error.execution_id).status == "timeout"


async def test_async_execution_streams_live_and_takes_input(server: Server) -> None:
    code = "import time\nprint('ready', flush=True)\nname = input()\ntime.sleep(0.3)\nprint('hello', name)"
    async with AsyncFaaSClient(api_key=KEY, endpoint=server.url) as client:
        started = await client.execute(code=code, language="python", async_=True, interactive=True)
        assert started.status == "running"
        outputs: list[str] = []
        answered = False
        async with client.stream(started.execution_id) as stream:
            async for event in stream:
                if event.type == "output":
                    outputs.append(event.data)  # chunks may split lines anywhere
                    if not answered and "ready\n" in "".join(outputs):
                        answered = True
                        await stream.send_input("ada\n", eof=True)
                elif event.type == "completed":
                    assert event.exit_code == 0
        final = await client.get_execution(started.execution_id)
    assert "".join(outputs) == "ready\nhello ada\n"
    assert (final.status, final.stdout) == ("completed", "ready\nhello ada\n")


def test_sync_stream_of_a_finished_execution_replays_it(client: FaaSClient) -> None:
    result = client.execute(code="print('one')\nprint('two')", language="python")
    events = list(client.stream(result.execution_id))
    assert "".join(e.data for e in events if e.type == "output") == "one\ntwo\n"
    assert events[-1].type == "completed"


@pytest.mark.usefixtures("criu_ready")
def test_an_instance_keeps_its_state_and_a_snapshot_of_it_restores(client: FaaSClient) -> None:
    first = client.execute(code="x = 41", language="python", mode="persistent")
    instance = first.instance_id
    assert first.mode == "persistent" and instance is not None and instance.startswith("inst_")
    kept = client.execute(code="x += 1\nprint(x)", language="python", instance_id=instance)  # mode inferred
    assert (kept.mode, kept.instance_id, kept.stdout) == ("persistent", instance, "42\n")

    snapshot = client.create_snapshot(instance_id=instance, metadata={"name": "at 42"})
    assert snapshot.snapshot_id.startswith("snap_") and snapshot.instance_id == instance
    assert (snapshot.mode, snapshot.metadata) == ("checkpointed", {"name": "at 42"}) and snapshot.size_bytes > 0
    client.execute(code="x = 0", language="python", instance_id=instance)  # later changes are not in it

    restored = client.restore_snapshot(snapshot.snapshot_id)
    assert restored.status == "restored" and restored.instance_id not in (None, instance)
    assert client.execute(code="print(x)", language="python", instance_id=restored.instance_id).stdout == "42\n"
    assert client.get_execution(restored.execution_id).status == "restored"

    listed = client.list_snapshots(mode="checkpointed", limit=100)
    assert snapshot in listed.snapshots and listed.total == len(listed.snapshots)
    assert client.get_snapshot(snapshot.snapshot_id) == snapshot


@pytest.mark.usefixtures("criu_ready")
def test_an_instance_pauses_resumes_with_its_state_and_stops(client: FaaSClient) -> None:
    started = client.start_instance(language="python", metadata={"name": "sdk"})
    instance = started.instance_id
    assert (started.state, started.language, started.metadata, started.endpoints) == (
        "running",
        "python",
        {"name": "sdk"},
        {},
    )
    assert started.events is not None and started.events[-1].to_state == "running"
    client.execute(code="x = 41", language="python", instance_id=instance)

    assert client.pause_instance(instance).state == "paused"
    with pytest.raises(ConflictError):
        client.execute(code="print(x)", language="python", instance_id=instance)
    assert client.resume_instance(instance).state == "running"
    assert client.execute(code="print(x + 1)", language="python", instance_id=instance).stdout == "42\n"

    running = client.list_instances(state="running", limit=100)
    assert instance in [listed.instance_id for listed in running.instances]
    assert all(listed.state == "running" and listed.events is None for listed in running.instances)
    stopped = client.stop_instance(instance)
    assert stopped.state == "stopped" and client.get_instance(instance).state == "stopped"
    assert stopped.events is not None and [event.to_state for event in stopped.events][-3:] == [
        "paused",
        "running",
        "stopped",
    ]

    with pytest.raises(InsufficientResourcesError):
        client.start_instance(language="python", gpu_count=1)


def edit_second_line(text: str) -> str:
    return (
        f"lines = open('doc.txt').read().splitlines(keepends=True)\nlines[1] = '{text}\\n'\n"
        "open('doc.txt', 'w').write(''.join(lines))\n"
    )


@pytest.mark.usefixtures("criu_ready")
async def test_branches_advance_merge_and_guard_the_snapshots_they_need(server: Server) -> None:
    async with AsyncFaaSClient(api_key=KEY, endpoint=server.url) as client:
        ran = await client.execute(
            code="memo = 'base'", language="python", mode="persistent", files={"doc.txt": "one\ntwo\nthree\n"}
        )
        base = await client.create_snapshot(execution_id=ran.execution_id)
        left = await client.create_branch(snapshot_id=base.snapshot_id, metadata={"name": "left"})
        right = await client.create_branch(snapshot_id=base.snapshot_id)
        assert (left.head_snapshot_id, left.metadata) == (base.snapshot_id, {"name": "left"})

        on_left = await client.execute(code=edit_second_line("ours"), language="python", branch_id=left.branch_id)
        assert (on_left.mode, on_left.branch_id) == ("branched", left.branch_id) and on_left.snapshot_id
        assert (await client.get_branch(left.branch_id)).head_snapshot_id == on_left.snapshot_id
        await client.execute(code=edit_second_line("theirs"), language="python", branch_id=right.branch_id)
        listed = await client.list_branches(snapshot_id=base.snapshot_id)
        assert {branch.branch_id for branch in listed.branches} == {left.branch_id, right.branch_id}

        ids = [left.branch_id, right.branch_id]
        with pytest.raises(ConflictError) as conflicting:
            await client.merge_branches(ids)
        assert [conflict["path"] for conflict in conflicting.value.details["conflicts"]] == ["doc.txt"]
        merged = await client.merge_branches(ids, strategy="ours")
        assert (merged.base_snapshot_id, merged.memory_state) == (base.snapshot_id, "fresh")
        assert [conflict["path"] for conflict in merged.resolved_conflicts] == ["doc.txt"]
        restored = await client.restore_snapshot(merged.snapshot_id)
        line = await client.execute(
            code="print(open('doc.txt').read().splitlines()[1])", language="python", instance_id=restored.instance_id
        )
        assert line.stdout == "ours\n"

        with pytest.raises(ConflictError) as needed:
            await client.delete_snapshot(base.snapshot_id)
        assert on_left.snapshot_id in needed.value.details["children"]
        deleted = await client.delete_snapshot(base.snapshot_id, force=True)
        assert deleted.deleted and on_left.snapshot_id in deleted.reparented_children
        with pytest.raises(NotFoundError):
            await client.get_snapshot(base.snapshot_id)
