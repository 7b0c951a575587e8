"""What one process cannot do alone, shared through Redis: a fleet of services and bots.

    from agentcloud.fleet import Fleet

    fleet = Fleet("redis://127.0.0.1:6379/0", namespace="prod")
    receiver = WebhookReceiver(key_source=vs.webhook_public_key, fleet=fleet)  # any replica
    s = await vs.sessions.wait(session_id, until="running", receiver=fleet)    # any replica
    async for event in fleet.events(session_id=s.id): ...
    async with VideoSDK(fleet=fleet) as vs: ...      # managed sessions hold leases in Redis
    await fleet.reap({"videosdk": vs})               # ends sessions whose holder died
    RetryPolicy(budget=fleet.budget("videosdk", rate=5.0, burst=20))  # one for all replicas

Needs the ``redis`` extra (``pip install 'agentcloud[redis]'``, redis-py's asyncio client).

- **Events.** Every event a receiver accepts (verified, not a replay) is published once to
  a Redis Stream of at most about ``max_events`` entries (expiring ``event_ttl`` after the
  last one); any replica's ``wait(receiver=fleet)`` wakes on it, and ``fleet.events(...)``
  iterates it. Vendor redeliveries are refused fleet-wide: a delivery's id (else the hash
  of its verified body) is remembered ``replay_window`` seconds.
- **Leases.** A client made with ``fleet=`` leases every session it has promised to end
  (started under ``async with``, or any it holds with ``end_on_close=True``); its heartbeat
  renews them every ``heartbeat`` seconds (a third of ``lease_ttl`` by default) and an
  ended session is released at once. ``fleet.reap(clients)`` (or ``agentcloud fleet
  reap``), safe to run on every replica at once, ends each session whose lease expired:
  each lease is claimed atomically by one reaper, and an end that fails is retried later.
  A holder cut off from Redis for longer than ``lease_ttl`` loses its leases (it logs a
  WARNING when it notices): choose the TTL longer than the outages you ride out.
- **Shared retry budget.** ``fleet.budget(provider, rate=, burst=)`` is one token bucket
  for every replica, taken from in one atomic Lua script.
- **Redis trouble.** Calls that do not need the fleet keep working (a WARNING is logged):
  starts and ends go on while leases wait for Redis, waits poll, receivers check replays
  locally, and the budget falls back on a local bucket. Fleet operations (``seen``,
  ``publish``, ``events``, ``reap``) raise FleetUnavailableError within ``timeout``.
  Connections are re-made on their own once Redis is back.
- **Event loops and threads.** A Fleet may be used from several event loops at once (the
  sync client runs its own on a thread): each loop gets its own connections.

Redis is inside your trust boundary: whoever can write to it can wake waiters, feed
``events()`` and ask reapers to end sessions. Protect it (ACLs, TLS with ``rediss://``).
Keys live under ``agentcloud:{namespace}:`` (one hash slot, so Redis Cluster works).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

try:
    import redis.asyncio  # noqa: F401
except ImportError as missing:  # pragma: no cover - depends on the environment
    raise ImportError(
        "agentcloud.fleet needs redis-py: pip install 'agentcloud[redis]'"
    ) from missing

from ._checks import check_count, check_seconds, check_text
from ._fleet._budget import FleetBudget
from ._fleet._events import FIELD, Subscription, Tail, encode_event
from ._fleet._leases import LeaseListener
from ._fleet._link import Core
from ._fleet._reaper import Reaped, reap
from .errors import FleetUnavailableError, InvalidRequestError
from .models import SessionEvent, SessionEventType

if TYPE_CHECKING:
    from ._client import BaseClient

__all__ = ["Fleet", "FleetBudget", "Reaped"]

_NAMESPACE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}")


def _namespace(value: object) -> str:
    if not isinstance(value, str) or not _NAMESPACE.fullmatch(value):
        raise InvalidRequestError(
            "namespace",
            "must be 1-100 letters, digits, '_', '.', ':' or '-', a letter or digit first",
        )
    return value


def _finite(argument: str, value: object) -> float:
    return check_seconds(argument, value, allow_infinite=False)


class Fleet:
    """Events, leases and a retry budget shared by every process on one Redis.

    ``url``: ``redis://[[user]:password@]host[:port][/db]``, ``rediss://...`` (TLS) or
    ``unix://path``. ``namespace`` separates fleets sharing one Redis. ``lease_ttl``:
    seconds a session's lease outlives its holder's last heartbeat (default 30);
    ``heartbeat``: seconds between renewals (default a third of the TTL). ``timeout``:
    seconds any Redis operation may take (default 1). ``max_events`` (about; default
    10,000) and ``event_ttl`` (seconds, default a day) bound the event stream;
    ``replay_window``: seconds a delivery is remembered (default a day).

    Use it as ``async with Fleet(...) as fleet`` or call ``aclose()``.
    """

    def __init__(
        self,
        url: str,
        *,
        namespace: str = "default",
        lease_ttl: float = 30.0,
        heartbeat: float | None = None,
        timeout: float = 1.0,
        max_events: int = 10_000,
        event_ttl: float = 24 * 3600.0,
        replay_window: float = 24 * 3600.0,
    ) -> None:
        self.namespace = _namespace(namespace)
        self.lease_ttl = _finite("lease_ttl", lease_ttl)
        beat = self.lease_ttl / 3 if heartbeat is None else _finite("heartbeat", heartbeat)
        if beat >= self.lease_ttl:
            raise InvalidRequestError("heartbeat", "must be shorter than lease_ttl")
        self.heartbeat = beat
        self._max_events = check_count("max_events", max_events, minimum=1)
        self._event_ttl_ms = max(1, round(_finite("event_ttl", event_ttl) * 1000))
        self._replay_ms = max(1, round(_finite("replay_window", replay_window) * 1000))
        self._core = Core(url, self.namespace, timeout=_finite("timeout", timeout))

    def __repr__(self) -> str:
        return f"Fleet({self._core.where!r}, namespace={self.namespace!r})"

    @property
    def closed(self) -> bool:
        """True once ``aclose()`` ran."""
        return self._core.closed

    # ---- webhooks: what a WebhookReceiver(fleet=...) asks --------------------------------

    async def seen(self, key: str) -> bool:
        """True when ``key`` (a delivery) was already accepted by any replica within the
        replay window; otherwise records it, in the same atomic step."""
        if not isinstance(key, str) or not key:
            raise InvalidRequestError("key", "must be a non-empty string")
        redis_key = self._core.keys.seen(key)
        created = await self._core.call(
            "replay check",
            lambda link: link.commands.set(redis_key, b"1", nx=True, px=self._replay_ms),
            fail_fast=True,
        )
        return not created

    async def publish(self, event: SessionEvent) -> None:
        """Publishes ``event`` to every replica (a receiver does it for each it accepts)."""
        if not isinstance(event, SessionEvent):
            raise InvalidRequestError("event", "must be a SessionEvent")
        data = encode_event(event)
        stream = self._core.keys.events

        async def add(link: Any) -> None:
            pipe = link.commands.pipeline(transaction=True)
            pipe.xadd(stream, {FIELD: data}, maxlen=self._max_events, approximate=True)
            pipe.pexpire(stream, self._event_ttl_ms)
            await pipe.execute()

        await self._core.call("publish", add, fail_fast=True)

    # ---- events: what sessions.wait(receiver=fleet) asks, and iterating them ---------------

    def watch(self, session_id: str) -> asyncio.Future[SessionEvent]:
        """A future resolved by the next event for ``session_id`` that any replica
        publishes from now on. While Redis is unavailable it stays pending (a wait then
        polls), and the reason is logged."""
        check_text("session_id", session_id)
        if self._core.closed:
            return asyncio.get_running_loop().create_future()
        return Tail.of(self._core).watch(session_id)

    def events(
        self,
        *,
        session_id: str | None = None,
        type: SessionEventType | str | None = None,
        max_queue: int = 1000,
    ) -> AsyncIterator[SessionEvent]:
        """Every event published by any replica from the moment iteration begins, or those
        for ``session_id`` and of ``type`` (a SessionEventType or the vendor's event name).

        At most ``max_queue`` wait for the consumer (the oldest are dropped beyond).
        Raises FleetUnavailableError when Redis cannot be read; iterate again once it is
        back (events published meanwhile stay in the stream, but a new iteration starts
        from its own beginning).
        """
        if session_id is not None:
            check_text("session_id", session_id)
        if type is not None and not isinstance(type, str):
            raise InvalidRequestError("type", "must be a SessionEventType or an event name")
        check_count("max_queue", max_queue, minimum=1)
        return self._events(Subscription(session_id=session_id, kind=type, max_queue=max_queue))

    async def _events(self, subscription: Subscription) -> AsyncIterator[SessionEvent]:
        if self._core.closed:
            raise FleetUnavailableError("fleet events: the fleet is closed")
        tail = Tail.of(self._core)
        tail.subscribe(subscription)
        try:
            while True:
                yield await subscription.next()
        finally:
            tail.unsubscribe(subscription)

    # ---- leases ---------------------------------------------------------------------------

    def attach(self, client: BaseClient) -> LeaseListener:
        """The lease keeper of ``client`` (clients call this when made with ``fleet=``)."""
        return LeaseListener(self._core, client, ttl=self.lease_ttl, heartbeat=self.heartbeat)

    async def reap(
        self,
        clients: Mapping[str, Any] | Iterable[Any],
        *,
        timeout: float = 30.0,
        concurrency: int = 16,
    ) -> list[Reaped]:
        """Ends every session whose lease expired, with the client of its provider.

        ``clients``: a mapping of provider name to client (``{"videosdk": vs}``), or the
        clients themselves. Leases of other providers are left for a reaper that has
        their client. ``timeout`` bounds each end; ``concurrency`` ends run at once.
        Returns what was done, one :class:`Reaped` per lease claimed. One pass: run it
        on a schedule (``agentcloud fleet reap --every SECONDS`` does).
        """
        by_provider = _clients(clients)
        limit = _finite("timeout", timeout)
        workers = check_count("concurrency", concurrency, minimum=1)
        return await reap(
            self._core, by_provider, ttl=self.lease_ttl, timeout=limit, concurrency=workers
        )

    # ---- the shared retry budget ----------------------------------------------------------

    def budget(self, provider: str, *, rate: float, burst: float) -> FleetBudget:
        """A retry budget every replica shares: ``rate`` retries a second, ``burst`` at
        once. Pass it as ``RetryPolicy(budget=...)``. While Redis is unavailable each
        process spends a local bucket of the same rate and burst instead (logged)."""
        name = check_text("provider", provider, max_length=100)
        refill = _finite("rate", rate)
        if isinstance(burst, bool) or not isinstance(burst, (int, float)) or not 1 <= burst < 1e9:
            raise InvalidRequestError("burst", f"must be a number >= 1, got {burst!r}")
        return FleetBudget(self._core, name, rate=refill, burst=float(burst))

    # ---- closing --------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Closes every connection (idempotent). Fleet operations then raise
        FleetUnavailableError; attached clients' leases are no longer renewed."""
        if self._core.closed:
            return
        self._core.closed = True
        await self._core.links.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def _clients(clients: object) -> dict[str, Any]:
    if isinstance(clients, Mapping):
        pairs = list(clients.items())
    elif isinstance(clients, Iterable) and not isinstance(clients, (str, bytes)):
        pairs = [(getattr(client, "provider", None), client) for client in clients]
    else:
        raise InvalidRequestError("clients", "must map provider names to clients")
    found: dict[str, Any] = {}
    for name, client in pairs:
        provider = getattr(client, "provider", None)
        if not isinstance(name, str) or provider != name:
            raise InvalidRequestError(
                "clients", f"{name!r} must name its client's provider ({provider!r})"
            )
        if name in found:
            raise InvalidRequestError("clients", f"two clients for {name!r}")
        if not callable(getattr(getattr(client, "sessions", None), "end", None)):
            raise InvalidRequestError("clients", f"the {name} client has no sessions.end")
        found[name] = client
    return found
