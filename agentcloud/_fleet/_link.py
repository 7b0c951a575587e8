"""Connections to the fleet's Redis, one set per event loop, and what a failure means.

redis-py's asyncio connections belong to the event loop that opened them, and one Fleet
may serve several loops (the sync client runs its own on a thread), so each loop gets its
own clients, made on first use and forgotten with the loop.

The URL is checked whole when the Fleet is made (its query options included, as redis-py
reads them), so a mistyped option is an InvalidRequestError naming ``url`` there, not a
failure of the first operation. The fleet's connections speak RESP2 whatever ``protocol``
the URL gives (a URL shared with other code may ask for RESP3): its scripts and stream
reads are written for RESP2's answers.

Every operation runs under the fleet's timeout, and any failure becomes
FleetUnavailableError, logged at WARNING at most once a minute per operation. After a
timeout (Redis slow, or a host that does not answer) the operations that sit in a caller's
path (the retry budget, webhook replay checks and publishing) fail at once for a few
seconds, so a stalled Redis costs callers one timeout, not one per call; heartbeats and
reapers, which run on their own schedule, always try. Nothing needs reconnecting by hand:
redis-py opens a fresh connection on the next operation.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import threading
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.connection import parse_url
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .._redact import Redactor
from ..errors import FleetUnavailableError, InvalidRequestError

__all__ = ["BLOCK_SECONDS", "Core", "Health", "Keys", "Link", "Links", "guarded", "redis_location"]

logger = logging.getLogger("agentcloud")

T = TypeVar("T")

#: Seconds the operations in a caller's path fail at once after one timed out.
COOLDOWN = 5.0
#: Seconds between two WARNINGs about the same operation.
WARNING_INTERVAL = 60.0
#: Seconds one read of the event stream waits for news before it asks again.
BLOCK_SECONDS = 1.0
#: Longer keys (a vendor's delivery id may be anything) are hashed to this size.
_MAX_KEY_PART = 200


class Keys:
    """The names of a namespace's keys.

    They share the hash tag ``{namespace}``, so a Redis Cluster keeps them in one slot and
    each Lua script may touch several of them at once.
    """

    def __init__(self, namespace: str) -> None:
        self.prefix = f"agentcloud:{{{namespace}}}:"
        #: The stream of every accepted webhook event.
        self.events = self.prefix + "events"
        #: A hash: lease field (``provider:session_id``) -> the lease's record (JSON).
        self.leases = self.prefix + "leases"

    def seen(self, delivery: str) -> str:
        """The key that says a delivery was accepted."""
        return self.prefix + "seen:" + _bounded(delivery)

    def lease(self, field: str) -> str:
        """The key whose presence (and TTL) says a lease's holder is alive."""
        return self.prefix + "lease:" + field

    def budget(self, name: str) -> str:
        return self.prefix + "budget:" + _bounded(name)


def _bounded(text: str) -> str:
    if len(text) <= _MAX_KEY_PART:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: no key redis-py can send
            pass
        else:
            return text
    return "sha256:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def redis_location(url: str) -> tuple[str, str | None]:
    """Where ``url`` points (``host:port/db``, for messages) and its password, if any.

    InvalidRequestError naming ``url`` unless it is a redis://, rediss:// or unix:// URL.
    """
    if not isinstance(url, str) or not url.strip():
        raise InvalidRequestError("url", "must be a redis://, rediss:// or unix:// URL")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise InvalidRequestError("url", f"is not a URL ({error})") from None
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise InvalidRequestError("url", "must be a redis://, rediss:// or unix:// URL")
    if parts.scheme == "unix":
        where = parts.path or "?"
    else:
        host = parts.hostname or "localhost"
        where = f"{host}:{port or 6379}{parts.path or ''}"
    return where, parts.password


def _check_options(url: str, redact: Redactor) -> None:
    """InvalidRequestError naming ``url`` when redis-py refuses its options (a query value
    of the wrong type, an unknown TLS flag): made as the fleet's connections will be,
    without connecting."""
    try:
        _pool(url, {}).make_connection()  # type: ignore[no-untyped-call]
    except Exception as error:  # redis-py's own checks raise what they raise
        message = redact(str(error)) or type(error).__name__
        raise InvalidRequestError("url", f"has an option redis-py refuses: {message}") from None


def _pool(url: str, settings: dict[str, Any]) -> ConnectionPool:
    """The connection pool for ``url`` with ``settings``, speaking RESP2 (see the module)."""
    # As ConnectionPool.from_url, except that the fleet's own settings (its timeouts and
    # retry) and ``protocol`` win over the URL's options: a socket timeout under the
    # stream read's wait would fail every read.
    return ConnectionPool(**{**parse_url(url), **settings, "protocol": 2})


class Health:
    """What the fleet knows of its Redis: when it last timed out, and which warnings were
    written when."""

    def __init__(
        self, where: str, redactor: Redactor, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.where = where
        self._redact = redactor
        self._clock = clock
        self._timed_out_at = -float("inf")
        self._warned_at: dict[str, float] = {}
        self._lock = threading.Lock()

    def check(self, what: str) -> None:
        """FleetUnavailableError at once while Redis timed out moments ago."""
        if self._clock() - self._timed_out_at < COOLDOWN:
            raise FleetUnavailableError(
                f"fleet {what}: Redis at {self.where} timed out moments ago; not tried again yet"
            )

    def failure(self, what: str, error: BaseException) -> FleetUnavailableError:
        """The FleetUnavailableError for ``error`` (which is logged at WARNING, at most once
        a minute for ``what``)."""
        if isinstance(error, (TimeoutError, RedisTimeoutError)):
            self._timed_out_at = self._clock()
            reason = "did not answer in time"
        else:
            reason = f"failed ({type(error).__name__}: {self._redact(str(error)) or '-'})"
        message = f"fleet {what}: Redis at {self.where} {reason}"
        self.warn(what, message)
        return FleetUnavailableError(message)

    def warn(self, what: str, message: str) -> None:
        """Logs ``message`` at WARNING unless one about ``what`` was logged this minute."""
        now = self._clock()
        with self._lock:
            if now - self._warned_at.get(what, -float("inf")) < WARNING_INTERVAL:
                return
            self._warned_at[what] = now
        logger.warning("%s", message)


class Link:
    """One event loop's clients: ``commands`` for quick operations, ``blocking`` for reads
    that wait on the stream (their socket timeout covers the wait)."""

    def __init__(self, url: str, *, timeout: float, block: float) -> None:
        common: dict[str, Any] = {
            "socket_connect_timeout": timeout,
            # One retry on a fresh connection covers a pooled one that died with a restart;
            # more would multiply the wait when Redis is really gone.
            "retry": Retry(NoBackoff(), 1),
        }
        self.commands = Redis.from_pool(_pool(url, {"socket_timeout": timeout, **common}))
        self.blocking = Redis.from_pool(_pool(url, {"socket_timeout": timeout + block, **common}))
        self.scripts: dict[str, Any] = {}
        #: The loop's reader of the event stream (see ``_events``), made on first use.
        self.tail: Any = None

    def script(self, name: str, source: str) -> Any:
        """``source`` registered on this link's clients (EVALSHA, loaded when missing)."""
        script = self.scripts.get(name)
        if script is None:
            script = self.scripts[name] = self.commands.register_script(source)
        return script

    async def aclose(self) -> None:
        tail = self.tail
        if tail is not None:
            with contextlib.suppress(Exception):  # its failures were reported as they came
                await tail.aclose()
        for client in (self.commands, self.blocking):
            with contextlib.suppress(RedisError, OSError):
                await client.aclose()


class Links:
    """A :class:`Link` per event loop, made on first use there."""

    def __init__(self, url: str, *, timeout: float, block: float) -> None:
        self._url = url
        self._timeout = timeout
        self._block = block
        self._links: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Link] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()

    def current(self) -> Link:
        loop = asyncio.get_running_loop()
        with self._lock:
            link = self._links.get(loop)
            if link is None:
                # A link's connections refer to their loop, so a closed loop is never
                # collected while its link is kept: forget those here.
                for gone in [known for known in self._links if known.is_closed()]:
                    del self._links[gone]
                link = self._links[loop] = Link(self._url, timeout=self._timeout, block=self._block)
            return link

    async def aclose(self) -> None:
        """Closes every loop's link: this loop's here, a loop running on another thread's
        there (waited for up to the timeout), a stopped loop's is only forgotten."""
        with self._lock:
            links = list(self._links.items())
            self._links.clear()
        here = asyncio.get_running_loop()
        for loop, link in links:
            if loop is here:
                await link.aclose()  # raises nothing: every link of the fleet gets closed
            elif loop.is_running() and not loop.is_closed():
                future = asyncio.run_coroutine_threadsafe(link.aclose(), loop)
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(asyncio.wrap_future(future), self._timeout)


async def guarded(
    health: Health,
    what: str,
    timeout: float,
    operation: Callable[[], Awaitable[T]],
    *,
    fail_fast: bool = False,
) -> T:
    """Runs ``operation`` within ``timeout``; any failure of Redis or of its client (an
    answer of a shape redis-py did not expect included) is FleetUnavailableError. With
    ``fail_fast`` it is not even tried while Redis timed out moments ago."""
    if fail_fast:
        health.check(what)
    task = asyncio.current_task()
    cancelling = task.cancelling() if task is not None else 0
    try:
        async with asyncio.timeout(timeout):
            result = await operation()
    except FleetUnavailableError:
        raise
    except Exception as error:  # the fleet's one failure for its callers
        raise health.failure(what, error) from error
    if task is not None and task.cancelling() > cancelling:
        # The task was cancelled during the call, yet the call returned: Python 3.11's
        # asyncio.wait_for, which redis-py sends commands with, drops a cancellation
        # that arrives as the command finishes. Dropped, it would leave a cancelled
        # heartbeat renewing leases forever; it is raised here instead.
        raise asyncio.CancelledError
    return result


class Core:
    """What every part of one Fleet shares: where Redis is, the key names, the links, the
    health, the timeout, and how far Redis's clock is from this machine's."""

    def __init__(self, url: str, namespace: str, *, timeout: float) -> None:
        self.where, password = redis_location(url)
        # redis-py sends the password percent-decoded: either spelling is a secret.
        self.redactor = Redactor([password, unquote(password)] if password else [])
        _check_options(url, self.redactor)
        self.keys = Keys(namespace)
        self.health = Health(self.where, self.redactor)
        self.timeout = timeout
        self.links = Links(url, timeout=timeout, block=BLOCK_SECONDS)
        #: Redis's clock minus this machine's, in milliseconds (None until measured).
        self.skew_ms: float | None = None
        self.closed = False

    async def call(
        self,
        what: str,
        operation: Callable[[Link], Awaitable[T]],
        *,
        extra: float = 0.0,
        fail_fast: bool = False,
        timeout: float | None = None,
    ) -> T:
        """Runs ``operation`` on this loop's link within ``timeout`` (the fleet's unless
        given) plus ``extra`` seconds; FleetUnavailableError when Redis fails or the fleet
        is closed. ``fail_fast``: see :func:`guarded`."""
        if self.closed:
            raise FleetUnavailableError(f"fleet {what}: the fleet is closed")
        link = self.links.current()
        limit = (self.timeout if timeout is None else timeout) + extra
        return await guarded(self.health, what, limit, lambda: operation(link), fail_fast=fail_fast)
