"""VideoSDK Agent Cloud: every public name of the provider (see ``_base``)."""

from ._base import (
    CLI,
    DEFAULT_BASE_URL,
    SIGNATURE_HEADER,
    START_MARKER,
    WEBHOOK_EVENTS,
    WEBHOOK_FORMAT,
    Deployment,
    Deployments,
    TokenMinter,
    VideoSDK,
    VideoSDKSession,
    VideoSDKSessions,
    Webhook,
    event_type,
    session_status,
    verify_signature,
)

__all__ = [
    "CLI",
    "DEFAULT_BASE_URL",
    "SIGNATURE_HEADER",
    "START_MARKER",
    "WEBHOOK_EVENTS",
    "WEBHOOK_FORMAT",
    "Deployment",
    "Deployments",
    "TokenMinter",
    "VideoSDK",
    "VideoSDKSession",
    "VideoSDKSessions",
    "Webhook",
    "event_type",
    "session_status",
    "verify_signature",
]
