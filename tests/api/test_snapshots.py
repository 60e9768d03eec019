"""Live contexts, snapshots, branches and merges through the REST API, on real Docker and CRIU."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from service import Node
from tests.api.stateful import call, http_client, running_app, stateful_settings
from tests.conftest import KEY_A, KEY_B, b64

pytestmark = pytest.mark.usefixtures("criu_ready")


@pytest.fixture(scope="module")
async def stateful_app(require_docker: None, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FastAPI]:
    """A node of its own: these tests make many requests and hold live contexts."""
    settings = stateful_settings(tmp_path_factory.mktemp("stateful-node"), max_instances_per_tenant=50)
    async with running_app(settings) as application:
        yield application


@pytest.fixture(scope="module")
def stateful_node(stateful_app: FastAPI) -> Node:
    node: Node = stateful_app.state.node
    return node


@pytest.fixture(scope="module")
async def api(stateful_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(stateful_app, KEY_A) as client:
        yield client


@pytest.fixture(scope="module")
async def other_tenant(stateful_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(stateful_app, KEY_B) as client:
        yield client


async def execute(api: httpx.AsyncClient, code: str, language: str = "python", **fields: Any) -> dict[str, Any]:
    body = await call(api, "POST", "/execute", json={"code": code, "language": language, **fields})
    assert body["status"] == "completed", body
    return body


async def snapshot(api: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    return await call(api, "POST", "/snapshots", 201, json=fields)


async def restore(api: httpx.AsyncClient, snapshot_id: str) -> dict[str, Any]:
    return await call(api, "POST", f"/snapshots/{snapshot_id}/restore")


async def in_instance(api: httpx.AsyncClient, instance_id: str, code: str, language: str = "python") -> str:
    body = await execute(api, code, language, instance_id=instance_id)
    assert body["mode"] == "persistent" and body["instance_id"] == instance_id
    stdout: str = body["stdout"]
    return stdout


# -- persistent mode -------------------------------------------------------------------------------


async def test_persistent_python_keeps_variables_imports_and_open_files(api: httpx.AsyncClient) -> None:
    first = await execute(
        api,
        "import json\nx = 41\nlog = open('log.txt', 'w')\nlog.write('a')\nprint('ready')",
        mode="persistent",
        files={"data.txt": b64("payload")},
        env_vars={"GREETING": "hi"},
    )
    instance = first["instance_id"]
    assert first["mode"] == "persistent" and instance.startswith("inst_") and first["stdout"] == "ready\n"
    code = "x += 1\nlog.write('b'); log.flush()\nimport os\nprint(x, json.dumps([1]), open('log.txt').read(), "
    code += "open('data.txt').read(), os.environ['GREETING'])"
    assert await in_instance(api, instance, code) == "42 [1] ab payload hi\n"
    assert await in_instance(api, instance, "print(x)") == "42\n"
    busy = await execute(api, "sum(range(10**6))", instance_id=instance)
    assert busy["usage"]["cpu_seconds"] > 0 and busy["cost"]["total"] > 0  # metered from the context's cgroup


async def test_a_persistent_execution_can_run_without_waiting(api: httpx.AsyncClient) -> None:
    started = await call(
        api,
        "POST",
        "/execute",
        202,
        json={"code": "y = 5\nprint(y)", "language": "python", "mode": "persistent", "async": True},
    )
    assert started["status"] == "running"
    for _ in range(600):
        record = await call(api, "GET", f"/executions/{started['execution_id']}")
        if record["status"] != "running":
            break
        await asyncio.sleep(0.1)
    assert record["status"] == "completed" and record["stdout"] == "5\n" and record["instance_id"]
    assert await in_instance(api, record["instance_id"], "print(y * 2)") == "10\n"


async def test_idle_instances_are_stopped_and_say_why(api: httpx.AsyncClient, stateful_node: Node) -> None:
    instance_id = (await execute(api, "x = 1", mode="persistent"))["instance_id"]
    tenant = (await stateful_node.api_keys.authenticate(KEY_A)).tenant_id
    instance = await stateful_node.instances.get(tenant, instance_id)
    instance.context.last_used -= stateful_node.settings.instance_idle_timeout_s + 1
    assert instance_id in await stateful_node.instances.reap_idle()
    stopped = await api.post("/execute", json={"code": "print(x)", "language": "python", "instance_id": instance_id})
    assert stopped.status_code == 409, stopped.text
    error = stopped.json()["error"]
    assert error["code"] == "CONFLICT" and "idle" in error["message"] and error["details"]["state"] == "stopped"


async def test_an_account_holds_a_bounded_number_of_instances(
    other_tenant: httpx.AsyncClient, stateful_node: Node
) -> None:
    tenant = (await stateful_node.api_keys.authenticate(KEY_B)).tenant_id
    ran = await execute(other_tenant, "x = 1", mode="persistent")
    snap = await snapshot(other_tenant, instance_id=ran["instance_id"])
    limit = stateful_node.settings.max_instances_per_tenant
    stateful_node.settings.max_instances_per_tenant = stateful_node.instances.count(tenant)
    try:
        for request in (
            other_tenant.post("/execute", json={"code": "1", "language": "python", "mode": "persistent"}),
            other_tenant.post(f"/snapshots/{snap['snapshot_id']}/restore"),
        ):
            refused = await request
            assert refused.status_code == 400 and "stop one first" in refused.json()["error"]["message"]
        assert (await execute(other_tenant, "print(x)", instance_id=ran["instance_id"]))["stdout"] == "1\n"
    finally:
        stateful_node.settings.max_instances_per_tenant = limit
        await call(other_tenant, "DELETE", f"/snapshots/{snap['snapshot_id']}")


async def test_persistent_javascript_keeps_its_globals(api: httpx.AsyncClient) -> None:
    first = await execute(api, "globalThis.counter = 41; var kept = 'yes'", "javascript", mode="persistent")
    out = await in_instance(api, first["instance_id"], "counter += 1; console.log(counter, kept)", "javascript")
    assert out == "42 yes\n"


async def test_persistent_go_keeps_files_between_executions(api: httpx.AsyncClient) -> None:
    helper = 'package main\n\nfunc greeting() string { return "from a kept file" }\n'
    first = await execute(
        api,
        'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println(greeting()) }\n',
        "go",
        mode="persistent",
        files={"helper.go": b64(helper)},
        resources={"timeout_ms": 120_000},
    )
    assert first["stdout"] == "from a kept file\n"
    second = await execute(
        api,
        'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println(greeting() + " again") }\n',
        "go",
        instance_id=first["instance_id"],
        resources={"timeout_ms": 120_000},
    )
    assert second["stdout"] == "from a kept file again\n"


async def test_an_instance_refuses_another_language_and_other_limits(api: httpx.AsyncClient) -> None:
    instance = (await execute(api, "x = 1", mode="persistent"))["instance_id"]
    wrong = await api.post("/execute", json={"code": "1", "language": "javascript", "instance_id": instance})
    assert wrong.status_code == 400 and "runs python" in wrong.json()["error"]["message"]
    other_memory = {"code": "1", "language": "python", "instance_id": instance, "resources": {"memory_mb": 1024}}
    resized = await api.post("/execute", json=other_memory)
    assert resized.status_code == 400 and resized.json()["error"]["details"]["field"] == "resources.memory_mb"
    mismatch = await api.post(
        "/execute", json={"code": "1", "language": "python", "mode": "ephemeral", "instance_id": instance}
    )
    assert mismatch.status_code == 400 and "persistent" in mismatch.json()["error"]["message"]


async def test_a_timeout_in_an_instance_keeps_its_state(api: httpx.AsyncClient) -> None:
    instance = (await execute(api, "x = 7", mode="persistent"))["instance_id"]
    slow = await api.post(
        "/execute",
        json={
            "code": "import time\ntime.sleep(30)",
            "language": "python",
            "instance_id": instance,
            "resources": {"timeout_ms": 500},
        },
    )
    assert slow.status_code == 408
    assert slow.json()["error"]["details"]["instance_id"] == instance
    assert await in_instance(api, instance, "print(x)") == "7\n"


# -- snapshots -------------------------------------------------------------------------------------


async def test_stateless_executions_cannot_be_snapshotted(api: httpx.AsyncClient) -> None:
    for mode in ("ephemeral", "cached"):
        done = await execute(api, f"print('{mode}')", mode=mode)
        refused = await api.post("/snapshots", json={"execution_id": done["execution_id"]})
        assert refused.status_code == 400, refused.text
        error = refused.json()["error"]
        assert error["code"] == "INVALID_REQUEST" and f"mode {mode}" in error["message"]
        assert error["details"]["snapshot_capable_modes"] == ["persistent", "checkpointed", "branched"]
    empty = await api.post("/snapshots", json={})
    assert empty.status_code == 400 and "instance_id" in empty.json()["error"]["message"]


async def test_snapshot_restores_variables_open_files_and_processes_twice_independently(
    api: httpx.AsyncClient,
) -> None:
    setup = (
        "import subprocess\nx = 41\nnotes = open('notes.txt', 'w')\nnotes.write('a'); notes.flush()\n"
        "worker = subprocess.Popen(['sleep', '600'])\n"
    )
    ran = await execute(api, setup, mode="persistent")
    snap = await snapshot(api, execution_id=ran["execution_id"], metadata={"name": "start", "tags": ["v1"]})
    assert snap["snapshot_id"].startswith("snap_") and snap["execution_id"] == ran["execution_id"]
    assert snap["mode"] == "checkpointed" and snap["instance_id"] == ran["instance_id"]
    assert snap["checksum"].startswith("sha256:") and len(snap["checksum"]) == 71
    assert snap["size_bytes"] > 100_000  # a Python process's memory, not a figure
    assert snap["metadata"] == {"name": "start", "tags": ["v1"]}

    first, second = await restore(api, snap["snapshot_id"]), await restore(api, snap["snapshot_id"])
    for restored in (first, second):
        assert restored["status"] == "restored" and restored["snapshot_id"] == snap["snapshot_id"]
        assert restored["execution_id"].startswith("exec_") and restored["duration_ms"] > 0
    assert first["instance_id"] != second["instance_id"] != ran["instance_id"]
    check = "notes.write('{}'); notes.flush()\nx += {}\nprint(x, open('notes.txt').read(), worker.poll())"
    assert await in_instance(api, first["instance_id"], check.format("b", 1)) == "42 ab None\n"
    assert await in_instance(api, second["instance_id"], check.format("c", 10)) == "51 ac None\n"
    assert await in_instance(api, ran["instance_id"], "print(x)") == "41\n"  # the original runs on, unchanged

    record = await call(api, "GET", f"/executions/{first['execution_id']}")
    assert record["status"] == "restored" and record["instance_id"] == first["instance_id"]
    again = await snapshot(api, instance_id=first["instance_id"])
    assert again["parent_id"] == snap["snapshot_id"]


async def test_javascript_state_survives_snapshot_and_restore(api: httpx.AsyncClient) -> None:
    ran = await execute(api, "globalThis.total = 41", "javascript", mode="persistent")
    snap = await snapshot(api, instance_id=ran["instance_id"])
    restored = await restore(api, snap["snapshot_id"])
    assert await in_instance(api, restored["instance_id"], "console.log(total + 1)", "javascript") == "42\n"


async def test_checkpointed_mode_returns_a_snapshot_of_the_state_after_the_run(api: httpx.AsyncClient) -> None:
    ran = await execute(api, "state = {'step': 1}\nprint('done')", mode="checkpointed")
    assert ran["stdout"] == "done\n" and ran["snapshot_id"].startswith("snap_") and ran["instance_id"] is None
    snap = await call(api, "GET", f"/snapshots/{ran['snapshot_id']}")
    assert snap["mode"] == "checkpointed" and snap["execution_id"] == ran["execution_id"]
    restored = await restore(api, ran["snapshot_id"])
    assert await in_instance(api, restored["instance_id"], "print(state['step'])") == "1\n"
    refused = await api.post("/snapshots", json={"execution_id": ran["execution_id"]})
    assert refused.status_code == 400 and ran["snapshot_id"] in refused.json()["error"]["message"]

    continued = await execute(api, "state['step'] += 1", mode="checkpointed", snapshot_id=ran["snapshot_id"])
    child = await call(api, "GET", f"/snapshots/{continued['snapshot_id']}")
    assert child["parent_id"] == ran["snapshot_id"]
    children = await call(api, "GET", "/snapshots", params={"parent_id": ran["snapshot_id"]})
    assert [s["snapshot_id"] for s in children["snapshots"]] == [continued["snapshot_id"]]


async def test_a_corrupted_snapshot_is_refused_and_the_node_keeps_serving(
    api: httpx.AsyncClient, stateful_node: Node
) -> None:
    ran = await execute(api, "secret = 1", mode="checkpointed")
    tenant = (await stateful_node.api_keys.authenticate(KEY_A)).tenant_id
    row = await stateful_node.snapshots.row(tenant, ran["snapshot_id"])
    blob = largest_blob(stateful_node, row.checkpoint_tree)
    os.chmod(blob, 0o644)
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF
    blob.write_bytes(bytes(data))

    refused = await api.post(f"/snapshots/{ran['snapshot_id']}/restore")
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["code"] == "CONFLICT" and "corrupted" in error["message"]
    assert (await execute(api, "print('still serving')"))["stdout"] == "still serving\n"


# -- branches and merges ---------------------------------------------------------------------------


DOC = "line 1\nline 2\nline 3\nline 4\nline 5\n"


def edit_line(number: int, text: str) -> str:
    return (
        f"lines = open('doc.txt').read().splitlines(keepends=True)\nlines[{number - 1}] = '{text}\\n'\n"
        "open('doc.txt', 'w').write(''.join(lines))\n"
    )


async def base_snapshot(api: httpx.AsyncClient) -> str:
    ran = await execute(api, "memo = 'base'", mode="checkpointed", files={"doc.txt": b64(DOC)})
    snapshot_id: str = ran["snapshot_id"]
    return snapshot_id


async def branch(api: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    return await call(api, "POST", "/branches", 201, json=fields)


async def test_two_branches_from_one_snapshot_diverge_independently(api: httpx.AsyncClient) -> None:
    base = await base_snapshot(api)
    left = await branch(api, snapshot_id=base, metadata={"name": "left"})
    right = await branch(api, snapshot_id=base)
    assert left["snapshot_id"] == left["head_snapshot_id"] == base and left["parent_branch"] is None
    assert left["metadata"] == {"name": "left"}

    on_left = await execute(api, "memo += '+left'", branch_id=left["branch_id"])
    on_right = await execute(api, "memo += '+right'", mode="branched", branch_id=right["branch_id"])
    assert on_left["mode"] == "branched" and on_left["branch_id"] == left["branch_id"]
    again = await execute(api, "memo += '+again'", branch_id=left["branch_id"])

    heads = {
        b: (await call(api, "GET", f"/branches/{b}"))["head_snapshot_id"]
        for b in (left["branch_id"], right["branch_id"])
    }
    assert heads[left["branch_id"]] == again["snapshot_id"] and heads[right["branch_id"]] == on_right["snapshot_id"]
    assert (await call(api, "GET", f"/snapshots/{again['snapshot_id']}"))["parent_id"] == on_left["snapshot_id"]
    for head, expected in ((again["snapshot_id"], "base+left+again"), (on_right["snapshot_id"], "base+right")):
        restored = await restore(api, head)
        assert await in_instance(api, restored["instance_id"], "print(memo)") == expected + "\n"

    child = await branch(api, parent_branch=left["branch_id"])
    assert child["snapshot_id"] == again["snapshot_id"] and child["parent_branch"] == left["branch_id"]
    listed = await call(api, "GET", "/branches", params={"parent_branch": left["branch_id"]})
    assert listed["total"] == 1 and listed["branches"][0]["branch_id"] == child["branch_id"]
    from_base = await call(api, "GET", "/branches", params={"snapshot_id": base})
    assert {b["branch_id"] for b in from_base["branches"]} == {left["branch_id"], right["branch_id"]}

    failed = await api.post(
        "/execute", json={"code": "raise SystemExit(3)", "language": "python", "branch_id": right["branch_id"]}
    )
    assert failed.json()["status"] == "failed" and failed.json()["snapshot_id"] is None
    assert (await call(api, "GET", f"/branches/{right['branch_id']}"))["head_snapshot_id"] == on_right["snapshot_id"]


async def test_branched_mode_from_a_snapshot_starts_a_branch(api: httpx.AsyncClient) -> None:
    base = await base_snapshot(api)
    ran = await execute(api, "memo = 'new'", mode="branched", snapshot_id=base)
    assert ran["branch_id"].startswith("branch_")
    created = await call(api, "GET", f"/branches/{ran['branch_id']}")
    assert created["snapshot_id"] == base and created["head_snapshot_id"] == ran["snapshot_id"]
    missing = await api.post("/execute", json={"code": "1", "language": "python", "mode": "branched"})
    assert missing.status_code == 400 and "branch_id or snapshot_id" in missing.json()["error"]["message"]


async def test_three_way_merge_combines_edits_with_a_fresh_session(api: httpx.AsyncClient) -> None:
    base = await base_snapshot(api)
    left, right = await branch(api, snapshot_id=base), await branch(api, snapshot_id=base)
    await execute(api, edit_line(1, "left edit"), branch_id=left["branch_id"])
    await execute(api, edit_line(5, "right edit") + "open('new.txt', 'w').write('added')", branch_id=right["branch_id"])

    merged = await call(
        api,
        "POST",
        "/branches/merge",
        201,
        json={
            "branch_ids": [left["branch_id"], right["branch_id"]],
            "strategy": "three_way",
            "metadata": {"name": "merged"},
        },
    )
    assert merged["base_snapshot_id"] == base and merged["memory_state"] == "fresh"
    assert "memory state cannot be merged" in merged["note"] and merged["resolved_conflicts"] == []
    snap = await call(api, "GET", f"/snapshots/{merged['snapshot_id']}")
    assert snap["mode"] == "merged" and snap["metadata"] == {"name": "merged"} and len(snap["merged_from"]) == 2
    restored = await restore(api, merged["snapshot_id"])
    out = await in_instance(
        api, restored["instance_id"], "print(open('doc.txt').read() + open('new.txt').read()); print('memo' in dir())"
    )
    assert out == "left edit\nline 2\nline 3\nline 4\nright edit\nadded\nFalse\n"


async def test_conflicting_merge_is_refused_with_hunks_unless_a_side_is_chosen(api: httpx.AsyncClient) -> None:
    base = await base_snapshot(api)
    left, right = await branch(api, snapshot_id=base), await branch(api, snapshot_id=base)
    await execute(api, edit_line(2, "ours"), branch_id=left["branch_id"])
    await execute(api, edit_line(2, "theirs"), branch_id=right["branch_id"])
    ids = [left["branch_id"], right["branch_id"]]

    refused = await api.post("/branches/merge", json={"branch_ids": ids})
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["code"] == "CONFLICT" and error["details"]["base_snapshot_id"] == base
    [conflict] = error["details"]["conflicts"]
    assert conflict["path"] == "doc.txt" and conflict["kind"] == "content"
    [hunk] = conflict["hunks"]
    assert hunk["base"] == {"start": 2, "lines": ["line 2\n"]}
    assert hunk["ours"]["lines"] == ["ours\n"] and hunk["theirs"]["lines"] == ["theirs\n"]

    for strategy, winner in (("ours", "ours"), ("theirs", "theirs")):
        merged = await call(api, "POST", "/branches/merge", 201, json={"branch_ids": ids, "strategy": strategy})
        assert [c["path"] for c in merged["resolved_conflicts"]] == ["doc.txt"]
        restored = await restore(api, merged["snapshot_id"])
        assert await in_instance(api, restored["instance_id"], "print(open('doc.txt').read().splitlines()[1])") == (
            winner + "\n"
        )


async def test_three_branches_merge_against_their_nearest_common_ancestor(api: httpx.AsyncClient) -> None:
    root = await base_snapshot(api)
    trunk = await branch(api, snapshot_id=root)
    ancestor = (await execute(api, edit_line(3, "trunk edit"), branch_id=trunk["branch_id"]))["snapshot_id"]
    sides = [await branch(api, snapshot_id=ancestor) for _ in range(3)]
    edits = (edit_line(1, "edit 1"), edit_line(5, "edit 5"), "open('c.txt', 'w').write('third')")
    for side, code in zip(sides, edits, strict=True):
        await execute(api, code, branch_id=side["branch_id"])
    merged = await call(api, "POST", "/branches/merge", 201, json={"branch_ids": [b["branch_id"] for b in sides]})
    assert merged["base_snapshot_id"] == ancestor  # the nearest one, not the root
    restored = await restore(api, merged["snapshot_id"])
    code = "print(open('doc.txt').read() + open('c.txt').read())"
    assert (
        await in_instance(api, restored["instance_id"], code) == "edit 1\nline 2\ntrunk edit\nline 4\nedit 5\nthird\n"
    )


async def test_merge_rejects_bad_requests(api: httpx.AsyncClient) -> None:
    base = await base_snapshot(api)
    only = await branch(api, snapshot_id=base)
    one = await api.post("/branches/merge", json={"branch_ids": [only["branch_id"]]})
    assert one.status_code == 400
    twice = await api.post("/branches/merge", json={"branch_ids": [only["branch_id"], only["branch_id"]]})
    assert twice.status_code == 400 and "distinct" in twice.json()["error"]["message"]
    unknown = await api.post("/branches/merge", json={"branch_ids": [only["branch_id"], "branch_nope"]})
    assert unknown.status_code == 404
    strategy = await api.post("/branches/merge", json={"branch_ids": [only["branch_id"], "x"], "strategy": "octopus"})
    assert strategy.status_code == 400


# -- isolation, deletion, pagination, storage ------------------------------------------------------


async def test_other_tenants_see_nothing(api: httpx.AsyncClient, other_tenant: httpx.AsyncClient) -> None:
    ran = await execute(api, "x = 1", mode="persistent")
    snap = await snapshot(api, instance_id=ran["instance_id"])
    own = await branch(api, snapshot_id=snap["snapshot_id"])
    foreign = [
        ("GET", f"/snapshots/{snap['snapshot_id']}", None),
        ("POST", f"/snapshots/{snap['snapshot_id']}/restore", None),
        ("DELETE", f"/snapshots/{snap['snapshot_id']}", None),
        ("POST", "/snapshots", {"instance_id": ran["instance_id"]}),
        ("POST", "/snapshots", {"execution_id": ran["execution_id"]}),
        ("GET", f"/branches/{own['branch_id']}", None),
        ("POST", "/branches", {"snapshot_id": snap["snapshot_id"]}),
        ("POST", "/branches/merge", {"branch_ids": [own["branch_id"], own["branch_id"] + "x"]}),
        ("POST", "/execute", {"code": "print(x)", "language": "python", "instance_id": ran["instance_id"]}),
        ("POST", "/execute", {"code": "1", "language": "python", "branch_id": own["branch_id"]}),
        (
            "POST",
            "/execute",
            {"code": "1", "language": "python", "mode": "persistent", "snapshot_id": snap["snapshot_id"]},
        ),
    ]
    for method, path, body in foreign:
        response = await other_tenant.request(method, path, json=body)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["code"] == "NOT_FOUND"
    assert snap["snapshot_id"] not in {
        s["snapshot_id"] for s in (await call(other_tenant, "GET", "/snapshots"))["snapshots"]
    }
    assert (await call(other_tenant, "GET", "/branches", params={"snapshot_id": snap["snapshot_id"]}))["total"] == 0


async def test_delete_refuses_while_needed_unless_forced_and_frees_storage(api: httpx.AsyncClient) -> None:
    parent = await base_snapshot(api)
    child = (await execute(api, "memo = 'child'", mode="checkpointed", snapshot_id=parent))["snapshot_id"]
    held = await branch(api, snapshot_id=child)
    before = (await call(api, "GET", "/usage/current"))["storage_used_bytes"]

    refused = await api.delete(f"/snapshots/{parent}")
    assert refused.status_code == 409 and refused.json()["error"]["details"]["children"] == [child]
    refused = await api.delete(f"/snapshots/{child}")
    assert refused.status_code == 409 and refused.json()["error"]["details"]["branches"] == [held["branch_id"]]

    forced = await call(api, "DELETE", f"/snapshots/{child}", params={"force": "true"})
    assert forced["deleted_branches"] == [held["branch_id"]]
    assert (await api.get(f"/branches/{held['branch_id']}")).status_code == 404
    assert (await api.get(f"/snapshots/{child}")).status_code == 404
    deleted = await call(api, "DELETE", f"/snapshots/{parent}")
    assert deleted == {"snapshot_id": parent, "deleted": True, "deleted_branches": [], "reparented_children": []}
    after = (await call(api, "GET", "/usage/current"))["storage_used_bytes"]
    assert after < before
    assert (await api.post(f"/snapshots/{parent}/restore")).status_code == 404


async def test_force_delete_reparents_children(api: httpx.AsyncClient) -> None:
    grandparent = await base_snapshot(api)
    parent = (await execute(api, "memo = 'p'", mode="checkpointed", snapshot_id=grandparent))["snapshot_id"]
    child = (await execute(api, "memo = 'c'", mode="checkpointed", snapshot_id=parent))["snapshot_id"]
    forced = await call(api, "DELETE", f"/snapshots/{parent}", params={"force": "true"})
    assert forced["reparented_children"] == [child]
    assert (await call(api, "GET", f"/snapshots/{child}"))["parent_id"] == grandparent
    restored = await restore(api, child)  # its content did not depend on the deleted parent
    assert await in_instance(api, restored["instance_id"], "print(memo)") == "c\n"


async def test_snapshots_paginate_and_filter(stateful_app: FastAPI, stateful_node: Node) -> None:
    created = await stateful_node.api_keys.create_key("pagination")  # a tenant of its own: exact totals
    async with http_client(stateful_app, created.key) as fresh:
        made = [(await execute(fresh, f"n = {i}", mode="checkpointed"))["snapshot_id"] for i in range(3)]
        page = await call(fresh, "GET", "/snapshots", params={"limit": 2})
        assert page["total"] == 3 and page["limit"] == 2 and page["offset"] == 0 and len(page["snapshots"]) == 2
        rest = await call(fresh, "GET", "/snapshots", params={"limit": 2, "offset": 2})
        seen = [s["snapshot_id"] for s in page["snapshots"] + rest["snapshots"]]
        assert sorted(seen) == sorted(made) and len(set(seen)) == 3
        assert (await call(fresh, "GET", "/snapshots", params={"mode": "merged"}))["total"] == 0
        assert (await call(fresh, "GET", "/snapshots", params={"mode": "checkpointed"}))["total"] == 3
        assert (await call(fresh, "GET", "/snapshots"))["limit"] == 20
        for params in ({"limit": 0}, {"limit": 101}, {"offset": -1}, {"mode": "sideways"}):
            bad = await fresh.get("/snapshots", params=params)
            assert bad.status_code == 400 and bad.json()["error"]["code"] == "INVALID_REQUEST", params
        usage = await call(fresh, "GET", "/usage")
        assert usage["storage"]["snapshots_created"] == 3 and usage["storage"]["total_gb_stored"] > 0
        for snapshot_id in made:
            await call(fresh, "DELETE", f"/snapshots/{snapshot_id}")


async def test_concurrent_commits_on_one_branch_each_advance_it(api: httpx.AsyncClient) -> None:
    base = await base_snapshot(api)
    line = await branch(api, snapshot_id=base)
    runs = await asyncio.gather(*(execute(api, f"memo += '+{i}'", branch_id=line["branch_id"]) for i in range(2)))
    head = (await call(api, "GET", f"/branches/{line['branch_id']}"))["head_snapshot_id"]
    assert head in {run["snapshot_id"] for run in runs}
    restored = await restore(api, head)
    memo = await in_instance(api, restored["instance_id"], "print(memo)")
    assert memo.startswith("base+") and memo.count("+") == 2  # committed one after the other, none lost


def largest_blob(node: Node, tree: str) -> Path:
    store = node.snapshots.contexts.store
    entry = max(store.tree(tree).entries.values(), key=lambda item: item.size)
    assert entry.digest is not None
    return node.settings.data_dir / "snapshots" / "blobs" / entry.digest[:2] / entry.digest  # the store's layout
