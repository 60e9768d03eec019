"""Instance file copies, tar transfers and syncs, on real Docker (and CRIU for the paused case)."""

from __future__ import annotations

import io
import tarfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from service.files import plan_sync
from tests.api.stateful import call, http_client, running_app, stateful_settings
from tests.api.test_instances import create, run, stop
from tests.conftest import KEY_A, KEY_B


@pytest.fixture(scope="module")
async def files_app(require_docker: None, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FastAPI]:
    async with running_app(stateful_settings(tmp_path_factory.mktemp("files-node"), memory_budget_mb=2048)) as app:
        yield app


@pytest.fixture(scope="module")
async def api(files_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(files_app, KEY_A) as client:
        yield client


@pytest.fixture
async def instance(api: httpx.AsyncClient) -> AsyncIterator[str]:
    instance_id: str = (await create(api))["instance_id"]
    yield instance_id
    await stop(api, instance_id)


def write(root: Path, files: dict[str, str]) -> None:
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(content)


async def sync(api: httpx.AsyncClient, instance_id: str, **fields: Any) -> dict[str, Any]:
    return await call(api, "POST", f"/instances/{instance_id}/sync", json=fields)


async def test_upload_then_download_a_directory(api: httpx.AsyncClient, instance: str, files_app: FastAPI) -> None:
    root = files_app.state.node.settings.resolved_files_root
    root.mkdir(parents=True, exist_ok=True)
    write(root, {"proj/a.txt": "alpha", "proj/sub/b.txt": "beta"})
    body = {"direction": "upload", "local_path": "proj", "remote_path": "code"}
    assert await call(api, "POST", f"/instances/{instance}/copy", json=body) == {"files": 2, "bytes": 9}
    code = "print(open('/workspace/code/a.txt').read(), open('/workspace/code/sub/b.txt').read())"
    assert await run(api, instance, code) == "alpha beta\n"
    await run(api, instance, "open('/workspace/code/c.txt', 'w').write('gamma')")
    body = {"direction": "download", "local_path": "back", "remote_path": "code"}
    assert (await call(api, "POST", f"/instances/{instance}/copy", json=body))["files"] == 3
    assert (root / "back/c.txt").read_text() == "gamma" and (root / "back/sub/b.txt").read_text() == "beta"
    body = {"direction": "download", "local_path": "single.txt", "remote_path": "code/a.txt"}
    assert (await call(api, "POST", f"/instances/{instance}/copy", json=body))["files"] == 1
    assert (root / "single.txt").read_text() == "alpha"


async def test_tar_round_trip(api: httpx.AsyncClient, instance: str) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, content in {"x.txt": b"ex", "d/y.txt": b"why"}.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    put = await api.put(f"/instances/{instance}/files", params={"path": "up"}, content=buffer.getvalue())
    assert put.status_code == 200 and put.json() == {"files": 2, "bytes": 5}, put.text
    assert await run(api, instance, "print(open('/workspace/up/d/y.txt').read())") == "why\n"
    got = await api.get(f"/instances/{instance}/files", params={"path": "up"})
    assert got.status_code == 200 and got.headers["content-type"] == "application/x-tar"
    with tarfile.open(fileobj=io.BytesIO(got.content)) as archive:
        contents = {m.name: archive.extractfile(m).read() for m in archive if m.isfile()}  # type: ignore[union-attr]
    assert contents == {"x.txt": b"ex", "d/y.txt": b"why"}


def tar_with(member: tarfile.TarInfo, content: bytes = b"") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        member.size = len(content) if member.isfile() else 0
        archive.addfile(member, io.BytesIO(content) if member.isfile() else None)
    return buffer.getvalue()


def link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


async def test_traversal_is_refused(api: httpx.AsyncClient, instance: str, files_app: FastAPI) -> None:
    copy = f"/instances/{instance}/copy"
    for local, remote in [("../x", "x"), ("/etc/passwd", "x"), ("x", "../x"), ("x", "/etc/passwd")]:
        body = {"direction": "upload", "local_path": local, "remote_path": remote}
        refused = await call(api, "POST", copy, 400, json=body)
        assert "relative" in refused["error"]["message"] or ".." in refused["error"]["message"]
    await run(api, instance, "import os; os.symlink('/etc', '/workspace/etc')")
    for remote in ("etc", "etc/passwd"):
        body = {"direction": "download", "local_path": "stolen", "remote_path": remote}
        assert "symlink" in (await call(api, "POST", copy, 400, json=body))["error"]["message"]
    assert (await api.get(f"/instances/{instance}/files", params={"path": "etc/passwd"})).status_code == 400
    body = {"direction": "upload", "local_path": "x", "remote_path": "etc/evil"}
    root: Path = files_app.state.node.settings.resolved_files_root
    write(root, {"x": "x"})
    assert "symlink" in (await call(api, "POST", copy, 400, json=body))["error"]["message"]
    (root / "hostlink").symlink_to("/etc")
    body = {"direction": "upload", "local_path": "hostlink/passwd", "remote_path": "p"}
    assert "symlink" in (await call(api, "POST", copy, 400, json=body))["error"]["message"]
    evil = tarfile.TarInfo("../evil")
    for archive in (tar_with(evil, b"e"), tar_with(tarfile.TarInfo("/abs"), b"a"), tar_with(link("l", "/etc"))):
        put = await api.put(f"/instances/{instance}/files", content=archive)
        assert put.status_code == 400, put.text
    device = tarfile.TarInfo("dev")
    device.type = tarfile.CHRTYPE
    for archive in (tar_with(device), tar_with(link("l", "../../x")), tar_with(link("h", "x", tarfile.LNKTYPE))):
        assert (await api.put(f"/instances/{instance}/files", content=archive)).status_code == 400
    assert await run(api, instance, "import os; print(os.path.exists('/evil'), os.path.exists('/workspace/l'))") == (
        "False False\n"
    )


async def test_one_way_sync_sends_only_changes_and_deletions(
    api: httpx.AsyncClient, instance: str, files_app: FastAPI
) -> None:
    root: Path = files_app.state.node.settings.resolved_files_root
    write(root, {"s1/a": "1", "s1/b": "2", "s1/node_modules/m": "m"})
    first = await sync(api, instance, local_dir="s1", remote_dir="r1", exclude=["node_modules"])
    assert first["uploaded"] == ["a", "b"] and first["transferred"] == 2
    assert await run(api, instance, "import os; print(sorted(os.listdir('/workspace/r1')))") == "['a', 'b']\n"
    again = await sync(api, instance, local_path="s1", remote_path="r1", exclude=["node_modules"])
    assert again["transferred"] == 0 and again["unchanged"] == ["a", "b"] and again["deleted"] == 0
    write(root, {"s1/b": "changed"})
    changed = await sync(api, instance, local_path="s1", remote_path="r1", exclude=["node_modules"])
    assert changed["uploaded"] == ["b"] and changed["unchanged"] == ["a"]
    (root / "s1/a").unlink()
    deleted = await sync(api, instance, local_path="s1", remote_path="r1", exclude=["node_modules"])
    assert deleted["deleted_remote"] == ["a"] and deleted["transferred"] == 0
    listing = "import os; print(sorted(os.listdir('/workspace/r1')), open('/workspace/r1/b').read())"
    assert await run(api, instance, listing) == "['b'] changed\n"


async def test_bidirectional_sync_reports_conflicts(api: httpx.AsyncClient, instance: str, files_app: FastAPI) -> None:
    root: Path = files_app.state.node.settings.resolved_files_root
    write(root, {"s2/both": "base", "s2/mine": "base"})
    await sync(api, instance, local_path="s2", remote_path="r2", bidirectional=True)
    write(root, {"s2/both": "local edit", "s2/mine": "local edit"})
    await run(api, instance, "open('/workspace/r2/both', 'w').write('remote edit'); open('/workspace/r2/new', 'w')")
    result = await sync(api, instance, local_path="s2", remote_path="r2", bidirectional=True)
    assert result["conflicts"] == ["both"] and result["uploaded"] == ["mine"] and result["downloaded"] == ["new"]
    assert (root / "s2/both").read_text() == "local edit" and (root / "s2/new").exists()
    assert await run(api, instance, "print(open('/workspace/r2/both').read())") == "remote edit\n"
    await run(api, instance, "import os; os.remove('/workspace/r2/mine')")
    result = await sync(api, instance, local_path="s2", remote_path="r2", bidirectional=True)
    assert result["deleted_local"] == ["mine"] and result["conflicts"] == ["both"]
    assert not (root / "s2/mine").exists() and (root / "s2/both").read_text() == "local edit"


async def test_other_tenant_404_and_paused_409(api: httpx.AsyncClient, files_app: FastAPI, criu_ready: None) -> None:
    instance_id = (await create(api))["instance_id"]
    body = {"direction": "download", "local_path": "o", "remote_path": ""}
    async with http_client(files_app, KEY_B) as other:
        assert (await other.post(f"/instances/{instance_id}/copy", json=body)).status_code == 404
        assert (await other.get(f"/instances/{instance_id}/files")).status_code == 404
        assert (
            await other.post(f"/instances/{instance_id}/sync", json={"local_path": "o", "remote_path": ""})
        ).status_code == 404
    await call(api, "POST", f"/instances/{instance_id}/pause")
    assert (await api.post(f"/instances/{instance_id}/copy", json=body)).status_code == 409
    assert (await api.get(f"/instances/{instance_id}/files")).status_code == 409
    await stop(api, instance_id)


def test_sync_plan_without_a_base_never_overwrites() -> None:
    plan = plan_sync({"a": "1", "b": "2"}, {"b": "3", "c": "4"}, {}, bidirectional=True)
    assert (plan.upload, plan.download, plan.conflicts) == (["a"], ["c"], ["b"])
    one_way = plan_sync({"a": "1"}, {"a": "2", "c": "4"}, {"c": "4"}, bidirectional=False)
    assert (one_way.upload, one_way.delete_remote) == (["a"], ["c"])
