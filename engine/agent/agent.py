"""In-sandbox agent: receives one program on stdin, runs it, streams frames on stdout.

Runs inside every sandbox under the image's own Python (stdlib only). It is
started when the sandbox joins the warm pool, announces itself with a
``ready`` frame, and serves exactly one ``run`` request; the host destroys
the sandbox afterwards. The host never trusts it for limits: timeouts, output
caps and memory accounting are enforced on the host side as well.
"""

import contextlib
import fcntl
import json
import os
import struct
import subprocess
import sys
import termios
import threading
from typing import IO, Any

from phases import run_phase, spawn  # type: ignore[import-not-found]  # beside this script
from protocol import (  # type: ignore[import-not-found]  # lies beside this script in the sandbox
    MAX_FRAME_BYTES,
    Frame,
    b64decode,
    b64encode,
    decode_frame,
)
from streams import FrameWriter  # type: ignore[import-not-found]  # beside this script
from workdir import seed_directories, write_files  # type: ignore[import-not-found]  # beside this script

MAX_ARTIFACT_BYTES = 64 * 1024 * 1024


class StdinFeeder:
    """Owns the program's stdin pipe: initial data, later input frames, EOF."""

    def __init__(self) -> None:
        self._pipe: IO[bytes] | None = None
        self._lock = threading.Lock()
        self._attached = threading.Event()
        self._closed = False

    def attach(self, pipe: IO[bytes]) -> None:
        with self._lock:
            if self._closed:
                pipe.close()
            else:
                self._pipe = pipe
        self._attached.set()

    def write(self, data: bytes) -> None:
        self._attached.wait()
        with self._lock:
            if self._pipe is None:
                return
            try:
                self._pipe.write(data)
                self._pipe.flush()
            except (BrokenPipeError, ValueError, OSError):
                self._close_locked()

    def close(self) -> None:
        self._attached.wait()
        with self._lock:
            self._close_locked()

    def _close_locked(self) -> None:
        self._closed = True
        if self._pipe is not None:
            with contextlib.suppress(OSError):
                self._pipe.close()
            self._pipe = None


class Prestarted:
    """An interpreter started while the sandbox waited in the pool, holding for its go line."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.process = subprocess.Popen(
            spec["argv"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=spec["env"],
            close_fds=True,
        )

    def launch(self, main: str, env: dict[str, str]) -> "subprocess.Popen[bytes]":
        assert self.process.stdin is not None
        go = json.dumps({"main": main, "env": env, "cwd": os.getcwd()}).encode() + b"\n"
        self.process.stdin.write(go)
        self.process.stdin.flush()
        return self.process

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            self.process.kill()
        self.process.wait()


class Terminal:
    """A pseudo-terminal for a program: the agent holds the controller side."""

    def __init__(self) -> None:
        self.controller, self.program_side = os.openpty()

    def resize(self, cols: int, rows: int) -> None:
        fcntl.ioctl(self.controller, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def spawn_on_terminal(argv: list[str], env: dict[str, str], terminal: Terminal) -> "subprocess.Popen[bytes]":
    def take_terminal() -> None:  # in the child, after setsid: make the terminal its controlling one
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    side = terminal.program_side
    process = subprocess.Popen(
        argv,
        stdin=side,
        stdout=side,
        stderr=side,
        env={**env, "TERM": env.get("TERM", "xterm-256color")},
        close_fds=True,
        start_new_session=True,
        preexec_fn=take_terminal,
    )
    os.close(side)
    return process


def control_loop(reader: IO[bytes], feeder: StdinFeeder, terminal: Terminal | None) -> None:
    """Handles frames that arrive while the program runs."""
    while True:
        line = reader.readline(MAX_FRAME_BYTES)
        if not line:
            return  # the host went away; the sandbox is being destroyed
        frame = decode_frame(line)
        if frame["type"] == "stdin":
            feeder.write(b64decode(frame["data"]))
        elif frame["type"] == "stdin_eof":
            if terminal is not None:
                feeder.write(b"\x04")  # end of input on a terminal is ^D, not a closed descriptor
            else:
                feeder.close()
        elif frame["type"] == "resize" and terminal is not None:
            with contextlib.suppress(OSError):
                terminal.resize(int(frame["cols"]), int(frame["rows"]))


def prepare_artifact(writer: FrameWriter, request: Frame, env: dict[str, str], limit: int) -> bool:
    """Install a cached binary, or build one (and send it back); False when the build failed."""
    artifact_path = request.get("artifact_path")
    if artifact_path:
        os.makedirs(os.path.dirname(artifact_path), exist_ok=True)
    if request.get("artifact") and artifact_path:
        with open(artifact_path, "wb") as handle:
            handle.write(b64decode(request["artifact"]))
        os.chmod(artifact_path, 0o755)  # noqa: S103 -- the program must be executable
        return True
    if not request.get("build"):
        return True
    build = run_phase(writer, "build", lambda: spawn(request["build"], env), limit)
    if build.exit_code != 0:
        writer.send({"type": "exit", "phase": "build", "exit_code": build.exit_code, "truncated": build.truncated})
        return False
    if artifact_path and os.path.exists(artifact_path):
        os.chmod(artifact_path, 0o755)  # noqa: S103 -- the program must be executable
        if request.get("return_artifact") and os.path.getsize(artifact_path) <= MAX_ARTIFACT_BYTES:
            with open(artifact_path, "rb") as built:
                writer.send({"type": "artifact", "data": b64encode(built.read())})
    return True


def serve_run(writer: FrameWriter, reader: IO[bytes], request: Frame, prestarted: Prestarted | None) -> None:
    write_files(os.getcwd(), request.get("files") or {})
    env = dict(request.get("env") or {})
    limit = int(request["output_limit"])
    use_prestarted = prestarted is not None and bool(request.get("prestarted"))
    if prestarted is not None and not use_prestarted:
        prestarted.discard()
    if not prepare_artifact(writer, request, env, limit):
        return

    feeder = StdinFeeder()
    initial_stdin = b64decode(request["stdin"]) if request.get("stdin") else b""
    keep_open = bool(request.get("keep_stdin_open"))

    terminal = Terminal() if request.get("tty") else None

    def start() -> "subprocess.Popen[bytes]":
        if terminal is not None:
            return spawn_on_terminal(request["run"], env, terminal)
        if use_prestarted and prestarted is not None:
            return prestarted.launch(request["main"], env)
        process: subprocess.Popen[bytes] = spawn(request["run"], env, stdin=subprocess.PIPE)
        return process

    def attach_stdin(process: "subprocess.Popen[bytes]") -> None:
        if terminal is not None:
            feeder.attach(os.fdopen(os.dup(terminal.controller), "wb", buffering=0))
        elif process.stdin is not None:
            feeder.attach(process.stdin)

    def feed_initial_stdin() -> None:
        feeder.write(initial_stdin)
        if not keep_open:
            if terminal is not None:
                feeder.write(b"\x04")
            else:
                feeder.close()

    threading.Thread(target=control_loop, args=(reader, feeder, terminal), daemon=True).start()
    threading.Thread(target=feed_initial_stdin, daemon=True).start()
    terminal_fd = None if terminal is None else terminal.controller
    ran = run_phase(writer, "run", start, limit, terminal_fd=terminal_fd, on_started=attach_stdin)
    writer.send({"type": "exit", "phase": "run", "exit_code": ran.exit_code, "truncated": ran.truncated})


def main() -> int:
    writer = FrameWriter(sys.stdout.fileno())
    reader: IO[bytes] = sys.stdin.buffer
    try:
        seed_directories()
    except OSError as exc:
        writer.send({"type": "fatal", "message": f"sandbox preparation failed: {exc}"})
        return 1
    prestarted = None
    spec = os.environ.get("FAAS_AGENT_PRESTART")
    if spec:
        try:
            prestarted = Prestarted(json.loads(spec))
        except (OSError, ValueError) as exc:
            sys.stderr.write(f"pre-start failed, programs will start cold: {exc}\n")
    writer.send({"type": "ready"})
    line = reader.readline(MAX_FRAME_BYTES)
    if not line:
        return 0
    try:
        request = decode_frame(line)
        if request["type"] != "run":
            raise ValueError(f"expected a run frame, got {request['type']!r}")
        serve_run(writer, reader, request, prestarted)
    except (ValueError, KeyError, OSError) as exc:
        writer.send({"type": "fatal", "message": str(exc)})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
