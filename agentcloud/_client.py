"""What every provider client shares: its transport, its held sessions, closing.

A client's public attributes are its resources (``sessions``, ``deployments``...),
``base_url``, ``closed`` and ``aclose()``; everything else here is plumbing, private.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextvars import ContextVar
from types import TracebackType
from typing import Any, ClassVar, Protocol, Self, TypedDict, Unpack

import aiohttp

from ._checks import check_count, check_flag
from ._redact import Redactor
from ._retry import RetryPolicy
from ._sessions import HeldSessions, HoldListener, finish_shielded
from ._tasks import finishing
from ._transport import (
    DEFAULT_MAX_RESPONSE_BYTES,
    Call,
    ErrorFields,
    Reply,
    Transport,
    default_error_fields,
    validate_base_url,
    within_deadline,
)
from .errors import AgentCloudError, InvalidRequestError, NotFoundError
from .models import Session

__all__ = ["DEFAULT_TIMEOUT", "BaseClient", "ClientOptions", "FleetLike"]

logger = logging.getLogger("agentcloud")

#: Seconds one attempt may take, connecting and reading included.
DEFAULT_TIMEOUT = 30.0
#: Sessions ``aclose()`` ends at once.
_END_CONCURRENCY = 16

#: The client whose close the current task is part of (a hook of a close's end that
#: closes the client must not wait for the close it is inside).
_closing_client: ContextVar[object] = ContextVar("agentcloud_closing_client", default=None)


class FleetLike(Protocol):
    """What a client needs of ``agentcloud.fleet.Fleet``: a listener that leases the
    sessions the client holds (``aclose()`` is awaited when the client closes)."""

    def attach(self, client: BaseClient) -> HoldListener: ...


class ClientOptions(TypedDict, total=False):
    """The keyword arguments every client takes, beside its own credentials.

    - ``base_url``: scheme, host and port of the API (the provider's own by default); https
      unless it is loopback or ``allow_insecure`` is True.
    - ``timeout``: seconds one attempt may take (default 30), or an
      ``aiohttp.ClientTimeout``.
    - ``retry``: a :class:`~agentcloud.RetryPolicy`.
    - ``http``: your own ``aiohttp.ClientSession``, used and never closed.
    - ``allow_insecure``: allow a plain-http ``base_url`` on a host that is not loopback.
    - ``end_on_close``: ``aclose()`` first ends every session the client started and still
      holds.
    - ``max_connections``: the pool's limit (default 100).
    - ``max_response_bytes``: the largest body read (default 8 MiB).
    - ``default_headers``: sent with every request (Authorization cannot be set).
    - ``hooks``: objects watching every request (see :mod:`agentcloud.hooks`).
    - ``fleet``: leases held sessions in Redis (see ``agentcloud.fleet``).
    """

    base_url: str
    timeout: float | aiohttp.ClientTimeout
    retry: RetryPolicy | None
    http: aiohttp.ClientSession | None
    allow_insecure: bool
    end_on_close: bool
    max_connections: int
    max_response_bytes: int
    default_headers: Mapping[str, str] | None
    hooks: Sequence[Any] | None
    fleet: FleetLike | None


class BaseClient:
    """A provider client's plumbing. Providers add their resources (``sessions`` ...)."""

    provider: ClassVar[str]
    #: Where the provider's API lives, unless ``base_url=`` says otherwise.
    default_base_url: ClassVar[str]

    def __init__(
        self,
        *,
        secrets: Iterable[str | None],
        error_fields: Callable[[int, Any], ErrorFields] = default_error_fields,
        **options: Unpack[ClientOptions],
    ) -> None:
        http = options.get("http")
        if http is not None and not isinstance(http, aiohttp.ClientSession):
            raise InvalidRequestError("http", "must be an aiohttp.ClientSession")
        max_connections = options.get("max_connections", 100)
        check_count("max_connections", max_connections, minimum=1)
        self.base_url = validate_base_url(
            options.get("base_url", self.default_base_url),
            allow_insecure=check_flag("allow_insecure", options.get("allow_insecure", False)),
        )
        self._end_on_close = check_flag("end_on_close", options.get("end_on_close", False))
        self._held = HeldSessions(keep_unmanaged=self._end_on_close)
        self._redact = Redactor(secrets)
        retry = options.get("retry")
        self._transport = Transport(
            provider=self.provider,
            base_url=self.base_url,
            timeout=options.get("timeout", DEFAULT_TIMEOUT),
            retry=retry if retry is not None else RetryPolicy(),
            http=http,
            error_fields=error_fields,
            redactor=self._redact,
            max_connections=max_connections,
            max_response_bytes=options.get("max_response_bytes", DEFAULT_MAX_RESPONSE_BYTES),
            default_headers=options.get("default_headers"),
            hooks=options.get("hooks"),
        )
        fleet = options.get("fleet")
        self._starts: set[asyncio.Task[Any]] = set()
        #: The task closing the client, once aclose() was called.
        self._closing: asyncio.Task[None] | None = None
        self._fleet_listener: HoldListener | None = None
        if fleet is not None:
            self._fleet_listener = fleet.attach(self)
            self._held.listeners.append(self._fleet_listener)

    @property
    def _retry(self) -> RetryPolicy:
        return self._transport.retry

    @property
    def closed(self) -> bool:
        """True once ``aclose()`` ran; a closed client sends nothing."""
        return self._transport.closed

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    def _call(
        self, operation: str, method: str, path: str, *, auth: Any = None, **fields: Any
    ) -> Call:
        """A :class:`Call` carrying the credentials ``auth`` names (the provider decides)."""
        return Call(
            operation=operation,
            method=method,
            path=path,
            authorization=self._authorization(auth),
            **fields,
        )

    async def _send(self, call: Call, *, timeout: float | None = None) -> Reply:
        """Sends one described call through this client's transport."""
        return await self._transport.request(call, timeout=timeout)

    def _authorization(self, scope: Any) -> Callable[[], str | None]:
        """The Authorization header of a call needing ``scope`` (each provider says)."""
        raise NotImplementedError

    async def _end_session(self, session: Any) -> object:
        """Ends a session this client holds; each provider knows how."""
        raise NotImplementedError

    def _end_route(self, session: Any) -> str | None:
        """How :meth:`_end_leased` must end ``session`` when ``sessions.end`` is not the
        way (None when it is): a short name the fleet's lease keeps, so a reaper in any
        process ends the session as its holder would have."""
        return None

    async def _end_leased(
        self,
        session_id: str,
        *,
        route: str | None,
        arguments: Mapping[str, str],
        timeout: float | None,
    ) -> object:
        """Ends a session whose holder died (the fleet's reaper), by the ``route`` and the
        ``sessions.end`` ``arguments`` its lease recorded."""
        if route is not None:
            # A lease from a newer SDK: guessing would end the wrong thing, or nothing.
            raise ValueError(f"this agentcloud cannot end a session leased as {route!r}")
        sessions: Any = getattr(self, "sessions")  # noqa: B009  # every provider has them
        return await sessions.end(session_id, **arguments, timeout=timeout)

    async def aclose(self) -> None:
        """Closes the client; idempotent.

        Starts under way finish first. Sessions started under ``async with`` whose block
        still runs are ended (they were promised an end); with ``end_on_close=True`` every
        session this client started and still holds is ended too. Ends run concurrently,
        under one deadline (the retry policy's).
        """
        closing = self._closing
        if closing is None:
            if self.closed:
                return
            # One task does the whole close, and a cancelled caller (or a second aclose())
            # waits for it: a close cut short after the ends would leave the fleet's
            # heartbeat renewing the leases of sessions that no one would ever end.
            closing = self._closing = finishing(self._close())
        elif (
            closing.done()  # closed: its outcome went to whoever waited for it
            or _closing_client.get() is self  # from inside the close (a hook): it goes on
            or closing.get_loop() is not asyncio.get_running_loop()  # its loop's to finish
        ):
            return
        await finish_shielded(closing)

    async def _close(self) -> None:
        # Seen by everything the close runs (its ends' tasks and their hooks inherit it).
        _closing_client.set(self)
        try:
            await self._settle()
        finally:
            try:
                await self._transport.aclose()
            finally:
                listener = self._fleet_listener
                closer = getattr(listener, "aclose", None)
                if closer is not None:
                    await closer()

    async def _settle(self) -> None:
        if self._starts:
            await asyncio.wait(list(self._starts))
        held = self._held.snapshot(managed_only=not self._end_on_close)
        if held:
            deadline = self._retry.clock() + self._retry.deadline
            await within_deadline(deadline, self._end_all(held), label="aclose()'s deadline")

    async def _end_all(self, sessions: list[Session]) -> None:
        gate = asyncio.Semaphore(_END_CONCURRENCY)

        async def end(session: Session) -> None:
            async with gate:
                try:
                    await self._end_session(session)
                except NotFoundError:
                    self._held.discard(session.id)
                except AgentCloudError:
                    logger.warning(
                        "could not end session %s on close", self._redact(session.id), exc_info=True
                    )

        await asyncio.gather(*(end(session) for session in sessions))

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
