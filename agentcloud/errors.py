"""The exceptions agentcloud raises.

Every exception derives from :class:`AgentCloudError`, so one ``except`` catches them all::

    AgentCloudError
    ├── InvalidRequestError (also ValueError)      bad input, nothing was sent
    ├── APIError                                   the vendor answered with an error status
    │   ├── BadRequestError 400/422
    │   ├── AuthenticationError 401
    │   ├── PermissionDeniedError 403
    │   ├── NotFoundError 404 (and a 402 where a vendor means one)
    │   ├── ConflictError 409
    │   ├── PayloadTooLargeError 413
    │   ├── RateLimitError 429 (.retry_after)
    │   │   └── AgentAtCapacityError   the agent has no free capacity: nothing was started
    │   └── ServerError 5xx
    ├── TransportError                             no usable answer: refused, reset, DNS
    │   └── RequestTimeoutError (also TimeoutError)
    ├── ResponseDecodeError                        2xx whose body is not the documented shape
    ├── StartOutcomeUnknownError                   a start failed ambiguously, not reconciled
    ├── SessionFailedError                         wait() saw the session fail
    ├── DeploymentFailedError                      a wait for a deploy saw it fail
    ├── WebhookVerificationError                   a webhook's signature is missing or wrong
    └── FleetUnavailableError                      the fleet's Redis cannot be reached

Messages are built from what the vendor said, never from what we sent: no message, repr
or log line contains a secret, a JWT or an API key. Every error a call raises has
``attempts``, the number of requests the call sent (0 when it was refused before sending).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._redact import printable, redact_known

if TYPE_CHECKING:
    from .models import Session

__all__ = [
    "APIError",
    "AgentAtCapacityError",
    "AgentCloudError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "DeploymentFailedError",
    "FleetUnavailableError",
    "InvalidRequestError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestTimeoutError",
    "ResponseDecodeError",
    "ServerError",
    "SessionFailedError",
    "StartOutcomeUnknownError",
    "TransportError",
    "WebhookVerificationError",
    "error_class_for_status",
]


class AgentCloudError(Exception):
    """Base class of every error agentcloud raises.

    ``attempts`` counts the requests the call that raised it sent (retries included); it
    is None where no call was involved (a webhook refused, a bad argument to a model).
    """

    attempts: int | None = None


class InvalidRequestError(AgentCloudError, ValueError):
    """An argument was rejected before anything was sent.

    ``argument`` names the offending parameter, so callers and tests need not parse text.
    """

    def __init__(self, argument: str, problem: str) -> None:
        self.argument = argument
        self.problem = problem
        super().__init__(f"{argument}: {problem}")


class APIError(AgentCloudError):
    """The vendor answered with an error status.

    ``body`` is the decoded error body (or its text when it was not JSON); ``details``
    holds structured extras such as validation issues when the vendor sent them;
    ``retry_after`` is the delay in seconds the vendor asked for, when it said one.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str | None = None,
        request_id: str | None = None,
        provider: str | None = None,
        body: Any = None,
        details: Any = None,
        retry_after: float | None = None,
    ) -> None:
        self.message = message
        self.retry_after = retry_after
        self.status = status
        self.code = code
        self.request_id = request_id
        self.provider = provider
        self.body = body
        self.details = details
        #: The vendor said it did not act on the request (so it may be sent again).
        self.unprocessed = False
        super().__init__(self._describe())

    def _describe(self) -> str:
        parts = [f"{self.status}"]
        if self.code is not None and self.code != str(self.status):
            parts.append(f"[{self.code}]")
        parts.append(self.message)
        text = " ".join(parts)
        if self.provider:
            text = f"{self.provider}: {text}"
        if self.request_id:
            text += f" (request id {self.request_id})"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, "
            f"message={self.message!r}, request_id={self.request_id!r}, "
            f"provider={self.provider!r})"
        )


class BadRequestError(APIError):
    """400 or 422: the vendor rejected the request's content."""


class AuthenticationError(APIError):
    """401: the credentials are missing, wrong or expired."""


class PermissionDeniedError(APIError):
    """403: the credentials may not do this."""


class NotFoundError(APIError):
    """404 (and a 402 where a vendor means it): the session, deployment or agent does not
    exist."""


class ConflictError(APIError):
    """409: the request conflicts with the resource's state."""


class PayloadTooLargeError(APIError):
    """413: the request body is over the vendor's limit."""


class RateLimitError(APIError):
    """429, or a vendor's "at capacity" answer; see ``retry_after``."""


class AgentAtCapacityError(RateLimitError):
    """The agent has no free capacity (each provider maps its vendor's own words for it,
    an error code or a message): the request provably started nothing, so it may be
    retried once capacity frees up (see ``start(wait_for_capacity=...)``)."""


class ServerError(APIError):
    """5xx: the vendor failed."""


class TransportError(AgentCloudError):
    """No usable answer: the connection was refused or reset, or DNS failed.

    ``request_sent`` is False only when the request provably never left (the connection
    was never made), so a call that creates something may be safely repeated.
    """

    def __init__(self, message: str, *, request_sent: bool = True, retryable: bool = True):
        self.request_sent = request_sent
        self.retryable = retryable
        super().__init__(message)


class RequestTimeoutError(TransportError, TimeoutError):
    """The call, or ``wait()``, ran out of time."""


class ResponseDecodeError(AgentCloudError):
    """An answer the SDK could not read: a 2xx whose body is not the documented shape, or
    any body past the client's ``max_response_bytes`` (then ``retryable`` is False: the
    vendor would send it again)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        request_id: str | None = None,
        retryable: bool = True,
    ):
        self.status = status
        self.request_id = request_id
        self.retryable = retryable
        suffix = f" (request id {request_id})" if request_id else ""
        super().__init__(message + suffix)


class StartOutcomeUnknownError(AgentCloudError):
    """A start failed after the request may have reached the vendor, and the SDK could not
    tell whether a session was created. The cause is chained as ``__cause__``.

    ``marker`` is the start's ``agentcloud_request_id`` metadata value when the vendor
    lists metadata, so callers can look the session up later; else None.
    """

    def __init__(self, message: str, *, marker: str | None = None) -> None:
        self.marker = marker
        super().__init__(message)


class SessionFailedError(AgentCloudError):
    """``wait()`` saw the session fail. ``session`` is the session as last seen."""

    def __init__(self, session: Session) -> None:
        self.session = session
        # Both come from the vendor, which may echo a credential into either.
        text = f"session {session.id} failed (vendor status {session.raw_status!r})"
        super().__init__(printable(redact_known(text)))


class DeploymentFailedError(AgentCloudError):
    """A wait for a deploy saw the vendor report it failed (waiting longer would not help).

    ``name`` is what was being deployed; ``errors`` the vendor's reasons, each as
    ``"CODE: message"``, the first of them in the message.
    """

    def __init__(self, name: str, errors: tuple[str, ...]) -> None:
        self.name = name
        self.errors = errors
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        # The reasons come from the vendor, which may echo a credential into them.
        text = f"{name!r} failed to deploy: {errors[0] if errors else 'no reason given'}{more}"
        super().__init__(printable(redact_known(text)))


class WebhookVerificationError(AgentCloudError):
    """A webhook's signature is missing or does not match its body."""


class FleetUnavailableError(AgentCloudError):
    """A fleet operation (``agentcloud.fleet``) could not reach Redis."""


_STATUS_CLASSES: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    422: BadRequestError,
    429: RateLimitError,
}


def error_class_for_status(status: int) -> type[APIError]:
    """The exception class for an HTTP error status, before any vendor-specific override."""
    if status >= 500:
        return ServerError
    return _STATUS_CLASSES.get(status, APIError)
