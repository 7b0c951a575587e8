"""OpenTelemetry tracing for agentcloud clients (extra ``otel``: the OpenTelemetry API).

    from agentcloud.otel import TracingHooks

    async with VideoSDK(hooks=[TracingHooks()]) as vs: ...

Every call becomes one span (``agentcloud <operation>``, kind INTERNAL, a child of whatever
span is current), and each HTTP attempt of it a child span of kind CLIENT following the
HTTP client semantic conventions (``http.request.method``, ``server.address``,
``server.port``, ``url.full``, ``http.response.status_code``, ``error.type``,
``http.request.resend_count`` from the second attempt on). A retry is an event on the
call's span with the attempt, the delay and the cause. No attribute holds a header, a
body, a query string or a credential: ``url.full`` is the redacted path the hooks see.

Install ``opentelemetry-sdk`` (or any SDK) and configure a tracer provider as usual; with
none configured, the API's no-op tracer makes this cost next to nothing.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer

from ._version import __version__
from .errors import APIError
from .hooks import RequestInfo, ResponseInfo, RetryInfo

__all__ = ["TracingHooks"]


class TracingHooks:
    """Hooks that turn a client's calls and attempts into OpenTelemetry spans.

    ``tracer`` defaults to the global tracer provider's ``agentcloud`` tracer.
    """

    def __init__(self, *, tracer: Tracer | None = None) -> None:
        self._tracer = tracer or trace.get_tracer("agentcloud", __version__)
        self._calls: dict[int, Span] = {}
        self._attempts: dict[tuple[int, int], Span] = {}

    def __repr__(self) -> str:
        return f"TracingHooks(open_calls={len(self._calls)})"

    def _call_span(self, info: RequestInfo) -> Span:
        span = self._calls.get(info.call_id)
        if span is None:
            span = self._tracer.start_span(
                f"agentcloud {info.operation}",
                kind=SpanKind.INTERNAL,
                attributes={
                    "agentcloud.provider": info.provider,
                    "agentcloud.operation": info.operation,
                },
            )
            self._calls[info.call_id] = span
        return span

    def on_request(self, info: RequestInfo) -> None:
        """Opens the attempt's CLIENT span, under the call's span (opened by its first attempt)."""
        parent = trace.set_span_in_context(self._call_span(info))
        url = urlsplit(info.url)
        attributes: dict[str, Any] = {
            "http.request.method": info.method,
            "server.address": url.hostname or "",
            "url.full": info.url,
            "agentcloud.attempt": info.attempt,
        }
        if url.port is not None:
            attributes["server.port"] = url.port
        if info.attempt > 1:
            attributes["http.request.resend_count"] = info.attempt - 1
        self._attempts[(info.call_id, info.attempt)] = self._tracer.start_span(
            info.method,
            context=parent,
            kind=SpanKind.CLIENT,
            attributes=attributes,
        )

    def on_response(self, info: ResponseInfo) -> None:
        """Ends the attempt's span with its status or error, and the call's span after its final
        attempt.
        """
        attempt = self._attempts.pop((info.call_id, info.attempt), None)
        error_type = _error_type(info)
        if attempt is not None:
            if info.status is not None:
                attempt.set_attribute("http.response.status_code", info.status)
            if error_type is not None:
                attempt.set_attribute("error.type", error_type)
                attempt.set_status(Status(StatusCode.ERROR))
            attempt.end()
        if info.final:
            call = self._calls.pop(info.call_id, None)
            if call is not None:
                call.set_attribute("agentcloud.attempts", info.attempt)
                if error_type is not None:
                    call.set_attribute("error.type", error_type)
                    call.set_status(Status(StatusCode.ERROR, type(info.error).__name__))
                call.end()

    def on_retry(self, info: RetryInfo) -> None:
        """Records the retry as an event on the call's span: attempt, delay and cause."""
        call = self._calls.get(info.call_id)
        if call is not None:
            call.add_event(
                "retry",
                {
                    "agentcloud.attempt": info.attempt,
                    "agentcloud.retry.delay": info.delay,
                    "error.type": type(info.error).__name__,
                },
            )


def _error_type(info: ResponseInfo) -> str | None:
    """The semantic conventions' ``error.type``: the status for an HTTP error, else the
    exception's class name."""
    if isinstance(info.error, APIError):
        return str(info.error.status)
    if info.error is not None:
        return type(info.error).__name__
    if info.status is not None and info.status >= 400:
        return str(info.status)
    return None
