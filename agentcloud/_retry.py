"""When and how long to wait before trying a call again.

Why full jitter: many clients failing together must not come back together. Why a budget:
when a vendor is down, retries only multiply the load, so a client spends a token per
retry and earns a fraction back per success; with the bucket empty it fails fast.
Why injectable sleep, clock and randomness: tests run every schedule without real waits.
Left at their defaults they follow :func:`agentcloud.testing.set_testing`, which turns every
client's waits into instant steps of a fake clock, as stamina's testing mode does.
"""

from __future__ import annotations

import asyncio
import inspect
import random as _random
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Protocol, runtime_checkable

import attrs

from .errors import InvalidRequestError

__all__ = [
    "BudgetSource",
    "RetryBudget",
    "RetryPolicy",
    "TestingTime",
    "parse_retry_after",
    "spend",
]


class TestingTime(Protocol):
    """What a testing mode supplies in place of real time (see agentcloud.testing)."""

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


#: The testing mode in force, if any; set through agentcloud.testing.set_testing.
testing: TestingTime | None = None


async def default_sleep(seconds: float) -> None:
    """``asyncio.sleep``, or an instant step of the fake clock in testing mode."""
    mode = testing
    if mode is None:
        await asyncio.sleep(seconds)
    else:
        await mode.sleep(seconds)


def default_clock() -> float:
    """``time.monotonic``, or the fake clock in testing mode."""
    mode = testing
    return time.monotonic() if mode is None else mode.monotonic()


def default_random() -> float:
    """Uniform in [0, 1); in testing mode always 1.0, so delays are their ceilings."""
    return _random.random() if testing is None else 1.0


@runtime_checkable
class BudgetSource(Protocol):
    """A retry budget shared beyond one client (``agentcloud.fleet`` keeps one in Redis).

    ``try_spend`` returns (or resolves to) True when a retry may be made.
    """

    def try_spend(self) -> bool | Awaitable[bool]: ...

    def record_success(self) -> None: ...


async def spend(budget: BudgetSource) -> bool:
    """Asks ``budget`` for one retry, whether it answers at once or asynchronously."""
    answer = budget.try_spend()
    if inspect.isawaitable(answer):
        return bool(await answer)
    return bool(answer)


def _budget(value: object) -> float | BudgetSource:
    if isinstance(value, BudgetSource) and not isinstance(value, (int, float)):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(
            f"budget must be a number of tokens or a shared budget, got {type(value).__name__}"
        )
    if not value >= 0:
        raise InvalidRequestError("budget", f"must be >= 0, got {value!r}")
    return value


def _number(attribute: attrs.Attribute[float], value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{attribute.name} must be a number, got {type(value).__name__}")
    return value


# Written as "not value > 0" so that NaN, which compares false with everything, is refused:
# a NaN deadline would silently disable it.
def _positive(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not _number(attribute, value) > 0:
        raise InvalidRequestError(attribute.name, f"must be > 0, got {value!r}")


def _non_negative(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not _number(attribute, value) >= 0:
        raise InvalidRequestError(attribute.name, f"must be >= 0, got {value!r}")


def _attempts(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{attribute.name} must be an integer, got {type(value).__name__}")
    if value < 1:
        raise InvalidRequestError(attribute.name, f"must be >= 1, got {value!r}")


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How a client retries.

    ``max_attempts`` counts the first try. ``deadline`` bounds the whole call, retries and
    waits included. A ``Retry-After`` above ``max_retry_after`` (or past the deadline) ends
    the retries with the error instead of waiting. ``budget`` tokens are shared by one client:
    each retry spends one, each success earns ``budget_refill`` back; a shared budget
    (``fleet.budget(...)``) may be given instead, shared by every client that uses it.
    """

    max_attempts: int = attrs.field(default=4, validator=_attempts)
    backoff_base: float = attrs.field(default=0.5, validator=_non_negative)
    backoff_cap: float = attrs.field(default=8.0, validator=_non_negative)
    deadline: float = attrs.field(default=60.0, validator=_positive)
    retry_statuses: tuple[int, ...] = attrs.field(
        default=(408, 429, 500, 502, 503, 504), converter=tuple
    )
    max_retry_after: float = attrs.field(default=60.0, validator=_non_negative)
    budget: float | BudgetSource = attrs.field(default=10.0, converter=_budget)
    budget_refill: float = attrs.field(default=0.1, validator=_non_negative)
    sleep: Callable[[float], Awaitable[None]] = attrs.field(
        default=default_sleep, eq=False, repr=False
    )
    clock: Callable[[], float] = attrs.field(default=default_clock, eq=False, repr=False)
    random: Callable[[], float] = attrs.field(default=default_random, eq=False, repr=False)

    @classmethod
    def never(cls) -> RetryPolicy:
        """A policy that tries each call once."""
        return cls(max_attempts=1)

    def backoff(self, retry: int) -> float:
        """Full-jitter delay before retry number ``retry`` (0 for the first retry)."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2.0 ** min(retry, 64))
        return self.random() * ceiling

    def new_budget(self) -> BudgetSource:
        """The budget one client spends: its own bucket, or the shared one given."""
        if isinstance(self.budget, (int, float)):
            return RetryBudget(self.budget, self.budget_refill)
        return self.budget


class RetryBudget:
    """A token bucket shared by every call of one client."""

    def __init__(self, capacity: float, refill: float) -> None:
        self._capacity = capacity
        self._refill = refill
        self._tokens = capacity

    @property
    def tokens(self) -> float:
        return self._tokens

    def try_spend(self) -> bool:
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    def record_success(self) -> None:
        self._tokens = min(self._capacity, self._tokens + self._refill)


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """The delay in seconds a response asks for, or None.

    Reads ``retry-after-ms`` first (more precise), then ``Retry-After`` as seconds or as an
    HTTP date (relative to ``now``, wall-clock seconds since the epoch). Garbage is ignored.
    """
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            value = float(millis) / 1000.0
        except ValueError:
            value = -1.0
        if value >= 0 and value == value:  # rejects NaN
            return value
    raw = headers.get("Retry-After") or headers.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        seconds = float(raw)
    except ValueError:
        try:
            when = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # "-0000" means UTC with no zone named
            when = when.replace(tzinfo=UTC)
        current = time.time() if now is None else now
        return max(0.0, when.timestamp() - current)
    if seconds != seconds or seconds < 0:
        return None
    return seconds
