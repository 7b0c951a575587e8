"""The vendor-free part of the emulated world: ids, session timers and who is told.

Vendor worlds keep their own records (deployments, agents, sessions in their own shapes);
every session record satisfies `SessionRecord`, and the `SessionBook` moves the live ones
along the clock and announces each phase they enter. No HTTP and no wire format here.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol, TypeVar

from ._clock import Clock
from ._lifecycle import Lifecycle, Phase, Timeline

__all__ = ["SessionBook", "SessionRecord", "TransitionListener", "newest_first"]

_R = TypeVar("_R")


class SessionRecord(Protocol):
    """What the core needs of a vendor's session record."""

    provider: str
    """The registry name of the vendor that owns the session."""
    id: str
    timeline: Timeline
    sequence: int
    """Creation order across every vendor: breaks ties between equal creation times."""


TransitionListener = Callable[[SessionRecord, Phase], None]


def newest_first(session: SessionRecord) -> tuple[float, int]:
    """Sort key of a listing that shows the newest session first."""
    return (-session.timeline.created_at, -session.sequence)


class SessionBook:
    """The randomness every vendor draws from, and the clock-driven life of live sessions."""

    def __init__(self, *, clock: Clock, lifecycle: Lifecycle, seed: int | None) -> None:
        self.clock = clock
        self.lifecycle = lifecycle
        """Timers of sessions whose deployment or agent sets none."""
        # Separate streams, so drawing an id never shifts which session fails.
        self._id_random = random.Random(seed)
        self._failure_random = random.Random(None if seed is None else seed + 1)
        self._sequence = 0
        self._active: dict[tuple[str, str], SessionRecord] = {}
        self._listeners: list[TransitionListener] = []
        self._listings: dict[object, tuple[int, list[Any]]] = {}

    # ---- ids and listeners

    def new_id(self) -> str:
        """A UUID4 from the emulator's seeded stream."""
        return str(uuid.UUID(int=self._id_random.getrandbits(128), version=4))

    def random_bits(self, bits: int) -> int:
        """Bits from the same seeded stream as the ids (for data derived per record)."""
        return self._id_random.getrandbits(bits)

    def next_sequence(self) -> int:
        self._sequence += 1
        return self._sequence

    def add_listener(self, listener: TransitionListener) -> None:
        """Call `listener(session, phase)` for every phase a session enters."""
        self._listeners.append(listener)

    def _announce(self, session: SessionRecord, phases: Iterable[Phase]) -> None:
        for phase in phases:
            for listener in self._listeners:
                listener(session, phase)
        if session.timeline.phase.is_terminal:
            self._active.pop((session.provider, session.id), None)

    # ---- time

    def tick(self) -> None:
        """Apply every transition that is due by the clock's current time."""
        now = self.clock.now()
        for session in list(self._active.values()):
            self._announce(session, session.timeline.advance(now))

    def next_deadline(self) -> float | None:
        deadlines = [
            due
            for session in self._active.values()
            if (due := session.timeline.next_deadline()) is not None
        ]
        return min(deadlines, default=None)

    def new_timeline(self, lifecycle: Lifecycle | None, *, always_fail: bool) -> Timeline:
        """A timeline starting now; `lifecycle` None means the book's default timers."""
        timers = lifecycle or self.lifecycle
        will_fail = always_fail
        if not will_fail and timers.failure_rate > 0:
            will_fail = self._failure_random.random() < timers.failure_rate
        return Timeline(lifecycle=timers, created_at=self.clock.now(), will_fail=will_fail)

    # ---- sessions

    def begin(self, session: SessionRecord) -> None:
        """Announce a new session as queued and start its timers."""
        self._active[(session.provider, session.id)] = session
        self._announce(session, [Phase.QUEUED])
        # A zero start delay makes the session run (or fail) before the start call returns.
        self._announce(session, session.timeline.advance(self.clock.now()))

    def adopt(self, session: SessionRecord) -> None:
        """Track a session built with its history already applied (seeding); no announcements."""
        if not session.timeline.phase.is_terminal:
            self._active[(session.provider, session.id)] = session

    def stop(self, session: SessionRecord) -> None:
        """End a session on request; ending an ended session changes nothing."""
        self._announce(session, session.timeline.request_stop(self.clock.now()))

    def active_sessions(self) -> Iterator[SessionRecord]:
        """Every session that has not ended, of every vendor."""
        return iter(self._active.values())

    def cached_listing(self, key: object, count: int, build: Callable[[], list[_R]]) -> list[_R]:
        """`build()`, reused until `count` changes (shared: callers must not mutate it).

        Sessions are only ever added and their sort keys never change, so a listing stays
        right until the number of sessions changes; sorting anew for every page would make
        walking a long listing quadratic in its length.
        """
        cached = self._listings.get(key)
        if cached is None or cached[0] != count:
            cached = (count, build())
            self._listings[key] = cached
        return cached[1]
