"""Warm pool: per language, pre-started never-used sandboxes, refilled in the background."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Mapping

from engine.errors import EngineError
from engine.sandbox import Sandbox

log = logging.getLogger(__name__)

Launcher = Callable[[str], Awaitable[Sandbox]]
MAX_BACKOFF_S = 30.0


class WarmPool:
    """Keeps ``sizes[language]`` ready sandboxes; a taken sandbox is never returned."""

    def __init__(self, launch: Launcher, sizes: Mapping[str, int], *, parallel_launches: int = 2) -> None:
        self._launch = launch
        self._sizes = {language: size for language, size in sizes.items() if size > 0}
        self._ready: dict[str, deque[Sandbox]] = {language: deque() for language in self._sizes}
        self._wanted = {language: asyncio.Event() for language in self._sizes}
        self._launch_slots = asyncio.Semaphore(parallel_launches)
        self._tasks: list[asyncio.Task[None]] = []
        self._discards: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        for language in self._sizes:
            self._tasks.append(asyncio.create_task(self._keep_filled(language), name=f"warm-pool-{language}"))

    def ready_count(self, language: str) -> int:
        return len(self._ready.get(language, ()))

    def take(self, language: str) -> Sandbox | None:
        """A ready sandbox for the language, or None when the pool is empty.

        The pool does not refill on its own: call ``refill`` once the taken sandbox's
        work is done, so that creating its replacement does not compete with it for CPU.
        """
        ready = self._ready.get(language)
        if ready is None:
            return None
        while ready:
            sandbox = ready.popleft()
            if not sandbox.channel.closed:
                return sandbox
            discard = asyncio.create_task(sandbox.destroy())
            self._discards.add(discard)
            discard.add_done_callback(self._discards.discard)
        return None

    def refill(self, language: str) -> None:
        """Top the language's pool up in the background."""
        wanted = self._wanted.get(language)
        if wanted is not None:
            wanted.set()

    async def wait_ready(self, language: str, count: int, within_s: float) -> None:
        """Wait until ``count`` sandboxes are ready (tests and benchmarks use this)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within_s
        while self.ready_count(language) < count:
            if loop.time() > deadline:
                raise TimeoutError(f"warm pool for {language} has {self.ready_count(language)}/{count} ready")
            await asyncio.sleep(0.02)

    async def _keep_filled(self, language: str) -> None:
        backoff = 0.5
        while True:
            if len(self._ready[language]) >= self._sizes[language]:
                self._wanted[language].clear()
                await self._wanted[language].wait()
                continue
            try:
                async with self._launch_slots:
                    sandbox = await self._launch(language)
            except EngineError as exc:
                log.warning("warm pool for %s could not start a sandbox: %s", language, exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
                continue
            backoff = 0.5
            self._ready[language].append(sandbox)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        idle = [sandbox for ready in self._ready.values() for sandbox in ready]
        for ready in self._ready.values():
            ready.clear()
        await asyncio.gather(*(sandbox.destroy() for sandbox in idle), *self._discards)
