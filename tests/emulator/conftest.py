"""Fixtures for the emulator's own tests: a manual clock, an emulator, a raw HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from agentcloud.testing import Emulator, Lifecycle, ManualClock

# The plugin's fixture, for runs where agentcloud is not installed (no pytest11 entry).
from agentcloud.testing.pytest_plugin import agentcloud_emulator  # noqa: F401
from tests.emulator.helpers import PipecatCaller, VideoSDKCaller

# Timers the tests reason about: 2 s queued, 60 s running, 0 s to stop.
TEST_LIFECYCLE = Lifecycle(start_delay=2.0, run_duration=60.0, stop_delay=0.0)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def emu(clock: ManualClock) -> AsyncIterator[Emulator]:
    async with Emulator(clock=clock, seed=7, lifecycle=TEST_LIFECYCLE) as emulator:
        yield emulator


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def videosdk(emu: Emulator, http: aiohttp.ClientSession) -> VideoSDKCaller:
    return VideoSDKCaller(emu, http)


@pytest.fixture
def pipecat(emu: Emulator, http: aiohttp.ClientSession) -> PipecatCaller:
    return PipecatCaller(emu, http)
