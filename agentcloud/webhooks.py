"""Session webhooks: verified, parsed, deduplicated, and queued for bots to await.

Vendor-free: each provider module supplies a :class:`WebhookFormat` (``WEBHOOK_FORMAT``)
that knows its headers, signature scheme and body; :func:`parse` and
:class:`WebhookReceiver` find it through the registry.

Safe by default:

- **Verification is required.** ``parse()`` and ``WebhookReceiver`` need the provider's key
  material (``public_key=``, ``key_source=``, ``secret=``..., as its format names it); without
  it they raise InvalidRequestError naming the argument, unless ``verify=False`` is given,
  which is logged once at WARNING.
- **Cheap checks first.** A receiver refuses oversized, compressed or unsigned deliveries
  before it reads a body or fetches a key; the key is fetched once for all waiting
  deliveries, a failed fetch is remembered for ``key_retry_after`` seconds, and a failed
  signature check fetches the key again (the vendor may have rotated it) at most once per
  ``key_refresh_interval``.
- **No replays.** A receiver accepts a delivery once within ``replay_window`` seconds (by the
  vendor's delivery id, else a hash of the verified body); a repeat is answered 200, so the
  vendor stops retrying, counted in ``stats.duplicates`` and not queued. Memory stays
  bounded (``max_replay_entries``).
- **Slow clients are cut** when served standalone (``WebhookReceiver.serve``): bounded
  connections, head, body and idle times (see :class:`ServerLimits`).

When the queue is full the *oldest* event is dropped and counted in ``stats.dropped``: a bot
that fell behind wants the newest state of its sessions, and the vendor must never be made
to wait on a slow bot.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

import attrs
from aiohttp import web
from multidict import CIMultiDict

from ._checks import check_count, check_seconds, check_timeout
from ._serving import ServerLimits, serve_app
from .errors import (
    InvalidRequestError,
    RequestTimeoutError,
    WebhookVerificationError,
)
from .models import SessionEvent, SessionEventType

__all__ = [
    "DEFAULT_MAX_BODY",
    "KeyMaterial",
    "KeyRing",
    "ReplayGuard",
    "ServerLimits",
    "SessionEvent",
    "SessionEventType",
    "WebhookFormat",
    "WebhookReceiver",
    "WebhookStats",
    "format_for",
    "json_body",
    "parse",
    "verify_signature",
]

logger = logging.getLogger("agentcloud")

DEFAULT_MAX_BODY = 64 * 1024
"""Webhook bodies are small; anything larger is refused before it is read whole."""
DEFAULT_REPLAY_WINDOW = 24 * 3600.0
"""Seconds a delivery is remembered, so a replay within them is refused."""


class WebhookFormat(Protocol):
    """How one provider's webhooks are signed and shaped (its module's ``WEBHOOK_FORMAT``).

    ``key_arguments`` are the keyword arguments of key material that ``parse()`` and
    ``WebhookReceiver`` accept for it; ``keys`` turns the ones given into a
    :class:`KeyMaterial` (None when none was given) and raises InvalidRequestError naming
    a bad one.
    """

    provider: str
    key_arguments: tuple[str, ...]

    def keys(self, material: Mapping[str, Any]) -> KeyMaterial | None:
        """The key material the caller gave (``key_arguments`` of it), or None when none was given;
        InvalidRequestError naming a bad one.
        """
        ...

    def signed(self, headers: Mapping[str, str]) -> bool:
        """Whether the delivery carries a signature at all (checked before any key work)."""
        ...

    def verify(self, body: bytes, headers: Mapping[str, str], key: Any, *, now: float) -> None:
        """Raises WebhookVerificationError unless ``key`` signs this delivery."""
        ...

    def parse(
        self, body: bytes, headers: Mapping[str, str], *, received_at: datetime
    ) -> SessionEvent:
        """The event; InvalidRequestError naming ``body`` when it is not one."""
        ...


def format_for(provider: str) -> WebhookFormat:
    """The webhook format of a registered provider; InvalidRequestError if it has none."""
    from .providers import get_provider

    info = get_provider(provider)
    found: WebhookFormat | None = info.attribute("WEBHOOK_FORMAT")
    if found is None:
        raise InvalidRequestError("provider", f"{info.name!r} sends no session webhooks")
    return found


def _format_from_keys(material: Mapping[str, Any]) -> WebhookFormat:
    """The one provider whose key arguments were given (so ``provider=`` may be left out)."""
    from .providers import provider_infos

    given = {name for name, value in material.items() if value is not None}
    matches = []
    for info in provider_infos():
        try:
            found: WebhookFormat | None = info.attribute("WEBHOOK_FORMAT")
        except ImportError:
            continue
        if found is not None and given and given <= set(found.key_arguments):
            matches.append(found)
    if len(matches) != 1:
        raise InvalidRequestError("provider", "name the provider whose webhooks these are")
    return matches[0]


def json_body(body: bytes) -> dict[str, Any]:
    """A delivery's body as a JSON object; InvalidRequestError naming ``body`` otherwise.

    NaN and infinities are refused, as every vendor's serializer never writes them.
    """
    try:
        decoded = json.loads(body, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequestError("body", "is not JSON") from None
    except RecursionError:  # '[[[[...': more nesting than the parser takes
        raise InvalidRequestError("body", "is nested too deeply") from None
    if not isinstance(decoded, dict):
        raise InvalidRequestError("body", "must be a JSON object")
    return decoded


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_unverified_warned: set[str] = set()


def _warn_unverified(provider: str) -> None:
    if provider not in _unverified_warned:
        _unverified_warned.add(provider)
        logger.warning(
            "%s webhooks are accepted WITHOUT verification (verify=False): anyone who can "
            "reach the endpoint can forge events",
            provider,
        )


def _headers(headers: object) -> CIMultiDict[str]:
    if isinstance(headers, CIMultiDict):
        return headers
    if not isinstance(headers, Mapping):
        raise InvalidRequestError("headers", "must be a mapping of header names to values")
    copied: CIMultiDict[str] = CIMultiDict()
    for name, value in headers.items():
        if isinstance(name, str) and isinstance(value, str):
            copied.add(name, value)
    return copied


def parse(
    provider: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    verify: bool = True,
    now: Callable[[], datetime] | None = None,
    **key_material: Any,
) -> SessionEvent:
    """Verifies and parses one webhook delivery, in any web framework.

    ``key_material`` is the provider's (``public_key=``, ``secret=``..., as its webhook
    format names it). Raises WebhookVerificationError for a missing or wrong signature,
    InvalidRequestError naming ``body`` for a body that is not a webhook, and naming the key
    argument when no key material is given without ``verify=False``. ``now`` is the clock
    that stamps ``received_at`` and checks timestamp tolerances.
    """
    fmt = format_for(provider)
    if not isinstance(body, (bytes, bytearray)):
        raise InvalidRequestError("body", "must be the raw request bytes, as received")
    raw = bytes(body)
    header_map = _headers(headers)
    received_at = now() if now is not None else datetime.now(UTC)
    keys = fmt.keys(key_material) if verify else None
    if keys is None:
        if verify:
            raise InvalidRequestError(
                fmt.key_arguments[0],
                f"missing: {provider} webhooks are verified with "
                f"{' or '.join(fmt.key_arguments)}; pass verify=False to skip (unsafe)",
            )
        _warn_unverified(fmt.provider)
    else:
        if keys.fixed is None:
            raise InvalidRequestError(
                fmt.key_arguments[0], "parse() needs the key itself, not a source to fetch it"
            )
        if not fmt.signed(header_map):
            raise WebhookVerificationError("the delivery carries no signature")
        fmt.verify(raw, header_map, keys.fixed, now=received_at.timestamp())
    return fmt.parse(raw, header_map, received_at=received_at)


def _same(value: Any) -> Any:
    return value


@attrs.frozen(kw_only=True)
class KeyMaterial:
    """What a format made of the caller's key arguments: the key itself (``fixed``), or an
    async ``source`` that fetches it and ``load`` that turns what it returns into a key."""

    fixed: Any = None
    source: Callable[[], Awaitable[Any]] | None = None
    load: Callable[[Any], Any] = _same


def verify_signature(
    provider: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    now: Callable[[], datetime] | None = None,
    **key_material: Any,
) -> None:
    """Raises WebhookVerificationError unless the delivery is signed with the provider's
    key material (what :func:`parse` checks before it parses)."""
    parse_time = now() if now is not None else datetime.now(UTC)
    fmt = format_for(provider)
    keys = fmt.keys(key_material)
    if keys is None or keys.fixed is None:
        raise InvalidRequestError(
            fmt.key_arguments[0], f"{' or '.join(fmt.key_arguments)} is needed to verify"
        )
    header_map = _headers(headers)
    if not fmt.signed(header_map):
        raise WebhookVerificationError("the delivery carries no signature")
    fmt.verify(bytes(body), header_map, keys.fixed, now=parse_time.timestamp())


class KeyRing:
    """The key a receiver verifies with: given, or fetched.

    A fetched key is fetched once for every delivery waiting on it; a failed fetch is
    remembered for ``retry_after`` seconds (deliveries meanwhile are refused at once); and
    after a failed signature check :meth:`refresh` fetches it again, at most once every
    ``refresh_interval`` seconds, in case the vendor rotated it.
    """

    def __init__(
        self,
        material: KeyMaterial,
        *,
        retry_after: float = 1.0,
        refresh_interval: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if material.fixed is None and material.source is None:
            raise ValueError("a KeyRing needs a key or a source")
        self._key = material.fixed
        self._source = material.source
        self._load = material.load
        self._retry_after = retry_after
        self._refresh_interval = refresh_interval
        self._clock = clock
        self._fetching: asyncio.Future[Any] | None = None
        self._failed_at = -math.inf
        self._refreshed_at = -math.inf

    @property
    def refreshable(self) -> bool:
        """Whether the key is fetched (and so can be fetched again after a failed check)."""
        return self._source is not None

    def __repr__(self) -> str:
        return f"KeyRing({'fetched' if self._source else 'fixed'})"

    async def get(self) -> Any:
        """The key: the given one, or the fetched one (fetched on first need, once for every caller
        waiting on it).
        """
        if self._key is not None:
            return self._key
        return await self._fetch()

    async def refresh(self) -> Any | None:
        """A freshly fetched key, or None when one was fetched too recently."""
        if self._source is None or self._clock() - self._refreshed_at < self._refresh_interval:
            return None
        self._refreshed_at = self._clock()
        # The key in hand stays until a new one arrives: a refresh that fails (the key
        # server down while an attacker sends bad signatures) must not refuse valid ones.
        return await self._fetch()

    async def _fetch(self) -> Any:
        if self._clock() - self._failed_at < self._retry_after:
            raise LookupError("the key fetch failed moments ago")
        if self._fetching is None:
            self._fetching = asyncio.ensure_future(self._fetch_once())
        fetching = self._fetching
        return await asyncio.shield(fetching)

    async def _fetch_once(self) -> Any:
        assert self._source is not None
        try:
            key = self._load(await self._source())
        except BaseException:
            self._failed_at = self._clock()
            raise
        finally:
            self._fetching = None
        self._key = key
        self._refreshed_at = self._clock()
        return key


class ReplayGuard:
    """Remembers accepted deliveries for ``window`` seconds, at most ``max_entries``."""

    def __init__(
        self,
        *,
        window: float = DEFAULT_REPLAY_WINDOW,
        max_entries: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._window = window
        self._max = max_entries
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    async def seen(self, key: str) -> bool:
        """True when ``key`` was accepted within the window; otherwise records it."""
        now = self._clock()
        while self._seen:
            oldest, at = next(iter(self._seen.items()))
            if now - at < self._window and len(self._seen) < self._max:
                break
            del self._seen[oldest]
        if key in self._seen:
            return True
        self._seen[key] = now
        return False


class EventSink(Protocol):
    """Where a receiver also sends what it accepts (``agentcloud.fleet`` publishes it to
    every replica), and who decides fleet-wide whether a delivery is a replay."""

    async def seen(self, key: str) -> bool: ...

    async def publish(self, event: SessionEvent) -> None: ...


def delivery_key(event: SessionEvent, body: bytes) -> str:
    """What identifies a delivery across redeliveries: the vendor's id, else the body."""
    if event.delivery_id:
        return f"{event.provider}:id:{event.delivery_id}"
    return f"{event.provider}:sha256:{hashlib.sha256(body).hexdigest()}"


@attrs.define
class WebhookStats:
    """What a receiver has seen: accepted events, duplicates and rejections by reason."""

    accepted: int = 0
    dropped: int = 0
    duplicates: int = 0
    unsigned: int = 0
    bad_signature: int = 0
    bad_body: int = 0
    too_large: int = 0
    encoded: int = 0
    slow: int = 0
    key_unavailable: int = 0

    @property
    def rejected(self) -> int:
        """Deliveries refused for any reason (duplicates and dropped events are not rejections)."""
        return (
            self.unsigned
            + self.bad_signature
            + self.bad_body
            + self.too_large
            + self.encoded
            + self.slow
            + self.key_unavailable
        )


class WebhookReceiver:
    """Verifies, parses and queues webhook deliveries for ``async for`` and ``next()``.

    Mount ``receiver.handle`` on your own aiohttp app, or serve it standalone with
    ``async with WebhookReceiver.serve(host, port, ...) as receiver`` (``receiver.url`` is
    the URL to hand the vendor). Key material is the provider's (``public_key=`` or
    ``key_source=``, ``secret=``..., as its format names it); ``provider=`` may be left
    out when the key arguments name it. ``verify=False`` accepts unsigned deliveries
    (logged once at WARNING; for local experiments only). ``fleet=`` shares accepted events
    and replay protection with every replica (``agentcloud.fleet``).
    """

    def __init__(
        self,
        *,
        provider: str | None = None,
        verify: bool = True,
        max_queue: int = 1000,
        max_body: int = DEFAULT_MAX_BODY,
        replay_window: float = DEFAULT_REPLAY_WINDOW,
        max_replay_entries: int = 100_000,
        key_retry_after: float = 1.0,
        key_refresh_interval: float = 60.0,
        body_timeout: float = 10.0,
        fleet: EventSink | None = None,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] | None = None,
        **key_material: Any,
    ) -> None:
        if not isinstance(verify, bool):
            raise InvalidRequestError("verify", "must be True or False")
        self._format = format_for(provider) if provider is not None else None
        if self._format is None:
            self._format = _format_from_keys(key_material)
        fmt = self._format
        unknown = set(key_material) - set(fmt.key_arguments)
        if unknown:
            raise InvalidRequestError(
                sorted(unknown)[0],
                f"is not key material of {fmt.provider} webhooks ({', '.join(fmt.key_arguments)})",
            )
        self.provider = fmt.provider
        self._max_queue = check_count("max_queue", max_queue, minimum=1)
        self._max_body = check_count("max_body", max_body, minimum=1)
        self._body_timeout = check_seconds("body_timeout", body_timeout, allow_infinite=False)
        window = check_seconds("replay_window", replay_window, allow_infinite=False)
        entries = check_count("max_replay_entries", max_replay_entries, minimum=1)
        retry_after = check_seconds("key_retry_after", key_retry_after, allow_infinite=False)
        refresh = check_seconds("key_refresh_interval", key_refresh_interval)
        keys = fmt.keys(key_material)
        if not verify:
            keys = None
        elif keys is None:
            raise InvalidRequestError(
                fmt.key_arguments[0],
                f"missing: {fmt.provider} webhooks are verified with "
                f"{' or '.join(fmt.key_arguments)}; pass verify=False to skip (unsafe)",
            )
        self._ring: KeyRing | None = None
        if keys is None:
            _warn_unverified(fmt.provider)
        else:
            self._ring = KeyRing(
                keys, retry_after=retry_after, refresh_interval=refresh, clock=clock
            )
        self._verify = self._ring is not None
        self._replays = ReplayGuard(window=window, max_entries=entries, clock=clock)
        self._fleet = fleet
        self._now = now
        self.stats = WebhookStats()
        self.url: str | None = None
        self._events: deque[SessionEvent] = deque()
        self._arrival = asyncio.Condition()
        self._watchers: dict[str, list[asyncio.Future[SessionEvent]]] = {}

    def __repr__(self) -> str:
        return (
            f"WebhookReceiver(provider={self.provider!r}, url={self.url!r}, "
            f"queued={len(self._events)})"
        )

    async def handle(self, request: web.Request) -> web.Response:
        """The aiohttp handler: 200 when accepted (or a replay), 400/401/408/413/415/503
        when refused."""
        fmt = self._format
        assert fmt is not None
        encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            # Never inflated: a compressed bomb costs nothing when it is not opened.
            self.stats.encoded += 1
            return _refusal(415, "compressed bodies are not accepted", close=True)
        if request.content_length is not None and request.content_length > self._max_body:
            self.stats.too_large += 1
            return _refusal(413, "body too large", close=True)
        if self._verify and not fmt.signed(request.headers):
            self.stats.unsigned += 1
            return _refusal(401, "the delivery carries no signature", close=True)
        try:
            async with asyncio.timeout(self._body_timeout):
                body = await _read_limited(request, self._max_body)
        except _TooLarge:
            self.stats.too_large += 1
            return _refusal(413, "body too large", close=True)
        except TimeoutError:
            self.stats.slow += 1
            return _refusal(408, "the body took too long", close=True)
        # The client went away (or was evicted) mid-body; aiohttp says so with either.
        except (ConnectionError, RuntimeError):
            self.stats.slow += 1
            return _refusal(400, "the body was cut short", close=True)
        received_at = self._now() if self._now is not None else datetime.now(UTC)
        if self._ring is not None:
            refusal = await self._check_signature(fmt, body, request.headers, received_at)
            if refusal is not None:
                return refusal
        try:
            event = fmt.parse(body, request.headers, received_at=received_at)
        except InvalidRequestError as error:
            self.stats.bad_body += 1
            return _refusal(400, str(error))
        key = delivery_key(event, body)
        if await self._is_replay(key):
            self.stats.duplicates += 1
            return web.json_response({"ok": True, "duplicate": True})
        await self.put(event)
        if self._fleet is not None:
            await self._publish(event)
        return web.json_response({"ok": True})

    async def _check_signature(
        self, fmt: WebhookFormat, body: bytes, headers: Mapping[str, str], at: datetime
    ) -> web.Response | None:
        ring = self._ring
        assert ring is not None
        try:
            key = await ring.get()
        except Exception:
            self.stats.key_unavailable += 1
            logger.warning("webhook verification key unavailable; delivery refused", exc_info=True)
            return _refusal(503, "verification key unavailable")
        try:
            fmt.verify(body, headers, key, now=at.timestamp())
            return None
        except WebhookVerificationError as error:
            failure = error
        if ring.refreshable:
            try:
                fresh = await ring.refresh()
            except Exception:
                fresh = None
            if fresh is not None:
                try:
                    fmt.verify(body, headers, fresh, now=at.timestamp())
                    return None
                except WebhookVerificationError as error:
                    failure = error
        self.stats.bad_signature += 1
        return _refusal(401, str(failure))

    async def _is_replay(self, key: str) -> bool:
        if self._fleet is not None:
            try:
                return await self._fleet.seen(key)
            except Exception:
                logger.warning("fleet replay check failed; checked locally", exc_info=True)
        return await self._replays.seen(key)

    async def _publish(self, event: SessionEvent) -> None:
        assert self._fleet is not None
        try:
            await self._fleet.publish(event)
        except Exception:
            logger.warning("could not publish a webhook event to the fleet", exc_info=True)

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
            if kind is not None and event.type != kind and event.name != kind:
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
        or the vendor's event name), waiting up to ``timeout`` seconds for one; other events
        stay queued. Raises RequestTimeoutError when none came in time."""
        limit = check_timeout("timeout", timeout)
        loop = asyncio.get_running_loop()
        give_up = None if limit is None or limit == math.inf else loop.time() + limit
        async with self._arrival:
            while True:
                event = self._take(session_id, type)
                if event is not None:
                    return event
                remaining = None if give_up is None else give_up - loop.time()
                if remaining is not None and remaining <= 0:
                    raise RequestTimeoutError(f"no matching webhook event within {limit:g}s")
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
        cls,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        path: str = "/webhooks",
        public_url: str | None = None,
        limits: ServerLimits | None = None,
        **kwargs: Any,
    ) -> _Serving:
        """``async with WebhookReceiver.serve(host, port, ...) as receiver`` serves it
        standalone (port 0 picks a free port). ``receiver.url`` is ``public_url`` when given
        (what the vendor should call, e.g. behind a load balancer), else the local URL;
        never a wildcard address. ``limits`` bounds slow and numerous clients."""
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise InvalidRequestError("port", "must be an integer 0..65535")
        if not isinstance(host, str) or not host:
            raise InvalidRequestError("host", "must be a host name or address")
        if not isinstance(path, str) or not path.startswith("/"):
            raise InvalidRequestError("path", "must start with /")
        if public_url is not None and not (
            isinstance(public_url, str) and public_url.startswith(("https://", "http://"))
        ):
            raise InvalidRequestError("public_url", "must be an http(s) URL")
        return _Serving(cls(**kwargs), host, port, path, public_url, limits or ServerLimits())


class _Serving:
    def __init__(
        self,
        receiver: WebhookReceiver,
        host: str,
        port: int,
        path: str,
        public_url: str | None,
        limits: ServerLimits,
    ) -> None:
        self._receiver = receiver
        self._host = host
        self._port = port
        self._path = path
        self._public_url = public_url
        self._limits = limits
        self._stop: Callable[[], Awaitable[None]] | None = None

    async def __aenter__(self) -> WebhookReceiver:
        receiver = self._receiver
        stop, port = await serve_app(
            receiver.app(self._path), self._host, self._port, limits=self._limits
        )
        self._stop = stop
        if self._public_url is not None:
            receiver.url = self._public_url
        else:
            host = self._host
            if host in ("0.0.0.0", ""):
                host = "127.0.0.1"
            elif host == "::":
                host = "::1"
            shown = f"[{host}]" if ":" in host else host
            receiver.url = f"http://{shown}:{port}{self._path}"
        return receiver

    async def __aexit__(self, *exc_info: object) -> None:
        if self._stop is not None:
            await self._stop()
            self._stop = None


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


def _refusal(status: int, reason: str, *, close: bool = False) -> web.Response:
    response = web.json_response({"error": reason}, status=status)
    if close:
        # The rest of what this client sends is not wanted: do not read it to keep alive.
        response.force_close()
    return response
