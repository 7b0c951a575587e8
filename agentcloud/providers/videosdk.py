"""VideoSDK Agent Cloud: deployment sessions and deployments.

Wire facts (see the vendor pages): the JWT goes in ``Authorization`` with no prefix; start
and end answer ``{message, data}``, get answers the session bare, lists answer
``{data, pageInfo}`` with no last-page field; the webhook is sent as ``endPoint`` and listed
back as ``endpoint``, ``metaData`` is sent and ``metadata`` returned, and the deployment list
says ``created_at`` where the other calls say ``createdAt``.

Start is not idempotent at VideoSDK, so every start carries a marker in its metadata
(``agentcloud_request_id``). After an ambiguous failure (5xx, reset or timeout after the
request went out) the SDK looks for the marker in the newest sessions: found, it returns that
session; not found, the start had no effect and it is tried again.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
import jwt

from .._client import DEFAULT_TIMEOUT, BaseClient
from .._convert import WireStructurer
from .._lifecycle import EventSource, SessionStart, wait_for_status
from .._retry import RetryPolicy
from .._transport import (
    Call,
    ErrorFields,
    Reply,
    RetryMode,
    default_error_fields,
    outcome_is_ambiguous,
    within_deadline,
)
from ..errors import (
    AgentCloudError,
    APIError,
    InvalidRequestError,
    NotFoundError,
    RequestTimeoutError,
    ResponseDecodeError,
    StartOutcomeUnknownError,
)
from ..models import (
    WEBHOOK_EVENTS,
    Deployment,
    Page,
    Session,
    SessionStatus,
    VideoSDKSession,
    Webhook,
)
from ..pagination import MAX_PER_PAGE, Pager
from ._common import (
    check_json_object,
    check_text,
    credential,
    expect_count,
    expect_list,
    expect_object,
    path_segment,
)

__all__ = ["DEFAULT_BASE_URL", "START_MARKER", "TokenMinter", "VideoSDK"]

DEFAULT_BASE_URL = "https://api.videosdk.live"
#: The metadata key that lets a start be found again after an ambiguous failure.
START_MARKER = "agentcloud_request_id"

_SESSIONS = "/ai/v1/ai-deployment-sessions"
_DEPLOYMENTS = "/ai/v1/ai-deployments"
_RSA_PUBLIC_KEY = "/v2/public/rsa-public-key"
#: How many of the newest sessions reconciliation looks through for a start's marker.
_RECONCILE_WINDOW = 200

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
}


def session_status(raw_status: Any) -> SessionStatus:
    """VideoSDK's status string to SessionStatus; unknown strings give UNKNOWN."""
    if not isinstance(raw_status, str):
        return SessionStatus.UNKNOWN
    return _STATUSES.get(raw_status.lower(), SessionStatus.UNKNOWN)


def _derive_status(wire: dict[str, Any]) -> dict[str, Any]:
    raw_status = wire.get("status")
    return {
        "status": session_status(raw_status),
        "raw_status": raw_status if isinstance(raw_status, str) else None,
    }


_webhook_from_wire = WireStructurer(Webhook, fallbacks={"endpoint": ("endPoint",)}, register=True)
_session_from_wire = WireStructurer(
    VideoSDKSession,
    renames={"id": "sessionId", "started_at": "start", "ended_at": "end"},
    fallbacks={"metadata": ("metaData",)},
    derived=("status", "raw_status", "provider"),
    derive=_derive_status,
)
_deployment_from_wire = WireStructurer(Deployment, fallbacks={"createdAt": ("created_at",)})


def _error_fields(status: int, body: Any) -> ErrorFields:
    fields = default_error_fields(status, body)
    if status == 402:  # VideoSDK answers 402 for some missing resources
        return ErrorFields(
            error_class=NotFoundError,
            message=fields.message,
            code=fields.code,
            details=fields.details,
        )
    return fields


class TokenMinter:
    """Mints VideoSDK server tokens (HS256 JWT with the ``crawler`` role) and caches each
    until ``refresh_margin`` seconds before it expires, as VideoSDK's server SDK does."""

    def __init__(
        self,
        api_key: str,
        secret: str,
        *,
        ttl: float = 24 * 3600,
        refresh_margin: float = 60.0,
        now: Callable[[], float] = time.time,
    ) -> None:
        if ttl <= refresh_margin:
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
        return {
            "apikey": self._api_key,
            "permissions": ["allow_join", "allow_mod"],
            "version": 2,
            "roles": ["crawler"],
            "iat": issued_at,
            "exp": issued_at + int(self._ttl),
        }

    def __call__(self) -> str:
        now = self._now()
        if self._token is None or now >= self._expires - self._margin:
            issued_at = int(now)
            claims = self.claims(issued_at)
            self._token = jwt.encode(claims, self._secret, algorithm="HS256")
            self._expires = float(claims["exp"])
        return self._token


def _check_webhook(webhook: Webhook | str | None) -> dict[str, Any] | None:
    if webhook is None:
        return None
    if isinstance(webhook, str):
        webhook = Webhook(webhook)
    if not isinstance(webhook, Webhook):
        raise InvalidRequestError("webhook", "must be an agentcloud.Webhook or a URL string")
    endpoint = check_text("webhook.endpoint", webhook.endpoint, max_length=2048)
    if not endpoint.startswith(("https://", "http://")):
        raise InvalidRequestError("webhook.endpoint", "must be an http(s) URL")
    if not webhook.events:
        raise InvalidRequestError("webhook.events", "must name at least one event")
    for event in webhook.events:
        if event not in WEBHOOK_EVENTS:
            raise InvalidRequestError(
                "webhook.events", f"unknown event {event!r}; known: {', '.join(WEBHOOK_EVENTS)}"
            )
    return {"endPoint": endpoint, "events": list(webhook.events)}


def _check_env(env: Mapping[str, str] | None) -> dict[str, str] | None:
    if env is None:
        return None
    checked = check_json_object("env", env)
    for key, value in checked.items():
        if not key or not isinstance(value, str):
            raise InvalidRequestError(
                "env", f"must map non-empty names to strings; {key!r} is {type(value).__name__}"
            )
    return checked


class VideoSDKSessions:
    """``client.sessions``: start, get, end, list and wait for deployment sessions."""

    def __init__(self, client: VideoSDK) -> None:
        self._client = client

    def start(
        self,
        *,
        deployment_id: str,
        tag: str,
        env: Mapping[str, str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        webhook: Webhook | str | None = None,
    ) -> SessionStart[VideoSDKSession]:
        """Starts a session of ``deployment_id`` at ``tag``. Await the result for the
        session, or use it with ``async with`` to have the session ended on exit."""
        body: dict[str, Any] = {
            "deploymentId": check_text("deployment_id", deployment_id),
            "tag": check_text("tag", tag),
        }
        checked_env = _check_env(env)
        if checked_env is not None:
            body["env"] = checked_env
        meta = check_json_object("metadata", metadata) if metadata is not None else {}
        if START_MARKER in meta:
            raise InvalidRequestError("metadata", f"the key {START_MARKER!r} is reserved")
        marker = uuid.uuid4().hex
        body["metaData"] = {**meta, START_MARKER: marker}
        hook = _check_webhook(webhook)
        if hook is not None:
            body["webhook"] = hook
        return SessionStart(lambda: self._start(body, marker), self.end)

    async def _start(self, body: dict[str, Any], marker: str) -> VideoSDKSession:
        # One deadline for the whole start: attempts, reconciliations and pauses alike.
        deadline = self._client.retry.clock() + self._client.retry.deadline
        return await within_deadline(deadline, self._start_by(body, marker, deadline))

    async def _start_by(
        self, body: dict[str, Any], marker: str, deadline: float
    ) -> VideoSDKSession:
        client = self._client
        policy = client.retry
        call = Call(
            operation="sessions.start",
            method="POST",
            path=f"{_SESSIONS}/start",
            json=body,
            authorization=client.authorization,
            mode=RetryMode.AT_MOST_ONCE,
        )
        attempt = 0
        while True:
            attempt += 1
            try:
                reply = await client.send(call)
                session = _session_from_wire(_envelope_data(reply, "sessions.start"))
            except AgentCloudError as error:
                if not outcome_is_ambiguous(error):
                    raise
                found = await self._reconcile(marker, error)
                if found is not None:
                    client.held.add(found)
                    return found
                if _may_still_appear(error):
                    raise StartOutcomeUnknownError(
                        f"sessions.start failed ambiguously ({type(error).__name__}: {error}) "
                        f"and its session is not listed yet; VideoSDK may still create it. "
                        f"Look for metadata {START_MARKER}={marker} before starting again.",
                        marker=marker,
                    ) from error
                # The marker is nowhere: that attempt created nothing, so another is safe.
                delay = policy.backoff(attempt - 1)
                if attempt >= policy.max_attempts or policy.clock() + delay >= deadline:
                    raise
                await policy.sleep(delay)
                continue
            client.held.add(session)
            return session

    async def _reconcile(self, marker: str, cause: AgentCloudError) -> VideoSDKSession | None:
        try:
            async for session in self.list(per_page=MAX_PER_PAGE, max_items=_RECONCILE_WINDOW):
                if session.metadata.get(START_MARKER) == marker:
                    return session
        except AgentCloudError as lookup_error:
            raise StartOutcomeUnknownError(
                f"sessions.start failed ambiguously ({type(cause).__name__}: {cause}) and the "
                f"session listing could not be checked ({type(lookup_error).__name__}); a "
                f"session may exist with metadata {START_MARKER}={marker}",
                marker=marker,
            ) from cause
        return None

    async def get(self, session_id: str) -> VideoSDKSession:
        """The session's current details."""
        path = f"{_SESSIONS}/{path_segment('session_id', session_id)}"
        reply = await self._client.send(
            Call(
                operation="sessions.get",
                method="GET",
                path=path,
                authorization=self._client.authorization,
            )
        )
        return _session_from_wire(reply.data)

    async def end(self, session_id: str) -> VideoSDKSession:
        """Ends the session; returns it as VideoSDK reports it (status, end, duration)."""
        path_segment("session_id", session_id)
        reply = await self._client.send(
            Call(
                operation="sessions.end",
                method="POST",
                path=f"{_SESSIONS}/end",
                json={"sessionId": session_id},
                authorization=self._client.authorization,
            )
        )
        self._client.held.discard(session_id)
        return _session_from_wire(_envelope_data(reply, "sessions.end"))

    def list(
        self, *, per_page: int = MAX_PER_PAGE, max_items: int | None = None, concurrency: int = 1
    ) -> Pager[VideoSDKSession]:
        """Every session, newest first, walked page by page as it is iterated."""
        return self._client.pager(
            _SESSIONS,
            "sessions.list",
            _session_from_wire,
            key=_session_id,
            per_page=per_page,
            max_items=max_items,
            concurrency=concurrency,
        )

    async def wait(
        self,
        session_id: str,
        *,
        until: SessionStatus | str = SessionStatus.RUNNING,
        timeout: float | None = 120.0,
        poll_interval: float = 0.5,
        max_poll_interval: float = 5.0,
        receiver: EventSource | None = None,
    ) -> VideoSDKSession:
        """Polls until the session reaches ``until`` (or a later stage) and returns it.

        Raises SessionFailedError if it fails first, RequestTimeoutError after ``timeout``.
        Pass the WebhookReceiver the session's webhook goes to as ``receiver`` and a
        delivered event ends the current pause at once instead of waiting it out.
        """
        path_segment("session_id", session_id)
        return await wait_for_status(
            self.get,
            session_id,
            until=until,
            timeout=timeout,
            retry=self._client.retry,
            poll_interval=poll_interval,
            max_poll_interval=max_poll_interval,
            events=receiver,
        )


def _may_still_appear(error: AgentCloudError) -> bool:
    """True when a start missing from the listing may yet be created, so "not listed"
    does not prove "not created": VideoSDK accepted it (a 2xx we could not read), or
    something gave up waiting while VideoSDK may still be working on it (our timeout, a
    gateway's 504). Only after a 5xx or a reset has VideoSDK finished with the request."""
    if isinstance(error, (RequestTimeoutError, ResponseDecodeError)):
        return True
    return isinstance(error, APIError) and error.status == 504


def _session_id(session: VideoSDKSession) -> str:
    return session.id


def _deployment_key(deployment: Deployment) -> tuple[str, str | None]:
    return (deployment.id, deployment.tag)


def _envelope_data(reply: Reply, operation: str) -> Any:
    return expect_object(reply.data, operation).get("data")


class Deployments:
    """``client.deployments``: create, get and list AI deployments."""

    def __init__(self, client: VideoSDK) -> None:
        self._client = client

    async def create(self, *, name: str, description: str | None = None) -> Deployment:
        """Creates a deployment. Not retried after an ambiguous failure."""
        body: dict[str, Any] = {"name": check_text("name", name)}
        if description is not None:
            body["description"] = check_text("description", description, max_length=10_000)
        reply = await self._client.send(
            Call(
                operation="deployments.create",
                method="POST",
                path=_DEPLOYMENTS,
                json=body,
                authorization=self._client.authorization,
                mode=RetryMode.AT_MOST_ONCE,
            )
        )
        return _deployment_from_wire(reply.data)

    async def get(self, deployment_id: str, tag: str) -> Deployment:
        """The deployment ``deployment_id`` at ``tag``."""
        path = (
            f"{_DEPLOYMENTS}/{path_segment('deployment_id', deployment_id)}"
            f"/{path_segment('tag', tag)}"
        )
        reply = await self._client.send(
            Call(
                operation="deployments.get",
                method="GET",
                path=path,
                authorization=self._client.authorization,
            )
        )
        return _deployment_from_wire(reply.data)

    def list(
        self, *, per_page: int = MAX_PER_PAGE, max_items: int | None = None, concurrency: int = 1
    ) -> Pager[Deployment]:
        """Every deployment, walked page by page as it is iterated."""
        return self._client.pager(
            _DEPLOYMENTS,
            "deployments.list",
            _deployment_from_wire,
            key=_deployment_key,
            per_page=per_page,
            max_items=max_items,
            concurrency=concurrency,
        )


class VideoSDK(BaseClient):
    """A client for VideoSDK Agent Cloud.

    Credentials: ``api_key`` and ``secret`` (else ``VIDEOSDK_API_KEY`` and
    ``VIDEOSDK_SECRET_KEY``), from which the client mints and renews its JWT; or a ready
    ``token``, used as is. Use it as ``async with VideoSDK(...) as client`` or call
    ``aclose()``.
    """

    provider = "videosdk"

    def __init__(
        self,
        api_key: str | None = None,
        secret: str | None = None,
        *,
        token: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float | aiohttp.ClientTimeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        http: aiohttp.ClientSession | None = None,
        allow_insecure: bool = False,
        end_on_close: bool = False,
        max_connections: int = 100,
        token_ttl: float = 24 * 3600,
        now: Callable[[], float] = time.time,
    ) -> None:
        token = credential("token", token, "VIDEOSDK_TOKEN") if token is not None else None
        self._mint: Callable[[], str]
        if token is not None:
            fixed = token
            self._mint = lambda: fixed
            secrets: list[str | None] = [token]
        else:
            key = credential("api_key", api_key, "VIDEOSDK_API_KEY")
            secret_key = credential("secret", secret, "VIDEOSDK_SECRET_KEY")
            if key is None:
                raise InvalidRequestError(
                    "api_key", "missing: pass api_key= or set VIDEOSDK_API_KEY (or pass token=)"
                )
            if secret_key is None:
                raise InvalidRequestError(
                    "secret", "missing: pass secret= or set VIDEOSDK_SECRET_KEY (or pass token=)"
                )
            self._mint = TokenMinter(key, secret_key, ttl=token_ttl, now=now)
            secrets = [key, secret_key]
        super().__init__(
            base_url=base_url,
            timeout=timeout,
            retry=retry,
            http=http,
            allow_insecure=allow_insecure,
            end_on_close=end_on_close,
            max_connections=max_connections,
            secrets=secrets,
            error_fields=_error_fields,
        )
        self._webhook_key: str | None = None
        self.sessions = VideoSDKSessions(self)
        self.deployments = Deployments(self)

    def authorization(self) -> str:
        """The Authorization header value: the JWT itself, with no prefix."""
        return self._mint()

    async def webhook_public_key(self) -> str:
        """The PEM public key VideoSDK signs webhooks with; fetched once, then cached.

        Hand it to ``WebhookReceiver(key_source=client.webhook_public_key)``.
        """
        if self._webhook_key is None:
            reply = await self.send(
                Call(
                    operation="webhooks.public_key",
                    method="GET",
                    path=_RSA_PUBLIC_KEY,
                    authorization=self.authorization,
                )
            )
            key = expect_object(reply.data, "webhooks.public_key").get("publicKey")
            if not isinstance(key, str) or "PUBLIC KEY" not in key:
                raise ResponseDecodeError("webhooks.public_key: no PEM publicKey in the answer")
            self._webhook_key = key
        return self._webhook_key

    async def _end_session(self, session: Session) -> object:
        return await self.sessions.end(session.id)

    def pager(
        self,
        path: str,
        operation: str,
        structure: Callable[[Any], Any],
        *,
        key: Callable[[Any], Any],
        per_page: int,
        max_items: int | None,
        concurrency: int,
    ) -> Pager[Any]:
        async def fetch(index: int, size: int) -> Page[Any]:
            reply = await self.send(
                Call(
                    operation=operation,
                    method="GET",
                    path=path,
                    query={"page": str(index + 1), "perPage": str(size)},
                    authorization=self.authorization,
                )
            )
            data = expect_object(reply.data, operation)
            items = expect_list(data.get("data"), operation)
            page_info = data.get("pageInfo")
            total = None
            if page_info is not None:
                total = expect_count(
                    expect_object(page_info, operation).get("totalItems"),
                    f"{operation} pageInfo.totalItems",
                )
            return Page(items=tuple(items), number=index + 1, total=total)

        return Pager(
            fetch,
            key=key,
            per_page=per_page,
            max_items=max_items,
            concurrency=concurrency,
            structure=structure,
        )
