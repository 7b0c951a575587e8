"""Both clients' whole surface over real loopback HTTP against the emulator (no mocks).

The emulator runs on a ManualClock and the clients' RetryPolicy sleeps by advancing it, so
session timers, polling and backoff all run instantly and deterministically.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agentcloud import (
    Agent,
    AuthenticationError,
    BadRequestError,
    Deployment,
    InvalidRequestError,
    NotFoundError,
    PipecatCloud,
    PipecatSession,
    RateLimitError,
    RetryPolicy,
    SessionFailedError,
    SessionStatus,
    VideoSDK,
    VideoSDKSession,
    Webhook,
    WebhookReceiver,
)
from agentcloud.testing import Emulator, Lifecycle, ManualClock
from tests.helpers import advancing_policy

TIMERS = Lifecycle(start_delay=2.0, run_duration=600.0, stop_delay=1.0)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def policy(clock: ManualClock) -> RetryPolicy:
    return advancing_policy(clock)


@pytest.fixture
async def emu(clock: ManualClock) -> AsyncIterator[Emulator]:
    async with Emulator(clock=clock, seed=5, lifecycle=TIMERS) as emulator:
        yield emulator


@pytest.fixture
async def vs(emu: Emulator, policy: RetryPolicy) -> AsyncIterator[VideoSDK]:
    async with emu.videosdk(retry=policy) as client:
        yield client


@pytest.fixture
async def pc(emu: Emulator, policy: RetryPolicy) -> AsyncIterator[PipecatCloud]:
    async with emu.pipecat(retry=policy) as client:
        yield client


# --- VideoSDK -------------------------------------------------------------------------------


async def test_videosdk_lifecycle(emu: Emulator, vs: VideoSDK) -> None:
    started = await vs.sessions.start(
        deployment_id=emu.videosdk_deployment_id,
        tag="v1.0",
        env={"A": "1"},
        metadata={"user": "42"},
    )
    assert isinstance(started, VideoSDKSession)
    assert started.status is SessionStatus.QUEUED
    assert started.deployment_id == emu.videosdk_deployment_id
    running = await vs.sessions.wait(started.id, until=SessionStatus.RUNNING, timeout=60)
    assert running.status is SessionStatus.RUNNING
    fetched = await vs.sessions.get(started.id)
    assert fetched.id == started.id
    assert fetched.started_at is not None
    assert fetched.started_at.tzinfo is UTC
    ended = await vs.sessions.end(started.id)
    assert ended.status in (SessionStatus.STOPPING, SessionStatus.ENDED)
    final = await vs.sessions.wait(started.id, until="ended", timeout=60)
    assert final.status is SessionStatus.ENDED
    assert final.ended_at is not None
    assert final.duration is not None
    assert final.duration >= 0
    assert emu.session_phase("videosdk", started.id).value == "completed"


async def test_videosdk_listing_matches_the_emulator(emu: Emulator, vs: VideoSDK) -> None:
    ids = emu.seed_sessions("videosdk", 57, seed=2)
    for concurrency in (1, 4):
        listed = [s.id async for s in vs.sessions.list(per_page=10, concurrency=concurrency)]
        assert listed == ids
    pages = [page async for page in vs.sessions.list(per_page=25).pages()]
    assert [page.number for page in pages] == [1, 2, 3]
    assert {page.total for page in pages} == {57}
    assert [s.id for s in await vs.sessions.list(max_items=7).collect()] == ids[:7]


async def test_videosdk_start_lists_its_metadata_and_webhook(emu: Emulator, vs: VideoSDK) -> None:
    hook = Webhook("http://127.0.0.1:9/hook", events=["ai-deployment-session-started"])
    started = await vs.sessions.start(
        deployment_id=emu.videosdk_deployment_id, tag="v1.0", metadata={"user": "42"}, webhook=hook
    )
    (listed,) = [s async for s in vs.sessions.list(max_items=1)]
    assert listed.id == started.id
    assert listed.metadata["user"] == "42"
    assert listed.webhook == hook


async def test_videosdk_deployments(emu: Emulator, vs: VideoSDK) -> None:
    created = await vs.deployments.create(name="bot", description="a test bot")
    assert isinstance(created, Deployment)
    assert created.name == "bot"
    assert created.created_at is not None
    fetched = await vs.deployments.get(created.id, "v1.0")
    assert (fetched.id, fetched.tag) == (created.id, "v1.0")
    listed = await vs.deployments.list(per_page=1).collect()
    assert {d.id for d in listed} == {created.id, emu.videosdk_deployment_id}
    assert all(d.created_at is not None for d in listed)


async def test_videosdk_errors(emu: Emulator, vs: VideoSDK, policy: RetryPolicy) -> None:
    with pytest.raises(NotFoundError) as caught:
        await vs.sessions.get("00000000-0000-0000-0000-000000000000")
    assert caught.value.request_id
    assert caught.value.provider == "videosdk"
    with pytest.raises((BadRequestError, NotFoundError)):
        await vs.sessions.start(deployment_id="no-such-deployment", tag="v1.0")
    async with VideoSDK(
        emu.videosdk_api_key,
        "wrong-secret-value-that-is-long-enough-for-hs256",
        base_url=emu.url,
        retry=policy,
    ) as wrong:
        with pytest.raises(AuthenticationError):
            await wrong.sessions.get("x")


async def test_videosdk_failed_session_raises_from_wait(emu: Emulator, vs: VideoSDK) -> None:
    doomed = emu.add_videosdk_deployment(name="doomed", fail_sessions=True)
    started = await vs.sessions.start(deployment_id=doomed.id, tag="v1.0")
    with pytest.raises(SessionFailedError) as caught:
        await vs.sessions.wait(started.id, until="running", timeout=60)
    assert caught.value.session.status is SessionStatus.FAILED


async def test_videosdk_webhook_key_is_fetched_once(emu: Emulator, vs: VideoSDK) -> None:
    first = await vs.webhook_public_key()
    second = await vs.webhook_public_key()
    assert first == second == emu.videosdk_webhook_public_key
    fetched = [r for r in emu.requests if r.path == "/v2/public/rsa-public-key"]
    assert len(fetched) == 1


# --- Pipecat --------------------------------------------------------------------------------


async def test_pipecat_lifecycle(emu: Emulator, pc: PipecatCloud) -> None:
    started = await pc.sessions.start(create_daily_room=True, body={"user": "42"})
    assert isinstance(started, PipecatSession)
    assert started.agent == "my-agent"
    assert started.connection is not None
    assert started.connection.daily_room
    assert started.connection.daily_token
    running = await pc.sessions.wait(started.id, until="running", timeout=60)
    assert running.status is SessionStatus.RUNNING
    agent = await pc.agents.get("my-agent")
    assert isinstance(agent, Agent)
    assert agent.ready is True
    assert agent.active_session_count == 1
    details = await pc.sessions.get(started.id)
    assert details.organization_id == emu.pipecat_organization_id
    assert details.ended_at is None
    await pc.sessions.end(started.id)
    final = await pc.sessions.wait(started.id, until="ended", timeout=60)
    assert final.status is SessionStatus.ENDED
    assert final.ended_at is not None
    assert (await pc.agents.get("my-agent")).active_session_count == 0


async def test_pipecat_websocket_start(pc: PipecatCloud) -> None:
    started = await pc.sessions.start(transport="websocket", body={"a": 1})
    assert started.connection is not None
    assert started.connection.ws_url
    assert started.connection.token


async def test_pipecat_listing_and_filters(emu: Emulator, pc: PipecatCloud) -> None:
    ids = emu.seed_sessions("pipecat", 43, seed=4, running=5)
    for concurrency in (1, 3):
        assert [s.id async for s in pc.sessions.list(per_page=10, concurrency=concurrency)] == ids
    offsets = [page.offset async for page in pc.sessions.list(per_page=20).pages()]
    assert offsets == [0, 20, 40]
    active = await pc.sessions.list(status="active").collect()
    assert [s.id for s in active] == ids[:5]
    assert all(s.status is SessionStatus.RUNNING for s in active)
    ended = await pc.sessions.list(status="ended").collect()
    assert len(ended) == 38
    newest = await pc.sessions.list(max_items=1).collect()
    assert newest[0].created_at is not None
    after = newest[0].created_at - timedelta(seconds=1)
    recent = await pc.sessions.list(started_after=after).collect()
    assert [s.id for s in recent] == [newest[0].id]
    with pytest.raises(InvalidRequestError) as caught:
        pc.sessions.list(started_after=datetime(2025, 1, 1))  # naive: ambiguous
    assert caught.value.argument == "started_after"


async def test_pipecat_agents(emu: Emulator, pc: PipecatCloud) -> None:
    emu.add_pipecat_agent("second-agent", ready=False)
    agents = await pc.agents.list().collect()
    assert {a.name for a in agents} == {"my-agent", "second-agent"}
    # The listing carries no readiness (the vendor's ServiceListItem has none); details do.
    assert all(a.ready is None for a in agents)
    assert (await pc.agents.get("second-agent")).ready is False


async def test_pipecat_errors(emu: Emulator, pc: PipecatCloud, policy: RetryPolicy) -> None:
    with pytest.raises(NotFoundError):
        await pc.sessions.get("00000000-0000-4000-8000-000000000000", agent="no-such-agent")
    emu.pipecat_agent("my-agent").max_sessions = 0
    with pytest.raises(RateLimitError) as caught:
        await pc.sessions.start()
    assert caught.value.code == "PCC-AGENT-AT-CAPACITY"
    async with PipecatCloud(
        api_key=emu.pipecat_public_key,
        public_key=emu.pipecat_api_key,
        agent="my-agent",
        base_url=emu.url,
        retry=policy,
    ) as swapped:
        with pytest.raises(AuthenticationError):
            await swapped.sessions.list().collect()


# --- managed sessions and webhooks ----------------------------------------------------------


@pytest.mark.parametrize("provider", ["videosdk", "pipecat"])
async def test_managed_sessions_end_on_exit_and_on_close(
    emu: Emulator, vs: VideoSDK, pc: PipecatCloud, provider: str
) -> None:
    client: Any = vs if provider == "videosdk" else pc
    kwargs: dict[str, Any] = (
        {"deployment_id": emu.videosdk_deployment_id, "tag": "v1.0"}
        if provider == "videosdk"
        else {}
    )
    async with client.sessions.start(**kwargs) as session:
        assert session.id in client._held
    assert session.id not in client._held
    assert emu.session_phase(provider, session.id).value in ("stopping", "completed")

    closing = (
        emu.videosdk(end_on_close=True)
        if provider == "videosdk"
        else emu.pipecat(end_on_close=True)
    )
    held = await closing.sessions.start(**kwargs)
    await closing.aclose()
    assert emu.session_phase(provider, held.id).value in ("stopping", "completed")


async def test_webhooks_end_to_end(emu: Emulator, vs: VideoSDK, clock: ManualClock) -> None:
    async with WebhookReceiver.serve(key_source=vs.webhook_public_key) as hooks:
        assert hooks.url is not None
        started = await vs.sessions.start(
            deployment_id=emu.videosdk_deployment_id, tag="v1.0", webhook=Webhook(hooks.url)
        )
        await vs.sessions.wait(started.id, until="running", timeout=60, receiver=hooks)
        await vs.sessions.end(started.id)
        await vs.sessions.wait(started.id, until="ended", timeout=60, receiver=hooks)
        await emu.settle()
        names = []
        for _ in range(4):
            event = await hooks.next(session_id=started.id, timeout=10)
            names.append(event.name)
    assert names == [
        "ai-deployment-session-starting",
        "ai-deployment-session-started",
        "ai-deployment-session-stopping",
        "ai-deployment-session-stopped",
    ]
    assert hooks.stats.rejected == 0


async def test_failed_session_webhook(emu: Emulator, vs: VideoSDK) -> None:
    doomed = emu.add_videosdk_deployment(name="doomed", fail_sessions=True)
    async with WebhookReceiver.serve(public_key=emu.videosdk_webhook_public_key) as hooks:
        assert hooks.url is not None
        started = await vs.sessions.start(
            deployment_id=doomed.id, tag="v1.0", webhook=Webhook(hooks.url)
        )
        with pytest.raises(SessionFailedError):
            await vs.sessions.wait(started.id, until="running", timeout=60, receiver=hooks)
        await emu.settle()
        failed = await hooks.next(
            session_id=started.id, type="ai-deployment-session-failed", timeout=10
        )
    assert failed.status is SessionStatus.FAILED


@pytest.mark.parametrize("provider", ["videosdk", "pipecat"])
@pytest.mark.parametrize("cancel_after", range(12))
async def test_cancellation_inside_async_with_leaves_no_running_session(
    emu: Emulator, vs: VideoSDK, pc: PipecatCloud, provider: str, cancel_after: int
) -> None:
    """Cancel the bot after N event-loop turns: before, during or after the start."""
    client: Any = vs if provider == "videosdk" else pc
    kwargs: dict[str, Any] = (
        {"deployment_id": emu.videosdk_deployment_id, "tag": "v1.0"}
        if provider == "videosdk"
        else {}
    )
    inside = asyncio.Event()

    async def bot() -> None:
        async with client.sessions.start(**kwargs) as session:
            inside.set()
            await client.sessions.get(session.id)
            await asyncio.Event().wait()

    task = asyncio.ensure_future(bot())
    for _ in range(cancel_after):
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    existing = (
        await vs.sessions.list().collect()
        if provider == "videosdk"
        else await pc.sessions.list().collect()
    )
    for session in existing:
        assert emu.session_phase(provider, session.id).value not in ("queued", "running")
    assert not client._held.snapshot()
