"""Pipecat Cloud's emulated world: keys, the organization, agents and their sessions."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .._json import json_response
from .._lifecycle import Lifecycle
from .._seeding import SeededSession, SeedPlan, seed_into
from .._state import newest_first
from .._world import Refusal, WorldContext
from ._api import PipecatApi
from ._records import DEFAULT_AGENT, EmulatedAgent, PipecatSessionRecord

if TYPE_CHECKING:
    from agentcloud import PipecatCloud

__all__ = ["PipecatWorld"]

RATE_LIMIT_BODY = {
    "status": 429,
    "code": "429",
    "message": "Rate limit exceeded. Please try again later",
}
# A seeded session was a cold start about this often.
COLD_START_SHARE = 0.3


class PipecatWorld:
    """Pipecat Cloud: the private API under /v1, the public start under /v1/public.

    It also answers every path no other vendor claims, as its host would. Options
    (``Emulator(pipecat_<option>=...)``): ``api_key`` (private, ``sk_...``) and
    ``public_key`` (``pk_...``), random unless given, and ``max_sessions``, the active
    session cap of the seeded agent "my-agent" (then 429 at capacity).
    """

    name: str = "pipecat"
    path_prefixes: tuple[str, ...] = ("/v1/", "/")
    attributes: tuple[str, ...] = ("api_key", "public_key", "organization_id", "agent", "add_agent")
    server_error_message: str = (
        "Internal server error. Please check logs for more information or contact support."
    )

    def __init__(
        self,
        context: WorldContext,
        *,
        api_key: str | None = None,
        public_key: str | None = None,
        max_sessions: int | None = None,
    ) -> None:
        self.book = context.sessions
        self._context = context
        self.api_key = api_key or f"sk_{secrets.token_urlsafe(24)}"
        """The private key: everything but starting sessions."""
        self.public_key = public_key or f"pk_{secrets.token_urlsafe(24)}"
        """The public key: starts sessions."""
        self._seeded_agent_max_sessions = max_sessions
        self.organization_id = self.book.new_id()
        """The organization every key belongs to."""
        # Signs the fake Daily and websocket tokens; nothing ever verifies them.
        self.token_secret = self.book.new_id()
        self.agents: dict[str, EmulatedAgent] = {}
        self.sessions: dict[str, PipecatSessionRecord] = {}
        self._api = PipecatApi(self)

    # ---- the World protocol

    def routes(self) -> list[web.RouteDef]:
        return self._api.routes()

    def seed_world(self) -> None:
        self.add_agent(DEFAULT_AGENT, max_sessions=self._seeded_agent_max_sessions)

    def error_response(self, refusal: Refusal) -> web.Response:
        body = {
            "error": refusal.message,
            "code": refusal.code or str(refusal.status),
            **refusal.extra,
        }
        return json_response(body, status=refusal.status, headers=refusal.headers)

    def rate_limited_response(self, retry_after: int | None) -> web.Response:
        # Pipecat's 429 has a shape of its own: `message`, not `error`.
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        return json_response(RATE_LIMIT_BODY, status=429, headers=headers)

    def secrets(self) -> tuple[str, ...]:
        return (self.api_key, self.public_key)

    def seed_sessions(
        self,
        plan: SeedPlan,
        *,
        agent: str = DEFAULT_AGENT,
    ) -> list[str]:
        """Past sessions of `agent` (default "my-agent")."""
        owner = self.agents[agent]

        def build(drawn: SeededSession) -> PipecatSessionRecord:
            cold_start = drawn.chance < COLD_START_SHARE
            participant_id, meeting_id = drawn.related_ids
            return PipecatSessionRecord(
                id=drawn.id,
                agent=owner.name,
                service_id=owner.id,
                organization_id=owner.organization_id,
                deployment_id=owner.deployment_id,
                timeline=drawn.timeline,
                sequence=self.book.next_sequence(),
                cold_start=cold_start,
                bot_start_seconds=2 if cold_start else 0,
                transport="daily",
                daily_room=True,
                participant_id=participant_id,
                meeting_id=meeting_id,
                metrics_seed=drawn.sub_seed,
            )

        return seed_into(self.sessions, self.book, plan, build, provider=self.name)

    def client(self, **kwargs: Any) -> PipecatCloud:
        from agentcloud import PipecatCloud

        kwargs.setdefault("agent", DEFAULT_AGENT)
        return PipecatCloud(
            api_key=self.api_key,
            public_key=self.public_key,
            base_url=self._context.base_url(),
            **kwargs,
        )

    def environment(self) -> dict[str, str]:
        return {
            "PIPECAT_CLOUD_API_KEY": self.api_key,
            "PIPECAT_CLOUD_PUBLIC_KEY": self.public_key,
            "PIPECAT_CLOUD_AGENT": DEFAULT_AGENT,
        }

    # ---- served as emu.pipecat_<name>

    def agent(self, name: str) -> EmulatedAgent:
        """The agent named `name` (KeyError if none); its attributes may be changed."""
        return self.agents[name]

    def add_agent(
        self,
        name: str,
        *,
        ready: bool = True,
        max_sessions: int | None = None,
        fail_sessions: bool = False,
        lifecycle: Lifecycle | None = None,
        region: str = "us-west",
    ) -> EmulatedAgent:
        """Add a Pipecat agent; `max_sessions` caps its active sessions (then 429)."""
        if name in self.agents:
            raise ValueError(f"agent {name!r} already exists")
        now = self.book.clock.now()
        agent = EmulatedAgent(
            id=self.book.new_id(),
            name=name,
            organization_id=self.organization_id,
            deployment_id=self.book.new_id(),
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

    # ---- what the API does

    def active_session_count(self, agent_name: str) -> int:
        return sum(
            1
            for session in self.book.active_sessions()
            if isinstance(session, PipecatSessionRecord) and session.agent == agent_name
        )

    def start_session(
        self, *, agent: EmulatedAgent, transport: str | None, daily_room: bool
    ) -> PipecatSessionRecord:
        lifecycle = agent.lifecycle or self.book.lifecycle
        # An agent with nothing running has no warm replica: the start is a cold one.
        cold_start = self.active_session_count(agent.name) == 0
        session = PipecatSessionRecord(
            id=self.book.new_id(),
            agent=agent.name,
            service_id=agent.id,
            organization_id=agent.organization_id,
            deployment_id=agent.deployment_id,
            timeline=self.book.new_timeline(lifecycle, always_fail=agent.fail_sessions),
            sequence=self.book.next_sequence(),
            cold_start=cold_start,
            bot_start_seconds=round(lifecycle.start_delay),
            transport=transport,
            daily_room=daily_room,
            participant_id=self.book.new_id(),
            meeting_id=self.book.new_id(),
            metrics_seed=self.book.random_bits(32),
        )
        self.sessions[session.id] = session
        self.book.begin(session)
        return session

    def session_listing(self, agent_name: str) -> list[PipecatSessionRecord]:
        """One agent's sessions, newest first (shared: callers must not mutate it)."""
        return self.book.cached_listing(
            (self.name, agent_name),
            len(self.sessions),
            lambda: sorted(
                (s for s in self.sessions.values() if s.agent == agent_name), key=newest_first
            ),
        )
