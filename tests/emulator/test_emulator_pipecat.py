"""The emulator's Pipecat API: auth, every endpoint, documented errors, listing semantics.

Every answer passes through `PipecatCaller`, which validates it against the vendor's
OpenAPI document.
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest

from agentcloud.testing import Emulator, Lifecycle, ManualClock
from tests.emulator.helpers import PipecatCaller

AGENT = "/v1/agents/my-agent"
START = "/v1/public/my-agent/start"


# ---- auth


@pytest.mark.parametrize(
    ("key", "authorization"),
    [
        ("private", None),
        ("none", None),
        ("none", "Bearer pk_wrong"),
        ("none", "PUBLIC_AS_TOKEN_SCHEME"),
    ],
)
async def test_start_needs_the_public_key(
    emu: Emulator, pipecat: PipecatCaller, key: str, authorization: str | None
) -> None:
    if authorization == "PUBLIC_AS_TOKEN_SCHEME":
        authorization = f"Token {emu.pipecat_public_key}"
    status, body = await pipecat.call(
        "POST", START, key=key, authorization=authorization, json_body={}
    )
    assert status == 401
    assert body == {"error": "Unauthorized / token expired", "code": "401"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/agents"),
        ("GET", AGENT),
        ("GET", f"{AGENT}/sessions"),
        ("GET", f"{AGENT}/sessions/{uuid.UUID(int=1)}"),
        ("DELETE", f"{AGENT}/sessions/{uuid.UUID(int=2)}"),
    ],
)
@pytest.mark.parametrize("key", ["public", "none"])
async def test_private_endpoints_need_the_private_key(
    pipecat: PipecatCaller, method: str, path: str, key: str
) -> None:
    status, body = await pipecat.call(method, path, key=key)
    assert status == 401
    assert body["code"] == "401"


# ---- start


async def test_start_with_a_daily_room(pipecat: PipecatCaller) -> None:
    status, body = await pipecat.call(
        "POST",
        START,
        key="public",
        json_body={"createDailyRoom": True, "dailyRoomProperties": {"exp": 1}, "body": {"a": 1}},
    )
    assert status == 200
    assert set(body) == {"sessionId", "dailyRoom", "dailyToken"}
    assert body["dailyRoom"].startswith("https://")
    uuid.UUID(body["sessionId"])


async def test_start_over_websocket_returns_url_token_and_encoded_body(
    pipecat: PipecatCaller,
) -> None:
    status, body = await pipecat.call(
        "POST", START, key="public", json_body={"transport": "websocket", "body": {"user": "42"}}
    )
    assert status == 200
    assert set(body) == {"sessionId", "wsUrl", "token", "body"}
    assert body["wsUrl"].startswith("wss://")
    assert json.loads(base64.b64decode(body["body"])) == {"user": "42"}


async def test_start_with_default_ice_servers(pipecat: PipecatCaller) -> None:
    status, body = await pipecat.call(
        "POST",
        START,
        key="public",
        json_body={"transport": "webrtc", "enableDefaultIceServers": True},
    )
    assert status == 200
    assert set(body) == {"sessionId", "iceConfig"}
    [server] = body["iceConfig"]["iceServers"]
    assert server["urls"]
    assert server["username"]
    assert server["credential"]


async def test_plain_start_returns_only_the_session_id(pipecat: PipecatCaller) -> None:
    status, body = await pipecat.call("POST", START, key="public", json_body={})
    assert status == 200
    assert set(body) == {"sessionId"}


@pytest.mark.parametrize(
    "options",
    [
        {"transport": "carrier-pigeon"},
        {"createDailyRoom": "yes"},
        {"enableDefaultIceServers": 1},
        {"dailyRoomProperties": "big"},
    ],
)
async def test_start_rejects_invalid_options(pipecat: PipecatCaller, options: Any) -> None:
    status, body = await pipecat.call("POST", START, key="public", json_body=options)
    assert status == 400
    assert body["code"] == "GENERIC_BAD_REQUEST"


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 50_000 + b"]" * 50_000,
        b'{"body": ' + b"[" * 600 + b"]" * 600 + b"}",
        b'{"body": {"x": NaN}}',
        b'{"body": Infinity}',
        b'{"body": [-Infinity]}',
    ],
    ids=["50000 deep", "600 deep", "NaN", "Infinity", "-Infinity"],
)
async def test_start_refuses_json_a_vendor_would_not_parse(
    emu: Emulator, pipecat: PipecatCaller, raw: bytes
) -> None:
    status, body = await pipecat.call("POST", START, key="public", raw_body=raw)
    assert (status, body) == (400, {"error": "Invalid JSON body", "code": "GENERIC_BAD_REQUEST"})
    assert emu.requests[-1].body == raw.decode()
    _, agent = await pipecat.call("GET", AGENT)
    assert agent["activeSessionCount"] == 0


async def test_start_of_an_unknown_agent_is_404(pipecat: PipecatCaller) -> None:
    status, body = await pipecat.call("POST", "/v1/public/nobody/start", key="public", json_body={})
    assert status == 404
    assert body["code"] == "404"


async def test_start_of_an_agent_that_is_not_ready(emu: Emulator, pipecat: PipecatCaller) -> None:
    emu.add_pipecat_agent("broken", ready=False)
    status, body = await pipecat.call("POST", "/v1/public/broken/start", key="public", json_body={})
    assert status == 400
    assert body["code"] == "PCC-1001"
    status, details = await pipecat.call("GET", "/v1/agents/broken")
    assert (status, details["ready"], details["available"]) == (200, False, False)


def _body_of_size(size: int) -> dict[str, str]:
    """A JSON object whose compact encoding is exactly `size` bytes."""
    overhead = len(json.dumps({"p": ""}, separators=(",", ":")))
    return {"p": "x" * (size - overhead)}


@pytest.mark.parametrize(
    ("transport", "limit"), [("websocket", 4096), ("daily", 1024 * 1024), ("webrtc", 1024 * 1024)]
)
async def test_body_size_limits(pipecat: PipecatCaller, transport: str, limit: int) -> None:
    at_limit = {"transport": transport, "body": _body_of_size(limit)}
    status, _ = await pipecat.call("POST", START, key="public", json_body=at_limit)
    assert status == 200
    over = {"transport": transport, "body": _body_of_size(limit + 1)}
    status, body = await pipecat.call("POST", START, key="public", json_body=over)
    assert status == 413
    assert body["code"] == "413"


async def test_agent_at_capacity_is_429_until_a_session_ends(
    emu: Emulator, pipecat: PipecatCaller
) -> None:
    emu.add_pipecat_agent("small", max_sessions=2)
    path = "/v1/public/small/start"
    first = await pipecat.start("small")
    await pipecat.start("small")
    status, body = await pipecat.call("POST", path, key="public", json_body={})
    assert status == 429
    assert body["code"] == "PCC-AGENT-AT-CAPACITY"
    assert isinstance(body["error"], str)
    status, _ = await pipecat.call("DELETE", f"/v1/agents/small/sessions/{first}")
    assert status == 200
    await pipecat.start("small")


# ---- agents


async def test_list_agents(emu: Emulator, pipecat: PipecatCaller) -> None:
    emu.add_pipecat_agent("eu-bot", region="eu-central")
    status, body = await pipecat.call("GET", "/v1/agents")
    assert status == 200
    assert [s["name"] for s in body["services"]] == ["my-agent", "eu-bot"]
    assert all("deployment" not in s for s in body["services"])

    _, with_deployment = await pipecat.call(
        "GET", "/v1/agents", params={"includeActiveDeployment": "true", "region": "eu-central"}
    )
    [service] = with_deployment["services"]
    assert service["name"] == "eu-bot"
    assert service["deployment"]["id"] == service["activeDeploymentId"]


async def test_agent_details_count_active_sessions(
    clock: ManualClock, pipecat: PipecatCaller
) -> None:
    status, before = await pipecat.call("GET", AGENT)
    assert (status, before["activeSessionCount"], before["ready"]) == (200, 0, True)
    session_id = await pipecat.start()
    await pipecat.start()
    _, during = await pipecat.call("GET", AGENT)
    assert during["activeSessionCount"] == 2
    await pipecat.call("DELETE", f"{AGENT}/sessions/{session_id}")
    _, after = await pipecat.call("GET", AGENT)
    assert after["activeSessionCount"] == 1


async def test_unknown_agent_details_are_404(pipecat: PipecatCaller) -> None:
    status, body = await pipecat.call("GET", "/v1/agents/nobody")
    assert status == 404
    assert body == {"error": "Not found", "code": "NOT_FOUND"}


# ---- sessions listing


async def test_listing_defaults_and_window(emu: Emulator, pipecat: PipecatCaller) -> None:
    seeded = emu.seed_sessions("pipecat", 23, seed=5)
    status, first = await pipecat.call("GET", f"{AGENT}/sessions")
    assert status == 200
    assert first["total_count"] == 23
    assert [s["sessionId"] for s in first["sessions"]] == seeded[:10]
    for item in first["sessions"]:
        assert "resourceMetrics" not in item
        assert "meetingIds" not in item

    _, window = await pipecat.call(
        "GET", f"{AGENT}/sessions", params={"limit": "5", "offset": "20"}
    )
    assert window["total_count"] == 23
    assert [s["sessionId"] for s in window["sessions"]] == seeded[20:]

    _, beyond = await pipecat.call("GET", f"{AGENT}/sessions", params={"offset": "30"})
    assert (beyond["total_count"], beyond["sessions"]) == (23, [])

    walked: list[str] = []
    for offset in range(0, 23, 4):
        _, page = await pipecat.call(
            "GET", f"{AGENT}/sessions", params={"limit": "4", "offset": str(offset)}
        )
        walked.extend(s["sessionId"] for s in page["sessions"])
    assert walked == seeded


async def test_listing_is_per_agent_and_newest_first(
    emu: Emulator, clock: ManualClock, pipecat: PipecatCaller
) -> None:
    emu.add_pipecat_agent("other")
    older = await pipecat.start()
    clock.advance(1)
    await pipecat.start("other")
    newer = await pipecat.start()
    _, body = await pipecat.call("GET", f"{AGENT}/sessions")
    assert [s["sessionId"] for s in body["sessions"]] == [newer, older]
    assert body["total_count"] == 2


async def test_status_filter_and_ended_at(
    emu: Emulator, clock: ManualClock, pipecat: PipecatCaller
) -> None:
    ended = emu.seed_sessions("pipecat", 4, seed=1)
    active = await pipecat.start()
    _, only_active = await pipecat.call("GET", f"{AGENT}/sessions", params={"status": "active"})
    assert [s["sessionId"] for s in only_active["sessions"]] == [active]
    # Always there, null while active (the documented deviation from the listing schema):
    # the official CLI indexes s["endedAt"] on every listed item.
    assert only_active["sessions"][0]["endedAt"] is None
    assert only_active["sessions"][0]["endState"] == "active"

    _, only_ended = await pipecat.call("GET", f"{AGENT}/sessions", params={"status": "ended"})
    assert [s["sessionId"] for s in only_ended["sessions"]] == ended
    assert all(s["endedAt"] for s in only_ended["sessions"])

    _, everything = await pipecat.call("GET", f"{AGENT}/sessions", params={"status": "all"})
    assert everything["total_count"] == 5


async def test_deployment_and_start_type_filters(
    emu: Emulator, clock: ManualClock, pipecat: PipecatCaller
) -> None:
    emu.seed_sessions("pipecat", 30, seed=2)
    _, everything = await pipecat.call("GET", f"{AGENT}/sessions", params={"limit": "100"})
    sessions = everything["sessions"]
    cold = [s["sessionId"] for s in sessions if s["coldStart"] is True]
    warm = [s["sessionId"] for s in sessions if s["coldStart"] is False]
    assert cold
    assert warm

    for start_type, expected in (("cold", cold), ("warm", warm)):
        _, body = await pipecat.call(
            "GET", f"{AGENT}/sessions", params={"startType": start_type, "limit": "100"}
        )
        assert [s["sessionId"] for s in body["sessions"]] == expected
        assert body["total_count"] == len(expected)

    deployment = sessions[0]["deploymentId"]
    _, same = await pipecat.call("GET", f"{AGENT}/sessions", params={"deploymentId": deployment})
    assert same["total_count"] == 30
    _, other = await pipecat.call("GET", f"{AGENT}/sessions", params={"deploymentId": "nope"})
    assert other["total_count"] == 0


async def test_time_filters(emu: Emulator, pipecat: PipecatCaller) -> None:
    # Seeded sessions are created 60 s apart, the newest at `newest_at`.
    seeded = emu.seed_sessions("pipecat", 10, seed=4, newest_at=1_750_000_000.0)
    params = {"startTime": str(1_750_000_000 - 180), "endTime": str(1_750_000_000 - 60)}
    _, window = await pipecat.call("GET", f"{AGENT}/sessions", params=params)
    assert [s["sessionId"] for s in window["sessions"]] == seeded[1:4]

    _, slow = await pipecat.call(
        "GET", f"{AGENT}/sessions", params={"startTimeMin": "1", "limit": "100"}
    )
    assert slow["sessions"]
    assert all(s["botStartSeconds"] >= 1 for s in slow["sessions"])
    _, fast = await pipecat.call(
        "GET", f"{AGENT}/sessions", params={"startTimeMax": "1", "limit": "100"}
    )
    assert all(s["botStartSeconds"] <= 1 for s in fast["sessions"])


@pytest.mark.parametrize(
    ("params", "issue_codes"),
    [
        ({"status": "bad_value"}, ["invalid_enum_value"]),
        ({"startType": "hot"}, ["invalid_enum_value"]),
        ({"limit": "abc"}, ["invalid_type"]),
        ({"limit": "1.5"}, ["invalid_type"]),
        ({"limit": "0"}, ["too_small"]),
        ({"offset": "-1"}, ["too_small"]),
        ({"startTime": "soon"}, ["invalid_type"]),
        ({"limit": "x", "status": "nope"}, ["invalid_type", "invalid_enum_value"]),
    ],
)
async def test_invalid_listing_queries_answer_zod_issues(
    pipecat: PipecatCaller, params: dict[str, str], issue_codes: list[str]
) -> None:
    status, body = await pipecat.call("GET", f"{AGENT}/sessions", params=params)
    assert status == 400
    assert body["error"] == "Invalid parameters"
    assert body["code"] == "400"
    assert body["err"]["name"] == "ZodError"
    assert [issue["code"] for issue in body["err"]["issues"]] == issue_codes
    for issue in body["err"]["issues"]:
        assert issue["path"][0] in params
        assert isinstance(issue["message"], str)


async def test_the_documented_zod_example_is_reproduced(pipecat: PipecatCaller) -> None:
    _, body = await pipecat.call("GET", f"{AGENT}/sessions", params={"status": "bad_value"})
    assert body == {
        "error": "Invalid parameters",
        "err": {
            "issues": [
                {
                    "received": "bad_value",
                    "code": "invalid_enum_value",
                    "options": ["active", "ended", "all"],
                    "path": ["status"],
                    "message": (
                        "Invalid enum value. Expected 'active' | 'ended' | 'all', "
                        "received 'bad_value'"
                    ),
                }
            ],
            "name": "ZodError",
        },
        "code": "400",
    }


async def test_sessions_of_an_unknown_agent_are_404(pipecat: PipecatCaller) -> None:
    status, body = await pipecat.call("GET", "/v1/agents/nobody/sessions")
    assert (status, body["code"]) == (404, "404")


# ---- session details and stop


async def test_details_while_queued_running_and_after_stop(
    clock: ManualClock, pipecat: PipecatCaller
) -> None:
    session_id = await pipecat.start(createDailyRoom=True)
    path = f"{AGENT}/sessions/{session_id}"

    _, queued = await pipecat.call("GET", path)
    assert queued["endedAt"] is None
    assert queued["resourceMetrics"] is None
    assert queued["meetingIds"] == []
    assert queued["coldStart"] is None

    clock.advance(2 + 12)  # running for 12 s: samples at 0, 5 and 10 s
    _, running = await pipecat.call("GET", path)
    metrics = running["resourceMetrics"]
    assert metrics["sampleCount"] == 3 == len(metrics["timeseries"])
    assert metrics["cpuMillicoresP50"] <= metrics["cpuMillicoresP90"] <= metrics["cpuMillicoresP99"]
    assert metrics["memoryBytesP50"] <= metrics["memoryBytesP95"] <= metrics["memoryBytesP99"]
    assert metrics["sessionId"] == session_id
    [meeting] = running["meetingIds"]
    assert set(meeting) == {"participantId", "meetingId"}
    assert running["coldStart"] is True
    assert running["endedAt"] is None
    assert running["completionStatus"] is None

    status, stopped = await pipecat.call("DELETE", path)
    assert (status, stopped) == (200, {"status": "terminated", "session_id": session_id})

    clock.advance(100)
    _, ended = await pipecat.call("GET", path)
    assert ended["endedAt"] == "2025-06-18T12:00:14.000Z"
    assert ended["endState"] == "terminated"
    assert ended["completionStatus"] == "HTTP_COMPLETED"
    # Metrics stop growing once the session has ended.
    assert ended["resourceMetrics"] == metrics


async def test_details_errors(emu: Emulator, pipecat: PipecatCaller) -> None:
    status, body = await pipecat.call("GET", f"{AGENT}/sessions/{uuid.uuid4()}")
    assert (status, body["code"]) == (404, "404")
    emu.add_pipecat_agent("other")
    theirs = await pipecat.start("other")
    status, _ = await pipecat.call("GET", f"{AGENT}/sessions/{theirs}")
    assert status == 404


async def test_stop_errors(pipecat: PipecatCaller) -> None:
    status, body = await pipecat.call("DELETE", f"{AGENT}/sessions/not-a-uuid")
    assert status == 400
    assert isinstance(body["error"], str)
    status, _ = await pipecat.call("DELETE", f"{AGENT}/sessions/{uuid.uuid4()}")
    assert status == 404


async def test_failing_agent_sessions_end_in_agent_error(
    emu: Emulator, clock: ManualClock, pipecat: PipecatCaller
) -> None:
    emu.add_pipecat_agent("flaky", fail_sessions=True, lifecycle=Lifecycle(start_delay=1.0))
    session_id = await pipecat.start("flaky")
    clock.advance(1)
    _, details = await pipecat.call("GET", f"/v1/agents/flaky/sessions/{session_id}")
    assert details["endState"] == "agent_error"
    assert details["completionStatus"] == "HTTP_ERROR"
    assert details["endedAt"] == "2025-06-18T12:00:01.000Z"
    assert details["resourceMetrics"] is None


async def test_unknown_route_is_a_json_404(pipecat: PipecatCaller) -> None:
    status, body = await pipecat.call("GET", "/v1/nothing/here/at/all/really")
    assert (status, body["code"]) == (404, "404")
