"""The Emulator: both vendors' APIs on one real aiohttp server on a loopback port."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from ._clock import Clock, SystemClock
from ._faults import FaultInjector, FaultPlan
from ._lifecycle import Lifecycle, Phase
from ._pipecat_api import PipecatApi, PipecatCredentials
from ._pipeline import NetworkConditions, build_pipeline
from ._recording import RecordedRequest
from ._seeding import SEED_NEWEST_AT, seed_sessions
from ._state import (
    EmulatedAgent,
    EmulatedDeployment,
    EmulatorState,
    Provider,
    SessionRecord,
    VideoSDKSessionRecord,
)
from ._videosdk_api import VideoSDKApi, VideoSDKCredentials, webhook_event_for
from ._webhooks import WebhookDelivery, WebhookDispatcher, WebhookSigner

if TYPE_CHECKING:
    from agentcloud import PipecatCloud, VideoSDK

__all__ = ["DEFAULT_AGENT", "Emulator"]

DEFAULT_AGENT = "my-agent"
DEFAULT_TAG = "v1.0"
# Big enough to answer oversized Pipecat bodies with the vendor's 413, not aiohttp's.
MAX_REQUEST_BYTES = 16 * 1024 * 1024


class Emulator:
    """VideoSDK Agent Cloud and Pipecat Cloud, emulated on http://127.0.0.1:PORT.

    `async with Emulator() as emu:` starts it on a free port. It is seeded with one ready
    Pipecat agent, "my-agent", and one VideoSDK deployment, `emu.videosdk_deployment_id`,
    tagged "v1.0". Credentials are random unless given.

    host, port: where to listen (port 0 picks a free one).
    clock: drives session timers and timestamps; a `ManualClock` makes tests deterministic.
    seed: fixes the ids of new sessions and which ones fail (with `Lifecycle.failure_rate`).
    lifecycle: default session timers (`Lifecycle`); deployments and agents may override.
    latency: real seconds every request waits before it is handled (`emu.latency`).
    faults: a `FaultPlan`, or None (`emu.faults`, changeable while running).
    videosdk_api_key, videosdk_secret, pipecat_api_key, pipecat_public_key: credentials.
    pipecat_max_sessions: active-session cap of the seeded agent (then 429 at capacity).
    webhook_private_key: RSA key that signs webhooks (default: a new 2048-bit key).
    webhook_timeout: seconds one webhook POST may take before it is recorded as failed.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Clock | None = None,
        seed: int | None = None,
        lifecycle: Lifecycle | None = None,
        latency: float = 0.0,
        faults: FaultPlan | None = None,
        videosdk_api_key: str | None = None,
        videosdk_secret: str | None = None,
        pipecat_api_key: str | None = None,
        pipecat_public_key: str | None = None,
        pipecat_max_sessions: int | None = None,
        webhook_private_key: rsa.RSAPrivateKey | None = None,
        webhook_timeout: float = 5.0,
    ) -> None:
        self.host = host
        self._requested_port = port
        self._port: int | None = None
        self.clock: Clock = clock or SystemClock()
        self.videosdk_api_key = videosdk_api_key or secrets.token_hex(16)
        self.videosdk_secret = videosdk_secret or secrets.token_hex(32)
        self.pipecat_api_key = pipecat_api_key or f"sk_{secrets.token_urlsafe(24)}"
        self.pipecat_public_key = pipecat_public_key or f"pk_{secrets.token_urlsafe(24)}"

        self._state = EmulatorState(clock=self.clock, lifecycle=lifecycle or Lifecycle(), seed=seed)
        self._state.add_listener(self._on_transition)
        self._signer = WebhookSigner(webhook_private_key)
        self._dispatcher = WebhookDispatcher(signer=self._signer, timeout=webhook_timeout)
        self._conditions = NetworkConditions()
        self.latency = latency
        self.faults = faults
        self.requests: list[RecordedRequest] = []
        """Every request received, oldest first, credentials redacted."""

        self._videosdk_api = VideoSDKApi(
            state=self._state,
            credentials=VideoSDKCredentials(
                api_key=self.videosdk_api_key, secret=self.videosdk_secret
            ),
            public_key_pem=self._signer.public_key_pem,
        )
        self._pipecat_api = PipecatApi(
            state=self._state,
            credentials=PipecatCredentials(
                private_key=self.pipecat_api_key, public_key=self.pipecat_public_key
            ),
        )
        self.videosdk_deployment_id = self.add_videosdk_deployment(name="emulated-deployment").id
        self.add_pipecat_agent(DEFAULT_AGENT, max_sessions=pipecat_max_sessions)

        self._runner: web.AppRunner | None = None
        self._timer_task: asyncio.Task[None] | None = None
        self._timers_changed = asyncio.Event()
        self._driver_due: float | None = None

    # ---- lifecycle of the server itself

    async def start(self) -> None:
        """Start serving (idempotent)."""
        if self._runner is not None:
            return
        self._conditions.closing = asyncio.Event()
        app = web.Application(
            middlewares=[
                build_pipeline(
                    conditions=self._conditions,
                    clock=self.clock,
                    tick=self._state.tick,
                    log=self.requests,
                    secrets=self._secrets(),
                )
            ],
            client_max_size=MAX_REQUEST_BYTES,
        )
        app.add_routes(self._videosdk_api.routes() + self._pipecat_api.routes())
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self._requested_port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._port = runner.addresses[0][1]
        await self._dispatcher.open()
        self._timer_task = asyncio.get_running_loop().create_task(self._drive_timers())

    async def close(self) -> None:
        """Stop serving: stalled requests are cut, undelivered webhooks dropped (idempotent)."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self._conditions.closing.set()
        if self._timer_task is not None:
            self._timer_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer_task
            self._timer_task = None
        await runner.cleanup()
        await self._dispatcher.close()

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the emulator is not started")
        return self._port

    @property
    def url(self) -> str:
        """Scheme, host and port, e.g. http://127.0.0.1:54321; clients append the paths."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    # ---- clients wired to this emulator

    def videosdk(self, **kwargs: Any) -> VideoSDK:
        from agentcloud import VideoSDK

        return VideoSDK(
            api_key=self.videosdk_api_key,
            secret=self.videosdk_secret,
            base_url=self.url,
            **kwargs,
        )

    def pipecat(self, **kwargs: Any) -> PipecatCloud:
        from agentcloud import PipecatCloud

        kwargs.setdefault("agent", DEFAULT_AGENT)
        return PipecatCloud(
            api_key=self.pipecat_api_key,
            public_key=self.pipecat_public_key,
            base_url=self.url,
            **kwargs,
        )

    def videosdk_token(
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
            "apikey": api_key or self.videosdk_api_key,
            "permissions": ["allow_join", "allow_mod"],
            "version": 2,
            "roles": list(roles),
            "iat": now,
            "exp": now + int(ttl),
        }
        return jwt.encode(payload, secret or self.videosdk_secret, algorithm="HS256")

    # ---- the emulated world

    @property
    def pipecat_organization_id(self) -> str:
        return self._state.organization_id

    @property
    def videosdk_webhook_public_key(self) -> str:
        """PEM public key that verifies `videosdk-signature` (also at /v2/public/rsa-public-key)."""
        return self._signer.public_key_pem

    @property
    def lifecycle(self) -> Lifecycle:
        """Timers of sessions whose deployment or agent sets none; may be replaced any time."""
        return self._state.lifecycle

    @lifecycle.setter
    def lifecycle(self, value: Lifecycle) -> None:
        self._state.lifecycle = value

    def add_videosdk_deployment(
        self,
        *,
        name: str,
        description: str = "",
        tags: Iterable[str] = (DEFAULT_TAG,),
        fail_sessions: bool = False,
        lifecycle: Lifecycle | None = None,
    ) -> EmulatedDeployment:
        """Add a VideoSDK deployment; its attributes may be changed later."""
        return self._state.add_deployment(
            name=name,
            description=description,
            tags=tags,
            fail_sessions=fail_sessions,
            lifecycle=lifecycle,
        )

    def videosdk_deployment(self, deployment_id: str) -> EmulatedDeployment:
        return self._state.deployments[deployment_id]

    def add_pipecat_agent(
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
        return self._state.add_agent(
            name=name,
            ready=ready,
            max_sessions=max_sessions,
            fail_sessions=fail_sessions,
            lifecycle=lifecycle,
            region=region,
        )

    def pipecat_agent(self, name: str) -> EmulatedAgent:
        return self._state.agents[name]

    def seed_sessions(
        self,
        provider: Provider,
        count: int,
        *,
        seed: int = 0,
        agent: str = DEFAULT_AGENT,
        deployment_id: str | None = None,
        tag: str | None = None,
        newest_at: float = SEED_NEWEST_AT,
        spacing: float = 60.0,
        running: int = 0,
    ) -> list[str]:
        """Add `count` past sessions (ids and times fixed by `seed`); returns ids, newest first.

        VideoSDK sessions go to `deployment_id` (default: the seeded deployment), Pipecat
        ones to `agent`. The newest `running` of them are left running until ended.
        """
        return seed_sessions(
            self._state,
            provider,
            count,
            seed=seed,
            agent=self._state.agents[agent] if provider == "pipecat" else None,
            deployment=self._state.deployments[deployment_id or self.videosdk_deployment_id]
            if provider == "videosdk"
            else None,
            tag=tag,
            newest_at=newest_at,
            spacing=spacing,
            running=running,
        )

    def add_phase_listener(self, listener: Callable[[Provider, str, Phase], None]) -> None:
        """Call `listener(provider, session_id, phase)` whenever a session enters a phase."""
        self._state.add_listener(
            lambda session, phase: listener(session.provider, session.id, phase)
        )

    def session_phase(self, provider: Provider, session_id: str) -> Phase:
        """Where a session is in its lifecycle, as of the clock's current time."""
        self._state.tick()
        record: SessionRecord
        if provider == "videosdk":
            record = self._state.videosdk_sessions[session_id]
        else:
            record = self._state.pipecat_sessions[session_id]
        return record.timeline.phase

    # ---- network knobs and logs

    @property
    def faults(self) -> FaultPlan | None:
        """The fault plan in force; assigning one restarts its random stream."""
        injector = self._conditions.injector
        return injector.plan if injector else None

    @faults.setter
    def faults(self, plan: FaultPlan | None) -> None:
        self._conditions.injector = FaultInjector(plan) if plan is not None else None

    @property
    def latency(self) -> float:
        """Real seconds every request waits before it is handled."""
        return self._conditions.latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("latency must be >= 0")
        self._conditions.latency = seconds

    def clear_requests(self) -> None:
        self.requests.clear()

    @property
    def webhook_deliveries(self) -> list[WebhookDelivery]:
        """Every webhook POST attempted, with its outcome, in completion order."""
        return self._dispatcher.deliveries

    async def settle(self) -> None:
        """Apply the transitions due by now and wait until their webhooks are attempted."""
        self._state.tick()
        await self._dispatcher.settle()

    # ---- internals

    def _secrets(self) -> tuple[str, ...]:
        return (
            self.videosdk_api_key,
            self.videosdk_secret,
            self.pipecat_api_key,
            self.pipecat_public_key,
        )

    def _on_transition(self, session: SessionRecord, phase: Phase) -> None:
        due = session.timeline.next_deadline()
        # The timer driver needs waking only for a deadline earlier than the one it sleeps
        # towards; waking it on every transition cost a task pair and a scan per request.
        if due is not None and (self._driver_due is None or due < self._driver_due):
            self._timers_changed.set()
        if not isinstance(session, VideoSDKSessionRecord) or session.webhook is None:
            return
        event = webhook_event_for(phase)
        if event in session.webhook.events:
            self._dispatcher.enqueue(
                session_id=session.id, event=event, url=session.webhook.endpoint
            )

    async def _drive_timers(self) -> None:
        """Apply each transition when it falls due, so webhooks go out without polling."""
        while True:
            self._timers_changed.clear()
            self._state.tick()
            deadline = self._state.next_deadline()
            self._driver_due = deadline
            waiters: list[asyncio.Task[Any]] = [asyncio.ensure_future(self._timers_changed.wait())]
            if deadline is not None:
                waiters.append(asyncio.ensure_future(self.clock.sleep(deadline - self.clock.now())))
            try:
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()
