"""Session webhooks: typed events, signature checks, and a receiver bots can await.

VideoSDK POSTs ``{"webhookType": EVENT, "data": {"sessionId": ...}}`` to the endpoint a
start subscribed, signed in ``videosdk-signature``: base64 RSA-SHA256 (PKCS#1 v1.5) over the
raw body, verifiable with the key from ``GET /v2/public/rsa-public-key``.

:class:`WebhookReceiver` answers the vendor fast (verification and parsing happen inline,
nothing else does) and queues events for the bot. When the queue is full the *oldest* event
is dropped and counted in ``stats.dropped``: a bot that fell behind wants the newest state of
its sessions, and the vendor must never be made to wait on a slow bot.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import enum
import functools
import json
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import attrs
from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .errors import InvalidRequestError, RequestTimeoutError, WebhookVerificationError
from .models import SessionStatus

__all__ = [
    "SIGNATURE_HEADER",
    "SessionEvent",
    "SessionEventType",
    "WebhookReceiver",
    "WebhookStats",
    "parse",
    "verify_signature",
]

logger = logging.getLogger("agentcloud")

SIGNATURE_HEADER = "videosdk-signature"
#: Webhook bodies are tiny; anything larger is refused before it is read whole.
DEFAULT_MAX_BODY = 64 * 1024


class SessionEventType(enum.Enum):
    """What happened to a session, whatever the vendor's event name."""

    STARTING = "starting"
    STARTED = "started"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"
    UNKNOWN = "unknown"

    @property
    def status(self) -> SessionStatus:
        """The session status this event announces."""
        return _EVENT_STATUS[self]


_EVENT_STATUS = {
    SessionEventType.STARTING: SessionStatus.STARTING,
    SessionEventType.STARTED: SessionStatus.RUNNING,
    SessionEventType.STOPPING: SessionStatus.STOPPING,
    SessionEventType.STOPPED: SessionStatus.ENDED,
    SessionEventType.FAILED: SessionStatus.FAILED,
    SessionEventType.UNKNOWN: SessionStatus.UNKNOWN,
}

_EVENT_PREFIXES = ("ai-deployment-session-", "agent-session-")


def event_type(name: str) -> SessionEventType:
    """``ai-deployment-session-started`` (or ``agent-session-started``) -> STARTED."""
    for prefix in _EVENT_PREFIXES:
        if name.startswith(prefix):
            try:
                return SessionEventType(name[len(prefix) :])
            except ValueError:
                break
    return SessionEventType.UNKNOWN


@attrs.frozen(kw_only=True)
class SessionEvent:
    """One webhook delivery. ``name`` is the vendor's event name, ``raw`` the decoded body."""

    type: SessionEventType
    name: str
    session_id: str | None
    status: SessionStatus
    received_at: datetime
    provider: str
    raw: dict[str, Any] = attrs.field(repr=False, eq=False)


@functools.lru_cache(maxsize=16)
def _load_public_key(pem: bytes) -> rsa.RSAPublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError) as error:
        raise InvalidRequestError("public_key", f"not a PEM public key: {error}") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise InvalidRequestError("public_key", "must be an RSA public key")
    return key


def _pem_bytes(public_key: str | bytes) -> bytes:
    if isinstance(public_key, str):
        return public_key.encode()
    if isinstance(public_key, bytes):
        return public_key
    raise InvalidRequestError("public_key", "must be a PEM string or bytes")


def verify_signature(body: bytes, signature: str | None, public_key: str | bytes) -> None:
    """Raises WebhookVerificationError unless ``signature`` signs ``body`` with the key."""
    key = _load_public_key(_pem_bytes(public_key))
    if not signature:
        raise WebhookVerificationError(f"the {SIGNATURE_HEADER} header is missing")
    try:
        raw_signature = base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise WebhookVerificationError(f"the {SIGNATURE_HEADER} header is not base64") from None
    try:
        key.verify(raw_signature, body, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise WebhookVerificationError("the webhook signature does not match its body") from None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        for key, candidate in headers.items():
            if key.lower() == lowered:
                return candidate
    return value


def parse(
    provider: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    public_key: str | bytes | None = None,
    now: Callable[[], datetime] | None = None,
) -> SessionEvent:
    """Verifies (when ``public_key`` is given) and parses one webhook delivery.

    Raises WebhookVerificationError for a missing or wrong signature, InvalidRequestError
    naming ``body`` for a body that is not a webhook, and for a provider with no webhooks.
    """
    if provider != "videosdk":
        raise InvalidRequestError(
            "provider", f"{provider!r} sends no session webhooks; only 'videosdk' does"
        )
    if not isinstance(body, (bytes, bytearray)):
        raise InvalidRequestError("body", "must be the raw request bytes, as received")
    if public_key is not None:
        verify_signature(bytes(body), _header(headers, SIGNATURE_HEADER), public_key)
    try:
        decoded = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequestError("body", "is not JSON") from None
    except RecursionError:  # '[[[[...': more nesting than the parser takes
        raise InvalidRequestError("body", "is nested too deeply") from None
    if not isinstance(decoded, dict):
        raise InvalidRequestError("body", "must be a JSON object")
    name = decoded.get("webhookType")
    if not isinstance(name, str) or not name:
        raise InvalidRequestError("body", "has no webhookType string")
    data = decoded.get("data")
    if data is not None and not isinstance(data, dict):
        raise InvalidRequestError("body", "its data must be a JSON object")
    session_id = (data or {}).get("sessionId")
    if session_id is not None and not isinstance(session_id, str):
        raise InvalidRequestError("body", "its data.sessionId must be a string")
    kind = event_type(name)
    return SessionEvent(
        type=kind,
        name=name,
        session_id=session_id,
        status=kind.status,
        received_at=now() if now is not None else datetime.now(UTC),
        provider=provider,
        raw=decoded,
    )


@attrs.define
class WebhookStats:
    """What a receiver has seen: accepted events and rejections by reason."""

    accepted: int = 0
    dropped: int = 0
    unsigned: int = 0
    bad_signature: int = 0
    bad_body: int = 0
    too_large: int = 0
    key_unavailable: int = 0

    @property
    def rejected(self) -> int:
        return (
            self.unsigned
            + self.bad_signature
            + self.bad_body
            + self.too_large
            + self.key_unavailable
        )


class WebhookReceiver:
    """Verifies, parses and queues webhook deliveries for ``async for`` and ``next()``.

    Mount ``receiver.handle`` on your own aiohttp app, or serve it standalone with
    ``async with WebhookReceiver.serve(host, port) as receiver`` (``receiver.url`` is the
    URL to hand the vendor). Give ``public_key`` (PEM) or ``key_source`` (an async function
    returning it, e.g. ``client.webhook_public_key``) to verify signatures; with neither,
    deliveries are accepted unverified (for local testing only).
    """

    def __init__(
        self,
        *,
        provider: str = "videosdk",
        public_key: str | bytes | None = None,
        key_source: Callable[[], Awaitable[str | bytes]] | None = None,
        max_queue: int = 1000,
        max_body: int = DEFAULT_MAX_BODY,
    ) -> None:
        if provider != "videosdk":
            raise InvalidRequestError("provider", f"{provider!r} sends no session webhooks")
        if isinstance(max_queue, bool) or not isinstance(max_queue, int) or max_queue < 1:
            raise InvalidRequestError("max_queue", "must be an integer >= 1")
        if public_key is not None:
            _load_public_key(_pem_bytes(public_key))  # fail now, not on the first delivery
        self.provider = provider
        self.stats = WebhookStats()
        self.url: str | None = None
        self._public_key = public_key
        self._key_source = key_source
        self._key_lock = asyncio.Lock()
        self._max_body = max_body
        self._events: deque[SessionEvent] = deque()
        self._max_queue = max_queue
        self._arrival = asyncio.Condition()
        self._watchers: dict[str, list[asyncio.Future[SessionEvent]]] = {}

    def __repr__(self) -> str:
        return f"WebhookReceiver(url={self.url!r}, queued={len(self._events)})"

    async def _key(self) -> str | bytes | None:
        if self._public_key is None and self._key_source is not None:
            async with self._key_lock:
                if self._public_key is None:
                    self._public_key = await self._key_source()
        return self._public_key

    async def handle(self, request: web.Request) -> web.Response:
        """The aiohttp handler: 200 when queued, 400/401/413/503 when refused."""
        if request.content_length is not None and request.content_length > self._max_body:
            self.stats.too_large += 1
            return _refusal(413, "body too large")
        try:
            body = await _read_limited(request, self._max_body)
        except _TooLarge:
            self.stats.too_large += 1
            return _refusal(413, "body too large")
        try:
            key = await self._key()
        except Exception:
            self.stats.key_unavailable += 1
            logger.warning("webhook public key unavailable; delivery refused", exc_info=True)
            return _refusal(503, "verification key unavailable")
        try:
            event = parse(self.provider, body, request.headers, public_key=key)
        except WebhookVerificationError as error:
            if not request.headers.get(SIGNATURE_HEADER, "").strip():
                self.stats.unsigned += 1
            else:
                self.stats.bad_signature += 1
            return _refusal(401, str(error))
        except InvalidRequestError as error:
            self.stats.bad_body += 1
            return _refusal(400, str(error))
        await self.put(event)
        return web.json_response({"ok": True})

    async def put(self, event: SessionEvent) -> None:
        """Queues ``event`` as if it had been delivered (also handy in tests)."""
        if len(self._events) >= self._max_queue:
            self._events.popleft()
            self.stats.dropped += 1
        self._events.append(event)
        self.stats.accepted += 1
        if event.session_id is not None:
            for watcher in self._watchers.pop(event.session_id, []):
                if not watcher.done():
                    watcher.set_result(event)
        async with self._arrival:
            self._arrival.notify_all()

    def watch(self, session_id: str) -> asyncio.Future[SessionEvent]:
        """A future resolved by the next event for ``session_id``; it consumes nothing."""
        future: asyncio.Future[SessionEvent] = asyncio.get_running_loop().create_future()
        pending = [w for w in self._watchers.get(session_id, ()) if not w.done()]
        self._watchers[session_id] = [*pending, future]
        # A waiter that gives up cancels its watcher: forget it then, or a long-running
        # receiver keeps one entry per session ever waited on.
        future.add_done_callback(lambda done: self._forget(session_id, done))
        return future

    def _forget(self, session_id: str, watcher: asyncio.Future[SessionEvent]) -> None:
        watchers = self._watchers.get(session_id)
        if watchers is not None and watcher in watchers:
            watchers.remove(watcher)
            if not watchers:
                del self._watchers[session_id]

    def _take(
        self, session_id: str | None, kind: SessionEventType | str | None
    ) -> SessionEvent | None:
        for event in self._events:
            if session_id is not None and event.session_id != session_id:
                continue
            if kind is not None and event.type is not kind and event.name != kind:
                continue
            self._events.remove(event)
            return event
        return None

    async def next(
        self,
        *,
        session_id: str | None = None,
        type: SessionEventType | str | None = None,
        timeout: float | None = None,
    ) -> SessionEvent:
        """The oldest queued event matching ``session_id`` and ``type`` (a SessionEventType
        or the vendor's event name), waiting for one; other events stay queued."""
        loop = asyncio.get_running_loop()
        give_up = None if timeout is None else loop.time() + timeout
        async with self._arrival:
            while True:
                event = self._take(session_id, type)
                if event is not None:
                    return event
                remaining = None if give_up is None else give_up - loop.time()
                if remaining is not None and remaining <= 0:
                    raise RequestTimeoutError(f"no matching webhook event within {timeout:g}s")
                try:
                    await asyncio.wait_for(self._arrival.wait(), remaining)
                except TimeoutError:
                    continue

    def __aiter__(self) -> AsyncIterator[SessionEvent]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[SessionEvent]:
        while True:
            yield await self.next()

    def app(self, path: str = "/webhooks") -> web.Application:
        """An aiohttp application serving this receiver at ``path``."""
        app = web.Application(client_max_size=self._max_body)
        app.router.add_post(path, self.handle)
        return app

    @classmethod
    def serve(
        cls, host: str = "127.0.0.1", port: int = 0, *, path: str = "/webhooks", **kwargs: Any
    ) -> _Serving:
        """``async with WebhookReceiver.serve(host, port) as receiver`` serves it standalone
        (port 0 picks a free port); ``receiver.url`` is the full URL."""
        return _Serving(cls(**kwargs), host, port, path)


class _Serving:
    def __init__(self, receiver: WebhookReceiver, host: str, port: int, path: str) -> None:
        self._receiver = receiver
        self._host = host
        self._port = port
        self._path = path
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> WebhookReceiver:
        runner = web.AppRunner(self._receiver.app(self._path), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port)
        await site.start()
        self._runner = runner
        server = site._server
        sockets = getattr(server, "sockets", None) or ()
        port = sockets[0].getsockname()[1] if sockets else self._port
        host = f"[{self._host}]" if ":" in self._host else self._host
        self._receiver.url = f"http://{host}:{port}{self._path}"
        return self._receiver

    async def __aexit__(self, *exc_info: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


class _TooLarge(Exception):
    pass


async def _read_limited(request: web.Request, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(16 * 1024):
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _refusal(status: int, reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=status)
