"""LiveKit Cloud through the blocking client, against the emulator: dispatches (used
directly and under ``with``), rooms, and the listing across rooms, whose early exit must
leave nothing running. The async scenarios are in
tests/integration/test_livekit_against_emulator.py."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from agentcloud import (
    InvalidRequestError,
    LiveKitRoom,
    LiveKitSession,
    NotFoundError,
    RetryPolicy,
    SessionFailedError,
    SessionStatus,
)
from agentcloud.models import Page
from agentcloud.sync import LiveKitCloud, Pager, Started, wrap
from agentcloud.testing import Emulator
from tests.sync.helpers import Connections, tasks_left
from tests.sync.scenarios import covers

STALL = 5.0  # the emulator's latency while pages are to be left in flight


def in_room(emu: Emulator, room: str) -> list[str]:
    world: Any = emu.worlds["livekit"]
    return list(world.rooms[room].dispatch_ids) if room in world.rooms else []


def rooms_of(emu: Emulator) -> list[str]:
    world: Any = emu.worlds["livekit"]
    return list(world.rooms)


@covers("livekit sessions.start", "livekit sessions.wait", "livekit sessions.get")
@covers("livekit sessions.list", "livekit sessions.end")
def test_the_whole_lifecycle(emu: Emulator, lk: LiveKitCloud) -> None:
    started = lk.sessions.start(
        agent_name="my-agent", room="call-42", metadata={"user": "42"}, attributes={"k": "v"}
    )
    assert isinstance(started, Started)
    assert isinstance(started.value, LiveKitSession)
    assert started.status is SessionStatus.QUEUED  # the create answer comes before the job
    assert (started.room, started.agent_name, started.attributes) == (
        "call-42",
        "my-agent",
        {"k": "v"},
    )
    assert started.metadata is not None
    assert started.metadata["user"] == "42"
    assert in_room(emu, "call-42") == [started.id]

    running = lk.sessions.wait(started.id, room="call-42", until="running", timeout=30)
    assert running.status is SessionStatus.RUNNING
    [job] = running.jobs
    assert (job.raw_status, job.worker_id) == ("JS_RUNNING", emu.livekit_worker_id)
    fetched = lk.sessions.get(started.id, room="call-42")
    assert fetched == running
    listing = lk.sessions.list(room="call-42")
    assert isinstance(listing, Pager)
    assert [s.id for s in listing] == [started.id]

    ending = lk.sessions.end(started.id, room="call-42")
    assert ending.status is SessionStatus.STOPPING  # deleted, its job still winding down
    assert ending.deleted_at is not None
    assert in_room(emu, "call-42") == []
    ended = lk.sessions.wait(started.id, room="call-42", until="ended", timeout=30)
    assert ended.status is SessionStatus.ENDED
    with pytest.raises(NotFoundError):
        lk.sessions.get(started.id, room="call-42")
    with pytest.raises(NotFoundError):
        lk.sessions.end(started.id, room="call-42")


def test_a_dispatch_under_with_is_deleted_on_exit_and_on_error(
    emu: Emulator, lk: LiveKitCloud
) -> None:
    with lk.sessions.start(agent_name="my-agent", room="r") as started:
        assert isinstance(started, LiveKitSession)  # the session itself, not its handle
        assert in_room(emu, "r") == [started.id]
    assert in_room(emu, "r") == []
    assert emu.livekit_dispatch(started.id).deleted_at is not None

    with pytest.raises(LookupError), lk.sessions.start(agent_name="my-agent", room="r") as failed:
        raise LookupError("the agent's work broke")
    assert emu.livekit_dispatch(failed.id).deleted_at is not None

    kept = lk.sessions.start(agent_name="my-agent", room="r")  # used directly: runs on
    assert in_room(emu, "r") == [kept.id]
    assert kept.id not in lk._target._held  # not managed: let go, as after an async await
    assert tasks_left(lk) == []


def test_close_deletes_what_a_with_block_still_holds(emu: Emulator, policy: RetryPolicy) -> None:
    client: Any = wrap(emu.livekit(retry=policy))
    kept = client.sessions.start(agent_name="my-agent", room="r")
    managed = client.sessions.start(agent_name="my-agent", room="r").__enter__()
    client.close()
    assert in_room(emu, "r") == [kept.id]
    assert emu.livekit_dispatch(managed.id).deleted_at is not None


def test_typed_errors(emu: Emulator, lk: LiveKitCloud) -> None:
    with pytest.raises(NotFoundError) as unknown_room:
        lk.sessions.get("AD_nope", room="nowhere")
    assert (unknown_room.value.code, unknown_room.value.status) == ("not_found", 404)
    with pytest.raises(NotFoundError):
        lk.sessions.list(room="nowhere").collect()
    with pytest.raises(InvalidRequestError) as reserved:
        lk.sessions.start(agent_name="my-agent", room="r", metadata={"agentcloud_request_id": 1})
    assert reserved.value.argument == "metadata"
    with pytest.raises(InvalidRequestError) as one_string:
        lk.rooms.list(names="r")
    assert one_string.value.argument == "names"
    assert rooms_of(emu) == []  # nothing was made by the refused calls


def test_a_job_failed_on_request_fails_the_wait(emu: Emulator, lk: LiveKitCloud) -> None:
    started = lk.sessions.start(agent_name="my-agent", room="r")
    lk.sessions.wait(started.id, room="r", timeout=30)
    emu.livekit_finish_job(started.id, status="JS_FAILED", error="the model crashed")
    with pytest.raises(SessionFailedError) as caught:
        lk.sessions.wait(started.id, room="r", until="ended", timeout=30)
    failed = caught.value.session
    assert isinstance(failed, LiveKitSession)
    assert failed.jobs[-1].error == "the model crashed"


@covers("livekit rooms.create", "livekit rooms.list", "livekit rooms.delete")
def test_rooms_are_created_listed_and_deleted(emu: Emulator, lk: LiveKitCloud) -> None:
    room = lk.rooms.create("r", max_participants=4, metadata="m", empty_timeout=60)
    assert isinstance(room, LiveKitRoom)
    assert (room.name, room.max_participants, room.metadata, room.empty_timeout) == (
        "r",
        4,
        "m",
        60,
    )
    assert lk.rooms.create("r") == room  # CreateRoom returns an existing room
    lk.rooms.create("s")
    listing = lk.rooms.list()
    assert isinstance(listing, Pager)
    assert [r.name for r in listing] == ["r", "s"]
    assert [r.name for r in lk.rooms.list(names=["s"]).collect()] == ["s"]
    assert [[r.name for r in page.items] for page in lk.rooms.list().pages()] == [["r", "s"]]
    lk.rooms.delete("r")
    with pytest.raises(NotFoundError):
        lk.rooms.delete("r")
    assert [r.name for r in lk.rooms.list()] == ["s"]
    assert rooms_of(emu) == ["s"]


def test_every_room_is_listed_a_few_at_a_time(lk: LiveKitCloud) -> None:
    for room, count in (("a", 2), ("b", 0), ("c", 3), ("d", 1)):
        lk.rooms.create(room)
        for _ in range(count):
            lk.sessions.start(agent_name="my-agent", room=room)
    pages = list(lk.sessions.list(concurrency=2).pages())
    assert all(isinstance(page, Page) for page in pages)
    assert [(page.cursor, len(page.items)) for page in pages] == [("a", 2), ("c", 3), ("d", 1)]
    assert [page.next_cursor for page in pages] == ["b", "d", None]
    everything = [s for s in lk.sessions.list()]
    assert [s.room for s in everything] == ["a", "a", "c", "c", "c", "d"]
    assert len({s.id for s in everything}) == 6
    assert all(isinstance(s, LiveKitSession) for s in everything)
    assert len(lk.sessions.list(max_items=3).collect()) == 3
    assert lk.sessions.list(max_items=0).collect() == []


class RoomsAnswered:
    """A client hook on the rooms' dispatch listings: once ``stall_after`` rooms have
    answered, every later answer takes STALL seconds (``stalling`` is set); ``next_sent``
    is set when the request of the room after those goes out."""

    def __init__(self, emu: Emulator, *, stall_after: int) -> None:
        self.emu = emu
        self.stall_after = stall_after
        self.sent = 0
        self.answered = 0
        self.stalling = threading.Event()
        self.next_sent = threading.Event()

    def on_request(self, info: Any) -> None:
        if info.operation == "sessions.list":
            self.sent += 1
            if self.sent == self.stall_after + 1:
                self.next_sent.set()

    def on_response(self, info: Any) -> None:
        if info.operation == "sessions.list":
            self.answered += 1
            if self.answered == self.stall_after:
                self.emu.latency = STALL
                self.stalling.set()


def test_leaving_the_cross_room_listing_early_cancels_the_rooms_in_flight(
    emu: Emulator, policy: RetryPolicy, connections: Connections
) -> None:
    """Eight rooms, four in flight: once the first four have answered, later answers stall.
    A loop that breaks after the second room, with the fifth room's request out, does not
    wait for it: it is cancelled at once, and no task is left on the client's loop."""
    hook = RoomsAnswered(emu, stall_after=4)
    client: Any = wrap(emu.livekit(retry=policy, hooks=[hook]))
    try:
        for index in range(8):
            client.sessions.start(agent_name="my-agent", room=f"room-{index}")
        assert hook.sent == 0  # (starts list nothing unless their outcome is in doubt)
        seen: list[str] = []
        for session in client.sessions.list(concurrency=4):
            seen.append(session.room)
            if len(seen) == 1:
                assert hook.stalling.wait(STALL)  # rooms 0-3 are in; the rest will stall
            if len(seen) == 2:
                assert hook.next_sent.wait(STALL)  # room 4 went out as room 1 came
                leaving = time.monotonic()
                break
        assert time.monotonic() - leaving < STALL  # room 4's stalled answer was not awaited
        assert seen == ["room-0", "room-1"]
        assert hook.sent == 5  # no room past the window was asked for
        assert hook.answered == 4
        assert tasks_left(client) == []  # room 4 was cancelled, not left running
        emu.latency = 0.0
        assert len(client.sessions.list(concurrency=4).collect()) == 8  # the client works on
    finally:
        emu.latency = 0.0
        client.close()
    assert connections.wait_closed(timeout=STALL)
