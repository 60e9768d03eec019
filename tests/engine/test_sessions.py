"""Live interpreter sessions (real Docker; CRIU for the fork test)."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections.abc import AsyncIterator

import pytest

from engine import checkpoints
from engine.agent.protocol import b64encode
from engine.container_config import SANDBOX_LABEL
from engine.docker import DockerClient
from engine.errors import DockerNotFound, UnsupportedLanguage
from engine.languages import RUNTIMES
from engine.models import Phase, Resources, SandboxPolicy
from engine.sessions import SESSION_LANGUAGES, InterpreterSession, SessionDead, program_request, session_config
from provisioning.recipes import runtime_image_reference

POLICY = SandboxPolicy(pids_limit=64, workspace_mb=16, tmp_mb=16)
RESOURCES = Resources(cpu_cores=1.0, memory_mb=256)
# Compilers need more: Go's seeded build cache alone is ~40 MB of /tmp.
COMPILED_POLICY = SandboxPolicy(pids_limit=256, workspace_mb=64, tmp_mb=256)
COMPILED_RESOURCES = Resources(cpu_cores=2.0, memory_mb=1024)
T = 10_000  # ms: generous per-run limit for runs that are expected to finish at once
TEST_TIMEOUT_S = 60.0


def test_session_config_runs_the_runner_in_a_checkpointable_sandbox() -> None:
    body = session_config(language="javascript", image="img", resources=RESOURCES, policy=POLICY, node_id="n")
    assert body["Cmd"] == ["node", "/opt/faas-agent/session_node.js"]
    assert body["User"] == "0:0" and body["HostConfig"]["CapDrop"] == ["ALL"]
    assert body["Labels"]["org.faas.checkpointable"] == "1" and body["OpenStdin"] is True
    assert "HOME=/workspace" in body["Env"]
    go = session_config(language="go", image="img", resources=RESOURCES, policy=POLICY, node_id="n")
    assert go["Cmd"] == ["python3", "-u", "-E", "-s", "/opt/faas-agent/session_python.py"]
    assert {"GOCACHE=/tmp/go-cache", "FAAS_AGENT_SEED=/opt/go-cache:/tmp/go-cache"} <= set(go["Env"])
    assert set(SESSION_LANGUAGES) == set(RUNTIMES)
    with pytest.raises(UnsupportedLanguage):
        session_config(language="cobol", image="img", resources=RESOURCES, policy=POLICY, node_id="n")


def test_a_program_request_writes_default_files_only_where_none_exists() -> None:
    go = RUNTIMES["go"]
    limits = {"timeout_ms": 1, "build_timeout_ms": 2, "output_limit": 3}
    request = program_request(go, "package main", files={"a.go": b"a"}, env={}, **limits)
    assert request["files"] == {"a.go": b64encode(b"a"), "main.go": b64encode(b"package main")}
    assert request["defaults"] == {"go.mod": b64encode(go.default_files["go.mod"])}  # kept if the workspace has one
    assert (request["build"], request["run"]) == (list(go.build or ()), list(go.run))
    own = program_request(go, "", files={"go.mod": b"mine"}, env={}, **limits)
    assert own["defaults"] == {} and own["files"]["go.mod"] == b64encode(b"mine")


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
        compiled = RUNTIMES[language].compiled
        session = await InterpreterSession.start(
            self.docker,
            language=language,
            image=image,
            resources=COMPILED_RESOURCES if compiled else RESOURCES,
            policy=COMPILED_POLICY if compiled else POLICY,
            node_id=self.node_id,
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


# ---- files and environment ------------------------------------------------------------------


async def test_python_files_and_env_reach_the_cell_and_later_cells(sessions: Sessions) -> None:
    py = await sessions.start("python")
    await run_ok(py, "import os, subprocess\nos.chdir('/tmp')")  # files still go to /workspace
    first = await py.run(
        "print(open('/workspace/data/in.txt').read(), os.environ['GREETING'])",
        files={"data/in.txt": b"file!"},
        env={"GREETING": "hi"},
        timeout_ms=T,
    )
    assert (first.exit_code, first.stdout, first.stderr) == (0, b"file! hi\n", b"")
    later = "print(open('/workspace/data/in.txt').read(), subprocess.check_output(['sh', '-c', 'echo $GREETING']))"
    assert await run_ok(py, later) == "file! b'hi\\n'\n"  # children inherit the variable too


async def test_javascript_files_and_env_reach_the_cell_and_later_cells(sessions: Sessions) -> None:
    js = await sessions.start("javascript")
    first = await js.run(
        "const fs = require('fs'); console.log(fs.readFileSync('data/in.txt', 'utf8'), process.env.GREETING)",
        files={"data/in.txt": b"file!"},
        env={"GREETING": "hi"},
        timeout_ms=T,
    )
    assert (first.exit_code, first.stdout, first.stderr) == (0, b"file! hi\n", b"")
    later = (
        "const cp = require('child_process');\n"
        "console.log(fs.readFileSync('data/in.txt', 'utf8'), `${cp.execSync('echo $GREETING')}`)"
    )
    assert await run_ok(js, later) == "file! hi\n\n"  # children inherit the variable too


@pytest.mark.parametrize(
    ("language", "setup", "step", "escaped"),
    [
        ("python", "import os; os.symlink('/tmp', 'link'); x = 41", "x += 1; print(x)", "os.listdir('/tmp')"),
        (
            "javascript",
            "const fs = require('fs'); fs.symlinkSync('/tmp', 'link'); let x = 41",
            "x += 1; console.log(x)",
            "console.log(fs.readdirSync('/tmp'))",
        ),
    ],
)
async def test_a_file_path_outside_the_workspace_is_refused_and_the_session_lives_on(
    sessions: Sessions, language: str, setup: str, step: str, escaped: str
) -> None:
    session = await sessions.start(language)
    await run_ok(session, setup)
    for path in ("../escape.txt", "/tmp/escape.txt", "link/escape.txt", "link"):
        refused = await session.run(step, files={path: b"x"}, timeout_ms=T)
        assert refused.exit_code == 1 and refused.stdout == b"", path  # the cell did not run
        assert "request refused" in refused.stderr.decode() and path in refused.stderr.decode()
    assert session.alive
    assert await run_ok(session, step) == "42\n"
    assert await run_ok(session, escaped) == "[]\n"  # nothing reached /tmp


# ---- compiled languages -----------------------------------------------------------------------

GO_MOD = b"module example.com/app\n\ngo 1.24\n"  # the user's own: later programs keep it
GO_HELPER = b'package helper\n\nfunc Greet(name string) string { return "hello " + name }\n'
# With GOFLAGS=-toolexec, every compiler call of a build goes through this, which logs it.
GO_TOOL = b'#!/bin/sh\necho "$@" >> /workspace/tools.log\nexec "$@"\n'
GO_FIRST = """package main

import (
	"fmt"
	"os"
	"example.com/app/helper"
)

func main() {
	fmt.Println(helper.Greet("one"))
	os.Chmod("tool.sh", 0o755)
}
"""
GO_SECOND = """package main

import (
	"fmt"
	"os"
	"example.com/app/helper"
)

func main() {
	log, _ := os.ReadFile("tools.log")
	fmt.Printf("%s|%s", helper.Greet("two"), log)
}
"""
GO_SLOW = """package main

import (
	"fmt"
	"os/exec"
	"time"
)

func main() {
	exec.Command("sleep", "60").Start()
	fmt.Println("started")
	time.Sleep(time.Minute)
}
"""
GO_LEFTOVERS = """package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	sleeping := 0
	for _, path := range cmdlines {
		cmdline, _ := os.ReadFile(path)
		if strings.HasPrefix(string(cmdline), "sleep") {
			sleeping++
		}
	}
	fmt.Println("sleeping:", sleeping)
}
"""


class Phases:
    """An ``on_phase`` listener that remembers the phases."""

    def __init__(self) -> None:
        self.seen: list[Phase] = []

    async def __call__(self, phase: Phase) -> None:
        self.seen.append(phase)


async def test_go_files_and_build_cache_persist_between_programs(sessions: Sessions) -> None:
    go = await sessions.start("go")
    phases = Phases()
    files = {"go.mod": GO_MOD, "helper/helper.go": GO_HELPER, "tool.sh": GO_TOOL}
    first = await go.execute(GO_FIRST, files=files, timeout_ms=T, on_phase=phases)
    assert (first.exit_code, first.phase, first.stdout, first.stderr) == (0, "run", b"hello one\n", b"")
    assert phases.seen == ["build", "run"]
    # The second build logs what it compiles: only main; the helper, built the first time, comes from the cache.
    toolexec = {"GOFLAGS": "-mod=mod -buildvcs=false -toolexec=/workspace/tool.sh"}
    assert await compiled_by(go, GO_SECOND, env=toolexec) == ("hello two", {"main"})
    # The log does show a package that is compiled again: the helper, once it changed.
    changed = {"helper/helper.go": GO_HELPER.replace(b"hello", b"hi"), "tools.log": b""}
    assert await compiled_by(go, GO_SECOND, files=changed) == ("hi two", {"main", "example.com/app/helper"})


async def compiled_by(
    go: InterpreterSession, code: str, *, files: dict[str, bytes] | None = None, env: dict[str, str] | None = None
) -> tuple[str, set[str]]:
    """What ``code`` (GO_SECOND) printed, and the packages its build compiled according to the tool log."""
    result = await go.run_program(code, files=files, env=env, timeout_ms=T)
    assert result.exit_code == 0, result.stderr.decode()
    greeting, _, log = result.stdout.decode().partition("|")
    return greeting, {line.split(" -p ")[1].split()[0] for line in log.splitlines() if " -p " in line}


async def test_rust_builds_and_runs_and_a_compile_error_ends_in_the_build(sessions: Sessions) -> None:
    rust = await sessions.start("rust")
    util = {"util.rs": b"pub fn answer() -> i32 { 42 }\n"}
    ran = await rust.execute('mod util;\nfn main() { println!("{}", util::answer()); }', files=util, timeout_ms=T)
    assert (ran.exit_code, ran.phase, ran.stdout) == (0, "run", b"42\n")
    phases = Phases()
    broken = await rust.execute("fn main() { let x: i32 = missing; }", timeout_ms=T, on_phase=phases)
    assert broken.phase == "build" and broken.exit_code not in (0, None) and not broken.timed_out
    assert "cannot find value `missing`" in broken.stderr.decode() and broken.stdout == b""
    assert phases.seen == ["build"]
    again = await rust.execute('mod util;\nfn main() { println!("{}", util::answer() + 1); }', timeout_ms=T)
    assert (again.exit_code, again.stdout) == (0, b"43\n")


async def test_a_program_timeout_kills_it_and_the_session_lives_on(sessions: Sessions) -> None:
    go = await sessions.start("go")
    slow = await go.execute(GO_SLOW, timeout_ms=2_000)
    assert slow.timed_out and slow.phase == "run" and slow.exit_code == 137
    assert slow.stdout == b"started\n" and "time limit of 2000 ms" in slow.stderr.decode()
    assert go.alive
    after = await go.execute(GO_LEFTOVERS, timeout_ms=T)
    assert (after.exit_code, after.stdout) == (0, b"sleeping: 0\n")  # its child went with it


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
