"""VideoSDK's agent runtime end to end: the SDK against the emulator over loopback HTTP.

The emulator runs on a ManualClock that the client's RetryPolicy advances when it sleeps,
so session timers, polling and back-off run instantly and deterministically (except where a
test says it runs on real time, and why).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from agentcloud import (
    AgentAtCapacityError,
    ConflictError,
    Dispatch,
    NotFoundError,
    RetryPolicy,
    RuntimeSession,
    SessionStatus,
    StartOutcomeUnknownError,
    VideoSDK,
    Webhook,
    WebhookReceiver,
)
from agentcloud.testing import Emulator, FaultKind, FaultPlan, Lifecycle, ManualClock
from tests.helpers import HoldRecorder

TIMERS = Lifecycle(start_delay=2.0, run_duration=600.0, stop_delay=1.0)
DISPATCH_PATH = "/v2/agent/dispatch"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def policy(clock: ManualClock) -> RetryPolicy:
    async def advance(seconds: float) -> None:
        clock.advance(seconds)
        await asyncio.sleep(0)

    return RetryPolicy(sleep=advance, clock=clock.now, random=lambda: 0.5)


@pytest.fixture
async def emu(clock: ManualClock) -> AsyncIterator[Emulator]:
    async with Emulator(clock=clock, seed=5, lifecycle=TIMERS) as emulator:
        yield emulator


@pytest.fixture
async def vs(emu: Emulator, policy: RetryPolicy) -> AsyncIterator[VideoSDK]:
    async with emu.videosdk(retry=policy) as client:
        yield client


def sessions_in(emu: Emulator, room_id: str) -> list[Any]:
    return [s for s in emu.worlds["videosdk"].runtime.sessions.values() if s.room_id == room_id]


def ended_by_us(emu: Emulator, session_id: str) -> bool:
    """Whether an API call ended the session (its stop may still be under way)."""
    return bool(emu.videosdk_runtime_session(session_id).timeline.terminated)


def dispatch_requests(emu: Emulator) -> list[Any]:
    return [r for r in emu.requests if r.path == DISPATCH_PATH]


async def test_the_runtime_lifecycle(emu: Emulator, vs: VideoSDK, clock: ManualClock) -> None:
    deployment = emu.videosdk_runtime_deployment_id
    dispatch = await vs.runtime.dispatch(
        agent_id=emu.videosdk_agent_id, metadata={"user": "42"}, deployment_id=deployment
    )
    assert isinstance(dispatch, Dispatch)
    assert dispatch.status is SessionStatus.QUEUED
    assert emu.videosdk_room(dispatch.room_id).room_id == dispatch.room_id  # a new room
    [record] = sessions_in(emu, dispatch.room_id)
    assert record.metadata == {"user": "42"}

    found = await vs.runtime.sessions.find(deployment, room_id=dispatch.room_id, timeout=10)
    assert isinstance(found, RuntimeSession)
    assert (found.id, found.room_id, found.deployment_id) == (
        record.id,
        dispatch.room_id,
        deployment,
    )
    assert found.version_id == emu.videosdk_runtime_version_id
    running = await vs.runtime.sessions.wait(deployment, room_id=dispatch.room_id, timeout=10)
    assert running.status is SessionStatus.RUNNING

    listed = await vs.runtime.sessions.list(deployment, room_id=dispatch.room_id).collect()
    assert [s.id for s in listed] == [found.id]
    assert await vs.runtime.sessions.get(deployment, found.id) == found

    clock.advance(3)
    ended = await vs.runtime.sessions.end(room_id=dispatch.room_id)
    assert ended.id == found.id
    assert ended.status is SessionStatus.ENDED
    assert ended.ended_at is not None
    assert dispatch.room_id not in vs._held
    final = await vs.runtime.sessions.wait(deployment, found.id, until="ended", timeout=10)
    assert final.ended_at == ended.ended_at
    clock.advance(1)  # the agent's stop takes a second; then it has written its last line

    lines = await vs.runtime.logs(deployment, session_id=found.id, order="asc").collect()
    assert [line.message for line in lines] == [
        f"Job assigned to a worker; joining room {dispatch.room_id}",
        f"Agent joined room {dispatch.room_id}",
        "Agent session stopping",
        "Agent session ended",
    ]
    assert {line.session_id for line in lines} == {found.id}
    assert all(line.deployment_id == deployment for line in lines)
    newest_first = await vs.runtime.logs(deployment, session_id=found.id).collect()
    assert newest_first == lines[::-1]


async def test_async_with_ends_the_rooms_agent_session_on_every_way_out(
    emu: Emulator, vs: VideoSDK
) -> None:
    agent = emu.videosdk_agent_id
    async with vs.runtime.dispatch(agent_id=agent) as dispatch:
        [record] = sessions_in(emu, dispatch.room_id)
        assert not record.timeline.phase.is_terminal
    assert ended_by_us(emu, record.id)

    async def fail_inside() -> None:
        async with vs.runtime.dispatch(agent_id=agent) as dispatch:
            rooms.append(dispatch.room_id)
            raise RuntimeError("boom")

    rooms: list[str] = []
    with pytest.raises(RuntimeError, match="boom"):
        await fail_inside()
    [record] = sessions_in(emu, rooms.pop())
    assert ended_by_us(emu, record.id)

    entered = asyncio.Event()

    async def hold() -> None:
        async with vs.runtime.dispatch(agent_id=agent) as held:
            rooms.append(held.room_id)
            entered.set()
            await asyncio.Event().wait()

    task = asyncio.ensure_future(hold())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    [record] = sessions_in(emu, rooms[0])
    assert ended_by_us(emu, record.id)
    assert len(vs._held) == 0


async def test_a_dispatch_left_running_is_ended_by_end_on_close(
    emu: Emulator, policy: RetryPolicy
) -> None:
    async with emu.videosdk(retry=policy, end_on_close=True) as client:
        dispatch = await client.runtime.dispatch(agent_id=emu.videosdk_agent_id)
    [record] = sessions_in(emu, dispatch.room_id)
    assert ended_by_us(emu, record.id)


@pytest.mark.parametrize(
    ("fault", "sent", "reconciled"),
    [
        (FaultKind.SERVER_ERROR, 2, False),  # nothing made: sent again
        (FaultKind.RESET_BEFORE_PROCESSING, 2, False),
        (FaultKind.BAD_GATEWAY, 2, False),
        (FaultKind.SERVER_ERROR_AFTER_PROCESSING, 1, True),  # made: found in the room
        (FaultKind.RESET_AFTER_PROCESSING, 1, True),
        (FaultKind.MALFORMED_BODY, 1, True),
        (FaultKind.TRUNCATED_BODY, 1, True),
    ],
)
@pytest.mark.parametrize("name_the_deployment", [True, False])
async def test_a_dispatch_is_carried_out_at_most_once(
    emu: Emulator,
    vs: VideoSDK,
    fault: FaultKind,
    sent: int,
    reconciled: bool,
    name_the_deployment: bool,
) -> None:
    emu.faults = FaultPlan(script=[fault], paths=(DISPATCH_PATH,))
    deployment = emu.videosdk_runtime_deployment_id if name_the_deployment else None
    holds = HoldRecorder(vs)
    dispatch = await vs.runtime.dispatch(agent_id=emu.videosdk_agent_id, deployment_id=deployment)
    [record] = sessions_in(emu, dispatch.room_id)
    assert len(dispatch_requests(emu)) == sent
    assert dispatch.session_id == (record.id if reconciled else None)
    assert holds.managed == {dispatch.room_id: False}  # reported once, found or sent


async def test_a_gateway_timeout_leaves_the_outcome_unknown_with_the_room(
    emu: Emulator, vs: VideoSDK
) -> None:
    """A 504 is a gateway giving up, not the vendor: a session may still appear."""
    emu.faults = FaultPlan(script=[FaultKind.GATEWAY_TIMEOUT], paths=(DISPATCH_PATH,))
    with pytest.raises(StartOutcomeUnknownError) as caught:
        await vs.runtime.dispatch(
            agent_id=emu.videosdk_agent_id, deployment_id=emu.videosdk_runtime_deployment_id
        )
    room = caught.value.marker
    assert room is not None
    assert emu.videosdk_room(room).room_id == room
    assert sessions_in(emu, room) == []
    assert len(dispatch_requests(emu)) == 1


async def test_a_self_hosted_agent_cannot_be_looked_up_after_an_ambiguous_failure(
    emu: Emulator, vs: VideoSDK
) -> None:
    agent = emu.add_videosdk_agent(name="self-hosted", deployed=False)
    emu.faults = FaultPlan(script=[FaultKind.SERVER_ERROR_AFTER_PROCESSING], paths=(DISPATCH_PATH,))
    with pytest.raises(StartOutcomeUnknownError, match="deployment_id") as caught:
        await vs.runtime.dispatch(agent_id=agent.id)
    assert caught.value.marker is not None
    assert len(sessions_in(emu, caught.value.marker)) == 1  # it was made; no one can tell
    assert len(dispatch_requests(emu)) == 1


async def test_a_room_the_caller_names_is_reconciled_by_time() -> None:
    """Real time on both sides (the SDK compares VideoSDK's stamps with its own clock): a
    session of the agent that ended in the room before is not taken for the dispatch's."""
    async with Emulator(seed=3, lifecycle=TIMERS) as emu, emu.videosdk() as vs:
        room = emu.add_videosdk_room(custom_room_id="support-42").room_id
        deployment = emu.videosdk_runtime_deployment_id
        agent = emu.videosdk_agent_id
        await vs.runtime.dispatch(agent_id=agent, room_id=room)
        await vs.runtime.sessions.end(room_id=room)

        emu.faults = FaultPlan(script=[FaultKind.SERVER_ERROR], paths=(DISPATCH_PATH,))
        again = await vs.runtime.dispatch(agent_id=agent, room_id=room, deployment_id=deployment)
        assert again.session_id is None  # not the ended one: the dispatch was sent again
        emu.faults = FaultPlan(
            script=[FaultKind.SERVER_ERROR_AFTER_PROCESSING], paths=(DISPATCH_PATH,)
        )
        third = await vs.runtime.dispatch(agent_id=agent, room_id=room, deployment_id=deployment)
        newest = sessions_in(emu, room)[-1]
        assert third.session_id == newest.id
        assert len(sessions_in(emu, room)) == 3
        assert len(dispatch_requests(emu)) == 4


async def test_dispatch_refusals(emu: Emulator, vs: VideoSDK) -> None:
    agent = emu.videosdk_agent(emu.videosdk_agent_id)
    agent.workers = 0
    with pytest.raises(AgentAtCapacityError, match="No workers available"):
        await vs.runtime.dispatch(agent_id=agent.id)
    agent.workers = 1
    agent.registered = False
    with pytest.raises(AgentAtCapacityError, match="No Workers Registered"):
        await vs.runtime.dispatch(agent_id=agent.id)
    with pytest.raises(AgentAtCapacityError, match="No Workers Registered"):
        await vs.runtime.dispatch(agent_id="nobody-runs-this")
    agent.registered = True
    await vs.runtime.versions.deactivate(emu.videosdk_runtime_version_id)
    with pytest.raises(NotFoundError, match="Agent Not Deployed"):
        await vs.runtime.dispatch(agent_id=agent.id)
    with pytest.raises(NotFoundError, match="Room not found"):
        await vs.runtime.dispatch(agent_id=agent.id, room_id="no-such-room")
    assert emu.worlds["videosdk"].runtime.sessions == {}
    assert len(vs._held) == 0


async def test_a_full_worker_pool_refuses_until_a_session_ends(
    emu: Emulator, vs: VideoSDK, clock: ManualClock
) -> None:
    emu.videosdk_agent(emu.videosdk_agent_id).workers = 2
    first = await vs.runtime.dispatch(agent_id=emu.videosdk_agent_id)
    await vs.runtime.dispatch(agent_id=emu.videosdk_agent_id)
    with pytest.raises(AgentAtCapacityError):
        await vs.runtime.dispatch(agent_id=emu.videosdk_agent_id)
    await vs.runtime.sessions.end(room_id=first.room_id)
    with pytest.raises(AgentAtCapacityError):  # its worker is busy until the agent has left
        await vs.runtime.dispatch(agent_id=emu.videosdk_agent_id)
    clock.advance(TIMERS.stop_delay)
    await vs.runtime.dispatch(agent_id=emu.videosdk_agent_id)


async def test_dispatches_wait_for_capacity_and_none_is_duplicated() -> None:
    """20 dispatches at once to an agent with 5 workers: each waits its turn, all are
    carried out once. Real time: the sessions end on the emulator's own timers."""
    quick = Lifecycle(start_delay=0.0, run_duration=0.05, stop_delay=0.0)
    async with Emulator(seed=4, lifecycle=quick) as emu:
        emu.videosdk_agent(emu.videosdk_agent_id).workers = 5
        policy = RetryPolicy(backoff_base=0.01, backoff_cap=0.05, random=lambda: 1.0)
        async with emu.videosdk(retry=policy) as vs:
            dispatches = await asyncio.gather(
                *(
                    vs.runtime.dispatch(agent_id=emu.videosdk_agent_id, wait_for_capacity=20)
                    for _ in range(20)
                )
            )
    rooms = Counter(s.room_id for s in emu.worlds["videosdk"].runtime.sessions.values())
    assert sorted(rooms) == sorted(d.room_id for d in dispatches)
    assert set(rooms.values()) == {1}
    assert len(dispatch_requests(emu)) > 20, "no dispatch had to wait: the pool was never full"


async def test_wait_hears_the_agent_session_webhooks(
    emu: Emulator, vs: VideoSDK, clock: ManualClock
) -> None:
    """The version's webhook reaches a receiver; ``wait(receiver=...)`` wakes on it rather
    than on its (here: ten-minute) polls."""
    async with WebhookReceiver.serve(key_source=vs.webhook_public_key) as hooks:
        version = await vs.runtime.versions.update(
            emu.videosdk_runtime_version_id,
            webhook=Webhook(str(hooks.url)),  # every event
        )
        assert version.id == emu.videosdk_runtime_version_id
        deployment = emu.videosdk_runtime_deployment_id
        dispatch = await vs.runtime.dispatch(agent_id=emu.videosdk_agent_id)
        found = await vs.runtime.sessions.find(deployment, room_id=dispatch.room_id)
        clock.advance(3)  # the agent joins

        real = RetryPolicy()  # real sleeps: only a webhook can end a ten-minute pause early
        async with emu.videosdk(retry=real) as waiter:
            polls = len(emu.requests)
            waiting = asyncio.ensure_future(
                waiter.runtime.sessions.wait(
                    deployment,
                    found.id,
                    until="ended",
                    timeout=30,
                    poll_interval=600,
                    receiver=hooks,
                )
            )
            for _ in range(500):  # until its first poll is in: it is pausing then
                if len(emu.requests) > polls:
                    break
                await asyncio.sleep(0.01)
            await vs.runtime.sessions.end(room_id=dispatch.room_id)
            clock.advance(5)
            ended = await asyncio.wait_for(waiting, 20)
        assert ended.status is SessionStatus.ENDED
        await emu.settle()
        events = []
        while True:
            try:
                events.append(await hooks.next(session_id=found.id, timeout=0.5))
            except TimeoutError:
                break
    assert [e.name for e in events] == [
        "agent-session-starting",
        "agent-session-started",
        "agent-session-stopping",
        "agent-session-stopped",
    ]
    assert {(e.session_id, e.room) for e in events} == {(found.id, dispatch.room_id)}
    assert all(d.ok for d in emu.webhook_deliveries)


async def test_sessions_page_through_every_envelope(
    clock: ManualClock, policy: RetryPolicy
) -> None:
    for envelope in (None, "pageInfo", "pagination"):
        async with Emulator(clock=clock, seed=2, videosdk_runtime_paging=envelope) as emu:
            seeded = emu.seed_sessions("videosdk", 250, seed=1, runtime=True, running=3)
            async with emu.videosdk(retry=policy) as vs:
                pager = vs.runtime.sessions.list(
                    emu.videosdk_runtime_deployment_id, per_page=100, concurrency=3
                )
                walked = [s.id async for s in pager]
            assert walked == seeded, envelope
            pages = [r for r in emu.requests if r.path.endswith("/sessions")]
            # With a count the walk stops at the last page; without, at the short one.
            assert len(pages) == 3, envelope


async def test_logs_cover_the_last_day_unless_asked_for_more(
    emu: Emulator, vs: VideoSDK, clock: ManualClock
) -> None:
    deployment = emu.videosdk_runtime_deployment_id
    now = clock.now()
    emu.add_videosdk_log("two days ago", at=now - 2 * 86400)
    for index in range(150):
        emu.add_videosdk_log(f"line {index}", level="debug", at=now - 150 + index)
    recent = await vs.runtime.logs(deployment, per_page=40).collect()
    assert [line.message for line in recent] == [f"line {i}" for i in range(149, -1, -1)]
    assert {line.level for line in recent} == {"debug"}
    since = datetime.fromtimestamp(now - 3 * 86400, UTC)
    everything = await vs.runtime.logs(deployment, since=since, order="asc").collect()
    assert everything[0].message == "two days ago"
    assert len(everything) == 151
    window = await vs.runtime.logs(
        deployment,
        since=datetime.fromtimestamp(now - 10, UTC),
        until=datetime.fromtimestamp(now - 5, UTC),
        order="asc",
    ).collect()
    assert [line.message for line in window] == [f"line {i}" for i in range(140, 146)]


async def test_deployments_and_versions(emu: Emulator, vs: VideoSDK) -> None:
    deployment = await vs.runtime.deployments.create(name="support-bot", template="voice")
    assert deployment.agent_id is not None
    assert deployment.name == "support-bot"
    with pytest.raises(NotFoundError):
        await vs.runtime.deployments.latest(deployment.id)  # no version yet
    first = await vs.runtime.versions.create(
        deployment_id=deployment.id,
        agent_id=deployment.agent_id,
        image="ghcr.io/acme/support:1",
        min_replicas=0,
        max_replicas=5,
        version_tag="one",
    )
    assert first.active is True
    assert first.image == {
        "imageUrl": "ghcr.io/acme/support:1",
        "imageCR": "ghcr.io",
        "imageType": "public",
    }
    second = await vs.runtime.versions.create(
        deployment_id=deployment.id,
        agent_id=deployment.agent_id,
        image="ghcr.io/acme/support:2",
        profile="cpu-medium",
    )
    assert (await vs.runtime.deployments.latest(deployment.id)).id == second.id
    assert (await vs.runtime.versions.get(first.id)).active is False  # one runs at a time
    listed = await vs.runtime.versions.list(deployment_id=deployment.id, order="asc").collect()
    assert [v.id for v in listed] == [first.id, second.id]

    await vs.runtime.versions.activate(first.id)
    assert (await vs.runtime.versions.get(first.id)).active is True
    updated = await vs.runtime.versions.update(first.id, max_replicas=8, schedule={"days": [1]})
    assert (updated.max_replicas, updated.schedule) == (8, {"days": [1]})
    await vs.runtime.versions.clear_schedule(first.id)
    assert (await vs.runtime.versions.get(first.id)).schedule is None

    dispatch = await vs.runtime.dispatch(agent_id=deployment.agent_id, version_tag="one")
    [record] = sessions_in(emu, dispatch.room_id)
    assert record.version_id == first.id
    with pytest.raises(ConflictError):
        await vs.runtime.versions.deactivate(first.id)
    await vs.runtime.versions.deactivate(first.id, force=True)
    assert ended_by_us(emu, record.id)

    general = await vs.runtime.dispatch(
        agent_id=deployment.agent_id, version_id=second.id, general=True
    )
    with pytest.raises(ConflictError):
        await vs.runtime.deployments.delete(deployment.id)
    refreshed = await vs.runtime.deployments.update(deployment.id, env_secret="secret-7")
    assert refreshed.env_secret == "secret-7"
    await vs.runtime.deployments.delete(deployment.id, force=True)
    [general_record] = sessions_in(emu, general.room_id)
    assert ended_by_us(emu, general_record.id)
    with pytest.raises(NotFoundError):
        await vs.runtime.deployments.get(deployment.id)
    found = [d.id async for d in vs.runtime.deployments.list(name="^support")]
    assert found == []


async def test_rooms_with_a_custom_id_are_created_once(vs: VideoSDK) -> None:
    first = await vs.rooms.create(custom_room_id="call-42")
    again = await vs.rooms.create(custom_room_id="call-42")
    other = await vs.rooms.create(auto_close_after=60)
    assert first == again
    assert first.custom_room_id == "call-42"
    assert other.room_id != first.room_id
    assert other.created_at is not None


async def test_find_times_out_naming_the_room(emu: Emulator, vs: VideoSDK) -> None:
    room = (await vs.rooms.create()).room_id
    with pytest.raises(TimeoutError, match=room):
        await vs.runtime.sessions.find(emu.videosdk_runtime_deployment_id, room_id=room, timeout=5)


async def test_a_failed_session_ends_and_its_log_says_why(emu: Emulator, vs: VideoSDK) -> None:
    emu.videosdk_agent(emu.videosdk_agent_id).fail_sessions = True
    dispatch = await vs.runtime.dispatch(agent_id=emu.videosdk_agent_id)
    ended = await vs.runtime.sessions.wait(
        emu.videosdk_runtime_deployment_id, room_id=dispatch.room_id, until="ended", timeout=30
    )
    # The listing carries no status: a failed session reads as ended, its log says why.
    assert ended.status is SessionStatus.ENDED
    lines = await vs.runtime.logs(emu.videosdk_runtime_deployment_id, session_id=ended.id).collect()
    assert (lines[0].level, lines[0].message) == (
        "error",
        "Agent session failed: the entrypoint raised an exception",
    )
