"""VideoSDK's agent runtime on the wire: what the SDK sends and how it reads the answers.

Shapes follow VideoSDK's pages and, where they are silent, its Node server SDK 0.1.1.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agentcloud import (
    RUNTIME_WEBHOOK_EVENTS,
    AgentAtCapacityError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    Dispatch,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseDecodeError,
    RuntimeSession,
    ServerError,
    SessionEventType,
    SessionStatus,
    StartOutcomeUnknownError,
    VideoSDK,
    Webhook,
    webhooks,
)
from tests.helpers import (
    API_KEY,
    SECRET,
    VIDEOSDK_URL,
    FakeTime,
    HoldRecorder,
    body_of,
    rsa_keypair,
    rsa_sign,
    sent,
)

ROOMS = f"{VIDEOSDK_URL}/v2/rooms"
DISPATCH = f"{VIDEOSDK_URL}/v2/agent/dispatch"
GENERAL = f"{VIDEOSDK_URL}/v2/agent/general/dispatch"
END = f"{VIDEOSDK_URL}/v2/sessions/end"
CLOUD = f"{VIDEOSDK_URL}/ai/v1/cloud"


def listing(path: str) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(VIDEOSDK_URL + path)}(\?.*)?$")


DEPLOYMENT_SESSIONS = listing("/ai/v1/cloud/deployments/dep-1/sessions")
LOGS = listing("/ai/v1/cloud/deployments/dep-1/console-logs")
DEPLOYMENTS = listing("/ai/v1/cloud/deployments")
VERSIONS = listing("/ai/v1/cloud/versions")

ROOM = {
    "roomId": "abcd-efgh-ijkl",
    "customRoomId": None,
    "userId": "u1",
    "disabled": False,
    "createdAt": "2025-06-18T12:00:00.000Z",
    "updatedAt": "2025-06-18T12:00:00.000Z",
    "id": "66a0c0ffee",
    "links": {"get_room": "https://api.videosdk.live/v2/rooms/abcd-efgh-ijkl"},
}


def dispatched(room: str = "abcd-efgh-ijkl", agent: str = "agent-1", **extra: Any) -> Any:
    return {
        "message": "Agent dispatch requested successfully.",
        "data": {"success": True, "status": "assigned", "roomId": room, "agentId": agent, **extra},
    }


def listed(session_id: str, room: str = "abcd-efgh-ijkl", end: str | None = None) -> Any:
    return {
        "sessionId": session_id,
        "roomId": room,
        "versionId": "ver-1",
        "start": "2025-06-18T12:00:00.000Z",
        "end": end,
    }


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
async def client(clock: FakeTime) -> Any:
    async with VideoSDK(API_KEY, SECRET, retry=clock.policy()) as vs:
        yield vs


# ---- dispatch


async def test_dispatch_makes_a_room_then_sends_it_as_meeting_and_room_id(
    client: VideoSDK, mocked: Any
) -> None:
    mocked.post(ROOMS, payload=ROOM)
    mocked.post(DISPATCH, payload=dispatched())
    holds = HoldRecorder(client)
    dispatch = await client.runtime.dispatch(agent_id="agent-1", metadata={"user": "42"})
    calls = sent(mocked)
    assert [(method, url) for method, url, _ in calls] == [("POST", ROOMS), ("POST", DISPATCH)]
    assert body_of(calls[0][2]) == {}
    assert body_of(calls[1][2]) == {
        "agentId": "agent-1",
        "meetingId": "abcd-efgh-ijkl",
        "roomId": "abcd-efgh-ijkl",
        "metadata": {"user": "42"},
    }
    assert calls[1][2]["headers"]["Content-Type"] == "application/json"
    assert isinstance(dispatch, Dispatch)
    assert (dispatch.id, dispatch.room_id, dispatch.agent_id) == (
        "abcd-efgh-ijkl",
        "abcd-efgh-ijkl",
        "agent-1",
    )
    assert dispatch.status is SessionStatus.QUEUED
    assert dispatch.raw_status == "assigned"
    assert dispatch.success is True
    assert dispatch.metadata == {"user": "42"}
    assert (dispatch.job_id, dispatch.worker_id, dispatch.session_id) == (None, None, None)
    assert dispatch.raw == dispatched()["data"]
    assert holds.managed == {"abcd-efgh-ijkl": False}  # held by its room until it is ended


async def test_dispatch_into_a_named_room_sends_every_option(client: VideoSDK, mocked: Any) -> None:
    mocked.post(DISPATCH, payload=dispatched("real-room-id", jobId="job-7", workerId="w-2"))
    dispatch = await client.runtime.dispatch(
        agent_id="agent-1",
        room_id="my-room",
        version_id="ver-1",
        version_tag="prod",
        room_options={"autoEndSession": True, "sessionTimeoutSeconds": 30},
        sip_options={"to": "+15550100"},
    )
    ((method, url, kwargs),) = sent(mocked)
    assert (method, url) == ("POST", DISPATCH)
    assert body_of(kwargs) == {
        "agentId": "agent-1",
        "meetingId": "my-room",
        "roomId": "my-room",
        "versionId": "ver-1",
        "versionTag": "prod",
        "roomOptions": {"autoEndSession": True, "sessionTimeoutSeconds": 30},
        "sipOptions": {"to": "+15550100"},
    }
    # VideoSDK says where the agent went: a custom room id comes back as the room's own.
    assert dispatch.room_id == dispatch.id == "real-room-id"
    assert (dispatch.job_id, dispatch.worker_id, dispatch.version_id) == ("job-7", "w-2", "ver-1")
    assert dispatch.metadata is None


async def test_general_dispatch_goes_to_its_path_and_needs_a_version(
    client: VideoSDK, mocked: Any
) -> None:
    mocked.post(GENERAL, payload=dispatched())
    await client.runtime.dispatch(
        agent_id="agent-1", room_id="abcd-efgh-ijkl", version_id="ver-1", general=True
    )
    ((_, url, kwargs),) = sent(mocked)
    assert url == GENERAL
    assert body_of(kwargs)["versionId"] == "ver-1"
    for kwargs_, argument in (
        ({"general": True}, "version_id"),
        ({"general": True, "version_id": "v", "version_tag": "t"}, "version_tag"),
    ):
        with pytest.raises(InvalidRequestError) as caught:
            client.runtime.dispatch(agent_id="agent-1", **kwargs_)
        assert caught.value.argument == argument


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"agent_id": ""}, "agent_id"),
        ({"agent_id": 7}, "agent_id"),
        ({"agent_id": "a", "room_id": "a/b"}, "room_id"),
        ({"agent_id": "a", "room_id": ""}, "room_id"),
        ({"agent_id": "a", "deployment_id": "../x"}, "deployment_id"),
        ({"agent_id": "a", "metadata": {"x": float("nan")}}, "metadata"),
        ({"agent_id": "a", "metadata": ["x"]}, "metadata"),
        ({"agent_id": "a", "room_options": {"x": object()}}, "room_options"),
        ({"agent_id": "a", "general": "yes"}, "general"),
        ({"agent_id": "a", "reconcile": 1}, "reconcile"),
        ({"agent_id": "a", "wait_for_capacity": 0}, "wait_for_capacity"),
        ({"agent_id": "a", "wait_for_capacity": float("inf")}, "wait_for_capacity"),
        ({"agent_id": "a", "timeout": -1}, "timeout"),
    ],
)
def test_bad_dispatch_input_is_rejected_before_sending(
    client: VideoSDK, mocked: Any, kwargs: dict[str, Any], argument: str
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        client.runtime.dispatch(**kwargs)
    assert caught.value.argument == argument
    assert sent(mocked) == []


@pytest.mark.parametrize("status", [400, 403, 500, 503])
@pytest.mark.parametrize(
    ("message", "error_class"),
    [
        ("No workers available", AgentAtCapacityError),
        ("No Workers Available.", AgentAtCapacityError),
        ("No Workers Registered", AgentAtCapacityError),
        ("Agent Not Deployed", NotFoundError),
    ],
)
async def test_dispatch_refusals_are_typed_whatever_the_status(
    client: VideoSDK, mocked: Any, status: int, message: str, error_class: type[Exception]
) -> None:
    mocked.post(DISPATCH, status=status, payload={"message": message}, repeat=True)
    with pytest.raises(error_class) as caught:
        await client.runtime.dispatch(agent_id="agent-1", room_id="r-1", deployment_id="dep-1")
    assert caught.value.status == status  # type: ignore[attr-defined]
    # A refusal proves nothing was dispatched: no retry, no lookup.
    assert [url for _, url, _ in sent(mocked)] == [DISPATCH]
    assert "r-1" not in client._held


async def test_a_capacity_refusal_is_a_rate_limit_that_a_caller_can_catch(
    client: VideoSDK, mocked: Any
) -> None:
    mocked.post(DISPATCH, status=400, payload={"message": "No workers available"})
    with pytest.raises(RateLimitError):
        await client.runtime.dispatch(agent_id="agent-1", room_id="r-1")


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (402, NotFoundError),
        (404, NotFoundError),
        (409, ConflictError),
        (429, RateLimitError),
        (502, ServerError),
    ],
)
async def test_statuses_map_as_the_node_sdk_maps_them(
    client: VideoSDK, mocked: Any, status: int, error_class: type[Exception]
) -> None:
    mocked.get(f"{CLOUD}/versions/v1", status=status, payload={"message": "no"}, repeat=True)
    with pytest.raises(error_class):
        await client.runtime.versions.get("v1")


async def test_wait_for_capacity_tries_again_until_a_worker_is_free(
    client: VideoSDK, mocked: Any, clock: FakeTime
) -> None:
    mocked.post(DISPATCH, status=400, payload={"message": "No workers available"})
    mocked.post(DISPATCH, status=400, payload={"message": "No workers available"})
    mocked.post(DISPATCH, payload=dispatched("r-1"))
    dispatch = await client.runtime.dispatch(
        agent_id="agent-1", room_id="r-1", wait_for_capacity=60
    )
    assert dispatch.room_id == "r-1"
    assert len(sent(mocked)) == 3
    assert clock.sleeps == [0.5, 1.0]  # capped back-off between the refusals


async def test_wait_for_capacity_gives_up_at_its_bound(
    client: VideoSDK, mocked: Any, clock: FakeTime
) -> None:
    mocked.post(DISPATCH, status=400, payload={"message": "No workers available"}, repeat=True)
    began = clock.now
    with pytest.raises(AgentAtCapacityError):
        await client.runtime.dispatch(agent_id="agent-1", room_id="r-1", wait_for_capacity=5)
    assert clock.now - began <= 5


def ago(seconds: float) -> str:
    """VideoSDK's stamp of ``seconds`` before now (negative: after)."""
    moment = datetime.now(UTC) - timedelta(seconds=seconds)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def test_a_dispatch_answer_without_data_is_a_decode_error_that_is_looked_up(
    client: VideoSDK, mocked: Any
) -> None:
    """A 2xx the SDK cannot read is ambiguous: the room is looked at before concluding."""
    mocked.post(DISPATCH, payload={"message": "ok"})
    found = {**listed("s-1", room="r-1"), "start": ago(-1)}
    mocked.get(DEPLOYMENT_SESSIONS, payload={"sessions": [found]})
    holds = HoldRecorder(client)
    dispatch = await client.runtime.dispatch(
        agent_id="agent-1", room_id="r-1", deployment_id="dep-1"
    )
    assert dispatch.session_id == "s-1"
    assert dispatch.room_id == dispatch.id == "r-1"
    assert dispatch.status is SessionStatus.RUNNING
    assert dispatch.deployment_id == "dep-1"
    assert holds.managed == {"r-1": False}
    lookup = sent(mocked, "GET")[0][2]["params"]
    assert lookup["roomId"] == "r-1"
    assert lookup["agentId"] == "agent-1"
    assert lookup["sort"] == "-1"


@pytest.mark.parametrize(
    ("started", "ended", "other", "ours"),
    [
        (-2, None, {}, True),  # began after the attempt
        (-2, -3, {}, True),  # and already ended: still ours
        (120, None, {}, True),  # running, within the skew allowance
        (120, 60, {}, False),  # ended, began before the attempt
        (900, None, {}, False),  # running since long before
        (-2, None, {"agentId": "someone-else"}, False),
        (-2, None, {"roomId": "other-room"}, False),  # the listing ignored the filter
    ],
)
async def test_in_a_room_the_caller_named_only_a_session_of_the_attempt_is_ours(
    client: VideoSDK,
    mocked: Any,
    started: float,
    ended: float | None,
    other: dict[str, Any],
    ours: bool,
) -> None:
    """After a 5xx: a session there is the dispatch's (returned); none there proves the
    dispatch made nothing (sent again). Times are seconds before now (negative: after)."""
    session = {"start": ago(started), "end": None if ended is None else ago(ended), **other}
    mocked.post(DISPATCH, status=500, payload={"message": "Internal server error"})
    mocked.get(
        DEPLOYMENT_SESSIONS, payload={"sessions": [{**listed("s-1", room="r-1"), **session}]}
    )
    mocked.post(DISPATCH, payload=dispatched("r-1"))
    dispatch = await client.runtime.dispatch(
        agent_id="agent-1", room_id="r-1", deployment_id="dep-1"
    )
    dispatches = [url for method, url, _ in sent(mocked) if method == "POST"]
    assert dispatches == [DISPATCH] * (1 if ours else 2)
    assert dispatch.session_id == ("s-1" if ours else None)


async def test_in_a_room_the_dispatch_made_any_session_of_the_agent_is_ours(
    client: VideoSDK, mocked: Any
) -> None:
    """A new room was known to no one else: however VideoSDK's clock runs, it is ours."""
    mocked.post(ROOMS, payload=ROOM)
    mocked.post(DISPATCH, status=500, payload={"message": "Internal server error"})
    old = {**listed("s-1"), "start": "2001-01-01T00:00:00.000Z"}
    mocked.get(DEPLOYMENT_SESSIONS, payload={"sessions": [old]})
    dispatch = await client.runtime.dispatch(agent_id="agent-1", deployment_id="dep-1")
    assert dispatch.session_id == "s-1"
    assert len([1 for method, _, _ in sent(mocked) if method == "POST"]) == 2  # room, dispatch


async def test_without_a_deployment_every_deployment_of_the_agent_is_looked_in(
    client: VideoSDK, mocked: Any
) -> None:
    mocked.post(DISPATCH, status=500, payload={"message": "Internal server error"})
    mocked.get(
        DEPLOYMENTS,
        payload={"deployments": [DEPLOYMENT, {**DEPLOYMENT, "id": "dep-2"}]},
    )
    mocked.get(DEPLOYMENT_SESSIONS, payload={"sessions": []})
    mocked.get(
        listing("/ai/v1/cloud/deployments/dep-2/sessions"),
        payload={"sessions": [{**listed("s-2", room="r-1"), "start": ago(-1)}]},
    )
    dispatch = await client.runtime.dispatch(agent_id="agent-1", room_id="r-1")
    assert (dispatch.session_id, dispatch.deployment_id) == ("s-2", "dep-2")
    assert sent(mocked, "GET")[0][2]["params"]["agentId"] == "agent-1"


async def test_an_agent_without_deployments_cannot_be_looked_up(
    client: VideoSDK, mocked: Any
) -> None:
    mocked.post(DISPATCH, status=500, payload={"message": "Internal server error"})
    mocked.get(DEPLOYMENTS, payload={"deployments": []})
    with pytest.raises(StartOutcomeUnknownError) as caught:
        await client.runtime.dispatch(agent_id="self-hosted", room_id="r-1")
    assert "deployment_id" in str(caught.value)
    assert caught.value.marker == "r-1"
    assert len([1 for method, _, _ in sent(mocked) if method == "POST"]) == 1


async def test_reconcile_false_never_looks(client: VideoSDK, mocked: Any) -> None:
    mocked.post(DISPATCH, status=500, payload={"message": "Internal server error"})
    with pytest.raises(StartOutcomeUnknownError) as caught:
        await client.runtime.dispatch(agent_id="agent-1", room_id="r-1", reconcile=False)
    assert caught.value.marker is None
    assert "room r-1" in str(caught.value)
    assert [method for method, _, _ in sent(mocked)] == ["POST"]


# ---- runtime sessions


async def test_listed_sessions_parse_with_status_from_end(client: VideoSDK, mocked: Any) -> None:
    mocked.get(
        DEPLOYMENT_SESSIONS,
        payload={
            "sessions": [
                listed("s-1"),
                listed("s-2", end="2025-06-18T12:00:42.500Z"),
                {**listed("s-3"), "status": "ongoing"},
                {**listed("s-4", end="2025-06-18T12:01:00.000Z"), "status": "teleported"},
                {**listed("s-5"), "agentId": "agent-1", "deploymentId": "dep-9", "extra": 1},
            ]
        },
    )
    running, ended, ongoing, odd, rich = await client.runtime.sessions.list("dep-1").collect()
    assert isinstance(running, RuntimeSession)
    assert (running.id, running.room_id, running.version_id) == ("s-1", "abcd-efgh-ijkl", "ver-1")
    assert running.provider == "videosdk"
    assert running.status is SessionStatus.RUNNING
    assert running.started_at == utc("2025-06-18T12:00:00Z")
    assert running.ended_at is None
    assert running.duration is None
    assert running.deployment_id == "dep-1"  # the listing it came from
    assert running.metadata is None  # the listing carries none: unknown
    assert ended.status is SessionStatus.ENDED
    assert ended.duration == 42.5
    assert ongoing.status is SessionStatus.RUNNING
    assert ongoing.raw_status == "ongoing"
    assert odd.status is SessionStatus.ENDED  # an unknown word; its end still tells
    assert odd.raw_status == "teleported"
    assert (rich.agent_id, rich.deployment_id) == ("agent-1", "dep-9")
    assert rich.raw["extra"] == 1


async def test_list_sends_its_filters(client: VideoSDK, mocked: Any) -> None:
    mocked.get(DEPLOYMENT_SESSIONS, payload={"sessions": []})
    await client.runtime.sessions.list(
        "dep-1",
        agent_id="a",
        version_id="v",
        room_id="r",
        session_id="s",
        order="asc",
        per_page=25,
    ).collect()
    ((_, _, kwargs),) = sent(mocked)
    assert kwargs["params"] == {
        "agentId": "a",
        "versionId": "v",
        "roomId": "r",
        "sessionId": "s",
        "sort": "1",
        "page": "1",
        "perPage": "25",
    }


def _pages(envelope: str | None, counts: list[int], per_page: int) -> list[dict[str, Any]]:
    total = sum(counts)
    pages = []
    number = 0
    for page, count in enumerate(counts, start=1):
        items = [listed(f"s-{number + i}", room=f"r-{number + i}") for i in range(count)]
        number += count
        answer: dict[str, Any] = {"sessions": items}
        if envelope == "pageInfo":
            answer["pageInfo"] = {"currentPage": page, "perPage": per_page, "total": total}
        elif envelope == "pagination":
            answer["pagination"] = {"page": page, "perPage": per_page, "total": total}
        elif envelope == "pageInfo without a total":
            answer["pageInfo"] = {"currentPage": page, "perPage": per_page}
        pages.append(answer)
    return pages


@pytest.mark.parametrize(
    ("envelope", "counts", "requests"),
    [
        ("pageInfo", [2, 2, 1], 3),
        ("pagination", [2, 2, 1], 3),
        ("pageInfo", [2, 2], 2),  # the count says where the end is
        (None, [2, 2, 1], 3),  # no count: a short page ends it
        (None, [2, 2, 0], 3),  # no count, full last page: an empty one ends it
        ("pageInfo without a total", [2, 2, 0], 3),
    ],
)
async def test_listings_walk_both_envelopes_and_never_stop_early(
    client: VideoSDK, mocked: Any, envelope: str | None, counts: list[int], requests: int
) -> None:
    for answer in _pages(envelope, counts, per_page=2):
        mocked.get(DEPLOYMENT_SESSIONS, payload=answer)
    sessions = await client.runtime.sessions.list("dep-1", per_page=2).collect()
    assert [s.id for s in sessions] == [f"s-{i}" for i in range(sum(counts))]
    pages = [kwargs["params"]["page"] for _, _, kwargs in sent(mocked)]
    assert pages == [str(page) for page in range(1, requests + 1)]


async def test_get_reads_the_listing_filtered_by_the_session(client: VideoSDK, mocked: Any) -> None:
    # A listing that ignores the filter still does not fool get: it looks for the id.
    mocked.get(DEPLOYMENT_SESSIONS, payload={"sessions": [listed("other"), listed("s-1")]})
    session = await client.runtime.sessions.get("dep-1", "s-1")
    assert session.id == "s-1"
    assert sent(mocked)[0][2]["params"]["sessionId"] == "s-1"
    mocked.get(DEPLOYMENT_SESSIONS, payload={"sessions": [listed("other")]})
    with pytest.raises(NotFoundError) as caught:
        await client.runtime.sessions.get("dep-1", "s-1")
    assert caught.value.attempts == 1
    assert "s-1" in str(caught.value)


@pytest.mark.parametrize(
    ("kwargs", "body"),
    [
        ({"room_id": "r-1"}, {"roomId": "r-1"}),
        ({"room_id": "r-1", "session_id": "s-1"}, {"roomId": "r-1", "sessionId": "s-1"}),
        ({"room_id": "r-1", "force": True}, {"roomId": "r-1", "vsdkForceKill": True}),
    ],
)
async def test_end_sends_the_room_and_reads_the_room_session(
    client: VideoSDK, mocked: Any, kwargs: dict[str, Any], body: dict[str, Any]
) -> None:
    answer = {
        "id": "s-1",
        "meetingId": "r-1",
        "start": "2025-06-18T12:00:00.000Z",
        "end": "2025-06-18T12:00:30.000Z",
        "participants": [{"participantId": "agent-1", "timelog": []}],
        "links": {},
    }
    mocked.post(END, payload=answer)
    session = await client.runtime.sessions.end(**kwargs)
    ((_, url, sent_kwargs),) = sent(mocked)
    assert url == END
    assert body_of(sent_kwargs) == body
    assert (session.id, session.room_id) == ("s-1", "r-1")
    assert session.status is SessionStatus.ENDED  # no status: derived from the end
    assert session.duration == 30.0
    assert session.raw["participants"][0]["participantId"] == "agent-1"


async def test_ending_the_room_releases_the_dispatch_held_there(
    clock: FakeTime, mocked: Any
) -> None:
    mocked.post(DISPATCH, payload=dispatched("r-1"), repeat=True)
    mocked.post(END, payload={"id": "s-1", "roomId": "r-1", "end": None}, repeat=True)
    # end_on_close: the client keeps every dispatch it made until it is ended.
    async with VideoSDK(API_KEY, SECRET, retry=clock.policy(), end_on_close=True) as client:
        await client.runtime.dispatch(agent_id="agent-1", room_id="r-1")
        await client.runtime.sessions.end(room_id="r-1", session_id="s-1")
        assert "r-1" in client._held  # one session of the room: the dispatch may be another
        await client.runtime.sessions.end(room_id="r-1")
        assert "r-1" not in client._held


async def test_a_client_closed_with_end_on_close_ends_dispatched_rooms(
    clock: FakeTime, mocked: Any
) -> None:
    mocked.post(DISPATCH, payload=dispatched("r-1"))
    mocked.post(END, payload={"id": "s-1", "roomId": "r-1", "end": "2025-06-18T12:00:01Z"})
    async with VideoSDK(API_KEY, SECRET, retry=clock.policy(), end_on_close=True) as vs:
        await vs.runtime.dispatch(agent_id="agent-1", room_id="r-1")
    assert [url for _, url, _ in sent(mocked)] == [DISPATCH, END]
    assert body_of(sent(mocked)[1][2]) == {"roomId": "r-1"}


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"room_id": ""}, "room_id"),
        ({"room_id": "a/b"}, "room_id"),
        ({"room_id": "r", "session_id": "x?y"}, "session_id"),
        ({"room_id": "r", "force": "yes"}, "force"),
    ],
)
async def test_bad_end_input_is_rejected_before_sending(
    client: VideoSDK, mocked: Any, kwargs: dict[str, Any], argument: str
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        await client.runtime.sessions.end(**kwargs)
    assert caught.value.argument == argument
    assert sent(mocked) == []


async def test_wait_takes_a_session_or_a_room_not_both(client: VideoSDK) -> None:
    for kwargs in ({}, {"session_id": "s", "room_id": "r"}):
        with pytest.raises(InvalidRequestError) as caught:
            await client.runtime.sessions.wait("dep-1", **kwargs)
        assert caught.value.argument == "session_id"


async def test_find_polls_until_the_room_has_a_session(
    client: VideoSDK, mocked: Any, clock: FakeTime
) -> None:
    mocked.get(DEPLOYMENT_SESSIONS, payload={"sessions": []})
    mocked.get(DEPLOYMENT_SESSIONS, payload={"sessions": [listed("elsewhere", room="r-2")]})
    mocked.get(DEPLOYMENT_SESSIONS, payload={"sessions": [listed("s-1", room="r-1")]})
    found = await client.runtime.sessions.find("dep-1", room_id="r-1", timeout=30)
    assert found.id == "s-1"
    assert len(sent(mocked)) == 3
    assert clock.sleeps == [0.5, 0.75]


async def test_find_gives_up_at_its_timeout(client: VideoSDK, mocked: Any, clock: FakeTime) -> None:
    mocked.get(DEPLOYMENT_SESSIONS, payload={"sessions": []}, repeat=True)
    began = clock.now
    with pytest.raises(TimeoutError, match="room r-1"):
        await client.runtime.sessions.find("dep-1", room_id="r-1", timeout=5)
    assert clock.now - began <= 5 + 1e-9


# ---- console logs


async def test_logs_send_their_window_and_parse_each_line(client: VideoSDK, mocked: Any) -> None:
    mocked.get(
        LOGS,
        payload={
            "logs": [
                {
                    "log": "Agent joined room r-1",
                    "timestamp": "2025-06-18T12:00:02.000Z",
                    "level": "info",
                    "metadata": {"sessionId": "s-1", "roomId": "r-1"},
                },
                {"log": "a line", "timestamp": 1750248000123},
                {"log": {"event": "tool", "ok": True}, "timestamp": None},
            ]
        },
    )
    since = datetime(2025, 6, 18, 11, 0, tzinfo=UTC)
    lines = await client.runtime.logs(
        "dep-1",
        session_id="s-9",
        room_id="r-1",
        agent_id="a",
        version_id="v",
        user_id="u",
        since=since,
        until=since + timedelta(hours=1, microseconds=1500),
        order="desc",
    ).collect()
    ((_, _, kwargs),) = sent(mocked)
    assert kwargs["params"] == {
        "agentId": "a",
        "versionId": "v",
        "sessionId": "s-9",
        "userId": "u",
        "roomId": "r-1",
        "start": "2025-06-18T11:00:00.000Z",
        "end": "2025-06-18T12:00:00.001Z",
        "sort": "-1",
        "page": "1",
        "perPage": "100",
    }
    joined, plain, structured = lines
    assert joined.message == "Agent joined room r-1"
    assert joined.timestamp == utc("2025-06-18T12:00:02Z")
    assert (joined.level, joined.session_id, joined.deployment_id) == ("info", "s-1", "dep-1")
    assert plain.timestamp == datetime(2025, 6, 18, 12, 0, 0, 123000, tzinfo=UTC)  # epoch ms
    assert plain.session_id == "s-9"  # the filter's: every line listed is that session's
    assert plain.level is None
    assert json.loads(structured.message) == {"event": "tool", "ok": True}
    assert structured.timestamp is None


@pytest.mark.parametrize(
    "item", [{"timestamp": "2025-06-18T12:00:00Z"}, {"log": "x", "timestamp": "yesterday"}, "text"]
)
async def test_a_log_line_that_cannot_be_read_is_a_decode_error(
    client: VideoSDK, mocked: Any, item: Any
) -> None:
    mocked.get(LOGS, payload={"logs": [item]})
    with pytest.raises(ResponseDecodeError):
        await client.runtime.logs("dep-1").collect()


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"since": datetime(2025, 1, 1)}, "since"),  # naive: ambiguous
        (
            {
                "since": datetime(2025, 1, 2, tzinfo=UTC),
                "until": datetime(2025, 1, 1, tzinfo=UTC),
            },
            "until",
        ),
        ({"order": "newest"}, "order"),
        ({"session_id": ""}, "session_id"),
    ],
)
def test_bad_log_queries_are_rejected(
    client: VideoSDK, kwargs: dict[str, Any], argument: str
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        client.runtime.logs("dep-1", **kwargs)
    assert caught.value.argument == argument


# ---- deployments and versions


VERSION = {
    "id": "ver-2",
    "agentId": "agent-1",
    "deploymentId": "dep-1",
    "name": "v2",
    "versionTag": "prod",
    "region": "us002",
    "profile": "cpu-small",
    "minReplica": 0,
    "maxReplica": 5,
    "image": {"imageUrl": "ghcr.io/acme/bot:2", "imageCR": "ghcr.io", "imageType": "public"},
    "active": True,
    "status": "active",
    "schedule": None,
    "createdAt": "2025-06-18T12:00:00.000Z",
}


@pytest.mark.parametrize(
    ("image", "sent_image"),
    [
        (
            "ghcr.io/acme/bot:2",
            {"imageUrl": "ghcr.io/acme/bot:2", "imageCR": "ghcr.io", "imageType": "public"},
        ),
        (
            "localhost:5000/bot",
            {"imageUrl": "localhost:5000/bot", "imageCR": "localhost:5000", "imageType": "public"},
        ),
        ("acme/bot", {"imageUrl": "acme/bot", "imageCR": "docker.io", "imageType": "public"}),
        ("bot", {"imageUrl": "bot", "imageCR": "docker.io", "imageType": "public"}),
        (
            {"imageUrl": "reg.example.com/bot", "imagePullSecret": "pull-1"},
            {
                "imageUrl": "reg.example.com/bot",
                "imagePullSecret": "pull-1",
                "imageCR": "reg.example.com",
                "imageType": "private",
            },
        ),
        (
            {"imageUrl": "x", "imageCR": "mine", "imageType": "managed"},
            {"imageUrl": "x", "imageCR": "mine", "imageType": "managed"},
        ),
    ],
)
async def test_versions_create_completes_the_image_as_the_node_sdk_does(
    client: VideoSDK, mocked: Any, image: Any, sent_image: dict[str, Any]
) -> None:
    mocked.post(f"{CLOUD}/versions", payload=VERSION)
    version = await client.runtime.versions.create(
        deployment_id="dep-1", agent_id="agent-1", image=image
    )
    assert body_of(sent(mocked)[0][2]) == {
        "agentId": "agent-1",
        "deploymentId": "dep-1",
        "image": sent_image,
    }
    assert version.id == "ver-2"
    assert (version.min_replicas, version.max_replicas, version.active) == (0, 5, True)
    assert version.image == VERSION["image"]
    assert version.created_at == utc("2025-06-18T12:00:00Z")


async def test_versions_create_sends_every_setting(client: VideoSDK, mocked: Any) -> None:
    mocked.post(f"{CLOUD}/versions", payload=VERSION)
    await client.runtime.versions.create(
        deployment_id="dep-1",
        agent_id="agent-1",
        image="ghcr.io/acme/bot:2",
        name="v2",
        min_replicas=1,
        max_replicas=50,
        profile="cpu-large",
        region="us002",
        version_tag="prod",
        env_secret="sec-1",
        build_id="b-1",
        schedule={"timezone": "UTC", "windows": []},
        webhook="https://example.com/hook",
    )
    body = body_of(sent(mocked)[0][2])
    assert {key: body[key] for key in body if key != "image"} == {
        "agentId": "agent-1",
        "deploymentId": "dep-1",
        "name": "v2",
        "minReplica": 1,
        "maxReplica": 50,
        "profile": "cpu-large",
        "region": "us002",
        "versionTag": "prod",
        "envSecret": "sec-1",
        "buildId": "b-1",
        "schedule": {"timezone": "UTC", "windows": []},
        "webhook": {
            "endPoint": "https://example.com/hook",
            "events": [
                "agent-session-starting",
                "agent-session-started",
                "agent-session-stopping",
                "agent-session-stopped",
                "agent-session-failed",
            ],
        },
    }


async def test_a_webhook_with_its_default_events_subscribes_every_runtime_event(
    client: VideoSDK, mocked: Any
) -> None:
    mocked.post(f"{CLOUD}/versions", payload=VERSION, repeat=True)
    for webhook in ("https://example.com/hook", Webhook("https://example.com/hook")):
        await client.runtime.versions.create(
            deployment_id="dep-1", agent_id="agent-1", image="bot", webhook=webhook
        )
    first, second = (body_of(call[2])["webhook"] for call in sent(mocked))
    assert first == second
    assert first["events"] == list(RUNTIME_WEBHOOK_EVENTS)


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"max_replicas": 51}, "max_replicas"),
        ({"min_replicas": -1}, "min_replicas"),
        ({"min_replicas": 3, "max_replicas": 2}, "max_replicas"),
        ({"max_replicas": True}, "max_replicas"),
        ({"profile": "gpu-huge"}, "profile"),
        ({"image": ""}, "image"),
        ({"image": {"imageCR": "x"}}, "image"),
        ({"image": {"imageUrl": "x", "imageType": "secret"}}, "image.imageType"),
        ({"image": 3}, "image"),
        (
            {"webhook": Webhook("https://x.example", events=["ai-deployment-session-started"])},
            "webhook.events",
        ),
        ({"webhook": Webhook("https://x.example", events=[])}, "webhook.events"),
        ({"schedule": {"at": float("nan")}}, "schedule"),
    ],
)
async def test_bad_version_settings_are_rejected_before_sending(
    client: VideoSDK, mocked: Any, kwargs: dict[str, Any], argument: str
) -> None:
    settings = {"deployment_id": "dep-1", "agent_id": "agent-1", "image": "bot", **kwargs}
    with pytest.raises(InvalidRequestError) as caught:
        await client.runtime.versions.create(**settings)
    assert caught.value.argument == argument
    assert sent(mocked) == []


async def test_version_update_reads_the_version_back_after_a_message(
    client: VideoSDK, mocked: Any
) -> None:
    mocked.put(f"{CLOUD}/versions/ver-2", payload={"message": "Version updated successfully"})
    mocked.get(f"{CLOUD}/versions/ver-2", payload=VERSION)
    version = await client.runtime.versions.update("ver-2", max_replicas=5, profile="cpu-small")
    calls = sent(mocked)
    assert [(m, u) for m, u, _ in calls] == [
        ("PUT", f"{CLOUD}/versions/ver-2"),
        ("GET", f"{CLOUD}/versions/ver-2"),
    ]
    assert body_of(calls[0][2]) == {"maxReplica": 5, "profile": "cpu-small"}
    assert version.max_replicas == 5
    mocked.put(f"{CLOUD}/versions/ver-2", payload={"message": "ok", "data": VERSION})
    assert (await client.runtime.versions.update("ver-2", name="v2")).id == "ver-2"
    assert len(sent(mocked)) == 3  # the answer carried the version: nothing read back
    with pytest.raises(InvalidRequestError) as caught:
        await client.runtime.versions.update("ver-2")
    assert caught.value.argument == "fields"


async def test_activation_bodies(client: VideoSDK, mocked: Any) -> None:
    path = f"{CLOUD}/versions/ver-2/activate"
    mocked.put(path, payload={"message": "ok"}, repeat=True)
    mocked.delete(f"{CLOUD}/versions/ver-2/schedule", payload={"message": "ok"})
    await client.runtime.versions.activate("ver-2")
    await client.runtime.versions.deactivate("ver-2")
    await client.runtime.versions.deactivate("ver-2", force=True)
    await client.runtime.versions.clear_schedule("ver-2")
    calls = sent(mocked)
    assert [body_of(kwargs) for _, url, kwargs in calls if url == path] == [
        {"activate": True},
        {"activate": False},
        {"activate": False, "force": True},
    ]
    assert calls[-1][0] == "DELETE"


async def test_versions_list_and_latest(client: VideoSDK, mocked: Any) -> None:
    mocked.get(VERSIONS, payload={"versions": [VERSION], "pageInfo": {"total": 1}})
    mocked.get(f"{CLOUD}/deployments/dep-1/latest", payload=VERSION)
    (listed_version,) = await client.runtime.versions.list(
        deployment_id="dep-1", agent_id="agent-1", order="desc"
    ).collect()
    assert listed_version.version_tag == "prod"
    assert sent(mocked)[0][2]["params"] == {
        "deploymentId": "dep-1",
        "agentId": "agent-1",
        "sort": "-1",
        "page": "1",
        "perPage": "100",
    }
    assert (await client.runtime.deployments.latest("dep-1")).id == "ver-2"


DEPLOYMENT = {
    "id": "dep-1",
    "agentId": "agent-1",
    "name": "bot",
    "template": None,
    "status": "active",
}


async def test_deployments_create_list_get(client: VideoSDK, mocked: Any) -> None:
    mocked.post(f"{CLOUD}/deployments", payload=DEPLOYMENT)
    mocked.get(DEPLOYMENTS, payload={"deployments": [{**DEPLOYMENT, "envSecret": {"id": "s"}}]})
    mocked.get(DEPLOYMENTS, payload={"deployments": [DEPLOYMENT]})
    created = await client.runtime.deployments.create(name="bot", template="voice")
    assert body_of(sent(mocked)[0][2]) == {"name": "bot", "template": "voice"}
    assert (created.id, created.agent_id, created.status) == ("dep-1", "agent-1", "active")
    (listed_deployment,) = await client.runtime.deployments.list(
        agent_id="agent-1", name="^bo", status="active"
    ).collect()
    assert listed_deployment.env_secret == "s"  # an object carrying the id
    assert sent(mocked)[1][2]["params"] == {
        "agentId": "agent-1",
        "name": "^bo",
        "status": "active",
        "page": "1",
        "perPage": "100",
    }
    assert (await client.runtime.deployments.get("dep-1")).name == "bot"
    assert sent(mocked)[2][2]["params"]["deploymentId"] == "dep-1"


async def test_deployment_update_and_delete(client: VideoSDK, mocked: Any) -> None:
    mocked.put(f"{CLOUD}/deployments/dep-1/update", payload={"message": "ok"})
    mocked.get(DEPLOYMENTS, payload={"deployments": [{**DEPLOYMENT, "envSecret": "sec-2"}]})
    mocked.post(f"{CLOUD}/deployments/dep-1/delete", payload={"message": "ok"})
    mocked.post(f"{CLOUD}/deployments/dep-1/delete", payload={"message": "ok"})
    updated = await client.runtime.deployments.update("dep-1", env_secret="sec-2")
    assert updated.env_secret == "sec-2"
    assert body_of(sent(mocked)[0][2]) == {"envSecret": "sec-2"}
    await client.runtime.deployments.delete("dep-1")
    await client.runtime.deployments.delete("dep-1", force=True)
    deletes = [body_of(k) for m, u, k in sent(mocked) if u.endswith("/delete")]
    assert deletes == [{}, {"force": True}]


async def test_a_delete_retried_after_it_took_effect_counts_as_done(
    client: VideoSDK, mocked: Any
) -> None:
    url = f"{CLOUD}/deployments/dep-1/delete"
    mocked.post(url, status=502)
    mocked.post(url, status=404, payload={"message": "Deployment not found"})
    await client.runtime.deployments.delete("dep-1")
    mocked.post(url, status=404, payload={"message": "Deployment not found"})
    with pytest.raises(NotFoundError):  # the first attempt: it was never there
        await client.runtime.deployments.delete("dep-1")


# ---- rooms


async def test_rooms_create_and_when_it_is_retried(client: VideoSDK, mocked: Any) -> None:
    mocked.post(ROOMS, status=500)
    mocked.post(ROOMS, payload={**ROOM, "customRoomId": "mine"})
    room = await client.rooms.create(custom_room_id="mine", auto_close_after=600)
    assert room.room_id == "abcd-efgh-ijkl"
    assert room.custom_room_id == "mine"
    assert room.created_at == utc("2025-06-18T12:00:00Z")
    assert body_of(sent(mocked)[-1][2]) == {
        "customRoomId": "mine",
        "autoCloseConfig": {"type": "session-ends", "duration": 600},
    }
    assert len(sent(mocked)) == 2  # a custom id makes creating it idempotent: retried
    mocked.post(ROOMS, status=500)
    with pytest.raises(ServerError):  # a new room each time: never sent twice
        await client.rooms.create()
    assert len(sent(mocked)) == 3


# ---- webhooks


async def test_agent_session_webhooks_carry_the_room_and_the_session() -> None:
    private, public = rsa_keypair()
    body = json.dumps(
        {
            "webhookType": "agent-session-started",
            "data": {"sessionId": "s-1", "meetingId": "abcd-efgh-ijkl"},
        }
    ).encode()
    event = webhooks.parse(
        "videosdk", body, {"videosdk-signature": rsa_sign(body, private)}, public_key=public
    )
    assert event.type is SessionEventType.STARTED
    assert event.status is SessionStatus.RUNNING
    assert (event.session_id, event.room) == ("s-1", "abcd-efgh-ijkl")
    assert event.name == "agent-session-started"
