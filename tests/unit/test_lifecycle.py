"""Managed sessions (async with), held sessions, wait(); plus converter and shim basics."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aioresponses import CallbackResult, aioresponses

from agentcloud import (
    InvalidRequestError,
    RequestTimeoutError,
    SessionFailedError,
    SessionStatus,
    VideoSDK,
)
from agentcloud._convert import parse_datetime
from tests.helpers import API_KEY, SECRET, VIDEOSDK_URL, FakeTime, body_of, fixture, sent

SESSIONS = f"{VIDEOSDK_URL}/ai/v1/ai-deployment-sessions"
STARTED = fixture("videosdk-start-session.json")
ENDED = fixture("videosdk-end-session.json")
SID = STARTED["data"]["sessionId"]


def ended_ids(mocked: Any) -> list[str]:
    return [body_of(k)["sessionId"] for _, url, k in sent(mocked, "POST") if url.endswith("/end")]


async def test_async_with_ends_the_session_on_normal_exit(clock: FakeTime, mocked: Any) -> None:
    mocked.post(f"{SESSIONS}/start", payload=STARTED)
    mocked.post(f"{SESSIONS}/end", payload=ENDED)
    async with VideoSDK(API_KEY, SECRET, retry=clock.policy()) as vs:
        async with vs.sessions.start(deployment_id="d", tag="v1.0") as session:
            assert session.id == SID
            assert SID in vs._held
        assert SID not in vs._held
    assert ended_ids(mocked) == [SID]


async def test_async_with_ends_the_session_on_error(clock: FakeTime, mocked: Any) -> None:
    mocked.post(f"{SESSIONS}/start", payload=STARTED)
    mocked.post(f"{SESSIONS}/end", payload=ENDED)
    async with VideoSDK(API_KEY, SECRET, retry=clock.policy()) as vs:
        with pytest.raises(KeyError):
            async with vs.sessions.start(deployment_id="d", tag="v1.0"):
                raise KeyError("boom")
    assert ended_ids(mocked) == [SID]


async def test_async_with_ends_the_session_when_cancelled(clock: FakeTime, mocked: Any) -> None:
    mocked.post(f"{SESSIONS}/start", payload=STARTED)
    mocked.post(f"{SESSIONS}/end", payload=ENDED)
    inside = asyncio.Event()

    async def bot(vs: VideoSDK) -> None:
        async with vs.sessions.start(deployment_id="d", tag="v1.0"):
            inside.set()
            await asyncio.Event().wait()  # until cancelled

    async with VideoSDK(API_KEY, SECRET, retry=clock.policy()) as vs:
        task = asyncio.ensure_future(bot(vs))
        await inside.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert ended_ids(mocked) == [SID]


async def test_end_is_retried_on_the_way_out(clock: FakeTime, mocked: Any) -> None:
    mocked.post(f"{SESSIONS}/start", payload=STARTED)
    mocked.post(f"{SESSIONS}/end", status=503)
    mocked.post(f"{SESSIONS}/end", exception=aiohttp.ServerDisconnectedError())
    mocked.post(f"{SESSIONS}/end", payload=ENDED)
    async with (
        VideoSDK(API_KEY, SECRET, retry=clock.policy()) as vs,
        vs.sessions.start(deployment_id="d", tag="v1.0"),
    ):
        pass
    assert ended_ids(mocked) == [SID, SID, SID]


async def test_already_gone_session_is_fine_on_exit(clock: FakeTime, mocked: Any) -> None:
    mocked.post(f"{SESSIONS}/start", payload=STARTED)
    mocked.post(f"{SESSIONS}/end", status=404, payload={"message": "no such session"})
    async with (
        VideoSDK(API_KEY, SECRET, retry=clock.policy()) as vs,
        vs.sessions.start(deployment_id="d", tag="v1.0"),
    ):
        pass


async def test_end_failure_does_not_mask_the_blocks_error(
    clock: FakeTime, mocked: Any, caplog: pytest.LogCaptureFixture
) -> None:
    mocked.post(f"{SESSIONS}/start", payload=STARTED)
    mocked.post(f"{SESSIONS}/end", status=401, payload={"message": "expired"})
    async with VideoSDK(API_KEY, SECRET, retry=clock.policy()) as vs:
        with caplog.at_level(logging.WARNING, "agentcloud"), pytest.raises(KeyError):
            async with vs.sessions.start(deployment_id="d", tag="v1.0"):
                raise KeyError("boom")
    assert SID in caplog.text


async def test_a_start_handle_is_single_use(clock: FakeTime, mocked: Any) -> None:
    mocked.post(f"{SESSIONS}/start", payload=STARTED)
    async with VideoSDK(API_KEY, SECRET, retry=clock.policy()) as vs:
        handle = vs.sessions.start(deployment_id="d", tag="v1.0")
        await handle
        with pytest.raises(RuntimeError):
            await handle


async def test_close_ends_held_sessions_when_asked(clock: FakeTime, mocked: Any) -> None:
    mocked.post(f"{SESSIONS}/start", payload=STARTED)
    mocked.post(f"{SESSIONS}/end", payload=ENDED)
    vs = VideoSDK(API_KEY, SECRET, retry=clock.policy(), end_on_close=True)
    await vs.sessions.start(deployment_id="d", tag="v1.0")
    await vs.aclose()
    await vs.aclose()  # idempotent
    assert ended_ids(mocked) == [SID]
    assert vs.closed


async def test_close_leaves_sessions_alone_by_default(clock: FakeTime, mocked: Any) -> None:
    mocked.post(f"{SESSIONS}/start", payload=STARTED)
    async with VideoSDK(API_KEY, SECRET, retry=clock.policy()) as vs:
        await vs.sessions.start(deployment_id="d", tag="v1.0")
    assert ended_ids(mocked) == []


@pytest.mark.parametrize("end_on_close", [False, True])
async def test_a_client_keeps_only_the_sessions_it_will_end(
    clock: FakeTime, mocked: Any, end_on_close: bool
) -> None:
    """A service awaiting start after start (its bots end themselves) holds nothing of
    them, however many: only sessions the client promised to end stay in memory."""
    made = iter(range(10**6))

    def start(url: Any, **_: Any) -> CallbackResult:
        return CallbackResult(
            payload={**STARTED, "data": {**STARTED["data"], "sessionId": f"s-{next(made)}"}}
        )

    mocked.post(f"{SESSIONS}/start", callback=start, repeat=True)
    mocked.post(f"{SESSIONS}/end", payload=ENDED, repeat=True)
    async with VideoSDK(API_KEY, SECRET, retry=clock.policy(), end_on_close=end_on_close) as vs:
        for _ in range(200):
            await vs.sessions.start(deployment_id="d", tag="v1.0")
        assert len(vs._held) == (200 if end_on_close else 0)
        async with vs.sessions.start(deployment_id="d", tag="v1.0") as managed:
            assert managed.id in vs._held  # under async with: held until its block ends
        assert managed.id not in vs._held
        assert len(vs._held) == (200 if end_on_close else 0)


async def test_a_callers_http_session_is_used_and_never_closed(mocked: Any) -> None:
    mocked.get(f"{SESSIONS}/s1", payload=fixture("videosdk-fetch-session-details.json"))
    async with aiohttp.ClientSession() as http:
        async with VideoSDK(API_KEY, SECRET, http=http) as vs:
            await vs.sessions.get("s1")
        assert not http.closed


async def test_one_pooled_session_per_client(clock: FakeTime, mocked: Any) -> None:
    mocked.get(
        f"{SESSIONS}/s1", payload=fixture("videosdk-fetch-session-details.json"), repeat=True
    )
    async with VideoSDK(API_KEY, SECRET, retry=clock.policy()) as vs:
        await vs.sessions.get("s1")
        first = vs._transport._http()
        await asyncio.gather(*(vs.sessions.get("s1") for _ in range(5)))
        assert vs._transport._http() is first
    assert first.closed
    with pytest.raises(InvalidRequestError, match="closed"):
        await vs.sessions.get("s1")


def status_sequence(statuses: list[str]) -> Any:
    remaining = list(statuses)

    def answer(url: Any, **kwargs: Any) -> CallbackResult:
        status = remaining.pop(0) if len(remaining) > 1 else remaining[0]
        return CallbackResult(payload={"sessionId": "s1", "status": status})

    return answer


async def test_wait_polls_with_capped_backoff_until_running(clock: FakeTime, mocked: Any) -> None:
    mocked.get(
        f"{SESSIONS}/s1", callback=status_sequence(["queued"] * 6 + ["running"]), repeat=True
    )
    async with VideoSDK(API_KEY, SECRET, retry=clock.policy()) as vs:
        session = await vs.sessions.wait(
            "s1", until="running", timeout=60, poll_interval=1.0, max_poll_interval=3.0
        )
    assert session.status is SessionStatus.RUNNING
    assert clock.sleeps == [1.0, 1.5, 2.25, 3.0, 3.0, 3.0]


async def test_wait_returns_a_later_stage(clock: FakeTime, mocked: Any) -> None:
    mocked.get(f"{SESSIONS}/s1", callback=status_sequence(["completed"]), repeat=True)
    async with VideoSDK(API_KEY, SECRET, retry=clock.policy()) as vs:
        session = await vs.sessions.wait("s1", until=SessionStatus.RUNNING)
    assert session.status is SessionStatus.ENDED


async def test_wait_raises_when_the_session_fails(clock: FakeTime, mocked: Any) -> None:
    mocked.get(f"{SESSIONS}/s1", callback=status_sequence(["queued", "failed"]), repeat=True)
    async with VideoSDK(API_KEY, SECRET, retry=clock.policy()) as vs:
        with pytest.raises(SessionFailedError) as caught:
            await vs.sessions.wait("s1", until="ended")
    assert caught.value.session.raw_status == "failed"


async def test_wait_times_out_on_the_injected_clock(clock: FakeTime, mocked: Any) -> None:
    mocked.get(f"{SESSIONS}/s1", callback=status_sequence(["queued"]), repeat=True)
    async with VideoSDK(API_KEY, SECRET, retry=clock.policy()) as vs:
        with pytest.raises(RequestTimeoutError, match="queued"):
            await vs.sessions.wait("s1", timeout=10, poll_interval=2.0, max_poll_interval=2.0)
    assert sum(clock.sleeps) == pytest.approx(10.0)


async def test_wait_rejects_bad_arguments(clock: FakeTime, mocked: Any) -> None:
    async with VideoSDK(API_KEY, SECRET, retry=clock.policy()) as vs:
        with pytest.raises(InvalidRequestError) as caught:
            await vs.sessions.wait("s1", until="sleeping")
        assert caught.value.argument == "until"
        with pytest.raises(InvalidRequestError) as caught:
            await vs.sessions.wait("s1", timeout=-1)
        assert caught.value.argument == "timeout"
    assert sent(mocked) == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-06-18T11:16:10.643Z", datetime(2025, 6, 18, 11, 16, 10, 643000, tzinfo=UTC)),
        ("2025-06-18T11:16:10", datetime(2025, 6, 18, 11, 16, 10, tzinfo=UTC)),  # naive is UTC
        ("2025-06-18T13:16:10+02:00", datetime(2025, 6, 18, 11, 16, 10, tzinfo=UTC)),
        (1729583960, datetime(2024, 10, 22, 7, 59, 20, tzinfo=UTC)),
    ],
)
def test_timestamps_become_aware_utc(value: Any, expected: datetime) -> None:
    parsed = parse_datetime(value)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize("size", [10, 200_000])
async def test_aioresponses_shim_serves_small_and_large_bodies(size: int) -> None:
    payload = {"blob": "x" * size}
    with aioresponses() as mocked:
        mocked.get("http://example.invalid/blob", payload=payload)
        async with aiohttp.ClientSession() as http, http.get("http://example.invalid/blob") as r:
            assert await r.json() == payload


async def test_wait_wakes_early_when_the_receiver_gets_news(mocked: Any) -> None:
    from agentcloud import RetryPolicy, WebhookReceiver, webhooks

    async def never_wake(seconds: float) -> None:
        await asyncio.Event().wait()  # only the webhook can end this pause

    mocked.get(f"{SESSIONS}/s1", callback=status_sequence(["queued", "running"]), repeat=True)
    receiver = WebhookReceiver(provider="videosdk", verify=False)
    policy = RetryPolicy(sleep=never_wake)
    async with VideoSDK(API_KEY, SECRET, retry=policy) as vs:
        waiting = asyncio.ensure_future(vs.sessions.wait("s1", receiver=receiver, timeout=None))
        for _ in range(20):
            await asyncio.sleep(0)
        assert not waiting.done()
        body = b'{"webhookType": "ai-deployment-session-started", "data": {"sessionId": "s1"}}'
        await receiver.put(webhooks.parse("videosdk", body, {}, verify=False))
        session = await asyncio.wait_for(waiting, 5)
    assert session.status is SessionStatus.RUNNING
    assert (await receiver.next(timeout=1)).session_id == "s1"  # the event was not consumed


async def test_news_that_lands_while_a_poll_is_answered_ends_the_next_pause(mocked: Any) -> None:
    """The poll's answer predates the webhook that arrives with it: the wait must not then
    sleep through its pause as if nothing had come."""
    from agentcloud import RetryPolicy, WebhookReceiver, webhooks

    receiver = WebhookReceiver(provider="videosdk", verify=False)
    body = b'{"webhookType": "ai-deployment-session-started", "data": {"sessionId": "s1"}}'
    polls: list[str] = []

    async def answer(url: Any, **kwargs: Any) -> CallbackResult:
        if not polls:  # the first poll: the webhook lands while it is being answered
            await receiver.put(webhooks.parse("videosdk", body, {}, verify=False))
        polls.append("queued" if not polls else "running")
        return CallbackResult(payload={"sessionId": "s1", "status": polls[-1]})

    async def never_wake(seconds: float) -> None:
        await asyncio.Event().wait()  # only the webhook can end this pause

    mocked.get(f"{SESSIONS}/s1", callback=answer, repeat=True)
    async with VideoSDK(API_KEY, SECRET, retry=RetryPolicy(sleep=never_wake)) as vs:
        session = await asyncio.wait_for(vs.sessions.wait("s1", receiver=receiver, timeout=None), 5)
    assert session.status is SessionStatus.RUNNING
    assert polls == ["queued", "running"]
    assert receiver._watchers == {}  # the wait's watcher is gone with it
