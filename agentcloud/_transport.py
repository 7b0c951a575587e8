"""One pooled HTTP session per client: requests, deadlines, retries, error mapping, logging.

The transport knows no vendor. A provider describes each call as a :class:`Call` (method,
encoded path, query, body, how to authorize, whether it may be repeated) and hands the
transport an ``error_fields`` hook that reads its vendor's error bodies.

Bounds, all of them enforced here so no call can outlive them:

- **One deadline per call**: the retry policy's ``deadline``, a method's ``timeout=``, or the
  deadline of the operation the request belongs to (a start with its reconciliation, a
  wait), whichever is first. Each attempt is further bounded by the client's per-attempt
  timeout. Redirect hops, reading the body and decoding it all run inside the attempt's
  bound. A ``RequestTimeoutError`` says which bound ran out.
- **Bounded bodies**: a success body is read up to ``max_response_bytes`` (inflated bodies
  too: only gzip and deflate are asked for, and they are inflated incrementally under the
  same bound); past it the call raises a ResponseDecodeError that is not retried. An error
  body is read only up to :data:`ERROR_BODY_LIMIT`: enough for any message, never a
  proxy's 200 MB page. Large bodies are decoded on a worker thread, off the event loop.
- **Honest attempts**: aiohttp's own silent repeat of an idempotent request after a stale
  keep-alive connection is turned off for the client's own session, so ``attempts`` counts
  every request that left (a session passed as ``http=`` keeps its own setting).
"""

from __future__ import annotations

import asyncio
import enum
import ipaddress
import itertools
import json
import logging
import math
import platform
import time
import zlib
from asyncio import current_task
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from contextvars import ContextVar
from threading import get_ident
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit
from urllib.request import getproxies

import aiohttp
import attrs
from aiohttp.helpers import get_env_proxy_for_url
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from ._json import dumps as dumps_json
from ._json import loads as loads_json
from ._redact import Redactor, printable
from ._retry import BudgetSource, RetryPolicy, parse_retry_after, spend
from ._tasks import Deadlines, TimeoutScope, honour_cancel_after, restore_cancel_after
from ._version import __version__
from .errors import (
    AgentCloudError,
    APIError,
    InvalidRequestError,
    RequestTimeoutError,
    ResponseDecodeError,
    ServerError,
    TransportError,
    error_class_for_status,
)
from .hooks import HookRunner, RequestInfo, ResponseInfo, RetryInfo

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "ERROR_BODY_LIMIT",
    "Call",
    "ErrorFields",
    "Reply",
    "RetryMode",
    "Transport",
    "USER_AGENT",
    "default_error_fields",
    "operation_deadline",
    "outcome_is_ambiguous",
    "validate_base_url",
    "within_deadline",
]

logger = logging.getLogger("agentcloud")

T = TypeVar("T")

_MAX_REDIRECTS = 3
#: Characters of vendor text an error message quotes at most.
_ERROR_TEXT_LIMIT = 300
#: Characters of a vendor's request id or error code kept.
_TOKEN_LIMIT = 128
#: The default bound on a response body, inflated size included.
DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024
#: Bytes of an error answer's body read at most; the rest is never read.
ERROR_BODY_LIMIT = 64 * 1024
#: Bodies larger than this are inflated and parsed on a worker thread.
_OFF_LOOP_BYTES = 256 * 1024
#: How often (seconds) a client warns that its retry budget refused a retry.
_BUDGET_WARNING_INTERVAL = 60.0

USER_AGENT = (
    f"agentcloud/{__version__} aiohttp/{aiohttp.__version__} Python/{platform.python_version()}"
)
_ACCEPT_ENCODING = "gzip, deflate"


class RetryMode(enum.Enum):
    """Whether a call may be sent again after a failure."""

    #: Repeating it is harmless: retried on retry statuses, connection errors and timeouts.
    IDEMPOTENT = "idempotent"
    #: It creates something: retried only when it provably had no effect (the connection
    #: was never made, a 429, or the vendor said it did not act on it).
    AT_MOST_ONCE = "at-most-once"


# Call, Reply and _Bound are made for every request, so they are plain slotted classes
# rather than frozen ones: a frozen attrs class stores each field through a descriptor
# call (about 0.15 µs a field), which made these three a measurable share of a pooled
# request. They are the transport's own plumbing, never handed to users, and nothing
# changes them after they are made.


@attrs.define(kw_only=True)
class Call:
    """One HTTP call as a provider describes it.

    ``json`` is sent as JSON, ``data`` as raw bytes (with ``headers`` naming its type).
    With ``decode=False`` a success body is handed back as bytes (``Reply.body``) and not
    parsed. ``passthrough(status, body)`` may claim a non-2xx answer as a reply rather than
    an error (a bot's own 4xx behind a vendor's proxy).
    """

    operation: str
    method: str
    path: str
    query: Mapping[str, str] | None = None
    json: Any = None
    data: bytes | None = None
    headers: Mapping[str, str] | None = None
    authorization: Callable[[], str | None] | None = None
    mode: RetryMode = RetryMode.IDEMPOTENT
    decode: bool = True
    passthrough: Callable[[int, Any], bool] | None = None


@attrs.define
class Reply:
    """An answer: status, decoded JSON (None for an empty or undecoded body), headers, the
    vendor's request id, and the body's bytes (inflated)."""

    status: int
    data: Any
    headers: CIMultiDictProxy[str]
    request_id: str | None
    body: bytes = b""
    attempts: int = 1


@attrs.frozen(kw_only=True)
class ErrorFields:
    """What a vendor's error body says, and which exception class fits it.

    ``unprocessed`` says the vendor did not act on the request (a "not ready" answer), so
    even a call that creates something may be sent again.
    """

    error_class: type[APIError]
    message: str
    code: str | None = None
    details: Any = None
    unprocessed: bool = False


def _one_line(text: str, limit: int = _ERROR_TEXT_LIMIT) -> str:
    flat = " ".join(printable(text).split())
    if len(flat) > limit:
        flat = flat[:limit] + "..."
    return flat


def default_error_fields(status: int, body: Any) -> ErrorFields:
    """Reads the common error body shapes: ``message``/``error``/``msg`` and ``code``."""
    message: str | None = None
    code: str | None = None
    details: Any = None
    if isinstance(body, dict):
        for key in ("message", "error", "msg"):
            value = body.get(key)
            if isinstance(value, str) and value:
                message = value
                break
            if isinstance(value, dict) and isinstance(value.get("message"), str):
                message = value["message"]
                break
        raw_code = body.get("code")
        if raw_code is not None and not isinstance(raw_code, (dict, list)):
            code = str(raw_code)
        details = body.get("details")
    elif isinstance(body, str) and body.strip():
        message = f"non-JSON error body: {body}"
    return ErrorFields(
        error_class=error_class_for_status(status),
        message=message or f"HTTP {status} with no error message",
        code=code,
        details=details,
    )


@attrs.define
class _Bound:
    """A deadline on the policy clock and how to name it when it runs out."""

    at: float
    label: str


#: The bound of the operation the current request is part of, when that operation is several
#: requests (a start with its reconciliation, a wait): no request of it retries or waits
#: past that. Set with :func:`within_deadline`.
operation_deadline: ContextVar[_Bound | None] = ContextVar(
    "agentcloud_operation_deadline", default=None
)


async def within_deadline(deadline: float | None, call: Awaitable[T], *, label: str = "") -> T:
    """Awaits ``call`` with every request it makes bounded by ``deadline`` as well."""
    outer = operation_deadline.get()
    bound = outer
    if deadline is not None and (outer is None or deadline < outer.at):
        bound = _Bound(deadline, label or "the operation's deadline")
    token = operation_deadline.set(bound)
    try:
        return await call
    finally:
        operation_deadline.reset(token)


def outcome_is_ambiguous(error: BaseException) -> bool:
    """True when a failed call may still have taken effect at the vendor: a 5xx, a broken
    connection once the request was out, or a 2xx whose body could not be read (the vendor
    said yes; only what it made is unknown)."""
    if isinstance(error, (ServerError, ResponseDecodeError)):
        return True
    return isinstance(error, TransportError) and error.request_sent


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def validate_base_url(base_url: str, *, allow_insecure: bool) -> str:
    """Checks ``base_url`` is scheme, host and port only; https unless loopback or allowed.

    Returns it without a trailing slash, the host in its IDNA (ASCII) form.
    """
    if not isinstance(base_url, str) or not base_url:
        raise InvalidRequestError("base_url", "must be a non-empty string like https://host")
    # urlsplit silently drops tabs and line breaks; a URL holding them was not meant.
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in base_url):
        raise InvalidRequestError("base_url", "must not contain spaces or control characters")
    try:
        parts = urlsplit(base_url)
        if parts.port == 0:  # .port raises ValueError for a port that is not 1..65535
            raise ValueError("port 0")
        parsed = URL(base_url)
        host = parsed.raw_host
    except (ValueError, UnicodeError):
        raise InvalidRequestError("base_url", "is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or not host:
        raise InvalidRequestError("base_url", "must be an http(s) URL with a host")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise InvalidRequestError(
            "base_url", "must be scheme, host and port only; the SDK appends the API paths"
        )
    if parts.username or parts.password:
        raise InvalidRequestError("base_url", "must not carry credentials")
    if parts.scheme == "http" and not (allow_insecure or _is_loopback(parts.hostname)):
        raise InvalidRequestError(
            "base_url",
            "plain http is refused for a non-loopback host; pass allow_insecure=True to allow it",
        )
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc = f"{netloc}:{parts.port}"
    return f"{parts.scheme}://{netloc}"


def check_default_headers(headers: object) -> dict[str, str]:
    """``default_headers=``: plain header names and values; Authorization is the SDK's."""
    if headers is None:
        return {}
    if not isinstance(headers, Mapping):
        raise InvalidRequestError("default_headers", "must be a mapping of header names to values")
    checked: dict[str, str] = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise InvalidRequestError("default_headers", "names and values must be strings")
        if not name or any(ch in name for ch in " :\r\n\t") or not name.isascii():
            raise InvalidRequestError("default_headers", f"{name!r} is not a header name")
        if any(ch in value for ch in "\r\n\x00"):
            raise InvalidRequestError("default_headers", f"the value of {name} has a line break")
        if name.lower() in ("authorization", "host", "content-length"):
            raise InvalidRequestError("default_headers", f"{name} is set by the SDK itself")
        checked[name] = value
    return checked


class _LoopBinding:
    """The event loop a client is used on, the thread running it and the deadlines of its
    attempts' timeout scopes (one timer for them all, on that loop)."""

    __slots__ = ("deadlines", "loop", "thread")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.thread = get_ident()
        self.deadlines = Deadlines(loop)


class _SendState:
    """Where an attempt got to: a timeout or failure while the pool had not yet handed it
    a connection proves nothing was sent. Anything else (a session given as ``http=``, a
    connection that was handed out) counts as maybe sent."""

    __slots__ = ("connected", "entered")

    def __init__(self) -> None:
        self.entered = False
        self.connected = False

    @property
    def maybe_sent(self) -> bool:
        return not self.entered or self.connected


_send_state: ContextVar[_SendState | None] = ContextVar("agentcloud_send_state", default=None)


class _TrackingConnector(aiohttp.TCPConnector):
    """Marks the attempt in flight once the pool hands it a connection."""

    async def connect(self, req: Any, traces: Any, timeout: Any) -> Any:
        state = _send_state.get()
        if state is not None:
            state.entered = True
        connection = await super().connect(req, traces, timeout)
        if state is not None:
            state.connected = True
        return connection


def _env_proxy(url: URL) -> tuple[URL | None, aiohttp.BasicAuth | None]:
    """The proxy the environment names for ``url``, as aiohttp's ``trust_env`` finds it.

    Only the environment is read, unless it names a proxy for the scheme: then aiohttp
    also looks ~/.netrc up for the proxy's credentials (a small file, read once).
    """
    if url.scheme not in getproxies():
        return None, None
    try:
        return get_env_proxy_for_url(url)
    except LookupError:  # none named, or NO_PROXY exempts the host
        return None, None


class _TooLarge(Exception):
    pass


class _Undecodable(Exception):
    pass


def _inflate(raw: bytes, encoding: str, limit: int, *, truncate: bool) -> bytes:
    """``raw`` inflated (gzip or deflate) to at most ``limit`` bytes.

    Past the limit: cut there when ``truncate`` (an error's message needs only the start),
    else :class:`_TooLarge`. zlib is asked for at most ``limit + 1`` bytes, so a bomb is
    never inflated beyond the bound, however small it is on the wire.
    """
    candidates: tuple[int, ...]
    if encoding in ("gzip", "x-gzip"):
        candidates = (16 + zlib.MAX_WBITS,)
    else:  # deflate: zlib-wrapped as the RFC says, raw as some servers send it
        candidates = (zlib.MAX_WBITS, -zlib.MAX_WBITS)
    for wbits in candidates:
        inflater = zlib.decompressobj(wbits)
        try:
            out = inflater.decompress(raw, limit + 1)
        except zlib.error:
            continue
        if len(out) > limit or inflater.unconsumed_tail:
            if truncate:
                return out[:limit]
            raise _TooLarge
        if not inflater.eof and not truncate:
            raise _Undecodable("the compressed body is cut short")
        return out
    raise _Undecodable(f"the body is not valid {encoding}")


def _decode_body(raw: bytes, encoding: str, limit: int, *, parse: bool) -> tuple[bytes, Any]:
    """Inflates and parses a success body; runs on a worker thread for large bodies."""
    body = _inflate(raw, encoding, limit, truncate=False) if encoding else raw
    if not parse or not body or body.isspace():  # not body.strip(), which copies the body
        return body, None
    try:
        return body, loads_json(body)
    except (ValueError, RecursionError) as error:  # RecursionError: nested too deeply
        raise _Undecodable("not JSON") from error


class Transport:
    """Sends :class:`Call` s for one client over one pooled ``aiohttp.ClientSession``."""

    def __init__(
        self,
        *,
        provider: str,
        base_url: str,
        timeout: float | aiohttp.ClientTimeout,
        retry: RetryPolicy,
        http: aiohttp.ClientSession | None,
        error_fields: Callable[[int, Any], ErrorFields] = default_error_fields,
        redactor: Redactor,
        max_connections: int = 100,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        default_headers: Mapping[str, str] | None = None,
        hooks: Sequence[Any] | None = None,
    ) -> None:
        if isinstance(timeout, aiohttp.ClientTimeout):
            attempt_seconds = timeout.total
            # The per-attempt total is enforced around the whole attempt (hops and body
            # included); aiohttp keeps its finer connect and read limits.
            self._aiohttp_timeout = attrs.evolve(timeout, total=None)
        elif isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and timeout > 0:
            attempt_seconds = float(timeout)
            self._aiohttp_timeout = aiohttp.ClientTimeout(total=None)
        else:
            raise InvalidRequestError("timeout", "must be seconds > 0 or an aiohttp.ClientTimeout")
        self._attempt_seconds = math.inf if attempt_seconds is None else float(attempt_seconds)
        self._attempt_label = f"one attempt's {self._attempt_seconds:g}s"
        if not isinstance(retry, RetryPolicy):
            raise InvalidRequestError("retry", "must be an agentcloud.RetryPolicy")
        if (
            isinstance(max_response_bytes, bool)
            or not isinstance(max_response_bytes, int)
            or max_response_bytes < 1024
        ):
            raise InvalidRequestError("max_response_bytes", "must be an integer >= 1024")
        self.provider = provider
        self.base_url = base_url
        self.retry = retry
        self._deadline_label = f"the retry deadline of {retry.deadline:g}s"
        self.redact = redactor
        self.max_response_bytes = max_response_bytes
        self._origin = urlsplit(base_url)
        self._origin_url = URL(base_url)
        self._last_path, self._last_url = "", self._origin_url
        #: The proxy (and its credentials) of the client's own session; see ``_session``.
        self._proxy: tuple[URL | None, aiohttp.BasicAuth | None] = (None, None)
        self._error_fields = error_fields
        self._budget: BudgetSource = retry.new_budget()
        self._hooks = HookRunner(hooks)
        self._call_ids = itertools.count(1)
        self._base_headers = {
            "Accept": "application/json",
            "Accept-Encoding": _ACCEPT_ENCODING,
            "User-Agent": USER_AGENT,
            **check_default_headers(default_headers),
        }
        self._given_http = http
        self._own_http: aiohttp.ClientSession | None = None
        self._max_connections = max_connections
        #: The loop the client was first used on (set once, by :meth:`_bind`).
        self._binding: _LoopBinding | None = None
        self._loop_guard: AsyncGenerator[None, None] | None = None
        self._closed = False
        self._budget_warned_at = -math.inf

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def budget(self) -> BudgetSource:
        return self._budget

    def _running(self) -> tuple[asyncio.AbstractEventLoop, asyncio.Task[Any] | None]:
        """The running loop and task. The client's loop is known without asking asyncio
        (a system call per ask on Python 3.11) when this thread runs a task of it: a
        thread runs one loop at a time, so that task's loop is the running one. Otherwise
        asyncio is asked (and :meth:`_http` says if it is another loop)."""
        binding = self._binding
        if binding is not None and get_ident() == binding.thread:
            task = current_task(binding.loop)
            if task is not None:
                return binding.loop, task
        loop = asyncio.get_running_loop()
        return loop, current_task(loop)

    def running_loop(self) -> asyncio.AbstractEventLoop:
        """``asyncio.get_running_loop()``, without the system call where it can."""
        return self._running()[0]

    def _bind(self, loop: asyncio.AbstractEventLoop) -> _LoopBinding:
        """The client's loop, which must be the running ``loop``: the first loop a client
        is used on is its loop for good (its pooled connections belong to it)."""
        if self._closed:
            raise InvalidRequestError("client", "this client is closed; create a new one")
        binding = self._binding
        if binding is None:
            binding = self._binding = _LoopBinding(loop)
        elif binding.loop is not loop:
            raise InvalidRequestError(
                "client",
                "this client was first used on another event loop; create a client per event "
                "loop (e.g. inside the coroutine asyncio.run runs), or use agentcloud.sync",
            )
        return binding

    def _http(self) -> aiohttp.ClientSession:
        """The session to send on (the caller has bound the client to its loop)."""
        if self._given_http is not None:
            return self._given_http
        if self._own_http is None:
            # trust_env stays off: aiohttp would then look the proxy environment and
            # ~/.netrc up on a worker thread for every request (two thread hops, most of a
            # pooled request's cost). The proxy is looked up once instead (``_session``);
            # the client sends its own Authorization, so netrc has nothing to add.
            session = aiohttp.ClientSession(
                connector=_TrackingConnector(limit=self._max_connections),
                timeout=self._aiohttp_timeout,
                raise_for_status=False,
                trust_env=False,
                auto_decompress=False,
            )
            if hasattr(session, "_retry_connection"):
                session._retry_connection = False
            # The proxy the environment names for this origin (HTTP(S)_PROXY, NO_PROXY),
            # read once per session. Every request goes to this one origin: redirects
            # elsewhere are refused.
            self._proxy = _env_proxy(self._origin_url)
            self._own_http = session
        return self._own_http

    async def _session(self) -> aiohttp.ClientSession:
        """The session for this attempt; a new own session is closed with its loop."""
        http = self._http()
        if http is self._own_http and self._loop_guard is None:
            guard = self._close_at_loop_end(http)
            await guard.__anext__()
            self._loop_guard = guard
        return http

    async def _close_at_loop_end(
        self, session: aiohttp.ClientSession
    ) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            # Reached when the loop shuts its async generators down (asyncio.run does so
            # before it closes the loop), so a client that was never closed does not leak
            # its pooled connections, or aclose() reached it first.
            if self._own_http is session:
                self._own_http = None
            await session.close()

    async def aclose(self) -> None:
        """Closes the session the transport opened; a caller's own session is left open."""
        self._closed = True
        guard, self._loop_guard = self._loop_guard, None
        own, self._own_http = self._own_http, None
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if self._binding is None or running is not self._binding.loop:
            return  # the session belongs to a loop that is gone: nothing can close it now
        if guard is not None:
            await guard.aclose()
        elif own is not None:
            await own.close()

    def _bound(self, timeout: float | None) -> _Bound:
        policy = self.retry
        now = policy.clock()
        at = now + policy.deadline
        if timeout is not None and now + timeout < at:
            bound = _Bound(now + timeout, f"the call's {timeout:g}s")
        else:
            bound = _Bound(at, self._deadline_label)
        outer = operation_deadline.get()
        if outer is not None and outer.at < bound.at:
            bound = outer
        return bound

    async def request(self, call: Call, *, timeout: float | None = None) -> Reply:
        """Sends ``call``, retrying as its mode and the policy allow, all within one
        deadline (``timeout`` seconds at most, when given). Raises AgentCloudError."""
        policy = self.retry
        bound = self._bound(timeout)
        hooks = self._hooks
        call_id = next(self._call_ids) if hooks.active else 0
        attempts = 0
        while True:
            remaining = bound.at - policy.clock()
            try:
                if remaining <= 0:
                    raise RequestTimeoutError(
                        f"{call.operation}: {bound.label} ran out"
                        + (f" after {attempts} attempts" if attempts else " before it was sent"),
                        request_sent=attempts > 0,
                    )
                attempts += 1
                reply = await self._attempt(call, remaining, attempts, bound, call_id)
            except AgentCloudError as error:
                error.attempts = attempts
                delay, refused_by_budget = await self._retry_delay(call, error, attempts, bound)
                if hooks.active:
                    await self._emit_response(call, call_id, attempts, None, error, delay is None)
                if delay is None:
                    if refused_by_budget:
                        self._budget_refused(call, error)
                    elif attempts > 1 and isinstance(error, RequestTimeoutError):
                        _append(error, f", after {attempts} attempts")
                    raise
                if logger.isEnabledFor(logging.INFO):
                    logger.info(
                        "%s: attempt %d failed (%s); retrying in %.3fs",
                        call.operation,
                        attempts,
                        self.redact(f"{type(error).__name__}: {error}"),
                        delay,
                    )
                if hooks.active:
                    await hooks.emit(
                        "on_retry",
                        RetryInfo(
                            call_id=call_id,
                            provider=self.provider,
                            operation=call.operation,
                            attempt=attempts,
                            delay=delay,
                            error=error,
                        ),
                    )
                await policy.sleep(delay)
                continue
            self._budget.record_success()
            return reply if attempts == 1 else attrs.evolve(reply, attempts=attempts)

    def _budget_refused(self, call: Call, error: AgentCloudError) -> None:
        _append(error, " (the client's retry budget is spent, so it was not retried)")
        now = time.monotonic()
        if now - self._budget_warned_at >= _BUDGET_WARNING_INTERVAL:
            self._budget_warned_at = now
            logger.warning(
                "%s: the retry budget of this %s client is spent: failing calls are not "
                "retried until successes refill it (RetryPolicy(budget=..., budget_refill=...))",
                call.operation,
                self.provider,
            )

    async def _retry_delay(
        self, call: Call, error: AgentCloudError, attempts: int, bound: _Bound
    ) -> tuple[float | None, bool]:
        """Seconds to wait before the next attempt, or None to give up with ``error``; and
        whether it was the budget that said no."""
        policy = self.retry
        if attempts >= policy.max_attempts:
            return None, False
        if isinstance(error, APIError):
            unprocessed = error.unprocessed
            if error.status not in policy.retry_statuses and not unprocessed:
                return None, False
            if call.mode is RetryMode.AT_MOST_ONCE and error.status != 429 and not unprocessed:
                return None, False
        elif isinstance(error, TransportError):
            if call.mode is RetryMode.AT_MOST_ONCE and error.request_sent:
                return None, False
            if not error.retryable:
                return None, False
        elif isinstance(error, ResponseDecodeError):
            # A 2xx body that does not parse was cut or mangled on its way; reading again
            # is harmless for a call that may be repeated, never done for one that creates.
            if call.mode is not RetryMode.IDEMPOTENT or not error.retryable:
                return None, False
        else:
            return None, False
        retry_after = error.retry_after if isinstance(error, APIError) else None
        if retry_after is not None:
            if retry_after > policy.max_retry_after:
                return None, False
            delay = retry_after
        else:
            delay = policy.backoff(attempts - 1)
        if policy.clock() + delay >= bound.at:
            return None, False
        if not await spend(self._budget):
            return None, True
        return delay, False

    async def _emit_response(
        self,
        call: Call,
        call_id: int,
        attempt: int,
        status: int | None,
        error: BaseException | None,
        final: bool,
        *,
        elapsed: float = 0.0,
        request_id: str | None = None,
    ) -> None:
        if isinstance(error, APIError):
            status, request_id = error.status, error.request_id
        await self._hooks.emit(
            "on_response",
            ResponseInfo(
                call_id=call_id,
                provider=self.provider,
                operation=call.operation,
                method=call.method,
                url=self.base_url + self.redact(call.path),
                path=self.redact(call.path),
                attempt=attempt,
                status=status,
                elapsed=elapsed,
                request_id=request_id,
                error=error,
                final=final,
            ),
        )

    def _headers(self, call: Call) -> tuple[dict[str, str], bytes | None]:
        headers = dict(self._base_headers)
        data = call.data
        if call.json is not None:
            try:
                data = dumps_json(call.json)
            except (TypeError, ValueError) as error:  # checks upstream make this unreachable
                raise InvalidRequestError("body", f"must be JSON-serialisable: {error}") from None
            headers["Content-Type"] = "application/json"
        if call.headers:
            headers.update(call.headers)
        auth = call.authorization() if call.authorization is not None else None
        if auth is not None:
            headers["Authorization"] = auth
        return headers, data

    async def _attempt(
        self, call: Call, remaining: float, attempt: int, bound: _Bound, call_id: int
    ) -> Reply:
        loop, task = self._running()
        binding = self._bind(loop)
        if self._loop_guard is not None or self._given_http is not None:
            http = self._http()  # ready: no coroutine to await on every attempt
        else:
            http = await self._session()
        headers, data = self._headers(call)
        if self._attempt_seconds <= remaining:
            limit, label = self._attempt_seconds, self._attempt_label
        else:
            limit, label = remaining, bound.label
        # encoded=True: the provider already percent-encoded the path; yarl must not undo it.
        # A listing's pages and repeated starts share their path: its URL is kept.
        path = call.path
        if path == self._last_path:
            url = self._last_url
        else:
            # The origin's URL with the path put in: three times cheaper than parsing the
            # whole string, which a get by id would do for every new id.
            if path[:1] == "/" and path[1:2] != "/":
                url = self._origin_url.with_path(path, encoded=True)
            else:
                url = URL(self.base_url + path, encoded=True)
            self._last_path, self._last_url = path, url
        debug = logger.isEnabledFor(logging.DEBUG)
        hooks = self._hooks.active
        started = loop.time() if (debug or hooks) else 0.0
        if debug:
            logger.debug(
                "%s: %s %s%s attempt %d",
                call.operation,
                call.method,
                self.redact(call.path),
                self._query_text(call),
                attempt,
            )
        if hooks:
            await self._hooks.emit(
                "on_request",
                RequestInfo(
                    call_id=call_id,
                    provider=self.provider,
                    operation=call.operation,
                    method=call.method,
                    url=self.base_url + self.redact(call.path),
                    path=self.redact(call.path),
                    attempt=attempt,
                ),
            )
        state = _SendState()
        state_token = _send_state.set(state)
        if task is None:
            raise RuntimeError("agentcloud calls run in an asyncio task")
        at = loop.time() + limit if limit != math.inf else None
        scope = TimeoutScope(binding.deadlines, task, at)
        # A start or end runs in a task that declines cancellation; its deadline may not.
        restore = honour_cancel_after(task, at) if at is not None else None
        try:
            with scope:
                reply = await self._exchange(http, call, url, headers, data, state)
        except APIError as error:
            if debug:
                logger.debug(
                    "%s: %s %s -> %d (request id %s, %.1f ms)",
                    call.operation,
                    call.method,
                    self.redact(call.path),
                    error.status,
                    error.request_id,
                    (loop.time() - started) * 1000,
                )
            raise
        except TimeoutError:
            sent = state.maybe_sent
            if scope.expired():
                message = f"{call.operation}: no answer within {label}"
            else:  # one of aiohttp's finer limits (connect, sock_read) given by the caller
                message = f"{call.operation}: aiohttp's ClientTimeout ran out"
            raise RequestTimeoutError(message, request_sent=sent) from None
        finally:
            _send_state.reset(state_token)
            restore_cancel_after(task, restore)
        if debug or hooks:
            elapsed = loop.time() - started
            if debug:
                logger.debug(
                    "%s: %s %s -> %d (%d bytes, request id %s, %.1f ms)",
                    call.operation,
                    call.method,
                    self.redact(call.path),
                    reply.status,
                    len(reply.body),
                    reply.request_id,
                    elapsed * 1000,
                )
            if hooks:
                await self._emit_response(
                    call,
                    call_id,
                    attempt,
                    reply.status,
                    None,
                    True,
                    elapsed=elapsed,
                    request_id=reply.request_id,
                )
        return reply

    def _query_text(self, call: Call) -> str:
        if not call.query:
            return ""
        return "?" + self.redact("&".join(f"{key}={value}" for key, value in call.query.items()))

    async def _exchange(
        self,
        http: aiohttp.ClientSession,
        call: Call,
        url: URL,
        headers: dict[str, str],
        data: bytes | None,
        state: _SendState,
    ) -> Reply:
        method = call.method
        proxy, proxy_auth = self._proxy if http is self._own_http else (None, None)
        try:
            for hop in range(_MAX_REDIRECTS + 1):
                async with http.request(
                    method,
                    url,
                    params=call.query,
                    data=data,
                    headers=headers,
                    timeout=self._aiohttp_timeout,
                    allow_redirects=False,
                    auto_decompress=False,
                    proxy=proxy,
                    proxy_auth=proxy_auth,
                ) as response:
                    status = response.status
                    response_headers = response.headers
                    if (
                        300 <= status < 400
                        and "Location" in response_headers
                        and hop < _MAX_REDIRECTS
                    ):
                        url = self._same_origin_redirect(call, str(url), response_headers, status)
                        if status == 303:  # "see other": the request was handled; GET it
                            method, data = "GET", None
                        continue
                    length = response.content_length
                    if (
                        length is not None
                        and 200 <= status < 300
                        and length <= self.max_response_bytes
                    ):
                        raw = await response.read()  # the usual answer, read in one piece
                    else:
                        raw = await self._read(response, status)
                break
        except aiohttp.ClientConnectorCertificateError as exc:
            raise TransportError(
                f"{call.operation}: TLS certificate check failed: {exc.__class__.__name__}",
                request_sent=False,
                retryable=False,
            ) from None
        except aiohttp.ConnectionTimeoutError:
            raise RequestTimeoutError(
                f"{call.operation}: timed out connecting to {self._origin.netloc}",
                request_sent=False,
            ) from None
        except aiohttp.ClientConnectorError as exc:
            raise TransportError(
                f"{call.operation}: cannot connect to {self._origin.netloc}: "
                f"{self.redact(str(exc.os_error))}",
                request_sent=False,
            ) from None
        except _TooLarge:
            raise ResponseDecodeError(
                f"{call.operation}: the {status} answer is larger than max_response_bytes "
                f"({self.max_response_bytes} bytes); it was not read",
                status=status,
                request_id=self._request_id(response_headers),
                retryable=False,
            ) from None
        except (aiohttp.ClientError, OSError) as exc:
            if isinstance(exc, TimeoutError):
                raise
            raise TransportError(
                f"{call.operation}: connection failed: {type(exc).__name__}: "
                f"{self.redact(str(exc))}",
                request_sent=state.maybe_sent,
            ) from None
        return await self._answer(call, status, response_headers, raw)

    async def _read(self, response: aiohttp.ClientResponse, status: int) -> bytes:
        """The body as sent (still compressed), read under the size bounds."""
        success = 200 <= status < 300
        limit = (
            self.max_response_bytes if success else min(ERROR_BODY_LIMIT, self.max_response_bytes)
        )
        length = response.content_length
        if length is not None and length <= limit:
            return await response.read()
        if success and length is not None:
            raise _TooLarge
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_any():
            size += len(chunk)
            if size > limit:
                if success:
                    raise _TooLarge
                chunks.append(chunk[: len(chunk) - (size - limit)])
                break  # an error's message needs only the start; the rest is not read
            chunks.append(chunk)
        return b"".join(chunks)

    def _request_id(self, headers: Mapping[str, str]) -> str | None:
        value = headers.get("x-request-id") or headers.get("request-id")
        if not value:
            return None
        # A vendor (or proxy) may echo the Authorization header here.
        return _one_line(self.redact(value), _TOKEN_LIMIT)

    async def _answer(
        self, call: Call, status: int, headers: CIMultiDictProxy[str], raw: bytes
    ) -> Reply:
        request_id = self._request_id(headers)
        encoding = headers.get("Content-Encoding", "").strip().lower()
        if encoding == "identity":
            encoding = ""
        if encoding and encoding not in ("gzip", "x-gzip", "deflate") and raw:
            raise ResponseDecodeError(
                f"{call.operation}: the {status} answer uses a content encoding agentcloud "
                f"did not ask for ({_one_line(encoding, 32)})",
                status=status,
                request_id=request_id,
                retryable=False,
            )
        if 200 <= status < 300:
            body, data = await self._decode_success(call, status, raw, encoding, request_id)
            return Reply(status, data, headers, request_id, body)
        try:
            body = _inflate(raw, encoding, ERROR_BODY_LIMIT, truncate=True) if encoding else raw
        except _Undecodable:
            body = b""
        decoded = self._decode_error_body(body)
        if call.passthrough is not None and call.passthrough(status, decoded):
            return Reply(status, decoded if call.decode else None, headers, request_id, body)
        raise self._error(call, status, decoded, headers, request_id)

    async def _decode_success(
        self, call: Call, status: int, raw: bytes, encoding: str, request_id: str | None
    ) -> tuple[bytes, Any]:
        limit = self.max_response_bytes
        try:
            if len(raw) > _OFF_LOOP_BYTES or (encoding and len(raw) > _OFF_LOOP_BYTES // 16):
                return await asyncio.to_thread(
                    _decode_body, raw, encoding, limit, parse=call.decode
                )
            return _decode_body(raw, encoding, limit, parse=call.decode)
        except _TooLarge:
            raise ResponseDecodeError(
                f"{call.operation}: the {status} answer inflates past max_response_bytes "
                f"({limit} bytes)",
                status=status,
                request_id=request_id,
                retryable=False,
            ) from None
        except _Undecodable as error:
            body = raw if not encoding else b""
            # Redacted before it is cut short, so no secret survives half-cut at the edge.
            text = self.redact(body[:4096].decode("utf-8", "replace"))
            quoted = f": {_one_line(text[:200])}" if text.strip() else ""
            raise ResponseDecodeError(
                f"{call.operation}: the {status} answer is {error}{quoted}",
                status=status,
                request_id=request_id,
            ) from None

    def _decode_error_body(self, body: bytes) -> Any:
        if not body.strip():
            return None
        # Redacted whole (at most ERROR_BODY_LIMIT), before it is parsed or cut: the body
        # is kept on the error, and a vendor may echo our credentials anywhere in it.
        text = self.redact(body.decode("utf-8", "replace"))
        if text.lstrip()[:1] in ("{", "["):
            try:
                return json.loads(text)
            except (ValueError, RecursionError):
                pass
        return text[:4096]

    def _same_origin_redirect(
        self, call: Call, current: str, headers: Mapping[str, str], status: int
    ) -> URL:
        # A redirect answers "not here": the request was not carried out, so refusing to
        # follow leaves nothing behind, except after a 303, which answers a request that was.
        acted = status == 303
        try:
            target = urljoin(current, headers["Location"])
            parts = urlsplit(target)
            next_url = URL(target)
            origin = (parts.scheme, parts.hostname, parts.port)
        except (ValueError, UnicodeError):  # e.g. "http://[bad": the vendor's header
            raise TransportError(
                f"{call.operation}: the redirect's Location is not a valid URL",
                request_sent=acted,
                retryable=False,
            ) from None
        ours = (self._origin.scheme, self._origin.hostname, self._origin.port)
        if origin != ours or parts.username or parts.password:
            # Following would hand our Authorization header to another host. The target is
            # not quoted: a hostile Location may carry our own credentials back.
            raise TransportError(
                f"{call.operation}: refused a redirect to another host ({status})",
                request_sent=acted,
                retryable=False,
            )
        return next_url

    def _error(
        self,
        call: Call,
        status: int,
        decoded: Any,
        headers: CIMultiDictProxy[str] | CIMultiDict[str],
        request_id: str | None,
    ) -> APIError:
        try:
            fields = self._error_fields(status, decoded)
        except Exception:  # a hook must never turn an error answer into a crash
            fields = default_error_fields(status, decoded)
        message = _one_line(self.redact(fields.message))
        if status in (301, 302, 303, 307, 308):
            message = f"redirect not followed: {message}"
        code = None if fields.code is None else _one_line(self.redact(fields.code), _TOKEN_LIMIT)
        error = fields.error_class(
            message,
            status=status,
            code=code,
            request_id=request_id,
            provider=self.provider,
            body=decoded,
            details=fields.details,
            retry_after=parse_retry_after(headers),
        )
        error.unprocessed = fields.unprocessed
        return error


def _append(error: AgentCloudError, text: str) -> None:
    """Adds ``text`` to the error's message (its ``str``)."""
    if error.args and isinstance(error.args[0], str):
        error.args = (error.args[0] + text, *error.args[1:])
