"""VideoSDK Agent Cloud: deployment sessions, deployments, credentials and webhooks.

Wire facts (see the vendor pages): the JWT goes in ``Authorization`` with no prefix; start
and end answer ``{message, data}``, get answers the session bare, lists answer
``{data, pageInfo}`` with no last-page field; the webhook is sent as ``endPoint`` and listed
back as ``endpoint``, ``metaData`` is sent and ``metadata`` returned (only the listing
carries it), and the deployment list says ``created_at`` where the other calls say
``createdAt``.

Start is not idempotent at VideoSDK, so every start carries a marker in its metadata
(``agentcloud_request_id``; ``reconcile=False`` sends none). After an ambiguous failure (5xx,
reset or timeout after the request went out) the core's start loop asks this module's
reconciler, which walks the session listing newest first until it reaches sessions created
before the attempt was sent (minus a clock-skew allowance): the marker found, that session
is returned; not found in a window that provably reaches back far enough, the start had no
effect and is tried again; otherwise the outcome is unknown.

Webhooks are POSTed as ``{"webhookType": EVENT, "data": {"sessionId": ...}}`` signed in
``videosdk-signature``: base64 RSA-SHA256 (PKCS#1 v1.5) over the raw body, verifiable with
the key from ``GET /v2/public/rsa-public-key``. VideoSDK sends no delivery id, so replays
are recognised by the body's hash.
"""

from __future__ import annotations

import base64
import binascii
import functools
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

import attrs
import jwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ..._checks import check_json_object, check_string_map, check_text, path_segment
from ..._convert import WireStructurer, expect_object, make_converter, set_derived
from ..._resource import Listing, Resource, SessionsResource
from ..._sessions import Inconclusive, SessionStart, StartPlan
from ..._transport import (
    ErrorFields,
    Reply,
    RetryMode,
    default_error_fields,
)
from ...errors import (
    AgentAtCapacityError,
    InvalidRequestError,
    NotFoundError,
    WebhookVerificationError,
)
from ...models import Model, Session, SessionEvent, SessionEventType, SessionStatus
from ...pagination import MAX_PER_PAGE, PageNumbers, Pager
from ...webhooks import KeyMaterial, json_body

if TYPE_CHECKING:
    from ._client import VideoSDK

__all__ = [
    "DEFAULT_BASE_URL",
    "SIGNATURE_HEADER",
    "START_MARKER",
    "WEBHOOK_EVENTS",
    "WEBHOOK_FORMAT",
    "Deployment",
    "Deployments",
    "TokenMinter",
    "VideoSDKSession",
    "VideoSDKSessions",
    "Webhook",
    "session_status",
    "verify_signature",
]

DEFAULT_BASE_URL = "https://api.videosdk.live"
"""Where VideoSDK's API lives, unless a client is given ``base_url=``."""
START_MARKER = "agentcloud_request_id"
"""The metadata key that lets a start be found again after an ambiguous failure."""
SIGNATURE_HEADER = "videosdk-signature"
"""The header carrying a webhook's base64 RSA-SHA256 signature of its raw body."""

_SESSIONS = "/ai/v1/ai-deployment-sessions"
_DEPLOYMENTS = "/ai/v1/ai-deployments"
_RSA_PUBLIC_KEY = "/v2/public/rsa-public-key"
#: How far before an ambiguous attempt the reconciler's walk must reach: VideoSDK's clock
#: may run behind ours, so a session it stamped earlier than our send may still be ours.
_RECONCILE_SKEW = timedelta(minutes=5)
#: The most sessions one reconciliation walks before it gives up as inconclusive.
_RECONCILE_MAX_SCAN = 20_000
#: Seconds a minted token's ``iat`` is set back, so a local clock somewhat ahead of
#: VideoSDK's still makes tokens VideoSDK accepts.
_CLOCK_SKEW = 60

WEBHOOK_EVENTS: tuple[str, ...] = (
    "ai-deployment-session-starting",
    "ai-deployment-session-started",
    "ai-deployment-session-stopping",
    "ai-deployment-session-stopped",
    "ai-deployment-session-failed",
)
"""The webhook events a VideoSDK session start may subscribe to."""
_EVENT_PREFIXES = ("ai-deployment-session-", "agent-session-")

_STATUSES: dict[str, SessionStatus] = {
    "queued": SessionStatus.QUEUED,
    "pending": SessionStatus.QUEUED,
    "starting": SessionStatus.STARTING,
    "running": SessionStatus.RUNNING,
    "started": SessionStatus.RUNNING,
    "active": SessionStatus.RUNNING,
    "stopping": SessionStatus.STOPPING,
    "stopped": SessionStatus.ENDED,
    "completed": SessionStatus.ENDED,
    "ended": SessionStatus.ENDED,
    "failed": SessionStatus.FAILED,
    "error": SessionStatus.FAILED,
    # A dispatch's answer: a worker took the job and the agent is on its way.
    "assigned": SessionStatus.QUEUED,
    # A room session's, as the Node SDK names them.
    "ongoing": SessionStatus.RUNNING,
}


def session_status(raw_status: Any) -> SessionStatus:
    """VideoSDK's status string to SessionStatus; unknown strings give UNKNOWN.

    ``queued`` and ``pending`` are QUEUED; ``starting`` is STARTING; ``running``,
    ``started`` and ``active`` are RUNNING; ``stopping`` is STOPPING; ``stopped``,
    ``completed`` and ``ended`` are ENDED; ``failed`` and ``error`` are FAILED (any case).
    """
    if not isinstance(raw_status, str):
        return SessionStatus.UNKNOWN
    found = _STATUSES.get(raw_status)  # the usual case: already in lower case
    return found if found is not None else _STATUSES.get(raw_status.lower(), SessionStatus.UNKNOWN)


# ---- models ------------------------------------------------------------------------------


def _events(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(value)


@attrs.frozen
class Webhook(Model):
    """Where VideoSDK POSTs a session's events, and which events.

    ``events`` defaults to every session event (``WEBHOOK_EVENTS``); on the agent runtime
    (``runtime.versions``) that default means every runtime event instead
    (``RUNTIME_WEBHOOK_EVENTS``).
    """

    endpoint: str
    events: tuple[str, ...] = attrs.field(default=WEBHOOK_EVENTS, converter=_events)


@attrs.frozen(kw_only=True)
class VideoSDKSession(Session):
    """A VideoSDK Agent Cloud deployment session."""

    provider: str = "videosdk"
    tag: str | None = None
    webhook: Webhook | None = None


@attrs.frozen(kw_only=True)
class Deployment(Model):
    """A VideoSDK AI deployment (hashable by id and tag)."""

    _identity: ClassVar[tuple[str, ...]] = ("id", "tag")

    id: str
    name: str | None = None
    tag: str | None = None
    description: str | None = None
    status: str | None = None
    created_at: datetime | None = None
    raw: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


def _derive_status(wire: dict[str, Any]) -> Mapping[str, Any]:
    raw_status = wire.get("status")
    if raw_status.__class__ is str:
        return _derived_for(raw_status)
    return {
        "status": session_status(raw_status),
        "raw_status": raw_status if isinstance(raw_status, str) else None,
    }


@functools.lru_cache(maxsize=64)  # a vendor inventing words only churns it
def _derived_for(raw_status: str) -> Mapping[str, Any]:
    """The derived fields of a status word, shared by every session that says it (a
    listing says the same few words on every item). A plain dict, as its reads are a
    listing's hot path; the structurer only reads it, never hands it out."""
    return {"status": session_status(raw_status), "raw_status": raw_status}


_converter = make_converter()
WireStructurer(Webhook, converter=_converter, fallbacks={"endpoint": ("endPoint",)}, register=True)
_session_from_wire = WireStructurer(
    VideoSDKSession,
    converter=_converter,
    renames={"id": "sessionId", "started_at": "start", "ended_at": "end"},
    fallbacks={"metadata": ("metaData",)},
    derived=("status", "raw_status", "provider"),
    derive=_derive_status,
)
_deployment_from_wire = WireStructurer(
    Deployment, converter=_converter, fallbacks={"createdAt": ("created_at",)}
)


def _envelope_session(data: Any, operation: str) -> VideoSDKSession:
    return _session_from_wire(expect_object(data, operation).get("data"))


_NO_CAPACITY = frozenset({"no workers available", "no workers registered"})
_NOT_DEPLOYED = frozenset({"agent not deployed"})


def _error_fields(status: int, body: Any) -> ErrorFields:
    """VideoSDK's error bodies, mapped by status as its Node SDK maps them; the dispatch
    refusals VideoSDK documents are recognised by their message, whatever the status."""
    fields = default_error_fields(status, body)
    said = " ".join(fields.message.lower().split()).rstrip(".!")
    if said in _NO_CAPACITY:
        return attrs.evolve(fields, error_class=AgentAtCapacityError)
    if said in _NOT_DEPLOYED or status == 402:  # 402: VideoSDK's "not found" for some
        return attrs.evolve(fields, error_class=NotFoundError)
    return fields


# ---- credentials -------------------------------------------------------------------------


class TokenMinter:
    """Mints VideoSDK server tokens (HS256 JWT with the ``crawler`` role) and caches each
    until ``refresh_margin`` seconds before it expires, as VideoSDK's server SDK does.

    ``iat`` is set a minute back (and ``exp`` with it, so a token lives exactly ``ttl``), so
    a local clock that runs somewhat ahead of VideoSDK's still yields tokens VideoSDK takes
    as issued.
    """

    def __init__(
        self,
        api_key: str,
        secret: str,
        *,
        ttl: float = 24 * 3600,
        refresh_margin: float = 60.0,
        now: Callable[[], float] = time.time,
    ) -> None:
        if not ttl > refresh_margin:
            raise InvalidRequestError("token_ttl", "must be longer than the refresh margin")
        self._api_key = api_key
        self._secret = secret
        self._ttl = ttl
        self._margin = refresh_margin
        self._now = now
        self._token: str | None = None
        self._expires = 0.0

    def __repr__(self) -> str:
        return "TokenMinter(api_key=[redacted], secret=[redacted])"

    def claims(self, issued_at: int) -> dict[str, Any]:
        """The JWT claims of a token issued at ``issued_at`` (unix seconds): the API key, the
        ``crawler`` role, and ``iat``/``exp`` set back by the clock-skew allowance.
        """
        return {
            "apikey": self._api_key,
            "permissions": ["allow_join", "allow_mod"],
            "version": 2,
            "roles": ["crawler"],
            "iat": issued_at - _CLOCK_SKEW,
            "exp": issued_at - _CLOCK_SKEW + int(self._ttl),
        }

    def __call__(self) -> str:
        now = self._now()
        if self._token is None or now >= self._expires - self._margin:
            issued_at = int(now)
            claims = self.claims(issued_at)
            self._token = jwt.encode(claims, self._secret, algorithm="HS256")
            self._expires = float(claims["exp"])
        return self._token


# ---- argument checks ---------------------------------------------------------------------


def _check_webhook(
    webhook: Webhook | str | None, known: tuple[str, ...] = WEBHOOK_EVENTS
) -> dict[str, Any] | None:
    """The wire form of ``webhook``; a URL subscribes every one of the ``known`` events."""
    if webhook is None:
        return None
    if isinstance(webhook, str):
        webhook = Webhook(webhook, events=known)
    if not isinstance(webhook, Webhook):
        raise InvalidRequestError("webhook", "must be an agentcloud.Webhook or a URL string")
    endpoint = check_text("webhook.endpoint", webhook.endpoint, max_length=2048)
    if not endpoint.startswith(("https://", "http://")):
        raise InvalidRequestError("webhook.endpoint", "must be an http(s) URL")
    events = webhook.events
    if events == WEBHOOK_EVENTS and known != WEBHOOK_EVENTS:
        # Webhook(url) with its default, "every event", where other events are known.
        events = known
    if not events:
        raise InvalidRequestError("webhook.events", "must name at least one event")
    for event in events:
        if event not in known:
            raise InvalidRequestError(
                "webhook.events", f"unknown event {event!r}; known: {', '.join(known)}"
            )
    return {"endPoint": endpoint, "events": list(events)}


# ---- resources ---------------------------------------------------------------------------

_SESSION_LISTING = Listing(
    operation="sessions.list",
    path=_SESSIONS,
    style=PageNumbers(items="data", total=("pageInfo.totalItems",)),
    structure=_session_from_wire,
)
_DEPLOYMENT_LISTING = Listing(
    operation="deployments.list",
    path=_DEPLOYMENTS,
    style=PageNumbers(items="data", total=("pageInfo.totalItems",)),
    structure=_deployment_from_wire,
    key=lambda deployment: (deployment.id, deployment.tag),
)


class _MarkerLookup:
    """The reconciler: finds a start by its marker in the session listing."""

    def __init__(self, sessions: VideoSDKSessions) -> None:
        self._sessions = sessions

    async def find(self, marker: str, *, since: datetime) -> VideoSDKSession | None:
        horizon = since - _RECONCILE_SKEW
        scanned = 0
        newest_so_far: datetime | None = None
        async for page in self._sessions.list(per_page=MAX_PER_PAGE).pages():
            before = 0
            for session in page.items:
                if session.metadata and session.metadata.get(START_MARKER) == marker:
                    return session
                created = session.created_at
                if created is None:
                    continue
                # "Older than the attempt from here on" holds only for a listing newest
                # first: one that is not proves nothing about what comes after.
                if newest_so_far is not None and created > newest_so_far:
                    raise Inconclusive("the session listing is not ordered newest first")
                newest_so_far = created
                if created < horizon:
                    before += 1
            scanned += len(page.items)
            if page.items and before == len(page.items):
                return None  # a whole page from before the attempt: the walk reached back
            if scanned >= _RECONCILE_MAX_SCAN:
                raise Inconclusive(
                    f"{scanned} sessions were looked through without reaching ones created "
                    f"before the attempt"
                )
        return None  # the whole listing was seen


class VideoSDKSessions(SessionsResource[VideoSDKSession]):
    """``client.sessions``: start, get, end, list and wait for deployment sessions."""

    def __init__(self, client: VideoSDK) -> None:
        super().__init__(client)
        self._reconciler = _MarkerLookup(self)

    def start(
        self,
        *,
        deployment_id: str,
        tag: str,
        env: Mapping[str, str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        webhook: Webhook | str | None = None,
        reconcile: bool = True,
        timeout: float | None = None,
    ) -> SessionStart[VideoSDKSession]:
        """Starts a session of ``deployment_id`` at ``tag``. Await the result for the
        session, or use it with ``async with`` to have the session ended on exit.

        Sent at most once. With ``reconcile`` (the default) the start carries the
        ``agentcloud_request_id`` metadata marker, so an ambiguous failure is looked up
        instead of guessed; ``reconcile=False`` sends none (an ambiguous failure is then
        StartOutcomeUnknownError). ``timeout`` bounds the whole start, reconciliation
        included.
        """
        body: dict[str, Any] = {
            "deploymentId": check_text("deployment_id", deployment_id),
            "tag": check_text("tag", tag),
        }
        checked_env = None if env is None else check_string_map("env", env)
        if checked_env is not None:
            body["env"] = checked_env
        meta = check_json_object("metadata", metadata) if metadata is not None else {}
        if START_MARKER in meta:
            raise InvalidRequestError("metadata", f"the key {START_MARKER!r} is reserved")
        if not isinstance(reconcile, bool):
            raise InvalidRequestError("reconcile", "must be True or False")
        marker = uuid.uuid4().hex if reconcile else None
        sent_metadata = {**meta, START_MARKER: marker} if marker else meta
        if sent_metadata or metadata is not None:
            body["metaData"] = sent_metadata
        hook = _check_webhook(webhook)
        if hook is not None:
            body["webhook"] = hook
        sent_webhook = None if hook is None else Webhook(hook["endPoint"], events=hook["events"])

        def structure(reply: Reply) -> VideoSDKSession:
            session = _envelope_session(reply.data, "sessions.start")
            # The start answer leaves metadata and webhook out; the session has them.
            return set_derived(
                session,
                metadata=session.metadata if session.metadata is not None else sent_metadata,
                webhook=session.webhook or sent_webhook,
            )

        plan = StartPlan(
            call=self._client._call(
                "sessions.start",
                "POST",
                f"{_SESSIONS}/start",
                json=body,
                mode=RetryMode.AT_MOST_ONCE,
            ),
            structure=structure,
            describe="sessions.start",
            hint=(
                f"Look for metadata {START_MARKER}={marker} before starting again."
                if marker
                else "Check sessions.list() before starting again."
            ),
            reconciler=self._reconciler if marker else None,
            marker=marker,
        )
        return self._start(plan, timeout=timeout)

    async def get(self, session_id: str, *, timeout: float | None = None) -> VideoSDKSession:
        """The session's current details (VideoSDK's answer carries no metadata: None)."""
        path = f"{_SESSIONS}/{path_segment('session_id', session_id)}"
        return await self._get("sessions.get", path, _session_from_wire, timeout=timeout)

    async def end(self, session_id: str, *, timeout: float | None = None) -> VideoSDKSession:
        """Ends the session; returns it as VideoSDK reports it (status, end, duration)."""
        path_segment("session_id", session_id)
        session = await self._post(
            "sessions.end",
            f"{_SESSIONS}/end",
            lambda data: _envelope_session(data, "sessions.end"),
            json={"sessionId": session_id},
            timeout=timeout,
        )
        self._client._held.discard(session_id)
        return session

    def list(
        self,
        *,
        per_page: int = MAX_PER_PAGE,
        max_items: int | None = None,
        concurrency: int = 1,
        timeout: float | None = None,
    ) -> Pager[VideoSDKSession]:
        """Every session, newest first, walked page by page as it is iterated.
        ``timeout`` bounds each page's request."""
        return self._list(
            _SESSION_LISTING,
            per_page=per_page,
            max_items=max_items,
            concurrency=concurrency,
            timeout=timeout,
        )


class Deployments(Resource):
    """``client.deployments``: create, get and list AI deployments."""

    async def create(
        self, *, name: str, description: str | None = None, timeout: float | None = None
    ) -> Deployment:
        """Creates a deployment. Not retried after an ambiguous failure."""
        body: dict[str, Any] = {"name": check_text("name", name)}
        if description is not None:
            body["description"] = check_text("description", description, max_length=10_000)
        return await self._post(
            "deployments.create",
            _DEPLOYMENTS,
            _deployment_from_wire,
            json=body,
            mode=RetryMode.AT_MOST_ONCE,
            timeout=timeout,
        )

    async def get(
        self, deployment_id: str, tag: str, *, timeout: float | None = None
    ) -> Deployment:
        """The deployment ``deployment_id`` at ``tag``."""
        path = (
            f"{_DEPLOYMENTS}/{path_segment('deployment_id', deployment_id)}"
            f"/{path_segment('tag', tag)}"
        )
        return await self._get("deployments.get", path, _deployment_from_wire, timeout=timeout)

    def list(
        self,
        *,
        per_page: int = MAX_PER_PAGE,
        max_items: int | None = None,
        concurrency: int = 1,
        timeout: float | None = None,
    ) -> Pager[Deployment]:
        """Every deployment, walked page by page as it is iterated."""
        return self._list(
            _DEPLOYMENT_LISTING,
            per_page=per_page,
            max_items=max_items,
            concurrency=concurrency,
            timeout=timeout,
        )


# ---- webhooks ----------------------------------------------------------------------------


@functools.lru_cache(maxsize=16)
def _load_public_key(pem: bytes) -> rsa.RSAPublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError) as error:
        raise InvalidRequestError("public_key", f"not a PEM public key: {error}") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise InvalidRequestError("public_key", "must be an RSA public key")
    return key


def _pem_key(public_key: object) -> rsa.RSAPublicKey:
    if isinstance(public_key, str):
        return _load_public_key(public_key.encode())
    if isinstance(public_key, bytes):
        return _load_public_key(public_key)
    raise InvalidRequestError("public_key", "must be a PEM string or bytes")


def _verify_with(body: bytes, signature: str | None, key: rsa.RSAPublicKey) -> None:
    if not signature or not signature.strip():
        raise WebhookVerificationError(f"the {SIGNATURE_HEADER} header is missing")
    try:
        raw_signature = base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise WebhookVerificationError(f"the {SIGNATURE_HEADER} header is not base64") from None
    try:
        key.verify(raw_signature, body, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise WebhookVerificationError("the webhook signature does not match its body") from None


def verify_signature(body: bytes, signature: str | None, public_key: str | bytes) -> None:
    """Raises WebhookVerificationError unless ``signature`` (the ``videosdk-signature``
    header) signs ``body`` with the PEM ``public_key``."""
    _verify_with(body, signature, _pem_key(public_key))


def event_type(name: str) -> SessionEventType:
    """``ai-deployment-session-started`` (or ``agent-session-started``) -> STARTED."""
    for prefix in _EVENT_PREFIXES:
        if name.startswith(prefix):
            try:
                return SessionEventType(name[len(prefix) :])
            except ValueError:
                break
    return SessionEventType.UNKNOWN


def _optional_text(data: Mapping[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = data.get(key)
        if value is not None:
            if not isinstance(value, str):
                raise InvalidRequestError("body", f"its data.{key} must be a string")
            return value
    return None


class _Webhooks:
    """VideoSDK's webhook format: RSA signatures in ``videosdk-signature``."""

    provider = "videosdk"
    key_arguments = ("public_key", "key_source")

    def keys(self, material: Mapping[str, Any]) -> KeyMaterial | None:
        public_key = material.get("public_key")
        source = material.get("key_source")
        if public_key is not None and source is not None:
            raise InvalidRequestError("key_source", "give public_key or key_source, not both")
        if public_key is not None:
            return KeyMaterial(fixed=_pem_key(public_key))
        if source is not None:
            if not callable(source):
                raise InvalidRequestError("key_source", "must be an async function returning PEM")
            fetch: Callable[[], Awaitable[Any]] = source
            return KeyMaterial(source=fetch, load=_pem_key)
        return None

    def signed(self, headers: Mapping[str, str]) -> bool:
        return bool((headers.get(SIGNATURE_HEADER) or "").strip())

    def verify(self, body: bytes, headers: Mapping[str, str], key: Any, *, now: float) -> None:
        _verify_with(body, headers.get(SIGNATURE_HEADER), key)

    def parse(
        self, body: bytes, headers: Mapping[str, str], *, received_at: datetime
    ) -> SessionEvent:
        decoded = json_body(body)
        name = decoded.get("webhookType")
        if not isinstance(name, str) or not name:
            raise InvalidRequestError("body", "has no webhookType string")
        data = decoded.get("data")
        if data is not None and not isinstance(data, dict):
            raise InvalidRequestError("body", "its data must be a JSON object")
        data = data or {}
        kind = event_type(name)
        return SessionEvent(
            type=kind,
            name=name,
            session_id=_optional_text(data, "sessionId"),
            room=_optional_text(data, "roomId", "meetingId"),
            status=kind.status,
            received_at=received_at,
            provider=self.provider,
            raw=decoded,
        )


WEBHOOK_FORMAT = _Webhooks()
"""How VideoSDK's webhooks are verified and parsed (read by ``webhooks.parse`` and
``WebhookReceiver``)."""
