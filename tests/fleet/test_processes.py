"""The fleet across real processes: the emulator runs here, the other replicas are children
(``tests.fleet.child``), and the emulator's request log says what reached the vendor."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import aiohttp
import pytest

from agentcloud import WebhookReceiver
from agentcloud.fleet import Fleet
from agentcloud.models import SessionEventType
from agentcloud.testing import Emulator, FaultKind, FaultPlan

from .helpers import REDIS_URL, Child, event, eventually, namespace_keys

END_PATH = "/ai/v1/ai-deployment-sessions/end"
TTL = 1.5
HEARTBEAT = 0.75


def credentials(emu: Emulator, namespace: str) -> dict[str, Any]:
    return {
        "redis_url": REDIS_URL,
        "namespace": namespace,
        "base_url": emu.url,
        "api_key": emu.videosdk_api_key,
        "secret": emu.videosdk_secret,
        "deployment_id": emu.videosdk_deployment_id,
    }


async def redeliver(url: str, body: bytes, signature: str) -> Any:
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, data=body, headers={"videosdk-signature": signature}) as answer,
    ):
        assert answer.status == 200
        return await answer.json()


async def test_a_webhook_on_one_replica_wakes_a_waiter_in_another_process_once(
    emu: Emulator, namespace: str
) -> None:
    key = emu.videosdk_webhook_public_key
    async with (
        Fleet(REDIS_URL, namespace=namespace) as fleet_a,
        Fleet(REDIS_URL, namespace=namespace) as fleet_c,
        WebhookReceiver.serve(public_key=key, fleet=fleet_a) as replica_a,
        WebhookReceiver.serve(public_key=key, fleet=fleet_c) as replica_c,
    ):
        assert replica_a.url is not None
        assert replica_c.url is not None
        waiter = await Child.start("wait", **credentials(emu, namespace), webhook_url=replica_a.url)
        try:
            session_id = (await waiter.read())["session_id"]
            # It polls once a minute within a 30 s timeout: only the fleet can wake it.
            lines = await waiter.read_until(lambda line: "waited" in line)
            assert lines[-1]["waited"] == "running"
            await emu.settle()
            started = next(
                delivery
                for delivery in emu.webhook_deliveries
                if delivery.session_id == session_id
                and delivery.event == "ai-deployment-session-started"
            )
            # The vendor delivers it again, to this replica and to another one.
            for url in (replica_a.url, replica_c.url):
                answer = await redeliver(url, started.body, started.signature)
                assert answer == {"ok": True, "duplicate": True}
            # Published after the replays were refused: behind anything they published.
            await fleet_a.publish(event(session_id, kind=SessionEventType.UNKNOWN, name="fence"))
            lines += await waiter.read_until(lambda line: line.get("event") == "fence")
            assert await waiter.finish() == 0, await waiter.errors()
        finally:
            await waiter.finish()
        heard = Counter(line["event"] for line in lines if "event" in line)
        assert heard["ai-deployment-session-started"] == 1
        assert replica_a.stats.duplicates == 1
        assert replica_c.stats.duplicates == 1
        assert replica_c.stats.accepted == 0


@pytest.mark.parametrize("reapers", [1, 3])
async def test_the_sessions_of_a_killed_holder_are_ended_once_within_the_lease_ttl(
    emu: Emulator, namespace: str, reapers: int
) -> None:
    config = credentials(emu, namespace)
    holder = await Child.start("hold", **config, count=20, ttl=TTL, heartbeat=HEARTBEAT)
    reaping = [await Child.start("reap", **config, interval=0.05) for _ in range(reapers)]
    try:
        held = (await holder.read())["ready"]
        assert len(held) == 20
        for reaper in reaping:
            assert await reaper.read() == {"started": True}
        emu.clear_requests()
        killed_at = emu.clock.now()
        holder.kill()
        await holder.process.wait()

        def ends() -> list[Any]:
            return [r for r in emu.requests if r.path == END_PATH and r.fault is None]

        await eventually(lambda: len(ends()) >= 20, timeout=TTL + HEARTBEAT + 10)
        last_end = max(r.received_at for r in ends())
        reported = []
        for reaper in reaping:
            reaper.close_input()
            lines = await reaper.read_until(lambda line: "done" in line)
            reported += [line for line in lines if "session_id" in line]
    finally:
        holder.kill()
        for reaper in reaping:
            await reaper.finish()
    ended = Counter(r.body["sessionId"] for r in ends())
    assert ended == Counter(held)  # every held session, each ended exactly once
    assert last_end - killed_at <= TTL + HEARTBEAT
    assert sorted(line["session_id"] for line in reported) == sorted(held)
    assert all(line["ended"] and line["attempts"] == 1 for line in reported)
    assert await namespace_keys(namespace) == []  # no lease left behind
    for session_id in held:
        assert emu.session_phase("videosdk", session_id).value in ("stopping", "completed")


async def test_four_processes_retry_within_one_shared_budget(emu: Emulator, namespace: str) -> None:
    rate, burst = 4.0, 4
    vs = emu.videosdk()
    session = await vs.sessions.start(deployment_id=emu.videosdk_deployment_id, tag="v1.0")
    await vs.aclose()
    config = {**credentials(emu, namespace), "session_id": session.id}
    workers = [
        await Child.start("budget", **config, rate=rate, burst=burst, seconds=1.2) for _ in range(4)
    ]
    try:
        for worker in workers:
            assert await worker.read() == {"ready": True}
        emu.clear_requests()
        emu.faults = FaultPlan(rate=1.0, kinds=[FaultKind.SERVER_ERROR])
        await asyncio.gather(*(worker.send("go") for worker in workers))
        reports = [await worker.read(timeout=30) for worker in workers]
    finally:
        for worker in workers:
            await worker.finish()
    gets = [r for r in emu.requests if r.method == "GET"]
    assert all(r.fault is FaultKind.SERVER_ERROR for r in gets)
    calls = sum(report["calls"] for report in reports)
    retries = len(gets) - calls
    span = gets[-1].received_at - gets[0].received_at
    # Together, however many calls they made, they retried within one bucket.
    assert burst <= retries <= burst + rate * span + 1
    assert calls > 10 * (burst + rate * span)  # alone, each would have retried every call
    assert all(report["refused"] > 0 for report in reports)
