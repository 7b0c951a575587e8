"""VideoSDK's emulated world: credentials, deployments, sessions and their webhooks, and
the agent runtime (agents, deployments, versions, rooms, dispatched sessions, logs)."""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import jwt
from aiohttp import web

from .._json import json_response
from .._lifecycle import Lifecycle, Phase
from .._seeding import SeededSession, SeedPlan, seed_into
from .._state import SessionRecord, newest_first
from .._world import Refusal, WorldContext
from ._api import VideoSDKApi
from ._records import DEFAULT_TAG, EmulatedDeployment, VideoSDKSessionRecord, WebhookSubscription
from ._runtime import AgentRuntime
from ._runtime_api import RuntimeApi
from ._runtime_records import (
    ConsoleLog,
    EmulatedAgent,
    EmulatedRoom,
    RuntimeSessionRecord,
)
from ._runtime_views import PagingEnvelope
from ._webhooks import (
    SIGNATURE_HEADER,
    WebhookSigner,
    runtime_event_for,
    webhook_body,
    webhook_event_for,
)

if TYPE_CHECKING:
    from agentcloud import VideoSDK

__all__ = ["VideoSDKWorld"]

RATE_LIMITED = "Rate limit exceeded. Please try again later"
_PAGING_ENVELOPES = ("pageInfo", "pagination")


class VideoSDKWorld:
    """VideoSDK Agent Cloud: deployment sessions under /ai/v1, its public key under /v2.

    Options (``Emulator(videosdk_<option>=...)``): ``api_key`` and ``secret``, random
    unless given; ``runtime_paging``, the paging metadata of the ``/ai/v1/cloud`` listings
    (None, the default: none, as documented; ``"pageInfo"`` or ``"pagination"``: that
    envelope, as VideoSDK's Node SDK reads them). Seeded with one deployment,
    `deployment_id`, tagged "v1.0", and for the agent runtime one agent, `agent_id`, with
    ten workers and a deployment, `runtime_deployment_id`, running version
    `runtime_version_id`.
    """

    name: str = "videosdk"
    path_prefixes: tuple[str, ...] = ("/ai/", "/v2/")
    attributes: tuple[str, ...] = (
        "api_key",
        "secret",
        "deployment_id",
        "webhook_public_key",
        "token",
        "deployment",
        "add_deployment",
        "agent_id",
        "runtime_deployment_id",
        "runtime_version_id",
        "agent",
        "add_agent",
        "room",
        "add_room",
        "runtime_session",
        "runtime_logs",
        "add_log",
    )
    server_error_message: str = "Internal server error"

    def __init__(
        self,
        context: WorldContext,
        *,
        api_key: str | None = None,
        secret: str | None = None,
        runtime_paging: PagingEnvelope = None,
    ) -> None:
        if runtime_paging is not None and runtime_paging not in _PAGING_ENVELOPES:
            raise ValueError(f"runtime_paging must be None or one of {_PAGING_ENVELOPES}")
        self.runtime_paging: PagingEnvelope = runtime_paging
        """The paging metadata the ``/ai/v1/cloud`` listings answer with (changeable)."""
        self.book = context.sessions
        self._context = context
        self.api_key = api_key or secrets.token_hex(16)
        """The API key that server tokens name (``apikey`` claim)."""
        self.secret = secret or secrets.token_hex(32)
        """The secret that signs server tokens (HS256)."""
        self.deployments: dict[str, EmulatedDeployment] = {}
        self.sessions: dict[str, VideoSDKSessionRecord] = {}
        self.deployment_id = ""
        """The seeded deployment's id."""
        self.runtime = AgentRuntime(self.book)
        """The agent runtime's records."""
        self.agent_id = ""
        """The seeded runtime agent's id."""
        self.runtime_deployment_id = ""
        """The seeded runtime agent's deployment."""
        self.runtime_version_id = ""
        """The version that deployment runs."""
        self._signer = WebhookSigner(context.webhook_private_key)
        self._api = VideoSDKApi(self)
        self._runtime_api = RuntimeApi(self)
        self.book.add_listener(self._send_webhook)

    def base_url(self) -> str:
        """The emulator's URL, once it is started."""
        return self._context.base_url()

    # ---- the World protocol

    def routes(self) -> list[web.RouteDef]:
        return [*self._api.routes(), *self._runtime_api.routes()]

    def seed_world(self) -> None:
        self.deployment_id = self.add_deployment(name="emulated-deployment").id
        agent = self.runtime.add_agent(name="emulated-agent")
        self.agent_id = agent.id
        [deployment] = self.runtime.deployments_of(agent.id)
        self.runtime_deployment_id = deployment.id
        version = self.runtime.active_version(deployment.id)
        assert version is not None
        self.runtime_version_id = version.id

    def error_response(self, refusal: Refusal) -> web.Response:
        body: dict[str, Any] = {"message": refusal.message, **refusal.extra}
        if refusal.code is not None:
            body["code"] = refusal.code
        return json_response(body, status=refusal.status, headers=refusal.headers)

    def rate_limited_response(self, retry_after: int | None) -> web.Response:
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        return self.error_response(Refusal(429, RATE_LIMITED, headers=headers))

    def secrets(self) -> tuple[str, ...]:
        return (self.api_key, self.secret)

    def seed_sessions(
        self,
        plan: SeedPlan,
        *,
        deployment_id: str | None = None,
        tag: str | None = None,
        runtime: bool = False,
    ) -> list[str]:
        """Past sessions of `deployment_id` (default: the seeded one), tagged `tag`
        (default: the deployment's latest tag). With `runtime`, past agent runtime sessions
        of `deployment_id` (default: the seeded runtime deployment), each in a room of its
        own."""
        if runtime:
            agent_deployment = self.runtime.deployments[deployment_id or self.runtime_deployment_id]
            return self.runtime.seed(plan, agent_deployment)
        deployment = self.deployments[deployment_id or self.deployment_id]

        def build(drawn: SeededSession) -> VideoSDKSessionRecord:
            return VideoSDKSessionRecord(
                id=drawn.id,
                deployment_id=deployment.id,
                tag=tag or deployment.latest_tag or DEFAULT_TAG,
                env={},
                metadata={},
                webhook=None,
                timeline=drawn.timeline,
                sequence=self.book.next_sequence(),
            )

        return seed_into(self.sessions, self.book, plan, build, provider=self.name)

    def client(self, **kwargs: Any) -> VideoSDK:
        from agentcloud import VideoSDK

        return VideoSDK(
            api_key=self.api_key, secret=self.secret, base_url=self._context.base_url(), **kwargs
        )

    def environment(self) -> dict[str, str]:
        variables = {
            "VIDEOSDK_API_KEY": self.api_key,
            "VIDEOSDK_SECRET_KEY": self.secret,
            # The names VideoSDK's Node server SDK reads, so it runs against the emulator.
            "VIDEOSDK_SECRET": self.secret,
            "VIDEOSDK_AGENT_ID": self.agent_id,
            "VIDEOSDK_RUNTIME_DEPLOYMENT_ID": self.runtime_deployment_id,
        }
        with contextlib.suppress(RuntimeError):  # not started: no URL yet
            variables["VIDEOSDK_API_ENDPOINT"] = self.base_url()
        return variables

    # ---- served as emu.videosdk_<name>

    @property
    def webhook_public_key(self) -> str:
        """PEM public key that verifies `videosdk-signature` (also at /v2/public/rsa-public-key)."""
        return self._signer.public_key_pem

    def token(
        self,
        *,
        ttl: float = 3600.0,
        roles: Iterable[str] = ("crawler",),
        api_key: str | None = None,
        secret: str | None = None,
    ) -> str:
        """A VideoSDK server token for raw HTTP calls, shaped like VideoSDK's own SDK mints."""
        now = int(time.time())
        payload = {
            "apikey": api_key or self.api_key,
            "permissions": ["allow_join", "allow_mod"],
            "version": 2,
            "roles": list(roles),
            "iat": now,
            "exp": now + int(ttl),
        }
        return jwt.encode(payload, secret or self.secret, algorithm="HS256")

    def deployment(self, deployment_id: str) -> EmulatedDeployment:
        """The deployment with that id (KeyError if none); its attributes may be changed."""
        return self.deployments[deployment_id]

    def add_deployment(
        self,
        *,
        name: str,
        description: str = "",
        tags: Iterable[str] = (DEFAULT_TAG,),
        fail_sessions: bool = False,
        lifecycle: Lifecycle | None = None,
    ) -> EmulatedDeployment:
        """Add a VideoSDK deployment; its attributes may be changed later."""
        now = self.book.clock.now()
        deployment = EmulatedDeployment(
            id=self.book.new_id(),
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

    def agent(self, agent_id: str) -> EmulatedAgent:
        """The runtime agent with that id (KeyError if none): change its `workers`,
        `registered`, `lifecycle` or `fail_sessions` at any time."""
        return self.runtime.agents[agent_id]

    @property
    def add_agent(self) -> Callable[..., EmulatedAgent]:
        """`runtime.add_agent`: add a runtime agent with `workers` workers; `deployed` (the
        default) gives it a deployment and an active version, else it is a self-hosted
        agent whose sessions no deployment lists."""
        return self.runtime.add_agent

    def room(self, room_id: str) -> EmulatedRoom:
        """The room with that id or custom id (KeyError if none)."""
        room = self.runtime.room(room_id)
        if room is None:
            raise KeyError(room_id)
        return room

    @property
    def add_room(self) -> Callable[..., EmulatedRoom]:
        """`runtime.add_room`: add a room (the room already holding `custom_room_id`, if
        one does)."""
        return self.runtime.add_room

    def runtime_session(self, session_id: str) -> RuntimeSessionRecord:
        """The runtime session with that id (KeyError if none), its timeline brought up to
        the clock."""
        self.book.tick()
        return self.runtime.sessions[session_id]

    def runtime_logs(self, deployment_id: str | None = None) -> list[ConsoleLog]:
        """Every console log line of `deployment_id` (default: the seeded one), oldest first."""
        wanted = deployment_id or self.runtime_deployment_id
        return [log for log in self.runtime.logs if log.deployment_id == wanted]

    def add_log(
        self,
        message: str,
        *,
        deployment_id: str | None = None,
        level: str = "info",
        at: float | None = None,
        session_id: str | None = None,
        user_id: str | None = None,
    ) -> ConsoleLog:
        """Add a console log line to `deployment_id` (default: the seeded runtime one), at
        `at` (default: now), of the runtime session `session_id` when given."""
        session = None if session_id is None else self.runtime.sessions[session_id]
        return self.runtime.add_log(
            deployment_id=deployment_id or self.runtime_deployment_id,
            message=message,
            level=level,
            at=at,
            session=session,
            user_id=user_id,
        )

    # ---- what the API does

    def start_session(
        self,
        *,
        deployment: EmulatedDeployment,
        tag: str,
        env: dict[str, Any],
        metadata: dict[str, Any],
        webhook: WebhookSubscription | None,
    ) -> VideoSDKSessionRecord:
        session = VideoSDKSessionRecord(
            id=self.book.new_id(),
            deployment_id=deployment.id,
            tag=tag,
            env=env,
            metadata=metadata,
            webhook=webhook,
            timeline=self.book.new_timeline(
                deployment.lifecycle, always_fail=deployment.fail_sessions
            ),
            sequence=self.book.next_sequence(),
        )
        self.sessions[session.id] = session
        self.book.begin(session)
        return session

    def session_listing(self) -> list[VideoSDKSessionRecord]:
        """Every session, newest first (shared: callers must not mutate it)."""
        return self.book.cached_listing(
            self.name,
            len(self.sessions),
            lambda: sorted(self.sessions.values(), key=newest_first),
        )

    def deployment_listing(self) -> list[EmulatedDeployment]:
        """Every deployment, newest first (later additions first on equal times)."""
        indexed = list(enumerate(self.deployments.values()))
        indexed.sort(key=lambda pair: (-pair[1].created_at, -pair[0]))
        return [deployment for _, deployment in indexed]

    def _send_webhook(self, session: SessionRecord, phase: Phase) -> None:
        if isinstance(session, VideoSDKSessionRecord):
            hook, event = session.webhook, webhook_event_for(phase)
            room = None
        elif isinstance(session, RuntimeSessionRecord):
            hook, event = self.runtime.webhook_of(session), runtime_event_for(phase)
            room = session.room_id
        else:
            return
        if hook is None or event not in hook.events:
            return
        body = webhook_body(event, session.id, room)
        signature = self._signer.sign(body)
        self._context.webhooks.enqueue(
            session_id=session.id,
            event=event,
            url=hook.endpoint,
            body=body,
            signature=signature,
            headers={"Content-Type": "application/json", SIGNATURE_HEADER: signature},
        )
