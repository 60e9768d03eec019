"""Live interpreter sessions (real Docker; CRIU for the fork test)."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections.abc import AsyncIterator

import pytest

from engine import checkpoints
from engine.container_config import SANDBOX_LABEL
from engine.docker import DockerClient
from engine.errors import DockerNotFound, UnsupportedLanguage
from engine.models import Resources, SandboxPolicy
from engine.sessions import InterpreterSession, SessionDead, session_config
from provisioning.recipes import runtime_image_reference

POLICY = SandboxPolicy(pids_limit=64, workspace_mb=16, tmp_mb=16)
RESOURCES = Resources(cpu_cores=1.0, memory_mb=256)
T = 10_000  # ms: generous per-run limit for runs that are expected to finish at once
TEST_TIMEOUT_S = 60.0


def test_session_config_runs_the_runner_in_a_checkpointable_sandbox() -> None:
    body = session_config(language="javascript", image="img", resources=RESOURCES, policy=POLICY, node_id="n")
    assert body["Cmd"] == ["node", "/opt/faas-agent/session_node.js"]
    assert body["User"] == "0:0" and body["HostConfig"]["CapDrop"] == ["ALL"]
    assert body["Labels"]["org.faas.checkpointable"] == "1" and body["OpenStdin"] is True
    assert "HOME=/workspace" in body["Env"]
    with pytest.raises(UnsupportedLanguage):
        session_config(language="go", image="img", resources=RESOURCES, policy=POLICY, node_id="n")


class Sessions:
    """Starts sessions (and forks) for a test and removes every container afterwards."""

    def __init__(self, docker: DockerClient) -> None:
        self.docker = docker
        self.node_id = f"session-test-{uuid.uuid4().hex[:8]}"
        self.sessions: list[InterpreterSession] = []

    def config(self, language: str) -> dict:
        return session_config(
            language=language,
            image=runtime_image_reference(language),
            resources=RESOURCES,
            policy=POLICY,
            node_id=self.node_id,
        )

    async def start(self, language: str) -> InterpreterSession:
        image = runtime_image_reference(language)
        try:
            await self.docker.inspect_image(image)
        except DockerNotFound:
            pytest.fail(f"runtime image {image} is missing: run `faas setup` before the tests")
        session = await InterpreterSession.start(
            self.docker, language=language, image=image, resources=RESOURCES, policy=POLICY, node_id=self.node_id
        )
        self.sessions.append(session)
        return session

    async def adopt(self, container_id: str, language: str) -> InterpreterSession:
        session = await InterpreterSession.adopt(self.docker, container_id, language)
        self.sessions.append(session)
        return session

    async def leftovers(self) -> list[str]:
        return [c["Id"] for c in await self.docker.list_containers(label=f"{SANDBOX_LABEL}={self.node_id}")]

    async def clean(self) -> None:
        for session in self.sessions:
            await session.close()
        for container_id in await self.leftovers():
            await self.docker.remove_container(container_id)


@pytest.fixture
async def sessions(require_docker: None) -> AsyncIterator[Sessions]:
    docker = DockerClient()
    under_test = Sessions(docker)
    try:
        async with asyncio.timeout(TEST_TIMEOUT_S):
            yield under_test
    finally:
        try:
            await under_test.clean()
            assert not await under_test.leftovers()
        finally:
            await docker.close()


async def run_ok(session: InterpreterSession, code: str) -> str:
    result = await session.run(code, timeout_ms=T)
    assert result.exit_code == 0, result.stderr.decode()
    assert not result.timed_out and not result.truncated
    return result.stdout.decode()


# ---- Python -----------------------------------------------------------------------------------


async def test_python_state_persists_and_output_is_per_run(sessions: Sessions) -> None:
    py = await sessions.start("python")
    first = await py.run(
        "import json, sys\n"
        "x = 41\n"
        "def double(n):\n    return n * 2\n"
        "log = open('/workspace/log.txt', 'w')\n"
        "print('one'); print('warn', file=sys.stderr)",
        timeout_ms=T,
    )
    assert (first.exit_code, first.stdout, first.stderr) == (0, b"one\n", b"warn\n")
    assert first.duration_ms >= 0
    second = await py.run("log.write('kept'); log.flush(); print(json.dumps({'y': double(x)}))", timeout_ms=T)
    assert (second.exit_code, second.stdout, second.stderr) == (0, b'{"y": 82}\n', b"")
    assert await run_ok(py, "print(open('/workspace/log.txt').read())") == "kept\n"


async def test_python_echoes_a_final_expression(sessions: Sessions) -> None:
    py = await sessions.start("python")
    assert await run_ok(py, "x = 6\nx * 7") == "42\n"
    assert await run_ok(py, "'text'") == "'text'\n"
    assert await run_ok(py, "None") == ""  # as in the REPL
    assert await run_ok(py, "y = 1") == ""


async def test_python_exception_reports_a_user_traceback_and_the_session_lives_on(sessions: Sessions) -> None:
    py = await sessions.start("python")
    await run_ok(py, "x = 41\ndef fail():\n    raise ValueError('boom')")
    failed = await py.run("print('before')\nfail()", timeout_ms=T)
    assert failed.exit_code == 1 and failed.stdout == b"before\n"
    trace = failed.stderr.decode()
    assert trace.startswith("Traceback (most recent call last):")
    assert 'File "<cell 2>", line 2' in trace and 'File "<cell 1>", line 3, in fail' in trace
    assert "raise ValueError('boom')" in trace and trace.rstrip().endswith("ValueError: boom")
    assert "session_python" not in trace  # no runner frames
    syntax = await py.run("def broken(:", timeout_ms=T)
    assert syntax.exit_code == 1 and "SyntaxError" in syntax.stderr.decode()
    exited = await py.run("import sys; sys.exit(3)", timeout_ms=T)
    assert exited.exit_code == 3
    assert await run_ok(py, "x += 1; print(x)") == "42\n"


async def test_python_captures_child_processes_and_flushes_unterminated_output(sessions: Sessions) -> None:
    py = await sessions.start("python")
    result = await py.run(
        "import subprocess, sys, os\n"
        "subprocess.run(['sh', '-c', 'echo from-child; echo child-err >&2'])\n"
        "os.write(1, b'raw-fd\\n')\n"
        "_ = sys.stdout.write('no newline')",
        timeout_ms=T,
    )
    assert result.exit_code == 0
    assert result.stdout == b"from-child\nraw-fd\nno newline" and result.stderr == b"child-err\n"
    assert (
        (await py.run("print(input())", timeout_ms=T))
        .stderr.decode()
        .rstrip()
        .endswith("EOFError: EOF when reading a line")
    )


async def test_python_timeout_interrupts_the_cell_and_keeps_the_session(sessions: Sessions) -> None:
    py = await sessions.start("python")
    await run_ok(py, "x = 41")
    slow = await py.run("import time\nprint('started', flush=True)\ntime.sleep(30)", timeout_ms=500)
    assert slow.timed_out and slow.exit_code == 1
    assert slow.stdout == b"started\n" and "KeyboardInterrupt" in slow.stderr.decode()
    assert slow.duration_ms < 5_000
    assert py.alive
    assert await run_ok(py, "x += 1; print(x)") == "42\n"


async def test_python_code_that_ignores_the_interrupt_kills_the_session(sessions: Sessions) -> None:
    py = await sessions.start("python")
    stubborn = await py.run(
        "import time\nwhile True:\n    try:\n        time.sleep(30)\n    except KeyboardInterrupt:\n        pass",
        timeout_ms=300,
    )
    assert stubborn.timed_out and stubborn.exit_code is None
    assert not py.alive
    with pytest.raises(SessionDead, match="ignored its interrupt"):
        await py.run("print(1)", timeout_ms=T)


async def test_python_output_is_capped_per_run(sessions: Sessions) -> None:
    py = await sessions.start("python")
    capped = await py.run("print('x' * 100_000)", timeout_ms=T, output_limit=1000)
    assert capped.truncated and capped.stdout == b"x" * 1000 and capped.exit_code == 0
    assert await run_ok(py, "print('small')") == "small\n"  # the cap is per run


async def test_python_output_streams_to_the_listener(sessions: Sessions) -> None:
    py = await sessions.start("python")
    seen: list[tuple[str, bytes]] = []

    async def listen(stream: str, data: bytes) -> None:
        seen.append((stream, data))

    await py.run("import sys; print('a'); print('b', file=sys.stderr)", timeout_ms=T, on_output=listen)
    assert b"".join(d for s, d in seen if s == "stdout") == b"a\n"
    assert b"".join(d for s, d in seen if s == "stderr") == b"b\n"


async def test_python_run_latency(sessions: Sessions) -> None:
    py = await sessions.start("python")
    durations = []
    for _ in range(50):
        started = time.perf_counter()
        await run_ok(py, "pass")
        durations.append(time.perf_counter() - started)
    p50_ms = statistics.median(durations) * 1000
    print(f"python session run p50: {p50_ms:.2f} ms")
    assert p50_ms < 100  # far below a docker exec (~100 ms); a loose bound, not a benchmark


# ---- JavaScript -------------------------------------------------------------------------------


async def test_javascript_state_persists_and_output_is_per_run(sessions: Sessions) -> None:
    js = await sessions.start("javascript")
    first = await js.run(
        "const fs = require('fs');\n"
        "let x = 41;\n"
        "function double(n) { return n * 2; }\n"
        "var fd = fs.openSync('/workspace/log.txt', 'w');\n"
        "console.log('one'); console.error('warn');",
        timeout_ms=T,
    )
    assert (first.exit_code, first.stdout, first.stderr) == (0, b"one\n", b"warn\n")
    second = await js.run("fs.writeSync(fd, 'kept'); console.log(JSON.stringify({y: double(x)}))", timeout_ms=T)
    assert (second.exit_code, second.stdout, second.stderr) == (0, b'{"y":82}\n', b"")
    assert await run_ok(js, "process.stdout.write(fs.readFileSync('/workspace/log.txt', 'utf8')); undefined") == "kept"


async def test_javascript_echoes_values_and_awaits_a_final_promise(sessions: Sessions) -> None:
    js = await sessions.start("javascript")
    assert await run_ok(js, "const answer = 6; answer * 7") == "42\n"
    assert await run_ok(js, "({a: [1, 'two']})") == "{ a: [ 1, 'two' ] }\n"
    assert await run_ok(js, "let quiet = 1") == ""
    assert await run_ok(js, "(async () => { await new Promise(r => setTimeout(r, 20)); return answer + 1 })()") == "7\n"


async def test_javascript_exception_reports_a_user_stack_and_the_session_lives_on(sessions: Sessions) -> None:
    js = await sessions.start("javascript")
    await run_ok(js, "let x = 41; function fail() { throw new TypeError('boom'); }")
    failed = await js.run("console.log('before');\nfail();", timeout_ms=T)
    assert failed.exit_code == 1 and failed.stdout == b"before\n"
    stack = failed.stderr.decode()
    assert stack.startswith("TypeError: boom") and "at fail (cell 1:1:" in stack and "cell 2:2:" in stack
    assert "node:vm" not in stack and "session_node" not in stack
    thrown = await js.run("throw 42", timeout_ms=T)
    assert thrown.exit_code == 1 and thrown.stderr == b"Uncaught 42\n"
    syntax = await js.run("function broken( {", timeout_ms=T)
    assert syntax.exit_code == 1 and "SyntaxError" in syntax.stderr.decode()
    assert await run_ok(js, "x += 1; console.log(x)") == "42\n"


async def test_javascript_timeouts_stop_the_cell_and_keep_the_session(sessions: Sessions) -> None:
    js = await sessions.start("javascript")
    await run_ok(js, "let x = 41")
    spin = await js.run("console.log('started'); while (true) {}", timeout_ms=500)
    assert spin.timed_out and spin.exit_code == 1 and spin.stdout == b"started\n"
    assert "time limit" in spin.stderr.decode()
    waiting = await js.run("new Promise(() => {})", timeout_ms=300)
    assert waiting.timed_out and waiting.exit_code == 1
    assert js.alive
    assert await run_ok(js, "x += 1; console.log(x)") == "42\n"


async def test_javascript_output_is_capped_and_child_stdio_cannot_reach_the_channel(sessions: Sessions) -> None:
    js = await sessions.start("javascript")
    capped = await js.run("console.log('x'.repeat(100000))", timeout_ms=T, output_limit=1000)
    assert capped.truncated and capped.stdout == b"x" * 1000
    child = await js.run(
        "const cp = require('child_process');\n"
        "cp.spawnSync('sh', ['-c', 'echo inherited; cat'], {stdio: 'inherit'});\n"
        "console.log(cp.execSync('echo piped').toString().trim())",
        timeout_ms=T,
    )
    assert child.exit_code == 0 and child.stdout == b"piped\n"  # inherited stdout is discarded (documented)
    assert await run_ok(js, "console.log('still fine')") == "still fine\n"


# ---- checkpoint and fork (CRIU) -----------------------------------------------------------------


# Python only: Node's libuv opens io_uring rings, which CRIU cannot dump (see engine/sessions.py).
@pytest.mark.parametrize(("language", "define", "step"), [("python", "x = 41", "x += 1; print(x)")])
async def test_a_session_forks_into_independent_sessions(
    sessions: Sessions, criu_ready: None, language: str, define: str, step: str
) -> None:
    if not (await sessions.docker.info()).get("ExperimentalBuild"):
        pytest.fail("dockerd must run with experimental features for checkpoints (faas setup configures it)")
    original = await sessions.start(language)
    await run_ok(original, define)
    snapshot = await checkpoints.checkpoint(sessions.docker, original.container_id)
    config = sessions.config(language)
    first = await sessions.adopt(await checkpoints.fork(sessions.docker, snapshot, config=config), language)
    second = await sessions.adopt(await checkpoints.fork(sessions.docker, snapshot, config=config), language)

    assert await run_ok(first, step) == "42\n"
    assert await run_ok(first, step) == "43\n"
    assert await run_ok(second, step) == "42\n"
    assert await run_ok(original, step) == "42\n"
    assert len({original.container_id, first.container_id, second.container_id}) == 3
