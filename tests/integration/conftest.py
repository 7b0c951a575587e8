"""Fixtures of the suites that run clients against the emulator: a manual clock, and a
retry policy that sleeps by advancing it (so timers, polls and backoff run instantly)."""

from __future__ import annotations

import pytest

from agentcloud import RetryPolicy
from agentcloud.testing import ManualClock
from tests.helpers import advancing_policy


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def policy(clock: ManualClock) -> RetryPolicy:
    return advancing_policy(clock)
