"""The middleware every request passes through: record, delay, inject faults, tick.

Order matters: a request is recorded and its fault drawn on arrival, so the log and the
fault sequence follow arrival order; latency and faults apply next; the state's timers are
brought up to date just before the handler runs, so every answer reflects the clock.
Faults, router errors and refusals are answered in the error shapes of the world that owns
the path (`Router`).
"""

from __future__ import annotations

import asyncio
import socket
import struct
import uuid
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from attrs import define, field

from ._clock import Clock
from ._faults import FaultInjector, FaultKind
from ._json import json_response
from ._recording import RecordedRequest, RequestLog, parse_body, redact_headers
from ._world import ErrorShapes, Refusal, World

__all__ = ["NetworkConditions", "PlainErrors", "Router", "build_pipeline"]

# Gateway errors come from a load balancer in front of the vendor, so they are HTML.
_GATEWAY_FAULTS = {
    FaultKind.BAD_GATEWAY: (502, "Bad Gateway"),
    FaultKind.SERVICE_UNAVAILABLE: (503, "Service Temporarily Unavailable"),
    FaultKind.GATEWAY_TIMEOUT: (504, "Gateway Time-out"),
}
_ROUTER_MESSAGES = {404: "API endpoint not found", 405: "Method not allowed"}


@define(kw_only=True)
class NetworkConditions:
    """The knobs the emulator may turn while running."""

    latency: float = 0.0
    injector: FaultInjector | None = None
    closing: asyncio.Event = field(factory=asyncio.Event)

    async def pause(self, seconds: float) -> bool:
        """Wait `seconds` of real time; True if the emulator started closing meanwhile."""
        try:
            await asyncio.wait_for(self.closing.wait(), timeout=seconds)
        except TimeoutError:
            return False
        return True


class PlainErrors:
    """The shape of errors on a path no world claims: ``{"message": ...}``."""

    server_error_message = "Internal server error"

    def error_response(self, refusal: Refusal) -> web.Response:
        return json_response({"message": refusal.message}, status=refusal.status)

    def rate_limited_response(self, retry_after: int | None) -> web.Response:
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        return json_response({"message": "Rate limit exceeded"}, status=429, headers=headers)


class Router:
    """Which world owns a path: the longest claimed prefix wins."""

    def __init__(self, worlds: Sequence[World]) -> None:
        claims = [(prefix, world) for world in worlds for prefix in world.path_prefixes]
        self._claims = sorted(claims, key=lambda claim: -len(claim[0]))
        self._unclaimed = PlainErrors()

    def owner(self, path: str) -> ErrorShapes:
        for prefix, world in self._claims:
            if path.startswith(prefix):
                return world
        return self._unclaimed


def _drop_connection(request: web.Request) -> web.Response:
    """Reset the connection (RST, not FIN) and hand aiohttp a response it cannot send."""
    transport = request.transport
    if transport is not None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with suppress(OSError):
                # Linger 0 makes close() send RST, as a crashed proxy would.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    return web.Response(status=499)


def _truncated(response: web.StreamResponse) -> web.StreamResponse:
    if not isinstance(response, web.Response) or not isinstance(response.body, bytes):
        return response
    cut = response.body[: len(response.body) // 2]
    return web.Response(body=cut, status=response.status, content_type="application/json")


def _malformed(response: web.StreamResponse) -> web.StreamResponse:
    if not isinstance(response, web.Response) or not isinstance(response.body, bytes):
        return response
    body = response.body
    # Single quotes look like JSON to a human and are rejected by every JSON parser.
    broken = body.replace(b'"', b"'") if b'"' in body else body + b"}"
    return web.Response(body=broken, status=response.status, content_type="application/json")


def _gateway_page(status: int, reason: str) -> web.Response:
    page = (
        f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n"
        f"<body>\r\n<center><h1>{status} {reason}</h1></center>\r\n</body>\r\n</html>\r\n"
    )
    return web.Response(text=page, status=status, content_type="text/html")


def _server_error(shapes: ErrorShapes) -> web.Response:
    return shapes.error_response(Refusal(500, shapes.server_error_message))


async def _call_handler(
    request: web.Request, handler: Handler, shapes: ErrorShapes, tick: Callable[[], None]
) -> web.StreamResponse:
    tick()
    try:
        return await handler(request)
    except Refusal as refusal:
        return shapes.error_response(refusal)
    except web.HTTPException as exc:
        # Router-level answers (unknown path, wrong method) in the vendor's JSON shape; a
        # 405 keeps the Allow header HTTP requires of it.
        message = _ROUTER_MESSAGES.get(exc.status, exc.reason)
        allow = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        return shapes.error_response(Refusal(exc.status, message, headers=allow))


def build_pipeline(
    *,
    conditions: NetworkConditions,
    clock: Clock,
    tick: Callable[[], None],
    log: RequestLog,
    secrets: Iterable[str],
    shapes_of: Callable[[str], ErrorShapes],
) -> Middleware:
    """The middleware; `shapes_of(path)` tells whose error shapes answer for a path."""
    hidden = tuple(secrets)

    @web.middleware
    async def pipeline(request: web.Request, handler: Handler) -> web.StreamResponse:
        request_id = str(uuid.uuid4())
        shapes = shapes_of(request.path)
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            raw = b""
        injector = conditions.injector
        fault = injector.decide(request.method, request.path) if injector else None
        log.append(
            RecordedRequest(
                method=request.method,
                path=request.path,
                raw_path=request.raw_path.partition("?")[0],
                query={key: request.query.getone(key) for key in request.query},
                headers=redact_headers(request.headers.items(), hidden),
                body=parse_body(raw),
                request_id=request_id,
                received_at=clock.now(),
                fault=fault,
            )
        )
        if conditions.latency > 0 and await conditions.pause(conditions.latency):
            return _drop_connection(request)
        response = await _respond(request, handler, shapes, fault, injector)
        response.headers["x-request-id"] = request_id
        return response

    async def _respond(
        request: web.Request,
        handler: Handler,
        shapes: ErrorShapes,
        fault: FaultKind | None,
        injector: FaultInjector | None,
    ) -> web.StreamResponse:
        plan = injector.plan if injector else None
        if fault is FaultKind.RESET_BEFORE_PROCESSING:
            return _drop_connection(request)
        if (
            fault is FaultKind.STALL
            and plan is not None
            and await conditions.pause(plan.stall_seconds)
        ):
            return _drop_connection(request)
        if fault is FaultKind.RATE_LIMITED:
            return shapes.rate_limited_response(plan.retry_after if plan else 1)
        if fault is FaultKind.RATE_LIMITED_NO_RETRY_AFTER:
            return shapes.rate_limited_response(None)
        if fault is FaultKind.SERVER_ERROR:
            return _server_error(shapes)
        if fault is FaultKind.REQUEST_TIMEOUT:
            return shapes.error_response(Refusal(408, "Request Timeout"))
        if fault is not None and (gateway := _GATEWAY_FAULTS.get(fault)):
            return _gateway_page(*gateway)

        response = await _call_handler(request, handler, shapes, tick)

        if fault is FaultKind.RESET_AFTER_PROCESSING:
            return _drop_connection(request)
        if fault is FaultKind.SERVER_ERROR_AFTER_PROCESSING:
            return _server_error(shapes)
        if fault is FaultKind.TRUNCATED_BODY:
            return _truncated(response)
        if fault is FaultKind.MALFORMED_BODY:
            return _malformed(response)
        return response

    return pipeline
