"""Fixtures of the suites that run clients against the emulator: a manual clock, and a
retry policy that sleeps by advancing it (so timers, polls and backoff run instantly)."""

from __future__ import annotations

import asyncio

import pytest

from agentcloud import RetryPolicy
from agentcloud.testing import ManualClock


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def policy(clock: ManualClock) -> RetryPolicy:
    async def advance(seconds: float) -> None:
        clock.advance(seconds)
        await asyncio.sleep(0)

    return RetryPolicy(sleep=advance, clock=clock.now, random=lambda: 0.5)
