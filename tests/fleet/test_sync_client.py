"""The fleet from blocking code: ``agentcloud.sync.VideoSDK(fleet=fleet)`` leases the sessions
its ``with`` blocks manage in Redis (from the sync client's own loop), and a blocking
``wait(receiver=fleet)`` is woken by an event another loop publishes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import redis

from agentcloud import RetryPolicy, SessionEventType, SessionStatus
from agentcloud.fleet import Fleet
from agentcloud.sync import VideoSDK
from agentcloud.testing import Emulator, Lifecycle, ManualClock

from .helpers import REDIS_URL, event, new_namespace, wipe

#: Sessions that start two clock seconds after they are made, and run until ended.
ON_CLOCK = Lifecycle(start_delay=2.0, run_duration=None, stop_delay=0.0)


def within(check: Callable[[], Any], *, timeout: float = 10.0, what: str) -> Any:
    """Polls ``check`` until it is truthy (at most ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() >= deadline:
            raise AssertionError(f"not within {timeout:g}s: {what}")
        time.sleep(0.01)
    return result


@pytest.fixture
def namespace() -> Iterator[str]:
    name = new_namespace()
    yield name
    asyncio.run(wipe(name))


def test_a_sync_client_leases_what_its_with_blocks_manage(namespace: str) -> None:
    store = redis.Redis.from_url(REDIS_URL)
    leases = f"agentcloud:{{{namespace}}}:leases"
    fleet = Fleet(REDIS_URL, namespace=namespace, lease_ttl=5.0, heartbeat=0.2)
    clock = ManualClock()
    try:
        with Emulator(clock=clock, lifecycle=ON_CLOCK) as emu:
            deployment = emu.videosdk_deployment_id
            with VideoSDK(
                emu.videosdk_api_key, emu.videosdk_secret, base_url=emu.url, fleet=fleet
            ) as vs:
                kept = vs.sessions.start(deployment_id=deployment, tag="v1.0")  # held only
                with vs.sessions.start(deployment_id=deployment, tag="v1.0") as managed:
                    field = f"videosdk:{managed.id}"
                    within(lambda: store.hexists(leases, field), what="the managed one leased")
                within(lambda: not store.hexists(leases, field), what="its lease released")
                assert emu.session_phase("videosdk", managed.id).value in ("stopping", "completed")
                assert not store.hexists(leases, f"videosdk:{kept.id}")  # never promised an end
            # Closed: what it held without promising an end is no reaper's to end.
            assert emu.session_phase("videosdk", kept.id).value == "queued"

            async def reap() -> list[Any]:
                async with emu.videosdk() as reaper:
                    return await fleet.reap([reaper])

            assert asyncio.run(reap()) == []
            assert emu.session_phase("videosdk", kept.id).value == "queued"
    finally:
        asyncio.run(fleet.aclose())
        store.close()


def test_a_blocking_wait_is_woken_by_an_event_any_replica_publishes(namespace: str) -> None:
    fleet = Fleet(REDIS_URL, namespace=namespace)
    clock = ManualClock()
    try:
        with (
            Emulator(clock=clock, lifecycle=ON_CLOCK) as emu,
            # Real sleeps and a poll a minute: within 20 s only the event can end the pause.
            VideoSDK(
                emu.videosdk_api_key,
                emu.videosdk_secret,
                base_url=emu.url,
                retry=RetryPolicy(),
            ) as vs,
            ThreadPoolExecutor(1) as waiter,
        ):
            started = vs.sessions.start(deployment_id=emu.videosdk_deployment_id, tag="v1.0")
            gets = f"/ai/v1/ai-deployment-sessions/{started.id}"
            before = sum(1 for r in emu.requests if r.path == gets)
            waiting = waiter.submit(
                vs.sessions.wait,
                started.id,
                until="running",
                receiver=fleet,
                poll_interval=60,
                timeout=20,
            )
            within(
                lambda: sum(1 for r in emu.requests if r.path == gets) > before,
                what="the wait's first poll",
            )
            clock.advance(ON_CLOCK.start_delay)  # running now; the wait is pausing
            news = event(
                started.id, kind=SessionEventType.STARTED, name="ai-deployment-session-started"
            )
            for _ in range(100):  # until its watch is in place and hears one
                asyncio.run(fleet.publish(news))
                if waiting.done():
                    break
                time.sleep(0.05)
            running = waiting.result(timeout=20)
        assert running.status is SessionStatus.RUNNING
        assert running.id == started.id
    finally:
        asyncio.run(fleet.aclose())
