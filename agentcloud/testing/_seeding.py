"""Deterministic historical sessions, so listings and pagination have something to walk.

The core draws every seeded session's id, timers and outcome, plus a fixed set of extra
numbers a vendor may use for its own fields; the vendor builds its record from them.
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Callable, Iterator
from typing import TypeVar

from attrs import frozen

from ._clock import DEFAULT_MANUAL_START
from ._lifecycle import Lifecycle, Timeline
from ._state import SessionBook, SessionRecord

__all__ = ["SEED_NEWEST_AT", "SeedPlan", "SeededSession", "seed_into", "seeded_sessions"]

# Ten minutes before the manual clock's default start, so seeded history is in the past.
SEED_NEWEST_AT = DEFAULT_MANUAL_START - 600.0
FAILED_SHARE = 0.1

_Record = TypeVar("_Record", bound=SessionRecord)


@frozen(kw_only=True)
class SeededSession:
    """The drawn values of one seeded session; which extras mean what is the vendor's."""

    id: str
    timeline: Timeline
    """Already advanced: ended (maybe failed), or running until ended."""
    chance: float
    """A uniform number in [0, 1), for a yes-or-no trait of the vendor's."""
    related_ids: tuple[str, str]
    """Two more UUID4s, for records that hang off the session."""
    sub_seed: int
    """32 random bits, for data the vendor derives from the session."""


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


@frozen(kw_only=True)
class SeedPlan:
    """Which past sessions to seed: `count` of them, created `spacing` seconds apart, the
    newest at `newest_at`; the newest `running` are left running until ended."""

    count: int
    seed: int
    newest_at: float
    spacing: float
    running: int


def seeded_sessions(provider: str, plan: SeedPlan) -> Iterator[SeededSession]:
    """The sessions of `plan`, newest first.

    The same (provider, seed) always yields the same values. Sessions that are not left
    running have ended, about one in ten of them failed.
    """
    if plan.count < 0 or not 0 <= plan.running <= plan.count:
        raise ValueError("need count >= 0 and 0 <= running <= count")
    # A string seed keeps the vendors' streams apart for the same number.
    rng = random.Random(f"{provider}:{plan.seed}")
    for index in range(plan.count):
        # Every value is drawn unconditionally and in a fixed order, so a session's values
        # depend only on (provider, seed, index), never on the other arguments.
        session_id = _uuid(rng)
        start_delay = float(rng.randint(1, 3))
        run_duration = float(rng.randint(10, 300))
        fails = rng.random() < FAILED_SHARE
        chance = rng.random()
        related_ids = (_uuid(rng), _uuid(rng))
        sub_seed = rng.getrandbits(32)

        created_at = plan.newest_at - index * plan.spacing
        still_running = index < plan.running
        lifecycle = Lifecycle(
            start_delay=start_delay, run_duration=None if still_running else run_duration
        )
        timeline = Timeline(
            lifecycle=lifecycle, created_at=created_at, will_fail=fails and not still_running
        )
        timeline.advance(created_at + start_delay if still_running else math.inf)
        yield SeededSession(
            id=session_id,
            timeline=timeline,
            chance=chance,
            related_ids=related_ids,
            sub_seed=sub_seed,
        )


def seed_into(
    sessions: dict[str, _Record],
    book: SessionBook,
    plan: SeedPlan,
    build: Callable[[SeededSession], _Record],
    *,
    provider: str,
) -> list[str]:
    """Build the sessions of `plan` with `build` and store them in `sessions` (the
    vendor's table, by id); returns their ids, newest first.

    All or nothing: a clash (the same seed twice) must not leave half a batch behind.
    """
    built = [build(drawn) for drawn in seeded_sessions(provider, plan)]
    if any(session.id in sessions for session in built):
        raise ValueError(f"sessions of {provider} seed {plan.seed} already exist")
    for session in built:
        sessions[session.id] = session
        book.adopt(session)
    return [session.id for session in built]
