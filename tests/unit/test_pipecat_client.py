"""Pipecat client behaviour: keys, input checks, limit/offset walking, error mapping,
at-most-once start, lifecycle (held sessions, async with, wait)."""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import aiohttp
import pytest
from aioresponses import CallbackResult
from yarl import URL

import agentcloud
import agentcloud._json
from agentcloud import (
    AgentAtCapacityError,
    APIError,
    AuthenticationError,
    BadRequestError,
    InvalidRequestError,
    NotFoundError,
    PayloadTooLargeError,
    PipecatCloud,
    RateLimitError,
    RequestTimeoutError,
    ResponseDecodeError,
    ServerError,
    SessionFailedError,
    SessionStatus,
    StartOutcomeUnknownError,
    TransportError,
)
from tests.helpers import PIPECAT_URL, FakeTime, body_of, sent

PRIVATE = "sk_test_private_0123456789"
PUBLIC = "pk_test_public_0123456789"
AGENT = "my-agent"
SID = "639f91d8-d511-4677-a83b-bd7564d5d92f"
SESSIONS = f"{PIPECAT_URL}/v1/agents/{AGENT}/sessions"
START = f"{PIPECAT_URL}/v1/public/{AGENT}/start"
LIST_URL = re.compile(r"^https://api\.pipecat\.daily\.co/v1/agents/my-agent/sessions\?.*$")


@pytest.fixture(autouse=True)
def no_key_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PIPECAT_CLOUD_API_KEY", raising=False)
    monkeypatch.delenv("PIPECAT_CLOUD_PUBLIC_KEY", raising=False)


@pytest.fixture
async def client(clock: FakeTime) -> Any:
    async with PipecatCloud(PRIVATE, PUBLIC, agent=AGENT, retry=clock.policy()) as pc:
        yield pc


def wire_session(index: int, **extra: Any) -> dict[str, Any]:
    return {
        "sessionId": f"00000000-0000-4000-8000-{index:012d}",
        "createdAt": "2025-10-22T08:00:00.000Z",
        "endedAt": None,
        **extra,
    }


def listing_callback(total: int, seen: list[tuple[int, int]]) -> Any:
    """Serves a listing of ``total`` sessions by limit/offset, recording each (offset, limit)."""

    def answer(url: Any, **kwargs: Any) -> CallbackResult:
        limit = int(url.query["limit"])
        offset = int(url.query["offset"])
        seen.append((offset, limit))
        items = [wire_session(i) for i in range(offset, min(offset + limit, total))]
        return CallbackResult(payload={"total_count": total, "sessions": items})

    return answer


def sent_paths(mocked: Any) -> list[tuple[str, str]]:
    return [(method, str(url)) for method, url, _ in sent(mocked)]


# -- construction and keys -------------------------------------------------------------


def test_connect_returns_a_pipecat_client() -> None:
    client = agentcloud.connect("pipecat", api_key=PRIVATE, public_key=PUBLIC, agent=AGENT)
    assert isinstance(client, PipecatCloud)
    assert client.agent == AGENT
    assert client.base_url == "https://api.pipecat.daily.co"
    assert agentcloud.PipecatCloud is PipecatCloud


def test_keys_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPECAT_CLOUD_API_KEY", PRIVATE)
    monkeypatch.setenv("PIPECAT_CLOUD_PUBLIC_KEY", PUBLIC)
    client = PipecatCloud()
    assert repr(client) == (
        "PipecatCloud(base_url='https://api.pipecat.daily.co', agent=None, keys='private+public')"
    )


def test_a_client_needs_at_least_one_key() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        PipecatCloud()
    assert caught.value.argument == "api_key"
    assert "PIPECAT_CLOUD_API_KEY" in str(caught.value)
    assert "PIPECAT_CLOUD_PUBLIC_KEY" in str(caught.value)
    PipecatCloud(public_key=PUBLIC)
    PipecatCloud(api_key=PRIVATE)


@pytest.mark.parametrize("bad", ["", "  ", "sk with space", "sk\n"])
def test_malformed_keys_are_rejected(bad: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        PipecatCloud(api_key=bad)
    assert caught.value.argument == "api_key"
    with pytest.raises(InvalidRequestError) as caught:
        PipecatCloud(api_key=PRIVATE, public_key=bad)
    assert caught.value.argument == "public_key"


def test_repr_never_shows_a_key() -> None:
    client = PipecatCloud(PRIVATE, PUBLIC, agent=AGENT)
    text = repr(client)
    assert PRIVATE not in text
    assert PUBLIC not in text
    assert "keys='private+public'" in text
    assert "keys='public'" in repr(PipecatCloud(public_key=PUBLIC))


async def test_public_key_only_on_start_private_everywhere_else(
    client: PipecatCloud, mocked: Any
) -> None:
    mocked.post(START, payload={"sessionId": SID})
    mocked.get(f"{SESSIONS}/{SID}", payload={"sessionId": SID})
    mocked.get(LIST_URL, payload={"total_count": 0, "sessions": []})
    mocked.delete(f"{SESSIONS}/{SID}", payload={"status": "terminated", "session_id": SID})
    mocked.get(f"{PIPECAT_URL}/v1/agents/{AGENT}", payload={"name": AGENT})
    mocked.get(f"{PIPECAT_URL}/v1/agents", payload={"services": []})
    await client.sessions.start()
    await client.sessions.get(SID)
    await client.sessions.list().collect()
    await client.sessions.end(SID)
    await client.agents.get(AGENT)
    await client.agents.list().collect()
    calls = sent(mocked)
    assert len(calls) == 6
    for method, url, kwargs in calls:
        expected = PUBLIC if "/v1/public/" in url else PRIVATE
        assert kwargs["headers"]["Authorization"] == f"Bearer {expected}", (method, url)
    assert [url for _, url, _ in calls if "/v1/public/" in url] == [START]


async def rejects(argument: str, *calls: Callable[[], Any]) -> None:
    """Each call raises InvalidRequestError naming ``argument``, at once or when awaited."""

    async def run(call: Callable[[], Any]) -> None:
        result = call()
        if inspect.isawaitable(result):
            await result

    for call in calls:
        with pytest.raises(InvalidRequestError) as caught:
            await run(call)
        assert caught.value.argument == argument, call


async def test_missing_private_key_fails_before_sending(mocked: Any) -> None:
    async with PipecatCloud(public_key=PUBLIC, agent=AGENT) as pc:
        await rejects(
            "api_key",
            lambda: pc.sessions.get(SID),
            lambda: pc.sessions.end(SID),
            lambda: pc.sessions.wait(SID),
            lambda: pc.sessions.list(),
            lambda: pc.agents.get(AGENT),
            lambda: pc.agents.list(),
        )
        with pytest.raises(InvalidRequestError, match="PIPECAT_CLOUD_API_KEY"):
            await pc.sessions.get(SID)
    assert sent(mocked) == []


async def test_missing_public_key_fails_before_sending(mocked: Any) -> None:
    async with PipecatCloud(api_key=PRIVATE, agent=AGENT) as pc:
        with pytest.raises(InvalidRequestError) as caught:
            pc.sessions.start()
    assert caught.value.argument == "public_key"
    assert "PIPECAT_CLOUD_PUBLIC_KEY" in str(caught.value)
    assert sent(mocked) == []


# -- agents, ids and other input -------------------------------------------------------


async def test_agent_per_call_overrides_the_default(client: PipecatCloud, mocked: Any) -> None:
    mocked.get(f"{PIPECAT_URL}/v1/agents/other/sessions/{SID}", payload={"sessionId": SID})
    session = await client.sessions.get(SID, agent="other")
    assert session.agent == "other"


async def test_no_agent_anywhere_is_rejected(mocked: Any) -> None:
    async with PipecatCloud(PRIVATE, PUBLIC) as pc:
        await rejects(
            "agent",
            lambda: pc.sessions.start(),
            lambda: pc.sessions.list(),
            lambda: pc.sessions.get(SID),
            lambda: pc.sessions.end(SID),
            lambda: pc.sessions.wait(SID),
        )
    assert sent(mocked) == []


BAD_SEGMENTS = ["", " ", "..", ".", "../", "a/b", "a?b", "a#b", "a\x00b", "a\nb", "a%2Fb", " a"]


@pytest.mark.parametrize("bad", BAD_SEGMENTS)
async def test_bad_agent_names_are_rejected_before_sending(
    client: PipecatCloud, mocked: Any, bad: str
) -> None:
    await rejects(
        "agent",
        lambda: client.sessions.start(agent=bad),
        lambda: client.sessions.list(agent=bad),
        lambda: client.sessions.get(SID, agent=bad),
        lambda: client.sessions.end(SID, agent=bad),
        lambda: client.sessions.wait(SID, agent=bad),
        lambda: PipecatCloud(PRIVATE, agent=bad),
    )
    await rejects("name", lambda: client.agents.get(bad))
    assert sent(mocked) == []


@pytest.mark.parametrize("bad", [*BAD_SEGMENTS, None, 42])
async def test_bad_session_ids_are_rejected_before_sending(
    client: PipecatCloud, mocked: Any, bad: Any
) -> None:
    await rejects(
        "session_id",
        lambda: client.sessions.get(bad),
        lambda: client.sessions.end(bad),
        lambda: client.sessions.wait(bad),
    )
    assert sent(mocked) == []


async def test_path_segments_are_percent_encoded(client: PipecatCloud, mocked: Any) -> None:
    mocked.get(
        f"{PIPECAT_URL}/v1/agents/caf%C3%A9%20bot/sessions/id%20x",
        payload={"sessionId": "id x"},
    )
    session = await client.sessions.get("id x", agent="café bot")
    assert session.agent == "café bot"
    ((_, url, _),) = sent(mocked)
    assert url.endswith("/v1/agents/caf%C3%A9%20bot/sessions/id%20x")


@pytest.mark.parametrize(
    ("options", "argument"),
    [
        ({"transport": "sip"}, "transport"),
        ({"transport": "DAILY"}, "transport"),
        ({"create_daily_room": "yes"}, "create_daily_room"),
        ({"create_daily_room": 1}, "create_daily_room"),
        ({"enable_default_ice_servers": "true"}, "enable_default_ice_servers"),
        ({"daily_room_properties": [1]}, "daily_room_properties"),
        ({"daily_room_properties": {"exp": object()}}, "daily_room_properties"),
        ({"daily_meeting_token_properties": {1: "x"}}, "daily_meeting_token_properties"),
        ({"body": {"when": datetime.now(UTC)}}, "body"),
        ({"body": {"x": float("nan")}}, "body"),
        ({"body": float("inf")}, "body"),
        ({"body": {1, 2}}, "body"),
    ],
)
async def test_bad_start_input_is_rejected_before_sending(
    client: PipecatCloud, mocked: Any, options: dict[str, Any], argument: str
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        client.sessions.start(**options)
    assert caught.value.argument == argument
    assert sent(mocked) == []


async def test_start_sends_only_the_options_given(client: PipecatCloud, mocked: Any) -> None:
    mocked.post(START, payload={"sessionId": SID}, repeat=True)
    await client.sessions.start()
    await client.sessions.start(
        create_daily_room=False,
        daily_room_properties={"enable_recording": "cloud"},
        daily_meeting_token_properties={"is_owner": True},
        enable_default_ice_servers=True,
        transport="webrtc",
        body=["any", "json", 1],
    )
    first, second = (body_of(kwargs) for _, _, kwargs in sent(mocked))
    assert first == {}
    assert second == {
        "createDailyRoom": False,
        "dailyRoomProperties": {"enable_recording": "cloud"},
        "dailyMeetingTokenProperties": {"is_owner": True},
        "enableDefaultIceServers": True,
        "transport": "webrtc",
        "body": ["any", "json", 1],
    }


def _body_of_size(size: int) -> str:
    text = "x" * (size - 2)  # json.dumps adds the two quotes
    assert len(json.dumps(text)) == size
    return text


@pytest.mark.parametrize(
    ("transport", "limit"),
    [(None, 1024 * 1024), ("daily", 1024 * 1024), ("webrtc", 1024 * 1024), ("websocket", 4096)],
)
async def test_body_size_limits_per_transport(
    client: PipecatCloud, mocked: Any, transport: str | None, limit: int
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        client.sessions.start(transport=transport, body=_body_of_size(limit + 1))
    assert caught.value.argument == "body"
    assert str(limit) in str(caught.value)
    assert sent(mocked) == []
    mocked.post(START, payload={"sessionId": SID})
    await client.sessions.start(transport=transport, body=_body_of_size(limit))
    assert len(sent(mocked)) == 1


@pytest.mark.parametrize("use_orjson", [True, False])
async def test_the_body_is_sent_as_it_was_when_start_was_called(
    client: PipecatCloud, mocked: Any, monkeypatch: pytest.MonkeyPatch, use_orjson: bool
) -> None:
    """The body is checked and encoded once, when ``start`` is called: changing it before
    the handle is awaited changes nothing on the wire, with orjson or without."""
    if not use_orjson:
        monkeypatch.setattr(agentcloud._json, "ORJSON", None)
    mocked.post(START, payload={"sessionId": SID})
    body: dict[str, Any] = {"user": "42", "tags": ["a"], "text": "é\u2028"}
    handle = client.sessions.start(create_daily_room=True, body=body)
    body["user"] = float("nan")
    body["tags"].append(object())
    await handle
    [(_, _, kwargs)] = sent(mocked)
    assert kwargs["headers"]["Content-Type"] == "application/json"
    assert body_of(kwargs) == {
        "createDailyRoom": True,
        "body": {"user": "42", "tags": ["a"], "text": "é\u2028"},
    }


async def test_body_size_counts_escaped_text(client: PipecatCloud) -> None:
    # "é" is sent as \u00e9: six bytes each, so 700 of them pass 4096 only as characters.
    with pytest.raises(InvalidRequestError):
        client.sessions.start(transport="websocket", body={"t": "é" * 700})


async def test_server_payload_too_large_is_its_own_error(client: PipecatCloud, mocked: Any) -> None:
    mocked.post(START, status=413, payload={"error": "Payload too large", "code": "413"})
    with pytest.raises(PayloadTooLargeError) as caught:
        await client.sessions.start(body={"x": 1})
    assert caught.value.status == 413
    assert len(sent(mocked)) == 1


@pytest.mark.parametrize(
    ("options", "argument"),
    [
        ({"status": "running"}, "status"),
        ({"start_type": "hot"}, "start_type"),
        ({"deployment_id": ""}, "deployment_id"),
        ({"started_after": datetime(2025, 1, 1)}, "started_after"),
        ({"started_before": datetime(2025, 1, 1)}, "started_before"),
        ({"started_after": 1700000000}, "started_after"),
        (
            {
                "started_after": datetime(2025, 1, 2, tzinfo=UTC),
                "started_before": datetime(2025, 1, 1, tzinfo=UTC),
            },
            "started_before",
        ),
        ({"per_page": 0}, "per_page"),
        ({"per_page": 101}, "per_page"),
        ({"max_items": -1}, "max_items"),
        ({"concurrency": 0}, "concurrency"),
    ],
)
async def test_bad_list_input_is_rejected_before_sending(
    client: PipecatCloud, mocked: Any, options: dict[str, Any], argument: str
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        client.sessions.list(**options)
    assert caught.value.argument == argument
    assert sent(mocked) == []


# -- listing: limit/offset walking and filters -------------------------------------------


async def test_list_walks_offsets_and_stops_at_total_count(
    client: PipecatCloud, mocked: Any
) -> None:
    seen: list[tuple[int, int]] = []
    mocked.get(LIST_URL, callback=listing_callback(7, seen), repeat=True)
    pages = [page async for page in client.sessions.list(per_page=3).pages()]
    assert seen == [(0, 3), (3, 3), (6, 3)]
    assert [page.offset for page in pages] == [0, 3, 6]
    assert [page.total for page in pages] == [7, 7, 7]
    ids = [session.id for page in pages for session in page.items]
    assert ids == [wire_session(i)["sessionId"] for i in range(7)]


async def test_list_with_exact_pages_sends_no_extra_request(
    client: PipecatCloud, mocked: Any
) -> None:
    seen: list[tuple[int, int]] = []
    mocked.get(LIST_URL, callback=listing_callback(6, seen), repeat=True)
    sessions = await client.sessions.list(per_page=2).collect()
    assert seen == [(0, 2), (2, 2), (4, 2)]
    assert len(sessions) == 6


async def test_list_many_pages_with_concurrency_keeps_order(
    client: PipecatCloud, mocked: Any
) -> None:
    seen: list[tuple[int, int]] = []
    mocked.get(LIST_URL, callback=listing_callback(95, seen), repeat=True)
    sessions = await client.sessions.list(per_page=10, concurrency=4).collect()
    assert sorted(seen) == [(offset, 10) for offset in range(0, 100, 10)]
    assert [s.id for s in sessions] == [wire_session(i)["sessionId"] for i in range(95)]
    assert all(s.agent == AGENT for s in sessions)


async def test_list_max_items_stops_early(client: PipecatCloud, mocked: Any) -> None:
    seen: list[tuple[int, int]] = []
    mocked.get(LIST_URL, callback=listing_callback(1000, seen), repeat=True)
    sessions = await client.sessions.list(per_page=25, max_items=60).collect()
    assert len(sessions) == 60
    assert seen == [(0, 25), (25, 25), (50, 25)]


async def test_default_page_size_is_one_hundred(client: PipecatCloud, mocked: Any) -> None:
    seen: list[tuple[int, int]] = []
    mocked.get(LIST_URL, callback=listing_callback(150, seen), repeat=True)
    await client.sessions.list().collect()
    assert seen == [(0, 100), (100, 100)]


async def test_empty_listing(client: PipecatCloud, mocked: Any) -> None:
    mocked.get(LIST_URL, payload={"total_count": 0, "sessions": []})
    assert await client.sessions.list().collect() == []
    assert len(sent(mocked)) == 1


async def test_each_iteration_walks_anew(client: PipecatCloud, mocked: Any) -> None:
    seen: list[tuple[int, int]] = []
    mocked.get(LIST_URL, callback=listing_callback(3, seen), repeat=True)
    pager = client.sessions.list(per_page=2)
    assert len(await pager.collect()) == 3
    assert len(await pager.collect()) == 3
    assert seen == [(0, 2), (2, 2), (0, 2), (2, 2)]


async def test_filters_on_the_wire(client: PipecatCloud, mocked: Any) -> None:
    mocked.get(LIST_URL, payload={"total_count": 0, "sessions": []})
    after = datetime(2025, 10, 22, 10, 0, 0, 500000, tzinfo=timezone(timedelta(hours=2)))
    before = datetime(2025, 10, 22, 8, 30, 0, 250000, tzinfo=UTC)
    await client.sessions.list(
        status="active",
        deployment_id="dep 1",
        start_type="cold",
        started_after=after,
        started_before=before,
        per_page=5,
    ).collect()
    ((_, url, _),) = sent(mocked)
    query = dict(URL(url).query)
    assert query == {
        "status": "active",
        "deploymentId": "dep 1",
        "startType": "cold",
        # 08:00:00.5 UTC rounds down, 08:30:00.25 up: the window only widens.
        "startTime": str(int(datetime(2025, 10, 22, 8, 0, 0, tzinfo=UTC).timestamp())),
        "endTime": str(int(datetime(2025, 10, 22, 8, 30, 1, tzinfo=UTC).timestamp())),
        "limit": "5",
        "offset": "0",
    }


async def test_agents_list_is_one_page(client: PipecatCloud, mocked: Any) -> None:
    services = [{"name": f"agent-{i}"} for i in range(130)]
    mocked.get(f"{PIPECAT_URL}/v1/agents?region=us-west", payload={"services": services})
    pages = [page async for page in client.agents.list(region="us-west").pages()]
    assert [len(page.items) for page in pages] == [130]
    assert pages[0].total == 130
    assert len(sent(mocked)) == 1
    mocked.get(f"{PIPECAT_URL}/v1/agents", payload={"services": services})
    names = [a.name async for a in client.agents.list(max_items=3)]
    assert names == ["agent-0", "agent-1", "agent-2"]


# -- errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "cls", "code", "message"),
    [
        (
            404,
            {"error": "agent deployment not found", "code": "404"},
            NotFoundError,
            "404",
            "agent deployment not found",
        ),
        (404, {"error": "Not found", "code": "NOT_FOUND"}, NotFoundError, "NOT_FOUND", "Not found"),
        (
            401,
            {"error": "Unauthorized / token expired", "code": "401"},
            AuthenticationError,
            "401",
            "Unauthorized / token expired",
        ),
        (
            400,
            {"error": "Service not ready", "code": "PCC-1001"},
            BadRequestError,
            "PCC-1001",
            "Service not ready",
        ),
        (
            429,
            {
                "status": 429,
                "code": "429",
                "message": "Rate limit exceeded. Please try again later",
            },
            RateLimitError,
            "429",
            "Rate limit exceeded. Please try again later",
        ),
        (
            503,
            {"error": "Agent at capacity", "code": "PCC-AGENT-AT-CAPACITY"},
            AgentAtCapacityError,
            "PCC-AGENT-AT-CAPACITY",
            "Agent at capacity",
        ),
        (
            500,
            {"error": "Internal server error", "code": "INTERNAL_SERVER_ERROR"},
            ServerError,
            "INTERNAL_SERVER_ERROR",
            "Internal server error",
        ),
    ],
)
async def test_error_bodies_map_to_classes(
    mocked: Any,
    status: int,
    body: dict[str, Any],
    cls: type[APIError],
    code: str,
    message: str,
) -> None:
    mocked.get(f"{SESSIONS}/{SID}", status=status, payload=body, headers={"x-request-id": "req-42"})
    async with PipecatCloud(PRIVATE, agent=AGENT, retry=agentcloud.RetryPolicy.never()) as pc:
        with pytest.raises(cls) as caught:
            await pc.sessions.get(SID)
    error = caught.value
    assert type(error) is cls
    assert error.status == status
    assert error.code == code
    assert error.message == message
    assert error.request_id == "req-42"
    assert error.provider == "pipecat"
    assert error.body == body
    assert PRIVATE not in str(error)
    assert PRIVATE not in repr(error)


async def test_zod_issues_are_kept_as_details(mocked: Any) -> None:
    issues = [
        {
            "received": "bad_value",
            "code": "invalid_enum_value",
            "options": ["active", "ended", "all"],
            "path": ["status"],
            "message": "Invalid enum value. Expected 'active' | 'ended' | 'all'",
        }
    ]
    body = {"error": "Invalid parameters", "err": {"issues": issues, "name": "ZodError"}}
    mocked.get(LIST_URL, status=400, payload={**body, "code": "400"})
    async with PipecatCloud(PRIVATE, agent=AGENT) as pc:
        with pytest.raises(BadRequestError) as caught:
            await pc.sessions.list().collect()
    assert caught.value.details == issues
    assert caught.value.code == "400"
    assert caught.value.message == (
        "Invalid parameters (status: Invalid enum value. Expected 'active' | 'ended' | 'all')"
    )


async def test_non_json_error_body(mocked: Any) -> None:
    mocked.get(f"{SESSIONS}/{SID}", status=502, body="<html>Bad gateway</html>")
    async with PipecatCloud(PRIVATE, agent=AGENT, retry=agentcloud.RetryPolicy.never()) as pc:
        with pytest.raises(ServerError) as caught:
            await pc.sessions.get(SID)
    assert "Bad gateway" in caught.value.message


async def test_get_is_retried_after_a_5xx(
    client: PipecatCloud, clock: FakeTime, mocked: Any
) -> None:
    mocked.get(f"{SESSIONS}/{SID}", status=503, payload={"error": "busy", "code": "503"})
    mocked.get(f"{SESSIONS}/{SID}", payload={"sessionId": SID})
    session = await client.sessions.get(SID)
    assert session.id == SID
    assert len(sent(mocked)) == 2
    assert len(clock.sleeps) == 1


async def test_end_is_retried_after_a_reset(client: PipecatCloud, mocked: Any) -> None:
    mocked.delete(f"{SESSIONS}/{SID}", exception=aiohttp.ServerDisconnectedError())
    mocked.delete(f"{SESSIONS}/{SID}", payload={"status": "terminated", "session_id": SID})
    session = await client.sessions.end(SID)
    assert session.status is SessionStatus.ENDED
    assert len(sent(mocked)) == 2


# -- start: at most once ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("failure", "cause"),
    [
        ({"status": 500, "payload": {"error": "Internal", "code": "500"}}, ServerError),
        ({"status": 502, "body": "bad gateway"}, ServerError),
        ({"status": 503, "payload": {"error": "down", "code": "503"}}, ServerError),
        ({"exception": aiohttp.ServerDisconnectedError()}, TransportError),
        ({"exception": aiohttp.ClientOSError(104, "Connection reset by peer")}, TransportError),
        ({"exception": TimeoutError()}, RequestTimeoutError),
    ],
)
async def test_ambiguous_start_is_never_retried(
    client: PipecatCloud, clock: FakeTime, mocked: Any, failure: dict[str, Any], cause: type
) -> None:
    mocked.post(START, **failure)
    mocked.post(START, payload={"sessionId": SID})  # would be taken by a second attempt
    with pytest.raises(StartOutcomeUnknownError) as caught:
        await client.sessions.start(create_daily_room=True)
    assert isinstance(caught.value.__cause__, cause)
    assert "may or may not exist" in str(caught.value)
    assert AGENT in str(caught.value)
    assert len(sent(mocked)) == 1
    assert clock.sleeps == []
    assert len(client._held) == 0


async def test_start_is_retried_after_a_429_with_retry_after(
    client: PipecatCloud, clock: FakeTime, mocked: Any
) -> None:
    mocked.post(
        START,
        status=429,
        headers={"Retry-After": "2"},
        payload={"status": 429, "code": "429", "message": "Rate limit exceeded"},
    )
    mocked.post(START, payload={"sessionId": SID})
    session = await client.sessions.start(body={"user": "42"})
    assert session.id == SID
    assert clock.sleeps == [2.0]
    bodies = [body_of(kwargs) for _, _, kwargs in sent(mocked)]
    assert bodies == [{"body": {"user": "42"}}, {"body": {"user": "42"}}]


async def test_start_is_retried_when_the_connection_never_opened(
    client: PipecatCloud, mocked: Any
) -> None:
    refused = aiohttp.ClientConnectorError(
        aiohttp.client_reqrep.ConnectionKey(
            "api.pipecat.daily.co", 443, True, True, None, None, None
        ),
        ConnectionRefusedError(111, "Connection refused"),
    )
    mocked.post(START, exception=refused)
    mocked.post(START, payload={"sessionId": SID})
    session = await client.sessions.start()
    assert session.id == SID
    assert len(sent(mocked)) == 2


async def test_start_at_capacity_is_retried_then_raised_not_an_unknown_outcome(
    client: PipecatCloud, mocked: Any
) -> None:
    # Whatever its status, the at-capacity answer says nothing was started: the transport
    # may repeat the start, and what is raised at the end is the refusal itself.
    mocked.post(
        START, status=503, payload={"error": "full", "code": "PCC-AGENT-AT-CAPACITY"}, repeat=True
    )
    with pytest.raises(AgentAtCapacityError) as caught:
        await client.sessions.start()
    assert isinstance(caught.value, RateLimitError)
    assert caught.value.status == 503
    assert caught.value.attempts == len(sent(mocked)) == 4


async def test_start_rejected_is_raised_as_is(client: PipecatCloud, mocked: Any) -> None:
    mocked.post(START, status=401, payload={"error": "Unauthorized", "code": "401"})
    with pytest.raises(AuthenticationError):
        await client.sessions.start()
    assert len(sent(mocked)) == 1


async def test_start_answer_is_read_leniently(client: PipecatCloud, mocked: Any) -> None:
    wire = {
        "sessionId": SID,
        "dailyRoom": "https://x.daily.co/r",
        "body": {"echoed": True},
        "iceConfig": {"iceServers": [{"urls": ["stun:x"]}, "junk"]},
        "wsUrl": 7,
    }
    mocked.post(START, payload=wire)
    session = await client.sessions.start()
    assert session.connection is not None
    assert session.connection.daily_room == "https://x.daily.co/r"
    assert session.connection.body is None
    assert session.connection.ws_url is None
    assert session.connection.ice_servers == ({"urls": ["stun:x"]},)
    assert session.raw == wire


@pytest.mark.parametrize("answer", [{"dailyRoom": "https://x.daily.co/r"}, [], None])
async def test_start_answer_without_a_session_id_is_an_unknown_outcome(
    client: PipecatCloud, mocked: Any, answer: Any
) -> None:
    if answer is None:
        mocked.post(START, body="")
    else:
        mocked.post(START, payload=answer)
    with pytest.raises(StartOutcomeUnknownError) as caught:
        await client.sessions.start()
    assert isinstance(caught.value.__cause__, ResponseDecodeError)
    assert len(client._held) == 0
    assert len(sent(mocked)) == 1


# -- lifecycle ---------------------------------------------------------------------------


async def test_async_with_ends_the_session_with_its_agent(
    client: PipecatCloud, mocked: Any
) -> None:
    mocked.post(f"{PIPECAT_URL}/v1/public/other/start", payload={"sessionId": SID})
    mocked.delete(
        f"{PIPECAT_URL}/v1/agents/other/sessions/{SID}",
        payload={"status": "terminated", "session_id": SID},
    )
    async with client.sessions.start(agent="other") as session:
        assert session.agent == "other"
        assert SID in client._held
    assert SID not in client._held
    methods = [(method, url) for method, url, _ in sent(mocked)]
    assert methods == [
        ("POST", f"{PIPECAT_URL}/v1/public/other/start"),
        ("DELETE", f"{PIPECAT_URL}/v1/agents/other/sessions/{SID}"),
    ]
    delete_headers = sent(mocked, "DELETE")[0][2]["headers"]
    assert delete_headers["Authorization"] == f"Bearer {PRIVATE}"


async def test_async_with_ends_the_session_on_error(client: PipecatCloud, mocked: Any) -> None:
    mocked.post(START, payload={"sessionId": SID})
    mocked.delete(f"{SESSIONS}/{SID}", payload={"status": "terminated", "session_id": SID})
    with pytest.raises(RuntimeError, match="boom"):
        async with client.sessions.start():
            raise RuntimeError("boom")
    assert len(sent(mocked, "DELETE")) == 1


async def test_end_on_close_ends_held_sessions(clock: FakeTime, mocked: Any) -> None:
    mocked.post(f"{PIPECAT_URL}/v1/public/b/start", payload={"sessionId": SID})
    mocked.delete(
        f"{PIPECAT_URL}/v1/agents/b/sessions/{SID}",
        payload={"status": "terminated", "session_id": SID},
    )
    async with PipecatCloud(PRIVATE, PUBLIC, agent="a", end_on_close=True) as pc:
        await pc.sessions.start(agent="b")
    assert len(sent(mocked, "DELETE")) == 1


async def test_end_answers(client: PipecatCloud, mocked: Any) -> None:
    mocked.delete(f"{SESSIONS}/{SID}", payload={"status": "stopping"})
    session = await client.sessions.end(SID)
    assert (session.id, session.status, session.raw_status) == (
        SID,
        SessionStatus.STOPPING,
        "stopping",
    )
    mocked.delete(f"{SESSIONS}/{SID}", body="")
    session = await client.sessions.end(SID)
    assert (session.status, session.raw) == (SessionStatus.STOPPING, {})


async def test_wait_polls_until_ended(client: PipecatCloud, clock: FakeTime, mocked: Any) -> None:
    url = f"{SESSIONS}/{SID}"
    mocked.get(url, payload={"sessionId": SID, "endState": "active"})
    mocked.get(url, payload={"sessionId": SID, "endState": "active"})
    mocked.get(
        url, payload={"sessionId": SID, "endState": "completed", "endedAt": "2025-01-01T00:00:00Z"}
    )
    session = await client.sessions.wait(SID, until=SessionStatus.ENDED, poll_interval=1.0)
    assert session.status is SessionStatus.ENDED
    assert clock.sleeps == [1.0, 1.5]


async def test_wait_running_returns_at_once_when_the_answer_cannot_tell(
    client: PipecatCloud, mocked: Any
) -> None:
    # An API too old to say whether the bot started (no events, no botStartSeconds).
    mocked.get(f"{SESSIONS}/{SID}", payload={"sessionId": SID, "createdAt": "2025-01-01T00:00:00Z"})
    session = await client.sessions.wait(SID)
    assert session.status is SessionStatus.RUNNING


async def test_wait_raises_when_the_session_fails(client: PipecatCloud, mocked: Any) -> None:
    mocked.get(
        f"{PIPECAT_URL}/v1/agents/x/sessions/{SID}",
        payload={"sessionId": SID, "endState": "agent_error", "endedAt": "2025-01-01T00:00:00Z"},
    )
    with pytest.raises(SessionFailedError) as caught:
        await client.sessions.wait(SID, agent="x", until="ended")
    assert caught.value.session.raw_status == "agent_error"


async def test_wait_times_out(client: PipecatCloud, clock: FakeTime, mocked: Any) -> None:
    mocked.get(f"{SESSIONS}/{SID}", payload={"sessionId": SID}, repeat=True)
    with pytest.raises(RequestTimeoutError):
        await client.sessions.wait(SID, until="ended", timeout=3, poll_interval=1.0)
    assert sum(clock.sleeps) == pytest.approx(3.0)
