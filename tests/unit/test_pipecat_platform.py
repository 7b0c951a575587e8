"""Pipecat beyond the four session calls, against mocked answers: capacity queueing, the
session API, logs, agents, regions, the STARTING stage and the lifecycle; every request
validated against Pipecat's OpenAPI document and every documented answer parsed."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from agentcloud import (
    AgentAtCapacityError,
    APIError,
    BadRequestError,
    BotReply,
    DeploymentFailedError,
    InvalidRequestError,
    LifecycleEvent,
    NotFoundError,
    PipecatCloud,
    Region,
    RequestTimeoutError,
    ServerError,
    SessionFailedError,
    SessionStatus,
    StartOutcomeUnknownError,
)
from agentcloud.errors import error_class_for_status
from agentcloud.providers.pipecat import BODY_LIMITS
from tests.helpers import PIPECAT_URL, FakeTime, sent
from tests.unit.pipecat_openapi import (
    Example,
    check_request,
    check_response,
    documented_examples,
    operation_request,
    sent_requests,
)

PRIVATE = "sk_test_private_0123456789"
PUBLIC = "pk_test_public_0123456789"
AGENT = "my-agent"
SID = "639f91d8-d511-4677-a83b-bd7564d5d92f"
START = f"{PIPECAT_URL}/v1/public/{AGENT}/start"
BOT = f"{PIPECAT_URL}/v1/public/{AGENT}/sessions/{SID}"
SESSIONS = f"{PIPECAT_URL}/v1/agents/{AGENT}/sessions"
LOGS = re.compile(r"^https://api\.pipecat\.daily\.co/v1/agents/my-agent/logs(\?.*)?$")
AGENTS = f"{PIPECAT_URL}/v1/agents"
AT_CAPACITY = {"error": "Agent my-agent is at capacity", "code": "PCC-AGENT-AT-CAPACITY"}
NOT_READY = {
    "error": "Attempt to start agent when deployment is not in ready state. "
    "Is your image pull secret valid?",
    "code": "PCC-1001",
}


@pytest.fixture(autouse=True)
def no_key_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PIPECAT_CLOUD_API_KEY", "PIPECAT_CLOUD_PUBLIC_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
async def client(clock: FakeTime) -> Any:
    async with PipecatCloud(PRIVATE, PUBLIC, agent=AGENT, retry=clock.policy()) as pc:
        yield pc


def example_of(operation: str, status: int) -> Any:
    for example in documented_examples(("/agents", "/{agentName}/start", "/regions", "/{s")):
        if example.operation == operation and example.status == status:
            return example.body
    raise LookupError(operation)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# -- capacity -------------------------------------------------------------------------


async def test_at_capacity_without_waiting_raises_after_the_ordinary_retries(
    client: PipecatCloud, mocked: Any
) -> None:
    mocked.post(START, status=429, payload=AT_CAPACITY, repeat=True)
    with pytest.raises(AgentAtCapacityError) as caught:
        await client.sessions.start()
    assert caught.value.code == "PCC-AGENT-AT-CAPACITY"
    assert caught.value.attempts == len(sent(mocked)) == 4


async def test_wait_for_capacity_queues_until_a_place_frees(
    client: PipecatCloud, clock: FakeTime, mocked: Any
) -> None:
    for _ in range(9):
        mocked.post(START, status=429, payload=AT_CAPACITY)
    mocked.post(START, payload={"sessionId": SID})
    session = await client.sessions.start(wait_for_capacity=120)
    assert session.id == SID
    assert len(sent(mocked)) == 10  # one session: every refusal started nothing
    # Capped back-off (pinned to its ceiling here): never longer than the policy's cap.
    assert max(clock.sleeps) <= 8.0
    assert sum(clock.sleeps) <= 120


async def test_wait_for_capacity_gives_up_after_its_seconds(
    client: PipecatCloud, clock: FakeTime, mocked: Any
) -> None:
    mocked.post(START, status=429, payload=AT_CAPACITY, repeat=True)
    began = clock.now
    with pytest.raises(AgentAtCapacityError) as caught:
        await client.sessions.start(wait_for_capacity=30)
    assert clock.now - began <= 30
    assert caught.value.attempts == len(sent(mocked))
    assert caught.value.attempts > 4


async def test_wait_for_capacity_follows_retry_after(
    client: PipecatCloud, clock: FakeTime, mocked: Any
) -> None:
    mocked.post(START, status=429, payload=AT_CAPACITY, headers={"Retry-After": "7"}, repeat=True)
    with pytest.raises(AgentAtCapacityError):
        await client.sessions.start(wait_for_capacity=20)
    assert set(clock.sleeps) == {7.0}


async def test_wait_for_capacity_never_repeats_an_ambiguous_start(
    client: PipecatCloud, mocked: Any
) -> None:
    mocked.post(START, status=429, payload=AT_CAPACITY)
    mocked.post(START, status=500, payload={"error": "boom", "code": "500"})
    mocked.post(START, payload={"sessionId": SID})
    with pytest.raises(StartOutcomeUnknownError):
        await client.sessions.start(wait_for_capacity=60)
    assert len(sent(mocked)) == 2


@pytest.mark.parametrize("bad", [0, -1, float("inf"), "10", True])
async def test_wait_for_capacity_is_checked(client: PipecatCloud, bad: Any) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        client.sessions.start(wait_for_capacity=bad)
    assert caught.value.argument == "wait_for_capacity"


# -- the STARTING stage and the lifecycle ---------------------------------------------


def detail(**extra: Any) -> dict[str, Any]:
    return {"sessionId": SID, "createdAt": "2025-10-22T08:39:20.000Z", "endedAt": None, **extra}


@pytest.mark.parametrize(
    ("wire", "status"),
    [
        (detail(botStartSeconds=None), SessionStatus.STARTING),
        (detail(botStartSeconds=2), SessionStatus.RUNNING),
        (detail(events=[{"eventCode": "SESSION_START_INITIATED"}]), SessionStatus.STARTING),
        (
            detail(
                botStartSeconds=None,
                events=[
                    {"eventCode": "SESSION_START_INITIATED"},
                    {"eventCode": "REQUEST_ARRIVED_AT_BOT"},
                ],
            ),
            SessionStatus.RUNNING,
        ),
        (detail(botStartSeconds=None, endState="active"), SessionStatus.STARTING),
        (detail(), SessionStatus.RUNNING),  # an API too old to tell
        (
            detail(botStartSeconds=None, endedAt="2025-10-22T08:39:26.000Z"),
            SessionStatus.ENDED,
        ),
        (
            detail(botStartSeconds=None, endState="ended_before_agent_start"),
            SessionStatus.FAILED,
        ),
    ],
)
async def test_starting_until_the_bot_is_up(
    client: PipecatCloud, mocked: Any, wire: dict[str, Any], status: SessionStatus
) -> None:
    mocked.get(f"{SESSIONS}/{SID}", payload=wire)
    assert (await client.sessions.get(SID)).status is status


async def test_lifecycle_is_read_from_events(client: PipecatCloud, mocked: Any) -> None:
    events = [
        {"eventCode": "SESSION_START_INITIATED", "eventTs": "2025-10-22T08:39:20.000Z"},
        {"eventCode": "REQUEST_ARRIVED_AT_BOT", "eventTs": "2025-10-22T08:39:22.000Z"},
        {"eventCode": "SOMETHING_NEW"},
        {"eventTs": "2025-10-22T08:39:23.000Z"},
        "junk",
        {"eventCode": "SESSION_COMPLETED", "eventTs": "not a time"},
    ]
    mocked.get(f"{SESSIONS}/{SID}", payload=detail(events=events))
    session = await client.sessions.get(SID)
    assert session.lifecycle == (
        LifecycleEvent(code="SESSION_START_INITIATED", at=utc("2025-10-22T08:39:20.000Z")),
        LifecycleEvent(code="REQUEST_ARRIVED_AT_BOT", at=utc("2025-10-22T08:39:22.000Z")),
        LifecycleEvent(code="SOMETHING_NEW", at=None),
        LifecycleEvent(code="SESSION_COMPLETED", at=None),
    )
    assert session.raw["events"] == events
    mocked.get(f"{SESSIONS}/{SID}", payload=detail())
    assert (await client.sessions.get(SID)).lifecycle is None


async def test_wait_for_running_means_the_bot_is_up(
    client: PipecatCloud, clock: FakeTime, mocked: Any
) -> None:
    mocked.get(f"{SESSIONS}/{SID}", payload=detail(botStartSeconds=None))
    mocked.get(f"{SESSIONS}/{SID}", payload=detail(botStartSeconds=None))
    mocked.get(f"{SESSIONS}/{SID}", payload=detail(botStartSeconds=1))
    session = await client.sessions.wait(SID, until="running", timeout=60)
    assert session.status is SessionStatus.RUNNING
    assert len(sent(mocked)) == 3


async def test_wait_for_running_sees_a_start_that_fails(client: PipecatCloud, mocked: Any) -> None:
    mocked.get(f"{SESSIONS}/{SID}", payload=detail(botStartSeconds=None))
    mocked.get(
        f"{SESSIONS}/{SID}",
        payload=detail(
            botStartSeconds=None,
            endState="agent_start_timeout",
            endedAt="2025-10-22T08:39:21.000Z",
        ),
    )
    with pytest.raises(SessionFailedError):
        await client.sessions.wait(SID, until="running", timeout=60)


async def test_end_state_filter_reaches_the_wire(client: PipecatCloud, mocked: Any) -> None:
    mocked.get(
        re.compile(rf"^{re.escape(SESSIONS)}\?.*$"), payload={"total_count": 0, "sessions": []}
    )
    await client.sessions.list(end_state="agent_error").collect()
    ((_, url, _),) = sent(mocked)
    assert "endState=agent_error" in url


@pytest.mark.parametrize("bad", ["Agent_Error", "agent-error", "", "a" * 65, 3])
def test_end_state_must_look_like_one(client: PipecatCloud, bad: Any) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        client.sessions.list(end_state=bad)
    assert caught.value.argument == "end_state"


# -- the session API --------------------------------------------------------------------


async def test_send_posts_json_to_the_bot_with_the_public_key(
    client: PipecatCloud, mocked: Any
) -> None:
    mocked.post(f"{BOT}/context", payload={"ok": True}, headers={"X-Bot": "yes"})
    reply = await client.sessions.send(SID, "context", json={"text": "hi"}, headers={"X-A": "1"})
    assert isinstance(reply, BotReply)
    assert (reply.status, reply.json(), reply.headers["X-Bot"], reply.ok) == (
        200,
        {"ok": True},
        "yes",
        True,
    )
    (request,) = sent_requests(mocked)
    check_request(request)
    assert request.parameters.header["Authorization"] == f"Bearer {PUBLIC}"
    ((_, _, kwargs),) = sent(mocked)
    assert json.loads(kwargs["data"]) == {"text": "hi"}
    assert kwargs["headers"]["X-A"] == "1"


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
async def test_every_method_matches_the_document(
    client: PipecatCloud, mocked: Any, method: str
) -> None:
    mocked.add(f"{BOT}/status", method, payload={"state": "ok"})
    body = None if method in ("GET", "DELETE") else {"k": "v"}
    reply = await client.sessions.send(SID, "/status", method=method.lower(), json=body)
    assert reply.json() == {"state": "ok"}
    for request in sent_requests(mocked):
        check_request(request)
    check_response(
        operation_request(method, "/{serviceName}/sessions/{sessionId}/{path}"), 200, reply.json()
    )


async def test_send_raw_bytes_and_nested_paths(client: PipecatCloud, mocked: Any) -> None:
    mocked.put(f"{BOT}/files/a%20b.txt", body=b"stored", content_type="text/plain")
    reply = await client.sessions.send(SID, "files/a b.txt", method="PUT", data=b"\x00\x01")
    assert (reply.body, reply.text) == (b"stored", "stored")
    with pytest.raises(Exception, match="not JSON"):
        reply.json()
    ((_, _, kwargs),) = sent(mocked)
    assert kwargs["data"] == b"\x00\x01"
    assert kwargs["headers"]["Content-Type"] == "application/octet-stream"


async def test_not_ready_is_retried_until_ready_timeout(
    client: PipecatCloud, clock: FakeTime, mocked: Any
) -> None:
    for _ in range(6):
        mocked.post(f"{BOT}/context", status=400, payload=NOT_READY)
    mocked.post(f"{BOT}/context", payload={"ok": 1})
    reply = await client.sessions.send(SID, "context", json={}, ready_timeout=60)
    assert reply.json() == {"ok": 1}
    assert len(sent(mocked)) == 7  # a POST, repeated: PCC-1001 never reached the bot


async def test_not_ready_past_ready_timeout_raises(
    client: PipecatCloud, clock: FakeTime, mocked: Any
) -> None:
    mocked.post(f"{BOT}/context", status=400, payload=NOT_READY, repeat=True)
    began = clock.now
    with pytest.raises(BadRequestError) as caught:
        await client.sessions.send(SID, "context", ready_timeout=5)
    assert caught.value.code == "PCC-1001"
    assert clock.now - began <= 5 + 8  # the ready window, and at most one capped pause


async def test_the_bots_own_errors_are_replies_unless_asked(
    client: PipecatCloud, mocked: Any
) -> None:
    mocked.post(f"{BOT}/x", status=422, payload={"detail": "bad input"}, repeat=True)
    reply = await client.sessions.send(SID, "x", json={})
    assert (reply.status, reply.ok, reply.json()) == (422, False, {"detail": "bad input"})
    with pytest.raises(BadRequestError) as caught:
        await client.sessions.send(SID, "x", json={}, raise_for_status=True)
    assert caught.value.status == 422
    assert "bad input" in caught.value.message
    assert caught.value.body == {"detail": "bad input"}


async def test_a_bot_500_is_never_repeated_for_a_post(client: PipecatCloud, mocked: Any) -> None:
    mocked.post(f"{BOT}/x", status=500, body="Internal Server Error", repeat=True)
    reply = await client.sessions.send(SID, "x", json={})
    assert (reply.status, reply.text) == (500, "Internal Server Error")
    assert len(sent(mocked)) == 1


async def test_pipecats_own_errors_are_raised(client: PipecatCloud, mocked: Any) -> None:
    mocked.get(f"{BOT}/x", status=404, payload={"error": "Service not found", "code": "404"})
    with pytest.raises(NotFoundError):
        await client.sessions.send(SID, "x", method="GET")
    mocked.post(f"{BOT}/y", status=500, payload={"error": "Internal", "code": "500"})
    with pytest.raises(ServerError):
        await client.sessions.send(SID, "y")
    assert len(sent(mocked, "POST")) == 1  # a POST Pipecat may have forwarded: not repeated


async def test_a_gateway_error_on_a_get_is_retried(client: PipecatCloud, mocked: Any) -> None:
    mocked.get(f"{BOT}/x", status=502, body="<html>Bad Gateway</html>")
    mocked.get(f"{BOT}/x", payload={"ok": True})
    reply = await client.sessions.send(SID, "x", method="GET")
    assert reply.json() == {"ok": True}


async def test_send_limits_follow_the_sessions_transport(client: PipecatCloud, mocked: Any) -> None:
    mocked.post(START, payload={"sessionId": SID, "wsUrl": "wss://x", "token": "t"})
    await client.sessions.start(transport="websocket")
    too_big = {"k": "x" * BODY_LIMITS["websocket"]}
    with pytest.raises(InvalidRequestError) as caught:
        await client.sessions.send(SID, "x", json=too_big)
    assert caught.value.argument == "json"
    mocked.post(f"{BOT}/x", payload={})
    await client.sessions.send(SID, "x", json=too_big, transport="daily")  # the caller knows
    with pytest.raises(InvalidRequestError) as caught:
        await client.sessions.send(SID, "x", data=b"x" * (BODY_LIMITS["daily"] + 1))
    assert caught.value.argument == "data"


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"path": ""}, "path"),
        ({"path": "a/../b"}, "path"),
        ({"path": "a?b=1"}, "path"),
        ({"method": "TRACE"}, "method"),
        ({"json": {"a": 1}, "data": b"x"}, "data"),
        ({"data": "text"}, "data"),
        ({"headers": {"Authorization": "x"}}, "headers"),
        ({"headers": {"X": "a\r\nb"}}, "headers"),
        ({"method": "GET", "json": {}}, "json"),
        ({"ready_timeout": 0}, "ready_timeout"),
        ({"session_id": "a/b"}, "session_id"),
        ({"json": float("nan")}, "json"),
    ],
)
async def test_send_arguments_are_checked_before_sending(
    client: PipecatCloud, mocked: Any, kwargs: dict[str, Any], argument: str
) -> None:
    options: dict[str, Any] = {"session_id": SID, "path": "x", **kwargs}
    with pytest.raises(InvalidRequestError) as caught:
        await client.sessions.send(options.pop("session_id"), options.pop("path"), **options)
    assert caught.value.argument == argument
    assert not sent(mocked)


async def test_send_needs_the_public_key(clock: FakeTime, mocked: Any) -> None:
    async with PipecatCloud(PRIVATE, agent=AGENT, retry=clock.policy()) as private_only:
        with pytest.raises(InvalidRequestError) as caught:
            await private_only.sessions.send(SID, "x")
    assert caught.value.argument == "public_key"


async def test_send_timeout_bounds_the_whole_call(
    client: PipecatCloud, clock: FakeTime, mocked: Any
) -> None:
    mocked.post(f"{BOT}/x", status=400, payload=NOT_READY, repeat=True)
    with pytest.raises(RequestTimeoutError):
        await client.sessions.send(SID, "x", ready_timeout=600, timeout=10)


# -- logs ---------------------------------------------------------------------------------


def log_page(count: int, *, start: int, total: int, relation: str) -> dict[str, Any]:
    return {
        "total": {"value": total, "relation": relation},
        "logs": [
            {
                "log": f"line {start + i}",
                "timestamp": f"2025-04-18T20:34:{(start + i) % 60:02d}.153744602Z",
            }
            for i in range(count)
        ],
    }


async def test_logs_walk_past_a_lower_bound_total(client: PipecatCloud, mocked: Any) -> None:
    mocked.get(LOGS, payload=log_page(3, start=0, total=3, relation="gte"))
    mocked.get(LOGS, payload=log_page(3, start=3, total=3, relation="gte"))
    mocked.get(LOGS, payload=log_page(1, start=6, total=7, relation="eq"))
    entries = await client.logs.list(per_page=3).collect()
    assert [entry.message for entry in entries] == [f"line {i}" for i in range(7)]
    assert len(sent(mocked)) == 3


async def test_logs_stop_at_an_exact_total(client: PipecatCloud, mocked: Any) -> None:
    mocked.get(LOGS, payload=log_page(3, start=0, total=3, relation="eq"))
    assert len(await client.logs.list(per_page=3).collect()) == 3
    assert len(sent(mocked)) == 1


async def test_logs_filters_and_entries(client: PipecatCloud, mocked: Any) -> None:
    wire = example_of("getLogs", 200)
    wire["logs"][0]["deploymentId"] = "dep-1"
    mocked.get(LOGS, payload=wire)
    after = datetime(2025, 4, 18, 20, 0, tzinfo=UTC)
    before = datetime(2025, 4, 18, 21, 0, 0, 500000, tzinfo=UTC)
    entries = await client.logs.list(
        session_id=SID,
        deployment_id="dep-1",
        query="Uvicorn",
        order="asc",
        after=after,
        before=before,
        per_page=5,
        max_items=5,
    ).collect()
    (request,) = sent_requests(mocked)
    result = check_request(request)
    assert result.parameters.query == {
        "sessionId": SID,
        "deploymentId": "dep-1",
        "query": "Uvicorn",
        "order": "asc",
        "startTime": int(after.timestamp()),
        "endTime": int(before.timestamp()) + 1,
        "limit": 5,
        "offset": 0,
    }
    first = entries[0]
    assert first.message == "INFO:     Finished server process [1]"
    assert first.timestamp == datetime(2025, 4, 18, 20, 34, 17, 153744, tzinfo=UTC)
    assert (first.deployment_id, first.session_id, first.level) == ("dep-1", SID, None)
    assert first.raw == wire["logs"][0]
    assert entries[1].deployment_id is None


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"order": "newest"}, "order"),
        ({"query": ""}, "query"),
        ({"session_id": "a/b"}, "session_id"),
        ({"after": datetime(2025, 1, 1)}, "after"),
        (
            {
                "after": datetime(2025, 1, 2, tzinfo=UTC),
                "before": datetime(2025, 1, 1, tzinfo=UTC),
            },
            "before",
        ),
    ],
)
def test_logs_arguments_are_checked(
    client: PipecatCloud, kwargs: dict[str, Any], argument: str
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        client.logs.list(**kwargs)
    assert caught.value.argument == argument


# -- agents and regions -------------------------------------------------------------------


async def test_create_sends_the_documented_body(client: PipecatCloud, mocked: Any) -> None:
    mocked.post(AGENTS, payload=example_of("createService", 200))
    agent = await client.agents.create(
        "voice-starter",
        image="your-dockername/voice-starter:0.1",
        region="us-west",
        secret_set="voice-starter-secrets",
        image_pull_secret_set="dockerhub-credentials",
        min_agents=1,
        max_agents=20,
        agent_profile="agent-1x",
        krisp_viva="tel",
        max_session_duration=3600,
        node_type="arm",
    )
    (request,) = sent_requests(mocked)
    result = check_request(request)
    assert json.loads(request.body or b"") == {
        "serviceName": "voice-starter",
        "image": "your-dockername/voice-starter:0.1",
        "region": "us-west",
        "nodeType": "arm",
        "imagePullSecretSet": "dockerhub-credentials",
        "secretSet": "voice-starter-secrets",
        "autoScaling": {"minAgents": 1, "maxAgents": 20},
        "krispViva": {"audioFilter": "tel"},
        "agentProfile": "agent-1x",
        "maxSessionDuration": 3600,
    }
    assert result.body is not None
    assert agent.name == "voice-starter"
    assert agent.reconciled_deployment_id is None  # right after create
    assert agent.deployed is False
    assert (agent.min_agents, agent.max_agents) == (1, 20)


async def test_create_is_sent_at_most_once(client: PipecatCloud, mocked: Any) -> None:
    mocked.post(AGENTS, status=502, body="bad gateway", repeat=True)
    with pytest.raises(ServerError):
        await client.agents.create("bot", image="img")
    assert len(sent(mocked)) == 1


async def test_update_and_force_redeploy(client: PipecatCloud, mocked: Any) -> None:
    url = f"{AGENTS}/voice-starter"
    mocked.post(url, payload=example_of("updateService", 200), repeat=True)
    await client.agents.update("voice-starter", min_agents=2, krisp_viva="off")
    await client.agents.update("voice-starter", force_redeploy=True)
    first, second = sent_requests(mocked)
    for request in (first, second):
        check_request(request)
    assert json.loads(first.body or b"") == {
        "autoScaling": {"minAgents": 2},
        "krispViva": {"audioFilter": None},
    }
    assert json.loads(second.body or b"") == {"forceRedeploy": True}


async def test_update_is_retried_but_a_redeploy_is_not(client: PipecatCloud, mocked: Any) -> None:
    url = f"{AGENTS}/bot"
    mocked.post(url, status=503, body="unavailable")
    mocked.post(url, payload=example_of("updateService", 200))
    await client.agents.update("bot", max_agents=3)
    mocked.post(url, status=503, body="unavailable", repeat=True)
    with pytest.raises(ServerError):
        await client.agents.update("bot", force_redeploy=True)
    assert len(sent(mocked)) == 3


async def test_delete(client: PipecatCloud, mocked: Any) -> None:
    mocked.delete(f"{AGENTS}/bot", payload={"status": "OK"})
    assert await client.agents.delete("bot") is None
    mocked.delete(f"{AGENTS}/gone", status=404, payload={"error": "Not found", "code": "NOT_FOUND"})
    with pytest.raises(NotFoundError):
        await client.agents.delete("gone")
    for request in sent_requests(mocked):
        check_request(request)


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"name": "Bot"}, "name"),
        ({"name": "-bot"}, "name"),
        ({"name": "b" * 55}, "name"),
        ({"name": "bot"}, "image"),
        ({"image": "a", "build_id": "b"}, "build_id"),
        ({"image": "a", "min_agents": 3, "max_agents": 2}, "min_agents"),
        ({"image": "a", "max_agents": 51}, "max_agents"),
        ({"image": "a", "agent_profile": "agent-9x"}, "agent_profile"),
        ({"image": "a", "krisp_viva": "max"}, "krisp_viva"),
        ({"image": "a", "max_session_duration": 59}, "max_session_duration"),
    ],
)
async def test_create_arguments_are_checked(
    client: PipecatCloud, mocked: Any, kwargs: dict[str, Any], argument: str
) -> None:
    options = {"name": "bot", **kwargs}
    with pytest.raises(InvalidRequestError) as caught:
        await client.agents.create(options.pop("name"), **options)
    assert caught.value.argument == argument
    assert not sent(mocked)


async def test_an_empty_update_is_refused(client: PipecatCloud) -> None:
    with pytest.raises(InvalidRequestError):
        await client.agents.update("bot")


def agent_state(desired: str, reconciled: str | None, ready: bool) -> dict[str, Any]:
    state: dict[str, Any] = {"name": "bot", "ready": ready, "desiredDeploymentId": desired}
    if reconciled is not None:
        state["reconciledDeploymentId"] = reconciled
    return state


async def test_wait_ready_does_not_trust_an_early_ready(client: PipecatCloud, mocked: Any) -> None:
    url = f"{AGENTS}/bot"
    mocked.get(url, payload=agent_state("new", "old", True))  # the old deployment's ready
    mocked.get(url, payload=agent_state("new", "new", False))  # reconciled, validating
    mocked.get(url, status=503, body="flap")
    mocked.get(url, status=503, body="flap")
    mocked.get(url, status=503, body="flap")
    mocked.get(url, status=503, body="flap")
    mocked.get(url, payload=agent_state("new", "new", True))
    agent = await client.agents.wait_ready("bot", timeout=600)
    assert agent.deployed
    assert agent.reconciled_deployment_id == "new"


async def test_wait_ready_times_out_naming_the_state(
    client: PipecatCloud, clock: FakeTime, mocked: Any
) -> None:
    mocked.get(f"{AGENTS}/bot", payload=agent_state("new", "old", True), repeat=True)
    began = clock.now
    with pytest.raises(RequestTimeoutError) as caught:
        await client.agents.wait_ready("bot", timeout=20)
    assert clock.now - began == pytest.approx(20)
    assert "reconciled old" in str(caught.value)


async def test_wait_ready_stops_at_a_failed_deploy_and_keeps_the_vendors_reasons(
    client: PipecatCloud, clock: FakeTime, mocked: Any
) -> None:
    failed = agent_state("new", "new", False)
    failed["errors"] = [
        {"code": "IMAGE_PULL", "message": f"cannot pull with {PRIVATE}"},  # echoes the key
        "disk full",
        {"unexpected": True},
    ]
    mocked.get(f"{AGENTS}/bot", payload=agent_state("new", "old", True))
    mocked.get(f"{AGENTS}/bot", payload=failed, repeat=True)
    began = clock.now
    with pytest.raises(DeploymentFailedError) as caught:
        await client.agents.wait_ready("bot", timeout=600)
    assert clock.now - began < 600  # stopped at the failure, not at the timeout
    assert caught.value.name == "bot"
    assert caught.value.errors[0] == f"IMAGE_PULL: cannot pull with {PRIVATE}"
    assert caught.value.errors[1:] == ("disk full", "{'unexpected': True}")
    message = str(caught.value)
    assert "'bot' failed to deploy: IMAGE_PULL: cannot pull with" in message
    assert "(and 2 more)" in message
    assert PRIVATE not in message
    assert PRIVATE not in repr(caught.value)
    assert len(sent(mocked)) == 2


@pytest.mark.parametrize(
    "errors", [None, [], "a string", 7, {"code": "X"}], ids=["null", "empty", "str", "int", "obj"]
)
async def test_an_agent_status_without_a_list_of_errors_has_none(
    client: PipecatCloud, mocked: Any, errors: Any
) -> None:
    state = agent_state("new", "new", True)
    state["errors"] = errors
    mocked.get(f"{AGENTS}/bot", payload=state)
    agent = await client.agents.get("bot")
    assert agent.errors == ()
    assert agent.deployed


async def test_a_status_with_endless_errors_keeps_a_bounded_few(
    client: PipecatCloud, mocked: Any
) -> None:
    state = agent_state("new", "new", False)
    state["errors"] = ["x" * 2_000] * 2_000  # 4 MB, under the body limit
    mocked.get(f"{AGENTS}/bot", payload=state)
    agent = await client.agents.get("bot")
    assert 0 < len(agent.errors) <= 20
    assert all(len(text) <= 500 for text in agent.errors)


async def test_list_with_the_active_deployment(client: PipecatCloud, mocked: Any) -> None:
    listing = re.compile(r"^https://api\.pipecat\.daily\.co/v1/agents(\?.*)?$")
    mocked.get(listing, payload=example_of("listServices", 200))
    agents = await client.agents.list(include_active_deployment=True, region="us-west").collect()
    (request,) = sent_requests(mocked)
    assert check_request(request).parameters.query == {
        "includeActiveDeployment": True,
        "region": "us-west",
    }
    assert agents


async def test_regions(client: PipecatCloud, mocked: Any) -> None:
    mocked.get(f"{PIPECAT_URL}/v1/regions", payload=example_of("listRegions", 200))
    regions = await client.regions.list()
    assert regions[0] == Region(code="us-west", display_name="US West (Oregon)")
    assert [r.code for r in regions] == ["us-west", "us-east", "eu-central", "ap-south"]
    for request in sent_requests(mocked):
        check_request(request)


# -- every documented answer of the new operations -------------------------------------

NEW_OPERATIONS = {
    "createService": ("POST", AGENTS),
    "updateService": ("POST", f"{AGENTS}/{AGENT}"),
    "deleteService": ("DELETE", f"{AGENTS}/{AGENT}"),
    "getLogs": ("GET", LOGS),
    "listRegions": ("GET", f"{PIPECAT_URL}/v1/regions"),
    "sessionProxyPost": ("POST", f"{BOT}/status"),
    "sessionProxyGet": ("GET", f"{BOT}/status"),
}


async def _call(client: PipecatCloud, operation: str) -> Any:
    if operation == "createService":
        return await client.agents.create(AGENT, image="img")
    if operation == "updateService":
        return await client.agents.update(AGENT, image="img")
    if operation == "deleteService":
        return await client.agents.delete(AGENT)
    if operation == "getLogs":
        return await client.logs.list(max_items=5).collect()
    if operation == "listRegions":
        return await client.regions.list()
    method = "POST" if operation == "sessionProxyPost" else "GET"
    return await client.sessions.send(SID, "status", method=method)


def new_examples() -> list[Any]:
    return [
        pytest.param(example, id=example.id)
        for example in documented_examples(("/agents", "/regions", "/{serviceName}"))
        if example.operation in NEW_OPERATIONS
    ]


@pytest.mark.parametrize("example", new_examples())
async def test_every_documented_answer_of_the_new_calls(
    client: PipecatCloud, mocked: Any, example: Example
) -> None:
    method, url = NEW_OPERATIONS[example.operation]
    mocked.add(url, method, status=example.status, payload=example.body, repeat=True)
    if example.status >= 400:
        with pytest.raises(APIError) as caught:
            await _call(client, example.operation)
        assert type(caught.value) is error_class_for_status(example.status)
        assert caught.value.code == example.body["code"]
        return
    result = await _call(client, example.operation)
    if isinstance(result, BotReply):
        assert result.json() == example.body
    elif isinstance(result, list):
        assert result
