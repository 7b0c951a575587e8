"""VideoSDK webhooks: really POSTed, signed with the emulator's RSA key, in order."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from agentcloud.testing import Emulator, Lifecycle, ManualClock
from tests.emulator.helpers import VideoSDKCaller, videosdk_caller

SESSIONS = "/ai/v1/ai-deployment-sessions"
ALL_EVENTS = [
    "ai-deployment-session-starting",
    "ai-deployment-session-started",
    "ai-deployment-session-stopping",
    "ai-deployment-session-stopped",
    "ai-deployment-session-failed",
]


class Receiver:
    """A webhook endpoint on loopback that records what it is sent."""

    def __init__(self) -> None:
        self.received: list[tuple[bytes, dict[str, str]]] = []
        self.status = 200
        self.gate: asyncio.Event | None = None
        self.arrived = asyncio.Event()
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((await request.read(), dict(request.headers)))
        self.arrived.set()
        if self.gate is not None:
            await self.gate.wait()
        return web.Response(status=self.status)

    def events(self) -> list[str]:
        return [json.loads(body)["webhookType"] for body, _ in self.received]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hook = Receiver()
    app = web.Application()
    app.router.add_post("/hook", hook.handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    hook.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    yield hook
    if hook.gate is not None:
        hook.gate.set()
    await runner.cleanup()


def verify(public_pem: str, body: bytes, signature: str) -> None:
    key = serialization.load_pem_public_key(public_pem.encode())
    assert isinstance(key, rsa.RSAPublicKey)
    key.verify(base64.b64decode(signature), body, padding.PKCS1v15(), hashes.SHA256())


async def test_full_lifecycle_is_posted_signed_and_in_order(
    emu: Emulator, clock: ManualClock, videosdk: VideoSDKCaller, receiver: Receiver
) -> None:
    session_id = (await videosdk.start(webhook={"endPoint": receiver.url, "events": ALL_EVENTS}))[
        "sessionId"
    ]
    await emu.settle()
    assert receiver.events() == ["ai-deployment-session-starting"]
    clock.advance(2)
    await emu.settle()
    await videosdk.call("POST", f"{SESSIONS}/end", json_body={"sessionId": session_id})
    await emu.settle()
    assert receiver.events() == ALL_EVENTS[:4]

    # Verify with the key as a receiver would fetch it, over HTTP.
    status, answer = await videosdk.call("GET", "/v2/public/rsa-public-key", no_auth=True)
    assert status == 200
    for body, headers in receiver.received:
        assert json.loads(body) == {
            "webhookType": json.loads(body)["webhookType"],
            "data": {"sessionId": session_id},
        }
        assert headers["Content-Type"] == "application/json"
        verify(answer["publicKey"], body, headers["videosdk-signature"])

    assert [d.event for d in emu.webhook_deliveries] == ALL_EVENTS[:4]
    assert all(d.ok and d.status == 200 for d in emu.webhook_deliveries)
    assert [d.body for d in emu.webhook_deliveries] == [body for body, _ in receiver.received]


async def test_a_tampered_body_does_not_verify(
    emu: Emulator, videosdk: VideoSDKCaller, receiver: Receiver
) -> None:
    await videosdk.start(webhook={"endPoint": receiver.url, "events": ALL_EVENTS})
    await emu.settle()
    [(body, headers)] = receiver.received
    with pytest.raises(InvalidSignature):
        verify(emu.videosdk_webhook_public_key, body + b" ", headers["videosdk-signature"])


async def test_only_subscribed_events_are_sent(
    emu: Emulator, clock: ManualClock, videosdk: VideoSDKCaller, receiver: Receiver
) -> None:
    hook = {"endPoint": receiver.url, "events": ["ai-deployment-session-stopped"]}
    session_id = (await videosdk.start(webhook=hook))["sessionId"]
    clock.advance(5)
    await emu.settle()
    assert receiver.events() == []
    await videosdk.call("POST", f"{SESSIONS}/end", json_body={"sessionId": session_id})
    await emu.settle()
    assert receiver.events() == ["ai-deployment-session-stopped"]


async def test_failed_sessions_send_failed(
    emu: Emulator, clock: ManualClock, videosdk: VideoSDKCaller, receiver: Receiver
) -> None:
    deployment = emu.add_videosdk_deployment(name="broken", fail_sessions=True)
    await videosdk.start(
        deploymentId=deployment.id, webhook={"endPoint": receiver.url, "events": ALL_EVENTS}
    )
    clock.advance(2)
    await emu.settle()
    assert receiver.events() == ["ai-deployment-session-starting", "ai-deployment-session-failed"]


async def test_timer_driven_events_go_out_without_any_request(
    emu: Emulator, clock: ManualClock, videosdk: VideoSDKCaller, receiver: Receiver
) -> None:
    await videosdk.start(webhook={"endPoint": receiver.url, "events": ALL_EVENTS[1:2]})
    clock.advance(2)
    await asyncio.wait_for(receiver.arrived.wait(), 5)
    assert receiver.events() == ["ai-deployment-session-started"]


async def test_a_slow_receiver_keeps_order_and_never_blocks_the_api(
    emu: Emulator, clock: ManualClock, videosdk: VideoSDKCaller, receiver: Receiver
) -> None:
    receiver.gate = asyncio.Event()  # the receiver holds every request until released
    session_id = (await videosdk.start(webhook={"endPoint": receiver.url, "events": ALL_EVENTS}))[
        "sessionId"
    ]
    await asyncio.wait_for(receiver.arrived.wait(), 5)
    clock.advance(2)
    # The API answers while the first delivery is still hanging.
    status, _ = await videosdk.call("POST", f"{SESSIONS}/end", json_body={"sessionId": session_id})
    assert status == 200
    assert (await videosdk.get(session_id))["status"] == "completed"
    assert receiver.events() == ["ai-deployment-session-starting"]
    receiver.gate.set()
    await emu.settle()
    assert receiver.events() == ALL_EVENTS[:4]


async def test_two_sessions_each_keep_their_own_order(
    emu: Emulator, clock: ManualClock, videosdk: VideoSDKCaller, receiver: Receiver
) -> None:
    hook = {"endPoint": receiver.url, "events": ALL_EVENTS}
    first = (await videosdk.start(webhook=hook))["sessionId"]
    second = (await videosdk.start(webhook=hook))["sessionId"]
    clock.advance(2)
    for session_id in (second, first):
        await videosdk.call("POST", f"{SESSIONS}/end", json_body={"sessionId": session_id})
    await emu.settle()
    for session_id in (first, second):
        mine = [
            json.loads(body)["webhookType"]
            for body, _ in receiver.received
            if json.loads(body)["data"]["sessionId"] == session_id
        ]
        assert mine == ALL_EVENTS[:4]


@pytest.mark.parametrize(
    "endpoint",
    ["http://example.com/hook", "http://10.1.2.3/hook", "ftp://127.0.0.1/hook", "not a url"],
)
async def test_non_loopback_targets_are_refused_and_recorded(
    emu: Emulator, videosdk: VideoSDKCaller, endpoint: str
) -> None:
    data = await videosdk.start(webhook={"endPoint": endpoint, "events": ALL_EVENTS})
    await emu.settle()
    [delivery] = emu.webhook_deliveries
    assert delivery.session_id == data["sessionId"]
    assert delivery.status is None
    assert delivery.error is not None
    assert delivery.error.startswith("refused")
    assert not delivery.ok


async def test_receiver_errors_are_recorded_not_raised(
    emu: Emulator, videosdk: VideoSDKCaller, receiver: Receiver
) -> None:
    receiver.status = 500
    await videosdk.start(webhook={"endPoint": receiver.url, "events": ALL_EVENTS})
    closed_port = "http://127.0.0.1:9/hook"  # discard port: nothing listens
    await videosdk.start(webhook={"endPoint": closed_port, "events": ALL_EVENTS})
    await emu.settle()
    by_url: dict[str, Any] = {d.url: d for d in emu.webhook_deliveries}
    assert by_url[receiver.url].status == 500
    assert not by_url[receiver.url].ok
    assert by_url[closed_port].status is None
    assert by_url[closed_port].error


async def test_closing_with_a_hanging_receiver_does_not_hang(
    clock: ManualClock, receiver: Receiver
) -> None:
    receiver.gate = asyncio.Event()
    emu = Emulator(clock=clock, lifecycle=Lifecycle(start_delay=1))
    await emu.start()
    async with videosdk_caller(emu) as caller:
        await caller.start(webhook={"endPoint": receiver.url, "events": ALL_EVENTS})
        await asyncio.wait_for(receiver.arrived.wait(), 5)
    await asyncio.wait_for(emu.close(), 5)
