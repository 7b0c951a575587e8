"""VideoSDK adapter: documented examples parse exactly, requests match the wire format."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest

import agentcloud
from agentcloud import (
    Deployment,
    InvalidRequestError,
    SessionStatus,
    VideoSDK,
    VideoSDKSession,
    Webhook,
)
from agentcloud.providers.videosdk import START_MARKER, TokenMinter
from tests.helpers import API_KEY, SECRET, VIDEOSDK_URL, FakeTime, body_of, fixture, sent

SESSIONS = f"{VIDEOSDK_URL}/ai/v1/ai-deployment-sessions"
LIST_URL = re.compile(r"^https://api\.videosdk\.live/ai/v1/ai-deployment-sessions\?.*$")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
async def client(clock: FakeTime) -> Any:
    async with VideoSDK(API_KEY, SECRET, retry=clock.policy()) as vs:
        yield vs


async def test_start_example_parses_with_documented_values(client: VideoSDK, mocked: Any) -> None:
    mocked.post(f"{SESSIONS}/start", payload=fixture("videosdk-start-session.json"))
    session = await client.sessions.start(deployment_id="2f5f787c", tag="v1.0")
    assert isinstance(session, VideoSDKSession)
    assert session.id == "8a93774e-caa0-4cd8-9c63-f2771b031b74"
    assert session.provider == "videosdk"
    assert session.status is SessionStatus.QUEUED
    assert session.raw_status == "queued"
    assert session.deployment_id == "2f5f787c-0396-4ae0-929c-f5853628267a"
    assert session.tag == "v1.0"
    assert session.started_at == utc("2025-06-18T11:16:10.643Z")
    assert session.created_at == utc("2025-06-18T11:16:10.644Z")
    assert session.updated_at == utc("2025-06-18T11:16:10.644Z")
    assert session.ended_at is None
    assert session.duration is None
    assert session.created_at is not None
    assert session.created_at.tzinfo is UTC
    assert session.raw == fixture("videosdk-start-session.json")["data"]


async def test_end_example_parses_with_documented_values(client: VideoSDK, mocked: Any) -> None:
    mocked.post(f"{SESSIONS}/end", payload=fixture("videosdk-end-session.json"))
    session = await client.sessions.end("8a93774e-caa0-4cd8-9c63-f2771b031b74")
    assert session.id == "8a93774e-caa0-4cd8-9c63-f2771b031b74"
    assert session.status is SessionStatus.ENDED
    assert session.raw_status == "completed"
    assert session.started_at == utc("2025-06-18T11:16:10.643Z")
    assert session.ended_at == utc("2025-06-18T11:16:54.314Z")
    assert session.duration == 43.0
    assert session.updated_at == utc("2025-06-18T11:16:34.314Z")


async def test_details_example_parses_with_documented_values(client: VideoSDK, mocked: Any) -> None:
    sid = "788d0173-fa9c-404b-a2cf-69d38a1fe952"
    mocked.get(f"{SESSIONS}/{sid}", payload=fixture("videosdk-fetch-session-details.json"))
    session = await client.sessions.get(sid)
    assert session.id == sid
    assert session.status is SessionStatus.ENDED
    assert session.deployment_id == "2f5f787c-0396-4ae0-929c-f5853628267a"
    assert session.tag == "v1.0"
    assert session.started_at == utc("2025-06-18T11:15:07.275Z")
    assert session.ended_at == utc("2025-06-18T11:16:03.575Z")
    assert session.duration == 56.0
    assert session.created_at == utc("2025-06-18T11:15:07.276Z")
    assert session.metadata is None  # the details answer does not carry it: unknown
    assert session.webhook is None


async def test_list_example_parses_with_webhook_metadata_and_page_info(
    client: VideoSDK, mocked: Any
) -> None:
    mocked.get(LIST_URL, payload=fixture("videosdk-fetch-sessions.json"))
    pages = [page async for page in client.sessions.list(per_page=1, max_items=1).pages()]
    assert len(pages) == 1
    page = pages[0]
    assert page.number == 1
    assert page.total == 113
    (session,) = page.items
    assert session.id == "788d0173-fa9c-404b-a2cf-69d38a1fe952"
    assert session.deployment_id == "2f5f787c-0386-4ae0-929c-f5853628267a"
    assert session.webhook == Webhook(
        "webhook_url",
        events=("ai-deployment-session-starting", "ai-deployment-session-started"),
    )
    assert session.metadata == {}
    assert session.duration == 56.0
    assert session.ended_at == utc("2025-06-18T11:16:03.575Z")
    assert session.status is SessionStatus.ENDED


async def test_start_sends_documented_body_and_raw_jwt(client: VideoSDK, mocked: Any) -> None:
    mocked.post(f"{SESSIONS}/start", payload=fixture("videosdk-start-session.json"))
    await client.sessions.start(
        deployment_id="5bf19efa-22af-41d8-8a3f-b4dbd3f8bcac",
        tag="v1.0",
        env={"env_1": "value", "env_2": "value2"},
        metadata={"key_1": "value"},
        webhook=Webhook("https://example.com/hook", events=["ai-deployment-session-started"]),
    )
    ((method, url, kwargs),) = sent(mocked)
    assert (method, url) == ("POST", f"{SESSIONS}/start")
    body = body_of(kwargs)
    assert set(body) == {"deploymentId", "tag", "env", "metaData", "webhook"}
    assert body["deploymentId"] == "5bf19efa-22af-41d8-8a3f-b4dbd3f8bcac"
    assert body["tag"] == "v1.0"
    assert body["env"] == {"env_1": "value", "env_2": "value2"}
    assert body["metaData"]["key_1"] == "value"
    assert re.fullmatch(r"[0-9a-f]{32}", body["metaData"][START_MARKER])
    assert body["webhook"] == {
        "endPoint": "https://example.com/hook",
        "events": ["ai-deployment-session-started"],
    }
    headers = kwargs["headers"]
    assert headers["Content-Type"] == "application/json"
    token = headers["Authorization"]
    assert not token.lower().startswith(("bearer", "basic"))
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["apikey"] == API_KEY
    assert claims["roles"] == ["crawler"]
    assert claims["permissions"] == ["allow_join", "allow_mod"]
    assert claims["version"] == 2
    assert claims["exp"] - claims["iat"] == 24 * 3600


async def test_end_and_get_send_documented_requests(client: VideoSDK, mocked: Any) -> None:
    mocked.post(f"{SESSIONS}/end", payload=fixture("videosdk-end-session.json"))
    mocked.get(f"{SESSIONS}/abc%20def", payload=fixture("videosdk-fetch-session-details.json"))
    await client.sessions.end("sid-1")
    await client.sessions.get("abc def")
    calls = sent(mocked)
    assert calls[0][0:2] == ("POST", f"{SESSIONS}/end")
    assert body_of(calls[0][2]) == {"sessionId": "sid-1"}
    assert calls[1][0:2] == ("GET", f"{SESSIONS}/abc%20def")
    assert calls[1][2]["data"] is None


async def test_list_sends_page_and_per_page(client: VideoSDK, mocked: Any) -> None:
    mocked.get(LIST_URL, payload={"data": [], "pageInfo": {"totalItems": 0, "perPage": 25}})
    assert await client.sessions.list(per_page=25).collect() == []
    ((_, _url, kwargs),) = sent(mocked)
    assert kwargs["params"] == {"page": "1", "perPage": "25"}


def test_token_minter_caches_and_renews_before_expiry() -> None:
    now = [1_000_000.0]
    minter = TokenMinter(API_KEY, SECRET, ttl=3600, now=lambda: now[0])
    first = minter()
    now[0] += 3600 - 60 - 61  # the token expires a ttl after its iat, a minute back
    assert minter() == first
    now[0] += 2  # inside the 60 s renewal margin
    second = minter()
    assert second != first
    claims = jwt.decode(second, SECRET, algorithms=["HS256"], options={"verify_exp": False})
    # Issued a minute back, so a local clock somewhat ahead of VideoSDK's is tolerated.
    assert claims["iat"] == int(now[0]) - 60
    assert claims["exp"] == int(now[0]) - 60 + 3600


async def test_ready_token_is_sent_as_is(mocked: Any) -> None:
    mocked.get(f"{SESSIONS}/s1", payload=fixture("videosdk-fetch-session-details.json"))
    async with VideoSDK(token="given.jwt.token") as vs:
        await vs.sessions.get("s1")
    ((_, _, kwargs),) = sent(mocked)
    assert kwargs["headers"]["Authorization"] == "given.jwt.token"


def test_credentials_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIDEOSDK_API_KEY", API_KEY)
    monkeypatch.setenv("VIDEOSDK_SECRET_KEY", SECRET)
    client = VideoSDK()
    token = client._authorization(None)()
    assert jwt.decode(token, SECRET, algorithms=["HS256"])["apikey"] == API_KEY


def test_missing_credentials_name_the_argument(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VIDEOSDK_API_KEY", raising=False)
    monkeypatch.delenv("VIDEOSDK_SECRET_KEY", raising=False)
    with pytest.raises(InvalidRequestError) as caught:
        VideoSDK()
    assert caught.value.argument == "api_key"
    assert "VIDEOSDK_API_KEY" in str(caught.value)
    with pytest.raises(InvalidRequestError) as caught:
        VideoSDK(api_key=API_KEY)
    assert caught.value.argument == "secret"


def test_connect_builds_the_same_client() -> None:
    client = agentcloud.connect("videosdk", api_key=API_KEY, secret=SECRET)
    assert isinstance(client, VideoSDK)
    with pytest.raises(InvalidRequestError) as caught:
        agentcloud.connect("nope")
    assert caught.value.argument == "provider"


def test_repr_never_shows_secrets() -> None:
    client = VideoSDK(API_KEY, SECRET)
    text = repr(client) + repr(client._mint) + repr(client.sessions.start)
    assert API_KEY not in text
    assert SECRET not in text


async def test_deployments_create_get_list(client: VideoSDK, mocked: Any) -> None:
    created = {
        "id": "d1",
        "name": "bot",
        "description": "a bot",
        "status": "available",
        "createdAt": "2025-06-18T11:16:10.644Z",
        "updatedAt": "2025-06-18T11:16:10.644Z",
    }
    mocked.post(f"{VIDEOSDK_URL}/ai/v1/ai-deployments", payload=created)
    mocked.get(
        f"{VIDEOSDK_URL}/ai/v1/ai-deployments/d1/v1.0",
        payload={**created, "tag": "v1.0"},
    )
    mocked.get(
        re.compile(r"^https://api\.videosdk\.live/ai/v1/ai-deployments\?.*$"),
        payload={
            "data": [
                {
                    "id": "d1",
                    "name": "bot",
                    "tag": "v1.0",
                    "description": "a bot",
                    "status": "available",
                    "created_at": "2025-06-18T11:16:10Z",
                }
            ],
            "pageInfo": {"totalItems": 1, "currentPage": 1, "perPage": 100, "total": 1},
        },
    )
    deployment = await client.deployments.create(name="bot", description="a bot")
    assert deployment == Deployment(
        id="d1",
        name="bot",
        description="a bot",
        status="available",
        created_at=utc("2025-06-18T11:16:10.644Z"),
    )
    assert body_of(sent(mocked, "POST")[0][2]) == {"name": "bot", "description": "a bot"}
    fetched = await client.deployments.get("d1", "v1.0")
    assert fetched.tag == "v1.0"
    (listed,) = await client.deployments.list().collect()
    assert listed.created_at == utc("2025-06-18T11:16:10Z")  # from the list's created_at


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"deployment_id": "", "tag": "v1"}, "deployment_id"),
        ({"deployment_id": "d", "tag": "   "}, "tag"),
        ({"deployment_id": "d\nx", "tag": "v1"}, "deployment_id"),
        ({"deployment_id": "d", "tag": "v1", "env": {"A": 1}}, "env"),
        ({"deployment_id": "d", "tag": "v1", "metadata": {"x": object()}}, "metadata"),
        ({"deployment_id": "d", "tag": "v1", "metadata": {"x": float("nan")}}, "metadata"),
        ({"deployment_id": "d", "tag": "v1", "metadata": {START_MARKER: "x"}}, "metadata"),
        (
            {"deployment_id": "d", "tag": "v1", "webhook": Webhook("https://x", events=["nope"])},
            "webhook.events",
        ),
        ({"deployment_id": "d", "tag": "v1", "webhook": Webhook("ftp://x")}, "webhook.endpoint"),
        ({"deployment_id": "d", "tag": "v1", "webhook": 42}, "webhook"),
    ],
)
async def test_bad_start_input_is_rejected_before_sending(
    client: VideoSDK, mocked: Any, kwargs: dict[str, Any], argument: str
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        await client.sessions.start(**kwargs)
    assert caught.value.argument == argument
    assert isinstance(caught.value, ValueError)
    assert sent(mocked) == []


@pytest.mark.parametrize(
    "session_id", ["", " ", "..", ".", "a/b", "../x", "a?b", "a#b", "a%2Fb", "a\r\nb", "a\x00b"]
)
async def test_bad_session_ids_are_rejected_before_sending(
    client: VideoSDK, mocked: Any, session_id: str
) -> None:
    for call in (client.sessions.get, client.sessions.end, client.sessions.wait):
        with pytest.raises(InvalidRequestError) as caught:
            await call(session_id)
        assert caught.value.argument == "session_id"
    assert sent(mocked) == []


@pytest.mark.parametrize("per_page", [0, 101, -1, "10", 2.5, True])
def test_per_page_outside_range_is_rejected(client: VideoSDK, per_page: Any) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        client.sessions.list(per_page=per_page)
    assert caught.value.argument == "per_page"


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("queued", SessionStatus.QUEUED),
        ("starting", SessionStatus.STARTING),
        ("running", SessionStatus.RUNNING),
        ("stopping", SessionStatus.STOPPING),
        ("stopped", SessionStatus.ENDED),
        ("completed", SessionStatus.ENDED),
        ("failed", SessionStatus.FAILED),
        ("RUNNING", SessionStatus.RUNNING),
        ("teleported", SessionStatus.UNKNOWN),
    ],
)
async def test_status_mapping(client: VideoSDK, mocked: Any, raw: str, status: Any) -> None:
    mocked.get(f"{SESSIONS}/s", payload={"sessionId": "s", "status": raw})
    session = await client.sessions.get("s")
    assert session.status is status
    assert session.raw_status == raw


async def test_unknown_keys_are_kept_in_raw(client: VideoSDK, mocked: Any) -> None:
    wire = {"sessionId": "s", "status": "running", "newField": {"x": 1}, "metaData": {"a": "b"}}
    mocked.get(f"{SESSIONS}/s", payload=wire)
    session = await client.sessions.get("s")
    assert session.raw == wire
    assert session.metadata == {"a": "b"}  # the send-side spelling is read too
