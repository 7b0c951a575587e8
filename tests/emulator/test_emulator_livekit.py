"""The emulator's LiveKit: Twirp routing and encodings, tokens and grants, the job
lifecycle, workers and capacity, signed webhooks and faults, over raw HTTP."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import aiohttp
import jwt
import pytest
from livekit.protocol import agent_dispatch as proto_dispatch
from livekit.protocol import room as proto_room

from agentcloud.testing import Emulator, FaultPlan, Lifecycle, ManualClock, Phase

DISPATCH = "/twirp/livekit.AgentDispatchService"
ROOMS = "/twirp/livekit.RoomService"

DISPATCH_KEYS = {
    "id",
    "agent_name",
    "room",
    "metadata",
    "state",
    "restart_policy",
    "deployment",
    "attributes",
}
JOB_KEYS = {
    "id",
    "dispatch_id",
    "type",
    "room",
    "participant",
    "namespace",
    "metadata",
    "agent_name",
    "state",
    "enable_recording",
    "deployment",
    "attributes",
    "enable_redaction",
}
JOB_STATE_KEYS = {
    "status",
    "error",
    "started_at",
    "ended_at",
    "updated_at",
    "participant_identity",
    "worker_id",
    "agent_id",
    "reason",
}


class Twirp:
    """Calls the emulator's Twirp services as JSON, with a token of the grant asked for."""

    def __init__(self, emu: Emulator, http: aiohttp.ClientSession) -> None:
        self.emu = emu
        self.http = http

    async def call(
        self,
        path: str,
        body: Any = None,
        *,
        video: dict[str, Any] | None = None,
        authorization: str | None = None,
        raw: bytes | None = None,
        content_type: str = "application/json",
        method: str = "POST",
    ) -> tuple[int, Any]:
        headers = {"Content-Type": content_type}
        if authorization is not None:
            headers["Authorization"] = authorization
        elif video is not None:
            headers["Authorization"] = f"Bearer {self.emu.livekit_token(video)}"
        data = raw if raw is not None else json.dumps(body if body is not None else {}).encode()
        async with self.http.request(
            method, self.emu.url + path, data=data, headers=headers
        ) as response:
            text = await response.text()
            if response.content_type == "application/json":
                return response.status, json.loads(text)
            return response.status, text

    async def dispatch(self, room: str, agent: str = "my-agent", **fields: Any) -> dict[str, Any]:
        status, body = await self.call(
            f"{DISPATCH}/CreateDispatch",
            {"agent_name": agent, "room": room, **fields},
            video=admin(room),
        )
        assert status == 200, body
        return body  # type: ignore[no-any-return]

    async def listed(self, room: str) -> list[dict[str, Any]]:
        status, body = await self.call(
            f"{DISPATCH}/ListDispatch", {"room": room}, video=admin(room)
        )
        assert status == 200, body
        return body["agent_dispatches"]  # type: ignore[no-any-return]


def admin(room: str) -> dict[str, Any]:
    return {"roomAdmin": True, "room": room}


@pytest.fixture
def twirp(emu: Emulator, http: aiohttp.ClientSession) -> Twirp:
    return Twirp(emu, http)


# ---- the world's names --------------------------------------------------------------


async def test_its_names_and_environment(emu: Emulator) -> None:
    assert emu.livekit_agent_name == "my-agent"
    assert emu.livekit_worker(emu.livekit_worker_id).agent_name == "my-agent"
    assert emu.environment()["LIVEKIT_URL"] == emu.url
    assert emu.environment()["LIVEKIT_API_KEY"] == emu.livekit_api_key
    assert emu.environment()["LIVEKIT_API_SECRET"] == emu.livekit_api_secret
    async with emu.livekit() as client:
        assert client.base_url == emu.url
    async with Emulator(livekit_api_key="APIgiven", livekit_api_secret="s" * 32) as other:
        assert (other.livekit_api_key, other.livekit_api_secret) == ("APIgiven", "s" * 32)


# ---- answers: proto names, every field ----------------------------------------------


async def test_a_dispatch_answers_in_proto_names_with_every_field(
    emu: Emulator, twirp: Twirp, clock: ManualClock
) -> None:
    created = await twirp.dispatch("call-42", metadata='{"user": "42"}', attributes={"k": "v"})
    assert set(created) == DISPATCH_KEYS
    assert created["id"].startswith("AD_")
    assert created["state"] == {
        "jobs": [],  # the create answer comes before the job is launched
        "created_at": str(round(clock.now() * 1e9)),
        "deleted_at": "0",
    }
    assert (created["restart_policy"], created["deployment"]) == ("JRP_ON_FAILURE", "")
    [listed] = await twirp.listed("call-42")
    [job] = listed["state"]["jobs"]
    assert set(job) == JOB_KEYS
    assert set(job["state"]) == JOB_STATE_KEYS
    assert job["id"].startswith("AJ_")
    assert (job["dispatch_id"], job["type"], job["participant"]) == (created["id"], "JT_ROOM", None)
    assert job["room"]["name"] == "call-42"
    assert job["room"]["creation_time"] == str(int(clock.now()))
    assert job["state"]["status"] == "JS_PENDING"
    assert job["state"]["started_at"] == "0"
    assert job["state"]["worker_id"] == emu.livekit_worker_id
    assert (job["metadata"], job["attributes"]) == ('{"user": "42"}', {"k": "v"})


async def test_requests_take_lower_camel_names_and_drop_unknown_keys(twirp: Twirp) -> None:
    created = await twirp.dispatch("r", metadata="m", restartPolicy="JRP_NEVER", colour="red")
    assert created["restart_policy"] == "JRP_NEVER"
    status, body = await twirp.call(
        f"{DISPATCH}/CreateDispatch",
        {"agentName": "my-agent", "room": "r", "restartPolicy": 1},
        video=admin("r"),
    )
    assert (status, body["agent_name"], body["restart_policy"]) == (200, "my-agent", "JRP_NEVER")


@pytest.mark.parametrize(
    "raw",
    [b'{"room": 5, "agent_name": "a"}', b"{", b"[]", b"", b'{"room": "r", "attributes": [1]}'],
)
async def test_an_unreadable_request_is_malformed(twirp: Twirp, raw: bytes) -> None:
    status, body = await twirp.call(f"{DISPATCH}/CreateDispatch", raw=raw, video=admin("r"))
    assert (status, body) == (
        400,
        {"code": "malformed", "msg": "the json request could not be decoded"},
    )


async def test_protobuf_requests_get_protobuf_answers(emu: Emulator, twirp: Twirp) -> None:
    request = proto_dispatch.CreateAgentDispatchRequest(agent_name="my-agent", room="pb")
    async with twirp.http.post(
        emu.url + f"{DISPATCH}/CreateDispatch",
        data=request.SerializeToString(),
        headers={
            "Content-Type": "application/protobuf",
            "Authorization": f"Bearer {emu.livekit_token(admin('pb'))}",
        },
    ) as response:
        assert response.content_type == "application/protobuf"
        answer = proto_dispatch.AgentDispatch.FromString(await response.read())
    assert (answer.room, answer.agent_name) == ("pb", "my-agent")
    assert answer.id in emu.worlds["livekit"].sessions


# ---- routing ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "content_type", "message"),
    [
        ("GET", f"{ROOMS}/ListRooms", "application/json", 'unsupported method "GET"'),
        ("POST", f"{ROOMS}/Explode", "application/json", "no handler for path"),
        ("POST", "/twirp/livekit.Nope/ListRooms", "application/json", "no handler for path"),
        ("POST", f"{ROOMS}/ListRooms", "text/plain", "unexpected Content-Type"),
    ],
)
async def test_bad_routes_are_twirp_bad_route(
    twirp: Twirp, method: str, path: str, content_type: str, message: str
) -> None:
    status, body = await twirp.call(
        path, {}, video={"roomList": True}, method=method, content_type=content_type
    )
    assert status == 404
    assert body["code"] == "bad_route"
    assert message in body["msg"]
    assert body["meta"] == {"twirp_invalid_route": f"{method} {path}"}


# ---- tokens and grants --------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "video"),
    [
        (f"{ROOMS}/ListRooms", {}, None),
        (f"{ROOMS}/ListRooms", {}, {"roomCreate": True}),
        (f"{ROOMS}/CreateRoom", {"name": "r"}, {"roomList": True}),
        (f"{ROOMS}/DeleteRoom", {"room": "r"}, admin("r")),
        (f"{DISPATCH}/CreateDispatch", {"agent_name": "a", "room": "r"}, admin("other")),
        (f"{DISPATCH}/ListDispatch", {"room": "r"}, {"roomAdmin": True}),
        (f"{DISPATCH}/ListDispatch", {"room": "r"}, {"room": "r"}),
    ],
)
async def test_a_missing_grant_is_unauthenticated(
    twirp: Twirp, path: str, body: dict[str, Any], video: dict[str, Any] | None
) -> None:
    status, answer = await twirp.call(path, body, video=video)
    assert (status, answer) == (401, {"code": "unauthenticated", "msg": "permissions denied"})


async def test_a_bad_token_is_a_plain_text_401_that_quotes_it(emu: Emulator, twirp: Twirp) -> None:
    forged = emu.livekit_token(
        {"roomList": True}, api_secret="not-the-secret-but-long-enough-0123456789"
    )
    status, text = await twirp.call(f"{ROOMS}/ListRooms", authorization=f"Bearer {forged}")
    assert status == 401
    assert text.startswith(f"invalid token: {forged}, error: ")
    status, text = await twirp.call(
        f"{ROOMS}/ListRooms",
        authorization=f"Bearer {emu.livekit_token({'roomList': True}, api_key='APIother')}",
    )
    assert (status, text) == (401, "invalid API key: APIother")
    status, text = await twirp.call(f"{ROOMS}/ListRooms", authorization="Token abc")
    assert (status, text) == (401, "invalid authorization header. Must start with Bearer ")
    expired = emu.livekit_token({"roomList": True}, ttl=-120)
    status, text = await twirp.call(f"{ROOMS}/ListRooms", authorization=f"Bearer {expired}")
    assert status == 401
    assert "expired" in text


# ---- rooms --------------------------------------------------------------------------


async def test_rooms_are_created_once_listed_and_deleted(twirp: Twirp) -> None:
    create = f"{ROOMS}/CreateRoom"
    status, room = await twirp.call(
        create, {"name": "r", "maxParticipants": 3, "metadata": "m"}, video={"roomCreate": True}
    )
    assert status == 200
    assert room["sid"].startswith("RM_")
    assert (room["max_participants"], room["metadata"], room["num_participants"]) == (3, "m", 0)
    _, again = await twirp.call(create, {"name": "r"}, video={"roomCreate": True})
    assert again == room  # CreateRoom of an existing room returns it
    await twirp.call(create, {"name": "s"}, video={"roomCreate": True})
    _, listed = await twirp.call(f"{ROOMS}/ListRooms", {}, video={"roomList": True})
    assert [found["name"] for found in listed["rooms"]] == ["r", "s"]
    _, only = await twirp.call(f"{ROOMS}/ListRooms", {"names": ["s"]}, video={"roomList": True})
    assert [found["name"] for found in only["rooms"]] == ["s"]
    status, deleted = await twirp.call(
        f"{ROOMS}/DeleteRoom", {"room": "r"}, video={"roomCreate": True}
    )
    assert (status, deleted) == (200, {})
    status, missing = await twirp.call(
        f"{ROOMS}/DeleteRoom", {"room": "r"}, video={"roomCreate": True}
    )
    assert (status, missing["code"]) == (404, "not_found")


async def test_create_room_with_agents_dispatches_them(emu: Emulator, twirp: Twirp) -> None:
    status, _ = await twirp.call(
        f"{ROOMS}/CreateRoom",
        {"name": "r", "agents": [{"agentName": "my-agent", "metadata": "x"}]},
        video={"roomCreate": True},
    )
    assert status == 200
    [dispatch] = await twirp.listed("r")
    assert (dispatch["agent_name"], dispatch["metadata"]) == ("my-agent", "x")


# ---- the job lifecycle --------------------------------------------------------------


async def test_jobs_go_pending_running_success_on_the_clock(
    emu: Emulator, twirp: Twirp, clock: ManualClock
) -> None:
    created = await twirp.dispatch("r")

    async def state() -> dict[str, Any]:
        [listed] = await twirp.listed("r")
        return listed["state"]["jobs"][0]["state"]  # type: ignore[no-any-return]

    assert (await state())["status"] == "JS_PENDING"
    clock.advance(2.0)
    running = await state()
    assert running["status"] == "JS_RUNNING"
    assert running["started_at"] == str(round(clock.now() * 1e9))
    assert running["participant_identity"].startswith("agent-AJ_")
    _, rooms = await twirp.call(f"{ROOMS}/ListRooms", {}, video={"roomList": True})
    assert rooms["rooms"][0]["num_participants"] == 1
    clock.advance(60.0)
    done = await state()
    assert (done["status"], done["ended_at"]) == ("JS_SUCCESS", str(round(clock.now() * 1e9)))
    assert emu.session_phase("livekit", created["id"]) is Phase.COMPLETED


async def test_deleting_a_dispatch_cancels_its_job_and_forgets_it(
    emu: Emulator, twirp: Twirp, clock: ManualClock
) -> None:
    created = await twirp.dispatch("r")
    clock.advance(2.0)
    status, deleted = await twirp.call(
        f"{DISPATCH}/DeleteDispatch", {"dispatch_id": created["id"], "room": "r"}, video=admin("r")
    )
    assert status == 200
    assert deleted["state"]["deleted_at"] == str(round(clock.now() * 1e9))
    job_state = deleted["state"]["jobs"][0]["state"]
    assert (job_state["status"], job_state["reason"]) == ("JS_CANCELLED", "JSR_DISPATCH_DELETED")
    assert await twirp.listed("r") == []
    status, again = await twirp.call(
        f"{DISPATCH}/DeleteDispatch", {"dispatch_id": created["id"], "room": "r"}, video=admin("r")
    )
    assert (status, again) == (404, {"code": "not_found", "msg": "dispatch ID not found"})


async def test_deleting_the_room_closes_its_dispatches(emu: Emulator, twirp: Twirp) -> None:
    created = await twirp.dispatch("r")
    await twirp.call(f"{ROOMS}/DeleteRoom", {"room": "r"}, video={"roomCreate": True})
    status, body = await twirp.call(f"{DISPATCH}/ListDispatch", {"room": "r"}, video=admin("r"))
    assert (status, body) == (404, {"code": "not_found", "msg": "requested room does not exist"})
    record = emu.livekit_dispatch(created["id"])
    assert record.job is not None
    assert (record.job_status(), record.job.reason) == ("JS_CANCELLED", "JSR_ROOM_CLOSED")


async def test_a_listing_by_dispatch_id_finds_it_or_nothing(twirp: Twirp) -> None:
    first = await twirp.dispatch("r")
    await twirp.dispatch("r")
    _, one = await twirp.call(
        f"{DISPATCH}/ListDispatch", {"room": "r", "dispatchId": first["id"]}, video=admin("r")
    )
    assert [found["id"] for found in one["agent_dispatches"]] == [first["id"]]
    _, none = await twirp.call(
        f"{DISPATCH}/ListDispatch", {"room": "r", "dispatch_id": "AD_nope"}, video=admin("r")
    )
    assert none == {"agent_dispatches": []}


async def test_no_worker_means_no_job_until_one_registers(
    emu: Emulator, twirp: Twirp, clock: ManualClock
) -> None:
    created = await twirp.dispatch("r", agent="nobody")
    clock.advance(30.0)
    [listed] = await twirp.listed("r")
    assert listed["state"]["jobs"] == []
    assert emu.session_phase("livekit", created["id"]) is Phase.QUEUED
    worker = emu.add_livekit_worker("nobody", lifecycle=Lifecycle(start_delay=1.0))
    [listed] = await twirp.listed("r")
    assert listed["state"]["jobs"][0]["state"]["worker_id"] == worker.id
    clock.advance(1.0)
    [listed] = await twirp.listed("r")
    assert listed["state"]["jobs"][0]["state"]["status"] == "JS_RUNNING"


async def test_a_full_worker_fails_the_job_with_no_capacity(twirp: Twirp) -> None:
    async with Emulator(clock=ManualClock(), livekit_worker_capacity=1) as emu:
        small = Twirp(emu, twirp.http)
        await small.dispatch("r")
        await small.dispatch("r")
        first, second = await small.listed("r")
        assert first["state"]["jobs"][0]["state"]["status"] == "JS_PENDING"
        state = second["state"]["jobs"][0]["state"]
        assert (state["status"], state["reason"], state["worker_id"]) == (
            "JS_FAILED",
            "JSR_NO_CAPACITY",
            "",
        )
        assert state["error"]


async def test_failing_workers_and_jobs_ended_on_request(
    emu: Emulator, twirp: Twirp, clock: ManualClock
) -> None:
    emu.add_livekit_worker("flaky", fail_jobs=True)
    await twirp.dispatch("r", agent="flaky")
    clock.advance(2.0)
    [failed] = await twirp.listed("r")
    assert failed["state"]["jobs"][0]["state"]["status"] == "JS_FAILED"
    for status in ("JS_FAILED", "JS_CANCELLED", "JS_SUCCESS"):
        created = await twirp.dispatch(status.lower())
        emu.livekit_finish_job(created["id"], status=status, error="crashed")
        [ended] = await twirp.listed(status.lower())
        state = ended["state"]["jobs"][0]["state"]
        assert state["status"] == status
        assert state["error"] == ("crashed" if status == "JS_FAILED" else "")
    with pytest.raises(ValueError, match="no live job"):
        emu.livekit_finish_job(created["id"])


async def test_seeded_dispatches_are_listed_in_their_room(emu: Emulator, twirp: Twirp) -> None:
    ids = emu.seed_sessions("livekit", 12, running=2, room="history")
    listed = await twirp.listed("history")
    assert [found["id"] for found in listed] == list(reversed(ids))  # oldest first
    statuses = {found["state"]["jobs"][0]["state"]["status"] for found in listed}
    assert "JS_RUNNING" in statuses
    assert statuses <= {"JS_RUNNING", "JS_SUCCESS", "JS_FAILED"}
    assert emu.seed_sessions("livekit", 1, seed=9)[0] in emu.worlds["livekit"].sessions


# ---- webhooks -----------------------------------------------------------------------


async def test_job_webhooks_are_signed_with_the_api_secret(
    emu: Emulator, twirp: Twirp, clock: ManualClock
) -> None:
    received: list[tuple[dict[str, str], bytes]] = []

    async def hook(request: aiohttp.web.Request) -> aiohttp.web.Response:
        received.append((dict(request.headers), await request.read()))
        return aiohttp.web.Response()

    app = aiohttp.web.Application()
    app.router.add_post("/hook", hook)
    runner = aiohttp.web.AppRunner(app)
    await runner.setup()
    site = aiohttp.web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        emu.livekit_webhooks(f"http://127.0.0.1:{port}/hook")
        created = await twirp.dispatch("r")
        clock.advance(62.0)
        await emu.settle()
    finally:
        await runner.cleanup()
    events = [json.loads(body) for _, body in received]
    # Each session's (and room's) deliveries are in order; the two streams interleave.
    [room_event] = [event for event in events if "room" in event]
    assert room_event["event"] == "room_started"
    job_events = [event for event in events if "job" in event]
    assert [event["event"] for event in job_events] == [
        "agent_job_pending",
        "agent_job_started",
        "agent_job_ended",
    ]
    assert {event["job"]["dispatchId"] for event in job_events} == {created["id"]}
    assert "status" not in job_events[0]["job"]["state"]  # JS_PENDING is protobuf's default
    assert job_events[2]["job"]["state"]["status"] == "JS_SUCCESS"
    assert len({event["id"] for event in events}) == 4
    for headers, body in received:
        assert headers["Content-Type"] == "application/webhook+json"
        claims = jwt.decode(headers["Authorization"], emu.livekit_api_secret, algorithms=["HS256"])
        assert claims["iss"] == emu.livekit_api_key
        assert claims["exp"] - claims["nbf"] == 300
        assert base64.b64decode(claims["sha256"]) == hashlib.sha256(body).digest()


# ---- faults -------------------------------------------------------------------------


async def test_faults_answer_in_twirps_error_shape(emu: Emulator, twirp: Twirp) -> None:
    emu.faults = FaultPlan(
        script=["server_error", "rate_limited", "request_timeout"], retry_after=3
    )
    path, video = f"{ROOMS}/ListRooms", {"roomList": True}
    assert await twirp.call(path, video=video) == (
        500,
        {"code": "internal", "msg": "internal error"},
    )
    async with twirp.http.post(
        emu.url + path,
        data=b"{}",
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {emu.livekit_token(video)}",
        },
    ) as limited:
        assert limited.status == 429
        assert limited.headers["Retry-After"] == "3"
        assert await limited.json() == {"code": "resource_exhausted", "msg": "rate limit exceeded"}
    status, body = await twirp.call(path, video=video)
    assert (status, body["code"]) == (408, "deadline_exceeded")


async def test_protobuf_list_rooms_round_trips(emu: Emulator, twirp: Twirp) -> None:
    await twirp.dispatch("pb-room")
    async with twirp.http.post(
        emu.url + f"{ROOMS}/ListRooms",
        data=proto_room.ListRoomsRequest().SerializeToString(),
        headers={
            "Content-Type": "application/protobuf",
            "Authorization": f"Bearer {emu.livekit_token({'roomList': True})}",
        },
    ) as response:
        rooms = proto_room.ListRoomsResponse.FromString(await response.read())
    assert [room.name for room in rooms.rooms] == ["pb-room"]
