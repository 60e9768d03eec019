"""A program's build and run phases as child processes whose output goes out as frames.

Stdlib only: bind-mounted into sandboxes beside ``protocol.py``, shared by the one-shot
agent and the session runner.
"""

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeAlias

from protocol import Frame, b64encode  # type: ignore[import-not-found]  # lies beside this script in the sandbox
from streams import PIPE_DRAIN_GRACE_S, FrameWriter, OutputPump  # type: ignore[import-not-found]  # beside it

Process: TypeAlias = "subprocess.Popen[bytes]"


@dataclass(frozen=True)
class PhaseEnd:
    """How a phase ended."""

    exit_code: int
    truncated: bool
    timed_out: bool = False


def spawn(
    argv: list[str], env: Mapping[str, str] | None, *, stdin: int = subprocess.DEVNULL, own_group: bool = False
) -> Process:
    """Start ``argv`` with piped stdout and stderr.

    Args:
        env: None to inherit ours.
        own_group: lead a new session and process group, so that everything the program
            starts can be killed with it (the program itself then cannot call ``setsid``).
    """
    return subprocess.Popen(
        argv,
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        close_fds=True,
        start_new_session=own_group,
    )


def exit_code_of(returncode: int) -> int:
    """Shell convention: a process killed by signal N exits with 128 + N."""
    return 128 - returncode if returncode < 0 else returncode


def run_phase(
    writer: FrameWriter,
    phase: str,
    start: Callable[[], Process],
    limit: int,
    *,
    tags: Frame | None = None,
    timeout_ms: int | None = None,
    terminal_fd: int | None = None,
    on_started: Callable[[Process], None] | None = None,
) -> PhaseEnd:
    """Announce ``phase``, run the process ``start`` gives and forward its output until it exits.

    At ``timeout_ms`` the process is killed (exit code 137, ``timed_out``); when it leads a
    process group (``spawn``'s ``own_group``), so is the group, and what is left of the group
    once the process exits. A process that cannot start ends the phase with 127.

    Args:
        tags: put into every frame besides ``phase`` (a session's request ``id``).
        terminal_fd: read the output from this terminal instead of the process's pipes.
        on_started: called with the process once its output is being forwarded.
    """
    tags = {**(tags or {}), "phase": phase}
    writer.send({**tags, "type": "phase"})
    try:
        process = start()
    except OSError as exc:
        report(writer, tags, f"cannot start the program: {exc.strerror or exc}")
        return PhaseEnd(127, False)
    pumps = output_pumps(writer, process, terminal_fd, limit, tags)
    if on_started is not None:
        on_started(process)
    timed_out = wait_for_group(process, timeout_ms)
    if timed_out:
        report(writer, tags, f"timed out: the {phase} exceeded its time limit of {timeout_ms} ms and was killed")
    for pump in pumps:
        pump.join(PIPE_DRAIN_GRACE_S)  # a process that left the group may still hold the pipes
        pump.detached = True
    assert process.returncode is not None
    return PhaseEnd(exit_code_of(process.returncode), any(pump.truncated for pump in pumps), timed_out)


def output_pumps(
    writer: FrameWriter, process: Process, terminal_fd: int | None, limit: int, tags: Frame
) -> list[OutputPump]:
    pumps = []
    if terminal_fd is not None:
        pumps.append(OutputPump(writer, terminal_fd, "stdout", limit, tags))
    for stream, pipe in (("stdout", process.stdout), ("stderr", process.stderr)):
        if pipe is not None:
            # The pump owns a copy: a pipe that outlives the process must not be closed under it.
            pumps.append(OutputPump(writer, os.dup(pipe.fileno()), stream, limit, tags, owns_fd=True))
            pipe.close()
    for pump in pumps:
        pump.start()
    return pumps


def wait_for_group(process: Process, timeout_ms: int | None) -> bool:
    """Wait for ``process`` to exit, then kill the rest of its group; True when its deadline killed it."""
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        kill_group(process.pid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGKILL)

    timer = None if timeout_ms is None else threading.Timer(timeout_ms / 1000, expire)
    if timer is not None:
        timer.daemon = True
        timer.start()
    # Not reaped yet: while the process is a zombie its id cannot name another process group.
    os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT)
    if timer is not None:
        timer.cancel()
        timer.join()
    kill_group(process.pid)
    process.wait()
    return expired.is_set()


def kill_group(leader: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # no group left, or the process never led one
        os.killpg(leader, signal.SIGKILL)


def report(writer: FrameWriter, tags: Frame, message: str) -> None:
    """A line from the runner itself on the phase's stderr."""
    writer.send({**tags, "type": "output", "stream": "stderr", "data": b64encode(f"{message}\n".encode())})
