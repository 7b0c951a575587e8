"""Retry discipline, Retry-After, deadline, budget, at-most-once start, error mapping."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import aiohttp
import pytest

from agentcloud import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeoutError,
    ResponseDecodeError,
    RetryPolicy,
    ServerError,
    StartOutcomeUnknownError,
    TransportError,
    VideoSDK,
)
from agentcloud._retry import parse_retry_after
from agentcloud.providers.videosdk import START_MARKER
from tests.helpers import (
    API_KEY,
    SECRET,
    VIDEOSDK_URL,
    FakeTime,
    HoldRecorder,
    body_of,
    fixture,
    sent,
)

SESSIONS = f"{VIDEOSDK_URL}/ai/v1/ai-deployment-sessions"
GET_URL = f"{SESSIONS}/s1"
LIST_URL = re.compile(r"^https://api\.videosdk\.live/ai/v1/ai-deployment-sessions\?.*$")
DETAILS = fixture("videosdk-fetch-session-details.json")


def client_with(clock: FakeTime, **policy: Any) -> VideoSDK:
    return VideoSDK(API_KEY, SECRET, retry=clock.policy(**policy))


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
async def test_each_retryable_status_is_retried_for_get(
    clock: FakeTime, mocked: Any, status: int
) -> None:
    mocked.get(GET_URL, status=status, payload={"message": "busy"})
    mocked.get(GET_URL, payload=DETAILS)
    async with client_with(clock) as vs:
        session = await vs.sessions.get("s1")
    assert session.id == DETAILS["sessionId"]
    assert len(sent(mocked)) == 2
    assert clock.sleeps == [0.5]  # full jitter at its ceiling: base * 2**0


@pytest.mark.parametrize("status", [400, 401, 402, 403, 404, 409, 413, 422])
async def test_client_errors_are_not_retried(clock: FakeTime, mocked: Any, status: int) -> None:
    mocked.get(GET_URL, status=status, payload={"message": "no"}, repeat=True)
    async with client_with(clock) as vs:
        with pytest.raises(APIError):
            await vs.sessions.get("s1")
    assert len(sent(mocked)) == 1
    assert clock.sleeps == []


async def test_backoff_grows_and_is_capped(clock: FakeTime, mocked: Any) -> None:
    mocked.get(GET_URL, status=503, repeat=True)
    async with client_with(clock, max_attempts=6, backoff_base=1.0, backoff_cap=5.0) as vs:
        with pytest.raises(ServerError):
            await vs.sessions.get("s1")
    assert clock.sleeps == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert len(sent(mocked)) == 6


async def test_jitter_draws_below_the_ceiling(mocked: Any) -> None:
    clock = FakeTime()
    draws = iter([0.25, 0.5])
    mocked.get(GET_URL, status=500, repeat=True)
    policy = clock.policy(max_attempts=3, random=lambda: next(draws))
    async with VideoSDK(API_KEY, SECRET, retry=policy) as vs:
        with pytest.raises(ServerError):
            await vs.sessions.get("s1")
    assert clock.sleeps == [0.25 * 0.5, 0.5 * 1.0]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "3"}, 3.0),
        ({"Retry-After": "0.5"}, 0.5),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after-ms": "250", "Retry-After": "9"}, 0.25),
    ],
)
async def test_retry_after_sets_the_delay(
    clock: FakeTime, mocked: Any, headers: dict[str, str], expected: float
) -> None:
    mocked.get(GET_URL, status=429, headers=headers, payload={"message": "slow down"})
    mocked.get(GET_URL, payload=DETAILS)
    async with client_with(clock) as vs:
        await vs.sessions.get("s1")
    assert clock.sleeps == [expected]


def test_retry_after_http_date_is_relative_to_now() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    later = format_datetime(datetime(2026, 1, 1, 12, 0, 7, tzinfo=UTC), usegmt=True)
    assert parse_retry_after({"Retry-After": later}, now=now.timestamp()) == 7.0
    assert parse_retry_after({"Retry-After": "garbage"}) is None
    assert parse_retry_after({"Retry-After": "-3"}) is None
    assert parse_retry_after({}) is None


async def test_retry_after_above_the_cap_ends_retries(clock: FakeTime, mocked: Any) -> None:
    mocked.get(GET_URL, status=429, headers={"Retry-After": "120"}, payload={"message": "x"})
    async with client_with(clock, max_retry_after=60.0) as vs:
        with pytest.raises(RateLimitError) as caught:
            await vs.sessions.get("s1")
    assert caught.value.retry_after == 120.0
    assert clock.sleeps == []
    assert len(sent(mocked)) == 1


async def test_deadline_bounds_the_whole_call(clock: FakeTime, mocked: Any) -> None:
    mocked.get(GET_URL, status=503, repeat=True)
    async with client_with(
        clock, max_attempts=100, backoff_base=4.0, backoff_cap=4.0, deadline=10.0
    ) as vs:
        with pytest.raises(ServerError):
            await vs.sessions.get("s1")
    assert sum(clock.sleeps) <= 10.0
    assert clock.sleeps == [4.0, 4.0]  # a third wait would end past the deadline


async def test_retry_budget_stops_a_storm(clock: FakeTime, mocked: Any) -> None:
    mocked.get(GET_URL, status=503, repeat=True)
    async with client_with(clock, max_attempts=4, budget=5.0, budget_refill=0.5) as vs:
        for _ in range(4):
            with pytest.raises(ServerError):
                await vs.sessions.get("s1")
    # 4 calls x up to 3 retries would be 12 retries; the budget allows 5.
    assert len(clock.sleeps) == 5
    assert len(sent(mocked)) == 4 + 5


async def test_success_refills_the_budget(clock: FakeTime, mocked: Any) -> None:
    async with client_with(clock, budget=2.0, budget_refill=1.0) as vs:
        budget = vs._transport.budget
        mocked.get(GET_URL, status=503)
        mocked.get(GET_URL, status=503)
        mocked.get(GET_URL, payload=DETAILS)
        await vs.sessions.get("s1")
        assert budget.tokens == 1.0  # spent 2, earned 1 back


async def test_connection_errors_and_timeouts_are_retried_for_idempotent_calls(
    clock: FakeTime, mocked: Any
) -> None:
    mocked.get(GET_URL, exception=aiohttp.ServerDisconnectedError())
    mocked.get(GET_URL, exception=TimeoutError())
    mocked.get(GET_URL, payload=DETAILS)
    async with client_with(clock) as vs:
        await vs.sessions.get("s1")
    assert len(sent(mocked)) == 3


async def test_exhausted_timeouts_raise_request_timeout(clock: FakeTime, mocked: Any) -> None:
    mocked.get(GET_URL, exception=TimeoutError(), repeat=True)
    async with client_with(clock, max_attempts=2) as vs:
        with pytest.raises(RequestTimeoutError) as caught:
            await vs.sessions.get("s1")
    assert isinstance(caught.value, TimeoutError)
    assert isinstance(caught.value, TransportError)


async def test_refused_connection_is_a_transport_error(clock: FakeTime) -> None:
    # Port 9 on loopback: nothing listens, the connection is refused at once.
    async with VideoSDK(
        API_KEY, SECRET, base_url="http://127.0.0.1:9", retry=clock.policy(max_attempts=2)
    ) as vs:
        with pytest.raises(TransportError) as caught:
            await vs.sessions.get("s1")
    assert caught.value.request_sent is False
    assert len(clock.sleeps) == 1


# --- error mapping -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (402, NotFoundError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (413, PayloadTooLargeError),
        (422, BadRequestError),
        (429, RateLimitError),
        (500, ServerError),
        (503, ServerError),
        (418, APIError),
    ],
)
async def test_every_status_maps_to_its_class(
    clock: FakeTime, mocked: Any, status: int, error_class: type[APIError]
) -> None:
    mocked.get(
        GET_URL,
        status=status,
        payload={"message": "it went wrong", "code": "E42", "details": {"field": "x"}},
        headers={"x-request-id": "req-123"},
        repeat=True,
    )
    async with client_with(clock, max_attempts=1) as vs:
        with pytest.raises(error_class) as caught:
            await vs.sessions.get("s1")
    error = caught.value
    assert type(error) is error_class
    assert error.status == status
    assert error.code == "E42"
    assert error.message == "it went wrong"
    assert error.request_id == "req-123"
    assert error.provider == "videosdk"
    assert error.details == {"field": "x"}
    assert "it went wrong" in str(error)
    assert "req-123" in str(error)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"error": "bad token"}, "bad token"),
        ({"msg": "nope"}, "nope"),
        ({"message": "m", "error": "e"}, "m"),
    ],
)
async def test_error_message_keys(clock: FakeTime, mocked: Any, body: Any, message: str) -> None:
    mocked.get(GET_URL, status=400, payload=body)
    async with client_with(clock) as vs:
        with pytest.raises(BadRequestError) as caught:
            await vs.sessions.get("s1")
    assert caught.value.message == message


async def test_request_id_from_request_id_header(clock: FakeTime, mocked: Any) -> None:
    mocked.get(GET_URL, status=404, payload={"message": "x"}, headers={"request-id": "r-9"})
    async with client_with(clock) as vs:
        with pytest.raises(NotFoundError) as caught:
            await vs.sessions.get("s1")
    assert caught.value.request_id == "r-9"


async def test_non_json_error_body_gives_a_useful_message(clock: FakeTime, mocked: Any) -> None:
    page = "<html><body><h1>502 Bad Gateway</h1>\n<p>nginx</p></body></html>"
    mocked.get(GET_URL, status=502, body=page, content_type="text/html", repeat=True)
    async with client_with(clock, max_attempts=1) as vs:
        with pytest.raises(ServerError) as caught:
            await vs.sessions.get("s1")
    assert "502 Bad Gateway" in caught.value.message
    assert "\n" not in caught.value.message
    assert caught.value.body == page


async def test_empty_error_body_still_names_the_status(clock: FakeTime, mocked: Any) -> None:
    mocked.get(GET_URL, status=403, body="")
    async with client_with(clock) as vs:
        with pytest.raises(PermissionDeniedError) as caught:
            await vs.sessions.get("s1")
    assert "403" in str(caught.value)


@pytest.mark.parametrize("body", ["{not json", "<html>ok</html>", '{"sessionId": 5, "x"'])
async def test_success_that_is_not_json_is_a_decode_error(
    clock: FakeTime, mocked: Any, body: str
) -> None:
    mocked.get(GET_URL, status=200, body=body, headers={"x-request-id": "r1"}, repeat=True)
    async with client_with(clock) as vs:
        with pytest.raises(ResponseDecodeError) as caught:
            await vs.sessions.get("s1")
    assert caught.value.request_id == "r1"
    assert len(sent(mocked)) == 4  # a read is tried again, up to max_attempts


async def test_a_cut_off_body_on_a_read_is_read_again(clock: FakeTime, mocked: Any) -> None:
    mocked.get(GET_URL, status=200, body='{"sessionId": "s1", "sta')
    mocked.get(GET_URL, payload=DETAILS)
    async with client_with(clock) as vs:
        session = await vs.sessions.get("s1")
    assert session.id == DETAILS["sessionId"]
    assert clock.sleeps == [0.5]


async def test_a_start_with_an_unreadable_answer_is_not_sent_again(
    clock: FakeTime, mocked: Any
) -> None:
    mocked.post(f"{SESSIONS}/start", status=200, body="{cut")
    mocked.get(LIST_URL, payload=listed([]), repeat=True)
    async with client_with(clock) as vs:
        with pytest.raises(StartOutcomeUnknownError):
            await vs.sessions.start(deployment_id="d", tag="v")
    assert len(sent(mocked, "POST")) == 1


@pytest.mark.parametrize(
    "payload",
    [
        [],
        {"status": "x"},
        {"sessionId": None},
        {"sessionId": "s", "createdAt": "yesterday"},
        {"sessionId": "s", "duration": "long"},
        {"sessionId": {"a": 1}},
    ],
)
async def test_wrong_shapes_are_decode_errors(clock: FakeTime, mocked: Any, payload: Any) -> None:
    mocked.get(GET_URL, payload=payload)
    async with client_with(clock) as vs:
        with pytest.raises(ResponseDecodeError):
            await vs.sessions.get("s1")


async def test_secrets_never_appear_in_error_text(clock: FakeTime, mocked: Any) -> None:
    mocked.get(GET_URL, status=401, payload={"message": f"bad key {API_KEY} / {SECRET}"})
    async with client_with(clock) as vs:
        token = vs._authorization(None)()
        with pytest.raises(AuthenticationError) as caught:
            await vs.sessions.get("s1")
    text = str(caught.value) + repr(caught.value)
    for secret in (API_KEY, SECRET, token):
        assert secret not in text


# --- start: at most once, reconciled ----------------------------------------------------


async def test_start_is_not_retried_after_a_client_error(clock: FakeTime, mocked: Any) -> None:
    mocked.post(f"{SESSIONS}/start", status=400, payload={"message": "bad tag"})
    async with client_with(clock) as vs:
        with pytest.raises(BadRequestError):
            await vs.sessions.start(deployment_id="d", tag="v")
    assert len(sent(mocked)) == 1


async def test_start_is_retried_after_429(clock: FakeTime, mocked: Any) -> None:
    mocked.post(f"{SESSIONS}/start", status=429, headers={"Retry-After": "2"})
    mocked.post(f"{SESSIONS}/start", payload=fixture("videosdk-start-session.json"))
    async with client_with(clock) as vs:
        session = await vs.sessions.start(deployment_id="d", tag="v")
    assert session.id == "8a93774e-caa0-4cd8-9c63-f2771b031b74"
    assert clock.sleeps == [2.0]
    bodies = [body_of(k) for _, _, k in sent(mocked, "POST")]
    assert bodies[0]["metaData"][START_MARKER] == bodies[1]["metaData"][START_MARKER]


async def test_start_is_retried_when_the_connection_was_never_made(clock: FakeTime) -> None:
    async with VideoSDK(
        API_KEY, SECRET, base_url="http://127.0.0.1:9", retry=clock.policy(max_attempts=3)
    ) as vs:
        with pytest.raises(TransportError):
            await vs.sessions.start(deployment_id="d", tag="v")
    assert len(clock.sleeps) == 2


def listed(sessions: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "data": sessions,
        "pageInfo": {
            "totalItems": len(sessions),
            "currentPage": 1,
            "perPage": 100,
            "total": len(sessions),
        },
    }


def marker_of(mocked: Any) -> str:
    marker: str = body_of(sent(mocked, "POST")[0][2])["metaData"][START_MARKER]
    return marker


async def test_ambiguous_start_is_reconciled_to_the_created_session(
    clock: FakeTime, mocked: Any
) -> None:
    found: dict[str, Any] = {}

    def listing(url: Any, **kwargs: Any) -> Any:
        from aioresponses import CallbackResult

        other = {"sessionId": "other", "status": "running", "metadata": {START_MARKER: "zz"}}
        mine = {
            "sessionId": "created",
            "status": "queued",
            "metadata": {START_MARKER: marker_of(mocked)},
        }
        found["listed"] = True
        return CallbackResult(payload=listed([other, mine]))

    mocked.post(f"{SESSIONS}/start", exception=aiohttp.ServerDisconnectedError())
    mocked.get(LIST_URL, callback=listing)
    async with client_with(clock) as vs:
        holds = HoldRecorder(vs)
        session = await vs.sessions.start(deployment_id="d", tag="v")
        assert session.id == "created"
        assert holds.managed == {"created": False}
    assert found == {"listed": True}
    assert len(sent(mocked, "POST")) == 1  # never sent twice


async def test_ambiguous_start_not_found_is_tried_again(clock: FakeTime, mocked: Any) -> None:
    mocked.post(f"{SESSIONS}/start", status=502, payload={"message": "bad gateway"})
    mocked.get(LIST_URL, payload=listed([]))
    mocked.post(f"{SESSIONS}/start", payload=fixture("videosdk-start-session.json"))
    async with client_with(clock) as vs:
        session = await vs.sessions.start(deployment_id="d", tag="v")
    assert session.id == "8a93774e-caa0-4cd8-9c63-f2771b031b74"
    assert len(sent(mocked, "POST")) == 2


async def test_ambiguous_start_that_never_succeeds_raises_the_cause(
    clock: FakeTime, mocked: Any
) -> None:
    mocked.post(f"{SESSIONS}/start", status=500, payload={"message": "down"}, repeat=True)
    mocked.get(LIST_URL, payload=listed([]), repeat=True)
    async with client_with(clock, max_attempts=3) as vs:
        with pytest.raises(ServerError):
            await vs.sessions.start(deployment_id="d", tag="v")
    assert len(sent(mocked, "POST")) == 3


async def test_ambiguous_start_with_failed_lookup_is_outcome_unknown(
    clock: FakeTime, mocked: Any
) -> None:
    mocked.post(f"{SESSIONS}/start", exception=TimeoutError())
    mocked.get(LIST_URL, status=401, payload={"message": "nope"})
    async with client_with(clock) as vs:
        with pytest.raises(StartOutcomeUnknownError) as caught:
            await vs.sessions.start(deployment_id="d", tag="v")
    assert isinstance(caught.value.__cause__, RequestTimeoutError)
    assert START_MARKER in str(caught.value)
    assert caught.value.marker == marker_of(mocked)
    assert len(sent(mocked, "POST")) == 1


def test_retry_policy_defaults_match_the_design() -> None:
    policy = RetryPolicy()
    assert policy.max_attempts == 4
    assert policy.backoff_base == 0.5
    assert policy.backoff_cap == 8.0
    assert policy.deadline == 60.0
    assert policy.retry_statuses == (408, 429, 500, 502, 503, 504)
    assert policy.max_retry_after == 60.0
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="deadline"):
        RetryPolicy(deadline=0)
