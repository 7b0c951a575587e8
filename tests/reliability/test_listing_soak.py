"""Listing soak: 10,000 sessions walked again and again while the vendor misbehaves.

Each walk either yields every session exactly once and in the vendor's order, or raises a
typed error after yielding a correct prefix: never a silent short listing, never a
duplicate, never an untyped exception. Walks run on both providers, with concurrency 1
and 8, under a seeded 20% mix of every fault kind the emulator has; then under every kind
but the two that break a 2xx body. With the retry policy's ample budget every walk must
complete, the body-breaking faults included, since a read with an unparsable 2xx body is
read again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from agentcloud import AgentCloudError, PipecatCloud, VideoSDK
from agentcloud.testing import Emulator, FaultKind, FaultPlan, ManualClock

from .support import (
    ALL_FAULTS,
    DECODE_FAULTS,
    STALL_SECONDS,
    HybridTime,
    acquired,
    fast_clients,
    fast_policy,
)

SESSIONS = 10_000
WALKS_UNDER_EVERY_FAULT = 5
COMPLETE_WALKS = 1


@pytest.fixture
async def seeded() -> AsyncIterator[tuple[Emulator, dict[str, list[str]]]]:
    async with Emulator(clock=ManualClock(), seed=11) as emu:
        ids = {
            "videosdk": emu.seed_sessions("videosdk", SESSIONS, seed=1),
            "pipecat": emu.seed_sessions("pipecat", SESSIONS, seed=1),
        }
        yield emu, ids


async def walk(
    client: VideoSDK | PipecatCloud, concurrency: int
) -> tuple[list[str], Exception | None]:
    """The ids one walk yielded, and the exception that ended it early (if any)."""
    got: list[str] = []
    error: Exception | None = None
    try:
        async for session in client.sessions.list(concurrency=concurrency):
            got.append(session.id)
    except Exception as caught:  # checked by the caller: it must be typed
        error = caught
    return got, error


@pytest.mark.parametrize("provider", ["videosdk", "pipecat"])
@pytest.mark.parametrize("concurrency", [1, 8])
async def test_every_walk_is_whole_and_ordered_or_a_typed_error(
    seeded: tuple[Emulator, dict[str, list[str]]], provider: str, concurrency: int
) -> None:
    emu, ids = seeded
    expected = ids[provider]
    timer = HybridTime()
    vs, pc = fast_clients(emu, fast_policy(timer, seed=concurrency))
    client = vs if provider == "videosdk" else pc
    seen_faults: set[FaultKind] = set()
    outcomes: list[str] = []
    async with vs, pc:
        plans = [
            FaultPlan(rate=0.2, seed=1000 * concurrency + n, stall_seconds=STALL_SECONDS)
            for n in range(WALKS_UNDER_EVERY_FAULT)
        ] + [
            FaultPlan(
                rate=0.2,
                seed=2000 * concurrency + n,
                kinds=[kind for kind in ALL_FAULTS if kind not in DECODE_FAULTS],
                stall_seconds=STALL_SECONDS,
            )
            for n in range(COMPLETE_WALKS)
        ]
        for number, plan in enumerate(plans):
            emu.faults = plan
            emu.clear_requests()
            got, error = await walk(client, concurrency)
            seen_faults.update(r.fault for r in emu.requests if r.fault is not None)
            # Exactly once, in order: what was yielded is the listing or a prefix of it.
            assert got == expected[: len(got)], f"walk {number}: out of order or duplicated"
            assert len(set(got)) == len(got)
            if error is None:
                assert len(got) == SESSIONS, f"walk {number}: silently short ({len(got)})"
                outcomes.append("complete")
            else:
                assert isinstance(error, AgentCloudError), f"untyped: {error!r}"
                outcomes.append(type(error).__name__)
            assert error is None, f"walk {number} did not complete: {error!r}"
            assert acquired(client) == 0, "a connection was left checked out"
    # The soak really met the faults it claims to survive, and really completed walks.
    assert seen_faults == set(ALL_FAULTS)
    assert outcomes == ["complete"] * len(plans)
