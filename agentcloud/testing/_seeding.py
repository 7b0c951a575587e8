"""Deterministic historical sessions, so listings and pagination have something to walk."""

from __future__ import annotations

import math
import random
import uuid

from ._clock import DEFAULT_MANUAL_START
from ._lifecycle import Lifecycle, Timeline
from ._state import (
    EmulatedAgent,
    EmulatedDeployment,
    EmulatorState,
    PipecatSessionRecord,
    Provider,
    SessionRecord,
    VideoSDKSessionRecord,
)

__all__ = ["SEED_NEWEST_AT", "seed_sessions"]

# Ten minutes before the manual clock's default start, so seeded history is in the past.
SEED_NEWEST_AT = DEFAULT_MANUAL_START - 600.0
FAILED_SHARE = 0.1
COLD_START_SHARE = 0.3


def seed_sessions(
    state: EmulatorState,
    provider: Provider,
    count: int,
    *,
    seed: int,
    agent: EmulatedAgent | None,
    deployment: EmulatedDeployment | None,
    tag: str | None,
    newest_at: float,
    spacing: float,
    running: int,
) -> list[str]:
    """Add `count` sessions created `spacing` seconds apart, newest at `newest_at`.

    The same (provider, seed) always yields the same ids, timestamps and outcomes. The
    newest `running` sessions are left running (until ended); the rest have ended, about
    one in ten of them failed. Returns the ids, newest first.
    """
    if count < 0 or not 0 <= running <= count:
        raise ValueError("need count >= 0 and 0 <= running <= count")
    # A string seed keeps the two providers' streams apart for the same number.
    rng = random.Random(f"{provider}:{seed}")
    ids: list[str] = []
    for index in range(count):
        created_at = newest_at - index * spacing
        start_delay = float(rng.randint(1, 3))
        still_running = index < running
        lifecycle = Lifecycle(
            start_delay=start_delay,
            run_duration=None if still_running else float(rng.randint(10, 300)),
        )
        timeline = Timeline(
            lifecycle=lifecycle,
            created_at=created_at,
            will_fail=not still_running and rng.random() < FAILED_SHARE,
        )
        timeline.advance(created_at + start_delay if still_running else math.inf)
        session_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        session: SessionRecord
        if provider == "videosdk":
            if deployment is None:
                raise ValueError("seeding VideoSDK sessions needs a deployment")
            session = VideoSDKSessionRecord(
                id=session_id,
                deployment_id=deployment.id,
                tag=tag or deployment.latest_tag or "v1.0",
                env={},
                metadata={},
                webhook=None,
                timeline=timeline,
                sequence=state.next_sequence(),
            )
        else:
            if agent is None:
                raise ValueError("seeding Pipecat sessions needs an agent")
            cold_start = rng.random() < COLD_START_SHARE
            session = PipecatSessionRecord(
                id=session_id,
                agent=agent.name,
                service_id=agent.id,
                organization_id=agent.organization_id,
                deployment_id=agent.deployment_id,
                timeline=timeline,
                sequence=state.next_sequence(),
                cold_start=cold_start,
                bot_start_seconds=2 if cold_start else 0,
                transport="daily",
                daily_room=True,
                participant_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                meeting_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                metrics_seed=rng.getrandbits(32),
            )
        state.adopt(session)
        ids.append(session_id)
    return ids
