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
from collections.abc import Iterator
from contextlib import contextmanager

from agentcloud import _retry

from ._clock import ManualClock

__all__ = ["FakeTime", "set_testing", "fake_time"]


class FakeTime:
    """The fake time of the testing mode: ``now`` (monotonic seconds) and ``sleeps``."""

    def __init__(self, *, clock: ManualClock | None = None, start: float = 1000.0) -> None:
        self._clock = clock
        self._now = start
        self.sleeps: list[float] = []

    @property
    def now(self) -> float:
        return self.monotonic()

    def monotonic(self) -> float:
        return self._clock.now() if self._clock is not None else self._now

    def advance(self, seconds: float) -> None:
        """Moves the fake time forward (and the emulator's clock with it, if given)."""
        if self._clock is not None:
            self._clock.advance(seconds)
        else:
            self._now += seconds

    async def sleep(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        self.sleeps.append(seconds)
        self.advance(seconds)
        await asyncio.sleep(0)  # a real sleep yields to the loop; so does this one

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
