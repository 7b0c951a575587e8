"""Start safety: starts under ambiguous faults are never duplicated and always end in time.

VideoSDK: 1,000 starts, 20% of them answered with a fault that leaves the outcome unknown
to the client (5xx with or without effect, resets before or after, stalls past the
timeout, broken 2xx bodies). Afterwards, once every stalled request has been carried out,
the sessions on the emulator are exactly the sessions the calls returned, plus at most
one per call that raised StartOutcomeUnknownError; no call has two; a call that raised
anything else created nothing. Every call ends within the policy's deadline, measured on a
clock that counts real time and (instant) retry sleeps alike.

Pipecat cannot look a start up, so there: at most one start request per call is carried
out, and every ambiguous failure surfaces as StartOutcomeUnknownError.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

from agentcloud import (
    AgentCloudError,
    PipecatCloud,
    RequestTimeoutError,
    RetryPolicy,
    StartOutcomeUnknownError,
    VideoSDK,
)
from agentcloud.testing import Emulator, FaultKind, FaultPlan, Lifecycle, ManualClock

from .support import (
    AMBIGUOUS_FAULTS,
    ATTEMPT_TIMEOUT,
    PROCESSED_FAULTS,
    STALL_SECONDS,
    FakeTime,
    HybridTime,
    assert_unknown_for_a_reason,
    fast_policy,
    poll_until,
)

VIDEOSDK_STARTS = 1000
PIPECAT_STARTS = 400
WORKERS = 25
DEADLINE = 3.0
#: Scheduling slack on top of the deadline (the clock counts real time, on a busy CI box).
SLACK = 0.5
STARTS_PATH = "/ai/v1/ai-deployment-sessions/start"
KEEP_RUNNING = Lifecycle(start_delay=1.0, run_duration=None, stop_delay=0.0)


Client = TypeVar("Client", VideoSDK, PipecatCloud)


async def run_calls(
    count: int,
    connect: Callable[[RetryPolicy], Client],
    call: Callable[[Client, int], Awaitable[Any]],
) -> tuple[dict[int, Any], dict[int, float]]:
    """Runs ``call(client, i)`` for every i on a pool of workers; returns the outcomes and
    durations. Each worker has its own client on its own clock, so the (instant) retry
    sleeps of one worker never count as time spent by another."""
    outcomes: dict[int, Any] = {}
    durations: dict[int, float] = {}
    queue = list(range(count))

    async def worker(number: int) -> None:
        timer = HybridTime()
        policy = fast_policy(timer, seed=number, max_attempts=5, deadline=DEADLINE)
        async with connect(policy) as client:
            while queue:
                index = queue.pop()
                began = timer.clock()
                try:
                    outcomes[index] = await call(client, index)
                except Exception as error:  # classified by the test
                    outcomes[index] = error
                durations[index] = timer.clock() - began

    await asyncio.gather(*(worker(number) for number in range(WORKERS)))
    return outcomes, durations


async def test_videosdk_starts_are_exactly_the_sessions_created() -> None:
    plan = FaultPlan(
        rate=0.2,
        seed=8,
        kinds=AMBIGUOUS_FAULTS,
        paths=(STARTS_PATH,),
        stall_seconds=STALL_SECONDS,
    )
    async with Emulator(clock=ManualClock(), seed=4, lifecycle=KEEP_RUNNING, faults=plan) as emu:
        deployment = emu.videosdk_deployment_id

        async def start(vs: VideoSDK, index: int) -> Any:
            return await vs.sessions.start(
                deployment_id=deployment, tag="v1.0", metadata={"call": str(index)}
            )

        outcomes, durations = await run_calls(
            VIDEOSDK_STARTS,
            lambda policy: emu.videosdk(retry=policy, timeout=ATTEMPT_TIMEOUT),
            start,
        )

        starts = [r for r in emu.requests if r.path == STARTS_PATH]
        carried_out = sum(1 for r in starts if r.fault is None or r.fault in PROCESSED_FAULTS)
        emu.faults = None
        async with emu.videosdk() as observer:

            async def all_stalls_done() -> bool:
                return len(await observer.sessions.list().collect()) == carried_out

            # A stalled start is carried out late, after its client gave up on it.
            await poll_until(all_stalls_done)
            sessions = await observer.sessions.list().collect()

    by_call: dict[int, list[str]] = {}
    for session in sessions:
        by_call.setdefault(int(session.metadata["call"]), []).append(session.id)
    duplicated = {call: ids for call, ids in by_call.items() if len(ids) > 1}
    assert not duplicated, f"calls with two sessions: {duplicated}"

    unknown = 0
    for index, outcome in outcomes.items():
        created = by_call.get(index, [])
        if isinstance(outcome, StartOutcomeUnknownError):
            unknown += 1  # at most one session, checked above
            assert_unknown_for_a_reason(index, outcome)
        elif isinstance(outcome, AgentCloudError):
            assert created == [], f"call {index} raised {outcome!r} but created {created}"
        else:
            assert not isinstance(outcome, Exception), f"call {index}: untyped {outcome!r}"
            assert created == [outcome.id], f"call {index} returned {outcome.id}, made {created}"
    assert len(outcomes) == VIDEOSDK_STARTS
    returned = {o.id for o in outcomes.values() if not isinstance(o, Exception)}
    known = {
        sid
        for index, ids in by_call.items()
        for sid in ids
        if not isinstance(outcomes[index], StartOutcomeUnknownError)
    }
    assert known == returned, "a session exists that no returned start accounts for"
    assert unknown <= VIDEOSDK_STARTS * 0.1
    assert len(returned) >= VIDEOSDK_STARTS * 0.85
    assert Counter(r.fault for r in starts if r.fault).keys() == set(AMBIGUOUS_FAULTS)
    slowest = max(durations.values())
    assert slowest <= DEADLINE + SLACK, f"a start took {slowest:.2f}s of a {DEADLINE}s deadline"


async def test_pipecat_start_is_never_carried_out_twice() -> None:
    plan = FaultPlan(
        rate=0.2,
        seed=9,
        kinds=list(FaultKind),  # the 429s too: those are the ones a start may repeat
        paths=("/v1/public/*",),
        stall_seconds=STALL_SECONDS,
    )
    async with Emulator(clock=ManualClock(), seed=5, lifecycle=KEEP_RUNNING, faults=plan) as emu:

        async def start(pc: PipecatCloud, index: int) -> Any:
            return await pc.sessions.start(body={"call": index})

        outcomes, durations = await run_calls(
            PIPECAT_STARTS,
            lambda policy: emu.pipecat(retry=policy, timeout=ATTEMPT_TIMEOUT),
            start,
        )

        starts = [r for r in emu.requests if r.path.startswith("/v1/public/")]
        emu.faults = None
        carried_out = [r for r in starts if r.fault is None or r.fault in PROCESSED_FAULTS]
        async with emu.pipecat() as observer:

            async def all_stalls_done() -> bool:
                listing = await observer.sessions.list(status="all").collect()
                return len(listing) == len(carried_out)

            await poll_until(all_stalls_done)

    per_call = Counter(r.body["body"]["call"] for r in carried_out)
    assert max(per_call.values()) == 1, "one call started two sessions"
    sent_per_call: dict[int, list[FaultKind | None]] = {}
    for request in starts:
        sent_per_call.setdefault(request.body["body"]["call"], []).append(request.fault)
    for index, outcome in outcomes.items():
        faults = sent_per_call.get(index)
        if faults is None:
            # Cut before the emulator had read it (a loaded machine): it made nothing, and
            # the caller was not told otherwise.
            assert isinstance(outcome, AgentCloudError), f"call {index}: {outcome!r}"
            continue
        # Only a refusal that provably did nothing (429) is followed by another attempt.
        assert all(
            f in (FaultKind.RATE_LIMITED, FaultKind.RATE_LIMITED_NO_RETRY_AFTER)
            for f in faults[:-1]
        ), f"call {index} was repeated after {faults}"
        last = faults[-1]
        if last is None and isinstance(outcome, StartOutcomeUnknownError):
            # Served normally, but too slowly for the client (a busy machine): a timeout.
            assert isinstance(outcome.__cause__, RequestTimeoutError), f"call {index}"
        elif last is None:
            assert not isinstance(outcome, Exception), f"call {index}: {outcome!r}"
        elif last in AMBIGUOUS_FAULTS:
            assert isinstance(outcome, StartOutcomeUnknownError), f"call {index}: {outcome!r}"
        else:
            assert isinstance(outcome, AgentCloudError), f"call {index}: {outcome!r}"
    slowest = max(durations.values())
    assert slowest <= DEADLINE + SLACK


async def test_one_deadline_bounds_a_whole_start() -> None:
    """Attempts, their 429 waits and the reconciliations between them share one deadline.

    Each attempt is refused twice with Retry-After: 4 s, then answered 500 (nothing made):
    without a shared deadline the second attempt starts a fresh 10 s allowance and the
    start returns at t=16 s of a 10 s deadline.
    """
    timer = FakeTime()
    limited, failed = FaultKind.RATE_LIMITED, FaultKind.SERVER_ERROR
    plan = FaultPlan(
        script=[limited, limited, failed] * 3,
        retry_after=4,
        paths=(STARTS_PATH,),
    )
    async with Emulator(clock=ManualClock(), seed=6, lifecycle=KEEP_RUNNING, faults=plan) as emu:
        policy = fast_policy(timer, deadline=10.0, max_attempts=8)
        async with emu.videosdk(retry=policy) as vs:
            began = timer.clock()
            with pytest.raises(AgentCloudError):
                await vs.sessions.start(deployment_id=emu.videosdk_deployment_id, tag="v1.0")
            assert timer.clock() - began <= 10.0
