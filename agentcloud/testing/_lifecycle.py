"""How an emulated session moves through its phases as the clock advances.

queued --start_delay--> running --run_duration--> stopping --stop_delay--> completed
queued --start_delay--> failed                       (a session chosen to fail)
queued|running --end request--> stopping --stop_delay--> completed

Every transition is stamped with the time it was due, not the time it was noticed, so a
manual clock advanced in one jump still yields the timestamps of a smooth run.
"""

from __future__ import annotations

from enum import StrEnum

from attrs import define, field, frozen, validators

__all__ = ["Lifecycle", "Phase", "Timeline"]


class Phase(StrEnum):
    """The emulator's own session phases; each vendor writes them in its own terms."""

    QUEUED = "queued"
    RUNNING = "running"
    STOPPING = "stopping"
    COMPLETED = "completed"
    FAILED = "failed"

    @property
    def is_terminal(self) -> bool:
        """True once the session can no longer change: completed or failed."""
        return self in (Phase.COMPLETED, Phase.FAILED)


_non_negative = validators.ge(0.0)


def _optional_non_negative(_: object, attribute: object, value: float | None) -> None:
    if value is not None and value < 0:
        raise ValueError(f"{attribute} must be >= 0, got {value}")


@frozen(kw_only=True)
class Lifecycle:
    """Timers for every session (overridable per deployment or agent), in clock seconds."""

    start_delay: float = field(default=0.25, validator=_non_negative)
    # Two hours, the usual default cap on an agent session; None keeps it running until ended.
    run_duration: float | None = field(default=7200.0, validator=_optional_non_negative)
    stop_delay: float = field(default=0.0, validator=_non_negative)
    # Share of new sessions that fail instead of running, drawn from the emulator's seed.
    failure_rate: float = field(default=0.0, validator=[validators.ge(0.0), validators.le(1.0)])


@define(kw_only=True)
class Timeline:
    """One session's phase and the times it entered each phase."""

    lifecycle: Lifecycle
    created_at: float
    will_fail: bool = False
    phase: Phase = Phase.QUEUED
    updated_at: float = 0.0
    running_at: float | None = None
    stopping_at: float | None = None
    ended_at: float | None = None
    # True when an API call ended the session rather than its own timers.
    terminated: bool = False

    def __attrs_post_init__(self) -> None:
        self.updated_at = self.created_at

    def next_deadline(self) -> float | None:
        """When the next timed transition is due, or None if nothing is scheduled."""
        timers = self.lifecycle
        if self.phase is Phase.QUEUED:
            return self.created_at + timers.start_delay
        if self.phase is Phase.RUNNING and self.running_at is not None:
            if timers.run_duration is None:
                return None
            return self.running_at + timers.run_duration
        if self.phase is Phase.STOPPING and self.stopping_at is not None:
            return self.stopping_at + timers.stop_delay
        return None

    def advance(self, now: float) -> list[Phase]:
        """Apply every transition due by `now`; return the phases entered, in order."""
        entered: list[Phase] = []
        while (due := self.next_deadline()) is not None and due <= now:
            entered.append(self._enter_next(due))
        return entered

    def request_stop(self, now: float) -> list[Phase]:
        """End the session on request; return the phases entered, in order."""
        entered = self.advance(now)
        if self.phase in (Phase.QUEUED, Phase.RUNNING):
            self.terminated = True
            self._enter(Phase.STOPPING, now)
            self.stopping_at = now
            entered.append(Phase.STOPPING)
            entered.extend(self.advance(now))
        return entered

    def _enter_next(self, due: float) -> Phase:
        if self.phase is Phase.QUEUED:
            if self.will_fail:
                self.ended_at = due
                return self._enter(Phase.FAILED, due)
            self.running_at = due
            return self._enter(Phase.RUNNING, due)
        if self.phase is Phase.RUNNING:
            self.stopping_at = due
            return self._enter(Phase.STOPPING, due)
        self.ended_at = due
        return self._enter(Phase.COMPLETED, due)

    def _enter(self, phase: Phase, at: float) -> Phase:
        self.phase = phase
        self.updated_at = at
        return phase
