"""LiveKit's records: rooms, agent dispatches, their jobs, and the agent workers.

Plain data; the world (`_world.py`) changes them and the views (`_views.py`) write them.
"""

from __future__ import annotations

from attrs import define, field

from .._lifecycle import Lifecycle, Phase, Timeline

__all__ = [
    "DEFAULT_AGENT",
    "DEFAULT_ROOM",
    "LiveKitWorker",
    "LiveKitDispatchRecord",
    "LiveKitRoomRecord",
    "JobRecord",
    "short_id",
]

DEFAULT_AGENT = "my-agent"
"""The agent name the seeded worker serves."""
DEFAULT_ROOM = "seeded-room"
"""The room seeded sessions are dispatched into, unless told otherwise."""

# LiveKit's guids: a prefix and 12 characters of this alphabet (shortuuid's base57).
_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def short_id(prefix: str, bits: int) -> str:
    """A LiveKit-style id (``AD_``, ``AJ_``, ``RM_``, ``AW_``...) from random bits."""
    chars = []
    for _ in range(12):
        bits, digit = divmod(bits, len(_ALPHABET))
        chars.append(_ALPHABET[digit])
    return prefix + "".join(chars)


@define(kw_only=True)
class LiveKitRoomRecord:
    """A room. Mutable: tests may change its fields at any time."""

    sid: str
    name: str
    created_at: float
    empty_timeout: int = 300
    departure_timeout: int = 20
    max_participants: int = 0
    metadata: str = ""
    dispatch_ids: list[str] = field(factory=list)
    """Its dispatches, in the order they were created (deleted ones leave the list)."""


@define(kw_only=True)
class LiveKitWorker:
    """A registered agent worker. ``capacity`` caps its live jobs (None: no cap); with
    ``fail_jobs`` every job it takes fails before running."""

    id: str
    agent_name: str
    capacity: int | None = None
    fail_jobs: bool = False
    lifecycle: Lifecycle | None = None


@define(kw_only=True)
class JobRecord:
    """The job a dispatch got (LiveKit makes one room job per dispatch here)."""

    id: str
    worker_id: str
    """The worker it went to; "" when no worker could take it."""
    reason: str = "JSR_UNSPECIFIED"
    error: str = ""
    final_status: str | None = None
    """How it ended when a test or a deletion said so; else the timeline decides."""


@define(kw_only=True)
class LiveKitDispatchRecord:
    """An agent dispatch (the SDK's session). Until a worker takes it, it has no job and
    its timeline (not yet running on the clock) stays queued."""

    id: str
    agent_name: str
    room: str
    metadata: str
    restart_policy: str
    deployment: str
    attributes: dict[str, str]
    created_at: float
    timeline: Timeline
    sequence: int
    job: JobRecord | None = None
    deleted_at: float | None = None
    provider: str = "livekit"

    @property
    def live(self) -> bool:
        """Whether its job is pending or running."""
        return self.job is not None and not self.timeline.phase.is_terminal

    def job_status(self) -> str:
        """The job's ``JS_*`` status (callers check there is a job)."""
        job = self.job
        phase = self.timeline.phase
        if phase is Phase.QUEUED:
            return "JS_PENDING"
        if phase in (Phase.RUNNING, Phase.STOPPING):
            return "JS_RUNNING"
        if phase is Phase.FAILED:
            return "JS_FAILED"
        if job is not None and job.final_status is not None:
            return job.final_status
        return "JS_CANCELLED" if self.timeline.terminated else "JS_SUCCESS"
