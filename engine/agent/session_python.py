"""Python session runner: one long-lived interpreter whose namespace persists across requests.

PID 1 of a persistent (checkpointable) sandbox, under the image's own Python (stdlib only);
in a compiled language's sandbox it builds and runs programs instead of cells. It copies
the runtime's seeds (``FAAS_AGENT_SEED``), announces ``ready``, then serves requests from
stdin one at a time:

  {"type": "exec", "id": N, "code": str, "timeout_ms": int | null, "output_limit": int,
   "files": {path: b64} (optional), "env": {name: value} (optional)}
      -> {"type": "output", "id": N, "phase": "run", "stream": ..., "data": b64} ...
         {"type": "truncated", "id": N, "phase": "run", "stream": ...}   (cap reached)
         {"type": "exit", "id": N, "phase": "run", "exit_code": int, "truncated": bool, "timed_out": bool}
  {"type": "program", "id": N, "files": {path: b64}, "defaults": {path: b64}, "env": {name: value},
   "build": [argv] | null, "artifact_path": str | null, "run": [argv],
   "timeout_ms": int | null, "build_timeout_ms": int | null, "output_limit": int}
      -> {"type": "phase", "id": N, "phase": "build"}, then output and truncated frames with
         "phase": "build"; a build that fails or times out ends the request with
         {"type": "exit", "id": N, "phase": "build", "exit_code": int, "truncated": bool, "timed_out": bool}
         otherwise {"type": "phase", "id": N, "phase": "run"}, the run's frames and its exit frame.
  {"type": "ping", "id": N} -> {"type": "pong", "id": N}

Before anything runs, a request's ``files`` are written under the directory the runner
started in (relative paths that stay inside it, never through a symbolic link;
``defaults`` only where no file exists yet) and its ``env`` is set in the runner's own
environment, where it stays for later requests (as a notebook's ``%env``). A request whose
files or env are refused runs nothing: a message on stderr, then an exit frame with exit
code 1 (phase "build" for a program with a build).

Each cell runs in one shared ``__main__`` namespace; a final expression is echoed as the
REPL does (``sys.displayhook``). File descriptors 1 and 2 point at fresh pipes for the
duration of each request, so ``print``, C extensions and child processes that inherit
stdout are all captured per request; frames travel on a private copy of the original
stdout, and fd 0 is ``/dev/null`` so nothing the user runs can read the requests.

A timeout raises ``KeyboardInterrupt`` in the cell (SIGINT to the main thread) and the
session lives on; code that ignores it is the host's to kill.

A program's build (``artifact_path``'s directory is created first) and run are each a child
process group with stdin on ``/dev/null``, killed at its deadline (exit code 137,
``timed_out``) or, what is left of it, when it exits. What they leave in /workspace and /tmp
(sources, the binary, a Go build cache) stays for the next request.
"""

import ast
import builtins
import functools
import linecache
import os
import signal
import sys
import threading
import traceback
import types
from typing import Any

from phases import PhaseEnd, report, run_phase, spawn  # type: ignore[import-not-found]  # beside this script
from protocol import (  # type: ignore[import-not-found]  # lies beside this script in the sandbox
    MAX_FRAME_BYTES,
    decode_frame,
)
from streams import PIPE_DRAIN_GRACE_S, FrameWriter, OutputPump  # type: ignore[import-not-found]  # beside it
from workdir import seed_directories, write_files  # type: ignore[import-not-found]  # beside this script

DEFAULT_OUTPUT_LIMIT = 1024 * 1024

Frame = dict[str, Any]


class Interrupter:
    """Turns SIGINT into KeyboardInterrupt only while a cell runs, never inside the runner itself."""

    def __init__(self) -> None:
        self.armed = False
        self.fired = False
        self._timer: threading.Timer | None = None

    def handle(self, signum: int, frame: types.FrameType | None) -> None:
        if self.armed:
            self.armed = False
            raise KeyboardInterrupt

    def arm(self, timeout_ms: int | None) -> None:
        signal.signal(signal.SIGINT, self.handle)  # an earlier cell may have replaced it
        self.fired = False
        self.armed = True
        if timeout_ms is not None:
            self._timer = threading.Timer(timeout_ms / 1000, self._expire)
            self._timer.daemon = True
            self._timer.start()

    def disarm(self) -> None:
        self.armed = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire(self) -> None:
        if self.armed:
            self.fired = True
            # To the main thread itself: a blocking call there (sleep, read) returns with EINTR.
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)


def compile_cell(code: str, filename: str) -> list[types.CodeType]:
    """The cell's code objects: its body, then its last statement in "single" mode if it is an expression."""
    tree = ast.parse(code, filename, "exec")
    last = tree.body[-1] if tree.body else None
    if not isinstance(last, ast.Expr):
        return [compile(tree, filename, "exec")]
    body = ast.Module(body=tree.body[:-1], type_ignores=[])
    return [compile(body, filename, "exec"), compile(ast.Interactive(body=[last]), filename, "single")]


def print_user_traceback(exc: BaseException) -> None:
    """The traceback from the first frame of a cell on, without the runner's own frames."""
    tb = exc.__traceback__
    while tb is not None and not tb.tb_frame.f_code.co_filename.startswith("<cell "):
        tb = tb.tb_next
    report = traceback.TracebackException(type(exc), exc, tb)
    # The interrupt handler's own frame (the last one after a timeout) is the runner's, not the user's.
    report.stack = traceback.StackSummary.from_list([f for f in report.stack if f.filename != __file__])
    sys.stderr.write("".join(report.format()))


def run_cell(
    code: str, filename: str, namespace: dict[str, Any], interrupter: Interrupter, timeout_ms: int | None
) -> int:
    """Run one cell in the shared namespace; its exit code (1 after an uncaught exception)."""
    # Registered so tracebacks show the lines of this cell, now and when its functions fail later.
    linecache.cache[filename] = (len(code), None, code.splitlines(keepends=True), filename)
    try:
        interrupter.arm(timeout_ms)
        try:
            for compiled in compile_cell(code, filename):
                exec(compiled, namespace)  # noqa: S102 -- running the user's code is the point
        finally:
            interrupter.disarm()
    except SystemExit as exc:
        return exit_status(exc.code)
    except BaseException as exc:  # noqa: BLE001 -- any failure of the cell is reported, the session lives on
        print_user_traceback(exc)
        return 1
    return 0


def exit_status(code: object) -> int:
    """What ``sys.exit(code)`` would make the process exit with."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    sys.stderr.write(f"{code}\n")
    return 1


def checked_env(env: dict[str, Any]) -> dict[str, str]:
    """``env`` if every name and value can go into the environment; ValueError naming the first that cannot."""
    for name, value in env.items():
        if not isinstance(value, str) or not name or "=" in name or "\x00" in name + value:
            raise ValueError(f"invalid environment variable {name!r}")
    return env


class Session:
    """The interpreter's state between requests: namespace, channel, cell counter, working directory."""

    def __init__(self, writer: FrameWriter) -> None:
        self.writer = writer
        self.root = os.getcwd()
        self.interrupter = Interrupter()
        self.cells = 0
        main = types.ModuleType("__main__")  # pickle and friends find cell-defined names here
        main.__dict__["__builtins__"] = builtins
        sys.modules["__main__"] = main
        self.namespace: dict[str, Any] = main.__dict__
        self.null = os.open(os.devnull, os.O_RDWR)

    def prepare(self, request: Frame) -> None:
        """Write the request's files and set its environment; ValueError or OSError when refused."""
        env = checked_env(request.get("env") or {})
        write_files(self.root, request.get("files") or {})
        write_files(self.root, request.get("defaults") or {}, keep_existing=True)
        os.environ.update(env)

    def refuse(self, request_id: Any, phase: str, reason: Exception) -> None:
        report(self.writer, {"id": request_id, "phase": phase}, f"request refused: {reason}")
        self.finish(request_id, phase, PhaseEnd(1, False))

    def serve_exec(self, request: Frame) -> None:
        request_id = request.get("id")
        try:
            self.prepare(request)
        except (ValueError, OSError) as exc:
            self.refuse(request_id, "run", exc)
            return
        self.cells += 1
        limit = int(request.get("output_limit") or DEFAULT_OUTPUT_LIMIT)
        timeout = request.get("timeout_ms")
        pumps = [self._redirect(fd, stream, request_id, limit) for fd, stream in ((1, "stdout"), (2, "stderr"))]
        try:
            code = run_cell(
                str(request["code"]),
                f"<cell {self.cells}>",
                self.namespace,
                self.interrupter,
                None if timeout is None else int(timeout),
            )
        finally:
            self._restore(pumps)
        self.finish(request_id, "run", PhaseEnd(code, any(pump.truncated for pump in pumps), self.interrupter.fired))

    def serve_program(self, request: Frame) -> None:
        request_id, build, artifact_path = request.get("id"), request.get("build"), request.get("artifact_path")
        try:
            self.prepare(request)
            if build and artifact_path:
                os.makedirs(os.path.dirname(artifact_path), exist_ok=True)
        except (ValueError, OSError) as exc:
            self.refuse(request_id, "build" if build else "run", exc)
            return
        limit = int(request.get("output_limit") or DEFAULT_OUTPUT_LIMIT)

        def phase(name: str, argv: list[str], timeout_ms: int | None) -> PhaseEnd:
            start = functools.partial(spawn, argv, None, own_group=True)
            return run_phase(self.writer, name, start, limit, tags={"id": request_id}, timeout_ms=timeout_ms)

        if build:
            built = phase("build", build, request.get("build_timeout_ms"))
            if built.exit_code != 0 or built.timed_out:
                self.finish(request_id, "build", built)
                return
        self.finish(request_id, "run", phase("run", request["run"], request.get("timeout_ms")))

    def finish(self, request_id: Any, phase: str, end: PhaseEnd) -> None:
        frame = {"type": "exit", "id": request_id, "phase": phase, "exit_code": end.exit_code}
        self.writer.send({**frame, "truncated": end.truncated, "timed_out": end.timed_out})

    def _redirect(self, fd: int, stream: str, request_id: Any, limit: int) -> OutputPump:
        read_end, write_end = os.pipe()
        os.dup2(write_end, fd)
        os.close(write_end)
        pump = OutputPump(self.writer, read_end, stream, limit, {"id": request_id, "phase": "run"}, owns_fd=True)
        pump.start()
        return pump

    def _restore(self, pumps: list[OutputPump]) -> None:
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            try:
                if stream is not None:
                    stream.flush()
            except (OSError, ValueError):
                pass  # a stream the cell closed or broke has nothing left to flush
        os.dup2(self.null, 1)  # our write ends close: the pumps see end of file...
        os.dup2(self.null, 2)
        for pump in pumps:
            pump.join(PIPE_DRAIN_GRACE_S)  # ...unless a background process still holds them
            pump.detached = True


def take_channel() -> tuple[int, int]:
    """Private copies of stdin and stdout for frames; fds 0 and 1 are left pointing at /dev/null."""
    requests, frames = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    return requests, frames


def main() -> int:
    requests_fd, frames_fd = take_channel()
    writer = FrameWriter(frames_fd)
    try:
        seed_directories()
    except OSError as exc:
        writer.send({"type": "fatal", "message": f"sandbox preparation failed: {exc}"})
        return 1
    session = Session(writer)
    for ours in ("protocol", "streams", "phases", "workdir"):  # the user's own `import protocol` must not find ours
        del sys.modules[ours]
    sys.path[0] = ""  # as in the REPL: the working directory comes first
    requests = os.fdopen(requests_fd, "rb")
    writer.send({"type": "ready"})
    while line := requests.readline(MAX_FRAME_BYTES):
        try:
            request = decode_frame(line)
        except ValueError as exc:
            writer.send({"type": "fatal", "message": f"malformed request: {exc}"})
            continue
        if request["type"] == "exec":
            session.serve_exec(request)
        elif request["type"] == "program":
            session.serve_program(request)
        elif request["type"] == "ping":
            writer.send({"type": "pong", "id": request.get("id")})
        else:
            writer.send({"type": "fatal", "id": request.get("id"), "message": f"unknown request {request['type']!r}"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
