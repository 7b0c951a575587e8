"""VideoSDK's agent runtime, emulated: agents with worker pools, deployments, versions with
activation, rooms, dispatches that start sessions on the emulator's timers, and the console
logs those sessions write.

A dispatch is refused as VideoSDK documents it (every refusal a 400 in VideoSDK's shape; the
status is not documented): "No Workers Registered" for an agent no worker serves (unknown,
or `registered` False), "Agent Not Deployed" for an agent with deployments but no version to
run (or a version id or tag it does not have), "No workers available" while the agent runs
as many sessions as it has `workers`. An agent with no deployment at all is self-hosted:
its sessions belong to no deployment, so no listing shows them.
"""

from __future__ import annotations

from typing import Any

from .._lifecycle import Lifecycle, Phase
from .._seeding import SeededSession, SeedPlan, seed_into
from .._state import SessionBook, SessionRecord, newest_first
from .._world import Refusal
from ._records import WebhookSubscription
from ._runtime_records import (
    ConsoleLog,
    EmulatedAgent,
    EmulatedAgentDeployment,
    EmulatedRoom,
    EmulatedVersion,
    RuntimeSessionRecord,
)

__all__ = ["DEFAULT_IMAGE", "LOG_WINDOW", "AgentRuntime"]

DEFAULT_IMAGE = {
    "imageUrl": "docker.io/videosdk/emulated-agent:latest",
    "imageCR": "docker.io",
    "imageType": "public",
}
#: Seconds of console logs a query covers when it names no start: VideoSDK's last 24 h.
LOG_WINDOW = 24 * 3600.0
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
# What a session's agent writes to the console as it enters each phase.
_PHASE_LOGS: dict[Phase, tuple[str, str]] = {
    Phase.QUEUED: ("info", "Job assigned to a worker; joining room {room}"),
    Phase.RUNNING: ("info", "Agent joined room {room}"),
    Phase.STOPPING: ("info", "Agent session stopping"),
    Phase.COMPLETED: ("info", "Agent session ended"),
    Phase.FAILED: ("error", "Agent session failed: the entrypoint raised an exception"),
}


class AgentRuntime:
    """The runtime's records and what its API does with them (the API checks requests)."""

    def __init__(self, book: SessionBook) -> None:
        self.book = book
        self.agents: dict[str, EmulatedAgent] = {}
        self.deployments: dict[str, EmulatedAgentDeployment] = {}
        self.versions: dict[str, EmulatedVersion] = {}
        self.rooms: dict[str, EmulatedRoom] = {}
        self.sessions: dict[str, RuntimeSessionRecord] = {}
        self.logs: list[ConsoleLog] = []
        self._by_room: dict[str, list[RuntimeSessionRecord]] = {}
        self._by_custom_id: dict[str, EmulatedRoom] = {}
        self._log_sequence = 0
        self.user_id = f"{book.random_bits(96):024x}"
        """The account every room belongs to (a room's ``userId``)."""
        book.add_listener(self._write_logs)

    # ---- building the world

    def add_agent(
        self,
        *,
        name: str,
        workers: int = 10,
        registered: bool = True,
        deployed: bool = True,
        lifecycle: Lifecycle | None = None,
        fail_sessions: bool = False,
        agent_id: str | None = None,
    ) -> EmulatedAgent:
        """An agent; ``deployed`` also gives it a deployment and an active version."""
        now = self.book.clock.now()
        agent = EmulatedAgent(
            id=agent_id or self.book.new_id(),
            name=name,
            workers=workers,
            registered=registered,
            lifecycle=lifecycle,
            fail_sessions=fail_sessions,
            created_at=now,
        )
        self.agents[agent.id] = agent
        if deployed:
            deployment = self.add_deployment(agent_id=agent.id, name=name)
            self.add_version(deployment=deployment, image=dict(DEFAULT_IMAGE), name="v1")
        return agent

    def add_deployment(
        self,
        *,
        agent_id: str,
        name: str,
        template: str | None = None,
        env_secret: str | None = None,
    ) -> EmulatedAgentDeployment:
        now = self.book.clock.now()
        deployment = EmulatedAgentDeployment(
            id=self.book.new_id(),
            agent_id=agent_id,
            name=name,
            template=template,
            env_secret=env_secret,
            created_at=now,
            updated_at=now,
        )
        self.deployments[deployment.id] = deployment
        return deployment

    def add_version(
        self,
        *,
        deployment: EmulatedAgentDeployment,
        image: dict[str, Any],
        name: str | None = None,
        **settings: Any,
    ) -> EmulatedVersion:
        """A version of ``deployment``, active at once (as VideoSDK activates a new one)."""
        now = self.book.clock.now()
        count = sum(1 for v in self.versions.values() if v.deployment_id == deployment.id)
        version = EmulatedVersion(
            id=self.book.new_id(),
            agent_id=deployment.agent_id,
            deployment_id=deployment.id,
            name=name or f"v{count + 1}",
            image=image,
            created_at=now,
            updated_at=now,
            sequence=self.book.next_sequence(),
            **settings,
        )
        self.versions[version.id] = version
        self.activate(version)
        return version

    def _room_code(self) -> str:
        while True:
            bits = self.book.random_bits(60)
            letters = "".join(_LETTERS[(bits >> (5 * i)) % 26] for i in range(12))
            code = f"{letters[:4]}-{letters[4:8]}-{letters[8:]}"
            if code not in self.rooms:
                return code

    def add_room(
        self,
        *,
        custom_room_id: str | None = None,
        auto_close: dict[str, Any] | None = None,
        at: float | None = None,
    ) -> EmulatedRoom:
        """A room; one with a custom id already taken is that room (as VideoSDK answers)."""
        if custom_room_id is not None and custom_room_id in self._by_custom_id:
            return self._by_custom_id[custom_room_id]
        now = self.book.clock.now() if at is None else at
        room = EmulatedRoom(
            id=f"{self.book.random_bits(96):024x}",
            room_id=self._room_code(),
            custom_room_id=custom_room_id,
            auto_close=auto_close,
            created_at=now,
            updated_at=now,
        )
        self.rooms[room.room_id] = room
        if custom_room_id is not None:
            self._by_custom_id[custom_room_id] = room
        return room

    def room(self, room_id: str) -> EmulatedRoom | None:
        """The room with this id, or this custom id."""
        return self.rooms.get(room_id) or self._by_custom_id.get(room_id)

    def add_log(
        self,
        *,
        deployment_id: str,
        message: str,
        level: str = "info",
        at: float | None = None,
        session: RuntimeSessionRecord | None = None,
        user_id: str | None = None,
    ) -> ConsoleLog:
        self._log_sequence += 1
        log = ConsoleLog(
            at=self.book.clock.now() if at is None else at,
            message=message,
            level=level,
            deployment_id=deployment_id,
            agent_id=None if session is None else session.agent_id,
            version_id=None if session is None else session.version_id,
            session_id=None if session is None else session.id,
            room_id=None if session is None else session.room_id,
            user_id=user_id,
            sequence=self._log_sequence,
        )
        self.logs.append(log)
        return log

    def seed(self, plan: SeedPlan, deployment: EmulatedAgentDeployment) -> list[str]:
        """Past sessions of ``deployment``, each in a room of its own."""
        version = self.active_version(deployment.id)
        rooms: list[EmulatedRoom] = []

        def build(drawn: SeededSession) -> RuntimeSessionRecord:
            room = EmulatedRoom(
                id=f"{self.book.random_bits(96):024x}",
                room_id=self._room_code(),
                created_at=drawn.timeline.created_at,
                updated_at=drawn.timeline.created_at,
            )
            rooms.append(room)
            return RuntimeSessionRecord(
                id=drawn.id,
                room_id=room.room_id,
                agent_id=deployment.agent_id,
                deployment_id=deployment.id,
                version_id=None if version is None else version.id,
                metadata={},
                timeline=drawn.timeline,
                sequence=self.book.next_sequence(),
            )

        # A stream of its own, so seeded runtime sessions never share ids with the others.
        ids = seed_into(self.sessions, self.book, plan, build, provider="videosdk-runtime")
        for room in rooms:
            self.rooms[room.room_id] = room
        for session_id in ids:
            session = self.sessions[session_id]
            self._by_room.setdefault(session.room_id, []).append(session)
        return ids

    # ---- what the API does

    def live_sessions(
        self, *, agent_id: str | None = None, version_id: str | None = None
    ) -> list[RuntimeSessionRecord]:
        return [
            session
            for session in self.sessions.values()
            if not session.timeline.phase.is_terminal
            and (agent_id is None or session.agent_id == agent_id)
            and (version_id is None or session.version_id == version_id)
        ]

    def deployments_of(self, agent_id: str) -> list[EmulatedAgentDeployment]:
        return [d for d in self.deployments.values() if d.agent_id == agent_id and not d.deleted]

    def active_version(self, deployment_id: str) -> EmulatedVersion | None:
        active = [
            v for v in self.versions.values() if v.deployment_id == deployment_id and v.active
        ]
        return max(active, key=lambda v: v.sequence, default=None)

    def _version_to_run(
        self, agent: EmulatedAgent, version_id: str | None, version_tag: str | None
    ) -> EmulatedVersion | None:
        deployments = {d.id for d in self.deployments_of(agent.id)}
        if not deployments and version_id is None and version_tag is None:
            return None  # self-hosted: its registered workers run it
        candidates = [v for v in self.versions.values() if v.deployment_id in deployments]
        if version_id is not None:
            chosen = [v for v in candidates if v.id == version_id]
        elif version_tag is not None:
            chosen = [v for v in candidates if v.version_tag == version_tag]
        else:
            chosen = [v for v in candidates if v.active]
        if not chosen:
            raise Refusal(400, "Agent Not Deployed")
        return max(chosen, key=lambda v: v.sequence)

    def dispatch(
        self,
        *,
        agent_id: str,
        room: EmulatedRoom,
        metadata: dict[str, Any],
        version_id: str | None,
        version_tag: str | None,
    ) -> RuntimeSessionRecord:
        agent = self.agents.get(agent_id)
        if agent is None or not agent.registered:
            raise Refusal(400, "No Workers Registered")
        version = self._version_to_run(agent, version_id, version_tag)
        if len(self.live_sessions(agent_id=agent.id)) >= agent.workers:
            raise Refusal(400, "No workers available")
        session = RuntimeSessionRecord(
            id=self.book.new_id(),
            room_id=room.room_id,
            agent_id=agent.id,
            deployment_id=None if version is None else version.deployment_id,
            version_id=None if version is None else version.id,
            metadata=metadata,
            timeline=self.book.new_timeline(agent.lifecycle, always_fail=agent.fail_sessions),
            sequence=self.book.next_sequence(),
        )
        self.sessions[session.id] = session
        self._by_room.setdefault(room.room_id, []).append(session)
        self.book.begin(session)
        return session

    def end_room(self, room: EmulatedRoom, session_id: str | None) -> RuntimeSessionRecord:
        """Ends the room's live sessions (or only ``session_id``); answers the newest of
        them. Ending a room whose sessions ended answers the last one: ends converge."""
        in_room = self._by_room.get(room.room_id, [])
        if session_id is not None:
            in_room = [s for s in in_room if s.id == session_id]
            if not in_room:
                raise Refusal(404, "Session not found")
        if not in_room:
            raise Refusal(404, "No session found for this room")
        for session in in_room:
            self.book.stop(session)
        return max(in_room, key=newest_first_key)

    def stop_version(self, version: EmulatedVersion) -> None:
        for session in self.live_sessions(version_id=version.id):
            self.book.stop(session)

    def activate(self, version: EmulatedVersion) -> None:
        """Makes ``version`` the one its deployment runs."""
        for other in self.versions.values():
            if other.deployment_id == version.deployment_id and other.active:
                other.active = False
        version.active = True
        version.updated_at = self.book.clock.now()

    def delete_deployment(self, deployment: EmulatedAgentDeployment) -> None:
        for version in self.versions.values():
            if version.deployment_id == deployment.id:
                self.stop_version(version)
                version.active = False
        deployment.deleted = True
        deployment.status = "deleted"
        deployment.updated_at = self.book.clock.now()

    # ---- listings

    def deployment_sessions(self, deployment_id: str) -> list[RuntimeSessionRecord]:
        """The deployment's sessions, newest first (shared: callers must not mutate it)."""
        return self.book.cached_listing(
            ("videosdk-runtime", deployment_id),
            len(self.sessions),
            lambda: sorted(
                (s for s in self.sessions.values() if s.deployment_id == deployment_id),
                key=newest_first,
            ),
        )

    def deployment_listing(self) -> list[EmulatedAgentDeployment]:
        """Every deployment not deleted, newest first."""
        indexed = [(i, d) for i, d in enumerate(self.deployments.values()) if not d.deleted]
        indexed.sort(key=lambda pair: (-pair[1].created_at, -pair[0]))
        return [deployment for _, deployment in indexed]

    # ---- what sessions write

    def _write_logs(self, session: SessionRecord, phase: Phase) -> None:
        if not isinstance(session, RuntimeSessionRecord) or session.deployment_id is None:
            return
        level, text = _PHASE_LOGS[phase]
        self.add_log(
            deployment_id=session.deployment_id,
            message=text.format(room=session.room_id),
            level=level,
            at=session.timeline.updated_at,
            session=session,
        )

    def webhook_of(self, session: RuntimeSessionRecord) -> WebhookSubscription | None:
        """Where the session's events go: its version's webhook."""
        if session.version_id is None:
            return None
        version = self.versions.get(session.version_id)
        return None if version is None else version.webhook


def newest_first_key(session: RuntimeSessionRecord) -> tuple[float, int]:
    """The newer of two sessions sorts higher."""
    return (session.timeline.created_at, session.sequence)
