"""What every provider client shares: its transport, its held sessions, closing."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, ClassVar, Self

import aiohttp

from ._lifecycle import HeldSessions, end_shielded
from ._retry import RetryPolicy
from ._transport import (
    Call,
    ErrorFields,
    Redactor,
    Reply,
    Transport,
    default_error_fields,
    validate_base_url,
)
from .errors import AgentCloudError, InvalidRequestError, NotFoundError
from .models import Session

__all__ = ["BaseClient", "DEFAULT_TIMEOUT"]

logger = logging.getLogger("agentcloud")

#: Seconds one attempt may take, connecting and reading included.
DEFAULT_TIMEOUT = 30.0


class BaseClient:
    """A provider client's plumbing. Providers add their resources (``sessions`` ...)."""

    provider: ClassVar[str]

    def __init__(
        self,
        *,
        base_url: str,
        timeout: float | aiohttp.ClientTimeout,
        retry: RetryPolicy | None,
        http: aiohttp.ClientSession | None,
        allow_insecure: bool,
        end_on_close: bool,
        max_connections: int,
        secrets: Iterable[str | None],
        error_fields: Callable[[int, Any], ErrorFields] = default_error_fields,
    ) -> None:
        if http is not None and not isinstance(http, aiohttp.ClientSession):
            raise InvalidRequestError("http", "must be an aiohttp.ClientSession")
        if (
            isinstance(max_connections, bool)
            or not isinstance(max_connections, int)
            or (max_connections < 1)
        ):
            raise InvalidRequestError("max_connections", "must be an integer >= 1")
        self.base_url = validate_base_url(base_url, allow_insecure=allow_insecure)
        self.end_on_close = bool(end_on_close)
        self.held = HeldSessions()
        self._transport = Transport(
            provider=self.provider,
            base_url=self.base_url,
            timeout=timeout,
            retry=retry if retry is not None else RetryPolicy(),
            http=http,
            error_fields=error_fields,
            redactor=Redactor(secrets),
            max_connections=max_connections,
        )

    @property
    def retry(self) -> RetryPolicy:
        return self._transport.retry

    @property
    def closed(self) -> bool:
        return self._transport.closed

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    async def send(self, call: Call) -> Reply:
        """Sends one described call through this client's transport."""
        return await self._transport.request(call)

    async def _end_session(self, session: Session) -> object:
        """Ends a session this client holds; each provider knows how."""
        raise NotImplementedError

    async def aclose(self) -> None:
        """Closes the client; idempotent. With ``end_on_close=True`` it first ends every
        session this client started and still holds."""
        if self.closed:
            return
        if self.end_on_close:
            for session in self.held.snapshot():

                async def end(held: Session = session) -> object:
                    return await self._end_session(held)

                try:
                    await end_shielded(end)
                except NotFoundError:
                    self.held.discard(session.id)
                except AgentCloudError:
                    logger.warning("could not end session %s on close", session.id, exc_info=True)
        await self._transport.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
