"""One retry budget for every replica: a token bucket kept in Redis.

Each retry, in any process, takes a token in one atomic Lua script; the bucket refills at
``rate`` tokens a second (by Redis's clock) up to ``burst``. So the whole fleet retries at
most ``burst`` at once and ``rate`` a second after that, however many replicas fail
together: a vendor outage is not multiplied by the number of replicas.

When Redis cannot be reached (or answers slower than the budget's short timeout), each
process falls back on a local bucket of the same rate and burst, and a WARNING is logged:
retries continue as they would without a fleet (bounded per process), rather than every
call failing on its first error because the fleet is away.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ..errors import FleetUnavailableError
from ._link import Core
from ._scripts import BUDGET

__all__ = ["FleetBudget", "LocalBucket"]

#: The most (seconds) a retry waits for the shared bucket's answer.
BUDGET_TIMEOUT = 0.5


class LocalBucket:
    """A token bucket in this process: ``rate`` tokens a second, ``burst`` at most."""

    def __init__(
        self, rate: float, burst: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._rate = rate
        self._burst = burst
        self._clock = clock
        self._tokens = burst
        self._at = clock()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = self._clock()
            self._tokens = min(self._burst, self._tokens + max(0.0, now - self._at) * self._rate)
            self._at = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            return False


class FleetBudget:
    """A retry budget shared by every process of the fleet (a ``BudgetSource``): pass it
    as ``RetryPolicy(budget=fleet.budget("videosdk", rate=5.0, burst=20))``.

    The bucket refills with time, not with successes, so ``record_success`` does nothing.
    """

    def __init__(self, core: Core, name: str, *, rate: float, burst: float) -> None:
        self._core = core
        self.name = name
        self.rate = rate
        self.burst = burst
        self._key = core.keys.budget(name)
        self._local = LocalBucket(rate, burst)

    def __repr__(self) -> str:
        return f"FleetBudget({self.name!r}, rate={self.rate:g}, burst={self.burst:g})"

    async def try_spend(self) -> bool:
        """True when the fleet may retry once more (a token was taken)."""
        core = self._core
        try:
            taken = await core.call(
                "retry budget",
                lambda link: link.script("budget", BUDGET)(
                    keys=[self._key], args=[self.rate, self.burst]
                ),
                timeout=min(core.timeout, BUDGET_TIMEOUT),
                fail_fast=True,
            )
        except FleetUnavailableError:
            core.health.warn(
                "retry budget fallback",
                f"fleet retry budget {self.name!r}: Redis at {core.where} is unavailable; "
                "each process spends a local bucket of the same rate and burst meanwhile",
            )
            return self._local.take()
        return bool(taken)

    def record_success(self) -> None:
        """Nothing: the shared bucket refills with time."""
