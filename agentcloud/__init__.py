"""agentcloud: start, end, inspect, wait for and stream the sessions of AI agents hosted on
agent clouds, from async Python (and, through ``agentcloud.sync``, from blocking code).

Every public name is importable from here. The clients, the names of each provider's
models and the heavier modules (and with them aiohttp, cattrs and PyJWT) are imported on
first use, so ``import agentcloud`` stays cheap. Which providers exist, and which of their
names this package re-exports, comes from the registry (``agentcloud.providers``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._retry import RetryPolicy
from ._version import __version__
from .errors import (
    AgentAtCapacityError,
    AgentCloudError,
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    DeploymentFailedError,
    FleetUnavailableError,
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
    LogEntry,
    Page,
    Session,
    SessionEvent,
    SessionEventType,
    SessionStatus,
    to_jsonable,
)

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
    "LogEntry",
    "NotFoundError",
    "Page",
    "Pager",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestTimeoutError",
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
    "WebhookReceiver",
    "WebhookVerificationError",
    "__version__",
    "connect",
    "to_jsonable",
]

_LAZY = {
    "connect": ("agentcloud.providers", "connect"),
    "Pager": ("agentcloud.pagination", "Pager"),
    "SessionStart": ("agentcloud._sessions", "SessionStart"),
    "WebhookReceiver": ("agentcloud.webhooks", "WebhookReceiver"),
}


def _provider_exports(*, plugins: bool = True) -> dict[str, tuple[str, str]]:
    from .providers import exported_names

    return {name: (info.module, name) for name, info in exported_names(plugins=plugins)}


if TYPE_CHECKING:
    from ._sessions import SessionStart
    from .pagination import Pager
    from .providers import _public, connect
    from .providers._public import *  # noqa: F403  (each provider's re-exported names)
    from .webhooks import WebhookReceiver

    __all__ += _public.__all__
else:
    # The built-in providers' names, from the registry, importing no provider module.
    __all__ += sorted(set(_provider_exports(plugins=False)) - set(__all__))


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None and not name.startswith("__"):
        target = _provider_exports(plugins=False).get(name) or _provider_exports().get(name)
    if target is None:
        raise AttributeError(f"module 'agentcloud' has no attribute {name!r}")
    value = getattr(importlib.import_module(target[0]), target[1])
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | set(_provider_exports()))
