"""SSH into instances with the OpenSSH client, on real Docker and CRIU."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import asyncssh
import httpx
import pytest
from fastapi import FastAPI

from tests.api.stateful import call, http_client, running_app, stateful_settings
from tests.conftest import KEY_A, KEY_B

pytestmark = pytest.mark.usefixtures("criu_ready")


@pytest.fixture(scope="module")
async def ssh_app(require_docker: None, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FastAPI]:
    settings = stateful_settings(tmp_path_factory.mktemp("ssh-node"), ssh_port_min=23100, ssh_port_max=23199)
    async with running_app(settings) as application:
        yield application


@pytest.fixture(scope="module")
async def api(ssh_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(ssh_app, KEY_A) as client:
        yield client


@pytest.fixture
async def instance(api: httpx.AsyncClient) -> AsyncIterator[str]:
    created = await call(api, "POST", "/instances", 201, json={"language": "python", "resources": {"memory_mb": 256}})
    instance_id: str = created["instance_id"]
    await call(
        api,
        "POST",
        "/execute",
        json={
            "instance_id": instance_id,
            "language": "python",
            "code": "open('/workspace/note', 'w').write('from python')",
        },
    )
    yield instance_id
    await api.post(f"/instances/{instance_id}/stop")


def public_part(private_key: str) -> bytes:
    return bytes(asyncssh.import_private_key(private_key).public_data)


class Ssh:
    """The OpenSSH client with the instance's key and a known_hosts file it fills on first connect."""

    def __init__(self, access: dict[str, object], directory: Path) -> None:
        self.access = access
        self.key = directory / "id_ed25519"
        self.key.write_text(str(access["private_key"]))
        self.key.chmod(0o600)
        self.known_hosts = directory / "known_hosts"

    async def run(
        self, *command: str, key: Path | None = None, stdin: bytes = b"", tty: bool = False
    ) -> tuple[int, str, str]:
        process = await self.start(*command, key=key, tty=tty)
        stdout, stderr = await asyncio.wait_for(process.communicate(stdin), timeout=60)
        assert process.returncode is not None
        return process.returncode, stdout.decode(), stderr.decode()

    async def start(self, *command: str, key: Path | None = None, tty: bool = False) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            "ssh", *(["-tt"] if tty else []), "-F", "/dev/null", "-i", str(key or self.key), "-o", "IdentitiesOnly=yes",
            "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=accept-new",
            "-o", f"UserKnownHostsFile={self.known_hosts}", "-o", "ConnectTimeout=10",
            "-p", str(self.access["port"]), f"{self.access['username']}@{self.access['host']}", *command,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip

    async def host_fingerprint(self) -> str:
        process = await asyncio.create_subprocess_exec(
            "ssh-keygen", "-l", "-E", "sha256", "-f", str(self.known_hosts), stdout=asyncio.subprocess.PIPE
        )
        stdout, _ = await process.communicate()
        return stdout.decode().split()[1]


async def test_a_real_ssh_client_logs_in_and_runs_commands_inside_the_instance(
    api: httpx.AsyncClient, instance: str, tmp_path: Path
) -> None:
    access = await call(api, "GET", f"/instances/{instance}/ssh")
    assert access["username"] == "root"
    assert access["private_key"].startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    assert access["fingerprint"].startswith("SHA256:")
    assert access["ssh_url"] == f"ssh://root@{access['host']}:{access['port']}"
    assert (await call(api, "GET", f"/instances/{instance}"))["endpoints"]["ssh"] == access["ssh_url"]
    ssh = Ssh(access, tmp_path)

    code, out, err = await ssh.run("cat /workspace/note; echo; id -u; hostname; cat /proc/1/cmdline | tr '\\0' ' '")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "from python"  # the file the instance's own execution wrote: the same sandbox
    assert lines[1] == "0"
    assert await ssh.host_fingerprint() == access["fingerprint"]  # the host key is the one the API announced

    code, out, _ = await ssh.run("cat > /workspace/from-ssh; exit 7", stdin=b"piped through ssh")
    assert code == 7  # the command's exit status reaches the client
    result = await call(
        api,
        "POST",
        "/execute",
        json={"instance_id": instance, "language": "python", "code": "print(open('/workspace/from-ssh').read())"},
    )
    assert result["stdout"].strip() == "piped through ssh"

    # Asking again gives the same credentials (one server, one key per instance).
    again = await call(api, "GET", f"/instances/{instance}/ssh")
    assert (again["port"], again["fingerprint"]) == (access["port"], access["fingerprint"])
    assert public_part(again["private_key"]) == public_part(access["private_key"])


async def test_a_terminal_session_gets_a_pty(api: httpx.AsyncClient, instance: str, tmp_path: Path) -> None:
    ssh = Ssh(await call(api, "GET", f"/instances/{instance}/ssh"), tmp_path)
    code, out, _ = await ssh.run("tty; echo $TERM", tty=True)
    assert code == 0
    device, term = out.replace("\r", "").splitlines()[:2]
    assert device.startswith("/dev/pts/")
    assert term and term != "dumb"


async def test_ssh_sessions_keep_the_sandbox_hardening(api: httpx.AsyncClient, instance: str, tmp_path: Path) -> None:
    ssh = Ssh(await call(api, "GET", f"/instances/{instance}/ssh"), tmp_path)
    code, out, _ = await ssh.run("grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status; touch /etc/x 2>&1; true")
    assert code == 0
    assert "CapEff:\t0000000000000000" in out
    assert "NoNewPrivs:\t1" in out
    assert "Seccomp:\t2" in out
    assert "Read-only file system" in out


async def test_only_the_instance_key_logs_in(api: httpx.AsyncClient, instance: str, tmp_path: Path) -> None:
    ssh = Ssh(await call(api, "GET", f"/instances/{instance}/ssh"), tmp_path)
    stranger = tmp_path / "stranger"
    generated = await asyncio.create_subprocess_exec(
        "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger), stdout=asyncio.subprocess.DEVNULL
    )
    assert await generated.wait() == 0
    code, _, err = await ssh.run("true", key=stranger)
    assert code == 255
    assert "Permission denied" in err


async def test_ssh_follows_pause_resume_and_stop(api: httpx.AsyncClient, instance: str, tmp_path: Path) -> None:
    access = await call(api, "GET", f"/instances/{instance}/ssh")
    ssh = Ssh(access, tmp_path)
    assert (await ssh.run("true"))[0] == 0
    running = await ssh.start("sleep 600")  # a session open during the pause does not stop the checkpoint
    await asyncio.sleep(1)
    await call(api, "POST", f"/instances/{instance}/pause")
    assert await asyncio.wait_for(running.wait(), timeout=30) != 0
    code, _, err = await ssh.run("true")
    assert code == 255 and "is paused" in err
    await call(api, "POST", f"/instances/{instance}/resume")
    code, out, _ = await ssh.run("cat /workspace/note")
    assert (code, out) == (0, "from python")
    # A process an SSH session leaves running after a resume does not break the next pause and resume.
    assert (await ssh.run("setsid sleep 600 </dev/null >/dev/null 2>&1 &"))[0] == 0
    await call(api, "POST", f"/instances/{instance}/pause")
    await call(api, "POST", f"/instances/{instance}/resume")
    assert (await ssh.run("cat /workspace/note"))[1] == "from python"
    await call(api, "POST", f"/instances/{instance}/stop")
    code, _, err = await ssh.run("true")
    assert code == 255
    assert "refused" in err.lower() or "closed" in err.lower()
    conflict = await api.get(f"/instances/{instance}/ssh")
    assert conflict.status_code == 409


async def test_another_tenant_gets_404(ssh_app: FastAPI, instance: str) -> None:
    async with http_client(ssh_app, KEY_B) as other:
        response = await other.get(f"/instances/{instance}/ssh")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
