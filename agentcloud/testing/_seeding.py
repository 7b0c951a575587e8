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


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


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
    built: list[SessionRecord] = []
    for index in range(count):
        # Every value is drawn unconditionally and in a fixed order, so a session's id and
        # times depend only on (provider, seed, index), never on the other arguments.
        session_id = _uuid(rng)
        start_delay = float(rng.randint(1, 3))
        run_duration = float(rng.randint(10, 300))
        fails = rng.random() < FAILED_SHARE
        cold_start = rng.random() < COLD_START_SHARE
        participant_id, meeting_id = _uuid(rng), _uuid(rng)
        metrics_seed = rng.getrandbits(32)

        created_at = newest_at - index * spacing
        still_running = index < running
        lifecycle = Lifecycle(
            start_delay=start_delay, run_duration=None if still_running else run_duration
        )
        timeline = Timeline(
            lifecycle=lifecycle, created_at=created_at, will_fail=fails and not still_running
        )
        timeline.advance(created_at + start_delay if still_running else math.inf)
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
                participant_id=participant_id,
                meeting_id=meeting_id,
                metrics_seed=metrics_seed,
            )
        built.append(session)
    # All or nothing: a clash (the same seed twice) must not leave half a batch behind.
    if any(state.has_session(session.id) for session in built):
        raise ValueError(f"sessions of {provider} seed {seed} already exist")
    for session in built:
        state.adopt(session)
    return [session.id for session in built]
