"""LiveKitCloud's whole surface over real loopback HTTP against the emulator (no mocks).

The emulator runs on a ManualClock and the client's RetryPolicy sleeps by advancing it,
so job timers, polling and backoff run instantly and deterministically.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from agentcloud import (
    AuthenticationError,
    LiveKitCloud,
    LiveKitSession,
    NotFoundError,
    RateLimitError,
    RequestTimeoutError,
    RetryPolicy,
    SessionEventType,
    SessionFailedError,
    SessionStatus,
    StartOutcomeUnknownError,
    WebhookReceiver,
)
from agentcloud.providers import connect
from agentcloud.testing import Emulator, FaultPlan, Lifecycle, ManualClock

TIMERS = Lifecycle(start_delay=2.0, run_duration=600.0, stop_delay=1.0)
CREATE = "/twirp/livekit.AgentDispatchService/CreateDispatch"
LIST = "/twirp/livekit.AgentDispatchService/ListDispatch"
DELETE = "/twirp/livekit.AgentDispatchService/DeleteDispatch"
DELETE_ROOM = "/twirp/livekit.RoomService/DeleteRoom"


@pytest.fixture
async def emu(clock: ManualClock) -> AsyncIterator[Emulator]:
    async with Emulator(clock=clock, seed=5, lifecycle=TIMERS) as emulator:
        yield emulator


@pytest.fixture
async def lk(emu: Emulator, policy: RetryPolicy) -> AsyncIterator[LiveKitCloud]:
    async with emu.livekit(retry=policy) as client:
        yield client


def requests_to(emu: Emulator, path: str) -> list[Any]:
    return [request for request in emu.requests if request.path == path]


def in_room(emu: Emulator, room: str) -> list[str]:
    world = emu.worlds["livekit"]
    return list(world.rooms[room].dispatch_ids) if room in world.rooms else []


# ---- the lifecycle ------------------------------------------------------------------


async def test_the_whole_lifecycle(emu: Emulator, lk: LiveKitCloud) -> None:
    started = await lk.sessions.start(
        agent_name="my-agent", room="call-42", metadata={"user": "42"}, attributes={"k": "v"}
    )
    assert isinstance(started, LiveKitSession)
    assert started.status is SessionStatus.QUEUED  # the create answer comes before the job
    assert (started.room, started.agent_name, started.attributes) == (
        "call-42",
        "my-agent",
        {"k": "v"},
    )
    assert started.metadata is not None
    assert started.metadata["user"] == "42"
    assert "agentcloud_request_id" in started.metadata
    [sent] = requests_to(emu, CREATE)
    assert json.loads(sent.body["metadata"]) == started.metadata
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.headers["X-Livekit-Request-Id"]

    running = await lk.sessions.wait(started.id, room="call-42", until="running", timeout=30)
    assert running.status is SessionStatus.RUNNING
    [job] = running.jobs
    assert (job.raw_status, job.worker_id) == ("JS_RUNNING", emu.livekit_worker_id)
    assert running.started_at is not None

    fetched = await lk.sessions.get(started.id, room="call-42")
    assert fetched == running
    assert [s.id for s in await lk.sessions.list(room="call-42").collect()] == [started.id]

    ending = await lk.sessions.end(started.id, room="call-42")
    assert ending.status is SessionStatus.STOPPING  # deleted, its job still winding down
    assert ending.deleted_at is not None
    ended = await lk.sessions.wait(started.id, room="call-42", until="ended", timeout=30)
    assert ended.status is SessionStatus.ENDED  # LiveKit forgot it; this client ended it
    with pytest.raises(NotFoundError):
        await lk.sessions.get(started.id, room="call-42")


async def test_every_room_is_listed_a_few_at_a_time(emu: Emulator, lk: LiveKitCloud) -> None:
    for room, count in (("a", 2), ("b", 0), ("c", 3), ("d", 1)):
        await lk.rooms.create(room)
        for _ in range(count):
            await lk.sessions.start(agent_name="my-agent", room=room)
    pages = [page async for page in lk.sessions.list(concurrency=2).pages()]
    assert [(page.cursor, len(page.items)) for page in pages] == [("a", 2), ("c", 3), ("d", 1)]
    assert [page.next_cursor for page in pages] == ["b", "d", None]
    everything = await lk.sessions.list().collect()
    assert [s.room for s in everything] == ["a", "a", "c", "c", "c", "d"]
    assert len({s.id for s in everything}) == 6
    assert len(await lk.sessions.list(max_items=3).collect()) == 3
    assert await lk.sessions.list(max_items=0).collect() == []


async def test_the_cross_room_listing_bounds_its_requests_in_flight(
    emu: Emulator, policy: RetryPolicy
) -> None:
    in_flight = peak = 0

    class Counter:
        def on_request(self, info: Any) -> None:
            nonlocal in_flight, peak
            if info.operation == "sessions.list":
                in_flight += 1
                peak = max(peak, in_flight)

        def on_response(self, info: Any) -> None:
            nonlocal in_flight
            if info.operation == "sessions.list":
                in_flight -= 1

    async with emu.livekit(retry=policy, hooks=[Counter()]) as lk:
        for index in range(8):
            await lk.sessions.start(agent_name="my-agent", room=f"room-{index}")
        emu.latency = 0.02  # every room's answer takes a while: requests overlap
        listed = await lk.sessions.list(concurrency=3).collect()
    assert len(listed) == 8
    assert peak == 3


async def test_a_room_closed_during_the_listing_is_skipped(
    emu: Emulator, policy: RetryPolicy
) -> None:
    world = emu.worlds["livekit"]

    class CloseRoomB:
        def on_response(self, info: Any) -> None:
            if info.operation == "rooms.list" and "b" in world.rooms:
                world.delete_room(world.rooms["b"])

    async with emu.livekit(retry=policy, hooks=[CloseRoomB()]) as lk:
        for room in ("a", "b", "c"):
            await lk.sessions.start(agent_name="my-agent", room=room)
        listed = await lk.sessions.list(concurrency=1).collect()
    assert [s.room for s in listed] == ["a", "c"]


async def test_rooms_are_created_listed_and_deleted(emu: Emulator, lk: LiveKitCloud) -> None:
    room = await lk.rooms.create("r", max_participants=4, metadata="m", empty_timeout=60)
    assert (room.name, room.max_participants, room.metadata, room.empty_timeout) == (
        "r",
        4,
        "m",
        60,
    )
    assert await lk.rooms.create("r") == room  # CreateRoom returns an existing room
    await lk.rooms.create("s")
    assert [r.name for r in await lk.rooms.list().collect()] == ["r", "s"]
    assert [r.name for r in await lk.rooms.list(names=["s"]).collect()] == ["s"]
    await lk.rooms.delete("r")
    with pytest.raises(NotFoundError):
        await lk.rooms.delete("r")
    assert [r.name for r in await lk.rooms.list().collect()] == ["s"]


# ---- at most once -------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault", ["server_error_after_processing", "reset_after_processing", "truncated_body"]
)
async def test_an_ambiguous_start_that_took_effect_is_found(
    emu: Emulator, lk: LiveKitCloud, fault: str
) -> None:
    emu.faults = FaultPlan(script=[fault], paths=[CREATE])
    started = await lk.sessions.start(agent_name="my-agent", room="r", metadata={"u": 1})
    assert in_room(emu, "r") == [started.id]
    assert len(requests_to(emu, CREATE)) == 1
    assert len(requests_to(emu, LIST)) == 1


@pytest.mark.parametrize("fault", ["server_error", "rate_limited", "reset_before_processing"])
async def test_a_start_that_provably_did_nothing_is_sent_again(
    emu: Emulator, lk: LiveKitCloud, fault: str
) -> None:
    emu.faults = FaultPlan(script=[fault], paths=[CREATE])
    started = await lk.sessions.start(agent_name="my-agent", room="r")
    assert in_room(emu, "r") == [started.id]
    assert len(requests_to(emu, CREATE)) == 2


async def test_text_metadata_cannot_be_reconciled(emu: Emulator, lk: LiveKitCloud) -> None:
    emu.faults = FaultPlan(script=["server_error_after_processing"], paths=[CREATE])
    with pytest.raises(StartOutcomeUnknownError) as caught:
        await lk.sessions.start(agent_name="my-agent", room="r", metadata="plain text")
    assert caught.value.marker is None
    assert "sessions.list(room='r')" in str(caught.value)
    assert len(in_room(emu, "r")) == 1  # made once, never twice
    assert requests_to(emu, CREATE)[0].body["metadata"] == "plain text"


async def test_reconcile_false_sends_no_marker(emu: Emulator, lk: LiveKitCloud) -> None:
    emu.faults = FaultPlan(script=["server_error_after_processing"], paths=[CREATE])
    with pytest.raises(StartOutcomeUnknownError):
        await lk.sessions.start(agent_name="my-agent", room="r", metadata={"u": 1}, reconcile=False)
    assert json.loads(requests_to(emu, CREATE)[0].body["metadata"]) == {"u": 1}


async def test_no_metadata_still_carries_the_marker(emu: Emulator, lk: LiveKitCloud) -> None:
    started = await lk.sessions.start(agent_name="my-agent", room="r")
    assert started.metadata is not None
    assert set(started.metadata) == {"agentcloud_request_id"}
    unmarked = await lk.sessions.start(agent_name="my-agent", room="r", reconcile=False)
    assert (unmarked.metadata, unmarked.metadata_text) == (None, None)


# ---- reads, ends and errors ---------------------------------------------------------


async def test_reads_are_posts_retried_as_reads(emu: Emulator, lk: LiveKitCloud) -> None:
    started = await lk.sessions.start(agent_name="my-agent", room="r")
    emu.faults = FaultPlan(script=["server_error", "reset_after_processing"], paths=[LIST])
    fetched = await lk.sessions.get(started.id, room="r")
    assert fetched.id == started.id
    assert len(requests_to(emu, LIST)) == 3


async def test_an_end_whose_answer_was_lost_converges(emu: Emulator, lk: LiveKitCloud) -> None:
    started = await lk.sessions.start(agent_name="my-agent", room="r")
    emu.faults = FaultPlan(script=["reset_after_processing"], paths=[DELETE])
    ended = await lk.sessions.end(started.id, room="r")
    assert (ended.id, ended.room, ended.status) == (started.id, "r", SessionStatus.ENDED)
    assert len(requests_to(emu, DELETE)) == 2
    assert in_room(emu, "r") == []
    with pytest.raises(NotFoundError):  # a first attempt that finds nothing is an error
        await lk.sessions.end(started.id, room="r")


async def test_a_room_delete_whose_answer_was_lost_converges(
    emu: Emulator, lk: LiveKitCloud
) -> None:
    await lk.rooms.create("r")
    emu.faults = FaultPlan(script=["reset_after_processing"], paths=[DELETE_ROOM])
    await lk.rooms.delete("r")
    assert "r" not in emu.worlds["livekit"].rooms


async def test_unknown_rooms_and_dispatches_are_not_found(lk: LiveKitCloud) -> None:
    with pytest.raises(NotFoundError) as unknown_room:
        await lk.sessions.get("AD_nope", room="nowhere")
    assert (unknown_room.value.code, unknown_room.value.status) == ("not_found", 404)
    with pytest.raises(NotFoundError):
        await lk.sessions.list(room="nowhere").collect()
    await lk.rooms.create("r")
    with pytest.raises(NotFoundError, match="lists no dispatch") as no_dispatch:
        await lk.sessions.get("AD_nope", room="r")
    assert no_dispatch.value.attempts == 1
    with pytest.raises(NotFoundError):
        await lk.sessions.wait("AD_nope", room="r", timeout=5)


async def test_a_refused_token_is_an_authentication_error_with_nothing_secret(
    emu: Emulator,
) -> None:
    wrong = "wrong-secret-that-is-long-enough-0123456789"
    async with LiveKitCloud(emu.livekit_api_key, wrong, base_url=emu.url) as lk:
        with pytest.raises(AuthenticationError) as caught:
            await lk.rooms.list().collect()
    error = caught.value
    assert (error.status, error.code) == (401, "unauthenticated")
    # LiveKit's auth layer quotes the token back: the SDK must not repeat it.
    assert "invalid token: [redacted-jwt]" in str(error)
    for text in (str(error), repr(error), str(error.body)):
        assert "eyJ" not in text
        assert wrong not in text


async def test_rate_limits_are_retried_then_raised(emu: Emulator, lk: LiveKitCloud) -> None:
    emu.faults = FaultPlan(script=["rate_limited"], retry_after=2)
    assert await lk.rooms.list().collect() == []
    emu.faults = FaultPlan(rate=1.0, kinds=["rate_limited_no_retry_after"])
    with pytest.raises(RateLimitError) as caught:
        await lk.rooms.list().collect()
    assert caught.value.code == "resource_exhausted"


# ---- workers, capacity and failures -------------------------------------------------


async def test_no_capacity_fails_the_session(clock: ManualClock, policy: RetryPolicy) -> None:
    async with (
        Emulator(clock=clock, lifecycle=TIMERS, livekit_worker_capacity=1) as emu,
        emu.livekit(retry=policy) as lk,
    ):
        first = await lk.sessions.start(agent_name="my-agent", room="r")
        second = await lk.sessions.start(agent_name="my-agent", room="r")
        with pytest.raises(SessionFailedError) as caught:
            await lk.sessions.wait(second.id, room="r", timeout=30)
        failed = caught.value.session
        assert isinstance(failed, LiveKitSession)
        assert (failed.raw_status, failed.jobs[-1].reason) == ("JS_FAILED", "JSR_NO_CAPACITY")
        running = await lk.sessions.wait(first.id, room="r", timeout=30)
        assert running.status is SessionStatus.RUNNING


async def test_a_dispatch_waits_for_a_worker(emu: Emulator, lk: LiveKitCloud) -> None:
    started = await lk.sessions.start(agent_name="nobody", room="r")
    with pytest.raises(RequestTimeoutError):
        await lk.sessions.wait(started.id, room="r", timeout=20)
    assert (await lk.sessions.get(started.id, room="r")).status is SessionStatus.QUEUED
    emu.add_livekit_worker("nobody")
    assert (await lk.sessions.get(started.id, room="r")).status is SessionStatus.STARTING
    running = await lk.sessions.wait(started.id, room="r", timeout=30)
    assert running.status is SessionStatus.RUNNING


async def test_a_job_failed_on_request_fails_the_wait(emu: Emulator, lk: LiveKitCloud) -> None:
    started = await lk.sessions.start(agent_name="my-agent", room="r")
    await lk.sessions.wait(started.id, room="r", timeout=30)
    emu.livekit_finish_job(started.id, status="JS_FAILED", error="the model crashed")
    with pytest.raises(SessionFailedError) as caught:
        await lk.sessions.wait(started.id, room="r", until="ended", timeout=30)
    assert isinstance(caught.value.session, LiveKitSession)
    assert caught.value.session.jobs[-1].error == "the model crashed"


async def test_a_wait_that_sees_the_room_close_reports_it_ended(
    emu: Emulator, lk: LiveKitCloud, clock: ManualClock
) -> None:
    started = await lk.sessions.start(agent_name="my-agent", room="r")
    world = emu.worlds["livekit"]
    polls = 0

    async def close_after_first_poll(seconds: float) -> None:
        nonlocal polls
        polls += 1
        if polls == 1:
            world.delete_room(world.rooms["r"])
        clock.advance(seconds)
        await asyncio.sleep(0)

    async with emu.livekit(
        retry=RetryPolicy(sleep=close_after_first_poll, clock=clock.now, random=lambda: 0.5)
    ) as watcher:
        ended = await watcher.sessions.wait(started.id, room="r", until="ended", timeout=60)
    assert ended.status is SessionStatus.ENDED
    assert ended.id == started.id


# ---- webhooks, managed sessions, closing ---------------------------------------------


async def test_webhooks_reach_a_receiver_and_wake_the_wait(emu: Emulator, lk: LiveKitCloud) -> None:
    async with WebhookReceiver.serve(
        api_key=emu.livekit_api_key, api_secret=emu.livekit_api_secret
    ) as hooks:
        emu.livekit_webhooks(str(hooks.url))
        started = await lk.sessions.start(agent_name="my-agent", room="r")
        running = await lk.sessions.wait(
            started.id, room="r", until="running", timeout=30, receiver=hooks
        )
        assert running.status is SessionStatus.RUNNING
        await emu.settle()
        pending = await hooks.next(session_id=started.id, timeout=5)
        started_event = await hooks.next(session_id=started.id, timeout=5)
        assert (pending.type, started_event.type) == (
            SessionEventType.STARTING,
            SessionEventType.STARTED,
        )
        assert (started_event.room, started_event.provider) == ("r", "livekit")
        assert hooks.stats.rejected == 0


async def test_a_managed_session_is_deleted_on_exit(emu: Emulator, lk: LiveKitCloud) -> None:
    async with lk.sessions.start(agent_name="my-agent", room="r") as started:
        assert in_room(emu, "r") == [started.id]
    assert in_room(emu, "r") == []
    assert emu.livekit_dispatch(started.id).deleted_at is not None


async def test_end_on_close_ends_what_the_client_holds(emu: Emulator, policy: RetryPolicy) -> None:
    async with emu.livekit(retry=policy, end_on_close=True) as lk:
        held = await lk.sessions.start(agent_name="my-agent", room="r")
    assert emu.livekit_dispatch(held.id).deleted_at is not None


async def test_connect_reads_livekits_environment(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in emu.environment().items():
        monkeypatch.setenv(name, value)
    async with connect("livekit") as lk:
        assert await lk.rooms.list().collect() == []
