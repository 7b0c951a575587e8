"""VideoSDK's agent runtime (``vs.runtime``, ``vs.rooms``) through the blocking client,
against the emulator: dispatches (used directly and under ``with``), runtime sessions,
console logs, deployments and versions. The async scenarios are in
tests/integration/test_videosdk_runtime.py."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest

from agentcloud import (
    AgentAtCapacityError,
    AgentDeployment,
    AgentVersion,
    ConflictError,
    Dispatch,
    InvalidRequestError,
    LogEntry,
    NotFoundError,
    RequestTimeoutError,
    RetryPolicy,
    Room,
    RuntimeSession,
    SessionStatus,
)
from agentcloud.models import Page
from agentcloud.sync import Pager, Started, VideoSDK, wrap
from agentcloud.testing import Emulator, ManualClock
from tests.sync.conftest import TIMERS
from tests.sync.helpers import idle_until_interrupted, sigint_when, tasks_left
from tests.sync.scenarios import covers


def sessions_in(emu: Emulator, room_id: str) -> list[Any]:
    world: Any = emu.worlds["videosdk"]
    return [s for s in world.runtime.sessions.values() if s.room_id == room_id]


def ended_by_us(emu: Emulator, session_id: str) -> bool:
    """Whether an API call ended the runtime session (its stop may still be under way)."""
    return bool(emu.videosdk_runtime_session(session_id).timeline.terminated)


def any_runtime_session(emu: Emulator) -> bool:
    world: Any = emu.worlds["videosdk"]
    return bool(world.runtime.sessions)


def only_session(emu: Emulator, room_id: str) -> Any:
    [record] = sessions_in(emu, room_id)
    return record


@covers("videosdk runtime.dispatch", "videosdk runtime.sessions.find")
@covers("videosdk runtime.sessions.wait", "videosdk runtime.sessions.list")
@covers("videosdk runtime.sessions.get", "videosdk runtime.sessions.end", "videosdk runtime.logs")
def test_the_runtime_lifecycle(emu: Emulator, vs: VideoSDK, clock: ManualClock) -> None:
    deployment = emu.videosdk_runtime_deployment_id
    started = vs.runtime.dispatch(
        agent_id=emu.videosdk_agent_id, metadata={"user": "42"}, deployment_id=deployment
    )
    assert isinstance(started, Started)
    dispatch = started.value
    assert isinstance(dispatch, Dispatch)
    assert started.room_id == dispatch.room_id == dispatch.id  # read through to the dispatch
    assert dispatch.status is SessionStatus.QUEUED
    assert emu.videosdk_room(dispatch.room_id).room_id == dispatch.room_id  # a room made for it
    assert only_session(emu, dispatch.room_id).metadata == {"user": "42"}
    # Not managed (no with block), and no end_on_close: the client lets it go, as after an
    # async await.
    assert dispatch.room_id not in vs._target._held

    found = vs.runtime.sessions.find(deployment, room_id=dispatch.room_id, timeout=10)
    assert isinstance(found, RuntimeSession)
    assert (found.room_id, found.deployment_id, found.version_id) == (
        dispatch.room_id,
        deployment,
        emu.videosdk_runtime_version_id,
    )
    running = vs.runtime.sessions.wait(deployment, room_id=dispatch.room_id, timeout=10)
    assert running.status is SessionStatus.RUNNING
    assert running.id == found.id

    listing = vs.runtime.sessions.list(deployment, room_id=dispatch.room_id)
    assert isinstance(listing, Pager)
    assert [s.id for s in listing] == [found.id]
    fetched = vs.runtime.sessions.get(deployment, found.id)
    assert isinstance(fetched, RuntimeSession)
    assert (fetched.id, fetched.status) == (found.id, SessionStatus.RUNNING)

    clock.advance(3)
    ended = vs.runtime.sessions.end(room_id=dispatch.room_id)
    assert isinstance(ended, RuntimeSession)
    assert (ended.id, ended.status) == (found.id, SessionStatus.ENDED)
    assert ended.ended_at is not None
    assert ended_by_us(emu, found.id)
    assert dispatch.room_id not in vs._target._held  # the room's session is over
    final = vs.runtime.sessions.wait(deployment, found.id, until="ended", timeout=10)
    assert final.ended_at == ended.ended_at
    clock.advance(1)  # the agent's stop takes a second; then it has written its last line

    logs = vs.runtime.logs(deployment, session_id=found.id, order="asc")
    assert isinstance(logs, Pager)
    lines = logs.collect()
    assert all(isinstance(line, LogEntry) for line in lines)
    assert [line.message for line in lines] == [
        f"Job assigned to a worker; joining room {dispatch.room_id}",
        f"Agent joined room {dispatch.room_id}",
        "Agent session stopping",
        "Agent session ended",
    ]
    assert {(line.session_id, line.deployment_id) for line in lines} == {(found.id, deployment)}
    newest_first = [line for line in vs.runtime.logs(deployment, session_id=found.id, per_page=1)]
    assert newest_first == lines[::-1]
    pages = list(vs.runtime.logs(deployment, session_id=found.id, per_page=3).pages())
    assert all(isinstance(page, Page) for page in pages)
    assert [len(page.items) for page in pages] == [3, 1]


def test_a_dispatch_under_with_is_ended_on_exit_and_on_error(emu: Emulator, vs: VideoSDK) -> None:
    agent = emu.videosdk_agent_id
    held = vs._target._held
    with vs.runtime.dispatch(agent_id=agent) as dispatch:
        assert isinstance(dispatch, Dispatch)  # the dispatch itself, not its handle
        record = only_session(emu, dispatch.room_id)
        assert not record.timeline.phase.is_terminal
        assert held.is_managed(dispatch.room_id)  # close() would end it now
    assert ended_by_us(emu, record.id)
    assert dispatch.room_id not in held

    with pytest.raises(LookupError), vs.runtime.dispatch(agent_id=agent) as failed:
        raise LookupError("the agent's work broke")
    assert ended_by_us(emu, only_session(emu, failed.room_id).id)
    assert len(held) == 0

    kept = vs.runtime.dispatch(agent_id=agent)  # used directly: runs on...
    assert not ended_by_us(emu, only_session(emu, kept.room_id).id)
    with kept as taken:  # ...until a with block takes it over
        assert taken is kept.value
    assert ended_by_us(emu, only_session(emu, kept.room_id).id)
    with pytest.raises(RuntimeError, match="only once"), kept:
        pass
    assert tasks_left(vs) == []


def test_close_ends_a_dispatch_whose_with_block_still_runs(
    emu: Emulator, policy: RetryPolicy
) -> None:
    client: Any = wrap(emu.videosdk(retry=policy))
    agent = emu.videosdk_agent_id
    kept = client.runtime.dispatch(agent_id=agent)
    managed = client.runtime.dispatch(agent_id=agent).__enter__()  # a block still running
    client.close()
    assert ended_by_us(emu, only_session(emu, managed.room_id).id)
    assert not ended_by_us(emu, only_session(emu, kept.room_id).id)

    with wrap(emu.videosdk(retry=policy, end_on_close=True)) as closing:
        left = closing.runtime.dispatch(agent_id=agent)
    assert ended_by_us(emu, only_session(emu, left.room_id).id)


def test_ctrl_c_inside_a_dispatch_block_ends_the_rooms_session(emu: Emulator, vs: VideoSDK) -> None:
    inside = threading.Event()
    with (  # noqa: PT012
        sigint_when(inside),
        pytest.raises(KeyboardInterrupt),
        vs.runtime.dispatch(agent_id=emu.videosdk_agent_id) as dispatch,
    ):
        inside.set()
        idle_until_interrupted()  # the agent's work, interrupted
    assert ended_by_us(emu, only_session(emu, dispatch.room_id).id)
    assert len(vs._target._held) == 0
    assert tasks_left(vs) == []


def test_refused_dispatches_raise_typed_errors_and_hold_nothing(
    emu: Emulator, vs: VideoSDK
) -> None:
    agent = emu.videosdk_agent(emu.videosdk_agent_id)
    agent.workers = 0
    with pytest.raises(AgentAtCapacityError, match="No workers available"):
        vs.runtime.dispatch(agent_id=agent.id)
    with (
        pytest.raises(AgentAtCapacityError),
        vs.runtime.dispatch(agent_id=agent.id) as never,  # the block never runs
    ):
        raise AssertionError(f"entered with {never!r}")
    agent.workers = 1
    with pytest.raises(NotFoundError, match="Room not found"):
        vs.runtime.dispatch(agent_id=agent.id, room_id="no-such-room")
    with pytest.raises(InvalidRequestError) as general:
        vs.runtime.dispatch(agent_id=agent.id, general=True)  # a managed agent needs a version
    assert general.value.argument == "version_id"
    assert not any_runtime_session(emu)
    assert len(vs._target._held) == 0


def test_runtime_session_lookups_fail_typed(emu: Emulator, vs: VideoSDK) -> None:
    deployment = emu.videosdk_runtime_deployment_id
    with pytest.raises(NotFoundError):
        vs.runtime.sessions.get(deployment, "no-such-session")
    room = vs.rooms.create().room_id
    with pytest.raises(RequestTimeoutError, match=room):
        vs.runtime.sessions.find(deployment, room_id=room, timeout=5)
    with pytest.raises(InvalidRequestError) as neither:
        vs.runtime.sessions.wait(deployment)
    assert neither.value.argument == "session_id"
    with pytest.raises(InvalidRequestError) as refused:
        vs.runtime.sessions.list("a/b")
    assert refused.value.argument == "deployment_id"


def test_runtime_sessions_are_walked_page_by_page(emu: Emulator, vs: VideoSDK) -> None:
    seeded = emu.seed_sessions("videosdk", 130, seed=1, runtime=True, running=3)
    deployment = emu.videosdk_runtime_deployment_id
    for concurrency in (1, 3):
        pager = vs.runtime.sessions.list(deployment, per_page=50, concurrency=concurrency)
        walked = [s.id for s in pager]
        assert walked == seeded, concurrency
    pages = list(vs.runtime.sessions.list(deployment, per_page=50).pages())
    assert [len(page.items) for page in pages] == [50, 50, 30]
    first = vs.runtime.sessions.list(deployment, max_items=7).collect()
    assert [s.id for s in first] == seeded[:7]
    assert all(isinstance(s, RuntimeSession) for s in first)
    running = [s for s in first if s.status is SessionStatus.RUNNING]
    assert [s.id for s in running] == seeded[:3]


def test_logs_cover_the_last_day_unless_asked_for_more(
    emu: Emulator, vs: VideoSDK, clock: ManualClock
) -> None:
    deployment = emu.videosdk_runtime_deployment_id
    now = clock.now()
    emu.add_videosdk_log("two days ago", at=now - 2 * 86400)
    for index in range(30):
        emu.add_videosdk_log(f"line {index}", level="debug", at=now - 30 + index)
    recent = [line.message for line in vs.runtime.logs(deployment, per_page=8)]
    assert recent == [f"line {i}" for i in range(29, -1, -1)]
    since = datetime.fromtimestamp(now - 3 * 86400, UTC)
    everything = vs.runtime.logs(deployment, since=since, order="asc").collect()
    assert (everything[0].message, len(everything)) == ("two days ago", 31)
    with pytest.raises(InvalidRequestError) as backwards:
        vs.runtime.logs(deployment, since=since, until=since)
    assert backwards.value.argument == "until"


@covers("videosdk runtime.deployments.create", "videosdk runtime.deployments.latest")
@covers("videosdk runtime.deployments.get", "videosdk runtime.deployments.list")
@covers("videosdk runtime.deployments.update", "videosdk runtime.deployments.delete")
@covers("videosdk runtime.versions.create", "videosdk runtime.versions.get")
@covers("videosdk runtime.versions.list", "videosdk runtime.versions.activate")
@covers("videosdk runtime.versions.update", "videosdk runtime.versions.clear_schedule")
@covers("videosdk runtime.versions.deactivate")
def test_deployments_and_versions(emu: Emulator, vs: VideoSDK) -> None:
    deployment = vs.runtime.deployments.create(name="support-bot", template="voice")
    assert isinstance(deployment, AgentDeployment)
    assert deployment.name == "support-bot"
    assert deployment.agent_id is not None
    assert vs.runtime.deployments.get(deployment.id).id == deployment.id
    with pytest.raises(NotFoundError):
        vs.runtime.deployments.latest(deployment.id)  # no version yet
    first = vs.runtime.versions.create(
        deployment_id=deployment.id,
        agent_id=deployment.agent_id,
        image="ghcr.io/acme/support:1",
        min_replicas=0,
        max_replicas=5,
        version_tag="one",
    )
    assert isinstance(first, AgentVersion)
    assert (first.active, first.version_tag, first.max_replicas) == (True, "one", 5)
    assert first.image is not None
    assert first.image["imageUrl"] == "ghcr.io/acme/support:1"
    with pytest.raises(InvalidRequestError) as too_many:
        vs.runtime.versions.create(
            deployment_id=deployment.id, agent_id=deployment.agent_id, image="x:1", max_replicas=51
        )
    assert too_many.value.argument == "max_replicas"
    second = vs.runtime.versions.create(
        deployment_id=deployment.id,
        agent_id=deployment.agent_id,
        image="ghcr.io/acme/support:2",
        profile="cpu-medium",
    )
    latest = vs.runtime.deployments.latest(deployment.id)
    assert isinstance(latest, AgentVersion)
    assert latest.id == second.id
    assert vs.runtime.versions.get(first.id).active is False  # one runs at a time
    listed = vs.runtime.versions.list(deployment_id=deployment.id, order="asc", per_page=1)
    assert [v.id for v in listed] == [first.id, second.id]
    assert [len(page.items) for page in listed.pages()] == [1, 1]

    vs.runtime.versions.activate(first.id)
    assert vs.runtime.versions.get(first.id).active is True
    updated = vs.runtime.versions.update(
        first.id, max_replicas=8, schedule={"days": [1]}, webhook="http://127.0.0.1:9/h"
    )
    assert (updated.max_replicas, updated.schedule) == (8, {"days": [1]})
    world: Any = emu.worlds["videosdk"]
    subscribed = world.runtime.versions[first.id].webhook
    assert subscribed is not None
    assert subscribed.endpoint == "http://127.0.0.1:9/h"
    with pytest.raises(InvalidRequestError) as nothing:
        vs.runtime.versions.update(first.id)
    assert nothing.value.argument == "fields"
    vs.runtime.versions.clear_schedule(first.id)
    assert vs.runtime.versions.get(first.id).schedule is None

    dispatch = vs.runtime.dispatch(agent_id=deployment.agent_id, version_tag="one")
    record = only_session(emu, dispatch.room_id)
    assert record.version_id == first.id
    with pytest.raises(ConflictError):
        vs.runtime.versions.deactivate(first.id)  # a session runs on it
    vs.runtime.versions.deactivate(first.id, force=True)
    assert ended_by_us(emu, record.id)
    assert vs.runtime.versions.get(first.id).active is False

    general = vs.runtime.dispatch(agent_id=deployment.agent_id, version_id=second.id, general=True)
    with pytest.raises(ConflictError):
        vs.runtime.deployments.delete(deployment.id)
    refreshed = vs.runtime.deployments.update(deployment.id, env_secret="secret-7")
    assert isinstance(refreshed, AgentDeployment)
    assert refreshed.env_secret == "secret-7"
    assert vs.runtime.deployments.get(deployment.id).env_secret == "secret-7"
    names = [d.name for d in vs.runtime.deployments.list(name="^support")]
    assert names == ["support-bot"]
    vs.runtime.deployments.delete(deployment.id, force=True)
    assert ended_by_us(emu, only_session(emu, general.room_id).id)
    with pytest.raises(NotFoundError):
        vs.runtime.deployments.get(deployment.id)
    assert vs.runtime.deployments.list(name="^support").collect() == []
    assert [d.id for d in vs.runtime.deployments.list()] == [emu.videosdk_runtime_deployment_id]


@covers("videosdk rooms.create")
def test_rooms_with_a_custom_id_are_created_once(emu: Emulator, vs: VideoSDK) -> None:
    first = vs.rooms.create(custom_room_id="call-42")
    assert isinstance(first, Room)
    assert first.custom_room_id == "call-42"
    assert vs.rooms.create(custom_room_id="call-42") == first
    other = vs.rooms.create(auto_close_after=60)
    assert other.room_id != first.room_id
    assert other.created_at is not None
    assert other.created_at.tzinfo is not None
    assert emu.videosdk_room(other.room_id).room_id == other.room_id
    with pytest.raises(InvalidRequestError) as refused:
        vs.rooms.create(auto_close_after=0)
    assert refused.value.argument == "auto_close_after"


def test_a_dispatch_waits_for_a_worker_when_asked(clock: ManualClock, policy: RetryPolicy) -> None:
    """``wait_for_capacity`` through the blocking call: the refusals are waited out (on the
    manual clock), and the dispatch goes through once a session has left its worker."""
    with (
        Emulator(clock=clock, seed=5, lifecycle=TIMERS) as emu,
        wrap(emu.videosdk(retry=policy)) as vs,
    ):
        emu.videosdk_agent(emu.videosdk_agent_id).workers = 1
        first = vs.runtime.dispatch(agent_id=emu.videosdk_agent_id)
        vs.runtime.sessions.end(room_id=first.value.room_id)  # its worker is free a second later
        second = vs.runtime.dispatch(agent_id=emu.videosdk_agent_id, wait_for_capacity=30)
        assert isinstance(second, Started)
        assert second.value.room_id != first.value.room_id
        refusals = [r for r in emu.requests if r.path == "/v2/agent/dispatch"]
        assert len(refusals) > 2  # it was refused, and waited
        assert len(sessions_in(emu, second.value.room_id)) == 1
