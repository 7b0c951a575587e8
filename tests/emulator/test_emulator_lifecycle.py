"""Session phases over (manual) time, for both vendors; the clock and the timer driver."""

from __future__ import annotations

import asyncio

import pytest

from agentcloud.testing import Emulator, Lifecycle, ManualClock, Phase
from agentcloud.testing._lifecycle import Timeline
from tests.emulator.helpers import PipecatCaller, VideoSDKCaller, videosdk_caller

SESSIONS = "/ai/v1/ai-deployment-sessions"


# ---- the pieces


async def test_manual_clock_wakes_sleepers_only_when_advanced() -> None:
    clock = ManualClock(start=100.0)
    sleeper = asyncio.ensure_future(clock.sleep(5))
    await asyncio.sleep(0)
    clock.advance(4.9)
    await asyncio.sleep(0)
    assert not sleeper.done()
    clock.advance(0.1)
    await asyncio.wait_for(sleeper, 1)
    assert clock.now() == 105.0
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)


def test_timeline_stamps_transitions_when_due_not_when_noticed() -> None:
    timeline = Timeline(
        lifecycle=Lifecycle(start_delay=2, run_duration=10, stop_delay=3), created_at=0.0
    )
    assert timeline.advance(1000.0) == [Phase.RUNNING, Phase.STOPPING, Phase.COMPLETED]
    assert (timeline.running_at, timeline.stopping_at, timeline.ended_at) == (2.0, 12.0, 15.0)
    assert timeline.updated_at == 15.0
    assert not timeline.terminated


def test_timeline_stop_on_request_and_failure() -> None:
    running = Timeline(lifecycle=Lifecycle(start_delay=1, run_duration=None), created_at=0.0)
    assert running.advance(500.0) == [Phase.RUNNING]
    assert running.next_deadline() is None
    assert running.request_stop(600.0) == [Phase.STOPPING, Phase.COMPLETED]
    assert running.terminated
    assert running.request_stop(700.0) == []

    failing = Timeline(lifecycle=Lifecycle(start_delay=1), created_at=0.0, will_fail=True)
    assert failing.advance(5.0) == [Phase.FAILED]
    assert failing.ended_at == 1.0


def test_lifecycle_rejects_nonsense() -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - attrs validators raise plain ValueError
        Lifecycle(start_delay=-1)
    with pytest.raises(ValueError):  # noqa: PT011
        Lifecycle(failure_rate=1.5)


# ---- VideoSDK


async def test_videosdk_session_runs_and_completes_on_its_timers(
    emu: Emulator, clock: ManualClock, videosdk: VideoSDKCaller
) -> None:
    session_id = (await videosdk.start())["sessionId"]
    clock.advance(1.9)
    assert (await videosdk.get(session_id))["status"] == "queued"
    clock.advance(0.1)
    running = await videosdk.get(session_id)
    assert running["status"] == "running"
    assert running["updatedAt"] == "2025-06-18T12:00:02.000Z"
    clock.advance(1000)  # far past the 60 s run: stamped when due, not now
    done = await videosdk.get(session_id)
    assert done["status"] == "completed"
    assert done["end"] == "2025-06-18T12:01:02.000Z"
    assert done["duration"] == 62
    assert emu.session_phase("videosdk", session_id) is Phase.COMPLETED


async def test_end_passes_through_stopping_when_stopping_takes_time(
    clock: ManualClock,
) -> None:
    lifecycle = Lifecycle(start_delay=1, run_duration=None, stop_delay=5)
    async with Emulator(clock=clock, lifecycle=lifecycle) as emu, videosdk_caller(emu) as vs:
        session_id = (await vs.start())["sessionId"]
        clock.advance(3)
        status, ended = await vs.call(
            "POST", f"{SESSIONS}/end", json_body={"sessionId": session_id}
        )
        assert status == 200
        assert ended["data"]["status"] == "stopping"
        assert ended["data"]["end"] == "2025-06-18T12:00:03.000Z"
        clock.advance(4.9)
        assert (await vs.get(session_id))["status"] == "stopping"
        clock.advance(0.1)
        completed = await vs.get(session_id)
        assert completed["status"] == "completed"
        assert completed["duration"] == 3
        assert completed["updatedAt"] == "2025-06-18T12:00:08.000Z"


async def test_a_failing_deployment_fails_its_sessions(
    emu: Emulator, clock: ManualClock, videosdk: VideoSDKCaller
) -> None:
    deployment = emu.add_videosdk_deployment(name="broken", fail_sessions=True)
    session_id = (await videosdk.start(deploymentId=deployment.id))["sessionId"]
    clock.advance(2)
    failed = await videosdk.get(session_id)
    assert failed["status"] == "failed"
    assert failed["end"] == "2025-06-18T12:00:02.000Z"
    # Ending a failed session changes nothing.
    _, answer = await videosdk.call("POST", f"{SESSIONS}/end", json_body={"sessionId": session_id})
    assert answer["data"]["status"] == "failed"


async def test_failure_rate_is_deterministic_for_a_seed() -> None:
    async def outcomes(seed: int) -> list[Phase]:
        clock = ManualClock()
        lifecycle = Lifecycle(start_delay=1, failure_rate=0.5)
        async with Emulator(clock=clock, seed=seed, lifecycle=lifecycle) as emu:
            async with videosdk_caller(emu) as vs:
                ids = [(await vs.start())["sessionId"] for _ in range(16)]
            clock.advance(1)
            return [emu.session_phase("videosdk", session_id) for session_id in ids]

    first, again, other = await outcomes(3), await outcomes(3), await outcomes(4)
    assert first == again
    assert set(first) == {Phase.RUNNING, Phase.FAILED}
    assert first != other


async def test_zero_start_delay_answers_running_at_once(clock: ManualClock) -> None:
    emu = Emulator(clock=clock, lifecycle=Lifecycle(start_delay=0))
    async with emu, videosdk_caller(emu) as vs:
        assert (await vs.start())["status"] == "running"


# ---- Pipecat


async def test_pipecat_session_lifecycle_fields(
    emu: Emulator, clock: ManualClock, pipecat: PipecatCaller
) -> None:
    session_id = await pipecat.start()
    path = f"/v1/agents/my-agent/sessions/{session_id}"
    _, queued = await pipecat.call("GET", path)
    assert (queued["endState"], queued["endedAt"], queued["botStartSeconds"]) == (
        "active",
        None,
        None,
    )
    clock.advance(2)
    _, running = await pipecat.call("GET", path)
    assert (running["endState"], running["botStartSeconds"]) == ("active", 2)
    clock.advance(60)  # the run ends on its own
    _, done = await pipecat.call("GET", path)
    assert done["endState"] == "completed"
    assert done["completionStatus"] == "HTTP_COMPLETED"
    assert done["endedAt"] == "2025-06-18T12:01:02.000Z"


async def test_second_concurrent_session_is_a_warm_start(
    clock: ManualClock, pipecat: PipecatCaller
) -> None:
    first, second = await pipecat.start(), await pipecat.start()
    clock.advance(2)
    _, one = await pipecat.call("GET", f"/v1/agents/my-agent/sessions/{first}")
    _, two = await pipecat.call("GET", f"/v1/agents/my-agent/sessions/{second}")
    assert (one["coldStart"], two["coldStart"]) == (True, False)


# ---- the timer driver


async def test_timers_fire_without_any_request_on_a_manual_clock(
    emu: Emulator, clock: ManualClock, videosdk: VideoSDKCaller
) -> None:
    session_id = (await videosdk.start())["sessionId"]
    entered = asyncio.Event()

    def watch(provider: str, watched_id: str, phase: Phase) -> None:
        if (provider, watched_id, phase) == ("videosdk", session_id, Phase.RUNNING):
            entered.set()

    emu.add_phase_listener(watch)
    clock.advance(2)
    await asyncio.wait_for(entered.wait(), 5)
    assert emu.session_phase("videosdk", session_id) is Phase.RUNNING


async def test_timers_fire_in_real_time_on_the_system_clock() -> None:
    async with Emulator(lifecycle=Lifecycle(start_delay=0.05)) as emu:
        entered = asyncio.Event()
        emu.add_phase_listener(lambda _p, _s, phase: phase is Phase.RUNNING and entered.set())
        async with videosdk_caller(emu) as vs:
            await vs.start()
        await asyncio.wait_for(entered.wait(), 5)
