"""Clocks that drive the emulator's session timers.

Session timestamps and state changes read an injectable clock so tests can move time
by hand (`ManualClock.advance`) instead of sleeping. Network behaviour (latency, stalls)
is not clock-driven: it stays in real time because real client timeouts measure it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "ManualClock", "SystemClock"]

# 2025-06-18T12:00:00Z: a fixed, plausible "now" so manual-clock runs are reproducible.
DEFAULT_MANUAL_START = 1_750_248_000.0


@runtime_checkable
class Clock(Protocol):
    """Wall-clock time in unix seconds, and a way to wait in that time."""

    def now(self) -> float:
        """Current time as unix seconds."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Return once `seconds` of this clock's time have passed."""
        ...


class SystemClock:
    """Real time: wall-clock anchored once, then advanced by the monotonic clock.

    Anchoring keeps timestamps meaningful while making timers immune to wall-clock jumps.
    """

    def __init__(self) -> None:
        self._wall_anchor = time.time()
        self._monotonic_anchor = time.monotonic()

    def now(self) -> float:
        """Current time as unix seconds."""
        return self._wall_anchor + (time.monotonic() - self._monotonic_anchor)

    async def sleep(self, seconds: float) -> None:
        """Waits ``seconds`` of real time."""
        await asyncio.sleep(max(0.0, seconds))


class ManualClock:
    """Time that moves only when `advance` is called; for deterministic tests."""

    def __init__(self, start: float = DEFAULT_MANUAL_START) -> None:
        self._now = float(start)
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def now(self) -> float:
        """The clock's time as unix seconds; it changes only through `advance`."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward and wake every sleeper whose deadline has passed.

        Safe from any thread: a sleeper on another thread's event loop (an emulator serving
        from its own thread) is woken on that loop."""
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        self._now += seconds
        try:
            here: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        for deadline, waiter in list(self._sleepers):
            if deadline <= self._now and not waiter.done():
                loop = waiter.get_loop()
                if loop is here:
                    waiter.set_result(None)
                else:
                    with contextlib.suppress(RuntimeError):  # that loop is closed
                        loop.call_soon_threadsafe(_wake, waiter)

    async def sleep(self, seconds: float) -> None:
        """Returns once `advance` has moved the clock ``seconds`` on."""
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (self._now + seconds, waiter)
        self._sleepers.append(entry)
        try:
            await waiter
        finally:
            self._sleepers.remove(entry)


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
