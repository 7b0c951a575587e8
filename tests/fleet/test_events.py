"""Fleet events on a real Redis: replay checks, publishing, watching and iterating, on any
replica and any event loop, within bounded memory."""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import UTC, datetime, timedelta, timezone
from typing import TypeVar

import pytest
import redis.asyncio as aioredis
from hypothesis import given
from hypothesis import strategies as st

from agentcloud import Webhook, WebhookReceiver
from agentcloud._fleet._events import Subscription, decode_event, encode_event
from agentcloud.errors import FleetUnavailableError, InvalidRequestError
from agentcloud.fleet import Fleet
from agentcloud.models import SessionEvent, SessionEventType, SessionStatus
from agentcloud.testing import Emulator

from .helpers import REDIS_URL, Garbled, LoopThread, event, eventually, wipe

T = TypeVar("T")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
events = st.builds(
    SessionEvent,
    type=st.sampled_from(SessionEventType),
    name=st.text(min_size=1, max_size=40),
    session_id=st.none() | st.text(min_size=1, max_size=40),
    status=st.sampled_from(SessionStatus),
    received_at=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    provider=st.sampled_from(["videosdk", "pipecat", "livekit"]),
    room=st.none() | st.text(max_size=20),
    delivery_id=st.none() | st.text(max_size=40),
    raw=st.dictionaries(st.text(max_size=8), json_values, max_size=5),
)


@given(events)
def test_an_event_comes_back_from_the_stream_as_it_went_in(original: SessionEvent) -> None:
    back = decode_event(encode_event(original))
    assert back == original
    assert back.raw == original.raw
    assert back.received_at.utcoffset() == timedelta(0)


def test_an_event_from_a_newer_replica_still_decodes() -> None:
    data = encode_event(event()).replace(b'"started"', b'"teleported"')
    data = data.replace(b'"running"', b'"beaming"')
    back = decode_event(data)
    assert back.type is SessionEventType.UNKNOWN
    assert back.status is SessionStatus.UNKNOWN
    offset = decode_event(
        encode_event(event()).replace(b'Z"', b'+02:00"', 1)
    ).received_at.utcoffset()
    assert offset == timezone(timedelta(hours=2)).utcoffset(None)


@pytest.mark.parametrize(
    "junk", [b"", b"[]", b"{}", b'{"received_at":"2025-01-01T00:00:00Z"}', b"\xff", None]
)
def test_what_is_no_event_is_refused(junk: bytes | None) -> None:
    with pytest.raises((ValueError, TypeError)):
        decode_event(junk)


def test_a_subscription_keeps_the_newest_events_when_its_consumer_falls_behind() -> None:
    subscription = Subscription(session_id=None, kind=None, max_queue=3)

    async def drain() -> list[str | None]:
        for number in range(5):
            subscription.offer(event(f"s-{number}"))
        return [(await subscription.next()).session_id for _ in range(3)]

    assert asyncio.run(drain()) == ["s-2", "s-3", "s-4"]
    assert subscription.dropped == 2


async def test_a_delivery_is_accepted_once_across_replicas(
    fleet: Fleet, namespace: str, redis: aioredis.Redis
) -> None:
    async with Fleet(REDIS_URL, namespace=namespace, replay_window=60) as other:
        answers = await asyncio.gather(
            *(replica.seen("videosdk:id:abc") for replica in [fleet, other] * 10)
        )
        assert sorted(answers) == [False] + [True] * 19
        assert await other.seen("videosdk:id:def") is False
        remembered = await redis.pttl(f"agentcloud:{{{namespace}}}:seen:videosdk:id:def")
        assert 0 < remembered <= 60_000
        long_key = "videosdk:sha256:" + "f" * 500
        assert await other.seen(long_key) is False
        assert await fleet.seen(long_key) is True
    async with Fleet(REDIS_URL, namespace=namespace + "-other") as elsewhere:
        assert await elsewhere.seen("videosdk:id:abc") is False  # another fleet's memory
    await wipe(namespace + "-other")


async def test_a_watcher_is_woken_by_the_next_event_of_its_session_only(fleet: Fleet) -> None:
    async with Fleet(REDIS_URL, namespace=fleet.namespace) as publisher:
        seen: list[SessionEvent] = []
        everything = fleet.events()
        first = asyncio.ensure_future(anext(everything))
        await _registered()
        await publisher.publish(event("s-1", name="before"))
        seen.append(await asyncio.wait_for(first, 5))
        # That event has been handed out: it cannot wake a watcher made after it.
        watcher = fleet.watch("s-1")
        other = fleet.watch("s-2")
        await publisher.publish(event("s-1", name="after"))
        woken = await asyncio.wait_for(watcher, 5)
        assert woken.name == "after"
        assert not other.done()
        other.cancel()
        await everything.aclose()
    assert seen[0].name == "before"


async def test_events_are_filtered_by_session_and_type(fleet: Fleet) -> None:
    async with Fleet(REDIS_URL, namespace=fleet.namespace) as publisher:
        mine = fleet.events(session_id="s-1", type=SessionEventType.STOPPED)
        named = fleet.events(type="vendor-stopped")
        got = asyncio.ensure_future(anext(mine))
        by_name = asyncio.ensure_future(anext(named))
        await _registered()
        await publisher.publish(event("s-2", kind=SessionEventType.STOPPED))
        await publisher.publish(event("s-1", kind=SessionEventType.STARTED))
        await publisher.publish(event("s-1", kind=SessionEventType.STOPPED, name="vendor-stopped"))
        assert (await asyncio.wait_for(got, 5)).name == "vendor-stopped"
        assert (await asyncio.wait_for(by_name, 5)).session_id == "s-1"
        await mine.aclose()
        await named.aclose()


async def test_a_watch_on_another_event_loop_is_woken(fleet: Fleet) -> None:
    """The sync client runs its own loop on a thread: the same Fleet serves both loops."""
    with LoopThread() as thread:
        watching = threading.Event()

        async def watch_there() -> SessionEvent:
            watcher = fleet.watch("s-9")
            watching.set()
            return await asyncio.wait_for(watcher, 10)

        woken = thread.submit(watch_there())
        await eventually(watching.is_set, what="the watch is set")
        await fleet.publish(event("s-9", name="from-here"))
        assert (await asyncio.wrap_future(woken)).name == "from-here"
        # Closing from here closes the other loop's connections there, while it runs.
        await fleet.aclose()
        assert not fleet._core.links._links


async def test_the_stream_stays_bounded(namespace: str, redis: aioredis.Redis) -> None:
    async with Fleet(REDIS_URL, namespace=namespace, max_events=500, event_ttl=60) as fleet:
        for number in range(1500):
            await fleet.publish(event(f"s-{number}"))
    stream = f"agentcloud:{{{namespace}}}:events"
    # Trimming is approximate (whole stream nodes, 100 entries each by default).
    assert 500 <= await redis.xlen(stream) <= 600
    assert 0 < await redis.pttl(stream) <= 60_000


async def test_a_stream_entry_that_is_no_event_is_skipped(
    fleet: Fleet, namespace: str, redis: aioredis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    watcher = fleet.watch("s-1")
    await redis.xadd(f"agentcloud:{{{namespace}}}:events", {"event": b"{not json"})
    await redis.xadd(f"agentcloud:{{{namespace}}}:events", {"other": b"1"})
    with caplog.at_level(logging.WARNING, "agentcloud"):
        await fleet.publish(event("s-1", name="good"))
        assert (await asyncio.wait_for(watcher, 5)).name == "good"
    assert "no event" in caplog.text


async def test_a_webhook_accepted_here_wakes_a_wait_at_once(emu: Emulator, fleet: Fleet) -> None:
    async with WebhookReceiver.serve(
        public_key=emu.videosdk_webhook_public_key, fleet=fleet
    ) as hooks:
        assert hooks.url is not None
        vs = emu.videosdk()
        started = await vs.sessions.start(
            deployment_id=emu.videosdk_deployment_id, tag="v1.0", webhook=Webhook(hooks.url)
        )
        # A poll a minute, within 20 s: only the event can end the pause in time.
        running = await vs.sessions.wait(
            started.id, until="running", receiver=fleet, poll_interval=60, timeout=20
        )
        assert running.status is SessionStatus.RUNNING
        await vs.sessions.end(started.id)
        await vs.aclose()


async def test_bad_arguments_are_refused(fleet: Fleet) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        await fleet.publish({"type": "started"})  # type: ignore[arg-type]
    assert caught.value.argument == "event"
    with pytest.raises(InvalidRequestError, match="session_id"):
        fleet.watch("")
    with pytest.raises(InvalidRequestError, match="max_queue"):
        fleet.events(max_queue=0)
    with pytest.raises(InvalidRequestError, match="type"):
        fleet.events(type=3)  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError, match="key"):
        await fleet.seen("")


async def test_a_closed_fleet_refuses_fleet_operations(namespace: str) -> None:
    fleet = Fleet(REDIS_URL, namespace=namespace)
    iterator = fleet.events()
    await fleet.aclose()
    await fleet.aclose()  # idempotent
    assert fleet.closed
    with pytest.raises(FleetUnavailableError):
        await anext(iterator)
    with pytest.raises(FleetUnavailableError):
        await fleet.publish(event())
    with pytest.raises(FleetUnavailableError):
        await fleet.seen("k")
    watcher = fleet.watch("s-1")  # a wait falls back on polling
    assert not watcher.done()
    watcher.cancel()


async def _registered() -> None:
    """Lets an iteration that was just started run up to its first wait (loop turns)."""
    for _ in range(3):
        await asyncio.sleep(0)


async def test_a_url_asking_for_resp3_still_gets_events_and_watches(namespace: str) -> None:
    """A URL shared with other code may ask for RESP3 (``protocol=3``), whose stream reads
    answer in another shape: the fleet's own connections speak RESP2 whatever it says."""
    async with (
        Fleet(f"{REDIS_URL}?protocol=3", namespace=namespace) as fleet,
        Fleet(REDIS_URL, namespace=namespace) as publisher,
    ):
        everything = fleet.events()
        first = asyncio.ensure_future(anext(everything))
        watcher = fleet.watch("s-3")
        await _registered()
        await publisher.publish(event("s-3", name="over-resp2"))
        assert (await asyncio.wait_for(first, 5)).name == "over-resp2"
        assert (await asyncio.wait_for(watcher, 5)).name == "over-resp2"
        assert await fleet.seen("delivery-1") is False
        assert await fleet.seen("delivery-1") is True
        await everything.aclose()


async def test_answers_of_a_shape_the_fleet_cannot_read_are_typed_errors_not_hangs(
    emu: Emulator, namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A "Redis" answering every command with an integer: iterations learn of it as
    FleetUnavailableError (the reader does not die and leave them waiting), a client's
    heartbeat goes on trying, and the fleet and the client still close."""
    garbled = Garbled()
    async with garbled as port:
        fleet = Fleet(f"redis://127.0.0.1:{port}/0", namespace=namespace, timeout=0.5)
        with caplog.at_level(logging.WARNING, "agentcloud"):
            iterator = fleet.events()
            with pytest.raises(FleetUnavailableError, match="event read"):
                await asyncio.wait_for(anext(iterator), 10)
            client = emu.videosdk(fleet=fleet)
            async with client.sessions.start(deployment_id=emu.videosdk_deployment_id, tag="v1.0"):
                # A held session is leased: its heartbeat meets the same answers.
                await eventually(
                    lambda: "lease heartbeat" in caplog.text, what="the heartbeat reports it"
                )
            await client.aclose()  # the heartbeat's failure is not raised here
            await iterator.aclose()
            await fleet.aclose()
        assert fleet.closed
        assert {"XREAD", "EVALSHA"} <= set(garbled.commands)


async def test_the_fleets_own_timeouts_win_over_the_urls(namespace: str) -> None:
    """A socket timeout in the URL (shared with other code) shorter than the stream read's
    wait would fail every read: the fleet's own timeouts are used instead."""
    async with (
        Fleet(f"{REDIS_URL}?socket_timeout=0.05", namespace=namespace) as fleet,
        Fleet(REDIS_URL, namespace=namespace) as publisher,
    ):
        everything = fleet.events()
        first = asyncio.ensure_future(anext(everything))
        await _registered()
        await asyncio.sleep(0.3)  # (a wait the old read could not outlast: not a timing check)
        await publisher.publish(event("s-4", name="after-a-quiet-while"))
        assert (await asyncio.wait_for(first, 5)).name == "after-a-quiet-while"
        await everything.aclose()
