"""Pipecat Cloud's emulated world: keys, the organization, agents and their deployments,
sessions, their bots and logs, and the organization's webhooks."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .._json import json_response
from .._lifecycle import Lifecycle, Phase
from .._seeding import SeededSession, SeedPlan, seed_into
from .._state import SessionRecord, newest_first
from .._world import Refusal, WorldContext
from ._api import PipecatApi
from ._bot import Bot, BotHandler
from ._logs import phase_line
from ._records import DEFAULT_AGENT, EmulatedAgent, LogLine, PipecatSessionRecord, Rollout
from ._webhooks import SPELLINGS, WebhookEndpoint, new_secret

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
    ``public_key`` (``pk_...``), random unless given; ``max_sessions``, the active
    session cap of the seeded agent "my-agent" (then 429 at capacity); ``organization``,
    the organization's name (the official CLI's ``PIPECAT_ORG``); ``readiness_delay``, the
    clock seconds a deployment takes to be reconciled (half of it) and ready (all of it);
    ``logs_total_cap``, past which the logs' total is a lower bound (``relation: gte``).
    """

    name: str = "pipecat"
    path_prefixes: tuple[str, ...] = ("/v1/", "/")
    attributes: tuple[str, ...] = (
        "api_key",
        "public_key",
        "organization_id",
        "organization",
        "agent",
        "add_agent",
        "bot",
        "log",
        "logs",
        "webhooks",
        "official_cli_environment",
    )
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
        organization: str = "emulator-org",
        readiness_delay: float = 1.0,
        logs_total_cap: int | None = 10_000,
    ) -> None:
        if readiness_delay < 0:
            raise ValueError("readiness_delay must be >= 0")
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
        self.organization = organization
        """The organization's name, in the official CLI's organization-scoped paths."""
        self.readiness_delay = readiness_delay
        self.logs_total_cap = logs_total_cap
        self.agents: dict[str, EmulatedAgent] = {}
        self.sessions: dict[str, PipecatSessionRecord] = {}
        self.bots: dict[str, Bot] = {}
        self._logs: dict[str, list[LogLine]] = {}
        self._log_sequence = 0
        self._endpoint: WebhookEndpoint | None = None
        self._api = PipecatApi(self)
        self.book.add_listener(self._on_phase)

    # ---- the World protocol

    def routes(self) -> list[web.RouteDef]:
        return self._api.routes()

    def seed_world(self) -> None:
        self.add_agent(DEFAULT_AGENT, max_sessions=self._seeded_agent_max_sessions)

    @property
    def organization_names(self) -> tuple[str, str]:
        """What the organization-scoped paths accept as ``{org}``: its name or its id."""
        return (self.organization, self.organization_id)

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

    def official_cli_environment(self) -> dict[str, str]:
        """What points the official ``pipecatcloud`` CLI at this emulator: its API host,
        the private key as its token and the organization (its config file is left to
        the caller: point ``PIPECAT_CONFIG_PATH`` at an empty directory)."""
        return {
            "PIPECAT_API_HOST": self._context.base_url(),
            "PIPECAT_TOKEN": self.api_key,
            "PIPECAT_ORG": self.organization,
        }

    # ---- served as emu.pipecat_<name>

    def agent(self, name: str) -> EmulatedAgent:
        """The agent named `name` (KeyError if none); its attributes may be changed."""
        return self.agents[name]

    def bot(self, agent: str, handler: BotHandler, *, not_ready_for: float = 0.0) -> Bot:
        """Give `agent`'s sessions a bot behind the session API (see `_bot`); `calls` on
        the returned `Bot` records what it received."""
        if agent not in self.agents:
            raise KeyError(agent)
        if not_ready_for < 0:
            raise ValueError("not_ready_for must be >= 0")
        bot = Bot(handler=handler, not_ready_for=not_ready_for, calls=[])
        self.bots[agent] = bot
        return bot

    def log(
        self,
        agent: str,
        message: str,
        *,
        session_id: str | None = None,
        deployment_id: str | None = None,
        at: float | None = None,
    ) -> LogLine:
        """Add a line to `agent`'s logs (now, unless `at` says when)."""
        owner = self.agents.get(agent)
        if deployment_id is None and owner is not None:
            deployment_id = owner.serving_deployment_id
        self._log_sequence += 1
        line = LogLine(
            agent=agent,
            at=self.book.clock.now() if at is None else at,
            message=message,
            deployment_id=deployment_id,
            session_id=session_id,
            sequence=self._log_sequence,
        )
        self._logs.setdefault(agent, []).append(line)
        return line

    def logs(self, agent: str) -> list[LogLine]:
        """`agent`'s log lines, in the order they were written."""
        return list(self._logs.get(agent, ()))

    def logs_of(self, agent: str) -> list[LogLine]:
        return self._logs.get(agent, [])

    def webhooks(
        self,
        url: str,
        secret: str | None = None,
        *,
        spelling: str = "svix",
        duplicates: int = 0,
    ) -> str:
        """Send the organization's webhooks to `url`, signed with `secret` (a new
        ``whsec_`` one unless given); returns the secret. `spelling` is ``svix`` (the
        headers of the captured deliveries), ``webhook`` or ``both``; each delivery is
        sent ``1 + duplicates`` times with the same id (at least once, as Svix)."""
        if spelling not in SPELLINGS:
            raise ValueError(f"spelling must be one of {', '.join(SPELLINGS)}")
        chosen = secret or new_secret()
        self._endpoint = WebhookEndpoint(
            url=url, secret=chosen, spelling=spelling, duplicates=duplicates
        )
        return chosen

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
        """Add a Pipecat agent, deployed already; `max_sessions` caps its active sessions
        (then 429)."""
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

    def settle_agent(self, agent: EmulatedAgent) -> None:
        """Apply the rollout steps due by now: reconciled at half the delay, ready at all."""
        rollout = agent.rollout
        if rollout is None:
            return
        now = self.book.clock.now()
        if now >= rollout.reconciled_at and agent.reconciled_deployment_id != agent.deployment_id:
            agent.reconciled_deployment_id = agent.deployment_id
            agent.ready = False  # the new revision is validating
            agent.available = rollout.previous is not None  # old replicas still serve
            agent.updated_at = rollout.reconciled_at
        if now >= rollout.ready_at:
            agent.ready = True
            agent.available = None
            agent.rollout = None
            agent.updated_at = rollout.ready_at

    def _roll_out(self, agent: EmulatedAgent, *, previous: str | None) -> None:
        now = self.book.clock.now()
        agent.deployment_id = self.book.new_id()
        agent.deployments.append(agent.deployment_id)
        agent.rollout = Rollout(started_at=now, delay=self.readiness_delay, previous=previous)
        agent.updated_at = now
        self.settle_agent(agent)

    def create_agent(self, name: str, *, region: str, settings: dict[str, Any]) -> EmulatedAgent:
        """A new agent from a create request's checked settings: not reconciled nor ready
        until its first deployment rolls out."""
        agent = self.add_agent(name, ready=False, region=region)
        agent.available = False
        agent.reconciled_deployment_id = None
        agent.rollout = Rollout(
            started_at=agent.created_at, delay=self.readiness_delay, previous=None
        )
        self._apply(agent, settings)
        self.settle_agent(agent)
        self._send_event("deployment.created", agent.name, _deployment_event(agent))
        return agent

    def update_agent(self, agent: EmulatedAgent, settings: dict[str, Any], *, force: bool) -> None:
        """Apply an update; a change (or `force`) rolls out a new deployment."""
        self.settle_agent(agent)
        before = _configuration(agent)
        self._apply(agent, settings)
        if force or _configuration(agent) != before:
            self._roll_out(agent, previous=agent.reconciled_deployment_id)
            self._send_event("deployment.updated", agent.name, _deployment_event(agent))

    def delete_agent(self, agent: EmulatedAgent) -> None:
        """Remove the agent; its sessions run on to their end."""
        self.agents.pop(agent.name, None)
        self.bots.pop(agent.name, None)

    @staticmethod
    def _apply(agent: EmulatedAgent, settings: dict[str, Any]) -> None:
        if "image" in settings:
            agent.image, agent.build_id = settings["image"], None
        if "buildId" in settings:
            agent.build_id, agent.image = settings["buildId"], None
        agent.secret_set = settings.get("secretSet", agent.secret_set)
        agent.image_pull_secret_set = settings.get(
            "imagePullSecretSet", agent.image_pull_secret_set
        )
        agent.min_agents = settings.get("minAgents", agent.min_agents)
        if "maxAgents" in settings:
            # Past maxAgents a start is refused at capacity: one agent serves one session.
            agent.max_agents = agent.max_sessions = settings["maxAgents"]
        elif agent.max_sessions is None:
            agent.max_sessions = agent.max_agents
        agent.agent_profile = settings.get("agentProfile", agent.agent_profile)
        if "krispViva" in settings:
            agent.krisp_filter = settings["krispViva"]
        agent.max_session_duration = settings.get("maxSessionDuration", agent.max_session_duration)

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
            deployment_id=agent.serving_deployment_id,
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

    # ---- what sessions do as they move

    def _on_phase(self, session: SessionRecord, phase: Phase) -> None:
        if not isinstance(session, PipecatSessionRecord):
            return
        at, message = phase_line(session, phase)
        self.log(
            session.agent,
            message,
            session_id=session.id,
            deployment_id=session.deployment_id,
            at=at,
        )
        # session.started: when the bot is up; for websocket when the token is issued.
        started = Phase.QUEUED if session.transport == "websocket" else Phase.RUNNING
        if phase is started:
            data: dict[str, Any] = {
                "session_id": session.id,
                "service": session.agent,
                "region": self._region_of(session.agent),
            }
            if session.transport is not None:
                data["transport"] = session.transport
            self._send_event("session.started", session.id, data)

    def _region_of(self, agent: str) -> str:
        owner = self.agents.get(agent)
        return owner.region if owner is not None else "us-west"

    def _send_event(self, event_type: str, chain: str, data: dict[str, Any]) -> None:
        endpoint = self._endpoint
        if endpoint is None:
            return
        message_id = "msg_" + self.book.new_id().replace("-", "")[:27]
        body, headers, signature = endpoint.delivery(
            message_id=message_id,
            event_type=event_type,
            org=self.organization,
            data=data,
            now=self.book.clock.now(),
        )
        for _ in range(1 + endpoint.duplicates):
            self._context.webhooks.enqueue(
                session_id=chain,
                event=event_type,
                url=endpoint.url,
                body=body,
                signature=signature,
                headers=headers,
            )


def _deployment_event(agent: EmulatedAgent) -> dict[str, Any]:
    """The `data` of a deployment.created / deployment.updated delivery."""
    return {
        "deployment_id": agent.deployment_id,
        "service_id": agent.id,
        "service_name": agent.name,
        "region": agent.region,
        "build_id": agent.build_id,
    }


def _configuration(agent: EmulatedAgent) -> tuple[Any, ...]:
    """What a deployment is made of: changing any of it rolls out a new one."""
    return (
        agent.image,
        agent.build_id,
        agent.secret_set,
        agent.image_pull_secret_set,
        agent.min_agents,
        agent.max_agents,
        agent.agent_profile,
        agent.krisp_filter,
        agent.max_session_duration,
    )
