"""Dispatch safety: VideoSDK dispatches under ambiguous faults are never duplicated.

300 dispatches, each into a room of its own, 20% of them answered with a fault that leaves
the outcome unknown to the client (5xx with or without effect, resets before or after,
stalls past the timeout, broken 2xx bodies). Afterwards, once every stalled request has
been carried out: no dispatch put two agent sessions in its room; a dispatch that returned
made exactly the session in the room it names; one that raised StartOutcomeUnknownError
made at most one, and only where the vendor may still have been at work (a timeout or a
gateway's 504); one that raised anything else made none. Every call ends within the
policy's deadline.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from agentcloud import (
    AgentCloudError,
    Dispatch,
    StartOutcomeUnknownError,
    VideoSDK,
)
from agentcloud.testing import Emulator, FaultPlan, Lifecycle, ManualClock

from .support import (
    AMBIGUOUS_FAULTS,
    ATTEMPT_TIMEOUT,
    PROCESSED_FAULTS,
    STALL_SECONDS,
    assert_unknown_for_a_reason,
    poll_until,
)
from .test_start_safety import DEADLINE, SLACK, run_calls

DISPATCHES = 300
DISPATCH_PATH = "/v2/agent/dispatch"
KEEP_RUNNING = Lifecycle(start_delay=1.0, run_duration=None, stop_delay=0.0)


async def test_videosdk_dispatches_are_exactly_the_sessions_created() -> None:
    plan = FaultPlan(
        rate=0.2,
        seed=12,
        kinds=AMBIGUOUS_FAULTS,
        paths=(DISPATCH_PATH,),
        stall_seconds=STALL_SECONDS,
    )
    async with Emulator(clock=ManualClock(), seed=6, lifecycle=KEEP_RUNNING, faults=plan) as emu:
        agent = emu.videosdk_agent_id
        deployment = emu.videosdk_runtime_deployment_id
        emu.videosdk_agent(agent).workers = DISPATCHES  # capacity is not what is tested here
        runtime = emu.worlds["videosdk"].runtime

        async def dispatch(vs: VideoSDK, index: int) -> Any:
            return await vs.runtime.dispatch(
                agent_id=agent, deployment_id=deployment, metadata={"call": str(index)}
            )

        outcomes, durations = await run_calls(
            DISPATCHES,
            lambda policy: emu.videosdk(retry=policy, timeout=ATTEMPT_TIMEOUT),
            dispatch,
        )
        sent = [r for r in emu.requests if r.path == DISPATCH_PATH]
        carried_out = sum(1 for r in sent if r.fault is None or r.fault in PROCESSED_FAULTS)
        emu.faults = None

        async def all_stalls_done() -> bool:
            return len(runtime.sessions) == carried_out

        # A stalled dispatch is carried out late, after its client gave up on it.
        await poll_until(all_stalls_done)
        made = list(runtime.sessions.values())

    assert max(Counter(s.room_id for s in made).values()) == 1, "two agents in one room"
    by_call: dict[int, list[Any]] = {}
    for session in made:
        by_call.setdefault(int(session.metadata["call"]), []).append(session)
    duplicated = {call: len(found) for call, found in by_call.items() if len(found) > 1}
    assert not duplicated, f"calls that dispatched twice: {duplicated}"

    unknown = 0
    for index, outcome in outcomes.items():
        created = by_call.get(index, [])
        if isinstance(outcome, StartOutcomeUnknownError):
            unknown += 1
            assert_unknown_for_a_reason(index, outcome)
            assert outcome.marker is not None  # the room to look in
            assert all(s.room_id == outcome.marker for s in created)
        elif isinstance(outcome, AgentCloudError):
            assert created == [], f"call {index} raised {outcome!r} but dispatched"
        else:
            assert isinstance(outcome, Dispatch), f"call {index}: untyped {outcome!r}"
            assert [s.room_id for s in created] == [outcome.room_id], f"call {index}"
    assert len(outcomes) == DISPATCHES
    returned = sum(1 for o in outcomes.values() if isinstance(o, Dispatch))
    assert unknown <= DISPATCHES * 0.1
    assert returned >= DISPATCHES * 0.85
    assert Counter(r.fault for r in sent if r.fault).keys() == set(AMBIGUOUS_FAULTS)
    slowest = max(durations.values())
    assert slowest <= DEADLINE + SLACK, f"a dispatch took {slowest:.2f}s of {DEADLINE}s"
