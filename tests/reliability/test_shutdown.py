"""Shutdown ends what was started: interpreter exit, a closed client, a cancelled start.

Each case runs its own ``asyncio.run`` (what a bot's ``main`` does) against an emulator on a
thread of its own, whose latency keeps every start in flight when the attack lands: the
vendor creates the session whether or not the client still listens. Afterwards no session
the emulator created is left queued or running, and nothing escapes but typed errors.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest

from agentcloud import RetryPolicy, VideoSDK
from agentcloud.testing import Lifecycle, ManualClock, Phase

from .support import ThreadedEmulator

BOTS = 10
FOREVER = Lifecycle(start_delay=0.0, run_duration=None, stop_delay=0.0)
START = "/ai/v1/ai-deployment-sessions/start"
END = "/ai/v1/ai-deployment-sessions/end"


@pytest.fixture
def vendor() -> Iterator[ThreadedEmulator]:
    with ThreadedEmulator(clock=ManualClock(), seed=11, lifecycle=FOREVER, latency=0.2) as threaded:
        yield threaded


def client(threaded: ThreadedEmulator, **options: Any) -> VideoSDK:
    options.setdefault("retry", RetryPolicy(max_attempts=2, deadline=10.0))
    return threaded.emu.videosdk(**options)


def count(threaded: ThreadedEmulator, path: str) -> int:
    return sum(1 for record in list(threaded.emu.requests) if record.path == path)


async def until_sent(threaded: ThreadedEmulator, path: str, n: int, limit: float = 10.0) -> None:
    """Waits (bounded) until the emulator has received ``n`` requests to ``path``."""
    give_up = time.monotonic() + limit
    while count(threaded, path) < n:
        assert time.monotonic() < give_up, f"only {count(threaded, path)} of {n} requests arrived"
        await asyncio.sleep(0.005)


def left_running(threaded: ThreadedEmulator, expected: int = BOTS) -> tuple[int, list[str]]:
    """How many sessions the emulator made, and those not ended.

    Starts the client gave up on are still carried out by the emulator a moment later (as
    by a vendor): their count is awaited (bounded) before anything is judged."""
    threaded.emu.latency = 0.0

    async def ids() -> list[str]:
        async with threaded.emu.videosdk() as observer:
            return [s.id for s in await observer.sessions.list().collect()]

    give_up = time.monotonic() + 5.0
    made = threaded.run(ids)
    while len(made) < expected and time.monotonic() < give_up:
        time.sleep(0.02)
        made = threaded.run(ids)
    running = [
        sid
        for sid in made
        if threaded.emu.session_phase("videosdk", sid) in (Phase.QUEUED, Phase.RUNNING)
    ]
    return len(made), running


def managed_bots(
    vs: VideoSDK, deployment: str, started: list[str], all_started: asyncio.Event | None = None
) -> list[asyncio.Task[None]]:
    async def bot() -> None:
        async with vs.sessions.start(deployment_id=deployment, tag="v1.0") as session:
            started.append(session.id)
            if all_started is not None and len(started) == BOTS:
                all_started.set()
            await asyncio.sleep(3600)

    return [asyncio.ensure_future(bot()) for _ in range(BOTS)]


@pytest.mark.filterwarnings("ignore::ResourceWarning")  # the bot never closes its client
def test_interpreter_exit_with_starts_in_flight_ends_them(vendor: ThreadedEmulator) -> None:
    kept: list[asyncio.Task[None]] = []  # the bots stay referenced, as a real main's would

    async def main() -> None:
        vs = client(vendor)
        kept.extend(managed_bots(vs, vendor.emu.videosdk_deployment_id, []))
        await until_sent(vendor, START, BOTS)
        # main returns: asyncio.run cancels every task, starts in flight included.

    asyncio.run(main())
    made, running = left_running(vendor)
    assert made == BOTS
    assert running == [], f"{len(running)} of {made} sessions left running at exit"


@pytest.mark.parametrize("when", ["starts in flight", "blocks running"])
def test_closing_the_client_ends_its_managed_sessions(vendor: ThreadedEmulator, when: str) -> None:
    escaped: list[BaseException] = []

    async def main() -> None:
        vs = client(vendor)
        started: list[str] = []
        all_started = asyncio.Event()
        bots = managed_bots(vs, vendor.emu.videosdk_deployment_id, started, all_started)
        await until_sent(vendor, START, BOTS)
        if when == "blocks running":
            await asyncio.wait_for(all_started.wait(), 10)
        await vs.aclose()
        for bot in bots:
            bot.cancel()
        for outcome in await asyncio.gather(*bots, return_exceptions=True):
            if not isinstance(outcome, asyncio.CancelledError | type(None)):
                escaped.append(outcome)

    asyncio.run(main())
    made, running = left_running(vendor)
    assert made == BOTS
    assert running == [], f"{len(running)} of {made} sessions left running"
    assert escaped == [], f"closing the client made the blocks raise {escaped[:2]}"


def test_a_cancelled_start_is_still_held_and_ended_on_close(vendor: ThreadedEmulator) -> None:
    async def main() -> None:
        vs = client(vendor, end_on_close=True)
        starts = [
            asyncio.ensure_future(
                vs.sessions.start(deployment_id=vendor.emu.videosdk_deployment_id, tag="v1.0")
            )
            for _ in range(BOTS)
        ]
        await until_sent(vendor, START, BOTS)
        for start in starts:
            start.cancel()
        await asyncio.gather(*starts, return_exceptions=True)
        await vs.aclose()

    asyncio.run(main())
    made, running = left_running(vendor)
    assert made == BOTS
    assert running == [], f"{len(running)} of {made} cancelled starts left running"


async def test_close_ends_held_sessions_at_once_under_one_deadline() -> None:
    """20 held sessions whose ends take 0.5 s each: ended together, not one after another
    (10 s); and ends that stall are abandoned when the close's deadline (2 s) comes."""
    from agentcloud.testing import Emulator

    async with Emulator(clock=ManualClock(), seed=12, lifecycle=FOREVER) as emu:
        for stall, expect_ended in ((0.5, True), (30.0, False)):
            vs = emu.videosdk(
                end_on_close=True, retry=RetryPolicy(max_attempts=1, deadline=2.0), timeout=60
            )
            emu.latency = 0.0
            held = [
                (await vs.sessions.start(deployment_id=emu.videosdk_deployment_id, tag="v1.0")).id
                for _ in range(20)
            ]
            emu.latency = stall
            # A guard, not a measurement: one after another these would take 10 s or more.
            await asyncio.wait_for(vs.aclose(), timeout=6.0)
            ended = [
                sid
                for sid in held
                if emu.session_phase("videosdk", sid) not in (Phase.QUEUED, Phase.RUNNING)
            ]
            if expect_ended:
                assert len(ended) == 20
        emu.latency = 0.0
