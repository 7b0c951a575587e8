"""The official ``livekit-api`` client, unmodified, against the emulator (it speaks
protobuf), and the SDK and ``livekit-api`` checking each other's tokens and webhooks."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from livekit import api

from agentcloud import (
    SessionEventType,
    SessionStatus,
    WebhookVerificationError,
    webhooks,
)
from agentcloud.providers.livekit import Grant
from agentcloud.testing import Emulator, Lifecycle, ManualClock


@pytest.fixture
async def emu(clock: ManualClock) -> AsyncIterator[Emulator]:
    lifecycle = Lifecycle(start_delay=2.0, run_duration=60.0)
    async with Emulator(clock=clock, lifecycle=lifecycle) as emulator:
        yield emulator


@pytest.fixture
async def official(emu: Emulator) -> AsyncIterator[api.LiveKitAPI]:
    client = api.LiveKitAPI(emu.url, emu.livekit_api_key, emu.livekit_api_secret)
    try:
        yield client
    finally:
        await client.aclose()


async def test_dispatches_are_created_listed_and_deleted(
    emu: Emulator, official: api.LiveKitAPI, clock: ManualClock
) -> None:
    created = await official.agent_dispatch.create_dispatch(
        api.CreateAgentDispatchRequest(agent_name="my-agent", room="call-42", metadata="hi")
    )
    assert created.id.startswith("AD_")
    assert (created.room, created.agent_name, created.metadata) == ("call-42", "my-agent", "hi")
    clock.advance(2.0)
    [listed] = await official.agent_dispatch.list_dispatch("call-42")
    assert listed.id == created.id
    [job] = listed.state.jobs
    assert job.state.status == api.JobStatus.JS_RUNNING
    assert job.state.worker_id == emu.livekit_worker_id
    fetched = await official.agent_dispatch.get_dispatch(created.id, "call-42")
    assert fetched is not None
    assert fetched.id == created.id
    assert await official.agent_dispatch.get_dispatch("AD_nope", "call-42") is None
    deleted = await official.agent_dispatch.delete_dispatch(created.id, "call-42")
    assert deleted.state.deleted_at > 0
    assert deleted.state.jobs[0].state.status == api.JobStatus.JS_CANCELLED
    assert await official.agent_dispatch.list_dispatch("call-42") == []


async def test_rooms_are_listed_created_and_deleted(official: api.LiveKitAPI) -> None:
    room = await official.room.create_room(
        api.CreateRoomRequest(name="lobby", max_participants=5, metadata="m")
    )
    assert room.sid.startswith("RM_")
    assert (room.name, room.max_participants, room.metadata) == ("lobby", 5, "m")
    listed = await official.room.list_rooms(api.ListRoomsRequest())
    assert [found.name for found in listed.rooms] == ["lobby"]
    await official.room.delete_room(api.DeleteRoomRequest(room="lobby"))
    assert list((await official.room.list_rooms(api.ListRoomsRequest())).rooms) == []


async def test_its_errors_carry_twirp_codes(official: api.LiveKitAPI) -> None:
    with pytest.raises(api.TwirpError) as caught:
        await official.agent_dispatch.list_dispatch("nowhere")
    assert (caught.value.code, caught.value.status) == ("not_found", 404)
    assert caught.value.message == "requested room does not exist"


async def test_the_sdk_reads_what_the_official_client_made(
    emu: Emulator, official: api.LiveKitAPI
) -> None:
    created = await official.agent_dispatch.create_dispatch(
        api.CreateAgentDispatchRequest(agent_name="my-agent", room="r", metadata='{"a": 1}')
    )
    async with emu.livekit() as lk:
        session = await lk.sessions.get(created.id, room="r")
    assert (session.id, session.metadata) == (created.id, {"a": 1})
    assert session.status is SessionStatus.STARTING


async def test_livekits_verifier_accepts_the_sdks_tokens(emu: Emulator) -> None:
    async with emu.livekit() as lk:
        header = lk._authorization(Grant.admin("call-42"))()
    verifier = api.TokenVerifier(emu.livekit_api_key, emu.livekit_api_secret)
    claims = verifier.verify(header.removeprefix("Bearer "))
    assert claims.video is not None
    assert (claims.video.room_admin, claims.video.room) == (True, "call-42")
    assert not claims.video.room_create


async def test_livekits_receiver_accepts_the_emulators_deliveries(
    emu: Emulator, clock: ManualClock
) -> None:
    async with emu.livekit() as lk:
        emu.livekit_webhooks("http://127.0.0.1:9/nobody-listens")  # attempted, then recorded
        started = await lk.sessions.start(agent_name="my-agent", room="r")
        clock.advance(2.0)
        await emu.settle()
    receiver = api.WebhookReceiver(api.TokenVerifier(emu.livekit_api_key, emu.livekit_api_secret))
    # Deliveries of one session (or room) arrive in order; across them, in any order.
    deliveries = sorted(
        emu.webhook_deliveries, key=lambda delivery: delivery.session_id != started.id
    )
    events = [receiver.receive(d.body.decode(), d.signature) for d in deliveries]
    assert [event.event for event in events] == [
        "agent_job_pending",
        "agent_job_started",
        "room_started",
    ]
    assert events[1].job.dispatch_id == started.id
    assert events[1].job.state.status == api.JobStatus.JS_RUNNING
    assert events[0].job.room.name == "r"
    # And the SDK reads the very same deliveries.
    parsed = [
        webhooks.parse(
            "livekit",
            delivery.body,
            {"Authorization": delivery.signature},
            api_key=emu.livekit_api_key,
            api_secret=emu.livekit_api_secret,
        )
        for delivery in deliveries
    ]
    assert [event.type for event in parsed] == [
        SessionEventType.STARTING,
        SessionEventType.STARTED,
        SessionEventType.UNKNOWN,
    ]
    assert [event.session_id for event in parsed] == [started.id, started.id, None]


def test_the_sdk_accepts_deliveries_signed_by_livekit_api_and_refuses_tampering() -> None:
    key, secret = "APIsigner", "a-secret-long-enough-for-hs256-0123456789"
    body = json.dumps(
        {
            "event": "agent_job_ended",
            "id": "EV_x",
            "job": {"id": "AJ_1", "dispatchId": "AD_7", "state": {"status": "JS_SUCCESS"}},
        }
    ).encode()
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    token = api.AccessToken(key, secret).with_sha256(digest).with_ttl(timedelta(minutes=5)).to_jwt()
    headers = {"Authorization": token, "Content-Type": "application/webhook+json"}
    event = webhooks.parse("livekit", body, headers, api_key=key, api_secret=secret)
    assert (event.session_id, event.type, event.delivery_id) == (
        "AD_7",
        SessionEventType.STOPPED,
        "EV_x",
    )
    with pytest.raises(WebhookVerificationError):
        webhooks.parse(
            "livekit", body.replace(b"SUCCESS", b"FAILED"), headers, api_key=key, api_secret=secret
        )
