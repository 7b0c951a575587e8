"""The emulator's in-memory world: deployments, agents and sessions of both vendors.

Plain records and the rules that change them; no HTTP and no wire format here, so the
API modules are the only place where vendor JSON is written.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterable
from typing import Any, Literal, TypeVar

from attrs import Factory, define, frozen

from ._clock import Clock
from ._lifecycle import Lifecycle, Phase, Timeline

_R = TypeVar("_R")

__all__ = [
    "EmulatedAgent",
    "EmulatedDeployment",
    "EmulatorState",
    "PipecatSessionRecord",
    "Provider",
    "SessionRecord",
    "VideoSDKSessionRecord",
    "WebhookSubscription",
]

Provider = Literal["videosdk", "pipecat"]


@frozen(kw_only=True)
class WebhookSubscription:
    """A VideoSDK session's webhook: where to POST and which events."""

    endpoint: str
    events: tuple[str, ...]


@define(kw_only=True)
class EmulatedDeployment:
    """A VideoSDK AI deployment. Mutable: tests may flip its flags at any time."""

    id: str
    name: str
    description: str = ""
    tags: list[str] = Factory(lambda: ["v1.0"])
    status: str = "available"
    created_at: float
    updated_at: float
    fail_sessions: bool = False
    lifecycle: Lifecycle | None = None

    @property
    def latest_tag(self) -> str | None:
        return self.tags[-1] if self.tags else None


@define(kw_only=True)
class EmulatedAgent:
    """A Pipecat Cloud agent (a "service"). Mutable: tests may flip its flags at any time."""

    id: str
    name: str
    organization_id: str
    deployment_id: str
    created_at: float
    updated_at: float
    region: str = "us-west"
    ready: bool = True
    max_sessions: int | None = None
    fail_sessions: bool = False
    lifecycle: Lifecycle | None = None


@define(kw_only=True)
class VideoSDKSessionRecord:
    id: str
    deployment_id: str
    tag: str
    env: dict[str, Any]
    metadata: dict[str, Any]
    webhook: WebhookSubscription | None
    timeline: Timeline
    sequence: int
    provider: Provider = "videosdk"


@define(kw_only=True)
class PipecatSessionRecord:
    id: str
    agent: str
    service_id: str
    organization_id: str
    deployment_id: str
    timeline: Timeline
    sequence: int
    cold_start: bool
    bot_start_seconds: int
    transport: str | None
    daily_room: bool
    participant_id: str
    meeting_id: str
    metrics_seed: int
    provider: Provider = "pipecat"


SessionRecord = VideoSDKSessionRecord | PipecatSessionRecord
TransitionListener = Callable[[SessionRecord, Phase], None]


class EmulatorState:
    """Every record, plus the clock-driven rules that move sessions along."""

    def __init__(
        self,
        *,
        clock: Clock,
        lifecycle: Lifecycle,
        seed: int | None,
        organization_id: str | None = None,
    ) -> None:
        self.clock = clock
        self.lifecycle = lifecycle
        # Separate streams, so drawing an id never shifts which session fails.
        self._id_random = random.Random(seed)
        self._failure_random = random.Random(None if seed is None else seed + 1)
        self._sequence = 0
        self.organization_id = organization_id or self.new_id()
        self.deployments: dict[str, EmulatedDeployment] = {}
        self.agents: dict[str, EmulatedAgent] = {}
        self.videosdk_sessions: dict[str, VideoSDKSessionRecord] = {}
        self.pipecat_sessions: dict[str, PipecatSessionRecord] = {}
        self._active: dict[tuple[Provider, str], SessionRecord] = {}
        self._listeners: list[TransitionListener] = []
        self._listings: dict[object, tuple[int, list[Any]]] = {}

    # ---- ids and listeners

    def new_id(self) -> str:
        return str(uuid.UUID(int=self._id_random.getrandbits(128), version=4))

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

    def _new_timeline(self, lifecycle: Lifecycle, *, always_fail: bool) -> Timeline:
        will_fail = always_fail
        if not will_fail and lifecycle.failure_rate > 0:
            will_fail = self._failure_random.random() < lifecycle.failure_rate
        return Timeline(lifecycle=lifecycle, created_at=self.clock.now(), will_fail=will_fail)

    def _begin(self, session: SessionRecord) -> None:
        self._active[(session.provider, session.id)] = session
        self._announce(session, [Phase.QUEUED])
        # A zero start delay makes the session run (or fail) before the start call returns.
        self._announce(session, session.timeline.advance(self.clock.now()))

    def stop(self, session: SessionRecord) -> None:
        """End a session on request; ending an ended session changes nothing."""
        self._announce(session, session.timeline.request_stop(self.clock.now()))

    def has_session(self, session_id: str) -> bool:
        return session_id in self.videosdk_sessions or session_id in self.pipecat_sessions

    def adopt(self, session: SessionRecord) -> None:
        """Store a fully built session (used by seeding); it must not exist yet."""
        if self.has_session(session.id):
            raise ValueError(f"session {session.id} already exists")
        if isinstance(session, VideoSDKSessionRecord):
            self.videosdk_sessions[session.id] = session
        else:
            self.pipecat_sessions[session.id] = session
        if not session.timeline.phase.is_terminal:
            self._active[(session.provider, session.id)] = session

    # ---- VideoSDK

    def add_deployment(
        self,
        *,
        name: str,
        description: str = "",
        tags: Iterable[str] = ("v1.0",),
        fail_sessions: bool = False,
        lifecycle: Lifecycle | None = None,
        deployment_id: str | None = None,
    ) -> EmulatedDeployment:
        now = self.clock.now()
        deployment = EmulatedDeployment(
            id=deployment_id or self.new_id(),
            name=name,
            description=description,
            tags=list(tags),
            created_at=now,
            updated_at=now,
            fail_sessions=fail_sessions,
            lifecycle=lifecycle,
        )
        self.deployments[deployment.id] = deployment
        return deployment

    def start_videosdk_session(
        self,
        *,
        deployment: EmulatedDeployment,
        tag: str,
        env: dict[str, Any],
        metadata: dict[str, Any],
        webhook: WebhookSubscription | None,
    ) -> VideoSDKSessionRecord:
        lifecycle = deployment.lifecycle or self.lifecycle
        session = VideoSDKSessionRecord(
            id=self.new_id(),
            deployment_id=deployment.id,
            tag=tag,
            env=env,
            metadata=metadata,
            webhook=webhook,
            timeline=self._new_timeline(lifecycle, always_fail=deployment.fail_sessions),
            sequence=self.next_sequence(),
        )
        self.videosdk_sessions[session.id] = session
        self._begin(session)
        return session

    def videosdk_listing(self) -> list[VideoSDKSessionRecord]:
        """All VideoSDK sessions, newest first (shared: callers must not mutate it)."""
        return self._sorted_once(
            "videosdk",
            len(self.videosdk_sessions),
            lambda: sorted(self.videosdk_sessions.values(), key=_newest_first),
        )

    def _sorted_once(self, key: object, count: int, build: Callable[[], list[_R]]) -> list[_R]:
        # Sessions are only ever added and their sort keys never change, so a listing stays
        # right until the count changes; re-sorting 10,000 sessions per page made listing
        # soaks measure the emulator instead of the client.
        cached = self._listings.get(key)
        if cached is None or cached[0] != count:
            cached = (count, build())
            self._listings[key] = cached
        return cached[1]

    def deployments_listing(self) -> list[EmulatedDeployment]:
        """All deployments, newest first (later additions first on equal times)."""
        indexed = list(enumerate(self.deployments.values()))
        indexed.sort(key=lambda pair: (-pair[1].created_at, -pair[0]))
        return [deployment for _, deployment in indexed]

    # ---- Pipecat

    def add_agent(
        self,
        *,
        name: str,
        ready: bool = True,
        max_sessions: int | None = None,
        fail_sessions: bool = False,
        lifecycle: Lifecycle | None = None,
        region: str = "us-west",
    ) -> EmulatedAgent:
        if name in self.agents:
            raise ValueError(f"agent {name!r} already exists")
        now = self.clock.now()
        agent = EmulatedAgent(
            id=self.new_id(),
            name=name,
            organization_id=self.organization_id,
            deployment_id=self.new_id(),
            created_at=now,
            updated_at=now,
            region=region,
            ready=ready,
            max_sessions=max_sessions,
            fail_sessions=fail_sessions,
            lifecycle=lifecycle,
        )
        self.agents[name] = agent
        return agent

    def active_session_count(self, agent_name: str) -> int:
        return sum(
            1
            for session in self._active.values()
            if isinstance(session, PipecatSessionRecord) and session.agent == agent_name
        )

    def start_pipecat_session(
        self, *, agent: EmulatedAgent, transport: str | None, daily_room: bool
    ) -> PipecatSessionRecord:
        lifecycle = agent.lifecycle or self.lifecycle
        # An agent with nothing running has no warm replica: the start is a cold one.
        cold_start = self.active_session_count(agent.name) == 0
        session = PipecatSessionRecord(
            id=self.new_id(),
            agent=agent.name,
            service_id=agent.id,
            organization_id=agent.organization_id,
            deployment_id=agent.deployment_id,
            timeline=self._new_timeline(lifecycle, always_fail=agent.fail_sessions),
            sequence=self.next_sequence(),
            cold_start=cold_start,
            bot_start_seconds=round(lifecycle.start_delay),
            transport=transport,
            daily_room=daily_room,
            participant_id=self.new_id(),
            meeting_id=self.new_id(),
            metrics_seed=self._id_random.getrandbits(32),
        )
        self.pipecat_sessions[session.id] = session
        self._begin(session)
        return session

    def pipecat_listing(self, agent_name: str) -> list[PipecatSessionRecord]:
        """One agent's sessions, newest first (shared: callers must not mutate it)."""
        return self._sorted_once(
            ("pipecat", agent_name),
            len(self.pipecat_sessions),
            lambda: sorted(
                (s for s in self.pipecat_sessions.values() if s.agent == agent_name),
                key=_newest_first,
            ),
        )


def _newest_first(session: SessionRecord) -> tuple[float, int]:
    return (-session.timeline.created_at, -session.sequence)
