"""Hardening and limits, observed from inside the sandbox and from outside."""

from __future__ import annotations

import asyncio

import httpx

from service import Node
from tests.conftest import run, run_ok

INSPECT = """
import os, resource, socket
status = dict(line.split(':\\t', 1) for line in open('/proc/self/status').read().splitlines() if ':\\t' in line)
print('uid', os.getuid())
print('capeff', status['CapEff'].strip())
print('nonewprivs', status['NoNewPrivs'].strip())
print('nofile', resource.getrlimit(resource.RLIMIT_NOFILE)[1])
print('host', socket.gethostname())
try:
    open('/usr/evil', 'w')
except OSError as exc:
    print('rootfs', exc.errno)
open('/workspace/ok', 'w').write('x'); open('/tmp/ok', 'w').write('x')
print('writable yes')
print('memlimit', open('/sys/fs/cgroup/memory/memory.limit_in_bytes').read().strip())
print('cpuquota', open('/sys/fs/cgroup/cpu/cpu.cfs_quota_us').read().strip(),
      open('/sys/fs/cgroup/cpu/cpu.cfs_period_us').read().strip())
print('pids', open('/sys/fs/cgroup/pids/pids.max').read().strip())
"""


def facts(stdout: str) -> dict[str, str]:
    return dict(line.split(" ", 1) for line in stdout.splitlines())


async def test_sandbox_runs_unprivileged_read_only_and_limited(client: httpx.AsyncClient) -> None:
    body = await run_ok(client, INSPECT, resources={"cpu_cores": 0.5, "memory_mb": 256})
    seen = facts(body["stdout"])
    assert seen["uid"] == "1000"
    assert seen["capeff"] == "0000000000000000"
    assert seen["nonewprivs"] == "1"
    assert seen["nofile"] == "1024"
    assert seen["rootfs"] == "30"  # EROFS
    assert seen["writable"] == "yes"
    assert seen["memlimit"] == str(256 * 1024 * 1024)
    quota, period = map(int, seen["cpuquota"].split())
    assert quota / period == 0.5
    assert seen["pids"] == "256"


async def test_every_execution_gets_a_fresh_sandbox(client: httpx.AsyncClient) -> None:
    code = (
        "import os, socket\nprint(socket.gethostname(), os.path.exists('/tmp/left-behind'))\n"
        "open('/tmp/left-behind', 'w').write('secret')"
    )
    results = [await run_ok(client, code) for _ in range(3)]
    hosts = [r["stdout"].split()[0] for r in results]
    assert len(set(hosts)) == 3
    assert all(r["stdout"].split()[1] == "False" for r in results)


async def test_network_connections_are_blocked(client: httpx.AsyncClient) -> None:
    code = (
        "import socket\n"
        "for target in [('1.1.1.1', 53), ('127.0.0.1', 8080)]:\n"
        "    try:\n"
        "        socket.create_connection(target, timeout=2); print('connected', target)\n"
        "    except OSError as exc:\n"
        "        print('blocked', exc.errno)\n"
        "print(sorted(i[1] for i in socket.if_nameindex()))\n"
    )
    body = await run_ok(client, code)
    assert "connected" not in body["stdout"]
    assert body["stdout"].count("blocked") == 2
    assert body["stdout"].strip().endswith("['lo']")


async def test_timeout_kills_the_sandbox_and_keeps_partial_output(client: httpx.AsyncClient, node: Node) -> None:
    response = await run(
        client, "import time\nprint('started', flush=True)\ntime.sleep(30)", resources={"timeout_ms": 1000}
    )
    assert response.status_code == 408
    error = response.json()["error"]
    assert error["code"] == "EXECUTION_TIMEOUT"
    assert error["details"]["stdout"] == "started\n"
    assert error["details"]["status"] == "timeout"
    assert 1000 <= error["details"]["duration_ms"] < 10_000
    stored = await client.get(f"/api/v1/executions/{error['details']['execution_id']}")
    assert stored.json()["status"] == "timeout"


async def test_memory_exhaustion_is_reported_as_oom(client: httpx.AsyncClient) -> None:
    code = "chunks = []\nwhile True:\n    chunks.append(bytearray(16 * 1024 * 1024))"
    body = await run_ok(client, code, resources={"memory_mb": 128})
    assert body["status"] == "failed"
    assert body["exit_code"] == 137
    assert body["oom_killed"] is True
    assert "out of memory" in body["error"]


async def test_fork_bomb_is_contained_and_node_keeps_serving(client: httpx.AsyncClient) -> None:
    bomb = (
        "import os, sys\n"
        "failures = 0\n"
        "while True:\n"
        "    try:\n"
        "        os.fork()\n"
        "    except OSError:\n"
        "        failures += 1\n"
        "        if failures == 1 and os.getpid() > 0: sys.stderr.write('fork refused\\n'); sys.stderr.flush()\n"
    )
    bomb_task = asyncio.create_task(run(client, bomb, resources={"timeout_ms": 4000}))
    await asyncio.sleep(1.0)
    meanwhile = await run_ok(client, "print('still serving')")
    assert meanwhile["stdout"] == "still serving\n"
    response = await bomb_task
    assert response.status_code in (200, 408)
    details = response.json()["error"]["details"] if response.status_code == 408 else response.json()
    assert "fork refused" in details["stderr"]


async def test_output_flood_is_capped_and_flagged(client: httpx.AsyncClient) -> None:
    body = await run_ok(client, "import sys\nfor _ in range(64):\n    sys.stdout.write('x' * 65536)\nprint('end')")
    assert body["truncated"] is True
    assert len(body["stdout"]) == 1024 * 1024
    small = await run_ok(client, "print('small')")
    assert small["truncated"] is False


async def test_endless_output_flood_is_stopped_by_the_timeout(client: httpx.AsyncClient) -> None:
    response = await run(client, "while True:\n    print('y' * 4096)", resources={"timeout_ms": 1500})
    assert response.status_code == 408
    details = response.json()["error"]["details"]
    assert details["truncated"] is True
    assert len(details["stdout"]) <= 1024 * 1024


async def test_disk_filling_is_contained(client: httpx.AsyncClient) -> None:
    code = (
        "import errno\n"
        "chunk = b'z' * (1 << 20)\n"
        "written = 0\n"
        "try:\n"
        "    with open('/workspace/fill', 'wb') as f:\n"
        "        while True:\n"
        "            f.write(chunk); f.flush(); written += 1\n"
        "except OSError as exc:\n"
        "    print('stopped', errno.errorcode[exc.errno], written)\n"
    )
    body = await run_ok(client, code, resources={"memory_mb": 1024})
    word, code_name, written = body["stdout"].split()
    assert (word, code_name) == ("stopped", "ENOSPC")
    assert int(written) <= 256


async def test_program_cannot_kill_the_agent(client: httpx.AsyncClient) -> None:
    # The agent is the sandbox's PID 1: the kernel ignores SIGKILL sent to it from inside.
    code = "import os, signal\nassert os.getppid() == 1\nos.kill(1, signal.SIGKILL)\nprint('agent survived')"
    body = await run_ok(client, code)
    assert (body["status"], body["stdout"]) == ("completed", "agent survived\n")


async def test_program_that_forges_agent_frames_fails_itself(client: httpx.AsyncClient) -> None:
    code = (
        "import os\n"
        "with open(f'/proc/{os.getppid()}/fd/1', 'w') as agent_out:\n"
        "    agent_out.write('this is not a frame\\n')\n"
        "import time; time.sleep(2)\n"
    )
    body = await run_ok(client, code, resources={"timeout_ms": 10_000})
    assert body["status"] == "failed"
    assert "malformed frame" in body["error"]
