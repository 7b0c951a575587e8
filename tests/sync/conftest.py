"""Fixtures of the sync suites: a blocking emulator on a manual clock, blocking clients
whose retry sleeps move that clock (so session timers, polls and backoff run instantly), and
a count of the TCP connections the emulator accepts."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from aiohttp import web

from agentcloud import RetryPolicy
from agentcloud.sync import LiveKitCloud, PipecatCloud, VideoSDK, wrap
from agentcloud.testing import Emulator, Lifecycle, ManualClock
from tests.helpers import advancing_policy
from tests.sync.helpers import Connections

TIMERS = Lifecycle(start_delay=2.0, run_duration=600.0, stop_delay=1.0)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def policy(clock: ManualClock) -> RetryPolicy:
    return advancing_policy(clock)


@pytest.fixture
def emu(clock: ManualClock) -> Iterator[Emulator]:
    with Emulator(clock=clock, seed=5, lifecycle=TIMERS) as emulator:
        yield emulator


@pytest.fixture
def vs(emu: Emulator, policy: RetryPolicy) -> Iterator[VideoSDK]:
    with wrap(emu.videosdk(retry=policy)) as client:
        yield client


@pytest.fixture
def pc(emu: Emulator, policy: RetryPolicy) -> Iterator[PipecatCloud]:
    with wrap(emu.pipecat(retry=policy)) as client:
        yield client


@pytest.fixture
def lk(emu: Emulator, policy: RetryPolicy) -> Iterator[LiveKitCloud]:
    with wrap(emu.livekit(retry=policy)) as client:
        yield client


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> Connections:
    counter = Connections()
    made = web.RequestHandler.connection_made
    lost = web.RequestHandler.connection_lost

    def connection_made(handler: web.RequestHandler, transport: asyncio.BaseTransport) -> None:
        counter.made()
        made(handler, transport)

    def connection_lost(handler: web.RequestHandler, exc: BaseException | None) -> None:
        counter.lost()
        lost(handler, exc)

    monkeypatch.setattr(web.RequestHandler, "connection_made", connection_made)
    monkeypatch.setattr(web.RequestHandler, "connection_lost", connection_lost)
    return counter
