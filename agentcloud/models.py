"""Typed, immutable values: sessions, their status, deployments, agents, pages.

Every model keeps the vendor's wire object in ``raw`` (unknown keys included) so nothing the
vendor sends is lost, and excludes it from ``repr`` and ``==`` to keep both meaningful.
Datetimes are timezone-aware UTC.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, Generic, TypeVar

import attrs

__all__ = [
    "Agent",
    "Connection",
    "Deployment",
    "MeetingId",
    "Page",
    "PipecatSession",
    "ResourceMetrics",
    "ResourceSample",
    "Session",
    "SessionStatus",
    "VideoSDKSession",
    "Webhook",
    "WEBHOOK_EVENTS",
]

T = TypeVar("T")


class SessionStatus(enum.Enum):
    """Where a session is in its life, the same for every vendor.

    Vendor strings the SDK does not know map to ``UNKNOWN``; the original is kept in
    ``Session.raw_status``.
    """

    QUEUED = "queued"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    ENDED = "ended"
    FAILED = "failed"
    UNKNOWN = "unknown"

    @property
    def is_terminal(self) -> bool:
        """True once the session can no longer change: ended or failed."""
        return self in (SessionStatus.ENDED, SessionStatus.FAILED)

    @classmethod
    def parse(cls, value: SessionStatus | str) -> SessionStatus:
        """Accepts a member or its value ("running"), case-insensitively."""
        if isinstance(value, SessionStatus):
            return value
        if isinstance(value, str):
            try:
                return cls(value.strip().lower())
            except ValueError:
                pass
        choices = ", ".join(member.value for member in cls)
        raise ValueError(f"not a session status: {value!r} (one of {choices})")


#: The webhook events a VideoSDK session start may subscribe to.
WEBHOOK_EVENTS: tuple[str, ...] = (
    "ai-deployment-session-starting",
    "ai-deployment-session-started",
    "ai-deployment-session-stopping",
    "ai-deployment-session-stopped",
    "ai-deployment-session-failed",
)


def _events(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(value)


@attrs.frozen
class Webhook:
    """Where VideoSDK POSTs a session's events, and which events."""

    endpoint: str
    events: tuple[str, ...] = attrs.field(default=WEBHOOK_EVENTS, converter=_events)


@attrs.frozen(kw_only=True)
class Session:
    """An agent session, as every vendor has it."""

    id: str
    provider: str
    status: SessionStatus = SessionStatus.UNKNOWN
    raw_status: str | None = None
    deployment_id: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    duration: float | None = None
    metadata: dict[str, Any] = attrs.field(factory=dict)
    raw: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen(kw_only=True)
class VideoSDKSession(Session):
    """A VideoSDK Agent Cloud deployment session."""

    provider: str = "videosdk"
    tag: str | None = None
    webhook: Webhook | None = None


@attrs.frozen(kw_only=True)
class ResourceSample:
    """One point of a session's resource time series."""

    t: datetime
    cpu_millicores: int | None = None
    memory_bytes: int | None = None


@attrs.frozen(kw_only=True)
class ResourceMetrics:
    """CPU and memory percentiles of a Pipecat session, with their time series."""

    id: str | None = None
    session_id: str | None = None
    sample_count: int | None = None
    cpu_millicores_p50: int | None = None
    cpu_millicores_p90: int | None = None
    cpu_millicores_p95: int | None = None
    cpu_millicores_p99: int | None = None
    memory_bytes_p50: int | None = None
    memory_bytes_p90: int | None = None
    memory_bytes_p95: int | None = None
    memory_bytes_p99: int | None = None
    timeseries: tuple[ResourceSample, ...] = ()
    event_ts: datetime | None = None
    created_at: datetime | None = None


@attrs.frozen(kw_only=True)
class MeetingId:
    """A Daily meeting a Pipecat session took part in."""

    meeting_id: str
    participant_id: str | None = None


@attrs.frozen(kw_only=True)
class Connection:
    """How to reach a freshly started Pipecat session (only the start answer has it).

    ``daily_room``/``daily_token`` when a Daily room was created; ``ice_servers`` when the
    default ICE servers were asked for; ``ws_url``, ``token`` and ``body`` (the start's
    ``body``, base64-encoded, to append to ``ws_url`` as ``?body=``) for the websocket
    transport. Tokens and the body are left out of ``repr``.
    """

    daily_room: str | None = None
    daily_token: str | None = attrs.field(default=None, repr=False)
    ice_servers: tuple[dict[str, Any], ...] = ()
    ws_url: str | None = None
    token: str | None = attrs.field(default=None, repr=False)
    body: str | None = attrs.field(default=None, repr=False)


@attrs.frozen(kw_only=True)
class PipecatSession(Session):
    """A Pipecat Cloud agent session.

    ``agent`` is the agent it was asked of (Pipecat's session objects do not name it);
    ``started_at`` is ``createdAt`` (the start request; ``bot_start_seconds`` later the bot
    was up) and ``duration`` is ``endedAt - createdAt``, as Pipecat's own CLI counts it.
    ``resource_metrics`` and ``meeting_ids`` come with ``sessions.get()`` only, and
    ``connection`` with ``sessions.start()`` only.
    """

    provider: str = "pipecat"
    agent: str | None = None
    service_id: str | None = None
    organization_id: str | None = None
    cold_start: bool | None = None
    bot_start_seconds: float | None = None
    completion_status: str | None = None
    end_state: str | None = None
    resource_metrics: ResourceMetrics | None = None
    meeting_ids: tuple[MeetingId, ...] = ()
    connection: Connection | None = None


@attrs.frozen(kw_only=True)
class Deployment:
    """A VideoSDK AI deployment."""

    id: str
    name: str | None = None
    tag: str | None = None
    description: str | None = None
    status: str | None = None
    created_at: datetime | None = None
    raw: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen(kw_only=True)
class Agent:
    """A Pipecat Cloud agent (a deployed service).

    ``ready``: its latest deployment passed validation; ``available``: it can take new
    sessions now. ``ready`` and ``active_session_count`` come with ``agents.get()`` only;
    the agent listing does not carry them (None there).
    """

    name: str
    ready: bool | None = None
    active_session_count: int | None = None
    available: bool | None = None
    region: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    raw: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen(kw_only=True)
class Page(Generic[T]):
    """One page of a listing.

    ``number`` is set for page/perPage listings, ``offset`` for limit/offset ones; ``total``
    is the vendor's count of all items, when it says.
    """

    items: tuple[T, ...]
    number: int | None = None
    offset: int | None = None
    total: int | None = None
