"""A testing mode for users' own tests: instant retries and waits on a fake clock.

Like stamina's ``set_testing``: while it is on, every RetryPolicy left at its default
sleep, clock and randomness (that is, every client that was not given its own) waits no
real time. A retry's back-off, a Retry-After and a ``wait()`` poll each advance a fake
monotonic clock instead, jitter sits at its ceiling (so delays are predictable), and the
steps taken are recorded in ``FakeTime.sleeps``. Given an emulator's
:class:`~agentcloud.testing.ManualClock`, the same steps advance it, so sessions move
through their phases while a ``wait()`` polls. Real timeouts (a stalled answer) still
take real time: they measure the network, not the SDK.

The mode is process-wide: turn it on in a fixture and off afterwards (``fake_time()``
does both).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from agentcloud import _retry
from agentcloud._retry import RetryPolicy

from ._clock import ManualClock

__all__ = ["FakeTime", "set_testing", "fake_time"]


class FakeTime:
    """Fake monotonic time: ``now``, ``sleeps`` (every step taken), ``advance()``.

    Its ``sleep`` returns at once and moves ``now`` on. Given an emulator's
    :class:`ManualClock`, it reads and advances that clock instead, so sessions move while a
    client waits. With ``real=True`` real time counts too (real timeouts and stalls add to
    the slept steps), for bounding what a caller would really have waited.
    :meth:`policy` is a RetryPolicy on this time, for one client (the testing mode gives it
    to every client at once).
    """

    def __init__(
        self, *, clock: ManualClock | None = None, start: float = 1000.0, real: bool = False
    ) -> None:
        self._clock = clock
        self._now = start
        self._real = real
        self._origin = time.monotonic()
        self.sleeps: list[float] = []

    @property
    def now(self) -> float:
        """The fake monotonic time (settable, to place it where a test wants)."""
        return self.monotonic()

    @now.setter
    def now(self, value: float) -> None:
        self._now = value

    def monotonic(self) -> float:
        """The fake time in seconds: its own, or the emulator clock's if given (plus real time
        elapsed with ``real=True``).
        """
        base = self._clock.now() if self._clock is not None else self._now
        return base + (time.monotonic() - self._origin if self._real else 0.0)

    #: The name a RetryPolicy's ``clock=`` reads well with.
    clock = monotonic

    def advance(self, seconds: float) -> None:
        """Moves the fake time forward (and the emulator's clock with it, if given)."""
        if self._clock is not None:
            self._clock.advance(seconds)
        else:
            self._now += seconds

    async def sleep(self, seconds: float) -> None:
        """Records the step, moves the time on by ``seconds`` and yields to the event loop once; no
        real time passes.
        """
        seconds = max(0.0, seconds)
        self.sleeps.append(seconds)
        self.advance(seconds)
        await asyncio.sleep(0)  # a real sleep yields to the loop; so does this one

    def policy(self, **overrides: Any) -> RetryPolicy:
        """A RetryPolicy on this time, jitter pinned to its ceiling (``random() == 1``)."""
        options: dict[str, Any] = {"sleep": self.sleep, "clock": self.monotonic}
        options["random"] = lambda: 1.0
        options.update(overrides)
        return RetryPolicy(**options)

    def __repr__(self) -> str:
        return f"FakeTime(now={self.monotonic():g}, sleeps={len(self.sleeps)})"


def set_testing(enabled: bool = True, *, clock: ManualClock | None = None) -> FakeTime | None:
    """Turns the testing mode on (returning its fake time) or off (returning None)."""
    if not enabled:
        _retry.testing = None
        return None
    time = FakeTime(clock=clock)
    _retry.testing = time
    return time


@contextmanager
def fake_time(*, clock: ManualClock | None = None) -> Iterator[FakeTime]:
    """``with fake_time() as time:``: the testing mode for the block, then as it was."""
    previous = _retry.testing
    time = FakeTime(clock=clock)
    _retry.testing = time
    try:
        yield time
    finally:
        _retry.testing = previous
