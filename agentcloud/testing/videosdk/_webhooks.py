"""VideoSDK's user webhooks: which phase sends which event, the body, the RSA signature.

Delivered as a POST of `{"webhookType": EVENT, "data": {"sessionId": ...}}` with header
`videosdk-signature`: the base64 RSA-SHA256 (PKCS#1 v1.5) signature of the raw body,
verifiable with the key served at /v2/public/rsa-public-key. The agent runtime's
`agent-session-*` events carry the room too, as `data.meetingId`, as VideoSDK's room
events do.
"""

from __future__ import annotations

import base64
import json

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .._lifecycle import Phase

__all__ = [
    "RUNTIME_WEBHOOK_EVENTS",
    "SIGNATURE_HEADER",
    "VIDEOSDK_WEBHOOK_EVENTS",
    "WebhookSigner",
    "webhook_body",
    "runtime_event_for",
    "webhook_event_for",
]

SIGNATURE_HEADER = "videosdk-signature"
VIDEOSDK_WEBHOOK_EVENTS = (
    "ai-deployment-session-starting",
    "ai-deployment-session-started",
    "ai-deployment-session-stopping",
    "ai-deployment-session-stopped",
    "ai-deployment-session-failed",
)
RUNTIME_WEBHOOK_EVENTS = (
    "agent-session-starting",
    "agent-session-started",
    "agent-session-stopping",
    "agent-session-stopped",
    "agent-session-failed",
)
_EVENT_OF_PHASE = dict(zip(Phase, VIDEOSDK_WEBHOOK_EVENTS, strict=True))
_RUNTIME_EVENT_OF_PHASE = dict(zip(Phase, RUNTIME_WEBHOOK_EVENTS, strict=True))


def webhook_event_for(phase: Phase) -> str:
    """The webhook event announcing that a session entered `phase`."""
    return _EVENT_OF_PHASE[phase]


def runtime_event_for(phase: Phase) -> str:
    """The webhook event announcing that an agent's session in a room entered `phase`."""
    return _RUNTIME_EVENT_OF_PHASE[phase]


def webhook_body(event: str, session_id: str, room_id: str | None = None) -> bytes:
    data = {"sessionId": session_id}
    if room_id is not None:
        data["meetingId"] = room_id
    payload = {"webhookType": event, "data": data}
    return json.dumps(payload, separators=(",", ":")).encode()


class WebhookSigner:
    """RSA-SHA256 (PKCS#1 v1.5) signatures, as VideoSDK signs user webhooks."""

    def __init__(self, private_key: rsa.RSAPrivateKey | None = None) -> None:
        self._private_key = private_key or rsa.generate_private_key(
            public_exponent=65537, key_size=2048
        )
        self.public_key_pem = (
            self._private_key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode("ascii")
        )

    def sign(self, body: bytes) -> str:
        signature = self._private_key.sign(body, padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode("ascii")
