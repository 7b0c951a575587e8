"""A client's close cancelled at any step, once or twice: its lease heartbeat still stops,
and what it could not end is left to the reaper (which ends it), on a real Redis.

A close that a cancellation cut short, and that could then not be finished, would leave
the heartbeat renewing the leases of sessions no one will end: the reaper never takes a
live holder's lease, so they would bill for as long as the process lives.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import redis.asyncio as aioredis

from agentcloud import RetryPolicy
from agentcloud.fleet import Fleet
from agentcloud.testing import Emulator, FaultKind, FaultPlan

from .helpers import eventually
from .test_leases import END_PATH, lease_of, start_kwargs

#: Loop turns the close runs before it is cancelled (every step of it, and past its end).
MAX_TURNS = 60


async def _turns(count: int) -> None:
    for _ in range(count):
        await asyncio.sleep(0)


async def _gone_or_expired(redis: aioredis.Redis, namespace: str, session_id: str) -> bool:
    _, ttl = await lease_of(redis, namespace, session_id)
    return ttl == -2  # nothing renews it: released, or left to expire


async def _close_cancelled_after(
    turns: int, emu: Emulator, fleet: Fleet, namespace: str, redis: aioredis.Redis
) -> bool:
    """One round: a close cancelled after ``turns`` loop turns, then again in its
    clean-up; True if it had finished before the first cancel."""
    # Every end fails, so the close cannot end the session: it must leave it.
    emu.faults = FaultPlan(rate=1.0, kinds=[FaultKind.SERVER_ERROR], paths=[END_PATH])
    client = emu.videosdk(fleet=fleet, end_on_close=True, retry=RetryPolicy.never())
    session = await client.sessions.start(**start_kwargs(emu))
    listener: Any = client._fleet_listener
    await eventually(lambda: session.id in listener.leased, what="the lease")
    closing = asyncio.ensure_future(client.aclose())
    await _turns(turns)
    done_already = closing.done()
    closing.cancel()
    await _turns(turns % 7)
    closing.cancel()  # a second cancel, landing in the close's clean-up
    with contextlib.suppress(asyncio.CancelledError):
        await closing
    # A cancelled close may be finished by closing again.
    await asyncio.wait_for(client.aclose(), 10)
    assert client.closed
    await eventually(
        lambda: listener._task is None or listener._task.done(),
        what=f"the heartbeat stopped (cancelled after {turns} turns)",
    )
    await eventually(
        lambda: _gone_or_expired(redis, namespace, session.id),
        what=f"the lease no longer renewed (cancelled after {turns} turns)",
    )
    emu.faults = None
    async with emu.videosdk() as reaper:
        reaped = await eventually(lambda: fleet.reap({"videosdk": reaper}), what="the reap")
    assert [(item.session_id, item.ended) for item in reaped] == [(session.id, True)]
    assert await lease_of(redis, namespace, session.id) == (None, -2)
    return done_already


async def test_a_cancelled_close_stops_the_heartbeat_and_leaves_the_rest_to_the_reaper(
    emu: Emulator, fleet: Fleet, namespace: str, redis: aioredis.Redis
) -> None:
    finished_before_cancel = cut_short = 0
    for turns in range(MAX_TURNS):
        if await _close_cancelled_after(turns, emu, fleet, namespace, redis):
            finished_before_cancel += 1
            if finished_before_cancel >= 3:
                # Cancelled past the close's end three times running: every step was seen.
                assert cut_short >= 5, cut_short
                return
        else:
            finished_before_cancel = 0
            cut_short += 1
    raise AssertionError(f"the close still ran after {MAX_TURNS} loop turns")
