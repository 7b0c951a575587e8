"""Retry discipline against the emulator: what is retried, how long it waits, when it stops.

- A 4xx other than 408/429 is final: one request, whatever the call.
- Retry-After is obeyed to the second, and one above ``max_retry_after`` (or one that
  would end past the deadline) ends the call at once with the RateLimitError.
- The deadline bounds the whole call, retries and waits included, on the injected clock;
  a request that stalls is cut when the deadline comes, not when the per-attempt timeout
  would have.
- When every call fails, the retry budget caps the extra load: a client sends at most its
  budget in retries, however many calls it makes.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web

from agentcloud import (
    APIError,
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    PipecatCloud,
    RateLimitError,
    RequestTimeoutError,
    RetryPolicy,
    ServerError,
    TransportError,
    VideoSDK,
)
from agentcloud.testing import Emulator, FaultKind, FaultPlan, Lifecycle, ManualClock

from .support import FakeTime, HybridTime, ScriptedServer, fast_policy

FOREVER = Lifecycle(start_delay=0.0, run_duration=None, stop_delay=0.0)
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(clock=ManualClock(), seed=21, lifecycle=FOREVER) as emulator:
        emulator.seed_sessions("videosdk", 3, seed=1)
        emulator.seed_sessions("pipecat", 3, seed=1)
        yield emulator


def calls(vs: VideoSDK, pc: PipecatCloud) -> dict[str, Callable[[], Awaitable[Any]]]:
    """One read of each kind per provider: the calls that retry."""
    return {
        "videosdk get": lambda: vs.sessions.get(UNKNOWN_ID),
        "videosdk list": lambda: vs.sessions.list(per_page=2).collect(),
        "videosdk end": lambda: vs.sessions.end(UNKNOWN_ID),
        "videosdk deployment": lambda: vs.deployments.get(UNKNOWN_ID, "v1.0"),
        "pipecat get": lambda: pc.sessions.get(UNKNOWN_ID),
        "pipecat list": lambda: pc.sessions.list(per_page=2).collect(),
        "pipecat end": lambda: pc.sessions.end(UNKNOWN_ID),
        "pipecat agent": lambda: pc.agents.get("no-such-agent"),
    }


async def test_client_errors_are_final(emu: Emulator) -> None:
    timer = FakeTime()
    policy = fast_policy(timer, max_attempts=6)
    async with emu.videosdk(retry=policy) as vs, emu.pipecat(retry=policy) as pc:
        cases: list[tuple[Callable[[], Awaitable[Any]], type[APIError], int]] = [
            (lambda: vs.sessions.get(UNKNOWN_ID), NotFoundError, 404),
            (lambda: vs.sessions.end(UNKNOWN_ID), NotFoundError, 404),
            (lambda: vs.deployments.get(UNKNOWN_ID, "v1.0"), NotFoundError, 404),
            (
                lambda: vs.sessions.start(deployment_id=UNKNOWN_ID, tag="v1.0"),
                NotFoundError,
                404,
            ),
            (lambda: pc.sessions.get(UNKNOWN_ID), NotFoundError, 404),
            (lambda: pc.sessions.end("not-a-uuid"), BadRequestError, 400),
            (lambda: pc.agents.get("no-such-agent"), NotFoundError, 404),
            (lambda: pc.sessions.start(agent="no-such-agent"), NotFoundError, 404),
        ]
        for make, error_class, status in cases:
            emu.clear_requests()
            with pytest.raises(error_class) as caught:
                await make()
            assert caught.value.status == status
            assert len(emu.requests) == 1, f"{status} was retried: {emu.requests}"
        assert timer.sleeps == []
    async with emu.videosdk(retry=policy, token="not-a-jwt") as wrong:
        emu.clear_requests()
        with pytest.raises(AuthenticationError):
            await wrong.sessions.get(UNKNOWN_ID)
        assert len(emu.requests) == 1
    wrong_pc = PipecatCloud(
        api_key="sk_wrong_key_1234", agent="my-agent", base_url=emu.url, retry=policy
    )
    async with wrong_pc:
        emu.clear_requests()
        with pytest.raises(AuthenticationError):
            await wrong_pc.sessions.list().collect()
        assert len(emu.requests) == 1


@pytest.mark.parametrize("retry_after", [1, 3, 7])
async def test_retry_after_is_obeyed(emu: Emulator, retry_after: int) -> None:
    timer = FakeTime()
    policy = fast_policy(timer, max_attempts=4, max_retry_after=10.0)
    async with emu.videosdk(retry=policy) as vs, emu.pipecat(retry=policy) as pc:
        for name, make in calls(vs, pc).items():
            emu.faults = FaultPlan(script=[FaultKind.RATE_LIMITED] * 2, retry_after=retry_after)
            emu.clear_requests()
            timer.sleeps.clear()
            with contextlib.suppress(NotFoundError):  # the answer once the limit lifted
                await make()
            assert timer.sleeps == [retry_after, retry_after], name
            assert [r.fault for r in emu.requests[:3]] == [
                FaultKind.RATE_LIMITED,
                FaultKind.RATE_LIMITED,
                None,
            ], name


async def test_retry_after_above_the_cap_ends_the_call(emu: Emulator) -> None:
    timer = FakeTime()
    policy = fast_policy(timer, max_attempts=4, max_retry_after=5.0)
    async with emu.videosdk(retry=policy) as vs, emu.pipecat(retry=policy) as pc:
        for name, make in calls(vs, pc).items():
            emu.faults = FaultPlan(script=[FaultKind.RATE_LIMITED], retry_after=6)
            emu.clear_requests()
            with pytest.raises(RateLimitError) as caught:
                await make()
            assert caught.value.retry_after == 6, name
            assert len(emu.requests) == 1, name
        # Nor is a wait started that would end past the deadline.
        short = fast_policy(timer, max_attempts=4, max_retry_after=60.0, deadline=4.0)
    async with emu.videosdk(retry=short) as vs:
        emu.faults = FaultPlan(script=[FaultKind.RATE_LIMITED], retry_after=5)
        emu.clear_requests()
        with pytest.raises(RateLimitError):
            await vs.sessions.get(UNKNOWN_ID)
        assert len(emu.requests) == 1
    assert timer.sleeps == []


async def test_the_deadline_bounds_every_call(emu: Emulator) -> None:
    emu.faults = FaultPlan(rate=1.0, kinds=[FaultKind.SERVICE_UNAVAILABLE])
    timer = FakeTime()
    policy = fast_policy(
        timer,
        max_attempts=1000,
        backoff_base=1.0,
        backoff_cap=4.0,
        deadline=20.0,
        random=lambda: 1.0,
    )
    async with emu.videosdk(retry=policy) as vs, emu.pipecat(retry=policy) as pc:
        for name, make in calls(vs, pc).items():
            emu.clear_requests()
            timer.sleeps.clear()
            began = timer.clock()
            with pytest.raises(ServerError):
                await make()
            elapsed = timer.clock() - began
            assert elapsed <= 20.0, name
            # 1 + 2 + 4 + 4 + 4 = 15; one more 4 would end at 19, and the next one past 20.
            assert timer.sleeps == [1.0, 2.0, 4.0, 4.0, 4.0, 4.0], name
            assert len(emu.requests) == 7, name


async def test_a_stalled_request_is_cut_at_the_deadline(emu: Emulator) -> None:
    # The per-attempt timeout (30 s) would wait out the stall; the deadline must not.
    emu.faults = FaultPlan(rate=1.0, kinds=[FaultKind.STALL], stall_seconds=5.0)
    timer = HybridTime()
    policy = fast_policy(timer, deadline=0.3)
    async with (
        emu.videosdk(retry=policy, timeout=30.0) as vs,
        emu.pipecat(retry=policy, timeout=30.0) as pc,
    ):
        for make in (lambda: vs.sessions.get(UNKNOWN_ID), lambda: pc.sessions.get(UNKNOWN_ID)):
            began = timer.clock()
            with pytest.raises(RequestTimeoutError):
                await make()
            assert timer.clock() - began <= 0.3 + 0.2


async def test_the_budget_stops_a_storm(emu: Emulator) -> None:
    emu.faults = FaultPlan(rate=1.0, kinds=[FaultKind.SERVER_ERROR])
    timer = FakeTime()
    for provider in ("videosdk", "pipecat"):
        policy = fast_policy(timer, max_attempts=4, budget=5.0, budget_refill=0.5)
        client = emu.videosdk(retry=policy) if provider == "videosdk" else emu.pipecat(retry=policy)
        async with client:
            emu.faults = FaultPlan(rate=1.0, kinds=[FaultKind.SERVER_ERROR])
            emu.clear_requests()
            for _ in range(50):
                with pytest.raises(ServerError):
                    await client.sessions.get(UNKNOWN_ID)
            # 50 first tries and 5 retries in all, not 50 * 4.
            assert len(emu.requests) == 50 + 5
            # Once the vendor is back, successes earn the budget back, and retries resume.
            emu.faults = None
            for _ in range(4):
                await client.sessions.list(per_page=1, max_items=1).collect()
            emu.faults = FaultPlan(script=[FaultKind.SERVER_ERROR])
            emu.clear_requests()
            with pytest.raises(NotFoundError):
                await client.sessions.get(UNKNOWN_ID)
            assert len(emu.requests) == 2


async def test_a_wait_is_cut_at_its_timeout(emu: Emulator) -> None:
    # The polls stall for 2 s each; the per-attempt timeout (30 s) would wait them out,
    # but wait(timeout=0.3) must end at 0.3 s with RequestTimeoutError, not after a poll.
    running = {
        "videosdk": emu.seed_sessions("videosdk", 1, seed=9, running=1)[0],
        "pipecat": emu.seed_sessions("pipecat", 1, seed=9, running=1)[0],
    }
    emu.faults = FaultPlan(rate=1.0, kinds=[FaultKind.STALL], stall_seconds=2.0)
    timer = HybridTime()
    policy = fast_policy(timer)
    async with (
        emu.videosdk(retry=policy, timeout=30.0) as vs,
        emu.pipecat(retry=policy, timeout=30.0) as pc,
    ):
        waits = (
            lambda: vs.sessions.wait(running["videosdk"], until="ended", timeout=0.3),
            lambda: pc.sessions.wait(running["pipecat"], until="ended", timeout=0.3),
        )
        for make in waits:
            began = timer.clock()
            with pytest.raises(RequestTimeoutError):
                await make()
            assert timer.clock() - began <= 0.3 + 0.2


@pytest.mark.parametrize("status", [*range(400, 430), 451, 499])
async def test_only_408_and_429_of_the_4xx_are_retried(status: int) -> None:
    """Every 4xx a proxy or vendor might send, not only the ones the emulator has."""
    answers = iter([status, status])

    async def respond(request: web.Request) -> web.StreamResponse:
        code = next(answers, 404)
        return web.json_response({"message": f"status {code}"}, status=code)

    timer = FakeTime()
    async with ScriptedServer(respond) as server:
        policy = fast_policy(timer, max_attempts=4)
        vs = VideoSDK("k" * 32, "s" * 32, base_url=server.url, retry=policy)
        async with vs:
            with pytest.raises(APIError):
                await vs.sessions.get(UNKNOWN_ID)
    expected = 3 if status in (408, 429) else 1  # two refusals, then the final 404
    assert len(server.seen) == expected


# --- the deadline covers redirect hops; attempts are counted honestly -------------------


def videosdk_session(session_id: str) -> dict[str, Any]:
    return {"sessionId": session_id, "status": "running", "createdAt": "2024-06-01T00:00:00Z"}


@pytest.mark.parametrize("bound", ["per-attempt timeout", "call timeout", "wait timeout"])
async def test_one_deadline_covers_every_redirect_hop(bound: str) -> None:
    """Three same-origin 307 hops of 0.15 s each: every hop alone fits the 0.25 s bound,
    all of them do not, so the call must fail rather than take 0.6 s."""
    import asyncio

    async def respond(request: web.Request) -> web.StreamResponse:
        hop = int(request.query.get("hop", "0"))
        await asyncio.sleep(0.15)
        if hop < 3:
            location = f"{request.path}?hop={hop + 1}"
            return web.Response(status=307, headers={"Location": location})
        return web.json_response(videosdk_session(UNKNOWN_ID))

    async with ScriptedServer(respond) as server:
        per_attempt = 0.25 if bound == "per-attempt timeout" else 30.0
        vs = VideoSDK(
            "vsk_hops_api_key_0123456789",
            "vsk_hops_secret_0123456789abcdef",
            base_url=server.url,
            timeout=per_attempt,
            retry=RetryPolicy(max_attempts=1),
        )
        calls: dict[str, Callable[[], Awaitable[Any]]] = {
            "per-attempt timeout": lambda: vs.sessions.get(UNKNOWN_ID),
            "call timeout": lambda: vs.sessions.get(UNKNOWN_ID, timeout=0.25),
            "wait timeout": lambda: vs.sessions.wait(UNKNOWN_ID, until="ended", timeout=0.25),
        }
        async with vs:
            with pytest.raises(RequestTimeoutError):
                await calls[bound]()
        assert len(server.seen) < 4, "the last hop was reached past the deadline"


async def test_aiohttp_repeats_nothing_behind_our_back() -> None:
    """A server that drops every request: ``max_attempts=4`` means four requests, not
    aiohttp's silent second try under each attempt."""
    from .attackers import RawServer

    async def hang_up(server: RawServer, writer: Any, head: bytes) -> None:
        return None  # the connection is dropped without an answer

    timer = FakeTime()
    async with RawServer(hang_up) as server:
        vs = VideoSDK(
            "vsk_drop_api_key_0123456789",
            "vsk_drop_secret_0123456789abcdef",
            base_url=server.url,
            retry=timer.policy(max_attempts=4),
        )
        async with vs:
            with pytest.raises(TransportError) as caught:
                await vs.sessions.get(UNKNOWN_ID)
    assert server.requests == 4
    assert caught.value.attempts == 4


@pytest.mark.parametrize("bound", ["call timeout", "aiohttp connect timeout"])
async def test_a_start_that_never_got_a_connection_is_not_ambiguous(bound: str) -> None:
    """With the pool's only connection busy, a start that times out waiting for it was
    never sent: a RequestTimeoutError saying so, never StartOutcomeUnknownError. (aiohttp's
    ``connect`` timeout counts the wait for a pooled connection too.)"""
    import asyncio

    import aiohttp

    release = asyncio.Event()

    async def respond(request: web.Request) -> web.StreamResponse:
        if request.method == "GET":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(release.wait(), 5.0)
            return web.json_response({"sessions": [], "total_count": 0})
        return web.json_response({"sessionId": UNKNOWN_ID})

    async with ScriptedServer(respond) as server:
        pc = PipecatCloud(
            "sk_pool_private_0123456789",
            "pk_pool_public_0123456789",
            agent="a",
            base_url=server.url,
            max_connections=1,
            retry=RetryPolicy(max_attempts=2),
            timeout=aiohttp.ClientTimeout(
                total=10, connect=0.3 if bound != "call timeout" else None
            ),
        )
        async with pc:
            busy = asyncio.ensure_future(pc.sessions.list().collect())
            for _ in range(1000):  # until the listing holds the connection (bounded)
                if server.seen:
                    break
                await asyncio.sleep(0.005)
            start = pc.sessions.start(timeout=0.3) if bound == "call timeout" else None
            with pytest.raises(RequestTimeoutError) as caught:
                await (start or pc.sessions.start())
            release.set()
            await busy
        assert [method for method, _, _ in server.seen] == ["GET"], "the start was sent"
        assert caught.value.request_sent is False
