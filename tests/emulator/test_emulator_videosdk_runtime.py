"""The emulator's VideoSDK agent runtime over raw HTTP: auth, shapes, refusals, paging,
activation, logs and signed ``agent-session-*`` webhooks (no SDK involved)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from aiohttp import web
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from agentcloud.testing import Emulator, Lifecycle, ManualClock
from tests.emulator.helpers import VideoSDKCaller

CLOUD = "/ai/v1/cloud"


@pytest.fixture
def deployment(emu: Emulator) -> str:
    return str(emu.videosdk_runtime_deployment_id)


async def make_room(videosdk: VideoSDKCaller, **body: Any) -> str:
    status, room = await videosdk.call("POST", "/v2/rooms", json_body=body)
    assert status == 200, room
    room_id: str = room["roomId"]
    return room_id


async def dispatch(videosdk: VideoSDKCaller, room: str, **body: Any) -> tuple[int, Any]:
    fields = {"agentId": videosdk.emu.videosdk_agent_id, "meetingId": room, **body}
    return await videosdk.call("POST", "/v2/agent/dispatch", json_body=fields)


async def sessions(videosdk: VideoSDKCaller, deployment: str, **params: str) -> Any:
    status, answer = await videosdk.call(
        "GET", f"{CLOUD}/deployments/{deployment}/sessions", params=params
    )
    assert status == 200, answer
    return answer


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v2/rooms"),
        ("POST", "/v2/agent/dispatch"),
        ("POST", "/v2/agent/connect"),
        ("POST", "/v2/agent/general/dispatch"),
        ("POST", "/v2/sessions/end"),
        ("POST", f"{CLOUD}/deployments"),
        ("GET", f"{CLOUD}/deployments"),
        ("GET", f"{CLOUD}/deployments/DEP/sessions"),
        ("GET", f"{CLOUD}/deployments/DEP/console-logs"),
        ("GET", f"{CLOUD}/deployments/DEP/latest"),
        ("PUT", f"{CLOUD}/deployments/DEP/update"),
        ("POST", f"{CLOUD}/deployments/DEP/delete"),
        ("POST", f"{CLOUD}/versions"),
        ("GET", f"{CLOUD}/versions"),
        ("GET", f"{CLOUD}/versions/VER"),
        ("PUT", f"{CLOUD}/versions/VER"),
        ("PUT", f"{CLOUD}/versions/VER/activate"),
        ("DELETE", f"{CLOUD}/versions/VER/schedule"),
    ],
)
async def test_every_runtime_endpoint_needs_a_server_token(
    emu: Emulator, videosdk: VideoSDKCaller, method: str, path: str
) -> None:
    path = path.replace("DEP", emu.videosdk_runtime_deployment_id).replace(
        "VER", emu.videosdk_runtime_version_id
    )
    status, answer = await videosdk.call(method, path, no_auth=True, json_body={})
    assert status == 401
    assert answer["message"].startswith("Unauthorized")
    status, _ = await videosdk.call(method, path, token=emu.videosdk_token(roles=("rtc",)))
    assert status == 401


async def test_rooms_answer_the_documented_shape(videosdk: VideoSDKCaller) -> None:
    status, room = await videosdk.call("POST", "/v2/rooms", json_body={})
    assert status == 200
    assert set(room) == {
        "roomId",
        "customRoomId",
        "userId",
        "disabled",
        "createdAt",
        "updatedAt",
        "id",
        "links",
    }
    assert set(room["links"]) == {"get_room", "get_session"}
    parts = room["roomId"].split("-")
    assert [len(part) for part in parts] == [4, 4, 4]
    assert room["roomId"].replace("-", "").isalpha()
    _, custom = await videosdk.call("POST", "/v2/rooms", json_body={"customRoomId": "c-1"})
    _, again = await videosdk.call("POST", "/v2/rooms", json_body={"customRoomId": "c-1"})
    assert custom == again  # the same custom id is the same room
    assert custom["roomId"] != room["roomId"]
    status, _ = await videosdk.call("POST", "/v2/rooms", json_body={"customRoomId": 5})
    assert status == 400


async def test_dispatch_answers_the_documented_envelope_and_lists_the_session(
    emu: Emulator, videosdk: VideoSDKCaller, deployment: str, clock: ManualClock
) -> None:
    room = await make_room(videosdk)
    status, answer = await dispatch(videosdk, room, metadata={"user": "42"})
    assert status == 200
    assert answer == {
        "message": "Agent dispatch requested successfully.",
        "data": {
            "success": True,
            "status": "assigned",
            "roomId": room,
            "agentId": emu.videosdk_agent_id,
        },
    }
    listing = await sessions(videosdk, deployment)
    assert set(listing) == {"sessions"}  # no paging metadata, as documented
    [item] = listing["sessions"]
    assert set(item) == {"sessionId", "roomId", "versionId", "start", "end"}
    assert (item["roomId"], item["versionId"]) == (room, emu.videosdk_runtime_version_id)
    assert item["start"] == "2025-06-18T12:00:00.000Z"
    assert item["end"] is None
    assert emu.videosdk_runtime_session(item["sessionId"]).metadata == {"user": "42"}


@pytest.mark.parametrize("path", ["/v2/agent/dispatch", "/v2/agent/connect"])
async def test_dispatch_takes_the_room_as_meeting_or_room_id(
    emu: Emulator, videosdk: VideoSDKCaller, path: str
) -> None:
    room = await make_room(videosdk, customRoomId="mine")
    for body in ({"meetingId": room}, {"roomId": room}, {"meetingId": "mine"}):
        status, answer = await videosdk.call(
            "POST", path, json_body={"agentId": emu.videosdk_agent_id, **body}
        )
        assert status == 200, answer
        assert answer["data"]["roomId"] == room


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"meetingId": "ROOM"}, 400, '"agentId" is required'),
        ({"agentId": "AGENT"}, 400, '"meetingId" is required'),
        ({"agentId": "AGENT", "meetingId": "nope"}, 404, "Room not found"),
        ({"agentId": "someone", "meetingId": "ROOM"}, 400, "No Workers Registered"),
        ({"agentId": "AGENT", "meetingId": "ROOM", "versionId": "x"}, 400, "Agent Not Deployed"),
        ({"agentId": "AGENT", "meetingId": "ROOM", "versionTag": "x"}, 400, "Agent Not Deployed"),
        ({"agentId": "AGENT", "meetingId": "ROOM", "metadata": "x"}, 400, None),
        ({"agentId": "AGENT", "meetingId": "ROOM", "roomOptions": []}, 400, None),
    ],
)
async def test_dispatch_refusals(
    emu: Emulator, videosdk: VideoSDKCaller, body: dict[str, Any], status: int, message: str | None
) -> None:
    room = await make_room(videosdk)
    fields = {
        key: {"AGENT": emu.videosdk_agent_id, "ROOM": room}.get(value, value)
        if isinstance(value, str)
        else value
        for key, value in body.items()
    }
    got, answer = await videosdk.call("POST", "/v2/agent/dispatch", json_body=fields)
    assert got == status
    if message is not None:
        assert answer == {"message": message}
    assert emu.worlds["videosdk"].runtime.sessions == {}


async def test_the_worker_pool_and_registration(emu: Emulator, videosdk: VideoSDKCaller) -> None:
    agent = emu.videosdk_agent(emu.videosdk_agent_id)
    agent.workers = 1
    room = await make_room(videosdk)
    assert (await dispatch(videosdk, room))[0] == 200
    assert await dispatch(videosdk, room) == (400, {"message": "No workers available"})
    agent.workers = 2
    assert (await dispatch(videosdk, room))[0] == 200
    agent.registered = False
    assert await dispatch(videosdk, room) == (400, {"message": "No Workers Registered"})


async def test_a_self_hosted_agent_runs_sessions_no_deployment_lists(
    emu: Emulator, videosdk: VideoSDKCaller, deployment: str
) -> None:
    agent = emu.add_videosdk_agent(name="on-prem", deployed=False, workers=1)
    room = await make_room(videosdk)
    status, _ = await dispatch(videosdk, room, agentId=agent.id)
    assert status == 200
    [record] = emu.worlds["videosdk"].runtime.sessions.values()
    assert (record.deployment_id, record.version_id) == (None, None)
    assert (await sessions(videosdk, deployment))["sessions"] == []


async def test_the_general_dispatch_needs_a_version_and_ignores_a_tag(
    emu: Emulator, videosdk: VideoSDKCaller
) -> None:
    room = await make_room(videosdk)
    agent = emu.videosdk_agent_id
    status, answer = await videosdk.call(
        "POST", "/v2/agent/general/dispatch", json_body={"agentId": agent, "meetingId": room}
    )
    assert (status, answer) == (400, {"message": '"versionId" is required'})
    status, _ = await videosdk.call(
        "POST",
        "/v2/agent/general/dispatch",
        json_body={
            "agentId": agent,
            "meetingId": room,
            "versionId": emu.videosdk_runtime_version_id,
            "versionTag": "no-such-tag",
        },
    )
    assert status == 200


async def test_ending_a_room_answers_its_session_and_converges(
    emu: Emulator, videosdk: VideoSDKCaller, clock: ManualClock, deployment: str
) -> None:
    room = await make_room(videosdk, customRoomId="end-me")
    await dispatch(videosdk, room)
    clock.advance(2)  # the agent joins
    clock.advance(8)
    status, ended = await videosdk.call("POST", "/v2/sessions/end", json_body={"roomId": room})
    assert status == 200
    assert set(ended) == {"id", "roomId", "start", "end", "participants", "status", "links"}
    assert ended["status"] == "ended"
    assert ended["end"] == "2025-06-18T12:00:10.000Z"
    [participant] = ended["participants"]
    assert participant["participantId"] == emu.videosdk_agent_id
    assert participant["timelog"] == [{"start": ended["start"], "end": ended["end"]}]
    [listed] = (await sessions(videosdk, deployment, roomId=room))["sessions"]
    assert (listed["sessionId"], listed["end"]) == (ended["id"], ended["end"])
    clock.advance(5)
    status, again = await videosdk.call(
        "POST", "/v2/sessions/end", json_body={"customRoomId": "end-me", "vsdkForceKill": True}
    )
    assert (status, again) == (200, ended)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({}, 400),
        ({"roomId": "no-such-room"}, 404),
        ({"roomId": "ROOM"}, 404),  # a room no agent was ever dispatched into
        ({"roomId": "ROOM", "sessionId": "nope"}, 404),
        ({"roomId": "ROOM", "vsdkForceKill": "yes"}, 400),
    ],
)
async def test_end_refusals(videosdk: VideoSDKCaller, body: dict[str, Any], status: int) -> None:
    room = await make_room(videosdk)
    fields = {key: room if value == "ROOM" else value for key, value in body.items()}
    got, answer = await videosdk.call("POST", "/v2/sessions/end", json_body=fields)
    assert got == status
    assert isinstance(answer["message"], str)


@pytest.mark.parametrize("envelope", [None, "pageInfo", "pagination"])
async def test_listings_page_in_the_envelope_they_are_told(
    envelope: str | None, clock: ManualClock
) -> None:
    async with Emulator(clock=clock, seed=1, videosdk_runtime_paging=envelope) as emu:
        from tests.emulator.helpers import videosdk_caller

        seeded = emu.seed_sessions("videosdk", 7, seed=2, runtime=True, running=2)
        async with videosdk_caller(emu) as videosdk:
            deployment = emu.videosdk_runtime_deployment_id
            walked = []
            for page in (1, 2, 3):
                answer = await sessions(videosdk, deployment, page=str(page), perPage="3")
                walked += [s["sessionId"] for s in answer["sessions"]]
                meta = {key: value for key, value in answer.items() if key != "sessions"}
                if envelope == "pageInfo":
                    assert meta == {
                        "pageInfo": {"currentPage": page, "perPage": 3, "lastPage": 3, "total": 7}
                    }
                elif envelope == "pagination":
                    assert meta == {
                        "pagination": {"page": page, "perPage": 3, "total": 7, "totalPages": 3}
                    }
                else:
                    assert meta == {}
            assert walked == seeded
            oldest_first = await sessions(videosdk, deployment, sort="1", perPage="10")
            assert [s["sessionId"] for s in oldest_first["sessions"]] == seeded[::-1]
            rooms = {s["roomId"] for s in oldest_first["sessions"]}
            assert len(rooms) == 7  # each in a room of its own
            running = [s for s in oldest_first["sessions"] if s["end"] is None]
            assert len(running) == 2
            status, _ = await videosdk.call(
                "GET", f"{CLOUD}/deployments/{deployment}/sessions", params={"sort": "up"}
            )
            assert status == 400


async def test_session_filters(emu: Emulator, videosdk: VideoSDKCaller, deployment: str) -> None:
    first, second = await make_room(videosdk), await make_room(videosdk, customRoomId="two")
    await dispatch(videosdk, first)
    await dispatch(videosdk, second)
    every = (await sessions(videosdk, deployment))["sessions"]
    assert [s["roomId"] for s in every] == [second, first]  # newest first
    by_custom = (await sessions(videosdk, deployment, roomId="two"))["sessions"]
    assert [s["roomId"] for s in by_custom] == [second]
    by_id = (await sessions(videosdk, deployment, sessionId=every[1]["sessionId"]))["sessions"]
    assert [s["roomId"] for s in by_id] == [first]
    assert (await sessions(videosdk, deployment, agentId="someone"))["sessions"] == []
    assert (await sessions(videosdk, deployment, versionId="x"))["sessions"] == []
    status, _ = await videosdk.call("GET", f"{CLOUD}/deployments/nope/sessions")
    assert status == 404


async def test_console_logs_cover_the_last_day(
    emu: Emulator, videosdk: VideoSDKCaller, clock: ManualClock, deployment: str
) -> None:
    now = clock.now()
    emu.add_videosdk_log("old", at=now - 86400 - 1, level="warn")
    emu.add_videosdk_log("recent", at=now - 5, user_id="u-1")
    path = f"{CLOUD}/deployments/{deployment}/console-logs"
    status, answer = await videosdk.call("GET", path)
    assert status == 200
    assert answer == {
        "logs": [
            {
                "log": "recent",
                "timestamp": "2025-06-18T11:59:55.000Z",
                "level": "info",
                "metadata": {"deploymentId": deployment, "userId": "u-1"},
            }
        ]
    }
    _, window = await videosdk.call(
        "GET", path, params={"start": "2025-06-17T00:00:00Z", "sort": "1"}
    )
    assert [line["log"] for line in window["logs"]] == ["old", "recent"]
    _, by_user = await videosdk.call(
        "GET", path, params={"start": "2025-06-17T00:00:00Z", "userId": "u-1"}
    )
    assert [line["log"] for line in by_user["logs"]] == ["recent"]
    _, until = await videosdk.call(
        "GET", path, params={"start": "2025-06-17T00:00:00Z", "end": "2025-06-17T12:00:00.000Z"}
    )
    assert [line["log"] for line in until["logs"]] == ["old"]
    for params in ({"start": "yesterday"}, {"end": "soon"}, {"sort": "asc"}):
        status, _ = await videosdk.call("GET", path, params=params)
        assert status == 400


async def test_sessions_write_their_console_logs(
    emu: Emulator, videosdk: VideoSDKCaller, clock: ManualClock, deployment: str
) -> None:
    room = await make_room(videosdk)
    await dispatch(videosdk, room)
    clock.advance(2)
    await videosdk.call("POST", "/v2/sessions/end", json_body={"roomId": room})
    lines = emu.videosdk_runtime_logs()
    assert [line.message for line in lines] == [
        f"Job assigned to a worker; joining room {room}",
        f"Agent joined room {room}",
        "Agent session stopping",
        "Agent session ended",
    ]
    assert {line.room_id for line in lines} == {room}
    assert lines[1].at == clock.now()  # stamped when the transition was due


async def test_deployments_create_list_update_delete(
    emu: Emulator, videosdk: VideoSDKCaller
) -> None:
    status, created = await videosdk.call(
        "POST", f"{CLOUD}/deployments", json_body={"name": "bot", "template": "voice"}
    )
    assert status == 200
    assert set(created) == {"id", "agentId", "name", "template", "status"}
    assert created["agentId"] in emu.worlds["videosdk"].runtime.agents  # a new agent
    status, same_agent = await videosdk.call(
        "POST", f"{CLOUD}/deployments", json_body={"agentId": created["agentId"]}
    )
    assert (status, same_agent["agentId"], same_agent["name"]) == (200, created["agentId"], "bot")
    status, _ = await videosdk.call("POST", f"{CLOUD}/deployments", json_body={"agentId": "x"})
    assert status == 404

    _, listed = await videosdk.call("GET", f"{CLOUD}/deployments", params={"name": "^bo"})
    assert [d["id"] for d in listed["deployments"]] == [same_agent["id"], created["id"]]
    _, one = await videosdk.call(
        "GET", f"{CLOUD}/deployments", params={"deploymentId": created["id"]}
    )
    assert [d["id"] for d in one["deployments"]] == [created["id"]]
    status, _ = await videosdk.call("GET", f"{CLOUD}/deployments", params={"name": "("})
    assert status == 400

    path = f"{CLOUD}/deployments/{created['id']}"
    status, answer = await videosdk.call("PUT", f"{path}/update", json_body={"envSecret": "s-1"})
    assert (status, answer) == (200, {"message": "Deployment updated successfully"})
    _, one = await videosdk.call(
        "GET", f"{CLOUD}/deployments", params={"deploymentId": created["id"]}
    )
    assert one["deployments"][0]["envSecret"] == "s-1"
    status, _ = await videosdk.call("PUT", f"{path}/update", json_body={})
    assert status == 400
    status, answer = await videosdk.call("GET", f"{path}/latest")
    assert (status, answer) == (404, {"message": "No version found for this deployment"})

    status, _ = await videosdk.call("POST", f"{path}/delete", json_body={})
    assert status == 200
    for method, suffix in (("GET", "/latest"), ("GET", "/sessions"), ("POST", "/delete")):
        status, _ = await videosdk.call(method, f"{path}{suffix}", json_body={})
        assert status == 404
    _, listed = await videosdk.call("GET", f"{CLOUD}/deployments", params={"name": "^bo"})
    assert [d["id"] for d in listed["deployments"]] == [same_agent["id"]]


def image(**fields: Any) -> dict[str, Any]:
    return {"imageUrl": "ghcr.io/acme/bot:1", "imageCR": "ghcr.io", **fields}


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({}, 400),  # no image
        ({"image": image(imageType="secret")}, 400),
        ({"image": {"imageCR": "x"}}, 400),
        ({"image": image(), "maxReplica": 51}, 400),
        ({"image": image(), "minReplica": 3, "maxReplica": 2}, 400),
        ({"image": image(), "minReplica": -1}, 400),
        ({"image": image(), "profile": "gpu"}, 400),
        ({"image": image(), "webhook": {"endPoint": "http://x", "events": ["session-x"]}}, 400),
        ({"image": image(), "deploymentId": "nope"}, 404),
        ({"image": image(), "agentId": "someone-else"}, 400),
        ({"image": image(), "minReplica": 2, "maxReplica": 50, "profile": "cpu-large"}, 200),
    ],
)
async def test_version_settings_are_checked(
    emu: Emulator, videosdk: VideoSDKCaller, fields: dict[str, Any], status: int
) -> None:
    body = {
        "agentId": emu.videosdk_agent_id,
        "deploymentId": emu.videosdk_runtime_deployment_id,
        **fields,
    }
    got, answer = await videosdk.call("POST", f"{CLOUD}/versions", json_body=body)
    assert got == status, answer


async def test_versions_activate_one_at_a_time(
    emu: Emulator, videosdk: VideoSDKCaller, deployment: str
) -> None:
    seeded = emu.videosdk_runtime_version_id
    status, created = await videosdk.call(
        "POST",
        f"{CLOUD}/versions",
        json_body={
            "agentId": emu.videosdk_agent_id,
            "deploymentId": deployment,
            "image": image(),
            "versionTag": "canary",
            "minReplica": 1,
            "maxReplica": 4,
        },
    )
    assert status == 200
    assert set(created) == {
        "id",
        "agentId",
        "deploymentId",
        "name",
        "versionTag",
        "region",
        "profile",
        "minReplica",
        "maxReplica",
        "image",
        "active",
        "status",
        "schedule",
        "createdAt",
    }
    assert (created["active"], created["region"], created["profile"]) == (
        True,
        "us002",
        "cpu-small",
    )
    _, old = await videosdk.call("GET", f"{CLOUD}/versions/{seeded}")
    assert old["active"] is False
    _, latest = await videosdk.call("GET", f"{CLOUD}/deployments/{deployment}/latest")
    assert latest == created

    activate = f"{CLOUD}/versions/{seeded}/activate"
    assert (await videosdk.call("PUT", activate, json_body={"activate": True}))[0] == 200
    _, listed = await videosdk.call("GET", f"{CLOUD}/versions", params={"sort": "1"})
    assert [(v["id"], v["active"]) for v in listed["versions"]] == [
        (seeded, True),
        (created["id"], False),
    ]
    room = await make_room(videosdk)
    await dispatch(videosdk, room)
    status, answer = await videosdk.call("PUT", activate, json_body={"activate": False})
    assert status == 409
    assert "force" in answer["message"]
    status, _ = await videosdk.call("PUT", activate, json_body={"activate": False, "force": True})
    assert status == 200
    [record] = emu.worlds["videosdk"].runtime.sessions.values()
    assert record.timeline.terminated
    assert await dispatch(videosdk, room) == (400, {"message": "Agent Not Deployed"})
    status, _ = await videosdk.call("PUT", activate, json_body={})
    assert status == 400

    path = f"{CLOUD}/versions/{created['id']}"
    status, answer = await videosdk.call(
        "PUT", path, json_body={"maxReplica": 9, "schedule": {"days": [1, 2]}}
    )
    assert (status, answer) == (200, {"message": "Version updated successfully"})
    status, _ = await videosdk.call("PUT", path, json_body={"minReplica": 10})
    assert status == 400  # above the maxReplica it has
    _, updated = await videosdk.call("GET", path)
    assert (updated["maxReplica"], updated["schedule"]) == (9, {"days": [1, 2]})
    assert (await videosdk.call("DELETE", f"{path}/schedule"))[0] == 200
    assert (await videosdk.call("GET", path))[1]["schedule"] is None
    assert (await videosdk.call("GET", f"{CLOUD}/versions/nope"))[0] == 404


async def test_agent_session_webhooks_are_signed_and_name_the_room(
    emu: Emulator, videosdk: VideoSDKCaller, clock: ManualClock, deployment: str
) -> None:
    received: list[tuple[bytes, str]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((await request.read(), request.headers["videosdk-signature"]))
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        events = ["agent-session-started", "agent-session-stopped"]
        status, _ = await videosdk.call(
            "PUT",
            f"{CLOUD}/versions/{emu.videosdk_runtime_version_id}",
            json_body={"webhook": {"endPoint": f"http://127.0.0.1:{port}/hook", "events": events}},
        )
        assert status == 200
        room = await make_room(videosdk)
        await dispatch(videosdk, room)
        clock.advance(2)
        await videosdk.call("POST", "/v2/sessions/end", json_body={"roomId": room})
        await emu.settle()
    finally:
        await runner.cleanup()
    [session_id] = emu.worlds["videosdk"].runtime.sessions
    key = serialization.load_pem_public_key(emu.videosdk_webhook_public_key.encode())
    assert isinstance(key, rsa.RSAPublicKey)
    bodies = []
    for body, signature in received:
        key.verify(base64.b64decode(signature), body, padding.PKCS1v15(), hashes.SHA256())
        bodies.append(json.loads(body))
    assert bodies == [
        {"webhookType": event, "data": {"sessionId": session_id, "meetingId": room}}
        for event in events
    ]


async def test_seeded_runtime_ids_and_environment(emu: Emulator) -> None:
    world = emu.worlds["videosdk"]
    agent = emu.videosdk_agent(emu.videosdk_agent_id)
    assert (agent.name, agent.workers, agent.registered) == ("emulated-agent", 10, True)
    assert world.runtime.deployments[emu.videosdk_runtime_deployment_id].agent_id == agent.id
    version = world.runtime.versions[emu.videosdk_runtime_version_id]
    assert version.active
    environment = emu.environment()
    assert environment["VIDEOSDK_AGENT_ID"] == agent.id
    assert environment["VIDEOSDK_RUNTIME_DEPLOYMENT_ID"] == emu.videosdk_runtime_deployment_id
    assert environment["VIDEOSDK_SECRET"] == emu.videosdk_secret  # the Node SDK's name
    assert environment["VIDEOSDK_API_ENDPOINT"] == emu.url
    with pytest.raises(ValueError, match="runtime_paging"):
        Emulator(videosdk_runtime_paging="cursor")


async def test_runtime_sessions_move_on_the_timers(clock: ManualClock) -> None:
    timers = Lifecycle(start_delay=1.0, run_duration=5.0, stop_delay=2.0)
    async with Emulator(clock=clock, lifecycle=timers) as emu:
        from tests.emulator.helpers import videosdk_caller

        async with videosdk_caller(emu) as videosdk:
            room = await make_room(videosdk)
            await dispatch(videosdk, room)
            [session_id] = emu.worlds["videosdk"].runtime.sessions
            phases = []
            for step in (0.0, 1.0, 5.0, 2.0):
                clock.advance(step)
                phases.append(emu.videosdk_runtime_session(session_id).timeline.phase.value)
            assert phases == ["queued", "running", "stopping", "completed"]
            [item] = (await sessions(videosdk, emu.videosdk_runtime_deployment_id))["sessions"]
            assert item["end"] == "2025-06-18T12:00:06.000Z"  # when it stopped running
