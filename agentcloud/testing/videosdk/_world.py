"""VideoSDK's emulated world: credentials, deployments, sessions and their webhooks."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
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
from ._webhooks import SIGNATURE_HEADER, WebhookSigner, webhook_body, webhook_event_for

if TYPE_CHECKING:
    from agentcloud import VideoSDK

__all__ = ["VideoSDKWorld"]

RATE_LIMITED = "Rate limit exceeded. Please try again later"


class VideoSDKWorld:
    """VideoSDK Agent Cloud: deployment sessions under /ai/v1, its public key under /v2.

    Options (``Emulator(videosdk_<option>=...)``): ``api_key`` and ``secret``, random
    unless given. Seeded with one deployment, `deployment_id`, tagged "v1.0".
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
    )
    server_error_message: str = "Internal server error"

    def __init__(
        self, context: WorldContext, *, api_key: str | None = None, secret: str | None = None
    ) -> None:
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
        self._signer = WebhookSigner(context.webhook_private_key)
        self._api = VideoSDKApi(self)
        self.book.add_listener(self._send_webhook)

    # ---- the World protocol

    def routes(self) -> list[web.RouteDef]:
        return self._api.routes()

    def seed_world(self) -> None:
        self.deployment_id = self.add_deployment(name="emulated-deployment").id

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
    ) -> list[str]:
        """Past sessions of `deployment_id` (default: the seeded one), tagged `tag`
        (default: the deployment's latest tag)."""
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
        return {"VIDEOSDK_API_KEY": self.api_key, "VIDEOSDK_SECRET_KEY": self.secret}

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
        if not isinstance(session, VideoSDKSessionRecord) or session.webhook is None:
            return
        event = webhook_event_for(phase)
        if event not in session.webhook.events:
            return
        body = webhook_body(event, session.id)
        signature = self._signer.sign(body)
        self._context.webhooks.enqueue(
            session_id=session.id,
            event=event,
            url=session.webhook.endpoint,
            body=body,
            signature=signature,
            headers={"Content-Type": "application/json", SIGNATURE_HEADER: signature},
        )
