"""One pooled HTTP session per client: requests, timeouts, retries, error mapping, logging.

The transport knows no vendor. A provider describes each call as a :class:`Call` (method,
encoded path, query, JSON body, how to authorize, whether it may be repeated) and hands the
transport an ``error_fields`` hook that reads its vendor's error bodies.
"""

from __future__ import annotations

import enum
import ipaddress
import json
import logging
import math
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextvars import ContextVar
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

import aiohttp
import attrs
from multidict import CIMultiDictProxy
from yarl import URL

from ._retry import RetryBudget, RetryPolicy, parse_retry_after
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

__all__ = [
    "Call",
    "ErrorFields",
    "Redactor",
    "Reply",
    "RetryMode",
    "Transport",
    "default_error_fields",
    "outcome_is_ambiguous",
    "operation_deadline",
    "validate_base_url",
    "within_deadline",
]

logger = logging.getLogger("agentcloud")

T = TypeVar("T")

_MAX_REDIRECTS = 3
_ERROR_TEXT_LIMIT = 300


class RetryMode(enum.Enum):
    """Whether a call may be sent again after a failure."""

    #: Repeating it is harmless: retried on retry statuses, connection errors and timeouts.
    IDEMPOTENT = "idempotent"
    #: It creates something: retried only when it provably had no effect (the connection
    #: was never made, or a 429 refused it).
    AT_MOST_ONCE = "at-most-once"


@attrs.frozen(kw_only=True)
class Call:
    """One HTTP call as a provider describes it."""

    operation: str
    method: str
    path: str
    query: Mapping[str, str] | None = None
    json: Any = None
    authorization: Callable[[], str | None] | None = None
    mode: RetryMode = RetryMode.IDEMPOTENT


@attrs.frozen
class Reply:
    """A successful answer: status, decoded JSON (None for an empty body), headers."""

    status: int
    data: Any
    headers: CIMultiDictProxy[str]
    request_id: str | None


@attrs.frozen(kw_only=True)
class ErrorFields:
    """What a vendor's error body says, and which exception class fits it."""

    error_class: type[APIError]
    message: str
    code: str | None = None
    details: Any = None


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
        message = f"non-JSON error body: {_one_line(body)}"
    return ErrorFields(
        error_class=error_class_for_status(status),
        message=message or f"HTTP {status} with no error message",
        code=code,
        details=details,
    )


#: The deadline, on the retry policy's clock, of the operation the current request is part
#: of when that operation is several requests (a start with its reconciliation, a wait):
#: no request of it retries or waits past that. Set with :func:`within_deadline`.
operation_deadline: ContextVar[float | None] = ContextVar(
    "agentcloud_operation_deadline", default=None
)


async def within_deadline(deadline: float | None, call: Awaitable[T]) -> T:
    """Awaits ``call`` with every request it makes bounded by ``deadline`` as well."""
    token = operation_deadline.set(deadline)
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


_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(?i)(bearer\s+)\S+")


class Redactor:
    """Removes secrets from text bound for a message, a repr or a log line."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._secrets: list[str] = []
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        if secret and len(secret) >= 4 and secret not in self._secrets:
            self._secrets.append(secret)
            self._secrets.sort(key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, "[redacted]")
        text = _JWT.sub("[redacted-jwt]", text)
        return _BEARER.sub(r"\1[redacted]", text)


def _one_line(text: str) -> str:
    flat = " ".join(text.split())
    if len(flat) > _ERROR_TEXT_LIMIT:
        flat = flat[:_ERROR_TEXT_LIMIT] + "..."
    return flat


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def validate_base_url(base_url: str, *, allow_insecure: bool) -> str:
    """Checks ``base_url`` is scheme, host and port only; https unless loopback or allowed.

    Returns it without a trailing slash.
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
        URL(base_url)  # the transport builds every request URL from it
    except ValueError:
        raise InvalidRequestError("base_url", "is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
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
    return f"{parts.scheme}://{parts.netloc}"


def _request_id(headers: Mapping[str, str]) -> str | None:
    return headers.get("x-request-id") or headers.get("request-id")


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
    ) -> None:
        if isinstance(timeout, aiohttp.ClientTimeout):
            self._timeout = timeout
        elif isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and timeout > 0:
            self._timeout = aiohttp.ClientTimeout(total=float(timeout))
        else:
            raise InvalidRequestError("timeout", "must be seconds > 0 or an aiohttp.ClientTimeout")
        if not isinstance(retry, RetryPolicy):
            raise InvalidRequestError("retry", "must be an agentcloud.RetryPolicy")
        self.provider = provider
        self.base_url = base_url
        self.retry = retry
        self.redact = redactor
        self._origin = urlsplit(base_url)
        self._error_fields = error_fields
        self._budget = RetryBudget(retry.budget, retry.budget_refill)
        self._given_http = http
        self._own_http: aiohttp.ClientSession | None = None
        self._max_connections = max_connections
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def budget(self) -> RetryBudget:
        return self._budget

    def _http(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError("this agentcloud client is closed")
        if self._given_http is not None:
            return self._given_http
        if self._own_http is None:
            self._own_http = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._max_connections),
                timeout=self._timeout,
                raise_for_status=False,
            )
        return self._own_http

    async def aclose(self) -> None:
        """Closes the session the transport opened; a caller's own session is left open."""
        self._closed = True
        own, self._own_http = self._own_http, None
        if own is not None:
            await own.close()

    async def request(self, call: Call) -> Reply:
        """Sends ``call``, retrying as its mode and the policy allow. Raises AgentCloudError."""
        policy = self.retry
        deadline = policy.clock() + policy.deadline
        outer = operation_deadline.get()
        if outer is not None and outer < deadline:
            deadline = outer
        retries = 0
        while True:
            remaining = deadline - policy.clock()
            try:
                if remaining <= 0:
                    raise RequestTimeoutError(f"{call.operation}: out of time (deadline reached)")
                reply = await self._attempt(call, remaining, attempt=retries + 1)
            except AgentCloudError as error:
                delay = self._retry_delay(call, error, retries, deadline)
                if delay is None:
                    raise
                retries += 1
                if logger.isEnabledFor(logging.DEBUG):
                    logger.debug(
                        "%s: retrying in %.3fs after %s",
                        call.operation,
                        delay,
                        self.redact(f"{type(error).__name__}: {error}"),
                    )
                await policy.sleep(delay)
                continue
            self._budget.record_success()
            return reply

    def _retry_delay(
        self, call: Call, error: AgentCloudError, retries: int, deadline: float
    ) -> float | None:
        """Seconds to wait before the next attempt, or None to give up with ``error``."""
        policy = self.retry
        if retries + 1 >= policy.max_attempts:
            return None
        if isinstance(error, APIError):
            if error.status not in policy.retry_statuses:
                return None
            if call.mode is RetryMode.AT_MOST_ONCE and error.status != 429:
                return None
        elif isinstance(error, TransportError):
            if call.mode is RetryMode.AT_MOST_ONCE and error.request_sent:
                return None
            if not error.retryable:
                return None
        elif isinstance(error, ResponseDecodeError):
            # A 2xx body that does not parse was cut or mangled on its way; reading again
            # is harmless for a call that may be repeated, never done for one that creates.
            if call.mode is not RetryMode.IDEMPOTENT:
                return None
        else:
            return None
        retry_after = error.retry_after if isinstance(error, APIError) else None
        if retry_after is not None:
            if retry_after > policy.max_retry_after:
                return None
            delay = retry_after
        else:
            delay = policy.backoff(retries)
        if policy.clock() + delay >= deadline:
            return None
        if not self._budget.try_spend():
            return None
        return delay

    async def _attempt(self, call: Call, remaining: float, *, attempt: int) -> Reply:
        http = self._http()
        headers = {"Accept": "application/json"}
        auth = call.authorization() if call.authorization is not None else None
        if auth is not None:
            headers["Authorization"] = auth
        data: bytes | None = None
        if call.json is not None:
            data = json.dumps(call.json, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
        total = self._timeout.total
        per_attempt = remaining if total is None else min(total, remaining)
        # The usual case (the deadline is further off than one attempt) needs no new object.
        timeout = (
            self._timeout
            if per_attempt == total
            else attrs.evolve(self._timeout, total=per_attempt)
        )
        if per_attempt == math.inf:  # no deadline, no per-attempt limit: aiohttp wants None
            timeout = attrs.evolve(self._timeout, total=None)
        # encoded=True: the provider already percent-encoded the path; yarl must not undo it.
        url = URL(self.base_url + call.path, encoded=True)
        debug = logger.isEnabledFor(logging.DEBUG)
        if debug:
            logger.debug(
                "%s: %s %s attempt %d", call.operation, call.method, self.redact(call.path), attempt
            )
        method = call.method
        try:
            for _ in range(_MAX_REDIRECTS + 1):
                async with http.request(
                    method,
                    url,
                    params=call.query,
                    data=data,
                    headers=headers,
                    timeout=timeout,
                    allow_redirects=False,
                ) as response:
                    body = await response.read()
                    status = response.status
                    response_headers = response.headers
                if 300 <= status < 400 and "Location" in response_headers:
                    url = self._same_origin_redirect(
                        call, str(url), response_headers["Location"], status
                    )
                    if status == 303:  # "see other": the request was handled; GET the result
                        method, data = "GET", None
                    continue
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
        except TimeoutError:
            raise RequestTimeoutError(
                f"{call.operation}: no answer within {per_attempt:g}s", request_sent=True
            ) from None
        except aiohttp.ClientConnectorError as exc:
            raise TransportError(
                f"{call.operation}: cannot connect to {self._origin.netloc}: "
                f"{self.redact(str(exc.os_error))}",
                request_sent=False,
            ) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise TransportError(
                f"{call.operation}: connection failed: {type(exc).__name__}: "
                f"{self.redact(str(exc))}",
                request_sent=True,
            ) from None
        request_id = _request_id(response_headers)
        if debug:
            logger.debug(
                "%s: %s %s -> %d (%d bytes, request id %s)",
                call.operation,
                call.method,
                self.redact(call.path),
                status,
                len(body),
                request_id,
            )
        if 200 <= status < 300:
            return Reply(
                status,
                self._decode_success(call, body, status, request_id),
                response_headers,
                request_id,
            )
        raise self._error(call, status, body, response_headers, request_id)

    def _same_origin_redirect(
        self, call: Call, current: str, location: str, status: int
    ) -> URL:
        # A redirect answers "not here": the request was not carried out, so refusing to
        # follow leaves nothing behind, except after a 303, which answers a request that was.
        acted = status == 303
        try:
            target = urljoin(current, location)
            parts = urlsplit(target)
            next_url = URL(target)
        except ValueError:  # e.g. "http://[bad": the vendor's header, not our input
            raise TransportError(
                f"{call.operation}: the redirect's Location is not a valid URL",
                request_sent=acted,
                retryable=False,
            ) from None
        if (parts.scheme, parts.netloc) != (self._origin.scheme, self._origin.netloc):
            # Following would hand our Authorization header to another host.
            raise TransportError(
                f"{call.operation}: refused a redirect to another host ({parts.netloc})",
                request_sent=acted,
                retryable=False,
            )
        return next_url

    def _decode_success(
        self, call: Call, body: bytes, status: int, request_id: str | None
    ) -> Any:
        if not body.strip():
            return None
        try:
            return json.loads(body)
        except (ValueError, RecursionError):  # RecursionError: nested too deeply to parse
            # Redacted before it is cut short, so no secret survives half-cut at the edge.
            text = self.redact(body[:4096].decode("utf-8", "replace"))
            raise ResponseDecodeError(
                f"{call.operation}: the {status} answer is not JSON: {_one_line(text[:200])}",
                status=status,
                request_id=request_id,
            ) from None

    def _error(
        self,
        call: Call,
        status: int,
        body: bytes,
        headers: CIMultiDictProxy[str],
        request_id: str | None,
    ) -> APIError:
        decoded: Any
        try:
            decoded = json.loads(body) if body.strip() else None
        except (ValueError, RecursionError):
            # Redacted whole, before the message takes (and cuts) a piece of it.
            decoded = self.redact(body.decode("utf-8", "replace"))
        try:
            fields = self._error_fields(status, decoded)
        except Exception:  # a hook must never turn an error answer into a crash
            fields = default_error_fields(status, decoded)
        message = self.redact(fields.message)
        if status in (301, 302, 303, 307, 308):
            message = f"redirect not followed: {message}"
        return fields.error_class(
            message,
            status=status,
            code=None if fields.code is None else self.redact(fields.code),
            request_id=request_id,
            provider=self.provider,
            body=decoded,
            details=fields.details,
            retry_after=parse_retry_after(headers),
        )
