"""One Fleet, several event loops: the sync client runs its own loop on a thread, so the
fleet must serve a client there and callers here at the same time."""

from __future__ import annotations

import asyncio
import threading

import redis.asyncio as aioredis

from agentcloud import RetryPolicy
from agentcloud.fleet import Fleet
from agentcloud.testing import Emulator

from .helpers import LoopThread, eventually, orphan


async def test_a_client_on_another_loop_leases_spends_and_is_reaped_from_here(
    emu: Emulator, fleet: Fleet, namespace: str, redis: aioredis.Redis
) -> None:
    budget = fleet.budget("videosdk", rate=0.001, burst=1)
    records = f"agentcloud:{{{namespace}}}:leases"
    with LoopThread() as thread:

        async def hold_there() -> tuple[str, bool]:
            client = emu.videosdk(fleet=fleet, retry=RetryPolicy(budget=budget))
            start = client.sessions.start(deployment_id=emu.videosdk_deployment_id, tag="v1.0")
            session = await start.__aenter__()
            await eventually(lambda: session.id in client._fleet_listener.leased)
            spent = await budget.try_spend()
            await orphan(client)  # as a sync client whose process dies: left running
            return session.id, spent

        session_id, spent = await asyncio.wrap_future(thread.submit(hold_there()))
        assert spent is True
        assert await budget.try_spend() is False  # the same bucket, from this loop
        await eventually(lambda: redis.hexists(records, f"videosdk:{session_id}"))
        async with emu.videosdk() as reaper:

            tried: list[object] = []  # what each pass did, for the failure message

            async def reaped() -> bool:
                passes = await fleet.reap([reaper])
                tried.extend(passes)
                return any(item.ended for item in passes)

            # The lease TTL is 1 s; the bound is generous because a loaded CI machine
            # delays the reaper's passes, not because expiry may take longer.
            liveness = f"agentcloud:{{{namespace}}}:lease:videosdk:{session_id}"
            try:
                await eventually(reaped, timeout=10.0, what="the lease expired and reaped")
            except AssertionError as error:
                ttl = await redis.pttl(liveness)
                raise AssertionError(f"{error}; passes: {tried!r}; liveness pttl {ttl}") from None
        assert emu.session_phase("videosdk", session_id).value in ("stopping", "completed")
        await fleet.aclose()  # closes the thread loop's connections there


async def test_loops_that_closed_are_forgotten(fleet: Fleet) -> None:
    """A script may run one asyncio.run after another with one Fleet: the connections of
    loops that closed are not kept."""

    def one_run(key: str) -> None:
        asyncio.run(fleet.seen(key))

    for number in range(3):
        thread = threading.Thread(target=one_run, args=(f"k-{number}",))
        thread.start()
        thread.join(10)
    assert await fleet.seen("k-0") is True  # those runs reached Redis
    assert len(fleet._core.links._links) <= 2  # this loop's, and at most the last one's


async def test_delivery_keys_redis_cannot_spell_are_hashed(fleet: Fleet) -> None:
    assert await fleet.seen("videosdk:id:\ud800") is False
    assert await fleet.seen("videosdk:id:\ud800") is True
    assert await fleet.seen("videosdk:id:\x00\x01") is False
