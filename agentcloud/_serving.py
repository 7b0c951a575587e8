"""Serving an aiohttp app to the open internet without letting slow clients starve it.

aiohttp's server reads a request head for as long as the client takes, and keeps an idle
connection for an hour by default, so a few hundred clients sending one byte a second
(slowloris) hold every file descriptor and no vendor delivery gets in. Here every connection
must complete a request head within ``head_timeout`` of connecting or of its previous
request ending, idle keep-alive connections are closed after ``idle_timeout``, and at most
``max_connections`` are open: a new connection beyond that evicts the one that has gone
longest without sending a byte, busy or not (a head that never completes, or a body that
never comes, which holds its request open until the handler's ``body_timeout``). A real
delivery sends its whole request at once and is handled in milliseconds, so an attacker's
stalled connections are the ones that make room.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
from aiohttp import web
from aiohttp.typedefs import Handler

from ._checks import check_count, check_seconds

__all__ = ["ServerLimits", "serve_app"]


def _seconds(name: str) -> Callable[[Any, Any, Any], None]:
    def validate(_: Any, __: Any, value: Any) -> None:
        check_seconds(name, value, allow_infinite=False)

    return validate


@attrs.frozen(kw_only=True)
class ServerLimits:
    """Bounds on the clients of a standalone server (``WebhookReceiver.serve``)."""

    max_connections: int = attrs.field(default=512)
    head_timeout: float = attrs.field(default=10.0, validator=_seconds("head_timeout"))
    idle_timeout: float = attrs.field(default=15.0, validator=_seconds("idle_timeout"))

    def __attrs_post_init__(self) -> None:
        check_count("max_connections", self.max_connections, minimum=1)


class _Connection:
    __slots__ = ("busy", "handler", "last_active", "timer")

    def __init__(self, handler: Any, now: float) -> None:
        self.handler = handler
        self.busy = 0
        #: When it last sent data (or connected, or had a request answered).
        self.last_active = now
        self.timer: asyncio.TimerHandle | None = None


class _Guard:
    """Tracks every connection: when it last sent data, and whether a request runs now."""

    def __init__(self, limits: ServerLimits) -> None:
        self._limits = limits
        self._loop = asyncio.get_running_loop()
        self._connections: dict[int, _Connection] = {}
        self.evicted = 0

    def opened(self, handler: Any) -> None:
        """Registers a new connection, evicting one when the server is full."""
        now = self._loop.time()
        if len(self._connections) >= self._limits.max_connections:
            self._drop(min(self._connections.values(), key=lambda c: c.last_active))
        connection = _Connection(handler, now)
        self._connections[id(handler)] = connection
        self._arm(connection, self._limits.head_timeout)

    def progressed(self, handler: Any) -> None:
        connection = self._connections.get(id(handler))
        if connection is not None:
            connection.last_active = self._loop.time()

    def closed(self, handler: Any) -> None:
        connection = self._connections.pop(id(handler), None)
        if connection is not None and connection.timer is not None:
            connection.timer.cancel()

    def _arm(self, connection: _Connection, delay: float) -> None:
        if connection.timer is not None:
            connection.timer.cancel()
        connection.timer = self._loop.call_later(delay, self._check, connection)

    def _check(self, connection: _Connection) -> None:
        connection.timer = None
        if connection.busy or id(connection.handler) not in self._connections:
            return  # the request's end re-arms the timer
        self._drop(connection)

    def _drop(self, connection: _Connection) -> None:
        self.closed(connection.handler)
        self.evicted += 1
        transport = connection.handler.transport
        if isinstance(transport, asyncio.Transport):
            transport.abort()

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        connection = self._connections.get(id(request.protocol))
        if connection is None:
            return await handler(request)
        connection.busy += 1
        if connection.timer is not None:
            connection.timer.cancel()
            connection.timer = None
        try:
            return await handler(request)
        finally:
            connection.busy -= 1
            connection.last_active = self._loop.time()
            if not connection.busy:
                # The next head must come within head_timeout; aiohttp's own keep-alive
                # limit (idle_timeout) closes a connection that sends nothing at all.
                self._arm(connection, self._limits.head_timeout)


class _GuardedProtocol(asyncio.Protocol):
    """Passes everything to aiohttp's request handler, telling the guard of its life."""

    def __init__(self, handler: Any, guard: _Guard) -> None:
        self._handler = handler
        self._guard = guard

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._handler.connection_made(transport)
        self._guard.opened(self._handler)

    def connection_lost(self, exc: Exception | None) -> None:
        self._guard.closed(self._handler)
        self._handler.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._guard.progressed(self._handler)
        self._handler.data_received(data)

    def eof_received(self) -> bool | None:
        result: bool | None = self._handler.eof_received()
        return result

    def pause_writing(self) -> None:
        self._handler.pause_writing()

    def resume_writing(self) -> None:
        self._handler.resume_writing()


async def serve_app(
    app: web.Application, host: str, port: int, *, limits: ServerLimits
) -> tuple[Callable[[], Awaitable[None]], int]:
    """Serves ``app`` on ``host:port`` under ``limits``; returns (stop, the bound port)."""
    guard = _Guard(limits)
    app.middlewares.append(guard.middleware)
    runner = web.AppRunner(
        app,
        access_log=None,
        handle_signals=False,
        keepalive_timeout=limits.idle_timeout,
        # Request bodies are never inflated: a compressed bomb stays small.
        auto_decompress=False,
        shutdown_timeout=1.0,
    )
    await runner.setup()
    server = runner.server
    assert server is not None
    loop = asyncio.get_running_loop()
    try:
        listening = await loop.create_server(
            lambda: _GuardedProtocol(server(), guard), host, port, reuse_address=True
        )
    except BaseException:
        await runner.cleanup()
        raise
    bound = listening.sockets[0].getsockname()[1] if listening.sockets else port

    async def stop() -> None:
        listening.close()
        await runner.cleanup()
        await listening.wait_closed()

    return stop, bound
