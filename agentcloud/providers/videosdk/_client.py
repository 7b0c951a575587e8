"""The VideoSDK client: credentials, its resources, the webhook key, ending what it holds."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, Unpack

from ..._checks import credential
from ..._client import BaseClient, ClientOptions
from ..._convert import expect_object
from ...errors import InvalidRequestError, ResponseDecodeError
from ...models import Session
from ._base import (
    _RSA_PUBLIC_KEY,
    DEFAULT_BASE_URL,
    Deployments,
    TokenMinter,
    VideoSDKSessions,
    _error_fields,
)
from ._runtime import Dispatch, Rooms, Runtime

#: How a lease names a dispatch's way out: ``runtime.sessions.end`` by its room.
_RUNTIME_ROUTE = "runtime"

__all__ = ["VideoSDK"]


class VideoSDK(BaseClient):
    """A client for VideoSDK Agent Cloud.

    Resources: ``sessions`` (:class:`VideoSDKSessions`) and ``deployments``
    (:class:`Deployments`) for deployment sessions; ``runtime`` (:class:`Runtime`: dispatch
    into rooms, runtime sessions, logs, agent deployments and versions) and ``rooms``
    (:class:`Rooms`) for the agent runtime. Credentials: ``api_key`` and ``secret`` (else
    ``VIDEOSDK_API_KEY`` and ``VIDEOSDK_SECRET_KEY``), from which the client mints and
    renews its JWT; or a ready ``token``, used as is. Use it as ``async with VideoSDK(...)
    as client`` or call ``aclose()``.

    The other keyword arguments are those every client takes
    (:class:`~agentcloud._client.ClientOptions`): ``base_url``, ``timeout``, ``retry``,
    ``http``, ``allow_insecure``, ``end_on_close``, ``max_connections``,
    ``max_response_bytes``, ``default_headers``, ``hooks`` and ``fleet``.
    """

    provider = "videosdk"
    default_base_url = DEFAULT_BASE_URL

    def __init__(
        self,
        api_key: str | None = None,
        secret: str | None = None,
        *,
        token: str | None = None,
        token_ttl: float = 24 * 3600,
        now: Callable[[], float] = time.time,
        **options: Unpack[ClientOptions],
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
        super().__init__(secrets=secrets, error_fields=_error_fields, **options)
        self._webhook_key: str | None = None
        self.sessions = VideoSDKSessions(self)
        self.deployments = Deployments(self)
        self.runtime = Runtime(self)
        self.rooms = Rooms(self)

    def _authorization(self, scope: Any) -> Callable[[], str]:
        # The JWT itself, with no prefix, as VideoSDK documents.
        return self._mint

    async def webhook_public_key(self) -> str:
        """The PEM public key VideoSDK signs webhooks with; fetched once, then cached.

        Hand it to ``WebhookReceiver(key_source=client.webhook_public_key)``.
        """
        if self._webhook_key is None:
            reply = await self._send(self._call("webhooks.public_key", "GET", _RSA_PUBLIC_KEY))
            key = expect_object(reply.data, "webhooks.public_key").get("publicKey")
            if not isinstance(key, str) or "PUBLIC KEY" not in key:
                raise ResponseDecodeError("webhooks.public_key: no PEM publicKey in the answer")
            self._webhook_key = key
        return self._webhook_key

    async def _end_session(self, session: Session) -> object:
        if isinstance(session, Dispatch):  # held by its room: ended by room
            return await self.runtime.sessions.end(room_id=session.room_id)
        return await self.sessions.end(session.id)

    def _end_route(self, session: Session) -> str | None:
        return _RUNTIME_ROUTE if isinstance(session, Dispatch) else None

    async def _end_leased(
        self,
        session_id: str,
        *,
        route: str | None,
        arguments: Mapping[str, str],
        timeout: float | None,
    ) -> object:
        if route == _RUNTIME_ROUTE:  # a dispatch's id is its room
            return await self.runtime.sessions.end(room_id=session_id, timeout=timeout)
        return await super()._end_leased(
            session_id, route=route, arguments=arguments, timeout=timeout
        )
