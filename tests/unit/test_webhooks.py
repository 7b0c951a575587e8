"""Webhook parsing, signature verification and the receiver (over real loopback HTTP)."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import aiohttp
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from agentcloud import InvalidRequestError, RequestTimeoutError, SessionStatus
from agentcloud import webhooks as wh
from agentcloud.webhooks import (
    SessionEventType,
    WebhookReceiver,
    WebhookVerificationError,
    parse,
)
from tests.helpers import rsa_keypair, rsa_sign

PRIVATE, PUBLIC = rsa_keypair()
OTHER_PRIVATE, OTHER_PUBLIC = rsa_keypair()


def sign(body: bytes, key: rsa.RSAPrivateKey = PRIVATE) -> str:
    return rsa_sign(body, key)


def delivery(event: str, session_id: str = "s1") -> bytes:
    return json.dumps({"webhookType": event, "data": {"sessionId": session_id}}).encode()


@pytest.mark.parametrize(
    ("name", "kind", "status"),
    [
        ("ai-deployment-session-starting", SessionEventType.STARTING, SessionStatus.STARTING),
        ("ai-deployment-session-started", SessionEventType.STARTED, SessionStatus.RUNNING),
        ("ai-deployment-session-stopping", SessionEventType.STOPPING, SessionStatus.STOPPING),
        ("ai-deployment-session-stopped", SessionEventType.STOPPED, SessionStatus.ENDED),
        ("ai-deployment-session-failed", SessionEventType.FAILED, SessionStatus.FAILED),
        ("agent-session-starting", SessionEventType.STARTING, SessionStatus.STARTING),
        ("agent-session-started", SessionEventType.STARTED, SessionStatus.RUNNING),
        ("agent-session-stopping", SessionEventType.STOPPING, SessionStatus.STOPPING),
        ("agent-session-stopped", SessionEventType.STOPPED, SessionStatus.ENDED),
        ("agent-session-failed", SessionEventType.FAILED, SessionStatus.FAILED),
        ("recording-started", SessionEventType.UNKNOWN, SessionStatus.UNKNOWN),
        ("ai-deployment-session-exploded", SessionEventType.UNKNOWN, SessionStatus.UNKNOWN),
    ],
)
def test_every_documented_event_parses(name: str, kind: Any, status: Any) -> None:
    body = delivery(name, "abc")
    event = parse("videosdk", body, {"videosdk-signature": sign(body)}, public_key=PUBLIC)
    assert event.type is kind
    assert event.name == name
    assert event.status is status
    assert event.session_id == "abc"
    assert event.raw == json.loads(body)
    assert event.received_at.tzinfo is not None


def test_signature_header_name_is_case_insensitive() -> None:
    body = delivery("ai-deployment-session-started")
    event = parse("videosdk", body, {"VideoSDK-Signature": sign(body)}, public_key=PUBLIC)
    assert event.type is SessionEventType.STARTED


@pytest.mark.parametrize(
    "case", ["tampered body", "tampered signature", "wrong key", "missing header", "not base64"]
)
def test_bad_signatures_are_rejected(case: str) -> None:
    body = delivery("ai-deployment-session-started")
    headers = {"videosdk-signature": sign(body)}
    key = PUBLIC
    if case == "tampered body":
        body = body.replace(b"s1", b"s2")
    elif case == "tampered signature":
        raw = bytearray(base64.b64decode(headers["videosdk-signature"]))
        raw[10] ^= 0x01
        headers["videosdk-signature"] = base64.b64encode(bytes(raw)).decode()
    elif case == "wrong key":
        key = OTHER_PUBLIC
    elif case == "missing header":
        headers = {}
    else:
        headers["videosdk-signature"] = "%%%not-base64%%%"
    with pytest.raises(WebhookVerificationError):
        parse("videosdk", body, headers, public_key=key)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"data": {}}', "webhookType"),
        (b'{"webhookType": "x", "data": [1]}', "data"),
        (b'{"webhookType": "x", "data": {"sessionId": 5}}', "sessionId"),
        (b"\xff\xfe", "not JSON"),
    ],
)
def test_invalid_bodies_say_what_is_wrong(body: bytes, problem: str) -> None:
    with pytest.raises(InvalidRequestError, match=problem) as caught:
        parse("videosdk", body, {}, verify=False)
    assert caught.value.argument == "body"


def test_a_provider_without_webhooks_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from agentcloud import providers

    silent = providers.ProviderInfo(
        name="silent", title="No webhooks", module="agentcloud.models", client="Session"
    )
    monkeypatch.setitem(providers._registry, "silent", silent)
    with pytest.raises(InvalidRequestError) as caught:
        parse("silent", b"{}", {})
    assert caught.value.argument == "provider"


def test_a_bad_public_key_fails_at_construction() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        WebhookReceiver(public_key="-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----")
    assert caught.value.argument == "public_key"


async def post(url: str, body: bytes, headers: dict[str, str] | None = None) -> int:
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=headers) as r:
        return r.status


async def test_receiver_serves_verifies_and_queues_in_order() -> None:
    async with WebhookReceiver.serve("127.0.0.1", 0, public_key=PUBLIC) as receiver:
        assert receiver.url is not None
        assert receiver.url.startswith("http://127.0.0.1:")
        names = [
            "ai-deployment-session-starting",
            "ai-deployment-session-started",
            "ai-deployment-session-stopping",
            "ai-deployment-session-stopped",
        ]
        for name in names:
            body = delivery(name)
            assert await post(receiver.url, body, {"videosdk-signature": sign(body)}) == 200
        received = []
        async for event in receiver:
            received.append(event.name)
            if len(received) == len(names):
                break
    assert received == names
    assert receiver.stats.accepted == 4


async def test_receiver_rejects_and_counts_bad_deliveries_and_keeps_serving() -> None:
    async with WebhookReceiver.serve(public_key=PUBLIC, max_body=1024) as receiver:
        url = receiver.url
        assert url is not None
        body = delivery("ai-deployment-session-started")
        statuses = await asyncio.gather(
            *[post(url, body) for _ in range(18)],  # unsigned
            *[post(url, body, {"videosdk-signature": "  "}) for _ in range(2)],  # empty: unsigned
            *[
                post(url, body, {"videosdk-signature": sign(body, OTHER_PRIVATE)})
                for _ in range(20)
            ],
            *[post(url, b"{junk", {"videosdk-signature": sign(b"{junk")}) for _ in range(20)],
            *[post(url, b"x" * 5000) for _ in range(5)],
        )
        assert statuses == [401] * 40 + [400] * 20 + [413] * 5
        assert await post(url, body, {"videosdk-signature": sign(body)}) == 200
        event = await receiver.next(timeout=5)
    assert event.session_id == "s1"
    stats = receiver.stats
    assert (stats.unsigned, stats.bad_signature, stats.bad_body, stats.too_large) == (
        20,
        20,
        20,
        5,
    )
    assert stats.rejected == 65
    assert stats.accepted == 1


async def test_next_filters_without_losing_other_events() -> None:
    receiver = WebhookReceiver(provider="videosdk", verify=False)
    for session_id, name in [
        ("a", "ai-deployment-session-started"),
        ("b", "ai-deployment-session-started"),
        ("a", "ai-deployment-session-stopped"),
    ]:
        await receiver.put(parse("videosdk", delivery(name, session_id), {}, verify=False))
    stopped = await receiver.next(session_id="a", type=SessionEventType.STOPPED)
    assert stopped.name == "ai-deployment-session-stopped"
    b = await receiver.next(type="ai-deployment-session-started", session_id="b")
    assert b.session_id == "b"
    first = await receiver.next()
    assert (first.session_id, first.type) == ("a", SessionEventType.STARTED)


async def test_next_times_out() -> None:
    receiver = WebhookReceiver(provider="videosdk", verify=False)
    with pytest.raises(RequestTimeoutError):
        await receiver.next(session_id="zzz", timeout=0.01)


async def test_full_queue_drops_the_oldest() -> None:
    receiver = WebhookReceiver(provider="videosdk", verify=False, max_queue=2)
    for n in range(3):
        await receiver.put(
            parse("videosdk", delivery("agent-session-started", f"s{n}"), {}, verify=False)
        )
    assert receiver.stats.dropped == 1
    assert [(await receiver.next()).session_id for _ in range(2)] == ["s1", "s2"]


async def test_key_source_is_called_once() -> None:
    calls = 0

    async def source() -> str:
        nonlocal calls
        calls += 1
        return PUBLIC

    async with WebhookReceiver.serve(key_source=source) as receiver:
        assert receiver.url is not None
        body = delivery("ai-deployment-session-started")
        results = await asyncio.gather(
            *[post(receiver.url, body, {"videosdk-signature": sign(body)}) for _ in range(5)]
        )
    assert results == [200] * 5
    assert calls == 1


async def test_mountable_on_a_users_app() -> None:
    from aiohttp import web

    receiver = WebhookReceiver(provider="videosdk", verify=False)
    app = web.Application()
    app.router.add_post("/hooks/videosdk", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        status = await post(
            f"http://127.0.0.1:{port}/hooks/videosdk", delivery("agent-session-failed")
        )
        assert status == 200
        event = await receiver.next(timeout=5)
        assert event.status is SessionStatus.FAILED
    finally:
        await runner.cleanup()


def test_public_names() -> None:
    assert {"parse", "verify_signature", "WebhookReceiver", "SessionEvent"} <= set(wh.__all__)


async def test_next_matches_a_type_given_as_its_value() -> None:
    receiver = WebhookReceiver(provider="videosdk", verify=False)
    await receiver.put(
        parse("videosdk", delivery("ai-deployment-session-started", "s9"), {}, verify=False)
    )
    event = await receiver.next(type="started", timeout=1)
    assert event.session_id == "s9"
