"""The in-sandbox agent, run under the host's Python (it is stdlib only)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from engine.agent.protocol import b64decode, b64encode, encode_frame
from engine.executor import AGENT_DIR


def talk(tmp_path: Path, request: dict[str, Any], *, exit_status: int = 0) -> list[dict[str, Any]]:
    frames = encode_frame({"type": "run", "env": {"PATH": "/usr/bin:/bin"}, "output_limit": 1 << 20, **request})
    done = subprocess.run(
        [sys.executable, f"{AGENT_DIR}/agent.py"], input=frames, capture_output=True, cwd=tmp_path, timeout=30
    )
    assert done.returncode == exit_status, done.stderr
    decoded = [json.loads(line) for line in done.stdout.splitlines()]
    for frame in decoded:
        if "data" in frame:
            frame["data"] = b64decode(frame["data"])
    return decoded


def output(frames: list[dict[str, Any]], stream: str) -> bytes:
    return b"".join(f["data"] for f in frames if f["type"] == "output" and f["stream"] == stream)


def test_runs_program_with_files_env_and_stdin(tmp_path: Path) -> None:
    code = "import os,sys; print(open('data/in.txt').read(), os.environ['GREETING'], sys.stdin.read())"
    frames = talk(
        tmp_path,
        {
            "files": {"data/in.txt": b64encode(b"file!")},
            "env": {"PATH": "/usr/bin:/bin", "GREETING": "hi"},
            "stdin": b64encode(b"typed"),
            "run": [sys.executable, "-c", code],
        },
    )
    assert frames[0] == {"type": "ready"}
    assert output(frames, "stdout") == b"file! hi typed\n"
    assert frames[-1] == {"type": "exit", "phase": "run", "exit_code": 0, "truncated": False}


def test_reports_exit_code_and_signal_death(tmp_path: Path) -> None:
    frames = talk(tmp_path, {"run": [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"]})
    assert frames[-1]["exit_code"] == 137
    frames = talk(tmp_path, {"run": [sys.executable, "-c", "raise SystemExit(7)"]})
    assert frames[-1]["exit_code"] == 7


def test_caps_output_and_flags_truncation(tmp_path: Path) -> None:
    frames = talk(tmp_path, {"output_limit": 1000, "run": [sys.executable, "-c", "print('x' * 100000)"]})
    assert len(output(frames, "stdout")) == 1000
    assert {"type": "truncated", "phase": "run", "stream": "stdout"} in frames
    assert frames[-1]["truncated"] is True


def test_build_failure_stops_before_run(tmp_path: Path) -> None:
    frames = talk(
        tmp_path,
        {
            "build": [sys.executable, "-c", "import sys; sys.stderr.write('syntax error at 1:1'); sys.exit(2)"],
            "artifact_path": str(tmp_path / "out" / "app"),
            "run": ["/bin/true"],
        },
    )
    assert frames[-1] == {"type": "exit", "phase": "build", "exit_code": 2, "truncated": False}
    assert output(frames, "stderr") == b"syntax error at 1:1"
    assert not any(f["type"] == "phase" and f["phase"] == "run" for f in frames)


def test_build_returns_artifact_and_cached_artifact_skips_build(tmp_path: Path) -> None:
    artifact = tmp_path / "out" / "app"
    script = f"import pathlib; pathlib.Path({str(artifact)!r}).write_text('#!/bin/sh\\necho built\\n')"
    frames = talk(
        tmp_path,
        {
            "build": [sys.executable, "-c", script],
            "artifact_path": str(artifact),
            "return_artifact": True,
            "run": [str(artifact)],
        },
    )
    assert [f["data"] for f in frames if f["type"] == "artifact"] == [b"#!/bin/sh\necho built\n"]
    assert output(frames, "stdout") == b"built\n"
    artifact.unlink()
    frames = talk(
        tmp_path,
        {"artifact": b64encode(b"#!/bin/sh\necho cached\n"), "artifact_path": str(artifact), "run": [str(artifact)]},
    )
    assert not any(f["type"] == "phase" and f["phase"] == "build" for f in frames)
    assert output(frames, "stdout") == b"cached\n"


def test_refuses_paths_that_escape_the_workspace(tmp_path: Path) -> None:
    frames = talk(tmp_path, {"files": {"../escape.txt": b64encode(b"x")}, "run": ["/bin/true"]}, exit_status=1)
    assert frames[-1]["type"] == "fatal"
    assert not (tmp_path.parent / "escape.txt").exists()


def test_missing_interpreter_is_exit_127(tmp_path: Path) -> None:
    frames = talk(tmp_path, {"run": ["/nonexistent/binary"]})
    assert frames[-1]["exit_code"] == 127
    assert b"cannot start" in output(frames, "stderr")


def prestart_env(tmp_path: Path, argv: list[str]) -> dict[str, str]:
    return {"FAAS_AGENT_PRESTART": json.dumps({"argv": argv, "env": {"PATH": "/usr/bin:/bin"}})}


def talk_prestarted(tmp_path: Path, argv: list[str], request: dict[str, Any]) -> list[dict[str, Any]]:
    frames = encode_frame({"type": "run", "env": {"PATH": "/usr/bin:/bin"}, "output_limit": 1 << 20, **request})
    done = subprocess.run(
        [sys.executable, f"{AGENT_DIR}/agent.py"],
        input=frames,
        capture_output=True,
        cwd=tmp_path,
        timeout=30,
        env=prestart_env(tmp_path, argv),
    )
    decoded = [json.loads(line) for line in done.stdout.splitlines()]
    for frame in decoded:
        if "data" in frame:
            frame["data"] = b64decode(frame["data"])
    return decoded


PY_MAIN = """
import os, sys
print(__name__, sys.argv, os.getcwd() == os.environ['EXPECTED_CWD'], os.environ.get('FROM_USER'), sys.stdin.read())
import helper
"""


def test_prestarted_python_runs_main_like_python_main_py(tmp_path: Path) -> None:
    frames = talk_prestarted(
        tmp_path,
        [sys.executable, f"{AGENT_DIR}/prestart_python.py"],
        {
            "files": {"main.py": b64encode(PY_MAIN.encode()), "helper.py": b64encode(b"print('helper imported')")},
            "env": {"PATH": "/usr/bin:/bin", "FROM_USER": "yes", "EXPECTED_CWD": str(tmp_path)},
            "stdin": b64encode(b"piped"),
            "prestarted": True,
            "main": "main.py",
            "run": ["/bin/false"],
        },
    )
    assert output(frames, "stdout") == b"__main__ ['main.py'] True yes piped\nhelper imported\n"
    assert frames[-1]["exit_code"] == 0


def test_prestarted_python_tracebacks_show_only_the_users_frames(tmp_path: Path) -> None:
    frames = talk_prestarted(
        tmp_path,
        [sys.executable, f"{AGENT_DIR}/prestart_python.py"],
        {"files": {"main.py": b64encode(b"def f():\n    1/0\nf()\n")}, "prestarted": True, "main": "main.py",
         "run": ["/bin/false"]},
    )  # fmt: skip
    stderr = output(frames, "stderr").decode()
    assert "ZeroDivisionError" in stderr and 'main.py", line 2, in f' in stderr
    assert "runpy" not in stderr and "prestart" not in stderr
    assert frames[-1]["exit_code"] == 1


def test_prestarted_node_runs_main_as_the_main_module(tmp_path: Path) -> None:
    code = (
        "const fs=require('fs');console.log(require.main===module, process.env.FROM_USER,"
        "fs.readFileSync(0,'utf8'), require('./lib.js'))"
    )
    frames = talk_prestarted(
        tmp_path,
        ["node", f"{AGENT_DIR}/prestart_node.js"],
        {
            "files": {"main.js": b64encode(code.encode()), "lib.js": b64encode(b"module.exports = 42")},
            "env": {"PATH": "/usr/bin:/bin", "FROM_USER": "yes"},
            "stdin": b64encode(b"piped"),
            "prestarted": True,
            "main": "main.js",
            "run": ["/bin/false"],
        },
    )
    assert output(frames, "stdout") == b"true yes piped 42\n"


def test_unused_prestarted_interpreter_is_discarded(tmp_path: Path) -> None:
    frames = talk_prestarted(
        tmp_path,
        [sys.executable, f"{AGENT_DIR}/prestart_python.py"],
        {"prestarted": False, "main": "main.py", "run": [sys.executable, "-c", "print('cold start')"]},
    )
    assert output(frames, "stdout") == b"cold start\n"


def test_tty_mode_gives_the_program_a_resizable_terminal(tmp_path: Path) -> None:
    code = (
        "import os, sys, time\n"
        "print(os.isatty(0), os.isatty(1), os.isatty(2), flush=True)\n"
        "time.sleep(0.5)\n"
        "print(os.get_terminal_size().columns, os.get_terminal_size().lines, input('name? '))\n"
    )
    frames = encode_frame({"type": "run", "env": {"PATH": "/usr/bin:/bin"}, "output_limit": 1 << 20,
                           "tty": True, "keep_stdin_open": True, "run": [sys.executable, "-c", code]})  # fmt: skip
    frames += encode_frame({"type": "resize", "cols": 100, "rows": 30})
    frames += encode_frame({"type": "stdin", "data": b64encode(b"ada\n")})
    process = subprocess.Popen(
        [sys.executable, f"{AGENT_DIR}/agent.py"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=tmp_path
    )
    out, _ = process.communicate(frames, timeout=30)
    decoded = [json.loads(line) for line in out.splitlines()]
    for frame in decoded:
        if "data" in frame:
            frame["data"] = b64decode(frame["data"])
    text = output(decoded, "stdout").decode()
    assert "True True True" in text
    assert "100 30 ada" in text
    assert "name? " in text
    assert output(decoded, "stderr") == b""
