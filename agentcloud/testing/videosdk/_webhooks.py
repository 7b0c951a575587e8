"""VideoSDK's user webhooks: which phase sends which event, the body, the RSA signature.

Delivered as a POST of `{"webhookType": EVENT, "data": {"sessionId": ...}}` with header
`videosdk-signature`: the base64 RSA-SHA256 (PKCS#1 v1.5) signature of the raw body,
verifiable with the key served at /v2/public/rsa-public-key.
"""

from __future__ import annotations

import base64
import json

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .._lifecycle import Phase

__all__ = [
    "SIGNATURE_HEADER",
    "VIDEOSDK_WEBHOOK_EVENTS",
    "WebhookSigner",
    "webhook_body",
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
_EVENT_OF_PHASE = dict(zip(Phase, VIDEOSDK_WEBHOOK_EVENTS, strict=True))


def webhook_event_for(phase: Phase) -> str:
    """The webhook event announcing that a session entered `phase`."""
    return _EVENT_OF_PHASE[phase]


def webhook_body(event: str, session_id: str) -> bytes:
    payload = {"webhookType": event, "data": {"sessionId": session_id}}
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
