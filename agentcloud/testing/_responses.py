"""Response builders: JSON bodies and each vendor's error shapes.

VideoSDK errors carry `message`; Pipecat errors are `{error, code}` with a string code,
except its rate-limit answer, which has its own documented shape. Gateway errors (502,
503, 504) come from a load balancer in front of either vendor, so they are HTML.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from aiohttp import web

__all__ = [
    "Vendor",
    "gateway_error",
    "json_response",
    "pipecat_error",
    "rate_limited",
    "server_error",
    "vendor_error",
    "vendor_of",
    "videosdk_error",
]

Vendor = Literal["videosdk", "pipecat"]

PIPECAT_RATE_LIMIT_BODY = {
    "status": 429,
    "code": "429",
    "message": "Rate limit exceeded. Please try again later",
}
PIPECAT_SERVER_ERROR = (
    "Internal server error. Please check logs for more information or contact support."
)
_GATEWAY_REASONS = {
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
    504: "Gateway Time-out",
}


def _compact(payload: Any) -> str:
    return json.dumps(payload, separators=(",", ":"))


def json_response(
    payload: Any, *, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response(payload, status=status, headers=headers, dumps=_compact)


def vendor_of(path: str) -> Vendor:
    """Which vendor's API a path belongs to (VideoSDK lives under /ai and /v2)."""
    return "videosdk" if path.startswith(("/ai/", "/v2/")) else "pipecat"


def videosdk_error(status: int, message: str, **extra: Any) -> web.Response:
    return json_response({"message": message, **extra}, status=status)


def pipecat_error(
    status: int, message: str, *, code: str | None = None, **extra: Any
) -> web.Response:
    return json_response({"error": message, "code": code or str(status), **extra}, status=status)


def vendor_error(vendor: Vendor, status: int, message: str) -> web.Response:
    if vendor == "videosdk":
        return videosdk_error(status, message)
    return pipecat_error(status, message)


def rate_limited(vendor: Vendor, *, retry_after: int | None) -> web.Response:
    headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
    if vendor == "pipecat":
        return json_response(PIPECAT_RATE_LIMIT_BODY, status=429, headers=headers)
    return json_response(
        {"message": "Rate limit exceeded. Please try again later"}, status=429, headers=headers
    )


def server_error(vendor: Vendor) -> web.Response:
    if vendor == "pipecat":
        return pipecat_error(500, PIPECAT_SERVER_ERROR)
    return videosdk_error(500, "Internal server error")


def gateway_error(status: int) -> web.Response:
    reason = _GATEWAY_REASONS[status]
    page = (
        f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n"
        f"<body>\r\n<center><h1>{status} {reason}</h1></center>\r\n</body>\r\n</html>\r\n"
    )
    return web.Response(text=page, status=status, content_type="text/html")
