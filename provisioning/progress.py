"""Progress display for `faas setup`: one line per step, rich or silent."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol, Self

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

_STATUS_WIDTH = 70


class StepReporter(Protocol):
    """What a long step tells the user while it runs."""

    def status(self, text: str) -> None:
        """Show `text` (e.g. the latest output line) next to the step."""

    def set_total(self, total: int) -> None:
        """Turn the step's spinner into a bar of `total` units."""

    def advance(self, amount: int = 1) -> None:
        """Move the bar forward."""

    def set_outcome(self, text: str) -> None:
        """Say how the step ended ("cached", "built", ...)."""


class SetupProgress(Protocol):
    """Creates one reporter per step."""

    def step(self, title: str) -> AbstractContextManager[StepReporter]:
        """Show `title` while the block runs, with its outcome afterwards."""


class SilentStep:
    """A StepReporter that shows nothing (library use and tests)."""

    def status(self, text: str) -> None:
        del text

    def set_total(self, total: int) -> None:
        del total

    def advance(self, amount: int = 1) -> None:
        del amount

    def set_outcome(self, text: str) -> None:
        del text


class SilentProgress:
    """A SetupProgress that shows nothing."""

    @contextmanager
    def step(self, title: str) -> Iterator[StepReporter]:
        del title
        yield SilentStep()


class _RichStep:
    def __init__(self, progress: Progress, task: TaskID) -> None:
        self._progress = progress
        self._task = task
        self.outcome = "done"

    def status(self, text: str) -> None:
        text = " ".join(text.split())
        if len(text) > _STATUS_WIDTH:
            text = text[: _STATUS_WIDTH - 1] + "…"
        self._progress.update(self._task, status=text.replace("[", r"\["))

    def set_total(self, total: int) -> None:
        self._progress.update(self._task, total=total)

    def advance(self, amount: int = 1) -> None:
        self._progress.advance(self._task, amount)

    def set_outcome(self, text: str) -> None:
        self.outcome = text


class RichProgress:
    """Spinner/bar lines on a rich console, one per step."""

    def __init__(self, console: Console | None = None) -> None:
        self._progress = Progress(
            SpinnerColumn(finished_text="•"),
            TextColumn("{task.description}"),
            BarColumn(bar_width=20),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("[dim]{task.fields[status]}"),
            console=console,
        )

    def __enter__(self) -> Self:
        self._progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._progress.stop()

    @contextmanager
    def step(self, title: str) -> Iterator[StepReporter]:
        task = self._progress.add_task(title, total=None, status="")
        handle = _RichStep(self._progress, task)
        started = time.monotonic()
        try:
            yield handle
        except BaseException:
            self._progress.update(task, description=f"[red]✗ {title}", status="failed")
            self._progress.stop_task(task)
            raise
        total = self._progress.tasks[task].total or 1
        self._progress.update(
            task,
            description=f"[green]✓[/] {title}",
            total=total,
            completed=total,
            status=f"{handle.outcome} in {time.monotonic() - started:.1f}s",
        )
        self._progress.stop_task(task)
