"""`faas keys` as an operator uses it, against a running `faas serve` on the same data dir."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

import httpx

from tests.cli.test_serve import FAAS, Server, servers

__all__ = ["servers"]  # fixture shared with test_serve.py


def faas_keys(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("FAAS_")}
    env["FAAS_DATA_DIR"] = str(data_dir)
    return subprocess.run([FAAS, "keys", *args], capture_output=True, text=True, env=env, timeout=60, check=False)


def create(data_dir: Path, *args: str) -> dict[str, str]:
    result = faas_keys(data_dir, "create", *args)
    assert result.returncode == 0, result.stderr
    fields = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    assert set(fields) == {"key_id", "tenant_id", "key"}
    assert "shown only this once" in result.stderr
    return fields


def test_keys_are_created_listed_and_revoked_while_a_server_runs(tmp_path: Path, servers: list[Server]) -> None:
    owner = create(tmp_path, "--name", "owner", "--credits", "5", "--rpm", "30")
    teammate = create(tmp_path, "--name", "teammate", "--tenant", owner["tenant_id"], "--scopes", "read")
    stranger = create(tmp_path, "--name", "stranger")
    assert teammate["tenant_id"] == owner["tenant_id"] != stranger["tenant_id"]
    assert len({owner["key"], teammate["key"], stranger["key"]}) == 3

    listed = faas_keys(tmp_path, "list")
    assert listed.returncode == 0, listed.stderr
    as_json = faas_keys(tmp_path, "list", "--json")
    for key in (owner["key"], teammate["key"], stranger["key"]):
        assert key not in listed.stdout and key not in as_json.stdout
    assert owner["key_id"] in listed.stdout and owner["key"][:9] in listed.stdout
    rows = {row["key_id"]: row for row in json.loads(as_json.stdout)}
    assert rows[owner["key_id"]]["credits"] == 5.0 and rows[owner["key_id"]]["requests_per_minute"] == 30
    assert rows[teammate["key_id"]]["scopes"] == ["read"]
    assert rows[stranger["key_id"]]["credits"] == 100.0
    assert all(row["revoked_at"] is None for row in rows.values())

    server = Server(tmp_path, {})
    servers.append(server)
    assert not re.findall(r"faas_[A-Za-z0-9_-]{40,}", server.output())  # keys exist: nothing generated

    def call(method: str, path: str, key: str, **kwargs: object) -> httpx.Response:
        return httpx.request(method, f"{server.url}{path}", headers={"X-API-Key": key}, timeout=60, **kwargs)  # type: ignore[arg-type]

    ran = call("POST", "/execute", owner["key"], json={"code": "print('mine')", "language": "python"})
    assert ran.status_code == 200, ran.text
    path = f"/executions/{ran.json()['execution_id']}"
    assert call("GET", path, teammate["key"]).json()["stdout"] == "mine\n"
    assert call("GET", path, stranger["key"]).status_code == 404
    assert call("POST", "/execute", teammate["key"], json={"code": "1", "language": "python"}).status_code == 403

    revoked = faas_keys(tmp_path, "revoke", owner["key_id"])
    assert revoked.returncode == 0, revoked.stderr
    deadline = time.monotonic() + 3  # a running node forgets verified keys after 1 s
    while (refused := call("GET", path, owner["key"])).status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "UNAUTHORIZED"
    assert call("GET", path, teammate["key"]).status_code == 200
    assert json.loads(faas_keys(tmp_path, "list", "--json").stdout)[0]["revoked_at"] is not None


def test_bad_input_is_refused_with_a_message(tmp_path: Path) -> None:
    unknown = faas_keys(tmp_path, "revoke", "key_nope")
    assert unknown.returncode == 1 and "not found" in unknown.stderr
    scopes = faas_keys(tmp_path, "create", "--name", "x", "--scopes", "admin")
    assert scopes.returncode == 1 and "scopes" in scopes.stderr
    tenant = faas_keys(tmp_path, "create", "--name", "x", "--tenant", "tenant_nope")
    assert tenant.returncode == 1 and "not found" in tenant.stderr
    assert faas_keys(tmp_path, "list", "--json").stdout.strip() == "[]"
