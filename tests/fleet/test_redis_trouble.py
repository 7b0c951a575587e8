"""Redis stopped or hanging mid-test: calls that do not need the fleet go on, fleet
operations raise FleetUnavailableError, and the fleet recovers on its own.

Each test runs a Redis of its own (``RedisServer``, on a free port) so that stopping it
disturbs no other test.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from agentcloud import RetryPolicy, Webhook, WebhookReceiver
from agentcloud.errors import FleetUnavailableError
from agentcloud.fleet import Fleet
from agentcloud.testing import Emulator, FaultKind, FaultPlan

from .helpers import RedisServer, Silent, event, eventually


def start_kwargs(emu: Emulator) -> dict[str, Any]:
    return {"deployment_id": emu.videosdk_deployment_id, "tag": "v1.0"}


async def fleet_calls_fail(fleet: Fleet, reaper: Any) -> None:
    with pytest.raises(FleetUnavailableError, match=r"Redis at 127\.0\.0\.1"):
        await fleet.seen("videosdk:id:1")
    with pytest.raises(FleetUnavailableError):
        await fleet.publish(event())
    with pytest.raises(FleetUnavailableError):
        await fleet.reap({"videosdk": reaper})
    iterator = fleet.events()
    with pytest.raises(FleetUnavailableError):
        await asyncio.wait_for(anext(iterator), 10)
    await iterator.aclose()


async def test_redis_stopped_mid_test(
    emu: Emulator, namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    with RedisServer() as server:
        fleet = Fleet(server.url, namespace=namespace, lease_ttl=2.0, heartbeat=0.2, timeout=0.5)
        policy = RetryPolicy(budget=fleet.budget("videosdk", rate=10.0, burst=10))
        vs = emu.videosdk(fleet=fleet, retry=policy)
        reaper = emu.videosdk()
        # The test's own look into Redis: it too reconnects after the restart.
        probe = aioredis.Redis.from_url(server.url, retry=Retry(NoBackoff(), 2))
        records = f"agentcloud:{{{namespace}}}:leases"
        async with WebhookReceiver.serve(
            public_key=emu.videosdk_webhook_public_key, fleet=fleet
        ) as hooks:
            assert hooks.url is not None
            async with vs.sessions.start(**start_kwargs(emu)) as before:
                await eventually(lambda: probe.hexists(records, f"videosdk:{before.id}"))
            server.stop()
            with caplog.at_level(logging.WARNING, "agentcloud"):
                # Ordinary calls go on: a managed session starts, runs, waits and ends...
                async with vs.sessions.start(
                    **start_kwargs(emu), webhook=Webhook(hooks.url)
                ) as during:
                    running = await vs.sessions.wait(
                        during.id, until="running", receiver=fleet, poll_interval=0.05, timeout=10
                    )
                    assert running.status == "running"
                    # ...a failed call is retried, from a local bucket now...
                    emu.faults = FaultPlan(script=[FaultKind.SERVER_ERROR], methods=["GET"])
                    assert (await vs.sessions.get(during.id)).id == during.id
                    emu.faults = None
                await emu.settle()
                # ...and the receiver accepted the webhooks, checking replays locally.
                assert hooks.stats.accepted >= 2
                assert hooks.stats.rejected == 0
                await fleet_calls_fail(fleet, reaper)
            assert "Redis at 127.0.0.1" in caplog.text
            # A session started while Redis is away is leased once it is back.
            pending = vs.sessions.start(**start_kwargs(emu))
            async with pending as after:
                server.start()
                await eventually(
                    lambda: probe.hexists(records, f"videosdk:{after.id}"),
                    what="the lease written once Redis is back",
                )
            # Fleet operations work again, with no reconnecting by hand.
            await eventually(lambda: _works(fleet.seen("videosdk:id:2")), what="recovery")
            watcher = fleet.watch("s-1")
            await fleet.publish(event("s-1"))
            assert (await asyncio.wait_for(watcher, 10)).session_id == "s-1"
        await vs.aclose()
        await reaper.aclose()
        await fleet.aclose()
        await probe.aclose()


async def test_a_redis_that_hangs_costs_one_short_timeout(emu: Emulator, namespace: str) -> None:
    async with Silent() as port:
        fleet = Fleet(f"redis://127.0.0.1:{port}/0", namespace=namespace, timeout=0.3)
        vs = emu.videosdk(fleet=fleet)
        started = time.monotonic()
        async with vs.sessions.start(**start_kwargs(emu)) as session:
            assert (await vs.sessions.get(session.id)).id == session.id
        await vs.aclose()  # its last lease write gives up within the timeout
        assert time.monotonic() - started < 3.0
        started = time.monotonic()
        # The lease writes timed out moments ago: the calls in a caller's path fail at once.
        with pytest.raises(FleetUnavailableError, match="timed out moments ago"):
            await fleet.seen("videosdk:id:1")
        with pytest.raises(FleetUnavailableError, match="timed out moments ago"):
            await fleet.publish(event())
        assert time.monotonic() - started < 1.0
        await fleet.aclose()
        async with Fleet(f"redis://127.0.0.1:{port}/0", namespace=namespace, timeout=0.3) as fresh:
            started = time.monotonic()
            with pytest.raises(FleetUnavailableError, match="did not answer in time"):
                await fresh.seen("videosdk:id:1")
            assert time.monotonic() - started < 1.0


async def _works(operation: Any) -> bool:
    try:
        await operation
    except FleetUnavailableError:
        return False
    return True


# ---- a cancellation the Redis client drops --------------------------------------------


def _health() -> Any:
    from agentcloud._fleet._link import Health
    from agentcloud._redact import Redactor

    return Health("Redis at 127.0.0.1:1", Redactor([]))


async def test_a_cancellation_dropped_inside_a_redis_call_is_raised_after_it() -> None:
    # Python 3.11's asyncio.wait_for (redis-py sends commands with it) returns the
    # command's result when the cancellation lands as the command finishes: the caller's
    # cancel must not vanish with it (a cancelled heartbeat would renew leases forever).
    from agentcloud._fleet._link import guarded

    async def dropping() -> str:
        task = asyncio.current_task()
        assert task is not None
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):  # dropped, as wait_for drops it
            await asyncio.sleep(0)
        return "reply"

    with pytest.raises(asyncio.CancelledError):
        await asyncio.ensure_future(guarded(_health(), "a call", 5.0, dropping))

    async def answers() -> str:
        await asyncio.sleep(0)
        return "reply"

    assert await guarded(_health(), "a call", 5.0, answers) == "reply"

    async def cleaning_up() -> str:
        # A task that already took a cancel (cleanup after CancelledError) may still
        # make a call: only a cancel that arrived during the call counts.
        task = asyncio.current_task()
        assert task is not None
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.sleep(0)
        return await guarded(_health(), "a call", 5.0, answers)

    assert await asyncio.ensure_future(cleaning_up()) == "reply"
