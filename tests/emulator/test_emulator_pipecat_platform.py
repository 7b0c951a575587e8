"""The emulator's Pipecat beyond the four session calls, over raw HTTP: agents and their
deployment timeline, regions, logs, the session API's bot, capacity, Standard-Webhooks
deliveries, 405s with Allow. Every answer passes through `PipecatCaller`, which validates it
against the OpenAPI document."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from agentcloud.testing import Emulator, Lifecycle, ManualClock
from tests.emulator.helpers import PipecatCaller

AGENT = "/v1/agents/my-agent"
standardwebhooks = pytest.importorskip("standardwebhooks")


async def create(pipecat: PipecatCaller, name: str = "bot", **fields: Any) -> dict[str, Any]:
    status, body = await pipecat.call(
        "POST", "/v1/agents", json_body={"serviceName": name, "image": "img:1", **fields}
    )
    assert status == 200, body
    return body


async def agent(pipecat: PipecatCaller, name: str = "bot") -> dict[str, Any]:
    status, body = await pipecat.call("GET", f"/v1/agents/{name}")
    assert status == 200, body
    return body


async def test_a_new_agent_is_reconciled_then_ready(
    clock: ManualClock, pipecat: PipecatCaller
) -> None:
    created = await create(pipecat, autoScaling={"minAgents": 1, "maxAgents": 3})
    assert created["ready"] is False
    assert "reconciledDeploymentId" not in created  # null right after create
    assert created["autoScaling"] == {"minReplicas": 1, "maxReplicas": 3}
    status, refused = await pipecat.call("POST", "/v1/public/bot/start", key="public", json_body={})
    assert (status, refused["code"]) == (400, "PCC-1001")
    clock.advance(0.5)
    reconciled = await agent(pipecat)
    assert reconciled["reconciledDeploymentId"] == created["desiredDeploymentId"]
    assert reconciled["ready"] is False
    assert reconciled["currentRevision"]["phase"] == "Validating"
    clock.advance(0.5)
    ready = await agent(pipecat)
    assert (ready["ready"], ready["available"]) == (True, True)
    assert ready["currentRevision"]["phase"] == "Active"


async def test_an_update_reports_the_old_ready_until_it_is_reconciled(
    clock: ManualClock, pipecat: PipecatCaller
) -> None:
    first = await create(pipecat)
    clock.advance(1)
    status, updated = await pipecat.call("POST", "/v1/agents/bot", json_body={"image": "img:2"})
    assert status == 200
    # The trap a naive deploy wait falls into: ready is still the old deployment's.
    assert updated["ready"] is True
    assert updated["desiredDeploymentId"] != first["desiredDeploymentId"]
    assert updated["reconciledDeploymentId"] == first["desiredDeploymentId"]
    assert updated["previousRevision"]["phase"] == "Draining"
    assert updated["deployment"]["manifest"]["spec"]["image"] == "img:2"
    clock.advance(0.5)
    validating = await agent(pipecat)
    assert validating["reconciledDeploymentId"] == updated["desiredDeploymentId"]
    assert (validating["ready"], validating["available"]) == (False, True)  # old pods serve
    await pipecat.start("bot")  # sessions are taken meanwhile
    clock.advance(0.5)
    assert (await agent(pipecat))["ready"] is True


async def test_only_a_change_or_force_redeploys(clock: ManualClock, pipecat: PipecatCaller) -> None:
    first = await create(pipecat)
    clock.advance(1)
    _, same = await pipecat.call("POST", "/v1/agents/bot", json_body={"image": "img:1"})
    assert same["desiredDeploymentId"] == first["desiredDeploymentId"]
    _, forced = await pipecat.call("POST", "/v1/agents/bot", json_body={"forceRedeploy": True})
    assert forced["desiredDeploymentId"] != first["desiredDeploymentId"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"serviceName": "Bad_Name", "image": "i"}, "Invalid serviceName"),
        ({"serviceName": "b" * 55, "image": "i"}, "Invalid serviceName"),
        ({"serviceName": "bot"}, "Either image or buildId"),
        ({"serviceName": "bot", "image": "i", "buildId": "b"}, "not both"),
        ({"serviceName": "bot", "image": "i", "region": "mars"}, "Invalid region"),
        ({"serviceName": "bot", "image": "i", "autoScaling": {"maxAgents": 51}}, "0..50"),
        ({"serviceName": "bot", "image": "i", "agentProfile": "agent-9x"}, "agentProfile"),
        ({"serviceName": "bot", "image": "i", "maxSessionDuration": 30}, "maxSessionDuration"),
        ({"serviceName": "my-agent", "image": "i"}, "already exists"),
    ],
)
async def test_create_checks(pipecat: PipecatCaller, body: dict[str, Any], message: str) -> None:
    status, answer = await pipecat.call("POST", "/v1/agents", json_body=body)
    assert status == 400
    assert answer["code"] == "GENERIC_BAD_REQUEST"
    assert message in answer["error"]


async def test_update_and_delete_errors(pipecat: PipecatCaller) -> None:
    status, answer = await pipecat.call("POST", "/v1/agents/nope", json_body={"image": "i"})
    assert (status, answer) == (404, {"error": "Service not found", "code": "NOT_FOUND"})
    status, answer = await pipecat.call("POST", AGENT, json_body={"region": "eu-central"})
    assert status == 400
    status, answer = await pipecat.call("DELETE", AGENT)
    assert (status, answer) == (200, {"status": "OK"})
    status, answer = await pipecat.call("DELETE", AGENT)
    assert (status, answer) == (404, {"error": "Not found", "code": "NOT_FOUND"})


async def test_regions(pipecat: PipecatCaller) -> None:
    status, body = await pipecat.call("GET", "/v1/regions")
    assert status == 200
    assert [r["code"] for r in body["regions"]] == ["us-west", "us-east", "eu-central", "ap-south"]
    status, body = await pipecat.call("GET", "/v1/regions", key="public")
    assert (status, body) == (401, {"error": "Unauthorized", "code": "UNAUTHORIZED"})


async def test_a_start_needs_a_body(pipecat: PipecatCaller) -> None:
    status, body = await pipecat.call("POST", "/v1/public/my-agent/start", key="public")
    assert (status, body["code"]) == (400, "GENERIC_BAD_REQUEST")


async def test_a_wrong_method_is_405_with_allow(emu: Emulator, http: aiohttp.ClientSession) -> None:
    async with http.put(emu.url + "/v1/agents", headers={}) as response:
        assert response.status == 405
        allowed = {m.strip() for m in response.headers["Allow"].split(",")}
        assert allowed >= {"GET", "POST"}
        body = await response.json()
    assert body == {"error": "Method not allowed", "code": "405"}


async def test_capacity_is_per_agent(pipecat: PipecatCaller, clock: ManualClock) -> None:
    await create(pipecat, autoScaling={"maxAgents": 2})
    clock.advance(1)
    first = await pipecat.start("bot")
    await pipecat.start("bot")
    status, body = await pipecat.call("POST", "/v1/public/bot/start", key="public", json_body={})
    assert (status, body["code"]) == (429, "PCC-AGENT-AT-CAPACITY")
    await pipecat.start()  # another agent is not affected
    await pipecat.call("DELETE", f"/v1/agents/bot/sessions/{first}")
    await pipecat.start("bot")


# -- logs -----------------------------------------------------------------------------


async def test_sessions_write_logs_and_the_listing_filters(
    emu: Emulator, clock: ManualClock, pipecat: PipecatCaller
) -> None:
    one = await pipecat.start()
    clock.advance(3)
    two = await pipecat.start()
    emu.pipecat_log("my-agent", "WARNING: custom line", session_id=two)
    _, everything = await pipecat.call("GET", f"{AGENT}/logs", params={"limit": "100"})
    messages = [line["log"] for line in everything["logs"]]
    assert messages[0] == "WARNING: custom line"  # newest first
    assert f"INFO: Bot started for session {one}" in messages
    assert everything["total"] == {"value": len(messages), "relation": "eq"}
    assert everything["logs"][0]["timestamp"].endswith("Z")
    assert len(everything["logs"][0]["timestamp"]) == len("2025-04-18T20:34:17.153744602Z")

    _, only_one = await pipecat.call("GET", f"{AGENT}/logs", params={"sessionId": one})
    assert all(one in line["log"] for line in only_one["logs"])
    _, oldest = await pipecat.call("GET", f"{AGENT}/logs", params={"order": "asc", "limit": "1"})
    assert oldest["logs"][0]["log"] == f"INFO: Starting bot for session {one}"
    _, found = await pipecat.call("GET", f"{AGENT}/logs", params={"query": "custom"})
    assert [line["log"] for line in found["logs"]] == ["WARNING: custom line"]
    start = str(int(clock.now()))
    _, recent = await pipecat.call("GET", f"{AGENT}/logs", params={"startTime": start})
    assert {two in line["log"] or "custom" in line["log"] for line in recent["logs"]} == {True}


async def test_a_large_logs_total_is_a_lower_bound(
    clock: ManualClock, http: aiohttp.ClientSession
) -> None:
    async with Emulator(clock=clock, pipecat_logs_total_cap=2) as emu:
        pipecat = PipecatCaller(emu, http)
        for _ in range(3):
            await pipecat.start()
        _, body = await pipecat.call("GET", f"{AGENT}/logs", params={"limit": "2"})
        assert body["total"] == {"value": 2, "relation": "gte"}
        assert len(body["logs"]) == 2


@pytest.mark.parametrize(
    "params", [{"startTime": "yesterday"}, {"order": "up"}, {"limit": "0"}, {"offset": "-1"}]
)
async def test_bad_log_queries(pipecat: PipecatCaller, params: dict[str, str]) -> None:
    status, body = await pipecat.call("GET", f"{AGENT}/logs", params=params)
    assert (status, body["code"]) == (400, "GENERIC_BAD_REQUEST")


async def test_logs_of_an_unknown_agent(pipecat: PipecatCaller) -> None:
    status, body = await pipecat.call("GET", "/v1/agents/nope/logs")
    assert (status, body) == (404, {"error": "Not found", "code": "NOT_FOUND"})


# -- the session API ------------------------------------------------------------------


async def test_the_bot_answers_once_it_runs(
    emu: Emulator, clock: ManualClock, pipecat: PipecatCaller
) -> None:
    def handler(request: Any) -> Any:
        return {"path": request.path, "got": request.json(), "query": dict(request.query)}

    bot = emu.pipecat_bot("my-agent", handler, not_ready_for=1.0)
    session = await pipecat.start()
    url = f"/v1/public/my-agent/sessions/{session}/context/deep"
    status, body = await pipecat.call("POST", url, key="public", json_body={"a": 1})
    assert (status, body["code"]) == (400, "PCC-1001")  # queued: the bot is not up
    clock.advance(2)  # running, but within the not-ready window
    status, body = await pipecat.call("POST", url, key="public", json_body={"a": 1})
    assert (status, body["code"]) == (400, "PCC-1001")
    assert not bot.calls
    clock.advance(1)
    status, body = await pipecat.call(
        "POST", url, key="public", json_body={"a": 1}, params={"q": "1"}
    )
    assert (status, body) == (200, {"path": "context/deep", "got": {"a": 1}, "query": {"q": "1"}})
    (call,) = bot.calls
    assert call.session_id == session
    assert "authorization" not in {name.lower() for name in call.headers}


async def test_the_bots_own_errors_pass_through(
    emu: Emulator, clock: ManualClock, http: aiohttp.ClientSession
) -> None:
    def handler(request: Any) -> Any:
        if request.path == "crash":
            raise RuntimeError("bug")
        if request.path == "teapot":
            return web.json_response({"detail": "short and stout"}, status=418)
        return (201, {"made": True})

    emu.pipecat_bot("my-agent", handler)
    async with emu.pipecat() as pc:
        session = await pc.sessions.start()
    clock.advance(2)
    base = f"{emu.url}/v1/public/my-agent/sessions/{session.id}"
    auth = {"Authorization": f"Bearer {emu.pipecat_public_key}"}
    async with http.post(f"{base}/crash", headers=auth) as response:
        assert (response.status, await response.text()) == (500, "Internal Server Error")
    async with http.post(f"{base}/teapot", headers=auth) as response:
        assert (response.status, await response.json()) == (418, {"detail": "short and stout"})
    async with http.post(f"{base}/make", headers=auth) as response:
        assert (response.status, await response.json()) == (201, {"made": True})
    async with http.head(f"{base}/make", headers=auth) as response:
        assert response.status == 201
        assert await response.read() == b""


async def test_session_api_errors(
    emu: Emulator, clock: ManualClock, pipecat: PipecatCaller
) -> None:
    session = await pipecat.start()
    clock.advance(2)
    base = f"/v1/public/my-agent/sessions/{session}"
    auth = {"Authorization": f"Bearer {emu.pipecat_public_key}"}
    async with pipecat.http.get(f"{emu.url}{base}/status", headers=auth) as response:
        # No bot: FastAPI's own 404, passed through (not the document's ErrorResponse).
        assert (response.status, await response.json()) == (404, {"detail": "Not Found"})
    status, body = await pipecat.call("GET", f"{base}/status", key="private")
    assert (status, body["code"]) == (401, "401")
    status, body = await pipecat.call(
        "GET", "/v1/public/my-agent/sessions/639f91d8-d511-4677-a83b-bd7564d5d92f/x", key="public"
    )
    assert (status, body) == (404, {"error": "Service not found", "code": "404"})
    status, body = await pipecat.call("GET", f"/v1/public/nope/sessions/{session}/x", key="public")
    assert status == 404
    emu.pipecat_bot("my-agent", lambda request: {})
    big = {"k": "x" * (1024 * 1024)}
    status, body = await pipecat.call("POST", f"{base}/x", key="public", json_body=big)
    assert status == 413
    await pipecat.call("DELETE", f"{AGENT}/sessions/{session}")
    status, body = await pipecat.call("GET", f"{base}/status", key="public")
    assert status == 404  # an ended session has no bot to reach


# -- webhooks -------------------------------------------------------------------------


async def test_deliveries_are_standard_webhooks(
    clock: ManualClock, http: aiohttp.ClientSession
) -> None:
    received: list[tuple[bytes, dict[str, str]]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((await request.read(), dict(request.headers)))
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        lifecycle = Lifecycle(start_delay=0.0, run_duration=None)
        async with Emulator(clock=clock, lifecycle=lifecycle) as emu:
            secret = emu.pipecat_webhooks(f"http://127.0.0.1:{port}/hook", spelling="both")
            assert secret.startswith("whsec_")
            pipecat = PipecatCaller(emu, http)
            session = await pipecat.start(transport="daily")
            await create(pipecat)
            await emu.settle()
    finally:
        await runner.cleanup()
    (started_body, started), (created_body, _) = received
    verifier = standardwebhooks.Webhook(secret)
    moment = datetime.fromtimestamp(int(started["svix-timestamp"]), UTC)
    assert abs((moment - datetime.fromtimestamp(clock.now(), UTC)).total_seconds()) < 1
    assert started["svix-id"] == started["webhook-id"]
    assert started["svix-id"].startswith("msg_")
    # The reference library checks the time against the real clock: re-sign the headers'
    # timestamp check aside by verifying the signature over the delivery's own timestamp.
    expected = verifier.sign(started["webhook-id"], moment, started_body.decode())
    assert expected in started["webhook-signature"].split()
    envelope = json.loads(started_body)
    assert envelope["event_type"] == "session.started"
    assert envelope["org"] == "emulator-org"
    assert envelope["data"] == {
        "session_id": session,
        "service": "my-agent",
        "region": "us-west",
        "transport": "daily",
    }
    assert json.loads(created_body)["event_type"] == "deployment.created"


async def test_the_official_clis_organization_paths(
    emu: Emulator, clock: ManualClock, pipecat: PipecatCaller
) -> None:
    session = await pipecat.start()
    clock.advance(3)
    for org in (emu.pipecat_organization, emu.pipecat_organization_id):
        base = f"/v1/organizations/{org}"
        status, listing = await pipecat.call("GET", f"{base}/services")
        assert [s["name"] for s in listing["services"]] == ["my-agent"]
        status, wrapped = await pipecat.call("GET", f"{base}/services/my-agent")
        assert wrapped["body"]["name"] == "my-agent"  # the CLI's {"body": ...} envelope
        status, sessions = await pipecat.call(
            "GET", f"{base}/services/my-agent/sessions", params={"endState": "active"}
        )
        assert [s["sessionId"] for s in sessions["sessions"]] == [session]
        status, details = await pipecat.call("GET", f"{base}/services/my-agent/sessions/{session}")
        assert details["events"][-1]["eventCode"] == "REQUEST_ARRIVED_AT_BOT"
        status, logs = await pipecat.call("GET", f"{base}/services/my-agent/logs")
        assert logs["logs"]
        status, regions = await pipecat.call("GET", f"{base}/regions")
        assert regions["regions"]
    status, stopped = await pipecat.call(
        "DELETE",
        f"/v1/organizations/{emu.pipecat_organization}/services/my-agent/sessions/{session}",
    )
    assert stopped == {"status": "terminated", "session_id": session}
    status, body = await pipecat.call("GET", "/v1/organizations/someone-else/services")
    assert (status, body["error"]) == (404, "Organization not found")
    status, body = await pipecat.call("GET", f"{AGENT}/sessions", params={"endState": "Bad-State"})
    assert (status, body["code"]) == (400, "GENERIC_BAD_REQUEST")
