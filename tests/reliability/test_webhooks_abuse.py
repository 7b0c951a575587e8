"""Webhooks under abuse: bad deliveries are refused, and the receiver keeps serving.

- Tampered, unsigned, wrongly signed, malformed, deeply nested and oversized deliveries
  (with or without a Content-Length) are refused with 401, 400 or 413, counted by reason,
  and never queued; a well-signed one is accepted.
- A flood of 600 bad requests from 50 concurrent senders leaves the receiver answering:
  every one is refused and counted, and the valid deliveries sent during and after the
  flood are all queued, in order per sender.
- ``webhooks.parse`` on arbitrary bytes and headers (property-based) returns an event or
  raises InvalidRequestError / WebhookVerificationError, nothing else.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from agentcloud import InvalidRequestError, WebhookReceiver, WebhookVerificationError
from agentcloud.providers.videosdk import SIGNATURE_HEADER
from agentcloud.webhooks import DEFAULT_MAX_BODY, SessionEvent, parse
from tests.helpers import rsa_keypair, rsa_sign

KEY, PUBLIC = rsa_keypair()
OTHER_KEY, _ = rsa_keypair()


def sign(body: bytes, key: rsa.RSAPrivateKey = KEY) -> str:
    return rsa_sign(body, key)


def delivery(session_id: str, event: str = "ai-deployment-session-started") -> bytes:
    return json.dumps({"webhookType": event, "data": {"sessionId": session_id}}).encode()


async def chunks(size: int) -> AsyncIterator[bytes]:
    sent = 0
    while sent < size:
        yield b"x" * 8192
        sent += 8192


def bad_requests() -> list[tuple[str, dict[str, Any], int]]:
    """(reason, aiohttp request kwargs, expected status) for each kind of bad delivery."""
    good = delivery("s-good")
    deep = b'{"webhookType": "x", "data": ' + b"[" * 30_000 + b"]" * 30_000 + b"}"
    signed_garbage = b"this is not json"
    return [
        ("tampered", {"data": delivery("s-evil"), "headers": {SIGNATURE_HEADER: sign(good)}}, 401),
        ("unsigned", {"data": good}, 401),
        ("other key", {"data": good, "headers": {SIGNATURE_HEADER: sign(good, OTHER_KEY)}}, 401),
        ("not base64", {"data": good, "headers": {SIGNATURE_HEADER: "%%%not-base64%%%"}}, 401),
        ("empty signature", {"data": good, "headers": {SIGNATURE_HEADER: ""}}, 401),
        (
            "signed garbage",
            {"data": signed_garbage, "headers": {SIGNATURE_HEADER: sign(signed_garbage)}},
            400,
        ),
        ("signed deep", {"data": deep, "headers": {SIGNATURE_HEADER: sign(deep)}}, 400),
        ("signed array", {"data": b"[1]", "headers": {SIGNATURE_HEADER: sign(b"[1]")}}, 400),
        (
            "oversized",
            {"data": b"x" * (DEFAULT_MAX_BODY + 1), "headers": {SIGNATURE_HEADER: sign(good)}},
            413,
        ),
        ("oversized chunked", {"data": "chunked", "headers": {SIGNATURE_HEADER: sign(good)}}, 413),
    ]


@pytest.fixture
async def served() -> AsyncIterator[WebhookReceiver]:
    async with WebhookReceiver.serve("127.0.0.1", 0, public_key=PUBLIC, max_queue=5000) as hooks:
        yield hooks


async def test_each_bad_delivery_is_refused_and_counted(served: WebhookReceiver) -> None:
    assert served.url is not None
    async with aiohttp.ClientSession() as http:
        for reason, kwargs, expected in bad_requests():
            status = await post_checked(http, served.url, reason, kwargs)
            assert status == expected, reason
        good = delivery("s-good")
        headers = {SIGNATURE_HEADER: sign(good)}
        assert (
            await post_checked(http, served.url, "valid", {"data": good, "headers": headers}) == 200
        )
    stats = served.stats
    # An empty signature header counts as unsigned, like a missing one.
    assert (stats.unsigned, stats.bad_signature, stats.bad_body, stats.too_large) == (2, 3, 3, 2)
    assert stats.accepted == 1
    event = await served.next(timeout=1)
    assert event.session_id == "s-good"


async def post_checked(
    http: aiohttp.ClientSession, url: str, reason: str, kwargs: dict[str, Any]
) -> int:
    options = dict(kwargs)
    if options.get("data") == "chunked":
        options["data"] = chunks(DEFAULT_MAX_BODY * 4)
    try:
        async with http.post(url, **options) as response:
            await response.read()
            return response.status
    except (aiohttp.ClientError, ConnectionError):
        # Refusing a large upload may close the connection before the client is done
        # writing it; that is a refusal too, but only for the oversized ones.
        assert reason.startswith("oversized"), reason
        return 413


async def test_the_receiver_keeps_serving_under_a_flood(served: WebhookReceiver) -> None:
    assert served.url is not None
    url = served.url
    rng = random.Random(7)
    menu = bad_requests()
    plan = [menu[rng.randrange(len(menu))] for _ in range(600)]
    valid_sent: list[str] = []

    async def flooder(number: int, http: aiohttp.ClientSession) -> None:
        for index in range(number, len(plan), 50):
            reason, kwargs, expected = plan[index]
            status = await post_checked(http, url, reason, kwargs)
            assert status == expected, reason
            if index % 60 == 0:  # real deliveries keep arriving during the flood
                body = delivery(f"s-{index}")
                headers = {SIGNATURE_HEADER: sign(body)}
                assert (
                    await post_checked(http, url, "valid", {"data": body, "headers": headers})
                    == 200
                )
                valid_sent.append(f"s-{index}")

    connector = aiohttp.TCPConnector(limit=50)
    async with aiohttp.ClientSession(connector=connector) as http:
        await asyncio.gather(*(flooder(number, http) for number in range(50)))
        after = delivery("s-after")
        status = await post_checked(
            http, url, "valid", {"data": after, "headers": {SIGNATURE_HEADER: sign(after)}}
        )
        assert status == 200
    assert served.stats.rejected == len(plan)
    assert served.stats.accepted == len(valid_sent) + 1
    received = [str((await served.next(timeout=1)).session_id) for _ in range(len(valid_sent) + 1)]
    assert sorted(received) == sorted([*valid_sent, "s-after"])


async def test_an_unverifying_receiver_refuses_what_it_cannot_parse() -> None:
    async with WebhookReceiver.serve(
        "127.0.0.1", 0, provider="videosdk", verify=False
    ) as hooks, aiohttp.ClientSession() as http:
        assert hooks.url is not None
        for body in (b"[" * 30_000, b"\xff\xfe", b"{}", b'{"webhookType": 5}', b"null"):
            async with http.post(hooks.url, data=body) as response:
                assert response.status == 400, body[:20]
        assert hooks.stats.bad_body == 5


async def test_a_failing_key_source_refuses_without_crashing() -> None:
    calls = 0

    async def flaky_key() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise ConnectionError("key server down")
        return PUBLIC

    now = [0.0]
    async with (
        WebhookReceiver.serve(
            "127.0.0.1", 0, key_source=flaky_key, key_retry_after=1.0, clock=lambda: now[0]
        ) as hooks,
        aiohttp.ClientSession() as http,
    ):
        assert hooks.url is not None
        body = delivery("s1")
        headers = {SIGNATURE_HEADER: sign(body)}
        statuses = []
        for _ in range(4):
            async with http.post(hooks.url, data=body, headers=headers) as response:
                statuses.append(response.status)
            now[0] += 1.5  # past the time a failed fetch is remembered
        assert statuses == [503, 503, 200, 200]
        assert hooks.stats.key_unavailable == 2


header_values = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x2FF), max_size=40)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    body=st.one_of(
        st.binary(max_size=300),
        st.sampled_from([b"[" * 50_000, b'{"webhookType":' * 30_000, b"\xff", b""]),
        st.builds(
            lambda name, sid: json.dumps({"webhookType": name, "data": {"sessionId": sid}}),
            st.one_of(st.text(max_size=30), st.integers(), st.none()),
            st.one_of(st.text(max_size=10), st.integers(), st.lists(st.integers()), st.none()),
        ).map(str.encode),
    ),
    headers=st.dictionaries(
        st.sampled_from([SIGNATURE_HEADER, SIGNATURE_HEADER.upper(), "content-type", "x"]),
        header_values,
        max_size=3,
    ),
    verify=st.booleans(),
)
def test_parse_raises_only_its_own_errors(
    body: bytes, headers: dict[str, str], verify: bool
) -> None:
    try:
        event = parse("videosdk", body, headers, public_key=PUBLIC if verify else None)
    except (InvalidRequestError, WebhookVerificationError):
        return
    assert isinstance(event, SessionEvent)
    assert not verify, "an unsigned or wrongly signed body was accepted"


async def test_waits_that_time_out_leave_no_watchers_behind() -> None:
    """wait(receiver=...) on sessions that never get an event (many distinct ids, as a
    long-running bot has) must not grow the receiver's watcher table without bound."""
    receiver = WebhookReceiver(provider="videosdk", verify=False)
    for number in range(2000):
        watcher = receiver.watch(f"session-{number}")
        await asyncio.sleep(0)
        watcher.cancel()
    await asyncio.sleep(0)
    assert len(receiver._watchers) == 0
    # A watcher resolved by its event is gone too, and so are any left over for that id.
    fired = receiver.watch("s1")
    await receiver.put(parse("videosdk", delivery("s1"), {}, verify=False))
    assert fired.done()
    assert receiver._watchers == {}
