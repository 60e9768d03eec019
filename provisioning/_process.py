"""Run host commands, streaming their output lines and keeping a tail for errors."""

from __future__ import annotations

import collections
import os
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from provisioning.errors import CommandError

LineCallback = Callable[[str], None]
_TAIL_LINES = 200


def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    on_line: LineCallback | None = None,
    replace_env: bool = False,
) -> str:
    """Run `argv`; return the tail of its combined output; raise CommandError on failure.

    `on_line` receives each output line as it arrives (for progress display).
    """
    full_env = dict(env or {}) if replace_env else {**os.environ, **(env or {})}
    tail: collections.deque[str] = collections.deque(maxlen=_TAIL_LINES)
    try:
        proc = subprocess.Popen(
            list(argv),
            env=full_env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
    except FileNotFoundError as exc:
        raise CommandError(list(argv), 127, str(exc)) from exc
    assert proc.stdout is not None
    with proc:
        for raw in proc.stdout:
            line = raw.decode("utf-8", errors="replace").rstrip()
            tail.append(line)
            if on_line is not None and line:
                on_line(line)
    output = "\n".join(tail)
    if proc.returncode != 0:
        raise CommandError(list(argv), proc.returncode, output)
    return output
