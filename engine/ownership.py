"""Which process owns a sandbox, so that sandboxes of a process that died can be removed."""

from __future__ import annotations

import os
from pathlib import Path

OWNER_LABEL = "org.faas.owner"


def process_identity(pid: int) -> str | None:
    """``pid:start-time`` (clock ticks since boot), or None when no such process runs.

    The start time tells a reused pid from the original process.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return f"{pid}:{fields[19]}"  # field 22 of stat: starttime


def this_process() -> str:
    identity = process_identity(os.getpid())
    assert identity is not None
    return identity


def owner_is_gone(owner: str | None) -> bool:
    """True when the labelled owner process no longer runs (unlabelled sandboxes are not judged)."""
    if not owner or ":" not in owner:
        return False
    pid = owner.split(":", 1)[0]
    return not pid.isdigit() or process_identity(int(pid)) != owner
