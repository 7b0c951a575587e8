"""Cancellation at random points of every call leaks nothing and leaves nothing running.

Every public call of both clients is started as a task and cancelled after a seeded random
number of event-loop steps, while the emulator adds latency, stalls and resets. Then:

- the clients' pools have every connection back (nothing checked out);
- with the loop in debug mode, ResourceWarnings are errors and aiohttp's "Unclosed ..."
  reports (which go to the loop's exception handler) fail the test: no response, connection,
  session or connector is left unclosed, even after garbage collection;
- no session started under ``async with sessions.start(...)`` is still queued or running
  on the emulator: a cancelled block ends its session, a cancelled start ends the session
  it created.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from agentcloud import AgentCloudError, PipecatCloud, VideoSDK
from agentcloud.testing import Emulator, FaultKind, FaultPlan, Lifecycle, ManualClock, Phase

from .support import HybridTime, acquired, fast_policy, released, settle_loop

RUNS = 240
MANAGED_AGENT = "managed-agent"
FOREVER = Lifecycle(start_delay=0.5, run_duration=None, stop_delay=0.0)

pytestmark = pytest.mark.filterwarnings("error::ResourceWarning")

Operation = Callable[[], Awaitable[Any]]


def operations(
    emu: Emulator, vs: VideoSDK, pc: PipecatCloud, managed_deployment: str, known: dict[str, str]
) -> dict[str, Operation]:
    """Every public call, each as a fresh coroutine function."""

    async def managed_videosdk() -> None:
        async with vs.sessions.start(deployment_id=managed_deployment, tag="v1.0") as session:
            assert session.id
            for _ in range(5):
                await asyncio.sleep(0)

    async def managed_pipecat() -> None:
        async with pc.sessions.start(agent=MANAGED_AGENT) as session:
            assert session.id
            for _ in range(5):
                await asyncio.sleep(0)

    async def awaited(make: Callable[[], Awaitable[Any]]) -> Any:
        # The handle is made inside the task: a task cancelled before its first step then
        # makes none, rather than leaving one never awaited (which warns, rightly).
        return await make()

    async def walk_and_break(client: VideoSDK | PipecatCloud) -> None:
        async for _ in client.sessions.list(per_page=3, concurrency=4):
            break

    return {
        "videosdk start": lambda: awaited(
            lambda: vs.sessions.start(deployment_id=emu.videosdk_deployment_id, tag="v1.0")
        ),
        "videosdk managed start": managed_videosdk,
        "videosdk get": lambda: vs.sessions.get(known["videosdk"]),
        "videosdk end": lambda: vs.sessions.end(known["videosdk"]),
        "videosdk list": lambda: vs.sessions.list(per_page=5, concurrency=3).collect(),
        "videosdk list break": lambda: walk_and_break(vs),
        "videosdk wait": lambda: vs.sessions.wait(known["videosdk"], until="ended", timeout=5),
        "videosdk deployments get": lambda: vs.deployments.get(emu.videosdk_deployment_id, "v1.0"),
        "videosdk deployments list": lambda: vs.deployments.list().collect(),
        "videosdk deployments create": lambda: vs.deployments.create(name="cancel-me"),
        "videosdk webhook key": vs.webhook_public_key,
        "pipecat start": lambda: awaited(lambda: pc.sessions.start()),
        "pipecat managed start": managed_pipecat,
        "pipecat get": lambda: pc.sessions.get(known["pipecat"]),
        "pipecat end": lambda: pc.sessions.end(known["pipecat"]),
        "pipecat list": lambda: pc.sessions.list(per_page=5, concurrency=3).collect(),
        "pipecat list break": lambda: walk_and_break(pc),
        "pipecat wait": lambda: pc.sessions.wait(known["pipecat"], until="ended", timeout=5),
        "pipecat agents get": lambda: pc.agents.get("my-agent"),
        "pipecat agents list": lambda: pc.agents.list().collect(),
    }


async def test_cancelled_calls_leak_nothing() -> None:
    loop = asyncio.get_running_loop()
    loop.set_debug(True)
    loop.slow_callback_duration = 10.0  # debug mode's slow-callback log is noise here
    reports: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _, context: reports.append(context))
    rng = random.Random(20240618)
    timer = HybridTime()
    plan = FaultPlan(
        rate=0.15,
        seed=12,
        kinds=[
            FaultKind.STALL,
            FaultKind.RESET_BEFORE_PROCESSING,
            FaultKind.RESET_AFTER_PROCESSING,
            FaultKind.SERVER_ERROR,
            FaultKind.TRUNCATED_BODY,
        ],
        stall_seconds=0.3,
        # Not on starts: a start the vendor may or may not have carried out is the start
        # safety suite's subject; here every start's outcome must be knowable.
        paths=(
            "/ai/v1/ai-deployment-sessions",
            "/ai/v1/ai-deployment-sessions/[!s]*",
            "/ai/v1/ai-deployments*",
            "/v2/*",
            "/v1/agents*",
        ),
    )
    async with Emulator(
        clock=ManualClock(), seed=31, lifecycle=FOREVER, latency=0.002, faults=plan
    ) as emu:
        emu.add_pipecat_agent(MANAGED_AGENT)
        managed_deployment = emu.add_videosdk_deployment(name="managed").id
        known = {
            "videosdk": emu.seed_sessions("videosdk", 20, seed=1, running=20)[0],
            "pipecat": emu.seed_sessions("pipecat", 20, seed=1, running=20)[0],
        }
        policy = fast_policy(timer, max_attempts=3, deadline=5.0)
        # Timeouts well above a busy machine's answer time: the stalls cause the timeouts.
        vs = emu.videosdk(retry=policy, timeout=0.25)
        pc = emu.pipecat(retry=policy, timeout=0.25)
        ops = operations(emu, vs, pc, managed_deployment, known)
        names = sorted(ops)
        outcomes: dict[str, int] = {}
        for run in range(RUNS):
            name = names[run % len(names)]
            # Half the runs cancel within the first few loop turns, so that many calls are
            # surely cut mid-flight however fast this machine (or Python) runs them; the
            # other half anywhere in their first 60 turns.
            steps = rng.randrange(0, 60) if run % 2 else rng.randrange(0, 4)
            task = asyncio.ensure_future(ops[name]())
            for _ in range(steps):
                if task.done():
                    break
                await asyncio.sleep(0 if rng.random() < 0.8 else 0.001)
            task.cancel()
            try:
                await task
                kind = "finished"
            except asyncio.CancelledError:
                kind = "cancelled"
            except AgentCloudError:
                kind = "failed"
            outcomes[kind] = outcomes.get(kind, 0) + 1
            assert await released(vs, pc), f"run {run} ({name}, {steps} steps) leaked"
        await settle_loop()
        assert acquired(vs) == acquired(pc) == 0
        await vs.aclose()
        await pc.aclose()
        emu.faults = None
        emu.latency = 0.0
        async with emu.videosdk() as observer_vs, emu.pipecat() as observer_pc:
            managed_videosdk = [
                s.id
                for s in await observer_vs.sessions.list().collect()
                if s.deployment_id == managed_deployment
            ]
            managed_pipecat = [
                s.id for s in await observer_pc.sessions.list(agent=MANAGED_AGENT).collect()
            ]
        running = [
            sid
            for sid in managed_videosdk
            if emu.session_phase("videosdk", sid) in (Phase.QUEUED, Phase.RUNNING)
        ] + [
            sid
            for sid in managed_pipecat
            if emu.session_phase("pipecat", sid) in (Phase.QUEUED, Phase.RUNNING)
        ]
        assert running == [], f"managed sessions left running: {running}"
        assert managed_videosdk, "no managed VideoSDK session was ever started"
        assert managed_pipecat, "no managed Pipecat session was ever started"
    await settle_loop()
    with contextlib.suppress(Exception):
        loop.set_debug(False)
    unclosed = [c for c in reports if "nclosed" in str(c.get("message", ""))]
    assert unclosed == [], unclosed
    assert reports == [], reports
    # The runs really cancelled calls mid-flight, and some ran to their end.
    assert outcomes.get("cancelled", 0) >= RUNS // 4
    assert outcomes.get("finished", 0) + outcomes.get("failed", 0) >= 10


@pytest.mark.parametrize("shape", ["awaited start", "async with start"])
async def test_a_start_cancelled_at_every_step_leaks_nothing(shape: str) -> None:
    """Cancels a start (and, under ``async with``, its block and its end) after 0, 1, 2 ...
    loop steps, until a run finishes before the cancel lands: every await point is hit.
    No connection stays checked out, nothing is reported unclosed, and no session is left
    running: a managed one is ended at once, an awaited one is held and ended on close."""
    loop = asyncio.get_running_loop()
    loop.set_debug(True)
    loop.slow_callback_duration = 10.0
    reports: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _, context: reports.append(context))
    async with Emulator(clock=ManualClock(), seed=5, lifecycle=FOREVER) as emu:
        vs = emu.videosdk(end_on_close=True, retry=fast_policy(HybridTime()))

        async def managed() -> None:
            async with vs.sessions.start(deployment_id=emu.videosdk_deployment_id, tag="v1.0"):
                for _ in range(3):
                    await asyncio.sleep(0)

        async def awaited() -> None:
            await vs.sessions.start(deployment_id=emu.videosdk_deployment_id, tag="v1.0")

        def operation() -> Awaitable[Any]:
            return awaited() if shape == "awaited start" else managed()

        finished_in_a_row = 0
        cancelled = 0
        for steps in range(400):
            task = asyncio.ensure_future(operation())
            for _ in range(steps):
                if task.done():
                    break
                await asyncio.sleep(0)
            finished_in_a_row = finished_in_a_row + 1 if task.done() else 0
            task.cancel()
            outcome = (await asyncio.gather(task, return_exceptions=True))[0]
            cancelled += isinstance(outcome, asyncio.CancelledError)
            assert not isinstance(outcome, Exception), f"step {steps}: {outcome!r}"
            assert await released(vs), f"cancelled after {steps} steps, a connection leaked"
            if finished_in_a_row >= 3:
                break
        else:
            pytest.fail("the operation never finished before its cancel landed")
        await vs.aclose()
        async with emu.videosdk() as observer:
            made = [s.id for s in await observer.sessions.list().collect()]
        running = [
            sid
            for sid in made
            if emu.session_phase("videosdk", sid) in (Phase.QUEUED, Phase.RUNNING)
        ]
        assert cancelled >= 5
        assert made, "no start reached the emulator"
        assert running == [], f"{len(running)} of {len(made)} sessions left running"
    await settle_loop()
    loop.set_debug(False)
    assert reports == [], reports
