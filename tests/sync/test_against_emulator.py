"""The integration suite's scenarios through the blocking clients, against the emulator.

Each scenario says which methods it calls (``@covers``, from ``tests/sync/scenarios.py``); the
last test fails when a public method of a built-in provider (on the client or any resource)
is called by no scenario of any ``tests/sync/test_*.py`` module, so a method added to an async
class gets a blocking scenario too. VideoSDK's agent runtime, Pipecat's platform calls and
LiveKit have modules of their own (``test_*_against_emulator.py`` here).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agentcloud import (
    Agent,
    AuthenticationError,
    BadRequestError,
    Deployment,
    InvalidRequestError,
    NotFoundError,
    PipecatSession,
    RateLimitError,
    RetryPolicy,
    SessionEvent,
    SessionEventType,
    SessionFailedError,
    SessionStatus,
    VideoSDKSession,
    Webhook,
)
from agentcloud.providers import provider_infos
from agentcloud.sync import PipecatCloud, Started, VideoSDK, WebhookReceiver, wrap
from agentcloud.testing import Emulator
from tests.sync.scenarios import covers, every_scenario
from tests.sync.surface import async_surface


def ended_or_ending(emu: Emulator, provider: str, session_id: str) -> bool:
    return emu.session_phase(provider, session_id).value in ("stopping", "completed")


# --- VideoSDK -------------------------------------------------------------------------------


@covers("videosdk sessions.start", "videosdk sessions.wait", "videosdk sessions.get")
@covers("videosdk sessions.end")
def test_videosdk_lifecycle(emu: Emulator, vs: VideoSDK) -> None:
    started = vs.sessions.start(
        deployment_id=emu.videosdk_deployment_id,
        tag="v1.0",
        env={"A": "1"},
        metadata={"user": "42"},
    )
    assert isinstance(started, Started)
    assert isinstance(started.value, VideoSDKSession)
    assert started.status is SessionStatus.QUEUED
    assert started.deployment_id == emu.videosdk_deployment_id
    running = vs.sessions.wait(started.id, until=SessionStatus.RUNNING, timeout=60)
    assert running.status is SessionStatus.RUNNING
    fetched = vs.sessions.get(started.id)
    assert fetched.id == started.id
    assert fetched.started_at is not None
    assert fetched.started_at.tzinfo is UTC
    ended = vs.sessions.end(started.id)
    assert ended.status in (SessionStatus.STOPPING, SessionStatus.ENDED)
    final = vs.sessions.wait(started.id, until="ended", timeout=60)
    assert final.status is SessionStatus.ENDED
    assert final.duration is not None
    assert emu.session_phase("videosdk", started.id).value == "completed"


@covers("videosdk sessions.list")
def test_videosdk_listing_matches_the_emulator(emu: Emulator, vs: VideoSDK) -> None:
    ids = emu.seed_sessions("videosdk", 57, seed=2)
    for concurrency in (1, 4):
        listed = [s.id for s in vs.sessions.list(per_page=10, concurrency=concurrency)]
        assert listed == ids
    pages = list(vs.sessions.list(per_page=25).pages())
    assert [page.number for page in pages] == [1, 2, 3]
    assert {page.total for page in pages} == {57}
    assert [s.id for s in vs.sessions.list(max_items=7).collect()] == ids[:7]
    pager = vs.sessions.list(per_page=10)
    assert [s.id for s in pager] == [s.id for s in pager] == ids  # each walk anew


def test_videosdk_start_lists_its_metadata_and_webhook(emu: Emulator, vs: VideoSDK) -> None:
    hook = Webhook("http://127.0.0.1:9/hook", events=["ai-deployment-session-started"])
    started = vs.sessions.start(
        deployment_id=emu.videosdk_deployment_id, tag="v1.0", metadata={"user": "42"}, webhook=hook
    )
    (listed,) = vs.sessions.list(max_items=1)
    assert listed.id == started.id
    assert listed.metadata is not None
    assert listed.metadata["user"] == "42"
    assert listed.webhook == hook


@covers("videosdk deployments.create", "videosdk deployments.get", "videosdk deployments.list")
def test_videosdk_deployments(emu: Emulator, vs: VideoSDK) -> None:
    created = vs.deployments.create(name="bot", description="a test bot")
    assert isinstance(created, Deployment)
    assert created.name == "bot"
    fetched = vs.deployments.get(created.id, "v1.0")
    assert (fetched.id, fetched.tag) == (created.id, "v1.0")
    listed = vs.deployments.list(per_page=1).collect()
    assert {d.id for d in listed} == {created.id, emu.videosdk_deployment_id}


def test_videosdk_errors_are_the_async_ones(
    emu: Emulator, vs: VideoSDK, policy: RetryPolicy
) -> None:
    with pytest.raises(NotFoundError) as caught:
        vs.sessions.get("00000000-0000-0000-0000-000000000000")
    assert caught.value.request_id
    assert caught.value.provider == "videosdk"
    with pytest.raises((BadRequestError, NotFoundError)):
        vs.sessions.start(deployment_id="no-such-deployment", tag="v1.0")
    with pytest.raises(InvalidRequestError) as refused:
        vs.sessions.get("a/b")
    assert refused.value.argument == "session_id"
    with VideoSDK(
        emu.videosdk_api_key,
        "wrong-secret-value-that-is-long-enough-for-hs256",
        base_url=emu.url,
        retry=policy,
    ) as wrong, pytest.raises(AuthenticationError):
        wrong.sessions.get("x")


def test_videosdk_failed_session_raises_from_wait(emu: Emulator, vs: VideoSDK) -> None:
    doomed = emu.add_videosdk_deployment(name="doomed", fail_sessions=True)
    started = vs.sessions.start(deployment_id=doomed.id, tag="v1.0")
    with pytest.raises(SessionFailedError) as caught:
        vs.sessions.wait(started.id, until="running", timeout=60)
    assert caught.value.session.status is SessionStatus.FAILED


@covers("videosdk webhook_public_key")
def test_videosdk_webhook_key_is_fetched_once(emu: Emulator, vs: VideoSDK) -> None:
    first = vs.webhook_public_key()
    second = vs.webhook_public_key()
    assert first == second == emu.videosdk_webhook_public_key
    fetched = [r for r in emu.requests if r.path == "/v2/public/rsa-public-key"]
    assert len(fetched) == 1


# --- Pipecat --------------------------------------------------------------------------------


@covers("pipecat sessions.start", "pipecat sessions.wait", "pipecat sessions.get")
@covers("pipecat sessions.end", "pipecat agents.get")
def test_pipecat_lifecycle(emu: Emulator, pc: PipecatCloud) -> None:
    started = pc.sessions.start(create_daily_room=True, body={"user": "42"})
    assert isinstance(started.value, PipecatSession)
    assert started.agent == "my-agent"
    assert started.connection is not None
    assert started.connection.daily_room
    running = pc.sessions.wait(started.id, until="running", timeout=60)
    assert running.status is SessionStatus.RUNNING
    agent = pc.agents.get("my-agent")
    assert isinstance(agent, Agent)
    assert agent.active_session_count == 1
    details = pc.sessions.get(started.id)
    assert details.organization_id == emu.pipecat_organization_id
    pc.sessions.end(started.id)
    final = pc.sessions.wait(started.id, until="ended", timeout=60)
    assert final.status is SessionStatus.ENDED
    assert pc.agents.get("my-agent").active_session_count == 0
    assert pc.agent == "my-agent"


def test_pipecat_websocket_start(pc: PipecatCloud) -> None:
    started = pc.sessions.start(transport="websocket", body={"a": 1})
    assert started.connection is not None
    assert started.connection.ws_url


@covers("pipecat sessions.list")
def test_pipecat_listing_and_filters(emu: Emulator, pc: PipecatCloud) -> None:
    ids = emu.seed_sessions("pipecat", 43, seed=4, running=5)
    for concurrency in (1, 3):
        assert [s.id for s in pc.sessions.list(per_page=10, concurrency=concurrency)] == ids
    assert [page.offset for page in pc.sessions.list(per_page=20).pages()] == [0, 20, 40]
    active = pc.sessions.list(status="active").collect()
    assert [s.id for s in active] == ids[:5]
    newest = pc.sessions.list(max_items=1).collect()
    assert newest[0].created_at is not None
    after = newest[0].created_at - timedelta(seconds=1)
    assert [s.id for s in pc.sessions.list(started_after=after)] == [newest[0].id]
    with pytest.raises(InvalidRequestError) as caught:
        pc.sessions.list(started_after=datetime(2025, 1, 1))  # naive: ambiguous
    assert caught.value.argument == "started_after"


@covers("pipecat agents.list")
def test_pipecat_agents(emu: Emulator, pc: PipecatCloud) -> None:
    emu.add_pipecat_agent("second-agent", ready=False)
    assert {a.name for a in pc.agents.list()} == {"my-agent", "second-agent"}
    assert pc.agents.get("second-agent").ready is False


def test_pipecat_errors(emu: Emulator, pc: PipecatCloud, policy: RetryPolicy) -> None:
    with pytest.raises(NotFoundError):
        pc.sessions.get("00000000-0000-4000-8000-000000000000", agent="no-such-agent")
    emu.pipecat_agent("my-agent").max_sessions = 0
    with pytest.raises(RateLimitError) as caught:
        pc.sessions.start()
    assert caught.value.code == "PCC-AGENT-AT-CAPACITY"
    with (
        PipecatCloud(
            api_key=emu.pipecat_public_key,
            public_key=emu.pipecat_api_key,
            agent="my-agent",
            base_url=emu.url,
            retry=policy,
        ) as swapped,
        pytest.raises(AuthenticationError),
    ):
        swapped.sessions.list().collect()


# --- managed sessions and webhooks ----------------------------------------------------------


def start_kwargs(emu: Emulator, provider: str) -> dict[str, Any]:
    if provider == "videosdk":
        return {"deployment_id": emu.videosdk_deployment_id, "tag": "v1.0"}
    return {}


@pytest.mark.parametrize("provider", ["videosdk", "pipecat"])
def test_with_ends_the_session_on_exit_and_on_error(
    emu: Emulator, vs: VideoSDK, pc: PipecatCloud, provider: str
) -> None:
    client: Any = vs if provider == "videosdk" else pc
    with client.sessions.start(**start_kwargs(emu, provider)) as session:
        assert not isinstance(session, Started)  # the session itself
        assert emu.session_phase(provider, session.id).value == "queued"
    assert ended_or_ending(emu, provider, session.id)
    with pytest.raises(LookupError), client.sessions.start(**start_kwargs(emu, provider)) as failed:
        raise LookupError("the bot broke")
    assert ended_or_ending(emu, provider, failed.id)


@pytest.mark.parametrize("provider", ["videosdk", "pipecat"])
def test_close_ends_managed_sessions_and_leaves_the_others_running(
    emu: Emulator, policy: RetryPolicy, provider: str
) -> None:
    kwargs = start_kwargs(emu, provider)
    client: Any = wrap(getattr(emu, provider)(retry=policy))
    kept = client.sessions.start(**kwargs)  # used directly: runs on, as after an await
    handle = client.sessions.start(**kwargs)
    managed = handle.__enter__()  # a with block still running when the client closes
    client.close()
    assert client.closed
    assert ended_or_ending(emu, provider, managed.id)
    assert emu.session_phase(provider, kept.id).value == "queued"
    with pytest.raises(InvalidRequestError, match="closed"):
        client.sessions.get(kept.id)

    closing: Any = wrap(getattr(emu, provider)(retry=policy, end_on_close=True))
    held = closing.sessions.start(**kwargs)
    closing.close()
    assert ended_or_ending(emu, provider, held.id)


def test_a_started_handle_is_entered_once(emu: Emulator, vs: VideoSDK) -> None:
    handle = vs.sessions.start(deployment_id=emu.videosdk_deployment_id, tag="v1.0")
    with handle as session:
        assert session is handle.value
    with pytest.raises(RuntimeError, match="only once"), handle:
        pass
    assert repr(handle) == f"Started({handle.value!r})"


def test_webhooks_end_to_end(emu: Emulator, vs: VideoSDK) -> None:
    with WebhookReceiver.serve(key_source=vs.webhook_public_key) as hooks:
        assert hooks.url is not None
        started = vs.sessions.start(
            deployment_id=emu.videosdk_deployment_id, tag="v1.0", webhook=Webhook(hooks.url)
        )
        vs.sessions.wait(started.id, until="running", timeout=60, receiver=hooks)
        vs.sessions.end(started.id)
        vs.sessions.wait(started.id, until="ended", timeout=60, receiver=hooks)
        names = [hooks.next(session_id=started.id, timeout=10).name for _ in range(4)]
    assert names == [
        "ai-deployment-session-starting",
        "ai-deployment-session-started",
        "ai-deployment-session-stopping",
        "ai-deployment-session-stopped",
    ]
    assert hooks.stats.rejected == 0


def test_failed_session_webhook_on_a_receiver_of_its_own(emu: Emulator, vs: VideoSDK) -> None:
    doomed = emu.add_videosdk_deployment(name="doomed", fail_sessions=True)
    with WebhookReceiver.serve(public_key=emu.videosdk_webhook_public_key) as hooks:
        assert hooks.url is not None
        started = vs.sessions.start(deployment_id=doomed.id, tag="v1.0", webhook=hooks.url)
        with pytest.raises(InvalidRequestError) as refused:  # not this client's loop
            vs.sessions.wait(started.id, until="running", timeout=60, receiver=hooks)
        assert refused.value.argument == "receiver"
        with pytest.raises(SessionFailedError):
            vs.sessions.wait(started.id, until="running", timeout=60)
        failed = hooks.next(session_id=started.id, type="ai-deployment-session-failed", timeout=10)
        assert failed.status is SessionStatus.FAILED
        for event in hooks:  # what came before the failure is still queued, oldest first
            assert event.name == "ai-deployment-session-starting"
            break


def test_a_receiver_on_a_client_iterates_and_accepts_put(emu: Emulator, vs: VideoSDK) -> None:
    with WebhookReceiver.serve(client=vs, public_key=emu.videosdk_webhook_public_key) as hooks:
        assert hooks.provider == "videosdk"
        event = SessionEvent(
            type=SessionEventType.STARTED,
            name="ai-deployment-session-started",
            session_id="s1",
            status=SessionStatus.RUNNING,
            received_at=datetime.now(UTC),
            provider="videosdk",
        )
        hooks.put(event)
        assert next(iter(hooks)) == event
        assert hooks.stats.accepted == 1


# --- every method has a scenario ------------------------------------------------------------


def test_every_public_method_of_a_built_in_provider_has_a_scenario(emu: Emulator) -> None:
    wanted = set()
    for info in provider_infos():
        if not info.module.startswith("agentcloud."):
            continue
        client = getattr(emu, info.name)()
        wanted |= {f"{info.name} {path}" for path in async_surface(client)}
    missing = sorted(wanted - every_scenario())
    assert not missing, (
        f"no blocking scenario calls {', '.join(missing)}: add one to a module of "
        f"tests/sync (marked @covers(...))"
    )
