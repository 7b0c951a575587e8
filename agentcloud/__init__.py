"""agentcloud: start, end, inspect, wait for and stream the sessions of AI agents hosted on
agent clouds (VideoSDK Agent Cloud, Pipecat Cloud), from async Python.

Every public name is importable from here. The clients (and with them aiohttp, cattrs and
PyJWT) are imported on first use, so ``import agentcloud`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._retry import RetryPolicy
from ._version import __version__
from .errors import (
    AgentCloudError,
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeoutError,
    ResponseDecodeError,
    ServerError,
    SessionFailedError,
    StartOutcomeUnknownError,
    TransportError,
    WebhookVerificationError,
)
from .models import (
    WEBHOOK_EVENTS,
    Agent,
    Connection,
    Deployment,
    MeetingId,
    Page,
    PipecatSession,
    ResourceMetrics,
    ResourceSample,
    Session,
    SessionStatus,
    VideoSDKSession,
    Webhook,
)
from .pagination import Pager

if TYPE_CHECKING:
    from ._lifecycle import SessionStart
    from .providers import connect
    from .providers.pipecat import PipecatCloud
    from .providers.videosdk import VideoSDK
    from .webhooks import SessionEvent, SessionEventType, WebhookReceiver

__all__ = [
    "APIError",
    "Agent",
    "AgentCloudError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "Connection",
    "Deployment",
    "InvalidRequestError",
    "MeetingId",
    "NotFoundError",
    "Page",
    "Pager",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "PipecatCloud",
    "PipecatSession",
    "RateLimitError",
    "RequestTimeoutError",
    "ResourceMetrics",
    "ResourceSample",
    "ResponseDecodeError",
    "RetryPolicy",
    "ServerError",
    "Session",
    "SessionEvent",
    "SessionEventType",
    "SessionFailedError",
    "SessionStart",
    "SessionStatus",
    "StartOutcomeUnknownError",
    "TransportError",
    "VideoSDK",
    "VideoSDKSession",
    "WEBHOOK_EVENTS",
    "Webhook",
    "WebhookReceiver",
    "WebhookVerificationError",
    "__version__",
    "connect",
]

_LAZY = {
    "VideoSDK": ("agentcloud.providers.videosdk", "VideoSDK"),
    "PipecatCloud": ("agentcloud.providers.pipecat", "PipecatCloud"),
    "connect": ("agentcloud.providers", "connect"),
    "SessionStart": ("agentcloud._lifecycle", "SessionStart"),
    "SessionEvent": ("agentcloud.webhooks", "SessionEvent"),
    "SessionEventType": ("agentcloud.webhooks", "SessionEventType"),
    "WebhookReceiver": ("agentcloud.webhooks", "WebhookReceiver"),
}


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'agentcloud' has no attribute {name!r}")
    value = getattr(importlib.import_module(target[0]), target[1])
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
